// The training history of a run: its loss curve, gradient norm and learning rate, bounded.
//
// A run of a million steps cannot keep a number per step in its checkpoint (every save would
// re-encode them all, and the header would outgrow what a reader accepts), so the history is a
// fixed number of points, each the mean of a bucket of consecutive steps with its step range.
// Every bucket holds `width` steps but the last, which is filling. When all HISTORY_MAX_POINTS are
// full, neighbouring pairs are merged (a mean weighted by their step counts) and the width
// doubles: appending is O(1) amortised, the history never holds more than HISTORY_MAX_POINTS
// points, and saving it costs the same at step 1M as at step 100. The first loss of the run is
// kept apart (the starting point against which divergence is judged).
//
// The same sequence of appends always gives the same history, bit for bit, and the serialized form
// (toJSON / historyFromJSON) holds its whole state, so a run saved and resumed ends with the
// history of one that never stopped.

import { InputError } from './config';

/** Points a history holds at most (even: full points merge two by two). */
export const HISTORY_MAX_POINTS = 1000;

/** One bucket of consecutive steps: first..last inclusive, and the means over them. */
export interface HistoryPoint {
  first: number;
  last: number;
  loss: number;
  /** null where the norm is not known (a history converted from an older checkpoint). */
  gradNorm: number | null;
  learningRate: number;
}

/** The history as columns, one entry per point, `step` the last step of each (what the panel draws). */
export interface HistoryColumns {
  step: number[];
  loss: number[];
  /** null when any point's norm is unknown. */
  gradNorm: number[] | null;
  learningRate: number[];
  /** The loss of the first step recorded (the run's starting loss when firstStep is 1). */
  firstLoss: number | null;
  firstStep: number | null;
  /** Steps per point (the last point may hold fewer). */
  width: number;
}

/** The serialized form stored under a checkpoint's `training.history`. */
export interface HistoryJSON {
  width: number;
  first_step: number | null;
  first_loss: number | null;
  /** The last step of each point. */
  steps: number[];
  loss: number[];
  grad_norm: Array<number | null>;
  lr: number[];
}

export class TrainingHistory {
  private width = 1;
  private n = 0;
  private firstStep: number | null = null;
  private first: number | null = null;
  private readonly lastStep = new Float64Array(HISTORY_MAX_POINTS);
  private readonly count = new Float64Array(HISTORY_MAX_POINTS);
  private readonly loss = new Float64Array(HISTORY_MAX_POINTS);
  private readonly gradNorm = new Float64Array(HISTORY_MAX_POINTS);
  private readonly lr = new Float64Array(HISTORY_MAX_POINTS);

  /** Points held now. */
  get length(): number {
    return this.n;
  }

  /** The loss of the first step recorded; null while empty. */
  get firstLoss(): number | null {
    return this.first;
  }

  /** The last step recorded; null while empty. */
  get lastRecordedStep(): number | null {
    return this.n === 0 ? null : this.lastStep[this.n - 1];
  }

  /** Steps recorded in all. */
  get steps(): number {
    return this.n === 0 ? 0 : this.lastStep[this.n - 1] - (this.firstStep as number) + 1;
  }

  /** Records step `step` (the step after the last one recorded, or any step when empty). gradNorm NaN: unknown. */
  append(step: number, loss: number, gradNorm: number, learningRate: number): void {
    const n = this.n;
    if (n === 0) {
      if (!(Number.isSafeInteger(step) && step >= 1)) throw new RangeError(`history: step ${step} is not a whole number >= 1`);
      this.firstStep = step;
      this.first = loss;
    } else if (step !== this.lastStep[n - 1] + 1) {
      throw new RangeError(`history: step ${step} does not follow step ${this.lastStep[n - 1]}`);
    }
    if (n > 0 && this.count[n - 1] < this.width) {
      const k = n - 1;
      const c = this.count[k] + 1;
      this.loss[k] += (loss - this.loss[k]) / c;
      this.gradNorm[k] += (gradNorm - this.gradNorm[k]) / c;
      this.lr[k] += (learningRate - this.lr[k]) / c;
      this.count[k] = c;
      this.lastStep[k] = step;
      return;
    }
    if (n === HISTORY_MAX_POINTS) this.compact();
    const k = this.n;
    this.lastStep[k] = step;
    this.count[k] = 1;
    this.loss[k] = loss;
    this.gradNorm[k] = gradNorm;
    this.lr[k] = learningRate;
    this.n = k + 1;
  }

