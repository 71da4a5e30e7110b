// The float32 fast path: the SIMD kernels of kernels.wat, loaded from bytes embedded at build time
// with nothing but the WebAssembly global (no Node built-ins, no DOM), so the same code runs in a
// Node worker thread and in a browser Web Worker.
//
// Where memory can be shared (SharedArrayBuffer: Node, or a cross-origin isolated page), each model
// keeps its parameters, gradients and activations in an Arena: a WebAssembly memory of its own that
// the kernels read in place. Growing a shared memory never detaches the views already handed out,
// and a model's memory goes away with the model (nothing outside can alias it). Elsewhere, or for
// arrays that live outside an arena, the operands are copied into a scratch area first.
// Where WebAssembly SIMD is missing, nothing here is used: kernels.ts runs its plain loops.
//
// The kernels come in two builds of the one text (build.mjs): with relaxed SIMD's fused
// multiply-add (f32x4.relaxed_madd), where the runtime validates it (VS Code's Electron, Chrome,
// Node 22; Node 20 behind --experimental-wasm-relaxed-simd, which src/node/wasmFeatures.ts turns on
// before anything compiles), and with a multiply then an add everywhere else. A fused multiply-add
// rounds once where the other rounds twice, so the two agree to float32 rounding, not bit for bit.

import type { CellBackward, CellForward, RecurrenceBackward, RecurrenceForward } from '../backend';
import type { FloatArray } from '../config';
import {
  KERNELS_SHARED_BASE64,
  KERNELS_SHARED_FMA_BASE64,
  KERNELS_UNSHARED_BASE64,
  KERNELS_UNSHARED_FMA_BASE64,
} from './generated/kernels-wasm';

// The few parts of the WebAssembly global used here, typed locally: the engine compiles without
// the DOM library, and the global may be missing altogether.
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

function wasmApi(): WasmApi | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return typeof api === 'object' && api !== null ? api : null;
}

/** The kernels' exports. */
export interface KernelExports {
  gemm_nn(c: number, ldc: number, a: number, sai: number, sak: number, b: number, ldb: number, M: number, N: number, K: number, acc: number): void;
  gemm_nt(c: number, ldc: number, a: number, lda: number, b: number, ldb: number, M: number, N: number, K: number, acc: number): void;
  gemm_packed(c: number, ldc: number, a: number, sai: number, sak: number, b: number, sbk: number, sbj: number, M: number, N: number, K: number, acc: number, work: number): void;
  /** gemm_packed on a B that pack_b_all packed beforehand (at bpk). */
  gemm_prepacked(c: number, ldc: number, a: number, sai: number, sak: number, bpk: number, M: number, N: number, K: number, acc: number, work: number): void;
  /** Packs all of B (K, N) as gemm_packed would, block by block: K * (N rounded up to 8) floats at dst. */
  pack_b_all(dst: number, b: number, sbk: number, sbj: number, K: number, N: number): void;
  cell_forward(gates: number, gs: number, c: number, h: number, tc: number, hp: number, cp: number, ss: number, hIn: number, cIn: number, ps: number, B: number, H: number): void;
  cell_backward(gates: number, dg: number, gs: number, tc: number, cp: number, dhT: number, dcT: number, ss: number, dOut: number, os: number, dhN: number, dcN: number, B: number, H: number): void;
  softmax_rows(probs: number, logits: number, R: number, V: number, stats: number): void;
  /** Rows of src `ld` floats apart. */
  column_sums(dst1: number, dst2: number, src: number, R: number, N: number, ld: number, work: number): void;
  scatter_add_rows(dst: number, src: number, ids: number, R: number, N: number): void;
  /** dst[k] = f(src[k]) for n floats; f: 0 exp, 1 sigmoid, 2 tanh (the kernels' approximations). */
  map(dst: number, src: number, n: number, f: number): void;
}

/**
 * Bytes of the area gemm_packed packs its operands into (kernels.wat: a 256 x 256 block of B, a
 * 64 x 256 block of A, one 4 x 8 tile), one per thread running it.
 */
export const GEMM_WORK_BYTES = 4 * (256 * 256 + 64 * 256 + 32);
/**
 * From this many rows of C on, multiplies run on the packed kernel; below, the tiles read the
 * operands where they lie (a matrix-vector product of generation is not worth a copy of the matrix).
 */
let packedMinRows = 8;

/** Sets the fewest rows of C the packed kernel takes (a benchmark compares the tiles that read in place with Infinity); returns the previous one. */
export function setPackedMinRows(rows: number): number {
  const before = packedMinRows;
  packedMinRows = rows;
  return before;
}

const PAGE = 65536;
/** Allocations start on cache-line boundaries. */
const ALIGN = 64;
const MAX_PAGES_SHARED = 65536; // 4 GiB of address space, reserved but not used until grown into

interface Compiled {
  module: WasmModule;
  api: WasmApi;
  shared: boolean;
  /** Built with relaxed SIMD's fused multiply-add. */
  fma: boolean;
}

/** The kernels that run: the FMA build, the plain-SIMD build, or (no WebAssembly SIMD) the plain TypeScript loops. */
export type KernelPath = 'wasm relaxed-simd fma' | 'wasm simd' | 'js';

/** Each build, compiled the first time it is asked for (null: it does not validate here). */
const compiledBuilds: { fma?: Compiled | null; plain?: Compiled | null } = {};
/** Whether the FMA build is wanted where it validates (tests turn it off to check the fallback). */
let wantFma = true;

