// The LSTM language model of CONTRACTS.md section 1: input (one-hot or embedding), L stacked
// layers in one or two directions, a linear head, softmax cross-entropy; forward, full
// back-propagation through time, and the trace of every gate and state.
//
// Dimensions (see config.ts): B batch, T steps, V vocabulary, E embedding, I layer input,
// H hidden, L layers, D directions, G = 4H gate rows (i, f, g, o).
//
// Memory: parameters, their gradients (and the optimizer's moments, see optimizer.ts) live each in
// one contiguous buffer; every parameter is a view into it. Activations live in a Workspace made
// once per (B, T) and reused; nothing is allocated inside the time loop. A float32 model keeps
// these buffers in a WebAssembly memory of its own where the SIMD kernels can read them in place
// (wasm/simd.ts); everywhere else they are ordinary typed arrays.

import {
  arrayConstructor,
  directions,
  InputError,
  layerInputSize,
  type DType,
  type FloatArray,
  type ModelConfig,
} from './config';
import {
  addColumnSums,
  fillRowsWithBiases,
  IGNORE_TARGET,
  lstmCellBackward,
  lstmCellForward,
  matmul,
  softmaxCrossEntropyBackward,
  softmaxCrossEntropyForward,
} from './kernels';
import type { Random } from './random';
import { createArena, type Arena } from './wasm/simd';

/** From this many rows (B*T) on, one-hot input goes through W_ih transposed (contiguous rows). */
const ONE_HOT_TRANSPOSE_MIN_ROWS = 64;

/** Makes a zeroed float array of n values (in the model's arena, when it has one). */
type Allocate = (n: number) => FloatArray;

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
      const suffix = `_l${l}${d === 1 ? '_reverse' : ''}`;
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

/** Weights and their gradients for one layer and direction: views into the flat buffers. */
interface RecurrentParameters {
  wih: FloatArray; // (G, I)
  whh: FloatArray; // (G, H)
  bih: FloatArray; // (G)
  bhh: FloatArray; // (G)
  dwih: FloatArray;
  dwhh: FloatArray;
  dbih: FloatArray;
  dbhh: FloatArray;
}

/** What forward records for one layer and direction; index t is the input position. */
interface RecurrentBuffers {
  gates: FloatArray; // (B, T, G) pre-activations, then activations i, f, g, o
  c: FloatArray; // (B, T, H)
  h: FloatArray; // (B, T, H)
  tanhC: FloatArray; // (B, T, H)
  hPrev: FloatArray; // (B, T, H) the state each step started from
  cPrev: FloatArray; // (B, T, H)
  dGates: FloatArray; // (B, T, G)
  dh: FloatArray; // (B, T, H) total dL/dh_t, filled when the trace is recorded
  dc: FloatArray; // (B, T, H) total dL/dc_t, filled when the trace is recorded
}

/** Activations and their gradients for one (B, T): made once, reused every step. */
class Workspace {
  readonly tokens: Int32Array; // (B, T)
  readonly targets: Int32Array; // (B, T) or (B)
  readonly embedded: FloatArray | null; // (B, T, E)
  readonly dEmbedded: FloatArray | null; // (B, T, E)
  readonly recurrent: RecurrentBuffers[][]; // [layer][direction]
  readonly outputs: FloatArray[]; // [layer] (B, T, D*H)
  readonly dOutputs: FloatArray[]; // [layer] (B, T, D*H)
  readonly dhNext: FloatArray; // (B, H)
  readonly dcNext: FloatArray; // (B, H)
  readonly features: FloatArray; // (B, D*H): many-to-one head input
  readonly dFeatures: FloatArray; // (B, D*H)
  readonly logits: FloatArray; // (R, V), R = B*T or B
  readonly probs: FloatArray; // (R, V)
  readonly dLogits: FloatArray; // (R, V)
  /** One-hot input: W_ih transposed (V, G), so a token's column is a contiguous row; or its gradient. */
  readonly oneHotT: FloatArray | null;
  hasTargets = false;
  recordTrace = false;
  backwardDone = false;
  /** Every float buffer above, to give back to the arena when the workspace is evicted. */
  readonly buffers: FloatArray[] = [];