  /** Merges neighbouring pairs of (full) points; the width doubles. */
  private compact(): void {
    this.n = mergePointPairs({ lastStep: this.lastStep, count: this.count, loss: this.loss, gradNorm: this.gradNorm, learningRate: this.lr }, this.n);
    this.width *= 2;
  }

  /** An independent copy. */
  clone(): TrainingHistory {
    const h = new TrainingHistory();
    h.copyFrom(this);
    return h;
  }

  /** Makes this history equal to `other` (no allocation). */
  copyFrom(other: TrainingHistory): void {
    this.width = other.width;
    this.n = other.n;
    this.firstStep = other.firstStep;
    this.first = other.first;
    const n = other.n;
    this.lastStep.set(other.lastStep.subarray(0, n));
    this.count.set(other.count.subarray(0, n));
    this.loss.set(other.loss.subarray(0, n));
    this.gradNorm.set(other.gradNorm.subarray(0, n));
    this.lr.set(other.lr.subarray(0, n));
  }

  /** Every point, oldest first. */
  points(): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    for (let k = 0; k < this.n; k++) {
      out.push({
        first: this.lastStep[k] - this.count[k] + 1,
        last: this.lastStep[k],
        loss: this.loss[k],
        gradNorm: Number.isNaN(this.gradNorm[k]) ? null : this.gradNorm[k],
        learningRate: this.lr[k],
      });
    }
    return out;
  }

  /** The history as columns (for a loss curve). */
  columns(): HistoryColumns {
    const n = this.n;
    const norms = Array.from(this.gradNorm.subarray(0, n));
    return {
      step: Array.from(this.lastStep.subarray(0, n)),
      loss: Array.from(this.loss.subarray(0, n)),
      gradNorm: norms.every((x) => !Number.isNaN(x)) ? norms : null,
      learningRate: Array.from(this.lr.subarray(0, n)),
      firstLoss: this.first,
      firstStep: this.firstStep,
      width: this.width,
    };
  }

  toJSON(): HistoryJSON {
    const n = this.n;
    return {
      width: this.width,
      first_step: this.firstStep,
      first_loss: this.first,
      steps: Array.from(this.lastStep.subarray(0, n)),
      loss: Array.from(this.loss.subarray(0, n)),
      grad_norm: Array.from(this.gradNorm.subarray(0, n), (x) => (Number.isNaN(x) ? null : x)),
      lr: Array.from(this.lr.subarray(0, n)),
    };
  }

  /**
   * A history from the loss of every step (an older checkpoint's `training.losses`): the losses of
   * the steps ending at `lastStep`, their gradient norms unknown, their learning rates from
   * `learningRateOf(step)`.
   */
  static fromLosses(losses: ArrayLike<number>, lastStep: number, learningRateOf: (step: number) => number): TrainingHistory {
    const h = new TrainingHistory();
    const n = Math.min(losses.length, lastStep);
    const offset = losses.length - n;
    const firstStep = lastStep - n + 1;
    for (let k = 0; k < n; k++) h.append(firstStep + k, losses[offset + k], NaN, learningRateOf(firstStep + k));
    return h;
  }

  /**
   * A history from its serialized form, checked so that it is exactly one that appending could have
   * made (every point full but the last, steps consecutive, at most HISTORY_MAX_POINTS); an
   * InputError naming what is wrong otherwise. `lastStep`, when given, must be the last step recorded
   * (or the history empty).
   */
  static fromJSON(value: unknown, lastStep?: number): TrainingHistory {
    const bad = (why: string): never => {
      throw new InputError(`training.history ${why}`);
    };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('must be an object');
    const v = value as Record<string, unknown>;
    const { width, first_step: firstStep, first_loss: firstLoss, steps, loss, grad_norm: gradNorm, lr } = v;
    if (!(typeof width === 'number' && Number.isSafeInteger(width) && width >= 1 && width <= 2 ** 52 && Number.isInteger(Math.log2(width)))) {
      bad('width must be a power of two');
    }
    for (const [name, column] of [['steps', steps], ['loss', loss], ['grad_norm', gradNorm], ['lr', lr]] as const) {
      if (!Array.isArray(column)) bad(`${name} must be a list`);
    }
    const cols = [steps, loss, gradNorm, lr] as unknown[][];
    const n = cols[0].length;
    if (n > HISTORY_MAX_POINTS) bad(`holds ${n} points, more than ${HISTORY_MAX_POINTS}`);
    if (!cols.every((c) => c.length === n)) bad('columns differ in length');
    if (!(cols[1] as unknown[]).every(isFiniteNumber)) bad('loss must hold finite numbers');
    if (!(cols[3] as unknown[]).every(isFiniteNumber)) bad('lr must hold finite numbers');
    if (!(cols[2] as unknown[]).every((x) => x === null || isFiniteNumber(x))) bad('grad_norm must hold finite numbers or null');
    const h = new TrainingHistory();
    if (n === 0) {
      if (firstStep !== null && firstStep !== undefined) bad('first_step must be null when empty');
      if (firstLoss !== null && firstLoss !== undefined) bad('first_loss must be null when empty');
      if (width !== 1) bad('width must be 1 when empty');
      return h;
    }
    if (!(typeof firstStep === 'number' && Number.isSafeInteger(firstStep) && firstStep >= 1)) bad('first_step must be a whole number >= 1');
    if (!isFiniteNumber(firstLoss)) bad('first_loss must be a finite number');
    const w = width as number;
    let previous = (firstStep as number) - 1;
    const internal = h;
    for (let k = 0; k < n; k++) {
      const s = (cols[0] as unknown[])[k];
      if (!(typeof s === 'number' && Number.isSafeInteger(s) && s > previous)) bad('steps must be increasing whole numbers');
      const c = (s as number) - previous;
      if (k < n - 1 ? c !== w : c > w) bad(`point ${k} spans ${c} steps, the width is ${w}`);
      internal.lastStep[k] = s as number;
      internal.count[k] = c;
      internal.loss[k] = (cols[1] as number[])[k];
      const g = (cols[2] as Array<number | null>)[k];
      internal.gradNorm[k] = g === null ? NaN : g;
      internal.lr[k] = (cols[3] as number[])[k];
      previous = s as number;
    }
    // A history past its first compaction always holds more than half its points.
    if (w > 1 && n <= HISTORY_MAX_POINTS / 2) bad(`holds ${n} points at width ${w}, fewer than a compaction leaves`);
    if (lastStep !== undefined && previous !== lastStep) bad(`ends at step ${previous}, the run at step ${lastStep}`);
    internal.width = w;
    internal.n = n;
    internal.firstStep = firstStep as number;
    internal.first = firstLoss as number;
    return h;
  }
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** TrainingHistory.fromJSON. */
export function historyFromJSON(value: unknown, lastStep?: number): TrainingHistory {
  return TrainingHistory.fromJSON(value, lastStep);
}

