// What the model does on one text: the shapes of every tensor, the prediction at every position,
// and the trace (gates, states and their gradients). Shared by `lstm-lens inspect` and the panel.

import { directions, layerInputSize, type ModelConfig } from './config';
import { IGNORE_TARGET } from './kernels';
import { LSTMModel, type TraceEntry } from './model';
import type { Tokenizer } from './tokenizer';

/** Every tensor of a forward pass on a (B, T) batch, by name, in PyTorch's layout. */
export function tensorShapes(config: ModelConfig, B: number, T: number): Array<[string, number[]]> {
  const { vocab_size: V, hidden_size: H, num_layers: L } = config;
  const D = directions(config);
  const shapes: Array<[string, number[]]> = [['input', [B, T, layerInputSize(config, 0)]]];
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < D; d++) {
      const suffix = `_l${l}${d === 1 ? '_reverse' : ''}`;
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

export interface Inspection {
  /** The token strings of the text as the model reads them (unknown ones as <unk>, or left out). */
  tokens: string[];
  ids: Int32Array;
  unknown: number;
  T: number;
  /** (T, V): the head at every position. */
  logits: Float32Array;
  /** Mean cross-entropy of positions 0..T-2 predicting tokens 1..T-1 (NaN when T < 2). */
  loss: number;
  /** The model's own tensors for this text (batch 1) and every parameter. */
  shapes: Array<[string, number[]]>;
  /** Top predictions of the next token at every position. */
  top: Prediction[][];
  /** One entry per layer and direction; dh and dc are the total gradients of `loss`. */
  trace: TraceEntry[];
  /** dL/dW of `loss` for every parameter (zeros when T < 2), in the parameters' shapes. */
  parameterGradients: Array<{ name: string; shape: number[]; data: Float32Array<ArrayBuffer> }>;
}

/**
 * Reads `text` as one sequence and predicts each next token at every position. The head is
 * applied at every position whatever the model's mode, so a many-to-one model shows what it would
 * predict after each prefix.
 */
export function inspectText(model: LSTMModel, tokenizer: Tokenizer, text: string, topK = 5): Inspection {
  const { ids, unknown } = tokenizer.encode(text);
  const T = ids.length;
  const config = model.config;
  const V = config.vocab_size;
  // The same weights with the head at every position.
  const everyPosition = config.mode === 'many_to_many' ? model : new LSTMModel({ ...config, mode: 'many_to_many' }, model.dtype);
  if (everyPosition !== model) everyPosition.params.set(model.params);
  const targets = new Int32Array(T);
  for (let t = 0; t < T; t++) targets[t] = t + 1 < T ? ids[t + 1] : IGNORE_TARGET;
  const loss = everyPosition.forward(ids, 1, T, targets, { recordTrace: true });
  everyPosition.zeroGrad();
  if (T >= 2) everyPosition.backward();
  const logits = Float32Array.from(everyPosition.logits());
  const probs = everyPosition.probabilities();
  const top: Prediction[][] = [];
  const k = Math.min(topK, V);
  for (let t = 0; t < T; t++) {
    const row = Array.from({ length: V }, (_, v) => v).sort((a, b) => probs[t * V + b] - probs[t * V + a] || a - b);
    top.push(row.slice(0, k).map((id) => ({ token: tokenizer.tokenString(id), id, p: probs[t * V + id] })));
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
    logits,
    loss,
    shapes,
    top,
    trace: everyPosition.trace(),
    parameterGradients: everyPosition.specs.map((spec) => ({
      name: spec.name,
      shape: spec.shape,
      data: Float32Array.from(everyPosition.grads.subarray(spec.offset, spec.offset + spec.size)),
    })),
  };
}
