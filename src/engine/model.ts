// The LSTM language model of docs/model.md: input (one-hot or embedding), L stacked
// layers in one or two directions, a linear head, softmax cross-entropy; forward, full
// back-propagation through time, and the trace of every gate and state.
//
// Dimensions (see config.ts): B batch, T steps, V vocabulary, E embedding, I layer input,
// H hidden, L layers, D directions, G = 4H gate rows (i, f, g, o).
//
// The model is written once against the Backend interface (backend.ts): every buffer is a tensor
// the backend owns, every computation one of its primitives. The CPU backend (the default) keeps
// each buffer as a typed array in the model's WebAssembly arena; the WebGL2 backend
// (webgl/) as a float texture.
//
// Memory: parameters, their gradients (and the optimizer's moments, see optimizer.ts) live each in
// one group (on the CPU one contiguous buffer; every parameter is a view into it). Activations
// live in a Workspace made once per (B, T) and reused; no buffer is allocated inside the time loop
// (only the small View records that say which rows a primitive works on).

import { checkClamps, type Clamp } from './clamp';
import { parameterSuffix } from './names';
import {
  arrayConstructor,
  directions,
  InputError,
  layerInputSize,
  type DType,
  type FloatArray,
  type ModelConfig,
} from './config';
import { rows, view, type Backend } from './backend';
import { CpuBackend } from './backend-cpu';
import { IGNORE_TARGET } from './kernels';
import type { Random } from './random';
import type { Arena } from './wasm/simd';

export type Direction = 'forward' | 'backward';
export const DIRECTION_NAMES: readonly Direction[] = ['forward', 'backward'];

export interface ParameterSpec {
  name: string;
  shape: number[];
  /** Where the parameter starts in the flat parameter buffer. */
  offset: number;
  size: number;
}


/** Every parameter of the model, in PyTorch's state_dict order, with its place in the flat buffer. */
export function parameterSpecs(config: ModelConfig): ParameterSpec[] {
  const specs: ParameterSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset, size });
    offset += size;
  };
  const { vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L } = config;
  const D = directions(config);
  if (E !== null) add('embedding.weight', [V, E]);
  for (let l = 0; l < L; l++) {
    const I = layerInputSize(config, l);
    for (let d = 0; d < D; d++) {
      const suffix = parameterSuffix(l, d);
      add(`lstm.weight_ih${suffix}`, [4 * H, I]);
      add(`lstm.weight_hh${suffix}`, [4 * H, H]);
      add(`lstm.bias_ih${suffix}`, [4 * H]);
      add(`lstm.bias_hh${suffix}`, [4 * H]);
    }
  }
  add('head.weight', [V, D * H]);
  add('head.bias', [V]);
  return specs;
}

export function parameterCount(config: ModelConfig): number {
  const specs = parameterSpecs(config);
  const last = specs[specs.length - 1];
  return last.offset + last.size;
}

/** Weights and their gradients for one layer and direction: views into the parameter groups. */
interface RecurrentParameters<Tensor> {
  wih: Tensor; // (G, I)
  whh: Tensor; // (G, H)
  bih: Tensor; // (G)
  bhh: Tensor; // (G)
  dwih: Tensor;
  dwhh: Tensor;
  dbih: Tensor;
  dbhh: Tensor;
}

/** What forward records for one layer and direction; index t is the input position. */
interface RecurrentBuffers<Tensor> {
  gates: Tensor; // (B, T, G) pre-activations, then activations i, f, g, o
  c: Tensor; // (B, T, H)
  h: Tensor; // (B, T, H)
  tanhC: Tensor; // (B, T, H)
  hPrev: Tensor; // (B, T, H) the state each step started from
  cPrev: Tensor; // (B, T, H)
  dGates: Tensor; // (B, T, G)
  dh: Tensor; // (B, T, H) total dL/dh_t, filled when the trace is recorded
  dc: Tensor; // (B, T, H) total dL/dc_t, filled when the trace is recorded
}

/** Activations and their gradients for one (B, T): made once, reused every step. */
class Workspace<Tensor, Ids> {
  readonly tokens: Int32Array; // (B, T) on the host
  readonly tokenIds: Ids; // (B, T) on the backend
  readonly targets: Int32Array; // (B, T) or (B)
  readonly targetIds: Ids;
  readonly embedded: Tensor | null; // (B, T, E)
  readonly dEmbedded: Tensor | null; // (B, T, E)
  readonly recurrent: RecurrentBuffers<Tensor>[][]; // [layer][direction]
  readonly outputs: Tensor[]; // [layer] (B, T, D*H)
  readonly dOutputs: Tensor[]; // [layer] (B, T, D*H)
  readonly dhNext: Tensor; // (B, H)
  readonly dcNext: Tensor; // (B, H)
  readonly features: Tensor; // (B, D*H): many-to-one head input
  readonly dFeatures: Tensor; // (B, D*H)
  readonly logits: Tensor; // (R, V), R = B*T or B
  readonly probs: Tensor; // (R, V)
  readonly dLogits: Tensor; // (R, V)
  hasTargets = false;
  recordTrace = false;
  /** The clamps of the last forward (clamp.ts), which its backward honours. */
  clamps: readonly Clamp[] = [];
  backwardDone = false;
  /** Every float buffer above, to give back to the backend when the workspace is evicted. */
  readonly buffers: Tensor[] = [];

