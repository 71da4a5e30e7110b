// A training run on the GPU, as the extension host drives it: the engine on WebGL2 in a Web Worker
// of the Inspect States webview (src/gpuWorker/), reached through the panel (a GpuChannel). To the
// rest of the extension it is a job like a CPU run's WorkerJob: the same messages (started,
// progress, panel traces, saved, finished), the same stop, the same checkpoint file, which only
// the host writes, after decoding every byte the webview sent.
//
// When the GPU cannot go on (no WebGL2 or float render targets, a lost context, the panel closed,
// no answer at the start, or silence mid-run: a watchdog on its messages) the run continues on the
// CPU, in a Node worker, from its last checkpoint, and says so once (onBackend). Stop on a GPU that
// no longer answers ends the run at its last checkpoint. A checkpoint that cannot be written (as
// opposed to one refused as not the run's) ends the run as failed: it never reports "saved".
// No `vscode` import: unit-tested in plain Node.

import { open } from 'node:fs/promises';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { readCheckpointSummary } from '../node/checkpointHeader';
import { MAX_CHECKPOINT_BYTES } from '../node/files';
import type { GpuToHost } from '../protocol/gpu';
import type { StoreRequest, TrainRequest, WatchRequest, WorkerToHost } from '../protocol/worker';
import { WorkerJob, type JobHandlers, type JobOutcome } from './workerJob';
import { postGpuRun, type GpuChannel } from './gpuChannel';

export { timeOnGpu, type GpuChannel } from './gpuChannel';

/** What a training run offers the extension, on either backend. */
export interface TrainingJob {
  readonly outcome: Promise<JobOutcome>;
  send(message: WatchRequest): void;
  stop(): void;
}

/** Which backend a run is on, and why it changed. */
export type BackendEvent =
  | { backend: 'webgl'; renderer: string; thread: 'worker' | 'main' }
  | { backend: 'cpu'; reason: string; fromStep: number };

export interface GpuJobHandlers extends JobHandlers {
  onBackend?(event: BackendEvent): void;
}

export interface GpuJobOptions {
  /** The GPU worker's script (dist/gpu-worker.js). */
  workerSource: string;
  /** Starts the same run (or its continuation) on the CPU. */
  startOnCpu(request: TrainRequest, handlers: JobHandlers): WorkerJob;
  /** Checks and writes a checkpoint off this thread (a Node worker's `store` job). */
  store(request: StoreRequest): WorkerJob;
  /** How long the webview may take to make its WebGL2 context. */
  startTimeoutMs?: number;
  /**
   * The watchdog: once the GPU has started, silence longer than this (or than ten of its slowest
   * measured steps, whichever is longer; twice this before its first step, which compiles its
   * kernels) gives it up, and the run continues on the CPU from its last checkpoint. 30 s by default.
   */
  silenceMs?: number;
  /** After Stop, how long a GPU that says nothing more is waited for before the run ends at its last checkpoint (10 s by default, or five of its steps). */
  stopGraceMs?: number;
}

/** A checkpoint's bytes (within the size limit), read asynchronously, as a plain Uint8Array of its own (not a Node Buffer, which may share a pool). */
async function readCheckpointBytesAsync(path: string): Promise<Uint8Array<ArrayBuffer>> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${printable(path)}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (e as Error).message})`}`);
  }
  try {
    const { size } = await file.stat();
    if (size > MAX_CHECKPOINT_BYTES) throw new InputError(`${printable(path)} is ${(size / 2 ** 20).toFixed(0)} MiB; the limit for a checkpoint is ${(MAX_CHECKPOINT_BYTES / 2 ** 20).toFixed(0)} MiB`);
    const bytes = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await file.read(bytes, at, size - at, at);
      if (bytesRead === 0) throw new InputError(`${printable(path)}: it became shorter while being read`);
      at += bytesRead;
    }
    return bytes;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${printable(path)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    await file.close();
  }
}