  constructor(config: ModelConfig, allocate: Allocate, readonly B: number, readonly T: number) {
    const F = (n: number): FloatArray => {
      const buffer = allocate(n);
      this.buffers.push(buffer);
      return buffer;
    };
    const { vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L } = config;
    const D = directions(config);
    const BT = B * T;
    const G = 4 * H;
    const R = config.mode === 'many_to_many' ? BT : B;
    this.tokens = new Int32Array(BT);
    this.targets = new Int32Array(R);
    this.embedded = E === null ? null : F(BT * E);
    this.dEmbedded = E === null ? null : F(BT * E);
    this.recurrent = [];
    this.outputs = [];
    this.dOutputs = [];
    for (let l = 0; l < L; l++) {
      const row: RecurrentBuffers[] = [];
      for (let d = 0; d < D; d++) {
        row.push({
          gates: F(BT * G),
          c: F(BT * H),
          h: F(BT * H),
          tanhC: F(BT * H),
          hPrev: F(BT * H),
          cPrev: F(BT * H),
          dGates: F(BT * G),
          dh: F(BT * H),
          dc: F(BT * H),
        });
      }
      this.recurrent.push(row);
      this.outputs.push(F(BT * D * H));
      this.dOutputs.push(F(BT * D * H));
    }
    this.dhNext = F(B * H);
    this.dcNext = F(B * H);
    this.features = F(B * D * H);
    this.dFeatures = F(B * D * H);
    this.logits = F(R * V);
    this.probs = F(R * V);
    this.dLogits = F(R * V);
    this.oneHotT = E === null && BT >= ONE_HOT_TRANSPOSE_MIN_ROWS ? F(V * G) : null;
  }
}

export interface ForwardOptions {
  /** Initial hidden state (L*D, B, H) as in PyTorch; zeros when absent. */
  h0?: FloatArray | null;
  /** Initial cell state (L*D, B, H); zeros when absent. */
  c0?: FloatArray | null;
  /** Keep dL/dh_t and dL/dc_t in backward for the trace (gates and states are kept regardless). */
  recordTrace?: boolean;
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

export class LSTMModel {
  readonly specs: ParameterSpec[];
  /** Every parameter, one after another in spec order. */
  readonly params: FloatArray;
  /** Gradients, same layout as params. backward() accumulates into it; zeroGrad() clears it. */
  readonly grads: FloatArray;
  readonly D: 1 | 2;
  private readonly recurrent: RecurrentParameters[][];
  private readonly embedding: FloatArray | null;
  private readonly dEmbedding: FloatArray | null;
  private readonly headW: FloatArray; // (V, D*H)
  private readonly headB: FloatArray; // (V)
  private readonly dHeadW: FloatArray;
  private readonly dHeadB: FloatArray;
  private readonly workspaces = new Map<string, Workspace>();
  private current: Workspace | null = null;
  /** Where a float32 model's buffers live for the SIMD kernels; null: ordinary arrays. */
  private readonly arena: Arena | null;
  private readonly allocate: Allocate;