  constructor(config: ModelConfig, backend: Backend<Tensor, Ids>, readonly B: number, readonly T: number) {
    const F = (rows: number, cols: number): Tensor => {
      const buffer = backend.alloc(rows, cols);
      this.buffers.push(buffer);
      return buffer;
    };
    const { vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L } = config;
    const D = directions(config);
    const BT = B * T;
    const G = 4 * H;
    const R = config.mode === 'many_to_many' ? BT : B;
    this.tokens = new Int32Array(BT);
    this.tokenIds = backend.allocIds(BT);
    this.targets = new Int32Array(R);
    this.targetIds = backend.allocIds(R);
    this.embedded = E === null ? null : F(BT, E);
    this.dEmbedded = E === null ? null : F(BT, E);
    this.recurrent = [];
    this.outputs = [];
    this.dOutputs = [];
    for (let l = 0; l < L; l++) {
      const row: RecurrentBuffers<Tensor>[] = [];
      for (let d = 0; d < D; d++) {
        row.push({
          gates: F(BT, G),
          c: F(BT, H),
          h: F(BT, H),
          tanhC: F(BT, H),
          hPrev: F(BT, H),
          cPrev: F(BT, H),
          dGates: F(BT, G),
          dh: F(BT, H),
          dc: F(BT, H),
        });
      }
      this.recurrent.push(row);
      this.outputs.push(F(BT, D * H));
      this.dOutputs.push(F(BT, D * H));
    }
    this.dhNext = F(B, H);
    this.dcNext = F(B, H);
    this.features = F(B, D * H);
    this.dFeatures = F(B, D * H);
    this.logits = F(R, V);
    this.probs = F(R, V);
    this.dLogits = F(R, V);
  }
}

export interface ForwardOptions<Tensor = FloatArray> {
  /** Initial hidden state (L*D, B, H) as in PyTorch; zeros when absent. */
  h0?: Tensor | null;
  /** Initial cell state (L*D, B, H); zeros when absent. */
  c0?: Tensor | null;
  /** Keep dL/dh_t and dL/dc_t in backward for the trace (gates and states are kept regardless). */
  recordTrace?: boolean;
  /** Units held at a constant in the forward direction (clamp.ts); the CPU backend only. */
  clamps?: readonly Clamp[];
}

export interface BackwardOptions<Tensor = FloatArray> {
  /** Multiplies the loss's gradient. */
  lossScale?: number;
  /** Gradients arriving at the final states h_n and c_n, (L*D, B, H). */
  dhN?: Tensor | null;
  dcN?: Tensor | null;
  /** Receive the gradients leaving through the initial states h0 and c0, (L*D, B, H). */
  dh0?: Tensor | null;
  dc0?: Tensor | null;
}

/** One layer and direction of the trace: every tensor (B, T, H), index t the input position. */
export interface TraceEntry {
  layer: number;
  direction: Direction;
  B: number;
  T: number;
  H: number;
  i: FloatArray;
  f: FloatArray;
  g: FloatArray;
  o: FloatArray;
  c: FloatArray;
  h: FloatArray;
  /** null until backward has run with the trace recorded. */
  dh: FloatArray | null;
  dc: FloatArray | null;
}

export type Initializer = { kind: 'pytorch' } | { kind: 'constant'; value: number };

/** A parameter's shape as a (rows, cols) tensor: a vector is one row. */
export function tensorShape(spec: ParameterSpec): [number, number] {
  return spec.shape.length === 2 ? [spec.shape[0], spec.shape[1]] : [1, spec.size];
}

/**
 * The model on a backend: Tensor is the backend's tensor, Ids its integer tensor. Without a backend it
 * runs on the CPU, where T is a typed array and every accessor below returns the model's own
 * memory. On another backend the accessors that return a FloatArray read back a copy.
 */
