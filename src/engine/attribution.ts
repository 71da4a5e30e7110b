// Which earlier tokens drive a prediction (docs/cli.md, inspect --attribute): for the prediction
// at position P of the token at P+1, the gradient of log p(token P+1 | position P) with respect to
// every token's input vector x_k (its one-hot row, or its embedding row), as its L2 norm and as its
// dot product with x_k (gradient × input).
//
// One forward and backward pass of the model as inspect reads a text (batch 1, zero initial state,
// the head at every position whatever the mode) with a single counted target, token P+1 at
// position P, and the loss's gradient scaled by -1: backward then carries d log p, not d(-log p).
// The gradient at the inputs is what backward leaves at layer 0's gates (LSTMModel.inputGradients).
// A unidirectional model's prediction at P reads tokens 0..P only: the pass reads just those, and
// every later position has 0. A bidirectional one reads the whole text.

import type { Clamp } from './clamp';
import { directions, InputError } from './config';
import { INSPECT_PASS_LIMIT_BYTES } from './inspect';
import { IGNORE_TARGET } from './kernels';
import { formatBytes, trainingMemory } from './memory';
import { LSTMModel } from './model';
import type { Tokenizer } from './tokenizer';

export interface AttributionNumbers {
  position: number;
  /** The id of token P+1, the prediction's target. */
  targetId: number;
  /** (T) ‖d log p / d x_k‖ for every position k. */
  gradNorm: Float64Array;
  /** (T) (d log p / d x_k) · x_k for every position k. */
  gradXInput: Float64Array;
}

/** As `lstm-lens inspect --attribute P --json` writes it. */
export interface Attribution {
  position: number;
  target: string;
  grad_norm: number[];
  grad_x_input: number[];
}

export interface AttributionOptions {
  /** Units held at a constant (clamp.ts), as the inspection that shows the attribution used. */
  clamps?: readonly Clamp[];
}

/** The positions that predict, said for a refusal: "0 to T-2". */
function predictingPositions(T: number): string {
  return T - 2 === 0 ? 'only position 0' : `positions 0 to ${T - 2}`;
}

/**
 * The attribution of the prediction at `position` over token ids `ids` (T of them). Cost: one
 * forward and backward pass over tokens 0..P (unidirectional) or all T (bidirectional), about one
 * training step of batch 1 on that many tokens, plus an (n, I) product for the inputs' gradients.
 */
export function attribute(model: LSTMModel, ids: Int32Array, position: number, options: AttributionOptions = {}): AttributionNumbers {
  const T = ids.length;
  if (T < 2) throw new InputError(`attribution needs a text of at least two tokens (a position and the token it predicts); this one has ${T}`);
  if (!Number.isSafeInteger(position) || position < 0 || position > T - 2) {
    throw new InputError(`position ${position} does not predict a token: the text's ${T} tokens have ${predictingPositions(T)} predicting the next`);
  }
  const config = model.config;
  const D = directions(config);
  // The same weights with the head at every position (as inspect reads a many-to-one model).
  const everyPosition = config.mode === 'many_to_many' ? model : new LSTMModel({ ...config, mode: 'many_to_many' }, model.dtype);
  if (everyPosition !== model) everyPosition.params.set(model.params);
  const n = D === 2 ? T : position + 1;
  const m = trainingMemory(everyPosition.config, 1, n, 'sgd');
  if (m.activations + m.head > INSPECT_PASS_LIMIT_BYTES) {
    throw new InputError(
      `the attribution at position ${position} reads ${n} tokens in one pass, about ${formatBytes(m.activations + m.head)} (at most ${formatBytes(INSPECT_PASS_LIMIT_BYTES)}): choose an earlier position or a shorter text`,
    );
  }
  const targets = new Int32Array(n).fill(IGNORE_TARGET);
  const targetId = ids[position + 1];
  targets[position] = targetId;
  everyPosition.zeroGrad();
  everyPosition.forward(ids.subarray(0, n), 1, n, targets, { clamps: options.clamps });
  // The mean over one counted target is -log p itself; scaled by -1, backward carries d log p.
  everyPosition.backward({ lossScale: -1 });
  const grads = everyPosition.inputGradients();
  everyPosition.zeroGrad();

  const E = config.embedding_size;
  const I = E ?? config.vocab_size;
  const embedding = E === null ? null : model.parameter('embedding.weight');
  const gradNorm = new Float64Array(T);
  const gradXInput = new Float64Array(T);
  for (let k = 0; k < n; k++) {
    const o = k * I;
    let squares = 0;
    for (let j = 0; j < I; j++) squares += grads[o + j] * grads[o + j];
    gradNorm[k] = Math.sqrt(squares);
    if (embedding === null) {
      gradXInput[k] = grads[o + ids[k]];
    } else {
      const e = ids[k] * I;
      let dot = 0;
      for (let j = 0; j < I; j++) dot += grads[o + j] * embedding[e + j];
      gradXInput[k] = dot;
    }
  }
  return { position, targetId, gradNorm, gradXInput };
}

/** The attribution of the prediction at `position` in `text` read by `tokenizer`, as inspect --json writes it. */
export function attributeText(model: LSTMModel, tokenizer: Tokenizer, text: string, position: number, options: AttributionOptions = {}): Attribution {
  const { ids } = tokenizer.encode(text);
  const a = attribute(model, ids, position, options);
  return { position, target: tokenizer.tokenString(a.targetId), grad_norm: Array.from(a.gradNorm), grad_x_input: Array.from(a.gradXInput) };
}
