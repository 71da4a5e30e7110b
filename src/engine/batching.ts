// Cutting a token stream into training batches (B rows of T time steps).
//
// WindowSampler: random windows, as in the article. Each row starts at a random
//   position; rows are independent, so the recurrent state is always reset.
// StreamBatcher: B contiguous streams read T tokens at a time, for many-to-many training
//   with the state carried from one batch to the next (truncated backpropagation through time).
//
// The arrays of a Batch are allocated once per batcher and overwritten by every next():
// a caller that keeps a batch past the next call must copy them.

import { InputError, type Mode } from './config';
import type { Random } from './random';

export interface Batch {
  B: number;
  T: number;
  /** (B, T) token ids. */
  inputs: Int32Array;
  /** (B, T) for many_to_many, (B) for many_to_one. */
  targets: Int32Array;
  /** true when the recurrent state carried from the previous batch must be reset to zeros (start, or a stream wrapped around). Always true for random windows. */
  resetState: boolean;
}

export type BatcherState = { kind: 'windows' } | { kind: 'streams'; position: number; started: boolean };

export interface Batcher {
  readonly B: number;
  readonly T: number;
  next(): Batch;
  getState(): BatcherState;
  setState(s: BatcherState): void;
}

/** The fewest tokens that make one batch: windows T + 1 (inputs and the token after), streams B*T + 1. */
export function minimumTokens(B: number, T: number, kind: 'windows' | 'streams'): number {
  return kind === 'windows' ? T + 1 : B * T + 1;
}

function checkSizes(B: number, T: number): void {
  if (!Number.isInteger(B) || B < 1) throw new InputError(`batch size must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new InputError(`sequence length must be a positive integer, got ${T}`);
}

function checkEnough(N: number, B: number, T: number, kind: 'windows' | 'streams'): void {
  const need = minimumTokens(B, T, kind);
  if (N < need) {
    const why = kind === 'windows'
      ? `a sequence of ${T} tokens and the token after it`
      : `${B} streams of ${T} tokens and the token after them`;
    throw new InputError(`the text has ${N} tokens, too few for ${why}: at least ${need} are needed`);
  }
}

const stateText = (s: unknown): string => {
  try {
    return JSON.stringify(s) ?? String(s);
  } catch {
    return String(s);
  }
};

export class WindowSampler implements Batcher {
  readonly B: number;
  readonly T: number;
  private readonly ids: Int32Array;
  private readonly mode: Mode;
  private readonly rng: Random;
  private readonly inputs: Int32Array; // (B, T)
  private readonly targets: Int32Array; // (B, T) or (B)

  /**
   * Each row: start s = rng.int(N - T) drawn row by row, in order, from `rng` only;
   * inputs = ids[s .. s+T); many_to_one: target = ids[s+T]; many_to_many: targets = ids[s+1 .. s+T+1).
   */
  constructor(ids: Int32Array, B: number, T: number, mode: Mode, rng: Random) {
    checkSizes(B, T);
    checkEnough(ids.length, B, T, 'windows');
    if (mode !== 'many_to_many' && mode !== 'many_to_one') throw new InputError(`unknown mode ${stateText(mode)}`);
    this.ids = ids;
    this.B = B;
    this.T = T;
    this.mode = mode;
    this.rng = rng;
    this.inputs = new Int32Array(B * T);
    this.targets = new Int32Array(mode === 'many_to_many' ? B * T : B);
  }

  next(): Batch {
    const { B, T, ids, inputs, targets } = this;
    const starts = ids.length - T;
    for (let b = 0; b < B; b++) {
      const s = this.rng.int(starts);
      inputs.set(ids.subarray(s, s + T), b * T);
      if (this.mode === 'many_to_many') targets.set(ids.subarray(s + 1, s + T + 1), b * T);
      else targets[b] = ids[s + T];
    }
    return { B, T, inputs, targets, resetState: true };
  }

  /** The sampler keeps no position: its whole state is the Random it draws from, saved separately. */
  getState(): BatcherState {
    return { kind: 'windows' };
  }

  setState(s: BatcherState): void {
    const v: unknown = s;
    if (typeof v !== 'object' || v === null || (v as { kind?: unknown }).kind !== 'windows') {
      throw new InputError(`batcher state ${stateText(v)} is not a random-window state`);
    }
  }
}

export class StreamBatcher implements Batcher {
  readonly B: number;
  readonly T: number;
  /** Length of each of the B streams: S = floor((N - 1) / B). */
  readonly streamLength: number;
  private readonly ids: Int32Array;
  private readonly inputs: Int32Array; // (B, T)
  private readonly targets: Int32Array; // (B, T)
  /** Where in each stream the next batch begins (before any wrap-around). */
  private position = 0;
  /** Whether a batch has been produced since the start. */
  private started = false;

  /**
   * Row b of a batch at position p: inputs ids[b*S + p + t], targets ids[b*S + p + t + 1],
   * t = 0..T-1. p advances by T each batch; when p + T > S it wraps to 0 and resetState
   * is true (as it is for the very first batch). Tokens past B*S + 1 are never read.
   */
  constructor(ids: Int32Array, B: number, T: number) {
    checkSizes(B, T);
    checkEnough(ids.length, B, T, 'streams');
    this.ids = ids;
    this.B = B;
    this.T = T;
    this.streamLength = Math.floor((ids.length - 1) / B);
    this.inputs = new Int32Array(B * T);
    this.targets = new Int32Array(B * T);
  }

  next(): Batch {
    const { B, T, ids, inputs, targets, streamLength: S } = this;
    let p = this.position;
    let resetState = !this.started;
    if (p + T > S) {
      p = 0;
      resetState = true;
    }
    for (let b = 0; b < B; b++) {
      const from = b * S + p;
      inputs.set(ids.subarray(from, from + T), b * T);
      targets.set(ids.subarray(from + 1, from + T + 1), b * T);
    }
    this.position = p + T;
    this.started = true;
    return { B, T, inputs, targets, resetState };
  }

  getState(): BatcherState {
    return { kind: 'streams', position: this.position, started: this.started };
  }

  /** Restores a state from getState(); throws InputError when it is malformed or does not fit these streams. */
  setState(s: BatcherState): void {
    const v: unknown = s;
    if (typeof v !== 'object' || v === null) throw new InputError(`batcher state ${stateText(v)} is not an object`);
    const { kind, position, started } = v as Record<string, unknown>;
    if (kind !== 'streams') throw new InputError(`batcher state ${stateText(v)} is not a stream state`);
    if (typeof started !== 'boolean') throw new InputError(`batcher state "started" must be true or false, got ${stateText(started)}`);
    if (typeof position !== 'number' || !Number.isInteger(position) || position < 0 || position > this.streamLength) {
      throw new InputError(
        `batcher state position must be an integer from 0 to the stream length ${this.streamLength}, got ${stateText(position)}`,
      );
    }
    this.position = position;
    this.started = started;
  }
}