export class LSTMModel<Tensor = FloatArray, Ids = Int32Array> {
  readonly specs: ParameterSpec[];
  readonly backend: Backend<Tensor, Ids>;
  /** Every parameter, one after another in spec order. */
  readonly params: Tensor;
  /** Gradients, same layout as params. backward() accumulates into it; zeroGrad() clears it. */
  readonly grads: Tensor;
  /** Each parameter's tensor, in spec order (on the CPU, views into params). */
  readonly paramTensors: Tensor[];
  readonly gradTensors: Tensor[];
  readonly D: 1 | 2;
  private readonly recurrent: RecurrentParameters<Tensor>[][];
  private readonly embedding: Tensor | null;
  private readonly dEmbedding: Tensor | null;
  private readonly headW: Tensor; // (V, D*H)
  private readonly headB: Tensor; // (V)
  private readonly dHeadW: Tensor;
  private readonly dHeadB: Tensor;
  private readonly workspaces = new Map<string, Workspace<Tensor, Ids>>();
  private current: Workspace<Tensor, Ids> | null = null;

  constructor(readonly config: ModelConfig, readonly dtype: DType = 'float32', backend?: Backend<Tensor, Ids>) {
    this.backend = backend ?? (new CpuBackend(dtype) as unknown as Backend<Tensor, Ids>);
    this.specs = parameterSpecs(config);
    const shapes = this.specs.map(tensorShape);
    const params = this.backend.allocGroup(shapes);
    const grads = this.backend.allocGroup(shapes);
    this.params = params.whole;
    this.grads = grads.whole;
    this.paramTensors = params.parts;
    this.gradTensors = grads.parts;
    this.D = directions(config);
    this.embedding = config.embedding_size === null ? null : this.parameterTensor('embedding.weight');
    this.dEmbedding = config.embedding_size === null ? null : this.gradientTensor('embedding.weight');
    this.recurrent = [];
    for (let l = 0; l < config.num_layers; l++) {
      const row: RecurrentParameters<Tensor>[] = [];
      for (let d = 0; d < this.D; d++) {
        const suffix = parameterSuffix(l, d);
        row.push({
          wih: this.parameterTensor(`lstm.weight_ih${suffix}`),
          whh: this.parameterTensor(`lstm.weight_hh${suffix}`),
          bih: this.parameterTensor(`lstm.bias_ih${suffix}`),
          bhh: this.parameterTensor(`lstm.bias_hh${suffix}`),
          dwih: this.gradientTensor(`lstm.weight_ih${suffix}`),
          dwhh: this.gradientTensor(`lstm.weight_hh${suffix}`),
          dbih: this.gradientTensor(`lstm.bias_ih${suffix}`),
          dbhh: this.gradientTensor(`lstm.bias_hh${suffix}`),
        });
      }
      this.recurrent.push(row);
    }
    this.headW = this.parameterTensor('head.weight');
    this.headB = this.parameterTensor('head.bias');
    this.dHeadW = this.gradientTensor('head.weight');
    this.dHeadB = this.gradientTensor('head.bias');
  }

  /** Where a float32 CPU model's buffers live (its backend's WebAssembly arena); null elsewhere. */
  get arena(): Arena | null {
    return this.backend instanceof CpuBackend ? this.backend.arena : null;
  }

