// Training as a time line: which steps of a run keep a snapshot of the weights (with a short sample
// generated there), so that a learner can go back and watch structure appear.
//
// Steps on a geometric grid are candidates: step 0 (the initial weights) and every step that is
// round(2^(k/2)) for some k (1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, …,
// spaced by about √2). At most SNAPSHOT_LIMIT are kept: when one more would exceed it, the interior
// snapshot whose neighbours are closest on the log scale (log(step + 1)) goes, so the kept steps
// stay spread geometrically whatever the run's length, and the first and the newest stay. The
// latest weights are the model's checkpoint itself, not a snapshot. Pure: no Node built-ins.

import { formatBytes } from './memory';

/** Snapshots kept at most (the checkpoint is the latest, beside them). */
export const SNAPSHOT_LIMIT = 12;
/** A model whose parameters take more than this (16 M parameters in float32) keeps no snapshots. */
export const SNAPSHOT_MAX_PARAMETER_BYTES = 64 * 2 ** 20;
/** Tokens generated at each snapshot (characters, or words). */
export const SNAPSHOT_SAMPLE_TOKENS = 120;
/** The sample's temperature, and the same seed at every snapshot, so that samples differ by their weights only. */
export const SNAPSHOT_SAMPLE_TEMPERATURE = 0.8;
export const SNAPSHOT_SAMPLE_SEED = 1;

/** Whether `step` is on the snapshot grid: 0, or round(2^(k/2)) for some whole k >= 0. */
export function onSnapshotGrid(step: number): boolean {
  if (!Number.isSafeInteger(step) || step < 0) return false;
  if (step === 0) return true;
  // round(2^(k/2)) = step for some k near 2 log2(step): check the neighbours of that k.
  const k = Math.round(2 * Math.log2(step));
  for (let j = Math.max(0, k - 1); j <= k + 1; j++) if (Math.round(2 ** (j / 2)) === step) return true;
  return false;
}

/** The grid's steps from 0 to `last`, in order. */
export function snapshotGrid(last: number): number[] {
  const out: number[] = [];
  for (let s = 0; s <= last; s++) if (onSnapshotGrid(s)) out.push(s);
  return out;
}

/**
 * The steps to drop so that at most `limit` of `steps` (ascending, distinct) remain: repeatedly the
 * interior step whose removal leaves the smallest gap on the log scale (the earlier on a tie). The
 * first and the last always stay.
 */
export function thinSnapshots(steps: readonly number[], limit = SNAPSHOT_LIMIT): number[] {
  const kept = [...steps];
  const dropped: number[] = [];
  const at = (i: number): number => Math.log(kept[i] + 1);
  while (kept.length > Math.max(2, limit)) {
    let best = 1;
    for (let i = 2; i < kept.length - 1; i++) if (at(i + 1) - at(i - 1) < at(best + 1) - at(best - 1)) best = i;
    dropped.push(kept[best]);
    kept.splice(best, 1);
  }
  return dropped.sort((a, b) => a - b);
}

/** What to do at `step`, given the steps kept so far: take a snapshot or not, and which kept ones to remove. */
export function planSnapshot(kept: readonly number[], step: number, limit = SNAPSHOT_LIMIT): { take: boolean; drop: number[] } {
  if (!onSnapshotGrid(step) || kept.includes(step)) return { take: false, drop: [] };
  // Steps after this one belong to an older run that this one replaced (a run restarted from a lower step).
  const stale = kept.filter((s) => s > step);
  const steps = [...kept.filter((s) => s < step), step].sort((a, b) => a - b);
  return { take: true, drop: [...stale, ...thinSnapshots(steps, limit)].filter((s) => s !== step).sort((a, b) => a - b) };
}

/** Why a model keeps no snapshots (too large), or null when it keeps them. */
export function snapshotRefusal(parameters: number): string | null {
  const bytes = 4 * parameters;
  if (bytes <= SNAPSHOT_MAX_PARAMETER_BYTES) return null;
  return `no snapshots for the time line: the weights take ${formatBytes(bytes)}, more than ${formatBytes(SNAPSHOT_MAX_PARAMETER_BYTES)} (${SNAPSHOT_LIMIT} snapshots would take ${formatBytes(SNAPSHOT_LIMIT * bytes)})`;
}