export class GpuTrainingJob implements TrainingJob {
  readonly outcome: Promise<JobOutcome>;
  private resolve!: (outcome: JobOutcome) => void;
  private settled = false;
  private cpu: WorkerJob | null = null;
  private subscription: { dispose(): void } | null = null;
  private startTimer: ReturnType<typeof setTimeout> | null = null;
  private started: Extract<WorkerToHost, { type: 'started' }> | null = null;
  /** The step of the checkpoint file that a CPU continuation would start from (null: none written by this run). */
  private savedStep: number | null = null;
  private watch: WatchRequest | null = null;
  private stopRequested = false;
  /** The checkpoints being checked and written, in order: the run ends, or continues on the CPU, after the last. */
  private saving: Promise<void> = Promise.resolve();
  /** The newest step sent to be saved (a later one may not go back). */
  private sentStep = 0;
  private fallingBack = false;
  /** The watchdog on the GPU's messages, and what it has measured. */
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;
  private stopTimer: ReturnType<typeof setTimeout> | null = null;
  private lastProgress: { at: number; step: number } | null = null;
  private slowestStepMs = 0;

  constructor(
    private readonly channel: GpuChannel,
    private readonly request: TrainRequest,
    private readonly handlers: GpuJobHandlers,
    private readonly options: GpuJobOptions,
  ) {
    this.outcome = new Promise((resolve) => {
      this.resolve = resolve;
    });
    this.subscription = channel.listen(
      (m) => this.receive(m),
      () => this.fallBack('the Inspect States panel, where the GPU trained, was closed'),
    );
    if (!request.resumeFrom) this.post(null);
    else {
      // A model to continue travels to the webview as its bytes, read without blocking this thread
      // (a big model is hundreds of megabytes).
      const from = request.resumeFrom;
      readCheckpointBytesAsync(from).then(
        (bytes) => {
          if (this.settled || this.fallingBack || this.cpu) return;
          if (this.stopRequested) this.endBeforeStart();
          else this.post(bytes);
        },
        (e: unknown) => this.settle({ kind: 'failed', reason: 'input', message: (e as Error).message }),
      );
    }
  }

  private post(resume: Uint8Array<ArrayBuffer> | null): void {
    if (!postGpuRun(this.channel, this.options.workerSource, this.request, resume, this.request.timing)) {
      this.fallBack('the Inspect States panel, where the GPU trains, is not open');
      return;
    }
    const startTimeoutMs = this.options.startTimeoutMs ?? 30000;
    this.startTimer = setTimeout(() => this.fallBack(`the GPU did not start within ${Math.round(startTimeoutMs / 1000)} s`), startTimeoutMs);
  }

  /** Stopped before the GPU was even asked to start: the saved model is the run's end. */
  private endBeforeStart(): void {
    let step = 0;
    try {
      step = this.request.resumeFrom ? readCheckpointSummary(this.request.resumeFrom).step : 0;
    } catch {
      // unreadable: step 0 is said
    }
    const message = { type: 'finished' as const, reason: 'stopped' as const, step, loss: null, tokensPerSecond: 0, path: this.request.checkpointPath };
    this.handlers.onMessage?.(message);
    this.settle({ kind: 'finished', message });
  }

  /** Resolves when every checkpoint received so far has been written or refused. */
  whenSaved(): Promise<void> {
    return this.saving;
  }

  send(message: WatchRequest): void {
    this.watch = message;
    if (this.cpu) this.cpu.send(message);
    else if (!this.settled && !this.fallingBack) this.channel.post({ type: 'gpu', message });
  }

  stop(): void {
    this.stopRequested = true;
    if (this.cpu) this.cpu.stop();
    else if (!this.settled && !this.fallingBack) {
      this.channel.post({ type: 'gpu', message: { type: 'stop' } });
      this.armStopTimer();
    }
  }

  /** The watchdog's limit now: see GpuJobOptions.silenceMs. */
  private silenceLimitMs(): number {
    const base = this.options.silenceMs ?? 30_000;
    return this.lastProgress === null ? 2 * base : Math.max(base, 10 * this.slowestStepMs);
  }