  spec(name: string): ParameterSpec {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) throw new InputError(`the model has no parameter named ${name}`);
    return spec;
  }

  private specIndex(name: string): number {
    const k = this.specs.findIndex((s) => s.name === name);
    if (k < 0) throw new InputError(`the model has no parameter named ${name}`);
    return k;
  }

  parameterTensor(name: string): Tensor {
    return this.paramTensors[this.specIndex(name)];
  }

  gradientTensor(name: string): Tensor {
    return this.gradTensors[this.specIndex(name)];
  }

  /** The parameter's values: on the CPU a view into the flat buffer (writes go to the model); elsewhere a copy (write with setParameter). */
  parameter(name: string): FloatArray {
    return this.backend.read(this.parameterTensor(name));
  }

  gradient(name: string): FloatArray {
    return this.backend.read(this.gradientTensor(name));
  }

  setParameter(name: string, values: ArrayLike<number>): void {
    const s = this.spec(name);
    if (values.length !== s.size) throw new InputError(`${name} takes ${s.size} values, got ${values.length}`);
    this.backend.write(this.parameterTensor(name), values);
  }

  /** PyTorch's default initialization, or every value the same constant (the article uses 0.1). */
  initialize(init: Initializer, rng: Random): void {
    if (init.kind === 'constant') {
      this.backend.fill(this.params, init.value);
      return;
    }
    const H = this.config.hidden_size;
    for (const spec of this.specs) {
      const p = new Float64Array(spec.size);
      if (spec.name === 'embedding.weight') {
        for (let k = 0; k < p.length; k++) p[k] = rng.normal(); // nn.Embedding: N(0, 1)
      } else {
        // nn.LSTM: U(-1/sqrt(H), 1/sqrt(H)); nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
        const fanIn = spec.name.startsWith('head.') ? this.D * H : H;
        const bound = 1 / Math.sqrt(fanIn);
        for (let k = 0; k < p.length; k++) p[k] = rng.uniform(-bound, bound);
      }
      this.backend.write(this.parameterTensor(spec.name), p);
    }
  }

  zeroGrad(): void {
    this.backend.fill(this.grads, 0);
  }

  private workspace(B: number, T: number): Workspace<Tensor, Ids> {
    const key = `${B}x${T}`;
    let ws = this.workspaces.get(key);
    if (ws) {
      // Most recently used last, so the oldest is evicted first.
      this.workspaces.delete(key);
    } else {
      ws = new Workspace(this.config, this.backend, B, T);
      if (this.workspaces.size >= 4) {
        const oldest = this.workspaces.keys().next().value as string;
        const evicted = this.workspaces.get(oldest) as Workspace<Tensor, Ids>;
        this.workspaces.delete(oldest);
        for (const buffer of evicted.buffers) this.backend.release(buffer);
      }
    }
    this.workspaces.set(key, ws);
    return ws;
  }

  /**
   * Runs the model on inputs (B, T) of token ids. With targets ((B, T) many-to-many, (B)
   * many-to-one; IGNORE_TARGET where a position has none) returns the mean cross-entropy; without, returns NaN and only the logits and
   * probabilities are meaningful.
   */
  forward(inputs: Int32Array, B: number, T: number, targets: Int32Array | null, options: ForwardOptions<Tensor> = {}): number {
    const cfg = this.config;
    const { vocab_size: V, hidden_size: H, num_layers: L } = cfg;
    const D = this.D;
    const G = 4 * H;
    const BT = B * T;
    const k = this.backend;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) throw new InputError(`batch ${B} and steps ${T} must be positive integers`);
    if (inputs.length !== BT) throw new InputError(`inputs hold ${inputs.length} tokens, expected B*T = ${BT}`);
    checkIds(inputs, V, 'input');
    const R = cfg.mode === 'many_to_many' ? BT : B;
    if (targets) {
      if (targets.length !== R) throw new InputError(`targets hold ${targets.length} tokens, expected ${R}`);
      checkIds(targets, V, 'target', true);
    }
    const stateSize = L * D * B * H;
    for (const [name, s] of [['h0', options.h0], ['c0', options.c0]] as const) {
      const n = s ? k.size(s) : stateSize;
      if (s && n !== stateSize) throw new InputError(`${name} holds ${n} values, expected (L*D, B, H) = ${stateSize}`);
    }

    const ws = this.workspace(B, T);
    this.current = ws;
    ws.tokens.set(inputs);
    k.writeIds(ws.tokenIds, inputs);
    ws.hasTargets = targets !== null;
    if (targets) {
      ws.targets.set(targets);
      k.writeIds(ws.targetIds, targets);
    }
    ws.recordTrace = options.recordTrace ?? false;
    ws.backwardDone = false;
    ws.clamps = this.checkedClamps(options.clamps);

    // Layer 0's input: an embedding lookup, or one-hot (handled inside the projection below).
    if (this.embedding && ws.embedded) k.gatherRows(ws.embedded, this.embedding, ws.tokenIds, BT, cfg.embedding_size as number);

    for (let l = 0; l < L; l++) {
      const I = layerInputSize(cfg, l);
      const input = l === 0 ? ws.embedded : ws.outputs[l - 1];
      for (let d = 0; d < D; d++) {
        const p = this.recurrent[l][d];
        const buf = ws.recurrent[l][d];
        // The input projection of every step at once: gates = X · W_ih^T + b_ih + b_hh.
        if (input === null) {
          // One-hot input: the product picks column `token` of W_ih.
          k.oneHotProject(buf.gates, p.wih, p.bih, p.bhh, ws.tokenIds, BT, G, V);
        } else {
          k.fillRowsWithBiases(buf.gates, p.bih, p.bhh, BT, G);
          k.matmul(view(buf.gates, 0, G), view(input, 0, I), view(p.wih, 0, I), { M: BT, N: G, K: I, transB: true, accumulate: true });
        }
        // The recurrence, step by step, in this direction's reading order; on the CPU with helper
        // threads, each thread takes a share of the batch's sequences through every step (the same bits);
        // the GPU fuses each step into one draw (the backend's recurrenceForward).
        const stateOffset = (l * D + d) * B * H;
        const overBatch = ws.clamps.length === 0 && k.recurrenceForward !== undefined && k.recurrenceForward({
          B, T, H, reverse: d === 1,
          gates: buf.gates, c: buf.c, h: buf.h, tanhC: buf.tanhC, hPrev: buf.hPrev, cPrev: buf.cPrev, whh: p.whh,
          h0: options.h0 ?? null, c0: options.c0 ?? null, stateOffset,
        });
        for (let s = 0; s < T && !overBatch; s++) {
          const t = d === 0 ? s : T - 1 - s;
          const tPrev = d === 0 ? t - 1 : t + 1;
          // The previous state: this direction's last step, or the initial state (row b of (B, H)).
          const hPrevIn = s > 0 ? buf.h : (options.h0 ?? null);
          const cPrevIn = s > 0 ? buf.c : (options.c0 ?? null);
          const pOff = s > 0 ? tPrev * H : stateOffset;
          const pStride = s > 0 ? T * H : H;
          const gates = view(buf.gates, t * G, T * G);
          if (hPrevIn) k.matmul(gates, view(hPrevIn, pOff, pStride), view(p.whh, 0, H), { M: B, N: G, K: H, transB: true, accumulate: true });
          k.lstmCellForward({
            B, H, gates,
            state: rows(t * H, T * H), c: buf.c, h: buf.h, tanhC: buf.tanhC, hPrev: buf.hPrev, cPrev: buf.cPrev,
            prev: rows(pOff, pStride), hPrevIn, cPrevIn,
          });
          if (d === 0 && ws.clamps.length > 0) this.clampStep(ws, l, t);
        }
        // This direction's half of the layer's output (B, T, D*H).
        k.copyRows(view(ws.outputs[l], d * H, D * H), view(buf.h, 0, H), BT, H);
      }
    }

    // The head.
    const headInput = this.headInput(ws);
    k.fillRowsWithBiases(ws.logits, this.headB, null, R, V);
    k.matmul(view(ws.logits, 0, V), view(headInput, 0, D * H), view(this.headW, 0, D * H), { M: R, N: V, K: D * H, transB: true, accumulate: true });
    return k.softmaxCrossEntropyForward(ws.probs, ws.logits, targets ? ws.targetIds : null, R, V);
  }

  /** The head's input: every position of the top layer (many-to-many), or its final states (many-to-one). */
  private headInput(ws: Workspace<Tensor, Ids>): Tensor {
    const top = ws.outputs[this.config.num_layers - 1];
    if (this.config.mode === 'many_to_many') return top;
    const { B, T } = ws;
    const H = this.config.hidden_size;
    const DH = this.D * H;
    // h_n forward is the output at t = T-1; h_n backward is the output at t = 0.
    this.backend.copyRows(view(ws.features, 0, DH), view(top, (T - 1) * DH, T * DH), B, H);
    if (this.D === 2) this.backend.copyRows(view(ws.features, H, DH), view(top, H, T * DH), B, H);
    return ws.features;
  }

  /**
   * Full back-propagation through time for the last forward; accumulates into grads. For a text
   * read in pieces (inspect.ts), `options` continue it across a boundary: `lossScale` multiplies
   * the loss's gradient (this piece's share of a mean over all pieces), `dhN`/`dcN` (L*D, B, H) are
   * the gradients arriving at the final states from what follows, and `dh0`/`dc0` receive those
   * leaving through the initial states (unidirectional models).
   */
  backward(options: BackwardOptions<Tensor> = {}): void {
    const ws = this.current;
    if (!ws || !ws.hasTargets) throw new Error('backward() needs a forward() with targets first');
    if (ws.backwardDone) throw new Error('backward() already ran for this forward()');
    ws.backwardDone = true;
    const cfg = this.config;
    const { vocab_size: V, hidden_size: H, num_layers: L } = cfg;
    const { B, T } = ws;
    const D = this.D;
    const G = 4 * H;
    const DH = D * H;
    const BT = B * T;
    const R = cfg.mode === 'many_to_many' ? BT : B;
    const k = this.backend;

    // Loss and head.
    k.softmaxCrossEntropyBackward(ws.dLogits, ws.probs, ws.targetIds, R, V);
    if (options.lossScale !== undefined && options.lossScale !== 1) k.scale(ws.dLogits, options.lossScale);
    const headInput = cfg.mode === 'many_to_many' ? ws.outputs[L - 1] : ws.features;
    k.matmul(view(this.dHeadW, 0, DH), view(ws.dLogits, 0, V), view(headInput, 0, DH), { M: V, N: DH, K: R, transA: true, accumulate: true });
    k.addColumnSums(this.dHeadB, ws.dLogits, R, V);
    const dTop = ws.dOutputs[L - 1];
    if (cfg.mode === 'many_to_many') {
      k.matmul(view(dTop, 0, DH), view(ws.dLogits, 0, V), view(this.headW, 0, DH), { M: BT, N: DH, K: V, accumulate: false });
    } else {
      k.matmul(view(ws.dFeatures, 0, DH), view(ws.dLogits, 0, V), view(this.headW, 0, DH), { M: B, N: DH, K: V, accumulate: false });
      k.fill(dTop, 0);
      k.copyRows(view(dTop, (T - 1) * DH, T * DH), view(ws.dFeatures, 0, DH), B, H);
      if (D === 2) k.copyRows(view(dTop, H, T * DH), view(ws.dFeatures, H, DH), B, H);
    }

    if (ws.dEmbedded) k.fill(ws.dEmbedded, 0);
    for (let l = L - 1; l >= 0; l--) {
      const I = layerInputSize(cfg, l);
      const input = l === 0 ? ws.embedded : ws.outputs[l - 1];
      const dInput = l === 0 ? ws.dEmbedded : ws.dOutputs[l - 1];
      if (l > 0) k.fill(ws.dOutputs[l - 1], 0);
      for (let d = 0; d < D; d++) {
        const p = this.recurrent[l][d];
        const buf = ws.recurrent[l][d];
        // Back through time, in the reverse of this direction's reading order.
        const stateOffset = (l * D + d) * B * H;
        if (options.dhN) k.copyRows(view(ws.dhNext, 0, H), view(options.dhN, stateOffset, H), B, H);
        else k.fill(ws.dhNext, 0);
        if (options.dcN) k.copyRows(view(ws.dcNext, 0, H), view(options.dcN, stateOffset, H), B, H);
        else k.fill(ws.dcNext, 0);
        const overBatch = ws.clamps.length === 0 && k.recurrenceBackward !== undefined && k.recurrenceBackward({
          B, T, H, reverse: d === 1,
          gates: buf.gates, dGates: buf.dGates, tanhC: buf.tanhC, cPrev: buf.cPrev,
          dhTrace: ws.recordTrace ? buf.dh : null, dcTrace: ws.recordTrace ? buf.dc : null,
          dOut: ws.dOutputs[l], dOutOffset: d * H, dOutWidth: DH,
          dhNext: ws.dhNext, dcNext: ws.dcNext, whh: p.whh,
          dh0: options.dh0 ?? null, stateOffset,
        });
        for (let s = 0; s < T && !overBatch; s++) {
          const t = d === 0 ? T - 1 - s : s;
          const held = d === 0 && ws.clamps.length > 0 ? this.clampGradientIn(ws, l, t) : null;
          k.lstmCellBackward({
            B, H,
            gate: rows(t * G, T * G), gates: buf.gates, dGates: buf.dGates,
            state: rows(t * H, T * H), tanhC: buf.tanhC, cPrev: buf.cPrev,
            dhTrace: ws.recordTrace ? buf.dh : null, dcTrace: ws.recordTrace ? buf.dc : null,
            dOut: view(ws.dOutputs[l], t * DH + d * H, T * DH),
            dhNext: ws.dhNext, dcNext: ws.dcNext,
          });
          if (held) this.clampGradientOut(ws, l, t, held);
          // dL/dh_{t-1} through the recurrence: dGates_t · W_hh.
          const dGates = view(buf.dGates, t * G, T * G);
          if (s < T - 1) k.matmul(view(ws.dhNext, 0, H), dGates, view(p.whh, 0, H), { M: B, N: H, K: G, accumulate: false });
          // What leaves through the initial state: dL/dh_{-1} = dGates_0 · W_hh, and dL/dc_{-1} (in dcNext).
          else if (options.dh0) k.matmul(view(options.dh0, stateOffset, H), dGates, view(p.whh, 0, H), { M: B, N: H, K: G, accumulate: false });
        }
        if (options.dc0) k.copyRows(view(options.dc0, stateOffset, H), view(ws.dcNext, 0, H), B, H);
        // Weight gradients over every step at once.
        k.matmul(view(p.dwhh, 0, H), view(buf.dGates, 0, G), view(buf.hPrev, 0, H), { M: G, N: H, K: BT, transA: true, accumulate: true });
        // Both biases get the same gradient: on the CPU, the sum is made once.
        if (k instanceof CpuBackend) k.addColumnSumsToBoth(p.dbih as FloatArray, p.dbhh as FloatArray, buf.dGates as FloatArray, BT, G);
        else {
          k.addColumnSums(p.dbih, buf.dGates, BT, G);
          k.addColumnSums(p.dbhh, buf.dGates, BT, G);
        }
        if (input === null) {
          // One-hot input: the gradient of W_ih lands in the columns of the tokens read.
          k.oneHotGradient(p.dwih, buf.dGates, ws.tokenIds, BT, G, V);
        } else {
          k.matmul(view(p.dwih, 0, I), view(buf.dGates, 0, G), view(input, 0, I), { M: G, N: I, K: BT, transA: true, accumulate: true });
          if (dInput) k.matmul(view(dInput, 0, I), view(buf.dGates, 0, G), view(p.wih, 0, I), { M: BT, N: I, K: G, accumulate: true });
        }
      }
    }
    if (this.dEmbedding && ws.dEmbedded) k.scatterAddRows(this.dEmbedding, ws.dEmbedded, ws.tokenIds, BT, cfg.embedding_size as number);
  }

  /** Clamps checked against the model; refused on a backend other than the CPU's. */
  private checkedClamps(clamps: readonly Clamp[] | undefined): readonly Clamp[] {
    if (!clamps || clamps.length === 0) return [];
    checkClamps(clamps, this.config);
    if (!(this.backend instanceof CpuBackend)) throw new InputError(`clamps run on the CPU backend only, not on ${this.backend.name}`);
    return clamps.slice();
  }

  /**
   * Step t of layer l (forward direction) after the cell: every clamp of the layer, c first (c_t,
   * tanh c_t and h_t = o · tanh(V)), then h. On the CPU the tensors are the arrays themselves.
   */
  private clampStep(ws: Workspace<Tensor, Ids>, l: number, t: number): void {
    const { B, T } = ws;
    const H = this.config.hidden_size;
    const G = 4 * H;
    const buf = ws.recurrent[l][0];
    const read = (x: Tensor): FloatArray => this.backend.read(x);
    const [gates, c, h, tanhC] = [read(buf.gates), read(buf.c), read(buf.h), read(buf.tanhC)];
    for (const state of ['c', 'h'] as const) {
      for (const clamp of ws.clamps) {
        if (clamp.layer !== l || clamp.state !== state) continue;
        const u = clamp.unit;
        for (let b = 0; b < B; b++) {
          const at = (b * T + t) * H + u;
          if (state === 'c') {
            c[at] = clamp.value;
            tanhC[at] = Math.tanh(clamp.value);
            h[at] = gates[(b * T + t) * G + 3 * H + u] * tanhC[at];
          } else {
            h[at] = clamp.value;
          }
        }
      }
    }
  }

  /**
   * Before the cell's backward at step t of layer l: the gradient arriving at a clamped h_t[U] goes
   * no further (o and c_t do not receive it), so it is taken out of dOut and dhNext and returned,
   * to be written to the trace (and dOut put back) afterwards.
   */
  private clampGradientIn(ws: Workspace<Tensor, Ids>, l: number, t: number): Array<{ at: number; dh: number; out: number; dOut: number }> {
    const { B, T } = ws;
    const H = this.config.hidden_size;
    const DH = this.D * H;
    const dOut = this.backend.read(ws.dOutputs[l]);
    const dhNext = this.backend.read(ws.dhNext);
    const held: Array<{ at: number; dh: number; out: number; dOut: number }> = [];
    for (const clamp of ws.clamps) {
      if (clamp.layer !== l || clamp.state !== 'h') continue;
      for (let b = 0; b < B; b++) {
        const o = (b * T + t) * DH + clamp.unit;
        held.push({ at: (b * T + t) * H + clamp.unit, dh: dOut[o] + dhNext[b * H + clamp.unit], out: o, dOut: dOut[o] });
        dOut[o] = 0;
        dhNext[b * H + clamp.unit] = 0;
      }
    }
    return held;
  }

  /**
   * After the cell's backward at step t of layer l: a clamped c_t[U] sends nothing to i, f, g or
   * c_{t-1}; the trace gets back the dh that arrived at a clamped h_t[U].
   */
  private clampGradientOut(ws: Workspace<Tensor, Ids>, l: number, t: number, held: ReadonlyArray<{ at: number; dh: number; out: number; dOut: number }>): void {
    const { B, T } = ws;
    const H = this.config.hidden_size;
    const G = 4 * H;
    const buf = ws.recurrent[l][0];
    const dGates = this.backend.read(buf.dGates);
    const dcNext = this.backend.read(ws.dcNext);
    for (const clamp of ws.clamps) {
      if (clamp.layer !== l || clamp.state !== 'c') continue;
      for (let b = 0; b < B; b++) {
        const g = (b * T + t) * G + clamp.unit;
        dGates[g] = 0;
        dGates[g + H] = 0;
        dGates[g + 2 * H] = 0;
        dcNext[b * H + clamp.unit] = 0;
      }
    }
    const dOut = this.backend.read(ws.dOutputs[l]);
    for (const { out, dOut: value } of held) dOut[out] = value;
    if (ws.recordTrace) {
      const dh = this.backend.read(buf.dh);
      for (const { at, dh: value } of held) dh[at] = value;
    }
  }

  /** The last forward's logits: (B, T, V) many-to-many, (B, V) many-to-one. On the CPU a view: copy to keep. */
  logits(): FloatArray {
    return this.backend.read(this.requireCurrent().logits);
  }

  /** Softmax of the logits, same layout. On the CPU a view: copy to keep. */
  probabilities(): FloatArray {
    return this.backend.read(this.requireCurrent().probs);
  }

  /** The top layer's output (B, T, D*H) of the last forward. On the CPU a view: copy to keep. */
  output(): FloatArray {
    return this.backend.read(this.requireCurrent().outputs[this.config.num_layers - 1]);
  }

  /**
   * After backward: dL/dx_t of layer 0's input at every position, (B, T, I) with I = E (the
   * embedding row) or V (every column of the one-hot row), the sum over directions of dz_t · W_ih
   * (the gate gradients backward left, clamps honoured). A fresh copy.
   */
  inputGradients(): FloatArray {
    const ws = this.requireCurrent();
    if (!ws.backwardDone) throw new Error('inputGradients() needs backward() first');
    const k = this.backend;
    const I = layerInputSize(this.config, 0);
    const G = 4 * this.config.hidden_size;
    const BT = ws.B * ws.T;
    const out = k.alloc(BT, I);
    for (let d = 0; d < this.D; d++) {
      k.matmul(view(out, 0, I), view(ws.recurrent[0][d].dGates, 0, G), view(this.recurrent[0][d].wih, 0, I), { M: BT, N: I, K: G, accumulate: true });
    }
    const copy = k.read(out).slice();
    k.release(out);
    return copy;
  }

  /** The head applied at every position of the top layer's output, whatever the mode: out (B*T, V). */
  logitsAtEveryPosition(out: Tensor): void {
    const ws = this.requireCurrent();
    const V = this.config.vocab_size;
    const DH = this.D * this.config.hidden_size;
    const R = ws.B * ws.T;
    const n = this.backend.size(out);
    if (n !== R * V) throw new Error(`logitsAtEveryPosition: out holds ${n}, expected ${R * V}`);
    this.backend.fillRowsWithBiases(out, this.headB, null, R, V);
    this.backend.matmul(view(out, 0, V), view(ws.outputs[this.config.num_layers - 1], 0, DH), view(this.headW, 0, DH), { M: R, N: V, K: DH, transB: true, accumulate: true });
  }

  /** The last forward's h or c of one layer and direction (0 forward, 1 backward), (B, T, H). On the CPU a view: copy to keep. */
  states(kind: 'h' | 'c', layer: number, direction: number): FloatArray {
    const buf = this.requireCurrent().recurrent[layer]?.[direction];
    if (!buf) throw new InputError(`the model has no layer ${layer} in direction ${direction}`);
    return this.backend.read(kind === 'h' ? buf.h : buf.c);
  }

  /** Writes the final states h_n and c_n, each (L*D, B, H), of the last forward. */
  finalState(hN: Tensor, cN: Tensor): void {
    const ws = this.requireCurrent();
    const { B, T } = ws;
    const H = this.config.hidden_size;
    for (let l = 0; l < this.config.num_layers; l++) {
      for (let d = 0; d < this.D; d++) {
        const buf = ws.recurrent[l][d];
        const t = d === 0 ? T - 1 : 0;
        const base = (l * this.D + d) * B * H;
        this.backend.copyRows(view(hN, base, H), view(buf.h, t * H, T * H), B, H);
        this.backend.copyRows(view(cN, base, H), view(buf.c, t * H, T * H), B, H);
      }
    }
  }

  /** The trace of the last forward (and backward, if it ran recording): fresh copies, one entry per layer and direction in h_n's order. */
  trace(): TraceEntry[] {
    const ws = this.requireCurrent();
    const { B, T } = ws;
    const H = this.config.hidden_size;
    const G = 4 * H;
    const F = arrayConstructor(this.dtype);
    const read = (t: Tensor): FloatArray => this.backend.read(t);
    const entries: TraceEntry[] = [];
    for (let l = 0; l < this.config.num_layers; l++) {
      for (let d = 0; d < this.D; d++) {
        const buf = ws.recurrent[l][d];
        const gates = read(buf.gates);
        const gate = (k: number): FloatArray => {
          const out = new F(B * T * H);
          for (let r = 0; r < B * T; r++) out.set(gates.subarray(r * G + k * H, r * G + k * H + H), r * H);
          return out;
        };
        const withGradients = ws.backwardDone && ws.recordTrace;
        entries.push({
          layer: l,
          direction: DIRECTION_NAMES[d],
          B,
          T,
          H,
          i: gate(0),
          f: gate(1),
          g: gate(2),
          o: gate(3),
          c: read(buf.c).slice(),
          h: read(buf.h).slice(),
          dh: withGradients ? read(buf.dh).slice() : null,
          dc: withGradients ? read(buf.dc).slice() : null,
        });
      }
    }
    return entries;
  }

  private requireCurrent(): Workspace<Tensor, Ids> {
    if (!this.current) throw new Error('the model has not run forward yet');
    return this.current;
  }
}

function checkIds(ids: Int32Array, V: number, what: string, ignorable = false): void {
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (ignorable && id === IGNORE_TARGET) continue;
    if (id < 0 || id >= V) throw new InputError(`${what} token id ${id} at index ${k} is outside the vocabulary of ${V}`);
  }
}
