// The Node worker (worker_threads) that trains or generates, off the extension host's thread.
// One worker does one job: the host sends `train` or `generate` first, then possibly `stop`.
// Every message in is checked; every message out follows src/protocol/worker.ts.

import { parentPort } from 'node:worker_threads';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { InputError, sameModel } from '../engine/config';
import { TextGenerator } from '../engine/sampling';
import { modelFromCheckpoint } from '../engine/trainer';
import { decodeCheckpoint } from '../engine/checkpoint';
import { checkTextSize, readCheckpointFile, writeCheckpointFile, writeFileAtomic } from '../node/files';
import { startMatmulPool, stopMatmulPool } from '../node/matmulPool';
import { checkHostToWorker, type GenerateRequest, type InspectRequest, type Sequence, type StoreRequest, type TrainRequest, type WorkerToHost } from '../protocol/worker';
import { modelMessage } from '../run/panelData';
import { traceSequence } from '../run/traceSpan';
import { failureOf, runTraining, startedMessage, timeTraining, trainerFor } from '../run/trainingLoop';

if (!parentPort) throw new Error('this module runs as a worker thread');
const port = parentPort;

function post(message: WorkerToHost, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

let stopRequested = false;
let busy = false;
/** What the panel wants traced while training, and how often. */
let watched: { sequence: Sequence; everyMs: number } | null = null;

port.on('message', (raw: unknown) => {
  const checked = checkHostToWorker(raw);
  // While a job runs, a malformed message or a second job is dropped: a 'failed' answer would end
  // the job (the host ends a worker that failed) and a training run would lose the steps since
  // its last checkpoint. Before a job, it is answered and the worker ends.
  if (!checked.ok) {
    if (busy) return;
    post({ type: 'failed', kind: 'internal', message: `the worker received a malformed message (${checked.error})` });
    port.close();
    return;
  }
  const message = checked.message;
  if (message.type === 'stop') {
    stopRequested = true;
    return;
  }
  if (message.type === 'watch') {
    watched = message.sequence ? { sequence: message.sequence, everyMs: message.everyMs } : null;
    return;
  }
  if (busy) return;
  busy = true;
  const job =
    message.type === 'train' ? train(message) : message.type === 'generate' ? generate(message) : message.type === 'store' ? store(message) : inspect(message);
  job.catch((e: unknown) => {
    post({ type: 'failed', ...failureOf(e) });
  }).finally(() => {
    // The helper thread is ended here, not left to the worker's exit: left, each run's helper kept
    // about 1.4 KB of the extension host's heap for good (found by the soak: +3 MB in 30 minutes).
    stopMatmulPool();
    port.close();
  });
});

async function train(request: TrainRequest): Promise<void> {
  startMatmulPool(2); // a helper thread takes part of each large multiply (same results; one thread where it cannot start)
  checkTextSize(request.text.length); // the command line's limit on a file, for an editor's text
  const trainer = trainerFor(request, request.resumeFrom ? readCheckpointFile(request.resumeFrom) : null);
  if (request.timing) {
    post({ type: 'timed', ...timeTraining(trainer, request.timing.steps, request.timing.budgetMs) });
    return;
  }
  post(startedMessage(trainer));
  const result = await runTraining(
    trainer,
    {
      post,
      save: () => {
        writeOrExplain(() => writeCheckpointFile(request.checkpointPath, trainer.checkpoint()));
        post({ type: 'saved', step: trainer.step, path: request.checkpointPath });
      },
      yieldNow: () => yieldToEventLoop(), // lets `stop` and `watch` in
      stopRequested: () => stopRequested,
      watched: () => watched,
    },
    request,
  );
  post({ type: 'finished', ...result, path: request.checkpointPath });
}

async function generate(request: GenerateRequest): Promise<void> {
  const ckpt = readCheckpointFile(request.checkpointPath);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const generator = new TextGenerator(model, tokenizer, { temperature: request.temperature, topK: request.topK }, request.seed, ckpt.settings.sequence_length);
  post({ type: 'primed', ...generator.prime(request.prime) });
  let pending = '';
  let lastPost = performance.now();
  let count = 0;
  for (; count < request.length && !stopRequested; count++) {
    pending += generator.next().text;
    const now = performance.now();
    if (now - lastPost > 30) {
      post({ type: 'text', text: pending });
      pending = '';
      lastPost = now;
      await yieldToEventLoop();
    }
  }
  if (pending) post({ type: 'text', text: pending });
  post({ type: 'generated', tokens: count });
}

/** A checkpoint from the GPU worker: whole, and the run's, or refused (nothing written). */
async function store(request: StoreRequest): Promise<void> {
  const ckpt = decodeCheckpoint(request.bytes);
  const e = request.expect;
  if (!sameModel(ckpt.config, { vocab_size: e.vocabSize, ...e.shape })) throw new InputError('its model is not the one being trained');
  if (ckpt.training.step !== e.step || e.step < e.notBefore) throw new InputError(`its step (${ckpt.training.step}) is not the run's`);
  writeOrExplain(() => writeFileAtomic(request.checkpointPath, request.bytes));
  post({ type: 'stored', step: e.step, path: request.checkpointPath });
}

/** A checkpoint write that fails says so in one line (the errno, not the storage's path); it is never an InputError (which the host reads as a refused checkpoint). */
function writeOrExplain(write: () => void): void {
  try {
    write();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code ? `the checkpoint could not be written (${code})` : `the checkpoint could not be written: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function inspect(request: InspectRequest): Promise<void> {
  const ckpt = readCheckpointFile(request.checkpointPath);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  if (request.withModel) post({ type: 'panel', message: modelMessage(ckpt, request.file) });
  const s = request.sequence;
  const trace = traceSequence(model, tokenizer, s, ckpt.training.step, ckpt.settings.sequence_length);
  if (trace) post({ type: 'panel', message: trace });
  else post({ type: 'panel', message: { type: 'note', level: 'info', text: `The text ${s.source} has no tokens this model knows.` } });
  post({ type: 'inspected' });
}
