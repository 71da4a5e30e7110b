// The panel's Step tab, made where the trace is made: one step of one cell explained by the engine
// (explainStep) from the same inspection and weights as the trace, with what the cell wrote there
// seen later (memorySpan, every unit) and the last position's gradient at those steps. Pure (no Node
// built-ins): the Node worker and the GPU worker both use it through panelData.traceMessage.

import { directions, type ModelConfig } from '../engine/config';
import { explainStep, memorySpan } from '../engine/explain';
import type { Inspection } from '../engine/inspect';
import type { LSTMModel } from '../engine/model';
import type { StepMessage } from '../protocol/panel';
import type { Sequence } from '../protocol/worker';

export type StepRequest = NonNullable<Sequence['explain']>;

/**
 * The step a request names in a trace of T tokens: its t (past the end: the last), or, for t null,
 * the token before the cursor (the last token starting before `cursor` in the coordinates of
 * `spans`; the last token when the cursor is unknown or past the text).
 */
export function requestedStep(request: StepRequest, T: number, spans: ArrayLike<number>, cursor: number | null): number {
  if (request.t !== null) return Math.min(request.t, T - 1);
  if (cursor === null) return T - 1;
  let k = 0;
  while (k < T && spans[2 * k] < cursor) k++;
  return Math.max(0, k - 1);
}

/** Whether the model has this layer and direction. */
function hasCell(config: ModelConfig, request: StepRequest): boolean {
  return request.layer < config.num_layers && (request.direction === 'forward' || directions(config) === 2);
}

/**
 * Step t of the request's cell, explained, and the memory span of every unit from t on (lastDh
 * and lastDc are filled by `withLastGradients` once the last position's gradients are known).
 * Null when the model has no such cell or the inspection has no gradients. Call it before the
 * model runs again: the inspection's trace may be read from the model's buffers.
 */
export function stepMessage(model: LSTMModel, inspection: Inspection, request: StepRequest, t: number, step: number): StepMessage | null {
  if (!hasCell(model.config, request) || inspection.trace.some((e) => e.dh === null || e.dc === null)) return null;
  const explanation = explainStep(model, inspection, { t, layer: request.layer, direction: request.direction });
  const D = directions(model.config);
  const entry = inspection.trace[request.layer * D + (request.direction === 'forward' ? 0 : 1)];
  const H = entry.H;
  const k = t - inspection.window.start;
  const spans = Array.from({ length: H }, (_, u) => memorySpan(entry, k, u));
  const n = spans[0].length;
  const memory = new Float32Array(n * H);
  for (let u = 0; u < H; u++) for (let s = 0; s < n; s++) memory[s * H + u] = spans[u][s];
  const dir = request.direction === 'forward' ? 1 : -1;
  const steps = Array.from({ length: n }, (_, s) => t + dir * s);
  return { type: 'step', step, explanation, span: { steps, memory, lastDh: null, lastDc: null } };
}

/** Adds the last position's dL/dh norm and dL/dc at the span's steps, from a (2, T, H) block (dh, then dc). */
export function withLastGradients(message: StepMessage, last: Float32Array | null, T: number, H: number): StepMessage {
  if (!last) return message;
  const { steps } = message.span;
  const lastDh = steps.map((t) => {
    let s = 0;
    for (let j = 0; j < H; j++) s += last[t * H + j] ** 2;
    return Math.sqrt(s);
  });
  const lastDc = new Float32Array(steps.length * H);
  steps.forEach((t, s) => lastDc.set(last.subarray((T + t) * H, (T + t + 1) * H), s * H));
  return { ...message, span: { ...message.span, lastDh, lastDc } };
}
