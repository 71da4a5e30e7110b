// What the model does on one text: the shapes of every tensor, the prediction at every position,
// and the trace (gates, states and their gradients). Shared by `lstm-lens inspect` and the panel.
//
// A long text is read in pieces of INSPECT_CHUNK_TOKENS with the state carried from one to the
// next, so the memory taken is that of one piece whatever the length (a unidirectional model):
// the forward pass piece by piece, keeping the state at each boundary; then, for the gradients,
// the pieces again from the last to the first, each recomputed from its saved state and
// back-propagated with the gradient arriving from the piece after it. The numbers are those of
// one pass over the whole text, within float32 rounding. What is returned can be limited to a
// window of positions; what cannot fit is refused in one line.

import type { Clamp } from './clamp';
import { directions, InputError, layerInputSize, type ModelConfig } from './config';
import { IGNORE_TARGET } from './kernels';
import { formatBytes, trainingMemory } from './memory';
import { LSTMModel, type TraceEntry } from './model';
import { parameterSuffix } from './names';
import type { Tokenizer } from './tokenizer';

/** Every tensor of a forward pass on a (B, T) batch, by name, in PyTorch's layout. */
export function tensorShapes(config: ModelConfig, B: number, T: number): Array<[string, number[]]> {
  const { vocab_size: V, hidden_size: H, num_layers: L } = config;
  const D = directions(config);
  const shapes: Array<[string, number[]]> = [['input', [B, T, layerInputSize(config, 0)]]];
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < D; d++) {
      const suffix = parameterSuffix(l, d);
      shapes.push([`gates${suffix}`, [B, T, 4 * H]]);
      // The final states of this layer and direction: slices of h_n and c_n.
      shapes.push([`c${suffix}`, [B, H]], [`h${suffix}`, [B, H]]);
    }
    shapes.push([`output_l${l}`, [B, T, D * H]]);
  }
  shapes.push(['h_n', [L * D, B, H]], ['c_n', [L * D, B, H]]);
  shapes.push(['logits', config.mode === 'many_to_many' ? [B, T, V] : [B, V]]);
  shapes.push(['loss', []]);
  return shapes;
}

export interface Prediction {
  token: string;
  id: number;
  p: number;
}

/** Tokens read in one pass at most (a longer text is read in pieces, the state carried). */
export const INSPECT_CHUNK_TOKENS = 512;
/** The most a returned inspection may hold (logits, trace and gradients), in bytes. */
export const INSPECT_RESULT_LIMIT_BYTES = 1024 * 2 ** 20;
/** The most a bidirectional model, which cannot read in pieces, may take for one pass. */
export const INSPECT_PASS_LIMIT_BYTES = 1024 * 2 ** 20;

export interface InspectOptions {
  /** Top predictions at each position (default 5); 0 for none. */
  topK?: number;
  /** The positions [start, end) whose logits, top predictions and trace are returned (default every position). */
  window?: { start: number; end: number };
  /** Run the backward pass for dh, dc and the parameter gradients (default true). */
  gradients?: boolean;
  /** Tokens a pass reads at once (default INSPECT_CHUNK_TOKENS). */
  chunkTokens?: number;
  /** Units held at a constant while the model reads (clamp.ts); the trace shows the clamped values. */
  clamps?: readonly Clamp[];
}

export interface Inspection {
  /** The token strings of the text as the model reads them (unknown ones as <unk>, or left out). */
  tokens: string[];
  ids: Int32Array;
  unknown: number;
  T: number;
  /** The positions the fields below cover: logits, top and trace rows are positions start..end-1. */
  window: { start: number; end: number };
  /** (end - start, V): the head at every position of the window. */
  logits: Float32Array;
  /** Mean cross-entropy of positions 0..T-2 predicting tokens 1..T-1 (NaN when T < 2). */
  loss: number;
  /** (T - 1): the cross-entropy of each position predicting the next token. */
  tokenLoss: Float32Array;
  /** The model's own tensors for this text (batch 1) and every parameter. */
  shapes: Array<[string, number[]]>;
  /** Top predictions of the next token at every position of the window. */
  top: Prediction[][];
  /** One entry per layer and direction, over the window (T of an entry = its length); dh and dc are the total gradients of `loss` (null without gradients). */
  trace: TraceEntry[];
  /** dL/dW of `loss` for every parameter (zeros when T < 2 or without gradients), in the parameters' shapes. */
  parameterGradients: Array<{ name: string; shape: number[]; data: Float32Array<ArrayBuffer> }>;
}

