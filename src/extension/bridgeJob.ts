// The bridge worker seen from the host: one request (export or import) in a worker thread of its
// own, and its checked answer as a promise. No `vscode` import: unit-tested in plain Node.

import { Worker } from 'node:worker_threads';
import { checkBridgeWorkerToHost, type BridgeWorkerToHost, type HostToBridgeWorker } from '../protocol/bridge';

export type BridgeAnswer = Exclude<BridgeWorkerToHost, { type: 'failed' }>;

/** A request the worker refused (`input`: for what it was given; the message is for the user) or could not do. */
export class BridgeError extends Error {
  constructor(message: string, readonly input: boolean) {
    super(message);
  }
}

/** Runs one request in the worker at `workerScript`; resolves with its answer, rejects with a BridgeError. */
export function runBridge(workerScript: string, request: HostToBridgeWorker): Promise<BridgeAnswer> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript);
    let settled = false;
    const settle = (outcome: BridgeAnswer | BridgeError): void => {
      if (settled) return;
      settled = true;
      if (outcome instanceof BridgeError) reject(outcome);
      else resolve(outcome);
    };
    worker.on('message', (raw: unknown) => {
      const checked = checkBridgeWorkerToHost(raw);
      if (!checked.ok) return settle(new BridgeError(`the bridge worker sent a malformed answer (${checked.error})`, false));
      const m = checked.message;
      settle(m.type === 'failed' ? new BridgeError(m.message, m.input) : m);
    });
    worker.on('error', (e: Error) => settle(new BridgeError(`the bridge worker failed: ${e.message}`, false)));
    worker.on('exit', (code) => settle(new BridgeError(`the bridge worker stopped before it answered (exit code ${code})`, false)));
    worker.postMessage(request);
  });
}
