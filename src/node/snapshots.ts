// Where a model's time line lives: a folder beside its checkpoint (`<name>.snapshots/`, for
// `<name>.lstm.safetensors`) with one weights-only checkpoint per kept step
// (`step-<step>.safetensors`) and `index.json` ({"snapshots": [{"step", "loss", "sample"}]}).
// Each file is written atomically; a snapshot's file is written before the index names it, and the
// index stops naming one before its file goes, so what the index names is always whole. At most
// SNAPSHOT_LIMIT snapshots (engine/snapshots.ts), each the size of the weights.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { encodeCheckpoint } from '../engine/checkpoint';
import { planSnapshot } from '../engine/snapshots';
import { writeFileAtomic } from './writeFiles';

/** One kept snapshot, as the index records it. */
export interface SnapshotEntry {
  step: number;
  loss: number | null;
  sample: string;
}

const IndexSchema = v.strictObject({
  snapshots: v.array(
    v.strictObject({
      step: v.pipe(v.number(), v.integer(), v.minValue(0)),
      loss: v.nullable(v.pipe(v.number(), v.finite())),
      sample: v.pipe(v.string(), v.maxLength(10_000)),
    }),
  ),
});

/** The folder of a checkpoint's snapshots. */
export function snapshotsFolder(checkpointPath: string): string {
  return `${checkpointPath.replace(/(\.lstm)?\.safetensors$/, '')}.snapshots`;
}

export function snapshotPath(checkpointPath: string, step: number): string {
  return join(snapshotsFolder(checkpointPath), `step-${step}.safetensors`);
}

/** The snapshots the index names whose files exist, by step; [] for none or an unreadable index. */
export function listSnapshots(checkpointPath: string): SnapshotEntry[] {
  const folder = snapshotsFolder(checkpointPath);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(folder, 'index.json'), 'utf8'));
  } catch {
    return [];
  }
  const parsed = v.safeParse(IndexSchema, raw);
  if (!parsed.success) return [];
  return parsed.output.snapshots.filter((s) => existsSync(snapshotPath(checkpointPath, s.step))).sort((a, b) => a.step - b.step);
}

function writeIndex(checkpointPath: string, entries: SnapshotEntry[]): void {
  writeFileAtomic(join(snapshotsFolder(checkpointPath), 'index.json'), new TextEncoder().encode(JSON.stringify({ snapshots: entries })));
}

/** Removes the whole time line (Forget, or a run that starts afresh). */
export function removeSnapshots(checkpointPath: string): void {
  rmSync(snapshotsFolder(checkpointPath), { recursive: true, force: true });
}

/**
 * At `step` of a run: keeps a snapshot there when the schedule says so (`make` is called only then)
 * and removes those it thins out. Returns whether one was taken.
 */
export function keepSnapshot(checkpointPath: string, step: number, make: () => SnapshotEntry & { checkpoint: Parameters<typeof encodeCheckpoint>[0] }): boolean {
  const entries = listSnapshots(checkpointPath);
  const plan = planSnapshot(
    entries.map((e) => e.step),
    step,
  );
  if (!plan.take) return false;
  const made = make();
  mkdirSync(snapshotsFolder(checkpointPath), { recursive: true });
  writeFileAtomic(snapshotPath(checkpointPath, step), encodeCheckpoint(made.checkpoint));
  const kept = entries.filter((e) => !plan.drop.includes(e.step));
  kept.push({ step, loss: made.loss, sample: made.sample });
  kept.sort((a, b) => a.step - b.step);
  writeIndex(checkpointPath, kept);
  for (const s of plan.drop) rmSync(snapshotPath(checkpointPath, s), { force: true });
  // Files no index names (a write interrupted between the file and the index) go too.
  const named = new Set(kept.map((e) => `step-${e.step}.safetensors`));
  for (const name of readdirSync(snapshotsFolder(checkpointPath))) {
    if (/^step-\d+\.safetensors$/.test(name) && !named.has(name)) rmSync(join(snapshotsFolder(checkpointPath), name), { force: true });
  }
  return true;
}
