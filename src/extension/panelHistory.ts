// The extension host's copy of a run's training history for the Inspect States panel: what a panel
// that opens (or reopens) mid-run draws at once. It is the engine's bounded history
// (src/engine/history.ts: at most HISTORY_MAX_POINTS points, each the mean of consecutive steps),
// so a run of a million steps costs what a run of a thousand does; before, every step was appended
// to arrays that were never trimmed. No `vscode` import: unit-tested in plain Node.

import { TrainingHistory } from '../engine/history';
import type { TrainingMessage } from '../protocol/panel';

export class PanelTrainingCopy {
  private latest: TrainingMessage | null = null;
  private history = new TrainingHistory();

  /** Takes a training message: its fields replace the last ones; its steps join the history (a reset, or a step that does not follow, starts it over). */
  add(message: TrainingMessage): void {
    if (message.reset) this.history = new TrainingHistory();
    const h = message.history;
    const n = Math.min(h.step.length, h.loss.length, h.gradNorm.length, h.learningRate.length);
    for (let i = 0; i < n; i++) {
      const last = this.history.lastRecordedStep;
      // A new run of the file (started afresh, or another checkpoint continued): its own history.
      if (last !== null && h.step[i] !== last + 1) this.history = new TrainingHistory();
      this.history.append(h.step[i], h.loss[i], h.gradNorm[i], h.learningRate[i]);
    }
    this.latest = { ...message, reset: false, history: { step: [], loss: [], gradNorm: [], learningRate: [] } };
  }

  clear(): void {
    this.latest = null;
    this.history = new TrainingHistory();
  }

  /** Everything a panel needs to draw the run: the latest fields with the whole (bounded) history, as a reset. */
  message(): TrainingMessage | null {
    if (!this.latest) return null;
    const c = this.history.columns();
    const gradNorm = c.gradNorm ?? c.loss.map(() => 0);
    return { ...this.latest, reset: true, history: { step: c.step, loss: c.loss, gradNorm, learningRate: c.learningRate } };
  }
}
