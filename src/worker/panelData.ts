// What the Inspect States panel is sent, made from the engine's data. Pure (no Node built-ins), so
// the worker, the host and the tests that record panel messages all use the same code.

import type { Checkpoint } from '../engine/checkpoint';
import { directions } from '../engine/config';
import { inspectText, tensorShapes } from '../engine/inspect';
import { parameterCount, parameterSpecs, type LSTMModel } from '../engine/model';
import type { Tokenizer } from '../engine/tokenizer';
import type { ModelMessage, TraceMessage } from '../protocol/panel';

/** Tokens of a sequence the panel shows at most (the heatmaps get unreadable beyond). */
export const MAX_TRACE_TOKENS = 96;

export function modelMessage(ckpt: Pick<Checkpoint, 'config' | 'settings' | 'vocab'> & { training: { step: number; loss: number | null } }, file: string): ModelMessage {
  const c = ckpt.config;
  const T = ckpt.settings.sequence_length;
  const B = ckpt.settings.batch_size;
  return {
    type: 'model',
    summary: {
      file,
      tokens: ckpt.vocab.kind,
      vocabSize: c.vocab_size,
      hiddenSize: c.hidden_size,
      layers: c.num_layers,
      directions: directions(c),
      embeddingSize: c.embedding_size,
      mode: c.mode,
      sequenceLength: T,
      batchSize: B,
      step: ckpt.training.step,
      loss: ckpt.training.loss,
      parameters: parameterCount(c),
    },
    shapes: [
      ...tensorShapes(c, B, T).map(([name, shape]) => ({ name, shape, kind: 'tensor' as const })),
      ...parameterSpecs(c).map((s) => ({ name: s.name, shape: s.shape, kind: 'parameter' as const })),
    ],
  };
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
): TraceMessage | null {
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
  const entries = r.trace.map((e) => {
    const states = new Float32Array(6 * T * H);
    [e.i, e.f, e.g, e.o, e.c, e.h].forEach((data, k) => states.set(data, k * T * H));
    let gradients: Float32Array<ArrayBuffer> | null = null;
    if (e.dh && e.dc) {
      gradients = new Float32Array(2 * T * H);
      gradients.set(e.dh, 0);
      gradients.set(e.dc, T * H);
    }
    return { layer: e.layer, direction: e.direction, states, gradients };
  });
  const parameterGradients = r.parameterGradients
    .filter((g) => g.name.startsWith('lstm.') || g.name.startsWith('head.'))
    .map((g) => ({ name: g.name, rows: g.shape[0], cols: g.shape.length > 1 ? g.shape[1] : 1, data: g.data }));
  return {
    type: 'trace',
    step,
    source,
    tokens: r.tokens,
    spans,
    T,
    H,
    loss: Number.isFinite(r.loss) ? r.loss : null,
    entries,
    predictions: window !== null && model.config.mode === 'many_to_one' ? windowPredictions(model, tokenizer, r.ids, window, topK) : r.top.map((row) => row.map((p) => ({ token: p.token, p: p.p }))),
    parameterGradients,
  };
}

/**
 * A many-to-one model was trained to predict from a window of `window` tokens read from a zero
 * state: at each position, its prediction from the window that ends there (as generation does).
 */
function windowPredictions(model: LSTMModel, tokenizer: Tokenizer, ids: Int32Array, window: number, topK: number): Array<Array<{ token: string; p: number }>> {
  const V = model.config.vocab_size;
  const k = Math.min(topK, V);
  const rows: Array<Array<{ token: string; p: number }>> = [];
  for (let t = 0; t < ids.length; t++) {
    const slice = ids.subarray(Math.max(0, t - window + 1), t + 1);
    model.forward(slice, 1, slice.length, null);
    const probs = model.probabilities();
    const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => probs[b] - probs[a] || a - b);
    rows.push(order.slice(0, k).map((id) => ({ token: tokenizer.tokenString(id), p: probs[id] })));
  }
  return rows;
}
