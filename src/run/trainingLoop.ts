// The one training loop: `lstm-lens train` (src/cli/train.ts), the Node worker on the CPU, and the
// webview's Web Worker on WebGL2 (src/gpuWorker/runner.ts) all run it. Steps, progress and tokens/s,
// the panel's trace, the saving cadence, stop, the judging of the last update and divergence are
// handled here once; how a runtime saves (a file written atomically, or bytes sent to the host),
// posts (a progress bar, or messages) and yields is given to it. Pure: no Node built-ins, no DOM.

import type { Backend } from '../engine/backend';
import type { Checkpoint } from '../engine/checkpoint';
import { LSTMModel, parameterCount } from '../engine/model';
import { onSnapshotGrid } from '../engine/snapshots';
import { DivergenceError, describeDivergence, Trainer } from '../engine/trainer';
import type { Sequence, TrainRequest, WorkerToHost } from '../protocol/worker';
import { traceSequenceAndStep } from './traceSpan';

/** The backend stopped working mid-run (a lost GPU context): the run can continue elsewhere from its last checkpoint. */
export class BackendLostError extends Error {
  override name = 'BackendLostError';
}

export type LoopMessage = Extract<WorkerToHost, { type: 'started' | 'progress' | 'panel' }>;

export interface LoopIO {
  post(message: LoopMessage, transfer?: ArrayBuffer[]): void;
  /** Saves the run as it is now (and says so to the host). */
  save(): void;
  /** Lets messages in (`stop`, `watch`). */
  yieldNow(): Promise<void>;
  stopRequested(): boolean;
  /** What the panel wants traced, and how often; null for nothing. */
  watched(): { sequence: Sequence; everyMs: number } | null;
  /** After each step: why the backend can no longer be used, or null. */
  backendProblem?(): string | null;
  /**
   * At step 0 (before the first update of a fresh run) and at every step of the time line's grid
   * (engine/snapshots.ts): the runtime may keep a snapshot of the weights there. Absent: none kept.
   */
  snapshot?(step: number): void;
}

export interface LoopOptions {
  saveEverySteps: number;
  /** Also save when this long has passed since the last save (0: by steps only). */
  saveEveryMs: number;
  progressEveryMs: number;
  /** Yield to messages at least this often. */
  yieldEveryMs?: number;
}

export interface LoopResult {
  reason: 'done' | 'stopped';
  step: number;
  loss: number | null;
  tokensPerSecond: number;
}

/**
 * The run a train request asks for: a fresh one, or the saved run continued for `settings.steps`
 * more steps at the request's learning rate (lstmLens.learningRate applies to Continue); its own
 * shape and other settings win. A text shorter than the one the run was trained on is the engine's
 * ShorterTextError; when restarting the stream would make it usable (`restartable`), the host offers that.
 */
export function trainerFor<Tensor, Ids>(
  request: Pick<TrainRequest, 'text' | 'sourceName' | 'shape' | 'settings' | 'restartStream'>,
  saved: Checkpoint | null,
  backend?: Backend<Tensor, Ids>,
): Trainer<Tensor, Ids> {
  if (!saved) return Trainer.create(request.text, request.sourceName, request.shape, request.settings, backend);
  const overrides = { steps: saved.training.step + request.settings.steps, learning_rate: request.settings.learning_rate, restartStream: request.restartStream === true };
  return Trainer.resume(saved, request.text, request.sourceName, backend, overrides);
}

export function startedMessage<Tensor, Ids>(trainer: Trainer<Tensor, Ids>, engine?: string): Extract<WorkerToHost, { type: 'started' }> {
  const config = trainer.model.config;
  const { vocab_size: _v, ...shape } = config;
  return {
    type: 'started',
    step: trainer.step,
    totalSteps: trainer.settings.steps,
    vocabSize: config.vocab_size,
    tokens: trainer.ids.length,
    parameters: parameterCount(config),
    batchSize: trainer.settings.batch_size,
    shape,
    settings: trainer.settings,
    notes: trainer.notes,
    ...(engine === undefined ? {} : { engine }),
  };
}

/**
 * The panel's trace of a run's current weights. On the CPU the model itself reads the text; on
 * another backend the weights are read back once into a CPU copy (kept in `cache`), which reads
 * it with the same code: a snapshot, at most once per `everyMs`, never inside the time loop.
 */
function traceOf<Tensor, Ids>(trainer: Trainer<Tensor, Ids>, sequence: Sequence, cache: { model: LSTMModel | null }): ReturnType<typeof traceSequenceAndStep> {
  let model: LSTMModel;
  if (trainer.backendName === 'cpu') model = trainer.model as unknown as LSTMModel;
  else {
    cache.model ??= new LSTMModel(trainer.model.config);
    cache.model.params.set(trainer.model.backend.read(trainer.model.params));
    model = cache.model;
  }
  return traceSequenceAndStep(model, trainer.tokenizer, sequence, trainer.step, trainer.settings.sequence_length);
}

/**
 * Trains until done or stopped, saving every `saveEverySteps` steps (and every `saveEveryMs`), and
 * at the end. The last update, which no next step judges, is judged before that final save
 * (Trainer.checkLastUpdate). Throws DivergenceError (after saving the last good weights, if they
 * are) or BackendLostError. The same loop for the command line and both workers: only `io` differs.
 */
