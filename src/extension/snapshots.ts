// The time line of the model in view: which snapshot the panel's slider chose for each document
// (none: the latest weights, the checkpoint itself), and the checkpoint that the panel, Show
// Surprise and Why This Prediction? then read. The snapshots are the training worker's
// (src/node/snapshots.ts); a run that starts afresh or Forget removes them.

import { listSnapshots, snapshotPath, type SnapshotEntry } from '../node/snapshots';
import type { WhyHostToPanel } from '../protocol/why';
import type { ModelStore } from './modelStore';

export class TimeLine {
  private readonly chosen = new Map<string, number>();
  private readonly listeners = new Set<(documentUri: string) => void>();

  constructor(private readonly store: ModelStore) {}

  snapshots(documentUri: string): SnapshotEntry[] {
    return listSnapshots(this.store.checkpointPath(documentUri));
  }

  /** The chosen snapshot's step, while it still exists; null: the latest. */
  chosenStep(documentUri: string): number | null {
    const step = this.chosen.get(documentUri);
    if (step === undefined) return null;
    if (!this.snapshots(documentUri).some((s) => s.step === step)) {
      this.chosen.delete(documentUri);
      return null;
    }
    return step;
  }

  choose(documentUri: string, step: number | null): void {
    if (step === null) this.chosen.delete(documentUri);
    else this.chosen.set(documentUri, step);
    for (const f of this.listeners) f(documentUri);
  }

  onChange(listener: (documentUri: string) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** The weights to read for the document: the chosen snapshot's, else the checkpoint. */
  checkpointFor(documentUri: string): string {
    const step = this.chosenStep(documentUri);
    const path = this.store.checkpointPath(documentUri);
    return step === null ? path : snapshotPath(path, step);
  }

  /** The panel's time line message for the document (latest: the checkpoint's step and loss; a snapshot of the same step is the checkpoint, left out). */
  message(documentUri: string, latest: { step: number; loss: number | null } | null): Extract<WhyHostToPanel, { type: 'whyTimeline' }> {
    const snapshots = this.snapshots(documentUri).filter((s) => latest === null || s.step < latest.step);
    const chosen = this.chosenStep(documentUri);
    return { type: 'whyTimeline', snapshots, latest, chosen: chosen !== null && snapshots.some((s) => s.step === chosen) ? chosen : null };
  }
}
