// A training run as the extension host follows it: the job, where it stands, and where it trains.
// No `vscode` import.

import type { WorkerToHost } from '../protocol/worker';
import type { TrainingJob } from './gpuJob';
import type { TracePlacement } from './traceWindow';

export type StartedMessage = Extract<WorkerToHost, { type: 'started' }>;

/** What is known of a run before and apart from its job. */
export interface RunState {
  documentUri: string;
  name: string;
  step: number;
  totalSteps: number;
  loss: number | null;
  /** The 'started' message: what the panel's model summary is made of while training. */
  started: StartedMessage | null;
  /** Where the sequence the worker traces for the panel stands in the document. */
  watchPlacement: TracePlacement | null;
  /** Where it trains, and why there, for the status bar. */
  backend: 'CPU' | 'GPU';
  backendWhy: string;
}

export interface ActiveRun extends RunState {
  readonly job: TrainingJob;
}
