// The units worker seen from the host: one long-lived worker thread that keeps a file's states, and
// questions to it as promises (answered in order). Every message from it is checked; a worker that
// dies fails every open question. No `vscode` import: unit-tested in plain Node.

import { Worker } from 'node:worker_threads';
import { checkUnitsWorkerToHost, type HostToUnitsWorker, type UnitsWorkerToHost } from '../protocol/units';

type Question = HostToUnitsWorker extends infer Q ? (Q extends { id: number } ? Omit<Q, 'id'> : never) : never;
/** The answer each question gets. */
export interface Answers {
  open: Extract<UnitsWorkerToHost, { type: 'opened' }>;
  query: Extract<UnitsWorkerToHost, { type: 'matches' }>;
  tracks: Extract<UnitsWorkerToHost, { type: 'leaders' }>;
  values: Extract<UnitsWorkerToHost, { type: 'values' }>;
  compare: Extract<UnitsWorkerToHost, { type: 'compared' }>;
}
const ANSWER_OF: Record<keyof Answers, UnitsWorkerToHost['type']> = { open: 'opened', query: 'matches', tracks: 'leaders', values: 'values', compare: 'compared' };

/** A question the worker refused (bad input: its message is for the user) or could not answer. */
export class UnitsError extends Error {}

export interface UnitsJobHandlers {
  onProgress?(done: number, total: number): void;
  onMalformed?(error: string): void;
}

export class UnitsJob {
  private readonly worker: Worker;
  private next = 0;
  private readonly pending = new Map<number, { expect: UnitsWorkerToHost['type']; resolve(m: UnitsWorkerToHost): void; reject(e: Error): void }>();
  private dead: string | null = null;

  constructor(workerScript: string, handlers: UnitsJobHandlers = {}, resourceLimits?: { maxOldGenerationSizeMb?: number }) {
    this.worker = new Worker(workerScript, { resourceLimits });
    this.worker.on('message', (raw: unknown) => {
      const checked = checkUnitsWorkerToHost(raw);
      if (!checked.ok) {
        handlers.onMalformed?.(checked.error);
        return;
      }
      const m = checked.message;
      if (m.type === 'progress') {
        handlers.onProgress?.(m.done, m.total);
        return;
      }
      const waiting = m.id === null ? undefined : this.pending.get(m.id);
      if (m.type === 'failed') {
        if (m.id === null) handlers.onMalformed?.(m.message);
        if (waiting && m.id !== null) {
          this.pending.delete(m.id);
          waiting.reject(new UnitsError(m.message));
        }
        return;
      }
      if (!waiting || waiting.expect !== m.type) {
        handlers.onMalformed?.(`an answer (${m.type}) to no question`);
        return;
      }
      this.pending.delete(m.id);
      waiting.resolve(m);
    });
    const die = (why: string): void => {
      this.dead ??= why;
      for (const p of this.pending.values()) p.reject(new Error(why));
      this.pending.clear();
    };
    this.worker.on('error', (e: Error) => die(/out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(`${e.message} ${(e as NodeJS.ErrnoException).code ?? ''}`) ? 'the units worker ran out of memory (use a shorter text)' : `the units worker failed: ${e.message}`));
    this.worker.on('exit', (code) => die(`the units worker stopped (exit code ${code})`));
  }

  /** Whether the worker still answers. */
  get alive(): boolean {
    return this.dead === null;
  }

  /** Questions asked and not yet answered. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  ask<K extends keyof Answers>(type: K, question: Omit<Extract<Question, { type: K }>, 'type'>): Promise<Answers[K]> {
    if (this.dead !== null) return Promise.reject(new Error(this.dead));
    const id = this.next++;
    return new Promise<Answers[K]>((resolve, reject) => {
      this.pending.set(id, { expect: ANSWER_OF[type], resolve: resolve as (m: UnitsWorkerToHost) => void, reject });
      this.worker.postMessage({ type, id, ...question });
    });
  }

  kill(): Promise<number> {
    return this.worker.terminate();
  }
}
