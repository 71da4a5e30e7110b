// What the Inspect States panel is sent, made from the engine's data. Pure (no Node built-ins), so
// the worker, the host and the tests that record panel messages all use the same code.

import type { Checkpoint } from '../engine/checkpoint';
import type { TrainingHistory } from '../engine/history';
import { directions, type ModelConfig } from '../engine/config';
import { inspectText, tensorShapes, type Inspection } from '../engine/inspect';
import { IGNORE_TARGET } from '../engine/kernels';
import { LSTMModel, parameterCount, parameterSpecs } from '../engine/model';
import type { Tokenizer } from '../engine/tokenizer';
import type { Curve, Guess, ModelMessage, StepMessage, TraceMessage } from '../protocol/panel';
import { requestedStep, stepMessage, withLastGradients, type StepRequest } from './stepData';

/** Tokens of a sequence the panel shows at most (the heatmaps get unreadable beyond). */
export const MAX_TRACE_TOKENS = 96;

/** A checkpoint's training history (src/engine/history.ts, bounded and bucketed) as the panel's curve; null when empty. */
export function curveFromHistory(history: Pick<TrainingHistory, 'columns'>): Curve | null {
  const h = history.columns();
  if (h.step.length === 0) return null;
  return {
    points: h.step.map((step, i) => ({ step, loss: h.loss[i], gradNorm: h.gradNorm ? h.gradNorm[i] : null, learningRate: h.learningRate[i] })),
    firstLoss: h.firstLoss,
  };
}

export function modelMessage(model: ModelFacts, file: string): ModelMessage {
  const c = model.config;
  const T = model.settings.sequence_length;
  const B = model.settings.batch_size;
  return {
    type: 'model',
    summary: {
      file,
      tokens: model.tokens,
      vocabSize: c.vocab_size,
      hiddenSize: c.hidden_size,
      layers: c.num_layers,
      directions: directions(c),
      embeddingSize: c.embedding_size,
      mode: c.mode,
      sequenceLength: T,
      batchSize: B,
      step: model.step,
      loss: model.loss,
      parameters: parameterCount(c),
      clip: model.settings.clip,
    },
    shapes: [
      ...tensorShapes(c, B, T).map(([name, shape]) => ({ name, shape, kind: 'tensor' as const })),
      ...parameterSpecs(c).map((s) => ({ name: s.name, shape: s.shape, kind: 'parameter' as const })),
    ],
    curve: model.history ? curveFromHistory(model.history) : null,
  };
}

/** What the panel's header and Shapes tab show of a model: a checkpoint's (checkpointFacts), or a run's from its 'started' message. */
export interface ModelFacts {
  config: ModelConfig;
  /** The vocabulary's kind. */
  tokens: Checkpoint['vocab']['kind'];
  settings: Pick<Checkpoint['settings'], 'sequence_length' | 'batch_size' | 'clip'>;
  step: number;
  loss: number | null;
  history?: Pick<TrainingHistory, 'columns'>;
}

/** A checkpoint's facts for modelMessage. */
export function checkpointFacts(ckpt: Pick<Checkpoint, 'config' | 'settings' | 'vocab'> & { training: { step: number; loss: number | null; history?: Pick<TrainingHistory, 'columns'> } }): ModelFacts {
  return { config: ckpt.config, tokens: ckpt.vocab.kind, settings: ckpt.settings, step: ckpt.training.step, loss: ckpt.training.loss, history: ckpt.training.history };
}

/**
 * The model reading `text` (its last MAX_TRACE_TOKENS tokens): states, gradients, predictions
 * and the parameter gradients of the sequence's loss, split into the panel's blocks. With
 * `window` (the training sequence length), a many-to-one model's predictions come from the
 * window ending at each position, as it was trained.
 */
export function traceMessage(
  model: LSTMModel,
  tokenizer: Tokenizer,
  text: string,
  source: string,
  step: number,
  topK = 5,
  keep: 'first' | 'last' = 'last',
  window: number | null = null,
  cursor: number | null = null,
): TraceMessage | null {
  return traceAndStep(model, tokenizer, text, source, step, topK, keep, window, cursor, null)?.trace ?? null;
}