export async function runTraining<Tensor, Ids>(trainer: Trainer<Tensor, Ids>, io: LoopIO, options: LoopOptions): Promise<LoopResult> {
  const started = performance.now();
  const firstStep = trainer.step;
  const yieldEveryMs = options.yieldEveryMs ?? 20;
  let lastPost = 0;
  let lastTrace = 0;
  let lastWatched: ReturnType<LoopIO['watched']> = null;
  let lastSave = started;
  let lastYield = started;
  const cache: { model: LSTMModel | null } = { model: null };
  const rate = (now: number): number => ((trainer.step - firstStep) * trainer.tokensPerStep) / Math.max((now - started) / 1000, 1e-9);
  const history = { step: [] as number[], loss: [] as number[], gradNorm: [] as number[], learningRate: [] as number[] };
  /** The step of the checkpoint on disk (the one resumed from, until this run saves). */
  let lastSavedStep = trainer.step;
  const save = (): void => {
    io.save();
    lastSavedStep = trainer.step;
  };
  /** A divergence: the trainer is back at the weights from before the update that broke them. */
  const diverged = (e: DivergenceError): DivergenceError => {
    // Saved, those weights are the run's end. (Should they not be finite, the last checkpoint is what is kept.)
    if (trainer.weightsAreFinite()) {
      save();
      return e;
    }
    const kept = { ...e.detail, keptStep: lastSavedStep };
    return new DivergenceError(describeDivergence(kept), kept);
  };
  const snapshotDue = (): void => {
    if (io.snapshot && onSnapshotGrid(trainer.step)) io.snapshot(trainer.step);
  };
  if (trainer.step === 0) snapshotDue();
  while (!trainer.done && !io.stopRequested()) {
    let result;
    try {
      result = trainer.trainStep();
    } catch (e) {
      if (e instanceof DivergenceError) throw diverged(e);
      throw e;
    }
    const problem = io.backendProblem?.() ?? null;
    if (problem) throw new BackendLostError(problem);
    history.step.push(result.step);
    history.loss.push(result.loss);
    history.gradNorm.push(result.gradNorm);
    history.learningRate.push(result.lr);
    const now = performance.now();
    if (now - lastPost >= options.progressEveryMs || trainer.done) {
      lastPost = now;
      io.post({
        type: 'progress',
        step: result.step,
        totalSteps: trainer.settings.steps,
        loss: result.loss,
        tokensPerSecond: rate(now),
        learningRate: result.lr,
        gradNorm: result.gradNorm,
        history: { step: history.step.splice(0), loss: history.loss.splice(0), gradNorm: history.gradNorm.splice(0), learningRate: history.learningRate.splice(0) },
        clip: trainer.settings.clip,
      });
    }
    // The panel's trace: the current weights reading the watched text, at most every `everyMs`,
    // and at once for a new watch (the cursor moved, another step was asked for).
    const watched = io.watched();
    if (watched && (now - lastTrace >= watched.everyMs || trainer.done || watched !== lastWatched)) {
      lastTrace = now;
      lastWatched = watched;
      const traced = traceOf(trainer, watched.sequence, cache);
      if (traced) {
        io.post({ type: 'panel', message: traced.trace }, traced.trace.entries.flatMap((e) => (e.gradients ? [e.states.buffer, e.gradients.buffer] : [e.states.buffer])));
        if (traced.step) io.post({ type: 'panel', message: traced.step });
      }
    }
    snapshotDue();
    const dueBySteps = trainer.step % options.saveEverySteps === 0;
    const dueByTime = options.saveEveryMs > 0 && now - lastSave >= options.saveEveryMs;
    if ((dueBySteps || dueByTime) && !trainer.done) {
      save();
      lastSave = performance.now();
    }
    if (now - lastYield > yieldEveryMs) {
      await io.yieldNow();
      lastYield = performance.now();
    }
  }
  // Training time ends with the steps: judging the last update and saving are not part of it.
  const tokensPerSecond = rate(performance.now());
  // The last update, finished or stopped early, has no next step to judge it: judged here, before
  // the final save (rolled back, as any divergence, when it broke the weights).
  try {
    trainer.checkLastUpdate();
  } catch (e) {
    if (e instanceof DivergenceError) throw diverged(e);
    throw e;
  }
  save();
  return { reason: trainer.done ? 'done' : 'stopped', step: trainer.step, loss: trainer.loss, tokensPerSecond };
}

/**
 * How fast this backend trains at this size: one step first (it compiles the GPU's kernels and
 * allocates the workspace), then `steps` timed steps. The trainer is used up (its weights move).
 */
export function timeTraining<Tensor, Ids>(
  trainer: Pick<Trainer<Tensor, Ids>, 'trainStep' | 'tokensPerStep'>,
  steps: number,
  budgetMs = Number.POSITIVE_INFINITY,
  now: () => number = () => performance.now(),
): { firstStepMs: number; msPerStep: number; tokensPerSecond: number; timedSteps: number } {
  // At most `steps` timed steps, and none begun once `budgetMs` has passed since the probe began
  // (the first, untimed step counts): a large model is judged by fewer steps, never by a longer wait.
  // When the first step alone used the budget, it is the estimate (slower than a later step: the
  // comparison then errs towards the other backend, never by more than that one step's setup).
  const t0 = now();
  trainer.trainStep();
  const t1 = now();
  let timed = 0;
  while (timed < steps && now() - t0 < budgetMs) {
    trainer.trainStep();
    timed++;
  }
  const msPerStep = timed > 0 ? (now() - t1) / timed : t1 - t0;
  return { firstStepMs: t1 - t0, msPerStep, tokensPerSecond: (trainer.tokensPerStep * 1000) / Math.max(msPerStep, 1e-9), timedSteps: timed };
}