  /** (Re)arms the watchdog: called on every message from a started GPU. */
  private armWatchdog(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    const limit = this.silenceLimitMs();
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = null;
      if (this.stopRequested) this.endStopped(`the GPU did not answer Stop`);
      else this.fallBack(`the GPU stopped answering (nothing for ${Math.round(limit / 1000)} s)`);
    }, limit);
  }

  /** After Stop: a GPU that says nothing more within the grace period is ended, the run kept at its last checkpoint. */
  private armStopTimer(): void {
    if (this.stopTimer) clearTimeout(this.stopTimer);
    const grace = Math.max(this.options.stopGraceMs ?? 10_000, 5 * this.slowestStepMs);
    this.stopTimer = setTimeout(() => {
      this.stopTimer = null;
      this.endStopped(`the GPU did not answer Stop within ${Math.round(grace / 1000)} s`);
    }, grace);
  }

  private clearWatchdog(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.silenceTimer = this.stopTimer = null;
  }

  /** Ends a stopped run whose GPU no longer answers: the GPU worker is ended, the last checkpoint is the run's end. */
  private endStopped(why: string): void {
    if (this.settled || this.cpu || this.fallingBack) return;
    this.fallingBack = true; // nothing more is taken from the GPU
    this.clearStartTimer();
    this.clearWatchdog();
    this.subscription?.dispose();
    this.channel.post({ type: 'gpuTerminate' });
    this.handlers.onMalformed?.(`${why}: its worker was ended; the run ends at its last checkpoint`);
    void this.saving.then(() => {
      const step = this.savedStep ?? this.started?.step ?? 0;
      const message = { type: 'finished' as const, reason: 'stopped' as const, step, loss: null, tokensPerSecond: 0, path: this.request.checkpointPath };
      if (this.settled) return;
      this.handlers.onMessage?.(message);
      this.settle({ kind: 'finished', message });
    });
  }

  /** A checkpoint could not be written (`reason` says so): the run ends as failed (the GPU worker is ended), never "saved". */
  private failWrite(reason: string): void {
    if (this.settled) return;
    this.fallingBack = true;
    this.clearStartTimer();
    this.clearWatchdog();
    this.subscription?.dispose();
    this.channel.post({ type: 'gpuTerminate' });
    const kept = this.savedStep !== null ? `the checkpoint of step ${this.savedStep} is kept` : this.request.resumeFrom ? 'the saved model is kept as it was' : 'nothing was saved';
    this.settle({ kind: 'failed', reason: 'internal', message: `training stopped: ${reason}; ${kept}` });
  }

  private receive(m: GpuToHost): void {
    if (this.settled || this.cpu || this.fallingBack) return;
    // Any word from the GPU shows it alive: the watchdog (and, after Stop, the grace period) start again.
    this.armWatchdog();
    if (this.stopRequested && this.stopTimer) this.armStopTimer();
    switch (m.type) {
      case 'backend':
        this.clearStartTimer();
        this.handlers.onBackend?.({ backend: 'webgl', renderer: m.renderer, thread: m.thread });
        break;
      case 'started':
        this.started = m;
        if (this.request.resumeFrom) this.savedStep = m.step;
        this.handlers.onMessage?.(m);
        break;
      case 'progress': {
        const now = performance.now();
        if (this.lastProgress && m.step > this.lastProgress.step) {
          this.slowestStepMs = Math.max(this.slowestStepMs, (now - this.lastProgress.at) / (m.step - this.lastProgress.step));
        }
        this.lastProgress = { at: now, step: m.step };
        this.handlers.onMessage?.(m);
        break;
      }
      case 'panel':
        this.handlers.onMessage?.(m);
        break;
      case 'checkpoint':
        this.save(m.step, m.bytes);
        break;
      case 'finished': {
        const message = { ...m, path: this.request.checkpointPath };
        this.clearWatchdog();
        void this.saving.then(() => {
          if (this.settled) return; // a save failed meanwhile: the run failed
          this.handlers.onMessage?.(message);
          this.settle({ kind: 'finished', message });
        });
        break;
      }
      case 'failed':
        this.clearWatchdog();
        if (m.kind === 'unavailable' || m.kind === 'lost') this.fallBack(m.message);
        else {
          const failed: JobOutcome = { kind: 'failed', reason: m.kind, message: m.message, ...(m.divergence ? { divergence: m.divergence } : {}) };
          void this.saving.then(() => this.settle(failed));
        }
        break;
      case 'timed':
        this.handlers.onMalformed?.('a timing answer to a training run');
        break;
    }
  }

  /**
   * A checkpoint from the webview: decoded in full and matched against the run by a Node worker
   * (a big model's checkpoint takes seconds to check: not on the extension host's thread), which
   * writes it to this run's own path. Saves go one after another.
   */
  private save(step: number, bytes: Uint8Array): void {
    const s = this.started;
    if (!s) {
      this.handlers.onMalformed?.('a checkpoint from the GPU worker was refused: it came before the run started');
      return;
    }
    const notBefore = Math.max(this.sentStep, this.savedStep ?? 0);
    this.sentStep = Math.max(this.sentStep, step);
    const request: StoreRequest = {
      type: 'store', bytes: bytes as Uint8Array<ArrayBuffer>, checkpointPath: this.request.checkpointPath,
      expect: { vocabSize: s.vocabSize, shape: s.shape, step, notBefore },
    };
    // The chain never rejects. A checkpoint refused as not the run's (bad bytes, another model, an
    // earlier step) is dropped and the file keeps the last good one; one that could not be written
    // (the disk, the folder, the store worker) ends the run as failed.
    this.saving = this.saving.then(async () => {
      if (this.settled) return;
      try {
        const outcome = await this.options.store(request).outcome;
        if (outcome.kind === 'finished' && outcome.message.type === 'stored') {
          this.savedStep = step;
          if (!this.settled) this.handlers.onMessage?.({ type: 'saved', step, path: this.request.checkpointPath });
          return;
        }
        if (outcome.kind === 'failed' && outcome.reason === 'input') this.handlers.onMalformed?.(`a checkpoint from the GPU worker was refused: ${outcome.message}`);
        else if (outcome.kind === 'failed') this.failWrite(outcome.message);
        else this.failWrite(`the checkpoint could not be written (${outcome.kind === 'crashed' ? outcome.message : `the store worker answered ${outcome.message.type}`})`);
      } catch (e) {
        this.failWrite(`the checkpoint could not be written (${(e as Error).message})`);
      }
    });
  }

  /** Continues the run on the CPU from its last checkpoint (or from the start). */
  private fallBack(reason: string): void {
    if (this.settled || this.cpu || this.fallingBack) return;
    this.fallingBack = true;
    this.clearStartTimer();
    this.clearWatchdog();
    this.subscription?.dispose();
    this.channel.post({ type: 'gpuTerminate' });
    void this.saving.then(() => this.continueOnCpu(reason));
  }

  private continueOnCpu(reason: string): void {
    if (this.settled) return;
    const total = this.started?.totalSteps ?? null;
    const from = this.savedStep ?? this.started?.step ?? 0;
    if (this.stopRequested || (total !== null && this.savedStep !== null && this.savedStep >= total)) {
      // Nothing left to do: the run was being stopped, or its last save was its end.
      const message = { type: 'finished' as const, reason: this.stopRequested ? ('stopped' as const) : ('done' as const), step: from, loss: null, tokensPerSecond: 0, path: this.request.checkpointPath };
      this.handlers.onMessage?.(message);
      this.settle({ kind: 'finished', message });
      return;
    }
    const continuing = this.savedStep !== null;
    const request: TrainRequest = {
      ...this.request,
      resumeFrom: continuing ? this.request.checkpointPath : this.request.resumeFrom,
      // This run's own checkpoint continues its stream where it stood (the stream restarted once, at the start).
      restartStream: continuing ? false : this.request.restartStream,
      settings: { ...this.request.settings, steps: continuing && total !== null ? total - from : this.request.settings.steps },
    };
    this.handlers.onBackend?.({ backend: 'cpu', reason, fromStep: continuing ? from : (this.started?.step ?? 0) });
    this.cpu = this.options.startOnCpu(request, this.handlers);
    if (this.watch) this.cpu.send(this.watch);
    if (this.stopRequested) this.cpu.stop();
    void this.cpu.outcome.then((outcome) => this.settle(outcome));
  }

  private clearStartTimer(): void {
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
  }

  private settle(outcome: JobOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.clearStartTimer();
    this.clearWatchdog();
    this.subscription?.dispose();
    this.resolve(outcome);
  }
}