/** The k most likely ids of a row of V probabilities, most likely first (ties: the lower id), in O(V·k). */
function topOf(probs: ArrayLike<number>, offset: number, V: number, k: number): number[] {
  const best: number[] = [];
  for (let v = 0; v < V; v++) {
    const p = probs[offset + v];
    if (best.length === k && !(p > probs[offset + best[k - 1]])) continue;
    let at = best.length;
    while (at > 0 && p > probs[offset + best[at - 1]]) at--;
    best.splice(at, 0, v);
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * Reads `text` as one sequence and predicts each next token at every position. The head is
 * applied at every position whatever the model's mode, so a many-to-one model shows what it would
 * predict after each prefix. The fourth argument is topK, or the options.
 */
export function inspectText(model: LSTMModel, tokenizer: Tokenizer, text: string, options: number | InspectOptions = 5): Inspection {
  const o: InspectOptions = typeof options === 'number' ? { topK: options } : options;
  const topK = o.topK ?? 5;
  const withGradients = o.gradients ?? true;
  const { ids, unknown } = tokenizer.encode(text);
  const T = ids.length;
  const config = model.config;
  const V = config.vocab_size;
  const H = config.hidden_size;
  const L = config.num_layers;
  const D = directions(config);
  const window = o.window ?? { start: 0, end: T };
  if (!(Number.isSafeInteger(window.start) && Number.isSafeInteger(window.end) && window.start >= 0 && window.start <= window.end && window.end <= T)) {
    throw new InputError(`the window of positions [${window.start}, ${window.end}) is not within the text's ${T} tokens`);
  }
  const W = window.end - window.start;
  // What is returned: logits, the trace (six tensors, two more with gradients) and the parameters' gradients.
  const resultBytes = 4 * (W * V + L * D * W * H * (withGradients ? 8 : 6) + (withGradients ? model.params.length : 0));
  if (resultBytes > INSPECT_RESULT_LIMIT_BYTES) {
    throw new InputError(
      `inspecting ${W} positions of this model would return about ${formatBytes(resultBytes)} (logits and the trace of every gate and state), more than ${formatBytes(INSPECT_RESULT_LIMIT_BYTES)}: ask for fewer positions`,
    );
  }
  const chunk = Math.max(2, Math.floor(o.chunkTokens ?? INSPECT_CHUNK_TOKENS));
  // The same weights with the head at every position.
  const everyPosition = config.mode === 'many_to_many' ? model : new LSTMModel({ ...config, mode: 'many_to_many' }, model.dtype);
  if (everyPosition !== model) everyPosition.params.set(model.params);
  const pieces = D === 2 || T <= chunk ? [{ a: 0, b: T }] : piecesOf(T, chunk);
  if (D === 2 && T > 0) {
    // Both directions read the whole text: one pass, which must fit.
    const m = trainingMemory(everyPosition.config, 1, T, 'sgd');
    if (m.activations + m.head > INSPECT_PASS_LIMIT_BYTES) {
      throw new InputError(
        `this bidirectional model reads the whole text at once, and ${T} tokens would take about ${formatBytes(m.activations + m.head)} (at most ${formatBytes(INSPECT_PASS_LIMIT_BYTES)}): inspect a shorter text`,
      );
    }
  }

  const tokenLoss = new Float32Array(Math.max(0, T - 1));
  const logits = new Float32Array(W * V);
  const top: Prediction[][] = [];
  const trace: TraceEntry[] = [];
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < D; d++) {
      const F = (): Float32Array => new Float32Array(W * H);
      trace.push({ layer: l, direction: d === 0 ? 'forward' : 'backward', B: 1, T: W, H, i: F(), f: F(), g: F(), o: F(), c: F(), h: F(), dh: withGradients ? F() : null, dc: withGradients ? F() : null });
    }
  }
  const stateSize = L * D * H;
  const k = everyPosition.backend;
  const boundary: Float32Array[] = []; // the state (h, c) each piece starts from
  const hN = new Float32Array(stateSize);
  const cN = new Float32Array(stateSize);
  const targetsOf = (a: number, b: number): Int32Array => {
    const targets = new Int32Array(b - a);
    for (let t = a; t < b; t++) targets[t - a] = t + 1 < T ? ids[t + 1] : IGNORE_TARGET;
    return targets;
  };
  const counted = (a: number, b: number): number => Math.min(b, T - 1) - a;
  /** Copies this piece's part of the window from the last forward (and backward) into the trace. */
  const keepTrace = (a: number, b: number, gradientsToo: boolean): void => {
    const from = Math.max(a, window.start), to = Math.min(b, window.end);
    if (from >= to) return;
    const entries = everyPosition.trace();
    entries.forEach((e, n) => {
      const out = trace[n];
      for (const name of ['i', 'f', 'g', 'o', 'c', 'h', ...(gradientsToo ? (['dh', 'dc'] as const) : [])] as const) {
        (out[name] as Float32Array).set((e[name] as Float32Array).subarray((from - a) * H, (to - a) * H), (from - window.start) * H);
      }
    });
  };
  const clamps = o.clamps ?? [];
  const run = (a: number, b: number, state: Float32Array | null, record: boolean): number =>
    everyPosition.forward(ids.subarray(a, b), 1, b - a, targetsOf(a, b), state ? { h0: state.subarray(0, stateSize), c0: state.subarray(stateSize), recordTrace: record, clamps } : { recordTrace: record, clamps });

  // Forward, piece by piece: the loss, each position's loss and predictions, the window's logits.
  let lossSum = 0;
  for (const { a, b } of pieces) {
    const state = boundary.length === 0 ? null : boundary[boundary.length - 1];
    run(a, b, state, false);
    const probs = everyPosition.probabilities();
    const rows = everyPosition.logits();
    for (let t = a; t < Math.min(b, T - 1); t++) {
      // As softmaxCrossEntropyForward computes it: log-sum-exp of the row less the target's logit.
      const r = (t - a) * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) if (rows[r + v] > max) max = rows[r + v];
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(rows[r + v] - max);
      const x = Math.log(sum) + max - rows[r + ids[t + 1]];
      tokenLoss[t] = x;
      lossSum += x;
    }
    const from = Math.max(a, window.start), to = Math.min(b, window.end);
    if (from < to) {
      logits.set(everyPosition.logits().subarray((from - a) * V, (to - a) * V), (from - window.start) * V);
      for (let t = from; t < to; t++) top.push(topOf(probs, (t - a) * V, V, Math.min(topK, V)).map((id) => ({ token: tokenizer.tokenString(id), id, p: probs[(t - a) * V + id] })));
      if (!withGradients) keepTrace(a, b, false);
    }
    if (pieces.length > 1) {
      everyPosition.finalState(hN, cN);
      const next = new Float32Array(2 * stateSize);
      next.set(hN, 0);
      next.set(cN, stateSize);
      boundary.push(next);
    }
  }
  boundary.unshift(new Float32Array(2 * stateSize));
  const loss = T >= 2 ? lossSum / (T - 1) : NaN;

  everyPosition.zeroGrad();
  if (withGradients) {
    // Backward, from the last piece to the first, each recomputed from the state it started from.
    const total = T - 1;
    const dhN = k.alloc(L * D, H), dcN = k.alloc(L * D, H), dh0 = k.alloc(L * D, H), dc0 = k.alloc(L * D, H);
    for (let n = pieces.length - 1; n >= 0; n--) {
      const { a, b } = pieces[n];
      const one = pieces.length === 1;
      run(a, b, one ? null : boundary[n], true);
      if (total >= 1 && counted(a, b) > 0) {
        everyPosition.backward(one ? {} : { lossScale: counted(a, b) / total, dhN: n === pieces.length - 1 ? null : dhN, dcN: n === pieces.length - 1 ? null : dcN, dh0, dc0 });
      }
      keepTrace(a, b, total >= 1 && counted(a, b) > 0);
      if (!one) {
        k.copy(dhN, dh0);
        k.copy(dcN, dc0);
      }
    }
    for (const t of [dhN, dcN, dh0, dc0]) k.release(t);
  }

  const shapes: Array<[string, number[]]> = [
    ...tensorShapes(config, 1, T),
    ...model.specs.map((s): [string, number[]] => [s.name, s.shape]),
  ];
  return {
    tokens: Array.from(ids, (id) => tokenizer.tokenString(id)),
    ids,
    unknown,
    T,
    window: { start: window.start, end: window.end },
    logits,
    loss,
    tokenLoss,
    shapes,
    top,
    trace,
    parameterGradients: everyPosition.specs.map((spec) => ({
      name: spec.name,
      shape: spec.shape,
      data: Float32Array.from(everyPosition.grads.subarray(spec.offset, spec.offset + spec.size)),
    })),
  };
}