  constructor(readonly config: ModelConfig, readonly dtype: DType = 'float32') {
    const F = arrayConstructor(dtype);
    this.arena = dtype === 'float32' ? createArena() : null;
    const arena = this.arena;
    this.allocate = arena ? (n) => arena.allocFloats(n) : (n) => new F(n);
    this.specs = parameterSpecs(config);
    const total = parameterCount(config);
    this.params = this.allocate(total);
    this.grads = this.allocate(total);
    this.D = directions(config);
    this.embedding = config.embedding_size === null ? null : this.parameter('embedding.weight');
    this.dEmbedding = config.embedding_size === null ? null : this.gradient('embedding.weight');
    this.recurrent = [];
    for (let l = 0; l < config.num_layers; l++) {
      const row: RecurrentParameters[] = [];
      for (let d = 0; d < this.D; d++) {
        const suffix = `_l${l}${d === 1 ? '_reverse' : ''}`;
        row.push({
          wih: this.parameter(`lstm.weight_ih${suffix}`),
          whh: this.parameter(`lstm.weight_hh${suffix}`),
          bih: this.parameter(`lstm.bias_ih${suffix}`),
          bhh: this.parameter(`lstm.bias_hh${suffix}`),
          dwih: this.gradient(`lstm.weight_ih${suffix}`),
          dwhh: this.gradient(`lstm.weight_hh${suffix}`),
          dbih: this.gradient(`lstm.bias_ih${suffix}`),
          dbhh: this.gradient(`lstm.bias_hh${suffix}`),
        });
      }
      this.recurrent.push(row);
    }
    this.headW = this.parameter('head.weight');
    this.headB = this.parameter('head.bias');
    this.dHeadW = this.gradient('head.weight');
    this.dHeadB = this.gradient('head.bias');
  }

  spec(name: string): ParameterSpec {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) throw new InputError(`the model has no parameter named ${name}`);
    return spec;
  }

  /** The parameter's values: a view into the flat buffer (writes go to the model). */
  parameter(name: string): FloatArray {
    const s = this.spec(name);
    return this.params.subarray(s.offset, s.offset + s.size);
  }

  gradient(name: string): FloatArray {
    const s = this.spec(name);
    return this.grads.subarray(s.offset, s.offset + s.size);
  }

