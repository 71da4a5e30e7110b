// How a run's end reaches the Inspect States panel: not running, at the step it ended on, with the
// run's average speed (the panel reads "finished" when every step ran and "stopped" otherwise, and
// shows the average when it is given). No `vscode` import: unit-tested in plain Node.

import type { TrainingMessage } from '../protocol/panel';
import type { JobOutcome } from './workerJob';

export function runEnd(run: { step: number; totalSteps: number }, outcome: JobOutcome): Pick<TrainingMessage, 'running' | 'step' | 'totalSteps' | 'tokensPerSecond'> & { averageTokensPerSecond?: number } {
  if (outcome.kind === 'finished' && outcome.message.type === 'finished') {
    const m = outcome.message;
    // A run that ran every step is "finished" even when Stop came after its last step.
    return { running: false, step: m.step, totalSteps: run.totalSteps, tokensPerSecond: 0, averageTokensPerSecond: m.tokensPerSecond };
  }
  // Failed or crashed: the step last reported; no average (the run's time is not known here).
  return { running: false, step: run.step, totalSteps: run.totalSteps, tokensPerSecond: 0 };
}