function decodeBase64(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const table = new Int8Array(128).fill(-1);
  for (let k = 0; k < alphabet.length; k++) table[alphabet.charCodeAt(k)] = k;
  let end = text.length;
  while (end > 0 && text[end - 1] === '=') end--;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0, value = 0, o = 0;
  for (let k = 0; k < end; k++) {
    value = (value << 6) | table[text.charCodeAt(k)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

function canShareMemory(api: WasmApi): boolean {
  try {
    if (typeof SharedArrayBuffer === 'undefined') return false;
    const m = new api.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

function compileBuild(fma: boolean): Compiled | null {
  const key = fma ? 'fma' : 'plain';
  const known = compiledBuilds[key];
  if (known !== undefined) return known;
  let result: Compiled | null = null;
  try {
    const api = wasmApi();
    if (api) {
      const shared = canShareMemory(api);
      const text = fma ? (shared ? KERNELS_SHARED_FMA_BASE64 : KERNELS_UNSHARED_FMA_BASE64) : shared ? KERNELS_SHARED_BASE64 : KERNELS_UNSHARED_BASE64;
      const bytes = decodeBase64(text);
      // Invalid where SIMD (or relaxed SIMD, or threads where shared) is missing.
      if (api.validate(bytes)) result = { module: new api.Module(bytes), api, shared, fma };
    }
  } catch {
    result = null;
  }
  compiledBuilds[key] = result;
  return result;
}

/** The compiled kernels new models get: the FMA build where it validates (and is wanted), else the plain one; null without WebAssembly SIMD. */
function kernelsModule(): Compiled | null {
  return (wantFma ? compileBuild(true) : null) ?? compileBuild(false);
}

/** Whether this runtime validates the relaxed-SIMD (fused multiply-add) build. */
export function relaxedSimdAvailable(): boolean {
  return compileBuild(true) !== null;
}

/**
 * Chooses the build that models made from now on run (true: the FMA build where it validates;
 * false: the plain-SIMD fallback); returns the previous choice. Models made before keep theirs.
 */
export function preferFmaKernels(on: boolean): boolean {
  const before = wantFma;
  wantFma = on;
  return before;
}

/** The build models made now run on, as a bench names it (kernels.ts's kernelPath adds the plain switch). */
export function wasmKernelPath(): KernelPath {
  const c = kernelsModule();
  return c === null ? 'js' : c.fma ? 'wasm relaxed-simd fma' : 'wasm simd';
}

/** Arenas by every buffer object their memory has shown (a grown shared memory shows a new one). */
const arenaOfBuffer = new WeakMap<ArrayBufferLike, Arena>();

/** A WebAssembly memory with the kernels bound to it, and a first-fit allocator over it. */
export class Arena {
  readonly memory: WasmMemory;
  readonly kernels: KernelExports;
  readonly shared: boolean;
  /** The compiled module the kernels are an instance of (helper threads instantiate the same). */
  readonly module: WasmModule;
  /** Whether the kernels are the FMA build. */
  readonly fma: boolean;
  /** gemm_packed's areas, one per chunk of a split job (index 0 also for unsplit calls). */
  private readonly workAreas: number[] = [];
  private view: Float32Array;
  /** Free blocks [start, start + size) in bytes, sorted by start, coalesced. */
  private readonly freeBlocks: Array<{ start: number; size: number }> = [];
  private readonly sizes = new Map<number, number>();
  private top = ALIGN; // address 0 is never handed out
  private scratchPtr = 0;
  private scratchSize = 0;
  private packedPtr = 0;
  private packedSize = 0;

  constructor(c: Compiled) {
    this.shared = c.shared;
    this.module = c.module;
    this.fma = c.fma;
    this.memory = c.shared
      ? new c.api.Memory({ initial: 1, maximum: MAX_PAGES_SHARED, shared: true })
      : new c.api.Memory({ initial: 1 });
    const instance = new c.api.Instance(c.module, { env: { memory: this.memory } });
    this.kernels = instance.exports as unknown as KernelExports;
    this.view = new Float32Array(this.memory.buffer);
    arenaOfBuffer.set(this.memory.buffer, this);
  }

  /** The whole memory as floats (fresh after growth). */
  floats(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) {
      this.view = new Float32Array(this.memory.buffer);
      arenaOfBuffer.set(this.memory.buffer, this);
    }
    return this.view;
  }

  /** Whether `buffer` is (a view of) this arena's memory. */
  owns(buffer: ArrayBufferLike): boolean {
    return arenaOfBuffer.get(buffer) === this;
  }

  /** A block of at least `bytes` bytes, aligned; null when the memory cannot grow that far. */
  allocBytes(bytes: number): number | null {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let k = 0; k < this.freeBlocks.length; k++) {
      const block = this.freeBlocks[k];
      if (block.size >= size) {
        const start = block.start;
        if (block.size === size) this.freeBlocks.splice(k, 1);
        else {
          block.start += size;
          block.size -= size;
        }
        this.sizes.set(start, size);
        return start;
      }
    }
    const start = this.top;
    const end = start + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      // Grow by at least an eighth, so a run of allocations grows the memory a few times only.
      const extra = Math.max(pages, Math.ceil(have / PAGE / 8));
      try {
        this.memory.grow(extra);
      } catch {
        try {
          this.memory.grow(pages);
        } catch {
          return null;
        }
      }
      this.floats();
    }
    this.top = end;
    this.sizes.set(start, size);
    return start;
  }

  freeBytes(start: number): void {
    const size = this.sizes.get(start);
    if (size === undefined) return;
    this.sizes.delete(start);
    if (start + size === this.top) {
      this.top = start;
      // The block now at the top, if free, returns to the top too.
      const last = this.freeBlocks[this.freeBlocks.length - 1];
      if (last && last.start + last.size === this.top) {
        this.top = last.start;
        this.freeBlocks.pop();
      }
      return;
    }
    let k = 0;
    while (k < this.freeBlocks.length && this.freeBlocks[k].start < start) k++;
    this.freeBlocks.splice(k, 0, { start, size });
    // Coalesce with the neighbours.
    const next = this.freeBlocks[k + 1];
    if (next && start + size === next.start) {
      this.freeBlocks[k].size += next.size;
      this.freeBlocks.splice(k + 1, 1);
    }
    const prev = this.freeBlocks[k - 1];
    if (prev && prev.start + prev.size === start) {
      prev.size += this.freeBlocks[k].size;
      this.freeBlocks.splice(k, 1);
    }
  }

  /**
   * A zeroed Float32Array of n values in this memory (views of a shared memory survive growth), or
   * an ordinary one where the memory is not shared or cannot grow.
   */
  allocFloats(n: number): Float32Array {
    if (!this.shared || n === 0) return new Float32Array(n);
    const start = this.allocBytes(n * 4);
    if (start === null) return new Float32Array(n);
    const out = new Float32Array(this.memory.buffer, start, n);
    out.fill(0);
    return out;
  }

  /** Gives back an array from allocFloats (ignores any other). */
  release(array: Float32Array): void {
    if (this.owns(array.buffer)) this.freeBytes(array.byteOffset);
  }

  /** A scratch area of at least `bytes` bytes, valid until the next call. */
  scratch(bytes: number): number | null {
    if (bytes <= this.scratchSize) return this.scratchPtr;
    if (this.scratchSize > 0) this.freeBytes(this.scratchPtr);
    this.scratchSize = 0;
    const size = Math.max(bytes, 1 << 16);
    const start = this.allocBytes(size);
    if (start === null) return null;
    this.scratchPtr = start;
    this.scratchSize = size;
    return start;
  }

  /** gemm_packed's area for chunk `index` of a job (GEMM_WORK_BYTES, kept for the arena's life); null when the memory cannot grow. */
  work(index: number): number | null {
    const known = this.workAreas[index];
    if (known !== undefined) return known;
    const start = this.allocBytes(GEMM_WORK_BYTES);
    if (start === null) return null;
    this.workAreas[index] = start;
    return start;
  }

  /**
   * An area for a weight packed once for the many multiplies that read it (the recurrence's W_hh,
   * read by every time step), of at least `bytes` bytes; kept for the arena's life (grown when a
   * larger one is asked for), null when the memory cannot grow.
   */
  packedWeights(bytes: number): number | null {
    if (bytes <= this.packedSize) return this.packedPtr;
    if (this.packedSize > 0) this.freeBytes(this.packedPtr);
    this.packedSize = 0;
    const start = this.allocBytes(bytes);
    if (start === null) return null;
    this.packedPtr = start;
    this.packedSize = bytes;
    return start;
  }

  /**
   * Bytes of memory the arena's users hold (allocated blocks), for tests of the allocator and of
   * memory.ts's estimates; the kernels' own areas (kernelBytes) aside.
   */
  bytesInUse(): number {
    let n = 0;
    for (const size of this.sizes.values()) n += size;
    return n - this.kernelBytes();
  }

  /** Bytes of the kernels' own areas: the scratch area, gemm_packed's work areas (at most POOL_MAX_CHUNKS) and the packed weight. */
  kernelBytes(): number {
    let n = this.scratchSize + (this.packedSize > 0 ? (this.sizes.get(this.packedPtr) ?? 0) : 0);
    for (const start of this.workAreas) n += this.sizes.get(start) ?? 0;
    return n;
  }
}

/** Whether the fast path can run here, and whether models keep their buffers in shared memory. */
export function fastKernelsAvailable(): { simd: boolean; shared: boolean } {
  const c = kernelsModule();
  return { simd: c !== null, shared: c?.shared ?? false };
}

/** A new arena for one model's buffers; null where the fast path is unavailable or memory cannot be shared. */
export function createArena(): Arena | null {
  const c = kernelsModule();
  if (!c || !c.shared) return null;
  try {
    return new Arena(c);
  } catch {
    return null;
  }
}

const scratchArenas = new Map<Compiled, Arena | null>();

/** The arena that runs kernels whose output lives outside every arena (operands are copied in), one per build. */
function defaultArena(): Arena | null {
  const c = kernelsModule();
  if (!c) return null;
  let arena = scratchArenas.get(c);
  if (arena === undefined) {
    try {
      arena = new Arena(c);
    } catch {
      arena = null;
    }
    scratchArenas.set(c, arena);
  }
  return arena;
}

/** Row-major matrix operand: `rows` x `cols` starting at off, leading dimension ld. */
function lastIndex(off: number, ld: number, rows: number, cols: number): number {
  return off + (rows - 1) * ld + cols - 1;
}

function copyIn(mem: Float32Array, dst: number, src: Float32Array, off: number, ld: number, rows: number, cols: number): void {
  if (ld === cols) {
    mem.set(src.subarray(off, off + rows * cols), dst);
    return;
  }
  for (let r = 0; r < rows; r++) mem.set(src.subarray(off + r * ld, off + r * ld + cols), dst + r * cols);
}

/**
 * The kernel a multiply of M rows of C over K takes: the packed one from packedMinRows rows on,
 * else the tiles that read the operands in place (gemm_nt for A·B^T, gemm_nn otherwise).
 */
function multiplyKernel(M: number, K: number, transB: boolean): number {
  return M >= packedMinRows && K > 0 ? KERNEL_PACKED : transB ? KERNEL_NT : KERNEL_NN;
}

/**
 * C (M, N) = op(A) · op(B) (or +=) with the SIMD kernels; arguments as kernels.ts's matmul.
 * Returns false (having done nothing) where the fast path cannot run: no SIMD, an operand out of
 * range, both operands transposed.
 */
export function simdMatmul(
  c: Float32Array, cOff: number, ldc: number,
  a: Float32Array, aOff: number, lda: number, transA: boolean,
  b: Float32Array, bOff: number, ldb: number, transB: boolean,
  M: number, N: number, K: number,
  accumulate: boolean,
): boolean {
  if (transA && transB) return false;
  if (M <= 0 || N <= 0) return true;
  const aRows = transA ? K : M, aCols = transA ? M : K;
  const bRows = transB ? N : K, bCols = transB ? K : N;
  if (lastIndex(cOff, ldc, M, N) >= c.length || cOff < 0) return false;
  if (K > 0 && (lastIndex(aOff, lda, aRows, aCols) >= a.length || lastIndex(bOff, ldb, bRows, bCols) >= b.length || aOff < 0 || bOff < 0)) return false;
  const arena = arenaOfBuffer.get(c.buffer) ?? defaultArena();
  if (!arena) return false;

  // Where each operand is in the arena's memory: in place, or copied into the scratch area.
  const aHere = K === 0 || arena.owns(a.buffer);
  const bHere = K === 0 || arena.owns(b.buffer);
  const cHere = arena.owns(c.buffer);
  const aSize = aHere ? 0 : aRows * aCols;
  const bSize = bHere ? 0 : bRows * bCols;
  const cSize = cHere ? 0 : M * N;
  let scratch = 0;
  if (aSize + bSize + cSize > 0) {
    const s = arena.scratch(4 * (aSize + bSize + cSize) + 3 * ALIGN);
    if (s === null) return false;
    scratch = s;
  }
  const mem = arena.floats();
  let next = scratch;
  /** An operand's byte address and leading dimension: in place, or copied into the scratch area (when `fill`). */
  const locate = (here: boolean, x: Float32Array, off: number, ld: number, rows: number, cols: number, fill: boolean): [number, number] => {
    if (here) return [x.byteOffset + 4 * off, ld];
    const at = next;
    next += Math.ceil((4 * rows * cols) / ALIGN) * ALIGN;
    if (fill) copyIn(mem, at >> 2, x, off, ld, rows, cols);
    return [at, cols];
  };
  let [ap, ald] = locate(aHere, a, aOff, lda, aRows, aCols, true);
  let [bp, bld] = locate(bHere, b, bOff, ldb, bRows, bCols, true);
  const [cp, cld] = locate(cHere, c, cOff, ldc, M, N, accumulate);
  if (K === 0) {
    ap = bp = cp; // not read
    ald = bld = 1;
  }

  const acc = accumulate ? 1 : 0;
  // A(i, k) at ap + 4*(i*sai + k*sak); B(k, j) at bp + 4*(k*sbk + j*sbj).
  const sai = transA ? 1 : ald, sak = transA ? ald : 1;
  const sbk = transB ? 1 : bld, sbj = transB ? bld : 1;
  const kernel = multiplyKernel(M, K, transB);
  if (kernel === KERNEL_PACKED) gemm(arena, KERNEL_PACKED, cp, cld, ap, sai, sak, bp, sbk, sbj, M, N, K, acc);
  else if (kernel === KERNEL_NN) gemm(arena, KERNEL_NN, cp, cld, ap, sai, sak, bp, bld, 0, M, N, K, acc);
  else gemm(arena, KERNEL_NT, cp, cld, ap, ald, 0, bp, bld, 0, M, N, K, acc);

  if (!cHere) {
    const out = arena.floats();
    const base = cp >> 2;
    for (let r = 0; r < M; r++) c.set(out.subarray(base + r * N, base + r * N + N), cOff + r * ldc);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The element-wise kernels. Where their arrays lie in one arena they run in place; otherwise (an
// initial state the caller made, a model without an arena) the rows they touch are copied into
// that arena's scratch area (or the default arena's) and the rows they write copied back, as
// simdMatmul does: a float32 model gets the same bits with or without an arena. float64 arrays run
// the plain loops.

/** Rows an element-wise kernel touches: `rows` rows of `width` floats of x from `offset`, `stride` apart. */
interface Touched {
  x: FloatArray | null;
  offset: number;
  stride: number;
  rows: number;
  width: number;
  write: boolean;
}

function touched(x: FloatArray | null, offset: number, stride: number, rows: number, width: number, write: boolean): Touched {
  return { x, offset, stride, rows, width, write };
}

interface Placed {
  arena: Arena;
  /** Byte addresses, as the groups (0 for a null array). */
  addr: number[][];
  /** Each group's row stride in bytes. */
  stride: number[];
  /** `extraBytes` bytes of the scratch area for the kernel's own use. */
  extra: number;
  /** Copies back the rows written to copies. */
  done(): void;
}

/**
 * Places the operands of one kernel call. Operands of a group share a stride in the kernel's
 * arguments, so a group is in place only if all of it is in the arena; otherwise all of it is copied.
 */
function place(groups: Touched[][], extraBytes: number): Placed | null {
  let arena: Arena | null = null;
  for (const group of groups) {
    for (const { x } of group) {
      if (x === null) continue;
      if (!(x instanceof Float32Array)) return null;
      arena ??= arenaOfBuffer.get(x.buffer) ?? null;
    }
  }
  arena ??= defaultArena();
  if (!arena) return null;
  const home = arena;
  const inPlace = groups.map((group) => group.every(({ x }) => x === null || home.owns(x.buffer)));
  let bytes = extraBytes + ALIGN;
  groups.forEach((group, g) => {
    if (!inPlace[g]) for (const o of group) if (o.x) bytes += Math.ceil((4 * o.rows * o.width) / ALIGN) * ALIGN;
  });
  const needsScratch = bytes > ALIGN + extraBytes || extraBytes > 0;
  const scratch = needsScratch ? home.scratch(bytes) : 0;
  if (scratch === null) return null;
  const mem = home.floats();
  let next = scratch;
  const copies: Array<{ o: Touched; at: number }> = [];
  const addr = groups.map((group, g) =>
    group.map((o) => {
      if (o.x === null) return 0;
      if (inPlace[g]) return o.x.byteOffset + 4 * o.offset;
      const at = next;
      next += Math.ceil((4 * o.rows * o.width) / ALIGN) * ALIGN;
      copyIn(mem, at >> 2, o.x as Float32Array, o.offset, o.stride, o.rows, o.width);
      if (o.write) copies.push({ o, at });
      return at;
    }),
  );
  const stride = groups.map((group, g) => 4 * (inPlace[g] ? group[0].stride : group[0].width));
  return {
    arena: home,
    addr,
    stride,
    extra: next,
    done() {
      if (copies.length === 0) return;
      const out = home.floats();
      for (const { o, at } of copies) {
        const x = o.x as Float32Array;
        for (let r = 0; r < o.rows; r++) x.set(out.subarray((at >> 2) + r * o.width, (at >> 2) + (r + 1) * o.width), o.offset + r * o.stride);
      }
    },
  };
}

/** kernels.ts lstmCellForward on the SIMD kernels; false (nothing done) for float64 arrays or without SIMD. */
export function simdCellForward(step: CellForward<FloatArray>): boolean {
  const { B, H, c, h, tanhC, hPrev, cPrev, hPrevIn, cPrevIn, gates, state, prev } = step;
  if (B <= 0 || H <= 0) return true;
  const s = (x: FloatArray): Touched => touched(x, state.offset, state.stride, B, H, true);
  const placed = place([
    [touched(gates.tensor, gates.offset, gates.stride, B, 4 * H, true)],
    [s(c), s(h), s(tanhC), s(hPrev), s(cPrev)],
    [touched(hPrevIn, prev.offset, prev.stride, B, H, false), touched(cPrevIn, prev.offset, prev.stride, B, H, false)],
  ], 0);
  if (!placed) return false;
  const { arena, addr: [[g], [ac, ah, at, ahp, acp], [ahi, aci]], stride: [gs, ss, ps] } = placed;
  const args = [g, gs, ac, ah, at, ahp, acp, ss, ahi, aci, ps, B, H];
  // Rows split across the helper threads where it pays (each row's arithmetic is the same: same bits).
  if (!splitCell(arena, KERNEL_CELL_FORWARD, args, [[0, gs], [2, ss], [3, ss], [4, ss], [5, ss], [6, ss], [8, ps], [9, ps]], 11, B)) {
    runKernel(arena.kernels, KERNEL_CELL_FORWARD, args, 0);
  }
  placed.done();
  return true;
}

/** kernels.ts lstmCellBackward on the SIMD kernels; false (nothing done) for float64 arrays or without SIMD. */
export function simdCellBackward(step: CellBackward<FloatArray>): boolean {
  const { B, H, gates, dGates, tanhC, cPrev, dhTrace, dcTrace, dOut, dhNext, dcNext, gate, state } = step;
  if (B <= 0 || H <= 0) return true;
  const s = (x: FloatArray | null, write: boolean): Touched => touched(x, state.offset, state.stride, B, H, write);
  const placed = place([
    [touched(gates, gate.offset, gate.stride, B, 4 * H, false), touched(dGates, gate.offset, gate.stride, B, 4 * H, true)],
    [s(tanhC, false), s(cPrev, false), s(dhTrace, true), s(dcTrace, true)],
    [touched(dOut.tensor, dOut.offset, dOut.stride, B, H, false)],
    [touched(dhNext, 0, H, B, H, false), touched(dcNext, 0, H, B, H, true)],
  ], 0);
  if (!placed) return false;
  const { arena, addr: [[ag, adg], [atc, acp, adh, adc], [ao], [ahn, acn]], stride: [gs, ss, os, hs] } = placed;
  const args = [ag, adg, gs, atc, acp, adh, adc, ss, ao, os, ahn, acn, B, H];
  if (!splitCell(arena, KERNEL_CELL_BACKWARD, args, [[0, gs], [1, gs], [3, ss], [4, ss], [5, ss], [6, ss], [8, os], [10, hs], [11, hs]], 12, B)) {
    runKernel(arena.kernels, KERNEL_CELL_BACKWARD, args, 0);
  }
  placed.done();
  return true;
}

/**
 * The softmax of R rows of V logits into probs on the SIMD kernel (float32 exps and sums); returns
 * each row's max and sum (2R floats, a copy), or null for float64 arrays or without SIMD.
 */
export function simdSoftmax(probs: FloatArray, logits: FloatArray, R: number, V: number): Float32Array | null {
  if (R <= 0 || V <= 0) return null;
  const placed = place([[touched(probs, 0, V, R, V, true)], [touched(logits, 0, V, R, V, false)]], 8 * R);
  if (!placed) return null;
  const { arena, addr: [[ap], [al]], extra } = placed;
  // Rows shared among the helper threads where it pays (each row on its own: the same bits).
  const split = R * V >= ELEMENTWISE_SPLIT_MIN || splitThreshold === 0
    ? splitElementwise(arena, KERNEL_SOFTMAX, R, 1, (ctl, at, lo, size) => {
      ctl.set([ap + 4 * lo * V, al + 4 * lo * V, size, V, extra + 8 * lo], at);
      return true;
    })
    : false;
  if (!split) arena.kernels.softmax_rows(ap, al, R, V, extra);
  const stats = arena.floats().slice(extra >> 2, (extra >> 2) + 2 * R);
  placed.done();
  return stats;
}

/** kernels.ts addColumnSums (into dst2 too unless null) on the SIMD kernel, the same bits; false for float64 arrays or without SIMD. */
export function simdColumnSums(dst1: FloatArray, dst2: FloatArray | null, src: FloatArray, R: number, N: number): boolean {
  if (R <= 0 || N <= 0) return true;
  const placed = place([[touched(dst1, 0, N, 1, N, true)], [touched(dst2, 0, N, 1, N, true)], [touched(src, 0, N, R, N, false)]], 8 * (N + 4));
  if (!placed) return false;
  const { arena, addr: [[a1], [a2], [aSrc]], extra } = placed;
  // Columns shared among the helper threads where it pays (each column's sum is the same: the same bits).
  const split = R * N >= ELEMENTWISE_SPLIT_MIN || splitThreshold === 0
    ? splitElementwise(arena, KERNEL_COLUMN_SUMS, N, 4, (ctl, at, lo, size, i) => {
      const work = 8 * (size + 4) <= GEMM_WORK_BYTES ? arena.work(i) : null;
      if (work === null) return false;
      ctl.set([a1 + 4 * lo, a2 && a2 + 4 * lo, aSrc + 4 * lo, R, size, N, work], at);
      return true;
    })
    : false;
  if (!split) arena.kernels.column_sums(a1, a2, aSrc, R, N, N, extra);
  placed.done();
  return true;
}

/** dst[ids[r], :] += src[r, :] (backend.ts scatterAddRows) on the SIMD kernel, the same bits; false for float64 arrays or without SIMD. */
export function simdScatterAddRows(dst: FloatArray, src: FloatArray, ids: Int32Array, R: number, N: number): boolean {
  if (R <= 0 || N <= 0) return true;
  const placed = place([[touched(dst, 0, N, Math.floor(dst.length / N), N, true)], [touched(src, 0, N, R, N, false)]], 4 * R);
  if (!placed) return false;
  const { arena, addr: [[ad], [aSrc]], extra } = placed;
  new Int32Array(arena.memory.buffer, extra, R).set(ids.subarray(0, R));
  arena.kernels.scatter_add_rows(ad, aSrc, extra, R, N);
  placed.done();
  return true;
}

/** The kernels' exp (0), sigmoid (1) or tanh (2) of every value of x (for tests of the approximations). */
export function simdMap(x: Float32Array, f: 0 | 1 | 2): Float32Array {
  const arena = defaultArena();
  if (!arena) throw new Error('no WebAssembly SIMD here');
  const ptr = arena.scratch(8 * x.length + 16);
  if (ptr === null) throw new RangeError('no memory for the scratch area');
  const mem = arena.floats();
  mem.set(x, ptr >> 2);
  const out = ptr + 4 * x.length;
  arena.kernels.map(out, ptr, x.length, f);
  return arena.floats().slice(out >> 2, (out >> 2) + x.length);
}

// ---------------------------------------------------------------------------------------------
// Helper threads. Where memory is shared, a large multiply may be split across threads that run
// the same kernels on the same memory. The engine imports nothing to start threads: a MatmulPool is
// injected (setMatmulPool) by whoever can start them (src/node/matmulPool.ts in Node). The engine
// defines the protocol, a control block of Int32 in a SharedArrayBuffer:
//
//   TICKET  (seq << 4) | claimed: the job's sequence number and how many of its chunks are taken.
//           Chunks are claimed by compare-exchange; the caller closes a finished job by storing
//           (seq << 4) | 15 before it writes the next one's fields, so a helper that read stale
//           fields fails its compare-exchange and never runs them.
//   DONE    chunks finished (Atomics.add, then Atomics.notify).
//   MEM     the memory's id with the helpers (MatmulPool.memoryId).
//   KERNEL  0: gemm_nn, 1: gemm_nt, 2: gemm_packed (each chunk with a work area of its own),
//           3: cell_forward, 4: cell_backward (chunks of the batch's rows),
//           5, 6: a whole recurrence forward or backward, every time step, for a chunk of the
//           batch's sequences (runRecurrenceForward/Backward below); 7: softmax_rows (chunks of
//           rows), 8: column_sums (chunks of columns, each with a work area of its own).
//   CHUNKS  how many chunks the job has (at most POOL_MAX_CHUNKS).
//   READY   helpers started (for a benchmark that waits for them before it measures).
//   FAILED  non-zero once a helper's kernel call threw: the pool is dropped and the multiply
//           throws, rather than leave a part of C unwritten.
//   ARGS    for each chunk, the kernel's arguments (POOL_ARGS_PER_CHUNK slots).
//
// A cell step is split over the batch's rows. A multiply is split over rows or columns of C, never
// over K: every element of C is computed by
// exactly the same operations, in the same order, as in one call, so the results are
// bit-identical to one thread's (the kernels' tiles all add the products of an element in the
// same order). The caller takes chunks too, and finishes any the helpers have not taken: a helper
// that is slow to wake, or missing, costs time, never correctness.

export const POOL_TICKET = 0;
export const POOL_DONE = 1;
export const POOL_MEM = 2;
export const POOL_KERNEL = 3;
export const POOL_CHUNKS = 4;
/** Helpers that have started and wait for jobs (each adds 1, then Atomics.notify). */
export const POOL_READY = 5;
/** Set by a helper whose kernel call threw (never expected: the caller checked every bound). */
export const POOL_FAILED = 6;
export const POOL_ARGS = 8;
export const POOL_ARGS_PER_CHUNK = 17;
/** The kernels a job names (POOL_KERNEL). */
export const KERNEL_NN = 0;
export const KERNEL_NT = 1;
export const KERNEL_PACKED = 2;
export const KERNEL_CELL_FORWARD = 3;
export const KERNEL_CELL_BACKWARD = 4;
export const KERNEL_RECURRENCE_FORWARD = 5;
export const KERNEL_RECURRENCE_BACKWARD = 6;
export const KERNEL_SOFTMAX = 7;
export const KERNEL_COLUMN_SUMS = 8;
export const POOL_MAX_CHUNKS = 8;
/** Int32 slots of the control block. */
export const POOL_CONTROL_INTS = POOL_ARGS + POOL_ARGS_PER_CHUNK * POOL_MAX_CHUNKS;

/** Helper threads for the large multiplies, made outside the engine. */
export interface MatmulPool {
  /** The control block (POOL_CONTROL_INTS Int32 over a SharedArrayBuffer) the helpers wait on. */
  readonly control: Int32Array;
  /** How many helper threads there are (besides the caller). */
  readonly helpers: number;
  /**
   * The id (>= 1) under which the helpers know this WebAssembly memory with the kernels of
   * `module` (the arena's build) instantiated on it, making it known if need be; 0 where they cannot use it.
   */
  memoryId(memory: object, module: object): number;
}

let pool: MatmulPool | null = null;
let poolSeq = 0;
/**
 * Split jobs so far: jobs, their chunks, the chunks the caller ran itself, and the recurrences run
 * over the batch (tests read it).
 */
export const poolStats = { jobs: 0, chunks: 0, callerChunks: 0, recurrences: 0 };
/**
 * Multiplies of fewer multiply-adds (M·N·K) than this run on the caller alone: splitting costs a
 * hand-over and a wait (microseconds while the helper still spins from the last job, tens when it
 * must be woken). Measured on 2 cores (lstm-lens bench --split N): at 1M the per-step recurrence
 * at H = 128 (2M) and generation's batch-1 multiplies (1M) gain 1.1 to 1.5x over not splitting
 * them (on a busy machine, where the helper shares a core, about 0.95x); 256K did worse, the
 * hand-over being a larger share of the work.
 */
let splitThreshold = 1 << 20;

/** Installs (or, with null, removes) the helper threads; returns the previous pool. */
export function setMatmulPool(next: MatmulPool | null): MatmulPool | null {
  const before = pool;
  pool = next;
  return before;
}

/** The pool in use, if any. */
export function matmulPool(): MatmulPool | null {
  return pool;
}

/** Sets the smallest M·N·K that is split across threads (tests use 0 to split everything); returns the previous one. */
export function setMatmulSplitThreshold(macs: number): number {
  const before = splitThreshold;
  splitThreshold = macs;
  return before;
}

/** Whether helper threads can run the kernels here (the kernels compile and memory is shared). */
export function sharedKernelsAvailable(): boolean {
  const c = kernelsModule();
  return c !== null && c.shared;
}

/**
 * C (+)= op(A)·op(B) on `arena`'s kernels at byte addresses, split across the pool's threads where
 * it pays. KERNEL_NN: gemm_nn (A(i, k) at a + 4*(i*sai + k*sak), B rows at b1); KERNEL_NT: gemm_nt
 * (A rows at sai, B rows at b1); KERNEL_PACKED: gemm_packed (B(k, j) at b + 4*(k*b1 + j*b2)).
 */
function gemm(
  arena: Arena, kernel: number,
  cp: number, cld: number, ap: number, sai: number, sak: number, bp: number, b1: number, b2: number,
  M: number, N: number, K: number, acc: number,
): void {
  if (pool && arena.shared && M * N * K >= splitThreshold && splitGemm(pool, arena, kernel, cp, cld, ap, sai, sak, bp, b1, b2, M, N, K, acc)) return;
  const work = kernel === KERNEL_PACKED ? arena.work(0) : 0;
  if (work === null) throw new RangeError('matmul: no memory left for the packed operands');
  runKernel(arena.kernels, kernel, [cp, cld, ap, sai, sak, bp, b1, b2, M, N, K, acc, work], 0);
}

/** Runs one call from its arguments (c, ldc, a, sai, sak, b, b1, b2, M, N, K, acc, work) at `at`. */
export function runKernel(k: KernelExports, kernel: number, x: ArrayLike<number>, at: number): void {
  if (kernel === KERNEL_RECURRENCE_FORWARD) runRecurrenceForward(k, x, at);
  else if (kernel === KERNEL_SOFTMAX) k.softmax_rows(x[at], x[at + 1], x[at + 2], x[at + 3], x[at + 4]);
  else if (kernel === KERNEL_COLUMN_SUMS) k.column_sums(x[at], x[at + 1], x[at + 2], x[at + 3], x[at + 4], x[at + 5], x[at + 6]);
  else if (kernel === KERNEL_RECURRENCE_BACKWARD) runRecurrenceBackward(k, x, at);
  else if (kernel === KERNEL_CELL_FORWARD) k.cell_forward(x[at], x[at + 1], x[at + 2], x[at + 3], x[at + 4], x[at + 5], x[at + 6], x[at + 7], x[at + 8], x[at + 9], x[at + 10], x[at + 11], x[at + 12]);
  else if (kernel === KERNEL_CELL_BACKWARD) k.cell_backward(x[at], x[at + 1], x[at + 2], x[at + 3], x[at + 4], x[at + 5], x[at + 6], x[at + 7], x[at + 8], x[at + 9], x[at + 10], x[at + 11], x[at + 12], x[at + 13]);
  else if (kernel === KERNEL_PACKED) k.gemm_packed(x[at], x[at + 1], x[at + 2], x[at + 3], x[at + 4], x[at + 5], x[at + 6], x[at + 7], x[at + 8], x[at + 9], x[at + 10], x[at + 11], x[at + 12]);
  else if (kernel === KERNEL_NN) k.gemm_nn(x[at], x[at + 1], x[at + 2], x[at + 3], x[at + 4], x[at + 5], x[at + 6], x[at + 8], x[at + 9], x[at + 10], x[at + 11]);
  else k.gemm_nt(x[at], x[at + 1], x[at + 2], x[at + 3], x[at + 5], x[at + 6], x[at + 8], x[at + 9], x[at + 10], x[at + 11]);
}

function splitGemm(
  p: MatmulPool, arena: Arena, kernel: number,
  cp: number, cld: number, ap: number, sai: number, sak: number, bp: number, b1: number, b2: number,
  M: number, N: number, K: number, acc: number,
): boolean {
  // Rows of C in multiples of the kernels' tile height where there are enough, else columns in
  // multiples of the tile width; each chunk writes its own part of C only.
  const nt = kernel === KERNEL_NT;
  const rowAlign = nt ? 2 : 4;
  const colAlign = nt ? 4 : 8;
  const want = Math.min(POOL_MAX_CHUNKS, 2 * (p.helpers + 1));
  let byRows: boolean;
  let step: number;
  if (M >= 2 * rowAlign) {
    byRows = true;
    step = Math.ceil(Math.ceil(M / want) / rowAlign) * rowAlign;
  } else if (N >= 2 * colAlign) {
    byRows = false;
    step = Math.ceil(Math.ceil(N / want) / colAlign) * colAlign;
  } else return false;
  const extent = byRows ? M : N;
  const n = Math.ceil(extent / step);
  if (n < 2) return false;
  const id = p.memoryId(arena.memory, arena.module);
  if (id <= 0) return false;
  const works: number[] = [];
  if (kernel === KERNEL_PACKED) {
    for (let i = 0; i < n; i++) {
      const w = arena.work(i);
      if (w === null) return false;
      works.push(w);
    }
  }

  const ctl = p.control;
  for (let i = 0; i < n; i++) {
    const lo = i * step;
    const size = Math.min(step, extent - lo);
    const at = POOL_ARGS + i * POOL_ARGS_PER_CHUNK;
    // Column j of B: at b + 4*j*b2 (packed), b + 4*j*b1 (gemm_nt: B's rows), b + 4*j (gemm_nn).
    const bColumn = kernel === KERNEL_PACKED ? b2 : nt ? b1 : 1;
    ctl[at] = byRows ? cp + 4 * lo * cld : cp + 4 * lo;
    ctl[at + 1] = cld;
    ctl[at + 2] = byRows ? ap + 4 * lo * sai : ap;
    ctl[at + 3] = sai;
    ctl[at + 4] = sak;
    ctl[at + 5] = byRows ? bp : bp + 4 * lo * bColumn;
    ctl[at + 6] = b1;
    ctl[at + 7] = b2;
    ctl[at + 8] = byRows ? size : M;
    ctl[at + 9] = byRows ? N : size;
    ctl[at + 10] = K;
    ctl[at + 11] = acc;
    ctl[at + 12] = kernel === KERNEL_PACKED ? works[i] : 0;
  }
  runJob(p, arena, kernel, id, n);
  return true;
}

/**
 * Runs the job whose n chunks' arguments are in the control block: hands it to the helpers, takes
 * chunks itself until none is left, waits for the helpers' (module comment above).
 */
function runJob(p: MatmulPool, arena: Arena, kernel: number, id: number, n: number): void {
  const ctl = p.control;
  ctl[POOL_MEM] = id;
  ctl[POOL_KERNEL] = kernel;
  ctl[POOL_CHUNKS] = n;
  Atomics.store(ctl, POOL_DONE, 0);
  poolSeq = (poolSeq + 1) & 0x7ffffff;
  if (poolSeq === 0) poolSeq = 1;
  const base = poolSeq << 4;
  Atomics.store(ctl, POOL_TICKET, base);
  Atomics.notify(ctl, POOL_TICKET);

  // Take chunks until none is left (the count may pass n by one: it stays below 15).
  for (;;) {
    const i = Atomics.add(ctl, POOL_TICKET, 1) - base;
    if (i >= n) break;
    runKernel(arena.kernels, kernel, ctl, POOL_ARGS + i * POOL_ARGS_PER_CHUNK);
    Atomics.add(ctl, POOL_DONE, 1);
    poolStats.callerChunks++;
  }
  poolStats.jobs++;
  poolStats.chunks += n;
  Atomics.store(ctl, POOL_TICKET, base | 15); // closed
  // Wait for the chunks a helper is still running.
  let spins = 0;
  for (;;) {
    const done = Atomics.load(ctl, POOL_DONE);
    if (done >= n) break;
    if (++spins > 20000) Atomics.wait(ctl, POOL_DONE, done, 1);
  }
  if (Atomics.load(ctl, POOL_FAILED) !== 0) {
    if (pool === p) pool = null;
    throw new Error('a helper thread failed in a kernel; the engine runs on one thread from now on');
  }
}

/**
 * How `extent` rows (or columns) are shared among the pool's threads: chunks of `step`, a multiple
 * of `align`, one a thread at most.
 */
function shares(p: MatmulPool, extent: number, align: number): { step: number; chunks: number } {
  const want = Math.min(POOL_MAX_CHUNKS, p.helpers + 1);
  const step = Math.ceil(Math.ceil(extent / want) / align) * align;
  return { step, chunks: Math.ceil(extent / step) };
}

/** Below this many values an element-wise kernel (softmax, column sums) runs on the caller alone. */
const ELEMENTWISE_SPLIT_MIN = 1 << 16;

/**
 * Runs an element-wise kernel split among the pool's threads over `extent` rows or columns, in
 * chunks of a multiple of `align`; `args` writes chunk i's arguments (rows or columns [lo, lo+size))
 * at `at` and may refuse (false: nothing run). False where there is no pool or nothing to split.
 */
function splitElementwise(
  arena: Arena, kernel: number, extent: number, align: number,
  args: (ctl: Int32Array, at: number, lo: number, size: number, i: number) => boolean,
): boolean {
  const p = pool;
  if (!p || !arena.shared) return false;
  const { step, chunks } = shares(p, extent, align);
  if (chunks < 2) return false;
  const id = p.memoryId(arena.memory, arena.module);
  if (id <= 0) return false;
  for (let i = 0; i < chunks; i++) {
    const lo = i * step;
    if (!args(p.control, POOL_ARGS + i * POOL_ARGS_PER_CHUNK, lo, Math.min(step, extent - lo), i)) return false;
  }
  runJob(p, arena, kernel, id, chunks);
  return true;
}

/** Below this many values (B·H) a cell step runs on the caller alone. */
const CELL_SPLIT_MIN = 2048;

/**
 * The cell kernels' arguments for rows [lo, lo + size) of a step: each row's pointers moved by
 * lo rows (a pointer 0, "none", stays 0), the row count replaced.
 */
function splitCell(
  arena: Arena, kernel: number, args: number[], rowPointers: ReadonlyArray<readonly [number, number]>, countAt: number, B: number,
): boolean {
  // A test's threshold of 0 splits everything; otherwise from CELL_SPLIT_MIN values on.
  const least = splitThreshold === 0 ? 0 : CELL_SPLIT_MIN;
  if (B * args[countAt + 1] < least) return false;
  return splitElementwise(arena, kernel, B, 1, (ctl, at, lo, size) => {
    for (let k = 0; k < args.length; k++) ctl[at + k] = args[k];
    for (const [slot, stride] of rowPointers) if (args[slot] !== 0) ctl[at + slot] = args[slot] + lo * stride;
    ctl[at + countAt] = size;
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Threads over the batch. The recurrence of one layer and direction is T multiplies and T cell
// steps, each waiting for the last; split step by step, a helper thread must be handed work 2T
// times a step (about 190 µs of cell between two multiplies at H = 128, longer than a helper
// spins, so every hand-over wakes it: 17 µs). But the sequences of a batch never meet in the
// recurrence: row b of h_t depends on row b of h_{t-1} only. So each thread takes a share of the
// batch's sequences and runs it through every time step on its own, with one hand-over per
// layer and direction. Each of its multiplies is a row block of the one-thread multiply, on the
// kernel the whole batch would use, and each cell step a row block of the whole step: every
// value is computed by the same operations in the same order, so the results are bit-identical
// to one thread's.

/** The flags slot: bit 0 reverse; bits 1 and up, the multiply's kernel. */
const flags = (reverse: boolean, kernel: number): number => (reverse ? 1 : 0) | (kernel << 1);

/**
 * Chunk arguments (forward): gates c h tanhC hPrev cPrev h0 c0 whh rows H T flags work, byte
 * addresses of the chunk's first row. With the packed kernel, `whh` is W_hh already packed
 * (pack_b_all, by the caller before the chunks start).
 */
function runRecurrenceForward(k: KernelExports, x: ArrayLike<number>, at: number): void {
  const gates = x[at], c = x[at + 1], h = x[at + 2], tc = x[at + 3], hp = x[at + 4], cp = x[at + 5];
  const h0 = x[at + 6], c0 = x[at + 7], whh = x[at + 8], rows = x[at + 9], H = x[at + 10], T = x[at + 11];
  const reverse = (x[at + 12] & 1) === 1, kernel = x[at + 12] >> 1, work = x[at + 13];
  const G = 4 * H;
  const gs = 4 * T * G, ss = 4 * T * H;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const tPrev = reverse ? t + 1 : t - 1;
    const hIn = s > 0 ? h + 4 * tPrev * H : h0;
    const cIn = s > 0 ? c + 4 * tPrev * H : c0;
    const ps = s > 0 ? ss : 4 * H;
    const g = gates + 4 * t * G;
    // gates_t += h_{t-1} · W_hh^T (simdMatmul's arguments for transB).
    if (hIn !== 0) {
      if (kernel === KERNEL_PACKED) k.gemm_prepacked(g, T * G, hIn, ps >> 2, 1, whh, rows, G, H, 1, work);
      else k.gemm_nt(g, T * G, hIn, ps >> 2, whh, H, rows, G, H, 1);
    }
    const o = 4 * t * H;
    k.cell_forward(g, gs, c + o, h + o, tc + o, hp + o, cp + o, ss, hIn, cIn, ps, rows, H);
  }
}

/** Chunk arguments (backward): gates dGates tanhC cPrev dhTrace dcTrace dOut dOutWidth dhNext dcNext whh dh0 rows H T flags work (W_hh packed as forward's). */
function runRecurrenceBackward(k: KernelExports, x: ArrayLike<number>, at: number): void {
  const gates = x[at], dg = x[at + 1], tc = x[at + 2], cp = x[at + 3], dhT = x[at + 4], dcT = x[at + 5];
  const dOut = x[at + 6], width = x[at + 7], dhN = x[at + 8], dcN = x[at + 9], whh = x[at + 10], dh0 = x[at + 11];
  const rows = x[at + 12], H = x[at + 13], T = x[at + 14];
  const reverse = (x[at + 15] & 1) === 1, kernel = x[at + 15] >> 1, work = x[at + 16];
  const G = 4 * H;
  const gs = 4 * T * G, ss = 4 * T * H;
  for (let s = 0; s < T; s++) {
    const t = reverse ? s : T - 1 - s;
    const o = 4 * t * H;
    const g = 4 * t * G;
    k.cell_backward(gates + g, dg + g, gs, tc + o, cp + o, dhT && dhT + o, dcT && dcT + o, ss, dOut + 4 * t * width, 4 * T * width, dhN, dcN, rows, H);
    // dL/dh_{t-1} = dGates_t · W_hh (simdMatmul's arguments, no transpose), into dhNext or dh0.
    const into = s < T - 1 ? dhN : dh0;
    if (into === 0) continue;
    if (kernel === KERNEL_PACKED) k.gemm_prepacked(into, H, dg + g, T * G, 1, whh, rows, H, G, 0, work);
    else k.gemm_nn(into, H, dg + g, T * G, 1, whh, H, rows, H, G, 0);
  }
}

/**
 * Where and how the recurrence runs as one call: every buffer in one arena (float32, the SIMD
 * kernels), and, with helper threads, shared memory and enough work to split the batch among
 * them. Returns the arena, the chunks (1: the caller alone, without the per-step calls' overhead)
 * and, when split, the helpers' id for the memory.
 */
function recurrencePlan(arrays: ReadonlyArray<FloatArray | null>, B: number, H: number): { arena: Arena; id: number; chunks: number; step: number } | null {
  if (!recurrenceCalls) return null;
  const first = arrays[0];
  if (!(first instanceof Float32Array)) return null;
  const arena = arenaOfBuffer.get(first.buffer);
  if (!arena) return null;
  for (const x of arrays) if (x !== null && !(x instanceof Float32Array && arena.owns(x.buffer))) return null;
  if (arena.work(0) === null) return null;
  const alone = { arena, id: 0, chunks: 1, step: B };
  const p = pool;
  if (!p || !arena.shared) return alone;
  const least = splitThreshold === 0 ? 0 : CELL_SPLIT_MIN;
  // A batch too small to share (generation's one sequence): step by step, where each step's
  // multiply is split over its columns among the threads, if it is large enough to be.
  if (B < 2 || B * H < least) return B * 4 * H * H >= splitThreshold ? null : alone;
  const { step, chunks } = shares(p, B, 1);
  if (chunks < 2) return alone;
  for (let i = 0; i < chunks; i++) if (arena.work(i) === null) return alone;
  const id = p.memoryId(arena.memory, arena.module);
  if (id <= 0) return alone;
  return { arena, id, chunks, step };
}

/** Runs the recurrence's chunks: split among the helper threads, or the one chunk here. */
function runRecurrence(plan: { arena: Arena; id: number; chunks: number }, kernel: number, args: Int32Array): void {
  if (plan.chunks === 1) {
    runKernel(plan.arena.kernels, kernel, args, 0);
    return;
  }
  (pool as MatmulPool).control.set(args.subarray(0, plan.chunks * POOL_ARGS_PER_CHUNK), POOL_ARGS);
  runJob(pool as MatmulPool, plan.arena, kernel, plan.id, plan.chunks);
  poolStats.recurrences++;
}

let recurrenceCalls = true;

/**
 * Whether a recurrence runs as one call (the default) or step by step, as the model's own loop
 * does (tests compare the two bit for bit); returns the previous setting.
 */
export function useRecurrenceCalls(on: boolean): boolean {
  const before = recurrenceCalls;
  recurrenceCalls = on;
  return before;
}

/** Chunk arguments, laid out as the control block's (POOL_ARGS_PER_CHUNK a chunk). */
const recurrenceArgs = new Int32Array(POOL_ARGS_PER_CHUNK * POOL_MAX_CHUNKS);

const addr = (x: FloatArray | null, floats = 0): number => (x === null ? 0 : x.byteOffset + 4 * floats);

/** Packs the weight w as a multiply's B (K, N) (B(k, j) at w[k*sbk + j*sbj]) into the arena's packed area; its address, or null. */
function packWeight(arena: Arena, w: FloatArray, sbk: number, sbj: number, K: number, N: number): number | null {
  const at = arena.packedWeights(4 * K * (Math.ceil(N / 8) * 8));
  if (at === null) return null;
  arena.kernels.pack_b_all(at, addr(w), sbk, sbj, K, N);
  return at;
}

/**
 * The forward recurrence as one call: with helper threads, each taking a share of the batch's
 * sequences through every step; without, the caller alone. False (nothing done) where it cannot
 * run so (float64, buffers outside the arena): the caller then runs it step by step.
 */
export function simdRecurrenceForward(r: RecurrenceForward<FloatArray>): boolean {
  const { B, T, H } = r;
  const plan = recurrencePlan([r.gates, r.c, r.h, r.tanhC, r.hPrev, r.cPrev, r.whh, r.h0, r.c0], B, H);
  if (!plan) return false;
  const G = 4 * H;
  const ctl = recurrenceArgs;
  const kernel = multiplyKernel(B, H, true); // the whole batch's kernel, for every chunk
  // W_hh^T as the multiply's B (K = H, N = G): B(k, j) = W_hh[j, k].
  const whh = kernel === KERNEL_PACKED ? packWeight(plan.arena, r.whh, 1, H, H, G) : addr(r.whh);
  if (whh === null) return false;
  for (let i = 0; i < plan.chunks; i++) {
    const lo = i * plan.step;
    const at = i * POOL_ARGS_PER_CHUNK;
    ctl.set([
      addr(r.gates, lo * T * G), addr(r.c, lo * T * H), addr(r.h, lo * T * H), addr(r.tanhC, lo * T * H),
      addr(r.hPrev, lo * T * H), addr(r.cPrev, lo * T * H), addr(r.h0, r.stateOffset + lo * H), addr(r.c0, r.stateOffset + lo * H),
      whh, Math.min(plan.step, B - lo), H, T, flags(r.reverse, kernel), plan.arena.work(i) as number,
    ], at);
  }
  runRecurrence(plan, KERNEL_RECURRENCE_FORWARD, ctl);
  return true;
}

/** Back through the recurrence split over the batch, as simdRecurrenceForward; false: the caller goes step by step. */
export function simdRecurrenceBackward(r: RecurrenceBackward<FloatArray>): boolean {
  const { B, T, H } = r;
  const plan = recurrencePlan([r.gates, r.dGates, r.tanhC, r.cPrev, r.dhTrace, r.dcTrace, r.dOut, r.dhNext, r.dcNext, r.whh, r.dh0], B, H);
  if (!plan) return false;
  const G = 4 * H;
  const ctl = recurrenceArgs;
  const kernel = multiplyKernel(B, G, false); // the whole batch's kernel, for every chunk
  // W_hh as the multiply's B (K = G, N = H).
  const whh = kernel === KERNEL_PACKED ? packWeight(plan.arena, r.whh, H, 1, G, H) : addr(r.whh);
  if (whh === null) return false;
  for (let i = 0; i < plan.chunks; i++) {
    const lo = i * plan.step;
    const at = i * POOL_ARGS_PER_CHUNK;
    ctl.set([
      addr(r.gates, lo * T * G), addr(r.dGates, lo * T * G), addr(r.tanhC, lo * T * H), addr(r.cPrev, lo * T * H),
      addr(r.dhTrace, lo * T * H), addr(r.dcTrace, lo * T * H), addr(r.dOut, r.dOutOffset + lo * T * r.dOutWidth), r.dOutWidth,
      addr(r.dhNext, lo * H), addr(r.dcNext, lo * H), whh, addr(r.dh0, r.stateOffset + lo * H),
      Math.min(plan.step, B - lo), H, T, flags(r.reverse, kernel), plan.arena.work(i) as number,
    ], at);
  }
  runRecurrence(plan, KERNEL_RECURRENCE_BACKWARD, ctl);
  return true;
}
