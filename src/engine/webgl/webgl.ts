// The WebGL2 backend: every tensor a float32 texture (R32F, rendered into through
// EXT_color_buffer_float), every primitive of src/engine/backend.ts one or a few small programs
// (kernels.ts). A tensor of shape (rows, cols) is a texture cols wide and rows high, so the views
// the model makes (whole rows, a fixed stride of rows: one time step of a (B, T, X) buffer) are
// sets of texture rows; a kernel draws exactly those rows (one quad, or one per row when strided),
// and leaves the rest of the texture as it was. Everything stays on the GPU: read() and the loss
// (and sumOfSquares, for clipping) are the only read-backs.
//
// A kernel may not read the texture it draws into (a feedback loop in WebGL), so an in-place
// update draws into a scratch texture of the same size and then either swaps the two (when it
// covers the whole tensor) or copies the rows back.
//
// The recurrence (recurrenceForward, recurrenceBackward) is fused: one draw per time step each
// way, writing two RGBA textures at once (multiple render targets); see kernels.ts.

import type { Backend, CellBackward, CellForward, Product, RecurrenceBackward, RecurrenceForward, View } from '../backend';
import { countTargets } from '../kernels';
import * as K from './kernels';
import type { Kernel } from './kernels';

/** A float tensor: a texture (rows × cols), or a group of them (parameters, gradients, moments). */
export class GLTensor {
  constructor(
    public texture: WebGLTexture | null,
    readonly rows: number,
    readonly cols: number,
    readonly parts: GLTensor[] | null = null,
  ) {}

  get size(): number {
    return this.parts ? this.parts.reduce((s, p) => s + p.size, 0) : this.rows * this.cols;
  }
}

/** Token ids: a texture of IDS_WIDTH columns, and the host's copy (to count targets). */
export class GLIds {
  constructor(readonly texture: WebGLTexture, readonly n: number, readonly host: Int32Array) {}
}

const IDS_WIDTH = 1024;

/** Why the GPU cannot be used here, in one line; null when it can. */
export function webglUnavailableReason(gl: WebGL2RenderingContext | null): string | null {
  if (!gl) return 'WebGL2 is not available';
  if (!gl.getExtension('EXT_color_buffer_float')) return 'WebGL2 cannot render to float textures (no EXT_color_buffer_float)';
  return null;
}

/** Who renders: the unmasked renderer where the browser tells it (at most 500 characters). */
export function rendererOf(gl: WebGL2RenderingContext): string {
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)).slice(0, 500);
}

/** An engine View (offset and stride in floats) made into a block of texture rows. */
interface Region {
  t: GLTensor;
  row0: number;
  col0: number;
  stride: number;
  rows: number;
  cols: number;
}

interface Compiled {
  program: WebGLProgram;
  uniforms: Map<string, WebGLUniformLocation | null>;
  samplers: string[];
}

const VERTEX = `#version 300 es
precision highp float;
precision highp int;
uniform ivec4 u_out;   // row0, col0, row stride, cols
uniform ivec2 u_size;  // texture width, height
uniform int u_height;  // rows covered by one instance
void main() {
  int v = gl_VertexID;
  float x = (v == 1 || v == 2 || v == 4) ? 1.0 : 0.0;
  float y = (v == 2 || v == 4 || v == 5) ? 1.0 : 0.0;
  float px = float(u_out.y) + x * float(u_out.w);
  float py = float(u_out.x + gl_InstanceID * u_out.z) + y * float(u_height);
  gl_Position = vec4(px / float(u_size.x) * 2.0 - 1.0, py / float(u_size.y) * 2.0 - 1.0, 0.0, 1.0);
}`;

