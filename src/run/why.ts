// "Why this prediction?" for the editor and the panel, from the engine's functions (the same ones
// `lstm-lens inspect --json` and `lstm-lens baseline` print): the surprise at every token, the
// LSTM's gain over the n-gram baseline, the attribution of the prediction at the cursor, the
// baseline table, and a time line snapshot of a run. Pure (no Node built-ins): the Node worker runs
// it, the tests call it directly.

import { attribute } from '../engine/attribution';
import type { Checkpoint } from '../engine/checkpoint';
import { InputError } from '../engine/config';
import { evaluateLoss, inspectText } from '../engine/inspect';
import { LSTMModel } from '../engine/model';
import { baselineSplit, ngramBaseline } from '../engine/ngram';
import { TextGenerator } from '../engine/sampling';
import { SNAPSHOT_SAMPLE_SEED, SNAPSHOT_SAMPLE_TEMPERATURE, SNAPSHOT_SAMPLE_TOKENS } from '../engine/snapshots';
import type { Tokenizer } from '../engine/tokenizer';
import { modelFromCheckpoint } from '../engine/trainer';

/** Tokens of a text coloured by surprise at most (a longer text: the host sends the visible part). */
export const SURPRISE_MAX_TOKENS = 20_000;
/** Top guesses carried per token for the hover, when T·V is at most this (the logits of every position are kept for it). */
const SURPRISE_TOP_CELLS = 8_000_000;
/** Tokens before the prediction the attribution reads at most (further back the gradient is about 0). */
export const ATTRIBUTION_MAX_TOKENS = 400;

export interface TokenValues {
  /** (2T) character spans [start, end) of every token in the text sent. */
  spans: number[];
  /** (T) one number per token. */
  values: number[];
}

/** `values`: (T) −log p of token t given the tokens before it (values[0] = 0: the first token is not predicted). */
export interface Surprise extends TokenValues {
  /** (T) the model's top guesses for token t, most likely first (empty when not carried). */
  top: Array<Array<{ token: string; p: number }>>;
  /** Mean −log p over tokens 1..T-1. */
  loss: number;
  /** With gain: (T) the n-gram's −log p less the LSTM's (positive: the LSTM does better), and the order used. */
  gain: number[] | null;
  order: number | null;
}

function checkTokens(T: number, limit: number, what: string): void {
  if (T > limit) throw new InputError(`${what} reads at most ${limit} tokens; this text has ${T}`);
}

/**
 * The surprise −log p(token t | tokens before it) at every token of `text` read from a zero state,
 * with the top guesses there; with `ngramText`, also the gain over the best n-gram order fitted on
 * that text (its first 90%, as `lstm-lens baseline` fits it).
 */
export function surpriseOf(model: LSTMModel, tokenizer: Tokenizer, text: string, ngramText: string | null, topK = 3): Surprise {
  const { ids, spans } = tokenizer.encodeWithSpans(text);
  const T = ids.length;
  checkTokens(T, SURPRISE_MAX_TOKENS, 'Show Surprise');
  const V = model.config.vocab_size;
  const withTop = T * V <= SURPRISE_TOP_CELLS && topK > 0;
  const r = inspectText(model, tokenizer, text, { topK: withTop ? topK : 0, gradients: false, window: withTop ? { start: 0, end: T } : { start: T, end: T } });
  const values = new Array<number>(T).fill(0);
  for (let t = 1; t < T; t++) values[t] = r.tokenLoss[t - 1];
  // The guesses for token t are made at position t-1.
  const top = Array.from({ length: T }, (_, t) => (withTop && t > 0 ? r.top[t - 1].map((g) => ({ token: g.token, p: g.p })) : []));
  let gain: number[] | null = null;
  let order: number | null = null;
  if (ngramText !== null) {
    const fit = ngramBaseline(tokenizer.encode(ngramText).ids, V);
    order = fit.best;
    const ngramLoss = fit.model.tokenLosses(ids, order);
    gain = new Array<number>(T).fill(0);
    for (let t = 1; t < T; t++) gain[t] = ngramLoss[t - 1] - r.tokenLoss[t - 1];
  }
  return { spans: Array.from(spans), values, top, loss: Number.isFinite(r.loss) ? r.loss : 0, gain, order };
}