/** traceMessage, and with `explain` the Step tab's step of the same reading (null when the model has no such cell). */
export function traceAndStep(
  model: LSTMModel,
  tokenizer: Tokenizer,
  text: string,
  source: string,
  step: number,
  topK: number,
  keep: 'first' | 'last',
  window: number | null,
  cursor: number | null,
  explain: StepRequest | null,
): { trace: TraceMessage; step: StepMessage | null } | null {
  // Keep MAX_TRACE_TOKENS tokens from the end (or the start): cut the text at token boundaries, so it reads the same.
  const all = tokenizer.encodeWithSpans(text);
  const n = all.ids.length;
  if (n === 0) return null;
  const first = keep === 'last' ? Math.max(0, n - MAX_TRACE_TOKENS) : 0;
  const last = keep === 'last' ? n - 1 : Math.min(n, MAX_TRACE_TOKENS) - 1;
  const cut = all.spans[2 * first];
  const kept = text.slice(cut, all.spans[2 * last + 1]);
  const r = inspectText(model, tokenizer, kept, topK);
  if (r.T === 0) return null;
  const spans = Array.from(tokenizer.encodeWithSpans(kept).spans, (x) => x + cut);
  const H = model.config.hidden_size;
  const T = r.T;
  const at = cursor !== null && Number.isInteger(cursor) && cursor >= 0 ? cursor : null;
  // Before the model reads again (below): the inspection's trace may be read from its buffers.
  const explained = explain ? stepMessage(model, r, explain, requestedStep(explain, T, spans, at), step) : null;
  const entries = r.trace.map((e) => {
    const states = new Float32Array(6 * T * H);
    [e.i, e.f, e.g, e.o, e.c, e.h].forEach((data, k) => states.set(data, k * T * H));
    let gradients: Float32Array<ArrayBuffer> | null = null;
    if (e.dh && e.dc) {
      gradients = new Float32Array(2 * T * H);
      gradients.set(e.dh, 0);
      gradients.set(e.dc, T * H);
    }
    return { layer: e.layer, direction: e.direction, states, gradients, lastGradients: null as Float32Array<ArrayBuffer> | null };
  });
  // After the copies above: this runs the model again, over the buffers the trace was read from.
  const lastLoss = lastPositionGradients(model, r.ids, T, H);
  entries.forEach((e, k) => {
    e.lastGradients = lastLoss?.[k] ?? null;
  });
  const parameterGradients = r.parameterGradients
    .filter((g) => g.name.startsWith('lstm.') || g.name.startsWith('head.'))
    .map((g) => ({ name: g.name, rows: g.shape[0], cols: g.shape.length > 1 ? g.shape[1] : 1, data: g.data }));
  const trace: TraceMessage = {
    type: 'trace',
    step,
    source,
    tokens: r.tokens,
    spans,
    T,
    H,
    loss: Number.isFinite(r.loss) ? r.loss : null,
    entries,
    ...predictionsOf(model, tokenizer, r, window, topK),
    cursor: at,
    parameterGradients,
  };
  const entry = explained ? entries.find((e) => e.layer === explained.explanation.layer && e.direction === explained.explanation.direction) : undefined;
  return { trace, step: explained && withLastGradients(explained, entry?.lastGradients ?? null, T, H) };
}

/**
 * dL/dh_t and dL/dc_t, (2, T, H) per layer and direction in the trace's order, of the last
 * position's loss alone (position T-2 predicting token T-1): how far back one prediction reaches,
 * where the vanishing gradient shows. Null when T < 2.
 */
function lastPositionGradients(model: LSTMModel, ids: Int32Array, T: number, H: number): Array<Float32Array<ArrayBuffer>> | null {
  if (T < 2) return null;
  const config = model.config;
  // The same weights with the head at every position (as inspectText reads the text).
  const every = config.mode === 'many_to_many' ? model : new LSTMModel({ ...config, mode: 'many_to_many' }, model.dtype);
  if (every !== model) every.params.set(model.params);
  const targets = new Int32Array(T).fill(IGNORE_TARGET);
  targets[T - 2] = ids[T - 1];
  every.forward(ids, 1, T, targets, { recordTrace: true });
  every.zeroGrad();
  every.backward();
  return every.trace().map((e) => {
    const out = new Float32Array(2 * T * H);
    if (e.dh) out.set(e.dh.subarray(0, T * H), 0);
    if (e.dc) out.set(e.dc.subarray(0, T * H), T * H);
    return out;
  });
}

/** Top-k at each position and the probability of the token that really follows. */
function predictionsOf(model: LSTMModel, tokenizer: Tokenizer, r: Inspection, window: number | null, topK: number): Pick<TraceMessage, 'predictions'> {
  if (window !== null && model.config.mode === 'many_to_one') return { predictions: windowPredictions(model, tokenizer, r.ids, window, topK) };
  const V = model.config.vocab_size;
  const predictions = r.top.map((row, t) => {
    if (t + 1 >= r.T) return row.map((p) => ({ token: p.token, p: p.p }));
    // Softmax of the row, in float64, at the actual next token.
    const logits = r.logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[v] > max) max = logits[v];
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - max);
    const next = r.ids[t + 1];
    return withActual(row.map((p) => ({ id: p.id, token: p.token, p: p.p })), next, tokenizer.tokenString(next), Math.exp(logits[next] - max) / sum);
  });
  return { predictions };
}

/** The top k with the actual next token marked, or added after them with its probability. */
function withActual(top: Array<{ id: number; token: string; p: number }>, next: number, nextToken: string, nextP: number): Guess[] {
  const out: Guess[] = top.map((g) => (g.id === next ? { token: g.token, p: g.p, actual: true as const } : { token: g.token, p: g.p }));
  if (!top.some((g) => g.id === next)) out.push({ token: nextToken, p: nextP, actual: true });
  return out;
}

/**
 * A many-to-one model was trained to predict from a window of `window` tokens read from a zero
 * state: at each position, its prediction from the window that ends there (as generation does).
 */
function windowPredictions(model: LSTMModel, tokenizer: Tokenizer, ids: Int32Array, window: number, topK: number): Guess[][] {
  const V = model.config.vocab_size;
  const k = Math.min(topK, V);
  const rows: Guess[][] = [];
  for (let t = 0; t < ids.length; t++) {
    const slice = ids.subarray(Math.max(0, t - window + 1), t + 1);
    model.forward(slice, 1, slice.length, null);
    const probs = model.probabilities();
    const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => probs[b] - probs[a] || a - b);
    const top = order.slice(0, k).map((id) => ({ id, token: tokenizer.tokenString(id), p: probs[id] }));
    if (t + 1 < ids.length) rows.push(withActual(top, ids[t + 1], tokenizer.tokenString(ids[t + 1]), probs[ids[t + 1]]));
    else rows.push(top.map((g) => ({ token: g.token, p: g.p })));
  }
  return rows;
}