function fragmentSource(k: Kernel): string {
  const lines = ['#version 300 es', 'precision highp float;', 'precision highp int;', 'precision highp sampler2D;', 'uniform ivec4 u_out;'];
  const outputs = k.outputs ?? ['outColor'];
  outputs.forEach((name, n) => lines.push(`layout(location = ${n}) out vec4 ${name};`));
  for (const name of k.inputs) {
    lines.push(`uniform sampler2D ${name};`, `uniform ivec3 ${name}_v;`);
    lines.push(`vec4 ${name}_at4(int r, int c) { return texelFetch(${name}, ivec2(${name}_v.y + c, ${name}_v.x + r * ${name}_v.z), 0); }`);
    lines.push(`float ${name}_at(int r, int c) { return ${name}_at4(r, c).r; }`);
  }
  if (k.ids) {
    lines.push('uniform sampler2D u_ids;');
    lines.push(`int id_at(int r) { return int(texelFetch(u_ids, ivec2(r % ${IDS_WIDTH}, r / ${IDS_WIDTH}), 0).r); }`);
  }
  for (const n of k.ints ?? []) lines.push(`uniform int ${n};`);
  for (const n of k.floats ?? []) lines.push(`uniform float ${n};`);
  lines.push(k.source);
  const call = k.outputs ? 'compute(row, col);' : 'outColor = vec4(compute(row, col), 0.0, 0.0, 1.0);';
  lines.push(`void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  int row = (p.y - u_out.x) / u_out.z;
  int col = p.x - u_out.y;
  ${call}
}`);
  return lines.join('\n');
}

export class WebGLBackend implements Backend<GLTensor, GLIds> {
  readonly name = 'webgl';
  readonly dtype = 'float32' as const;
  private readonly programs = new Map<string, Compiled>();
  private readonly scratch = new Map<string, WebGLTexture>();
  private readonly framebuffer: WebGLFramebuffer;
  /** For the kernels that write several textures at once; its attachments are set by each draw. */
  private readonly multiFramebuffer: WebGLFramebuffer;
  private multiAttached = 0;
  /** The fused recurrence's RGBA textures, for one (B·T, H) and one H at a time. */
  private recurrenceTextures: { key: string; states: GLTensor[]; packed: GLTensor } | null = null;
  private readonly vertexShader: WebGLShader;
  private readonly maxSize: number;
  /** Kernels drawn so far (for tests and the benchmark). */
  draws = 0;
  /** Values read back so far. */
  readbacks = 0;