/** Pieces of at most `chunk` tokens covering [0, T), the last holding at least two (one position that predicts). */
export function piecesOf(T: number, chunk: number): Array<{ a: number; b: number }> {
  const out: Array<{ a: number; b: number }> = [];
  for (let a = 0; a < T; a += chunk) out.push({ a, b: Math.min(T, a + chunk) });
  const last = out[out.length - 1];
  if (out.length > 1 && last.b - last.a < 2) {
    out.pop();
    out[out.length - 1].b = T;
  }
  return out;
}

/** Streams an evaluation reads side by side at most, and the tokens each pass reads of each. */
const EVALUATION_STREAMS = 16;
const EVALUATION_PIECE = 256;
const EVALUATION_WINDOWS_PER_PASS = 256;

/**
 * The mean cross-entropy of the model over `ids` as it was trained to read text: many-to-many, each
 * position predicting the next from a zero state at the start, the state carried (a long sequence
 * is cut into at most 16 contiguous streams of at least 1,024 tokens, each from a zero state, as
 * training's streams start); many-to-one, every window of `sequenceLength` tokens (from a zero
 * state) predicting the token after it. `predictions` is how many targets the mean is over (0,
 * loss NaN, when there are none). The model's weights are not changed; its workspace is.
 */
export function evaluateLoss(model: LSTMModel, ids: Int32Array, sequenceLength: number): { loss: number; predictions: number } {
  const n = ids.length;
  if (model.config.mode === 'many_to_one') {
    const T = sequenceLength;
    const windows = n - T;
    if (windows < 1) return { loss: NaN, predictions: 0 };
    let sum = 0;
    for (let first = 0; first < windows; first += EVALUATION_WINDOWS_PER_PASS) {
      const B = Math.min(EVALUATION_WINDOWS_PER_PASS, windows - first);
      const inputs = new Int32Array(B * T);
      const targets = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        inputs.set(ids.subarray(first + b, first + b + T), b * T);
        targets[b] = ids[first + b + T];
      }
      sum += model.forward(inputs, B, T, targets) * B;
    }
    return { loss: sum / windows, predictions: windows };
  }
  if (n < 2) return { loss: NaN, predictions: 0 };
  const S = Math.max(1, Math.min(EVALUATION_STREAMS, Math.floor((n - 1) / 1024)));
  const length = Math.floor((n - 1) / S); // positions each stream predicts
  const stateSize = model.config.num_layers * directions(model.config) * S * model.config.hidden_size;
  let state: { h: Float32Array; c: Float32Array } | null = null;
  let sum = 0;
  for (let p = 0; p < length; p += EVALUATION_PIECE) {
    const T = Math.min(EVALUATION_PIECE, length - p);
    const inputs = new Int32Array(S * T);
    const targets = new Int32Array(S * T);
    for (let b = 0; b < S; b++) {
      const from = b * length + p;
      inputs.set(ids.subarray(from, from + T), b * T);
      targets.set(ids.subarray(from + 1, from + T + 1), b * T);
    }
    sum += model.forward(inputs, S, T, targets, state ? { h0: state.h, c0: state.c } : {}) * S * T;
    const next = { h: new Float32Array(stateSize), c: new Float32Array(stateSize) };
    model.finalState(next.h, next.c);
    state = next;
  }
  return { loss: sum / (S * length), predictions: S * length };
}
