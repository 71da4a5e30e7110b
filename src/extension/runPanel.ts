// What the Inspect States panel is shown of a run while it trains and when it ends: its model
// (from the run's 'started' message) and its training state. No `vscode` import: unit-tested in plain Node.

import type { ModelMessage, TrainingMessage } from '../protocol/panel';
import type { WorkerToHost } from '../protocol/worker';
import { modelMessage } from '../run/panelData';
import type { RunState, StartedMessage } from './activeRun';

type History = Extract<WorkerToHost, { type: 'progress' }>['history'];

/** No history: the panel keeps the history it has (a run's end adds no point to the curve). */
export const NO_HISTORY: History = { step: [], loss: [], gradNorm: [], learningRate: [] };

/** The panel's training state of a run: running or not, its step, speed, clip and backend, and the history since the last message. */
export function trainingMessage(run: Pick<RunState, 'step' | 'totalSteps' | 'backend'>, started: StartedMessage, running: boolean, tokensPerSecond: number | null, history: History): TrainingMessage {
  return {
    type: 'training',
    running,
    step: run.step,
    totalSteps: run.totalSteps,
    tokensPerSecond: tokensPerSecond ?? 0,
    clip: started.settings.clip,
    backend: run.backend,
    reset: false,
    history,
  };
}

/** The panel's model summary of a run that trains, from its 'started' message and where it stands. */
export function runModelMessage(run: Pick<RunState, 'step' | 'loss'>, started: StartedMessage, file: string): ModelMessage {
  return modelMessage({ config: { vocab_size: started.vocabSize, ...started.shape }, tokens: started.settings.tokens, settings: started.settings, step: run.step, loss: run.loss }, file);
}