  constructor(readonly gl: WebGL2RenderingContext) {
    const reason = webglUnavailableReason(gl);
    if (reason) throw new Error(reason);
    this.framebuffer = gl.createFramebuffer() as WebGLFramebuffer;
    this.multiFramebuffer = gl.createFramebuffer() as WebGLFramebuffer;
    this.vertexShader = this.shader(gl.VERTEX_SHADER, VERTEX);
    this.maxSize = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.BLEND);
    gl.bindVertexArray(gl.createVertexArray());
  }

  // ---- tensors ----

  private texture(cols: number, rows: number, rgba = false): WebGLTexture {
    const gl = this.gl;
    if (cols > this.maxSize || rows > this.maxSize) throw new Error(`a ${rows} × ${cols} tensor exceeds this GPU's largest texture (${this.maxSize})`);
    const tex = gl.createTexture() as WebGLTexture;
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texStorage2D(gl.TEXTURE_2D, 1, rgba ? gl.RGBA32F : gl.R32F, cols, rows);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    return tex;
  }

  alloc(rows: number, cols: number): GLTensor {
    const t = new GLTensor(this.texture(cols, rows), rows, cols);
    this.fill(t, 0); // texStorage2D leaves the contents to the implementation
    return t;
  }

  allocGroup(shapes: ReadonlyArray<readonly [number, number]>): { whole: GLTensor; parts: GLTensor[] } {
    const parts = shapes.map(([r, c]) => this.alloc(r, c));
    return { whole: new GLTensor(null, 1, parts.reduce((s, p) => s + p.size, 0), parts), parts };
  }

  release(tensor: GLTensor): void {
    if (tensor.parts) for (const p of tensor.parts) this.release(p);
    if (tensor.texture) this.gl.deleteTexture(tensor.texture);
    tensor.texture = null;
  }

  size(tensor: GLTensor): number {
    return tensor.size;
  }

  read(tensor: GLTensor): Float32Array {
    if (tensor.parts) {
      const out = new Float32Array(tensor.size);
      let o = 0;
      for (const p of tensor.parts) {
        out.set(this.read(p), o);
        o += p.size;
      }
      return out;
    }
    const gl = this.gl;
    this.attach(tensor.texture as WebGLTexture);
    const rgba = new Float32Array(tensor.rows * tensor.cols * 4);
    gl.readPixels(0, 0, tensor.cols, tensor.rows, gl.RGBA, gl.FLOAT, rgba);
    this.readbacks += tensor.size;
    const out = new Float32Array(tensor.size);
    for (let k = 0; k < out.length; k++) out[k] = rgba[4 * k];
    return out;
  }

  write(tensor: GLTensor, data: ArrayLike<number>, offset = 0): void {
    if (tensor.parts) {
      let o = 0;
      for (const p of tensor.parts) {
        const from = Math.max(0, offset - o);
        const to = Math.min(p.size, offset + data.length - o);
        if (from < to) {
          const slice = Float32Array.from({ length: to - from }, (_, k) => data[o + from + k - offset]);
          this.write(p, slice, from);
        }
        o += p.size;
      }
      return;
    }
    let values: Float32Array;
    if (offset === 0 && data.length === tensor.size) values = Float32Array.from(data);
    else {
      values = this.read(tensor);
      for (let k = 0; k < data.length; k++) values[offset + k] = data[k];
    }
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, tensor.texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, tensor.cols, tensor.rows, gl.RED, gl.FLOAT, values);
  }

  fill(tensor: GLTensor, value: number): void {
    if (tensor.parts) {
      for (const p of tensor.parts) this.fill(p, value);
      return;
    }
    const gl = this.gl;
    this.attach(tensor.texture as WebGLTexture);
    gl.clearBufferfv(gl.COLOR, 0, [value, 0, 0, 0]);
  }

  allocIds(n: number): GLIds {
    const rows = Math.ceil(n / IDS_WIDTH);
    return new GLIds(this.texture(IDS_WIDTH, rows), n, new Int32Array(n));
  }

  writeIds(ids: GLIds, data: Int32Array): void {
    ids.host.set(data);
    const rows = Math.ceil(ids.n / IDS_WIDTH);
    const values = new Float32Array(rows * IDS_WIDTH);
    for (let k = 0; k < ids.n; k++) values[k] = data[k];
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, ids.texture);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, IDS_WIDTH, rows, gl.RED, gl.FLOAT, values);
  }

  // ---- running a kernel ----

  private shader(type: number, source: string): WebGLShader {
    const gl = this.gl;
    const s = gl.createShader(type) as WebGLShader;
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS) && !gl.isContextLost()) {
      throw new Error(`shader did not compile: ${gl.getShaderInfoLog(s) ?? ''}\n${source}`);
    }
    return s;
  }

  private compile(k: Kernel): Compiled {
    const found = this.programs.get(k.name);
    if (found) return found;
    const gl = this.gl;
    const program = gl.createProgram() as WebGLProgram;
    gl.attachShader(program, this.vertexShader);
    gl.attachShader(program, this.shader(gl.FRAGMENT_SHADER, fragmentSource(k)));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost()) throw new Error(`kernel ${k.name} did not link: ${gl.getProgramInfoLog(program) ?? ''}`);
    const uniforms = new Map<string, WebGLUniformLocation | null>();
    const names = ['u_out', 'u_size', 'u_height', 'u_ids', ...(k.ints ?? []), ...(k.floats ?? [])];
    for (const n of k.inputs) names.push(n, `${n}_v`);
    for (const n of names) uniforms.set(n, gl.getUniformLocation(program, n));
    const compiled = { program, uniforms, samplers: [...k.inputs] };
    this.programs.set(k.name, compiled);
    return compiled;
  }

  private attach(texture: WebGLTexture): void {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
  }

  /** The engine's view of `rows` rows of `cols` values as a block of texture rows. */
  private region(v: View<GLTensor>, rows: number, cols: number): Region {
    return this.rowsOf(v.tensor, v.offset, v.stride, rows, cols);
  }

  /** A (rows, cols) block from an offset and stride (in floats) on a tensor of `t.cols` columns. */
  private rowsOf(t: GLTensor, offset: number, ld: number, rows: number, cols: number): Region {
    const W = t.cols;
    const row0 = Math.floor(offset / W);
    const col0 = offset - row0 * W;
    const stride = rows > 1 ? ld / W : 1;
    if (!Number.isInteger(stride) || stride < 1 || col0 + cols > W || row0 + (rows - 1) * stride >= t.rows) {
      throw new Error(`webgl: a view (offset ${offset}, ld ${ld}, ${rows} × ${cols}) does not fall on whole rows of a ${t.rows} × ${W} tensor`);
    }
    return { t, row0, col0, stride, rows, cols };
  }

  private whole(t: GLTensor): Region {
    return { t, row0: 0, col0: 0, stride: 1, rows: t.rows, cols: t.cols };
  }

  /** The n-th spare texture of t's shape. */
  private scratchKey(t: GLTensor, n = 0): string {
    return `${t.cols}x${t.rows}${n > 0 ? `#${n}` : ''}`;
  }

  private scratchFor(t: GLTensor, n = 0): WebGLTexture {
    const key = this.scratchKey(t, n);
    let tex = this.scratch.get(key);
    if (!tex) {
      tex = this.texture(t.cols, t.rows);
      this.scratch.set(key, tex);
    }
    return tex;
  }

  /**
   * Draws kernel `k` into the rows of `out`, reading `inputs` (each a view, in k.inputs' order).
   * When `out` is also read, draws into scratch and swaps (whole tensor) or copies the rows back.
   */
  private run(k: Kernel, out: Region, inputs: Array<Region | null>, scalars: Record<string, number> = {}, ids: GLIds | null = null): void {
    const inPlace = inputs.some((v) => v !== null && v.t === out.t);
    const target = inPlace ? this.scratchFor(out.t) : (out.t.texture as WebGLTexture);
    this.draw(k, target, out, inputs, scalars, ids);
    if (!inPlace) return;
    const covers = out.row0 === 0 && out.col0 === 0 && out.stride === 1 && out.rows === out.t.rows && out.cols === out.t.cols;
    if (covers) {
      this.scratch.set(this.scratchKey(out.t), out.t.texture as WebGLTexture);
      out.t.texture = target;
    } else {
      const tmp = new GLTensor(target, out.t.rows, out.t.cols);
      this.draw(K.copy, out.t.texture as WebGLTexture, out, [{ ...out, t: tmp }], {}, null);
    }
  }

  /** Draws kernel `k` (with `outputs`) into the rows of `out` of every target at once: textures of out's size, none of them read. */
  private drawMany(k: Kernel, targets: GLTensor[], out: Region, inputs: Array<Region | null>, scalars: Record<string, number>): void {
    const gl = this.gl;
    if (targets.length !== (k.outputs?.length ?? 1)) throw new Error(`kernel ${k.name} writes ${k.outputs?.length ?? 1} textures, given ${targets.length}`);
    if (targets.some((t) => t.rows !== out.t.rows || t.cols !== out.t.cols || inputs.some((v) => v !== null && v.t.texture === t.texture))) {
      throw new Error(`kernel ${k.name}: its targets must have one size and not be read`);
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.multiFramebuffer);
    const buffers: number[] = [];
    for (let n = 0; n < Math.max(targets.length, this.multiAttached); n++) {
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + n, gl.TEXTURE_2D, n < targets.length ? targets[n].texture : null, 0);
      if (n < targets.length) buffers.push(gl.COLOR_ATTACHMENT0 + n);
    }
    this.multiAttached = targets.length;
    gl.drawBuffers(buffers);
    this.drawBound(k, out, inputs, scalars, null);
  }

  private draw(k: Kernel, target: WebGLTexture, out: Region, inputs: Array<Region | null>, scalars: Record<string, number>, ids: GLIds | null): void {
    this.attach(target);
    this.drawBound(k, out, inputs, scalars, ids);
  }

  /** Draws into what the bound framebuffer has attached. */
  private drawBound(k: Kernel, out: Region, inputs: Array<Region | null>, scalars: Record<string, number>, ids: GLIds | null): void {
    const gl = this.gl;
    const c = this.compile(k);
    gl.useProgram(c.program);
    gl.viewport(0, 0, out.t.cols, out.t.rows);
    const u = c.uniforms;
    gl.uniform4i(u.get('u_out') ?? null, out.row0, out.col0, out.stride, out.cols);
    gl.uniform2i(u.get('u_size') ?? null, out.t.cols, out.t.rows);
    gl.uniform1i(u.get('u_height') ?? null, out.stride === 1 ? out.rows : 1);
    let unit = 0;
    for (let n = 0; n < c.samplers.length; n++) {
      const v = inputs[n];
      const name = c.samplers[n];
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, v ? v.t.texture : null);
      gl.uniform1i(u.get(name) ?? null, unit);
      if (v) gl.uniform3i(u.get(`${name}_v`) ?? null, v.row0, v.col0, v.stride);
      unit++;
    }
    if (k.ids) {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, (ids as GLIds).texture);
      gl.uniform1i(u.get('u_ids') ?? null, unit);
    }
    for (const n of k.ints ?? []) gl.uniform1i(u.get(n) ?? null, scalars[n] ?? 0);
    for (const n of k.floats ?? []) gl.uniform1f(u.get(n) ?? null, scalars[n] ?? 0);
    gl.drawArraysInstanced(gl.TRIANGLES, 0, 6, out.stride === 1 ? 1 : out.rows);
    this.draws++;
  }

  /** One float written by a kernel into a 1 × 1 texture, read back. */
  private readScalar(t: GLTensor): number {
    return this.read(t)[0];
  }

  // ---- the primitives ----

  matmul(c: View<GLTensor>, a: View<GLTensor>, b: View<GLTensor>, p: Product): void {
    const { M, N, K: K_, accumulate } = p;
    const transA = p.transA === true;
    const transB = p.transB === true;
    if (transA && transB) throw new Error('matmul: op(A) and op(B) both transposed is not used by the engine');
    const out = this.region(c, M, N);
    const av = transA ? this.region(a, K_, M) : this.region(a, M, K_);
    const bv = transB ? this.region(b, N, K_) : this.region(b, K_, N);
    this.run(K.matmulKernel(transA, transB, accumulate), out, accumulate ? [av, bv, out] : [av, bv], { K: K_ });
  }

  fillRowsWithBiases(out: GLTensor, bias1: GLTensor, bias2: GLTensor | null, R: number, N: number): void {
    const b1 = this.rowsOf(bias1, 0, N, 1, N);
    this.run(K.fillBiases, this.rowsOf(out, 0, N, R, N), [b1, bias2 ? this.rowsOf(bias2, 0, N, 1, N) : b1], { two: bias2 ? 1 : 0 });
  }

  addColumnSums(dbias: GLTensor, dout: GLTensor, R: number, N: number): void {
    const out = this.rowsOf(dbias, 0, N, 1, N);
    this.run(K.columnSums, out, [out, this.rowsOf(dout, 0, N, R, N)], { R });
  }

  copy(dst: GLTensor, src: GLTensor): void {
    const ds = dst.parts ?? [dst];
    const ss = src.parts ?? [src];
    if (ds.length !== ss.length || ds.some((d, k) => d.rows !== ss[k].rows || d.cols !== ss[k].cols)) throw new RangeError('copy: tensors of different shapes');
    for (let k = 0; k < ds.length; k++) this.run(K.copy, this.whole(ds[k]), [this.whole(ss[k])]);
  }

  copyRows(dst: View<GLTensor>, src: View<GLTensor>, R: number, N: number): void {
    this.run(K.copy, this.region(dst, R, N), [this.region(src, R, N)]);
  }

  gatherRows(dst: GLTensor, table: GLTensor, ids: GLIds, R: number, N: number): void {
    this.run(K.gatherRows, this.rowsOf(dst, 0, N, R, N), [this.whole(table)], {}, ids);
  }

  scatterAddRows(dst: GLTensor, src: GLTensor, ids: GLIds, R: number, N: number): void {
    const out = this.whole(dst);
    this.run(K.scatterAddRows, out, [out, this.rowsOf(src, 0, N, R, N)], { R }, ids);
  }

  oneHotProject(gates: GLTensor, wih: GLTensor, bih: GLTensor, bhh: GLTensor, ids: GLIds, R: number, G: number): void {
    this.run(K.oneHotProject, this.rowsOf(gates, 0, G, R, G), [this.whole(wih), this.whole(bih), this.whole(bhh)], {}, ids);
  }

  oneHotGradient(dwih: GLTensor, dGates: GLTensor, ids: GLIds, R: number, G: number): void {
    const out = this.whole(dwih);
    this.run(K.oneHotGradient, out, [out, this.rowsOf(dGates, 0, G, R, G)], { R }, ids);
  }

  /**
   * The fused recurrence's four state textures (B·T, H, RGBA), and W_hh (4H, H) packed by gate into
   * (H, H, RGBA): the four gates' weights of one (row, col) in one texel.
   */
  private recurrenceStart(BT: number, H: number, whh: GLTensor): { states: GLTensor[]; wp: Region } {
    const key = `${BT}x${H}`;
    if (this.recurrenceTextures?.key !== key) {
      if (this.recurrenceTextures) for (const t of [...this.recurrenceTextures.states, this.recurrenceTextures.packed]) this.release(t);
      const states = [0, 1, 2, 3].map(() => new GLTensor(this.texture(H, BT, true), BT, H));
      this.recurrenceTextures = { key, states, packed: new GLTensor(this.texture(H, H, true), H, H) };
    }
    const wp = this.whole(this.recurrenceTextures.packed);
    this.drawMany(K.packByGate, [wp.t], wp, [this.whole(whh)], { H });
    return { states: this.recurrenceTextures.states, wp };
  }

  /**
   * One draw per step: texture 2 collects the gate activations, textures 0 and 1 the state (h, c,
   * tanh c) of the even and odd steps. Then three draws write the model's tensors.
   */
  recurrenceForward(r: RecurrenceForward<GLTensor>): boolean {
    const { B, T, H, reverse } = r;
    const { states, wp } = this.recurrenceStart(B * T, H, r.whh);
    const init = { initH: r.h0 ? 1 : 0, initC: r.c0 ? 1 : 0 };
    const initial = (t: GLTensor | null): Region | null => (t ? this.rowsOf(t, r.stateOffset, H, B, H) : null);
    for (let s = 0; s < T; s++) {
      const t = reverse ? T - 1 - s : s;
      const tPrev = reverse ? t + 1 : t - 1;
      const step = (x: GLTensor, cols: number, at = t): Region => this.rowsOf(x, at * cols, T * cols, B, cols);
      const prev = s > 0 ? step(states[(s - 1) % 2], H, tPrev) : null;
      this.drawMany(K.recurrentStepForward, [states[2], states[s % 2]], step(states[2], H),
        [step(r.gates, 4 * H), wp, prev, s === 0 ? initial(r.h0) : null, s === 0 ? initial(r.c0) : null], { H, first: s === 0 ? 1 : 0, ...init });
    }
    this.run(K.unpackGates, this.whole(r.gates), [this.whole(states[2])], { H });
    const both = [this.whole(states[0]), this.whole(states[1])];
    const rev = reverse ? 1 : 0;
    this.drawMany(K.unpackStates, [r.h, r.c, r.tanhC], this.whole(r.h), both, { T, reverse: rev });
    this.drawMany(K.unpackPrevious, [r.hPrev, r.cPrev], this.whole(r.hPrev), [...both, initial(r.h0), initial(r.c0)], { T, reverse: rev, ...init });
    return true;
  }

  /**
   * One draw per step: textures 0 and 1 collect the gate gradients of the even and odd steps,
   * textures 2 and 3 what they carry (dc · f, dh, dc). Then up to four draws write the model's tensors.
   */
  recurrenceBackward(r: RecurrenceBackward<GLTensor>): boolean {
    const { B, T, H, reverse } = r;
    const { states, wp } = this.recurrenceStart(B * T, H, r.whh);
    const next = (x: GLTensor): Region => this.rowsOf(x, 0, H, B, H);
    let last = 0;
    for (let s = 0; s < T; s++) {
      const t = reverse ? s : T - 1 - s;
      const tNext = reverse ? t - 1 : t + 1;
      const step = (x: GLTensor, cols: number, at = t): Region => this.rowsOf(x, at * cols, T * cols, B, cols);
      const first = s === 0;
      this.drawMany(K.recurrentStepBackward, [states[s % 2], states[2 + (s % 2)]], step(states[0], H), [
        step(r.gates, 4 * H), step(r.tanhC, H), step(r.cPrev, H),
        this.rowsOf(r.dOut, r.dOutOffset + t * r.dOutWidth, T * r.dOutWidth, B, H), wp,
        first ? null : step(states[(s - 1) % 2], H, tNext), first ? null : step(states[2 + ((s - 1) % 2)], H, tNext),
        first ? next(r.dhNext) : null, first ? next(r.dcNext) : null,
      ], { H, first: first ? 1 : 0 });
      last = t;
    }
    const rev = reverse ? 1 : 0;
    this.run(K.unpackGateGradients, this.whole(r.dGates), [this.whole(states[0]), this.whole(states[1])], { H, T, reverse: rev });
    if (r.dhTrace && r.dcTrace) this.drawMany(K.unpackTrace, [r.dhTrace, r.dcTrace], this.whole(r.dhTrace), [this.whole(states[2]), this.whole(states[3])], { T, reverse: rev });
    else if (r.dhTrace || r.dcTrace) throw new Error('recurrenceBackward: dhTrace and dcTrace go together');
    const lastSlot = (T - 1) % 2;
    const lastRows = (x: GLTensor): Region => this.rowsOf(x, last * H, T * H, B, H);
    this.run(K.channel, next(r.dcNext), [lastRows(states[2 + lastSlot])], { k: 0 });
    if (r.dh0) this.run(K.packedTimesWeights, this.rowsOf(r.dh0, r.stateOffset, H, B, H), [lastRows(states[lastSlot]), wp], { H });
    return true;
  }

  lstmCellForward(step: CellForward<GLTensor>): void {
    const { B, H, state, prev } = step;
    const g = this.region(step.gates, B, 4 * H);
    const s = (t: GLTensor): Region => this.rowsOf(t, state.offset, state.stride, B, H);
    // The previous state, kept for backward (and read below from there: c is being written).
    if (step.hPrevIn) this.run(K.copy, s(step.hPrev), [this.rowsOf(step.hPrevIn, prev.offset, prev.stride, B, H)]);
    else this.run(K.constant, s(step.hPrev), [], { value: 0 });
    if (step.cPrevIn) this.run(K.copy, s(step.cPrev), [this.rowsOf(step.cPrevIn, prev.offset, prev.stride, B, H)]);
    else this.run(K.constant, s(step.cPrev), [], { value: 0 });
    this.run(K.cellC, s(step.c), [g, s(step.cPrev)], { H });
    this.run(K.tanhOf, s(step.tanhC), [s(step.c)]);
    this.run(K.cellH, s(step.h), [g, s(step.tanhC)], { H });
    this.run(K.cellActivate, g, [g], { H });
  }

  lstmCellBackward(step: CellBackward<GLTensor>): void {
    const { B, H, gate, state } = step;
    const s = (t: GLTensor): Region => this.rowsOf(t, state.offset, state.stride, B, H);
    const next = (t: GLTensor): Region => this.rowsOf(t, 0, H, B, H);
    const gates = (t: GLTensor): Region => this.rowsOf(t, gate.offset, gate.stride, B, 4 * H);
    const inputs = [gates(step.gates), s(step.tanhC), s(step.cPrev), this.region(step.dOut, B, H), next(step.dhNext), next(step.dcNext)];
    if (step.dhTrace) this.run(K.cellDh, s(step.dhTrace), inputs, { H });
    if (step.dcTrace) this.run(K.cellDc, s(step.dcTrace), inputs, { H });
    this.run(K.cellDGates, gates(step.dGates), inputs, { H });
    this.run(K.cellDcCarry, next(step.dcNext), inputs, { H });
  }

  private rowLoss: GLTensor | null = null;
  private total: GLTensor | null = null;

  softmaxCrossEntropyForward(probs: GLTensor, logits: GLTensor, targets: GLIds | null, R: number, V: number): number {
    const lv = this.rowsOf(logits, 0, V, R, V);
    this.run(K.softmax, this.rowsOf(probs, 0, V, R, V), [lv], { V });
    if (!targets) return NaN;
    if (!this.rowLoss || this.rowLoss.cols < R) {
      if (this.rowLoss) this.release(this.rowLoss);
      this.rowLoss = this.alloc(1, R);
    }
    this.total ??= this.alloc(1, 1);
    // Per-row losses laid out as one row (R ≤ the texture size), summed by a second kernel.
    const rows = this.rowsOf(this.rowLoss, 0, R, 1, R);
    this.run(K.rowLossAsColumns, rows, [lv], { V }, targets);
    this.run(K.rowSums(false), this.whole(this.total), [rows], { N: R });
    return this.readScalar(this.total) / countTargets(targets.host, R);
  }

  softmaxCrossEntropyBackward(dlogits: GLTensor, probs: GLTensor, targets: GLIds, R: number, V: number): void {
    this.run(K.softmaxBackward, this.rowsOf(dlogits, 0, V, R, V), [this.rowsOf(probs, 0, V, R, V)], { scale: 1 / countTargets(targets.host, R) }, targets);
  }

  private sums: GLTensor | null = null;

  sumOfSquares(tensor: GLTensor): number {
    const parts = tensor.parts ?? [tensor];
    // Each part's rows summed into a column, then each column into one value of a row: one read-back.
    const maxRows = Math.max(...parts.map((p) => p.rows));
    if (!this.sums || this.sums.rows < maxRows || this.sums.cols < parts.length) {
      if (this.sums) this.release(this.sums);
      this.sums = this.alloc(Math.max(maxRows, 1), Math.max(parts.length, 1));
    }
    const totals = this.alloc(1, parts.length);
    parts.forEach((p, k) => {
      const col = this.rowsOf(this.sums as GLTensor, k, (this.sums as GLTensor).cols, p.rows, 1);
      this.run(K.rowSums(true), col, [this.whole(p)], { N: p.cols });
      this.run(K.columnTotal, this.rowsOf(totals, k, parts.length, 1, 1), [col], { R: p.rows });
    });
    const values = this.read(totals);
    this.release(totals);
    let s = 0;
    for (const v of values) s += v;
    return s;
  }

  scale(tensor: GLTensor, factor: number): void {
    for (const p of tensor.parts ?? [tensor]) this.run(K.scale, this.whole(p), [this.whole(p)], { factor });
  }

  /** Always writes (true): a shader cannot refuse the whole update before writing it; the trainer checks the loss and the norm. */
  adamUpdate(params: GLTensor, grads: GLTensor, m: GLTensor, v: GLTensor, lr: number, beta1: number, beta2: number, eps: number, step: number): boolean {
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, step));
    const ps = params.parts ?? [params];
    const gs = grads.parts ?? [grads];
    const ms = m.parts ?? [m];
    const vs = v.parts ?? [v];
    for (let k = 0; k < ps.length; k++) {
      // One draw writes the new p, m and v into three spare textures of their shape, which then take their places.
      const updated = [ps[k], ms[k], vs[k]];
      const spares = updated.map((t, n) => new GLTensor(this.scratchFor(t, n), t.rows, t.cols));
      this.drawMany(K.adam, spares, this.whole(spares[0]), [this.whole(ps[k]), this.whole(gs[k]), this.whole(ms[k]), this.whole(vs[k])], { beta1, beta2, stepSize, sqrtBc2, eps });
      updated.forEach((t, n) => {
        this.scratch.set(this.scratchKey(t, n), t.texture as WebGLTexture);
        t.texture = spares[n].texture;
      });
    }
    return true;
  }

  /** Always writes (true), as adamUpdate. */
  sgdUpdate(params: GLTensor, grads: GLTensor, lr: number): boolean {
    const ps = params.parts ?? [params];
    const gs = grads.parts ?? [grads];
    for (let k = 0; k < ps.length; k++) this.run(K.sgd, this.whole(ps[k]), [this.whole(ps[k]), this.whole(gs[k])], { lr });
    return true;
  }
}