export interface AttributionAt extends TokenValues {
  /** (T) ‖d log p / d x_k‖; `values` is the same, for colouring. */
  gradNorm: number[];
  /** (T) gradient × input. */
  gradXInput: number[];
  /** The position P whose prediction is explained (of token P+1), its target and p. */
  position: number;
  target: string;
  p: number;
}

/**
 * Which tokens of `text` drive the prediction of the token that starts at character `cursor` (or,
 * at the end of the text, of its last token): the attribution of engine/attribution.ts at the
 * position before it. Only the last ATTRIBUTION_MAX_TOKENS tokens before it are read.
 */
export function attributionAt(model: LSTMModel, tokenizer: Tokenizer, text: string, cursor: number): AttributionAt {
  const all = tokenizer.encodeWithSpans(text);
  const n = all.ids.length;
  if (n < 2) throw new InputError('the text before the cursor has fewer than two tokens this model knows: nothing to attribute');
  // The predicted token: the first that ends after the cursor (the token at the cursor), else the last.
  let target = n - 1;
  for (let t = 1; t < n; t++) {
    if (all.spans[2 * t + 1] > cursor) {
      target = t;
      break;
    }
  }
  const first = Math.max(0, target - ATTRIBUTION_MAX_TOKENS);
  const ids = all.ids.slice(first, target + 1);
  const position = ids.length - 2;
  const a = attribute(model, ids, position);
  const values = Array.from(a.gradNorm);
  return {
    spans: Array.from(all.spans.subarray(2 * first, 2 * (target + 1))),
    values,
    gradNorm: values,
    gradXInput: Array.from(a.gradXInput),
    position: first + position,
    target: tokenizer.tokenString(a.targetId),
    p: probabilityOf(model, ids, position),
  };
}

/** p(ids[position + 1] | ids[0..position]) of the model (read from a zero state). */
function probabilityOf(model: LSTMModel, ids: Int32Array, position: number): number {
  const every = model.config.mode === 'many_to_many' ? model : new LSTMModel({ ...model.config, mode: 'many_to_many' }, model.dtype);
  if (every !== model) every.params.set(model.params);
  every.forward(ids.subarray(0, position + 1), 1, position + 1, null);
  const V = model.config.vocab_size;
  const probs = every.probabilities();
  return probs[position * V + ids[position + 1]];
}

export interface BaselineTable {
  tokens: number;
  trainTokens: number;
  heldoutTokens: number;
  /** The n-gram's held-out loss by order 1..6. */
  orders: Array<{ order: number; loss: number }>;
  best: number;
  /** The LSTM's loss on the same held-out part read from its start; null when it cannot be measured. */
  lstm: number | null;
}

/** The LSTM against the n-gram orders on the last tenth of `text` (the split of `lstm-lens baseline`). */
export function baselineTable(model: LSTMModel, tokenizer: Tokenizer, text: string, sequenceLength: number): BaselineTable {
  const { ids } = tokenizer.encode(text);
  const b = ngramBaseline(ids, model.config.vocab_size);
  const { train } = baselineSplit(ids.length);
  const held = ids.subarray(train);
  const e = evaluateLoss(model, held, sequenceLength);
  return { tokens: ids.length, trainTokens: b.train_tokens, heldoutTokens: b.heldout_tokens, orders: b.orders, best: b.best, lstm: Number.isFinite(e.loss) ? e.loss : null };
}

/** A snapshot for the time line: the weights alone (no optimizer state) as a checkpoint, and a sample they generate. */
export interface Snapshot {
  step: number;
  loss: number | null;
  sample: string;
  checkpoint: Checkpoint;
}

/**
 * The run's weights now as a snapshot: the checkpoint without its optimizer's moments, and
 * SNAPSHOT_SAMPLE_TOKENS tokens generated from them (same seed and temperature at every snapshot).
 */
export function snapshotOf(full: Checkpoint): Snapshot {
  const checkpoint: Checkpoint = { ...full, optimizer: { step: 0, slots: new Map() } };
  const { model, tokenizer } = modelFromCheckpoint(checkpoint);
  const generator = new TextGenerator(model, tokenizer, { temperature: SNAPSHOT_SAMPLE_TEMPERATURE, topK: 0 }, SNAPSHOT_SAMPLE_SEED, full.settings.sequence_length);
  let sample = '';
  for (let k = 0; k < SNAPSHOT_SAMPLE_TOKENS; k++) sample += generator.next().text;
  return { step: full.training.step, loss: full.training.loss, sample, checkpoint };
}
