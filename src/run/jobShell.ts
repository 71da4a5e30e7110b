// The shell both workers run their jobs in: the Node worker (src/worker/worker.ts) and the GPU
// worker (src/gpuWorker/runner.ts). Every message in is checked; `stop` and `watch` are kept for
// the job to read; one job at a time; a failed job is reported as a kind the host acts on (its
// remedy is the host's to word). While a job runs, a malformed message or a second job is dropped:
// a 'failed' answer would end the job (the host ends a worker that failed) and a training run
// would lose the steps since its last checkpoint. Before a job, a malformed message is answered.
// Pure: no Node built-ins, no DOM.

import { InputError } from '../engine/config';
import { DivergenceError, ShorterTextError } from '../engine/trainer';
import type { Checked } from '../protocol/check';
import type { DivergenceData, FailureKind, Sequence } from '../protocol/worker';
import { BackendLostError } from './trainingLoop';

/** A failed job as the host reads it: its kind, its message, and a divergence as data. */
export interface Failure<Kind extends string = FailureKind> {
  kind: Kind;
  message: string;
  divergence?: DivergenceData;
}

/** How a worker reports a failed job: input, diverged (with its data), textShorter, or internal. */
export function failureOf(e: unknown): Failure {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof DivergenceError) {
    const d = e.detail;
    const usable = Number.isSafeInteger(d.step) && d.step >= 1 && Number.isSafeInteger(d.keptStep) && d.keptStep >= 0 && Number.isFinite(d.suggestedLearningRate) && d.suggestedLearningRate > 0;
    return usable ? { kind: 'diverged', message, divergence: { step: d.step, keptStep: d.keptStep, suggestedLearningRate: d.suggestedLearningRate } } : { kind: 'diverged', message };
  }
  // Only a shorter text that the start of the text would let go on is offered as such (restartStream).
  if (e instanceof ShorterTextError && e.restartable) return { kind: 'textShorter', message };
  return { kind: e instanceof InputError ? 'input' : 'internal', message };
}

/** The same, and a backend that stopped working mid-run (a lost GPU context) as 'lost': the run can go on elsewhere. */
export function failureOnBackend(e: unknown): Failure<FailureKind | 'lost'> {
  return e instanceof BackendLostError ? { kind: 'lost', message: e.message } : failureOf(e);
}

/** What the panel wants traced while training, and how often. */
export interface Watched {
  sequence: Sequence;
  everyMs: number;
}

type Control = { type: 'stop' } | { type: 'watch'; sequence: Sequence | null; everyMs: number };

/** `Extra`: failure kinds a runtime adds to FailureKind (the GPU worker's 'lost'). */
export interface JobShellOptions<Job, Extra extends string = never> {
  /** Who answers a malformed message: "the worker", "the GPU worker". */
  name: string;
  check(raw: unknown): Checked<Job | Control>;
  run(job: Job): Promise<void>;
  /** Reports a failure to the host (a 'failed' message). */
  fail(failure: Failure<FailureKind | Extra>): void;
  /** What a job's error is to the host (default: failureOf). */
  failure?(e: unknown): Failure<FailureKind | Extra>;
  /** After a malformed message was answered (the Node worker ends there). */
  afterRefusal?(): void;
  /** After each job, done or failed. */
  afterJob?(): void;
}

export class JobShell<Job, Extra extends string = never> {
  private busy = false;
  private stop = false;
  private watch: Watched | null = null;

  constructor(private readonly options: JobShellOptions<Job, Extra>) {}

  /** Whether `stop` came since the current job began. */
  stopRequested(): boolean {
    return this.stop;
  }

  /** What the panel wants traced now; null for nothing. */
  watched(): Watched | null {
    return this.watch;
  }

  /** One message from the host. */
  receive(raw: unknown): void {
    const o = this.options;
    const checked = o.check(raw);
    if (!checked.ok) {
      if (this.busy) return;
      o.fail({ kind: 'internal', message: `${o.name} received a malformed message (${checked.error})` });
      o.afterRefusal?.();
      return;
    }
    const message = checked.message;
    if (isControl(message)) {
      if (message.type === 'stop') this.stop = true;
      else this.watch = message.sequence ? { sequence: message.sequence, everyMs: message.everyMs } : null;
      return;
    }
    if (this.busy) return;
    this.busy = true;
    this.stop = false;
    o.run(message)
      .catch((e: unknown) => o.fail((o.failure ?? failureOf)(e)))
      .finally(() => {
        this.busy = false;
        o.afterJob?.();
      });
  }
}

function isControl(message: unknown): message is Control {
  const type = (message as { type?: unknown }).type;
  return type === 'stop' || type === 'watch';
}
