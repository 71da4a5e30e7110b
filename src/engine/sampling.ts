// Sampling from the model: greedy, temperature and top-k, primed with a cue and carrying the
// state from token to token. Seeded: the same seed gives the same text.

import { checkClamps, type Clamp } from './clamp';
import { InputError, type FloatArray } from './config';
import type { LSTMModel } from './model';
import { Random } from './random';
import type { Tokenizer } from './tokenizer';

export interface SamplingSettings {
  /** 0 means greedy (always the most likely token). */
  temperature: number;
  /** Sample only among the k most likely tokens; 0 means all. */
  topK: number;
}

export function validateSampling(s: SamplingSettings): void {
  if (!(s.temperature >= 0 && Number.isFinite(s.temperature))) throw new InputError(`temperature must be a number >= 0, got ${s.temperature}`);
  if (!(Number.isInteger(s.topK) && s.topK >= 0)) throw new InputError(`top-k must be a whole number >= 0, got ${s.topK}`);
}

/**
 * Picks a token from V logits starting at `offset`. `scratch` (length >= V) holds the candidates'
 * weights, so sampling allocates nothing.
 */
export function sampleToken(
  logits: FloatArray,
  offset: number,
  V: number,
  settings: SamplingSettings,
  rng: Random,
  scratch: Float64Array,
  order: Int32Array,
): number {
  if (settings.temperature === 0) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[offset + v] > logits[offset + best]) best = v;
    return best;
  }
  // Candidates: every token, or the k largest (ties: the lower id first).
  let n = V;
  for (let v = 0; v < V; v++) order[v] = v;
  const k = settings.topK;
  if (k > 0 && k < V) {
    // Partial selection sort: k is small next to V in practice.
    for (let a = 0; a < k; a++) {
      let best = a;
      for (let b = a + 1; b < V; b++) {
        const lb = logits[offset + order[b]];
        const lbest = logits[offset + order[best]];
        if (lb > lbest || (lb === lbest && order[b] < order[best])) best = b;
      }
      const tmp = order[a];
      order[a] = order[best];
      order[best] = tmp;
    }
    n = k;
  }
  let max = -Infinity;
  for (let a = 0; a < n; a++) max = Math.max(max, logits[offset + order[a]]);
  let sum = 0;
  for (let a = 0; a < n; a++) {
    const w = Math.exp((logits[offset + order[a]] - max) / settings.temperature);
    scratch[a] = w;
    sum += w;
  }
  let u = rng.next() * sum;
  for (let a = 0; a < n; a++) {
    u -= scratch[a];
    if (u < 0) return order[a];
  }
  return order[n - 1];
}

/** Tokens of a cue read in one pass at most (a longer cue is read in pieces, the state carried). */
export const PRIME_CHUNK_TOKENS = 256;

export interface PrimeResult {
  /** Cue tokens the vocabulary lacked (mapped to <unk>, or dropped when there is none). */
  unknown: number;
  /** Cue tokens the model read. */
  read: number;
}

/**
 * Generates token by token. A unidirectional many-to-many model carries its state (L, 1, H) from
 * token to token; a many-to-one or bidirectional model, trained on windows, reads the last
 * `window` tokens afresh for every prediction, as it was trained.
 */
export class TextGenerator {
  private readonly rng: Random;
  private readonly carries: boolean;
  private readonly h: FloatArray;
  private readonly c: FloatArray;
  private readonly scratch: Float64Array;
  private readonly order: Int32Array;
  private readonly history: number[] = [];
  private readonly one = new Int32Array(1);
  private hasLogits = false;
  private lastId = -1;

  constructor(
    private readonly model: LSTMModel,
    private readonly tokenizer: Tokenizer,
    private readonly settings: SamplingSettings,
    seed: number,
    private readonly window: number,
    /** Units held at a constant while the model reads and generates (clamp.ts). */
    private readonly clamps: readonly Clamp[] = [],
  ) {
    validateSampling(settings);
    checkClamps(clamps, model.config);
    if (tokenizer.size !== model.config.vocab_size) {
      throw new InputError(`the vocabulary has ${tokenizer.size} tokens but the model expects ${model.config.vocab_size}`);
    }
    this.rng = new Random(seed);
    const cfg = model.config;
    this.carries = cfg.mode === 'many_to_many' && !cfg.bidirectional;
    const F = model.dtype === 'float64' ? Float64Array : Float32Array;
    this.h = new F(cfg.num_layers * model.D * cfg.hidden_size);
    this.c = new F(cfg.num_layers * model.D * cfg.hidden_size);
    this.scratch = new Float64Array(cfg.vocab_size);
    this.order = new Int32Array(cfg.vocab_size);
  }

  /**
   * Reads the cue, carrying the state: PRIME_CHUNK_TOKENS at a time, so that a long cue takes the
   * workspace of one chunk, not of the whole cue (the same numbers: the state is carried across).
   */
  prime(text: string): PrimeResult {
    const { ids, unknown } = this.tokenizer.encode(text);
    if (this.carries) {
      for (let a = 0; a < ids.length; a += PRIME_CHUNK_TOKENS) this.read(ids.subarray(a, Math.min(ids.length, a + PRIME_CHUNK_TOKENS)));
    } else {
      // Only the last `window` tokens are ever read again.
      for (const id of ids.subarray(Math.max(0, ids.length - this.window))) this.history.push(id);
      this.trimHistory();
      if (ids.length > 0) this.readWindow();
    }
    if (ids.length > 0) this.lastId = ids[ids.length - 1];
    return { unknown, read: ids.length };
  }

  private trimHistory(): void {
    if (this.history.length > 2 * this.window + 64) this.history.splice(0, this.history.length - this.window);
  }

  /** Samples the next token, feeds it back, and returns its id and the text it adds. */
  next(): { id: number; text: string } {
    let id: number;
    if (!this.hasLogits) {
      // Nothing read yet: start from a line break where the vocabulary has one, else any token.
      const newline = this.tokenizer.tokens.indexOf('\n');
      id = newline >= 0 ? newline : this.rng.int(this.tokenizer.size);
    } else {
      const logits = this.model.logits();
      const V = this.model.config.vocab_size;
      const rows = logits.length / V;
      id = sampleToken(logits, (rows - 1) * V, V, this.settings, this.rng, this.scratch, this.order);
    }
    const text = this.piece(id);
    if (this.carries) {
      this.one[0] = id;
      this.read(this.one);
    } else {
      this.history.push(id);
      this.trimHistory();
      this.readWindow();
    }
    this.lastId = id;
    return { id, text };
  }

  private read(ids: Int32Array): void {
    const first = !this.hasLogits;
    this.model.forward(ids, 1, ids.length, null, first ? { clamps: this.clamps } : { h0: this.h, c0: this.c, clamps: this.clamps });
    this.model.finalState(this.h, this.c);
    this.hasLogits = true;
  }

  private readWindow(): void {
    const start = Math.max(0, this.history.length - this.window);
    const ids = Int32Array.from(this.history.slice(start));
    this.model.forward(ids, 1, ids.length, null, { clamps: this.clamps });
    this.hasLogits = true;
  }

  /** The text token `id` adds after what came before (word tokens bring their own spacing). */
  private piece(id: number): string {
    if (this.lastId < 0) return this.tokenizer.decode([id]);
    const before = this.tokenizer.decode([this.lastId]);
    return this.tokenizer.decode([this.lastId, id]).slice(before.length);
  }
}
