// One job (a training run or a generation) in its own Node worker thread. Every message from the
// worker is checked before it is passed on; a worker that dies without finishing is reported as
// such. No `vscode` import: unit-tested in plain Node.

import { Worker } from 'node:worker_threads';
import { checkWorkerToHost, type AnalyzeRequest, type DivergenceData, type FailureKind, type GenerateRequest, type HostToWorker, type InspectRequest, type StoreRequest, type TrainRequest, type WorkerToHost } from '../protocol/worker';

export type JobOutcome =
  | { kind: 'finished'; message: Extract<WorkerToHost, { type: 'finished' | 'generated' | 'inspected' | 'timed' | 'stored' | 'analyzed' }> }
  | { kind: 'failed'; reason: FailureKind; message: string; divergence?: DivergenceData }
  | { kind: 'crashed'; message: string };

export interface JobHandlers {
  onMessage?(message: WorkerToHost): void;
  /** A message that failed its check: dropped, and reported here for the log. */
  onMalformed?(error: string): void;
}

export class WorkerJob {
  readonly outcome: Promise<JobOutcome>;
  private readonly worker: Worker;
  private settled = false;
  private exited = false;

  constructor(workerScript: string, request: TrainRequest | GenerateRequest | InspectRequest | StoreRequest | AnalyzeRequest, handlers: JobHandlers = {}, resourceLimits?: { maxOldGenerationSizeMb?: number }) {
    this.worker = new Worker(workerScript, { resourceLimits });
    this.outcome = new Promise<JobOutcome>((resolve) => {
      const settle = (outcome: JobOutcome): void => {
        if (this.settled) return;
        this.settled = true;
        resolve(outcome);
        this.endSoon();
      };
      this.worker.on('message', (raw: unknown) => {
        const checked = checkWorkerToHost(raw);
        if (!checked.ok) {
          handlers.onMalformed?.(checked.error);
          return;
        }
        const message = checked.message;
        handlers.onMessage?.(message);
        if (message.type === 'finished' || message.type === 'generated' || message.type === 'inspected' || message.type === 'timed' || message.type === 'stored' || message.type === 'analyzed') settle({ kind: 'finished', message });
        else if (message.type === 'failed') settle({ kind: 'failed', reason: message.kind, message: message.message, ...(message.divergence ? { divergence: message.divergence } : {}) });
      });
      this.worker.on('error', (e: Error) => {
        const oom = /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(`${e.message} ${(e as NodeJS.ErrnoException).code ?? ''}`);
        settle({ kind: 'crashed', message: oom ? 'the worker ran out of memory (try a smaller model or batch)' : `the worker failed: ${e.message}` });
      });
      this.worker.on('exit', (code) => {
        this.exited = true;
        settle({ kind: 'crashed', message: `the worker stopped unexpectedly (exit code ${code})` });
      });
    });
    // A checkpoint's bytes are moved to the worker, not copied, when they are a buffer of their own.
    // (The request is checked by the worker, not here: the fuzz sends this anything, null included.)
    const bytes = typeof request === 'object' && request !== null && request.type === 'store' && request.bytes instanceof Uint8Array ? request.bytes : null;
    const own = bytes !== null && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
    this.worker.postMessage(request, own ? [bytes.buffer as ArrayBuffer] : []);
  }

  /** Sends a message to a running job (for example what the panel wants traced). */
  send(message: Extract<HostToWorker, { type: 'watch' | 'stop' }>): void {
    if (!this.settled) this.worker.postMessage(message);
  }

  /** Asks the job to stop; a training run saves its checkpoint first. */
  stop(): void {
    if (!this.settled) this.worker.postMessage({ type: 'stop' });
  }

  /**
   * After its last message a worker closes its port and exits by itself; it is terminated only if
   * it has not within a moment. (Terminating one that is already exiting leaves about a kilobyte
   * of this thread's heap behind for good, which the soak showed as a slow climb.)
   */
  private endSoon(): void {
    if (this.exited) return;
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    timer.unref();
    this.worker.once('exit', () => clearTimeout(timer));
  }

  /** Ends the worker at once (no checkpoint is written). */
  kill(): Promise<number> {
    return this.worker.terminate();
  }
}