  /** PyTorch's default initialization, or every value the same constant (the article uses 0.1). */
  initialize(init: Initializer, rng: Random): void {
    if (init.kind === 'constant') {
      this.params.fill(init.value);
      return;
    }
    const H = this.config.hidden_size;
    for (const spec of this.specs) {
      const p = this.params.subarray(spec.offset, spec.offset + spec.size);
      if (spec.name === 'embedding.weight') {
        for (let k = 0; k < p.length; k++) p[k] = rng.normal(); // nn.Embedding: N(0, 1)
      } else {
        // nn.LSTM: U(-1/sqrt(H), 1/sqrt(H)); nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
        const fanIn = spec.name.startsWith('head.') ? this.D * H : H;
        const bound = 1 / Math.sqrt(fanIn);
        for (let k = 0; k < p.length; k++) p[k] = rng.uniform(-bound, bound);
      }
    }
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  private workspace(B: number, T: number): Workspace {
    const key = `${B}x${T}`;
    let ws = this.workspaces.get(key);
    if (ws) {
      // Most recently used last, so the oldest is evicted first.
      this.workspaces.delete(key);
    } else {
      ws = new Workspace(this.config, this.allocate, B, T);
      if (this.workspaces.size >= 4) {
        const oldest = this.workspaces.keys().next().value as string;
        const evicted = this.workspaces.get(oldest) as Workspace;
        this.workspaces.delete(oldest);
        if (this.arena) for (const buffer of evicted.buffers) this.arena.release(buffer as Float32Array);
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
  forward(inputs: Int32Array, B: number, T: number, targets: Int32Array | null, options: ForwardOptions = {}): number {
    const cfg = this.config;
    const { vocab_size: V, hidden_size: H, num_layers: L } = cfg;
    const D = this.D;
    const G = 4 * H;
    const BT = B * T;
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
      if (s && s.length !== stateSize) throw new InputError(`${name} holds ${s.length} values, expected (L*D, B, H) = ${stateSize}`);
    }

    const ws = this.workspace(B, T);
    this.current = ws;
    ws.tokens.set(inputs);
    ws.hasTargets = targets !== null;
    if (targets) ws.targets.set(targets);
    ws.recordTrace = options.recordTrace ?? false;
    ws.backwardDone = false;

    // Layer 0's input: an embedding lookup, or one-hot (handled inside the projection below).
    if (this.embedding && ws.embedded) {
      const E = cfg.embedding_size as number;
      for (let r = 0; r < BT; r++) copyRow(ws.embedded, r * E, this.embedding, inputs[r] * E, E);
    }

    for (let l = 0; l < L; l++) {
      const I = layerInputSize(cfg, l);
      const input = l === 0 ? ws.embedded : ws.outputs[l - 1];
      for (let d = 0; d < D; d++) {
        const p = this.recurrent[l][d];
        const buf = ws.recurrent[l][d];
        // The input projection of every step at once: gates = X · W_ih^T + b_ih + b_hh.
        if (input === null && ws.oneHotT) {
          // One-hot input: the product picks column `token` of W_ih, a row of its transpose.
          const wT = ws.oneHotT;
          for (let j = 0; j < G; j++) for (let v = 0; v < V; v++) wT[v * G + j] = p.wih[j * V + v];
          for (let r = 0; r < BT; r++) {
            const w = inputs[r] * G;
            const o = r * G;
            for (let j = 0; j < G; j++) buf.gates[o + j] = wT[w + j] + p.bih[j] + p.bhh[j];
          }
        } else if (input === null) {
          for (let r = 0; r < BT; r++) {
            const tok = inputs[r];
            const o = r * G;
            for (let j = 0; j < G; j++) buf.gates[o + j] = p.wih[j * V + tok] + p.bih[j] + p.bhh[j];
          }
        } else {
          fillRowsWithBiases(buf.gates, p.bih, p.bhh, BT, G);
          matmul(buf.gates, 0, G, input, 0, I, false, p.wih, 0, I, true, BT, G, I, true);
        }
        // The recurrence, step by step, in this direction's reading order.
        const stateOffset = (l * D + d) * B * H;
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          const tPrev = d === 0 ? t - 1 : t + 1;
          // The previous state: this direction's last step, or the initial state (row b of (B, H)).
          const hPrevIn = s > 0 ? buf.h : (options.h0 ?? null);
          const cPrevIn = s > 0 ? buf.c : (options.c0 ?? null);
          const pOff = s > 0 ? tPrev * H : stateOffset;
          const pStride = s > 0 ? T * H : H;
          if (hPrevIn) matmul(buf.gates, t * G, T * G, hPrevIn, pOff, pStride, false, p.whh, 0, H, true, B, G, H, true);
          lstmCellForward(
            buf.gates, t * G, T * G,
            buf.c, buf.h, buf.tanhC, buf.hPrev, buf.cPrev, t * H, T * H,
            hPrevIn, cPrevIn, pOff, pStride,
            B, H,
          );
        }
        // This direction's half of the layer's output (B, T, D*H).
        const out = ws.outputs[l];
        for (let r = 0; r < BT; r++) copyRow(out, r * D * H + d * H, buf.h, r * H, H);
      }
    }

    // The head.
    const headInput = this.headInput(ws);
    fillRowsWithBiases(ws.logits, this.headB, null, R, V);
    matmul(ws.logits, 0, V, headInput, 0, D * H, false, this.headW, 0, D * H, true, R, V, D * H, true);
    return softmaxCrossEntropyForward(ws.probs, ws.logits, targets, R, V);
  }

  /** The head's input: every position of the top layer (many-to-many), or its final states (many-to-one). */
  private headInput(ws: Workspace): FloatArray {
    const top = ws.outputs[this.config.num_layers - 1];
    if (this.config.mode === 'many_to_many') return top;
    const { B, T } = ws;
    const H = this.config.hidden_size;
    const DH = this.D * H;
    // h_n forward is the output at t = T-1; h_n backward is the output at t = 0.
    for (let b = 0; b < B; b++) {
      const fwd = (b * T + T - 1) * DH;
      copyRow(ws.features, b * DH, top, fwd, H);
      if (this.D === 2) copyRow(ws.features, b * DH + H, top, b * T * DH + H, H);
    }
    return ws.features;
  }

  /** Full back-propagation through time for the last forward; accumulates into grads. */
  backward(): void {
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

    // Loss and head.
    softmaxCrossEntropyBackward(ws.dLogits, ws.probs, ws.targets, R, V);
    const headInput = cfg.mode === 'many_to_many' ? ws.outputs[L - 1] : ws.features;
    matmul(this.dHeadW, 0, DH, ws.dLogits, 0, V, true, headInput, 0, DH, false, V, DH, R, true);
    addColumnSums(this.dHeadB, ws.dLogits, R, V);
    const dTop = ws.dOutputs[L - 1];
    if (cfg.mode === 'many_to_many') {
      matmul(dTop, 0, DH, ws.dLogits, 0, V, false, this.headW, 0, DH, false, BT, DH, V, false);
    } else {
      matmul(ws.dFeatures, 0, DH, ws.dLogits, 0, V, false, this.headW, 0, DH, false, B, DH, V, false);
      dTop.fill(0);
      for (let b = 0; b < B; b++) {
        copyRow(dTop, (b * T + T - 1) * DH, ws.dFeatures, b * DH, H);
        if (D === 2) copyRow(dTop, b * T * DH + H, ws.dFeatures, b * DH + H, H);
      }
    }

    if (ws.dEmbedded) ws.dEmbedded.fill(0);
    for (let l = L - 1; l >= 0; l--) {
      const I = layerInputSize(cfg, l);
      const input = l === 0 ? ws.embedded : ws.outputs[l - 1];
      const dInput = l === 0 ? ws.dEmbedded : ws.dOutputs[l - 1];
      if (l > 0) ws.dOutputs[l - 1].fill(0);
      for (let d = 0; d < D; d++) {
        const p = this.recurrent[l][d];
        const buf = ws.recurrent[l][d];
        // Back through time, in the reverse of this direction's reading order.
        ws.dhNext.fill(0);
        ws.dcNext.fill(0);
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? T - 1 - s : s;
          lstmCellBackward(
            buf.dGates, buf.gates, t * G, T * G,
            ws.dcNext, ws.dhNext,
            ws.recordTrace ? buf.dh : null, ws.recordTrace ? buf.dc : null, buf.tanhC, buf.cPrev, t * H, T * H,
            ws.dOutputs[l], t * DH + d * H, T * DH,
            B, H,
          );
          // dL/dh_{t-1} through the recurrence: dGates_t · W_hh.
          if (s < T - 1) matmul(ws.dhNext, 0, H, buf.dGates, t * G, T * G, false, p.whh, 0, H, false, B, H, G, false);
        }
        // Weight gradients over every step at once.
        matmul(p.dwhh, 0, H, buf.dGates, 0, G, true, buf.hPrev, 0, H, false, G, H, BT, true);
        addColumnSums(p.dbih, buf.dGates, BT, G);
        addColumnSums(p.dbhh, buf.dGates, BT, G);
        if (input === null && ws.oneHotT) {
          // One-hot input: the gradient of W_ih lands in the columns of the tokens read; summed
          // in rows of the transpose first.
          const dT = ws.oneHotT;
          dT.fill(0);
          for (let r = 0; r < BT; r++) {
            const w = ws.tokens[r] * G;
            const o = r * G;
            for (let j = 0; j < G; j++) dT[w + j] += buf.dGates[o + j];
          }
          for (let j = 0; j < G; j++) for (let v = 0; v < V; v++) p.dwih[j * V + v] += dT[v * G + j];
        } else if (input === null) {
          for (let r = 0; r < BT; r++) {
            const tok = ws.tokens[r];
            const o = r * G;
            for (let j = 0; j < G; j++) p.dwih[j * V + tok] += buf.dGates[o + j];
          }
        } else {
          matmul(p.dwih, 0, I, buf.dGates, 0, G, true, input, 0, I, false, G, I, BT, true);
          if (dInput) matmul(dInput, 0, I, buf.dGates, 0, G, false, p.wih, 0, I, false, BT, I, G, true);
        }
      }
    }
    if (this.dEmbedding && ws.dEmbedded) {
      const E = cfg.embedding_size as number;
      const dE = this.dEmbedding;
      for (let r = 0; r < BT; r++) {
        const o = ws.tokens[r] * E;
        for (let e = 0; e < E; e++) dE[o + e] += ws.dEmbedded[r * E + e];
      }
    }
  }

  /** The last forward's logits: (B, T, V) many-to-many, (B, V) many-to-one. A view: copy to keep. */
  logits(): FloatArray {
    return this.requireCurrent().logits;
  }

  /** Softmax of the logits, same layout. A view: copy to keep. */
  probabilities(): FloatArray {
    return this.requireCurrent().probs;
  }

  /** The top layer's output (B, T, D*H) of the last forward. A view: copy to keep. */
  output(): FloatArray {
    return this.requireCurrent().outputs[this.config.num_layers - 1];
  }

  /** The head applied at every position of the top layer's output, whatever the mode: (B, T, V). */
  logitsAtEveryPosition(out: FloatArray): void {
    const ws = this.requireCurrent();
    const V = this.config.vocab_size;
    const DH = this.D * this.config.hidden_size;
    const R = ws.B * ws.T;
    if (out.length !== R * V) throw new Error(`logitsAtEveryPosition: out holds ${out.length}, expected ${R * V}`);
    fillRowsWithBiases(out, this.headB, null, R, V);
    matmul(out, 0, V, ws.outputs[this.config.num_layers - 1], 0, DH, false, this.headW, 0, DH, true, R, V, DH, true);
  }

  /** Writes the final states h_n and c_n, each (L*D, B, H), of the last forward. */
  finalState(hN: FloatArray, cN: FloatArray): void {
    const ws = this.requireCurrent();
    const { B, T } = ws;
    const H = this.config.hidden_size;
    for (let l = 0; l < this.config.num_layers; l++) {
      for (let d = 0; d < this.D; d++) {
        const buf = ws.recurrent[l][d];
        const t = d === 0 ? T - 1 : 0;
        const base = (l * this.D + d) * B * H;
        for (let b = 0; b < B; b++) {
          const src = (b * T + t) * H;
          hN.set(buf.h.subarray(src, src + H), base + b * H);
          cN.set(buf.c.subarray(src, src + H), base + b * H);
        }
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
    const entries: TraceEntry[] = [];
    for (let l = 0; l < this.config.num_layers; l++) {
      for (let d = 0; d < this.D; d++) {
        const buf = ws.recurrent[l][d];
        const gate = (k: number): FloatArray => {
          const out = new F(B * T * H);
          for (let r = 0; r < B * T; r++) out.set(buf.gates.subarray(r * G + k * H, r * G + k * H + H), r * H);
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
          c: buf.c.slice(),
          h: buf.h.slice(),
          dh: withGradients ? buf.dh.slice() : null,
          dc: withGradients ? buf.dc.slice() : null,
        });
      }
    }
    return entries;
  }

  private requireCurrent(): Workspace {
    if (!this.current) throw new Error('the model has not run forward yet');
    return this.current;
  }
}

function copyRow(dst: FloatArray, dstOffset: number, src: FloatArray, srcOffset: number, n: number): void {
  for (let k = 0; k < n; k++) dst[dstOffset + k] = src[srcOffset + k];
}

function checkIds(ids: Int32Array, V: number, what: string, ignorable = false): void {
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (ignorable && id === IGNORE_TARGET) continue;
    if (id < 0 || id >= V) throw new InputError(`${what} token id ${id} at index ${k} is outside the vocabulary of ${V}`);
  }
}