/** Points as parallel columns, each point covering `count` steps that end at `lastStep`. */
export interface PointColumns {
  lastStep: { [k: number]: number };
  count: { [k: number]: number };
  loss: { [k: number]: number };
  gradNorm: { [k: number]: number };
  learningRate: { [k: number]: number };
}

/**
 * The one compaction rule of every training history (the run's, saved in its checkpoint, and the
 * panel's live copy): neighbouring points merge two by two in place, into the later last step and
 * means weighted by their step counts; an odd last point stays as it is. Returns the new length.
 */
export function mergePointPairs(p: PointColumns, n: number): number {
  const half = n >> 1;
  for (let k = 0; k < half; k++) {
    const a = 2 * k, b = a + 1;
    const ca = p.count[a], cb = p.count[b], c = ca + cb;
    p.loss[k] = (p.loss[a] * ca + p.loss[b] * cb) / c;
    p.gradNorm[k] = (p.gradNorm[a] * ca + p.gradNorm[b] * cb) / c;
    p.learningRate[k] = (p.learningRate[a] * ca + p.learningRate[b] * cb) / c;
    p.count[k] = c;
    p.lastStep[k] = p.lastStep[b];
  }
  if (n % 2 === 1) {
    const last = n - 1;
    p.loss[half] = p.loss[last];
    p.gradNorm[half] = p.gradNorm[last];
    p.learningRate[half] = p.learningRate[last];
    p.count[half] = p.count[last];
    p.lastStep[half] = p.lastStep[last];
  }
  return half + (n % 2);
}

/**
 * A history drawn as columns (step = each point's last step), halved by mergePointPairs: a point's
 * step count is the gap to the step before it (the first point counts as one step).
 */
export function compactColumns(h: { step: number[]; loss: number[]; gradNorm: number[]; learningRate: number[] }): void {
  const n = Math.min(h.step.length, h.loss.length, h.gradNorm.length, h.learningRate.length);
  const count = h.step.slice(0, n).map((s, k) => (k === 0 ? 1 : Math.max(1, s - h.step[k - 1])));
  const kept = mergePointPairs({ lastStep: h.step, count, loss: h.loss, gradNorm: h.gradNorm, learningRate: h.learningRate }, n);
  h.step.length = kept;
  h.loss.length = kept;
  h.gradNorm.length = kept;
  h.learningRate.length = kept;
}
