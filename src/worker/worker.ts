// The Node worker (worker_threads) that trains or generates, off the extension host's thread.
// One worker does one job: the host sends `train` or `generate` first, then possibly `stop`.
// Every message in is checked (the job shell, src/run/jobShell.ts); every message out follows
// src/protocol/worker.ts.

import { parentPort } from 'node:worker_threads';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { InputError, sameModel } from '../engine/config';
import { TextGenerator } from '../engine/sampling';
import { modelFromCheckpoint } from '../engine/trainer';
import { decodeCheckpoint } from '../engine/checkpoint';
import { checkTextSize, readCheckpointFile, writeCheckpointFile, writeFileAtomic } from '../node/files';
import { defaultThreads, startMatmulPool, stopMatmulPool, threadsInUse } from '../node/matmulPool';
import { kernelPath } from '../engine/kernels';
import { threadCount } from '../engine/trainingOptions';
import { enableRelaxedSimd } from '../node/wasmFeatures';
import { keepSnapshot, removeSnapshots } from '../node/snapshots';
import { snapshotRefusal } from '../engine/snapshots';
import { parameterCount } from '../engine/model';
import { attributionAt, baselineTable, snapshotOf, surpriseOf } from '../run/why';
import { checkHostToWorker, type AnalyzeRequest, type GenerateRequest, type HostToWorker, type InspectRequest, type StoreRequest, type TrainRequest, type WorkerToHost } from '../protocol/worker';
import { JobShell } from '../run/jobShell';
import { checkpointFacts, modelMessage } from '../run/panelData';
import { traceSequenceAndStep } from '../run/traceSpan';
import { runTraining, startedMessage, timeTraining, trainerFor } from '../run/trainingLoop';

if (!parentPort) throw new Error('this module runs as a worker thread');
const port = parentPort;
enableRelaxedSimd(); // on already in VS Code's Electron; Node 20 needs the flag (before the kernels compile)

type Job = Exclude<HostToWorker, { type: 'stop' | 'watch' }>;

function post(message: WorkerToHost, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

const shell = new JobShell<Job>({
  name: 'the worker',
  check: checkHostToWorker,
  run: (job) => (job.type === 'train' ? train(job) : job.type === 'generate' ? generate(job) : job.type === 'store' ? store(job) : job.type === 'analyze' ? analyze(job) : inspect(job)),
  fail: (failure) => post({ type: 'failed', ...failure }),
  afterRefusal: () => port.close(),
  afterJob: () => {
    // The helper thread is ended here, not left to the worker's exit: left, each run's helper kept
    // about 1.4 KB of the extension host's heap for good (found by the soak: +3 MB in 30 minutes).
    stopMatmulPool();
    port.close(); // one job per worker
  },
});

port.on('message', (raw: unknown) => shell.receive(raw));

async function train(request: TrainRequest): Promise<void> {
  startMatmulPool(threadCount(request.threads, defaultThreads())); // lstmLens.threads (0: every core, up to 8): helper threads take a share of the batch through each recurrence and part of each large multiply (same results; one thread where they cannot start)
  checkTextSize(request.text.length); // the command line's limit on a file, for an editor's text
  const trainer = trainerFor(request, request.resumeFrom ? readCheckpointFile(request.resumeFrom) : null);
  if (request.timing) {
    post({ type: 'timed', ...timeTraining(trainer, request.timing.steps, request.timing.budgetMs) });
    return;
  }
  post(startedMessage(trainer, `CPU, kernels ${kernelPath()}, ${threadsInUse()} thread${threadsInUse() === 1 ? '' : 's'}`));
  // The time line (src/node/snapshots.ts): a fresh run replaces the old one's; a model too large keeps none.
  if (!request.resumeFrom) removeSnapshots(request.checkpointPath);
  const snapshots = snapshotRefusal(parameterCount(trainer.model.config)) === null;
  const result = await runTraining(
    trainer,
    {
      post,
      save: () => {
        writeOrExplain(() => writeCheckpointFile(request.checkpointPath, trainer.checkpoint()));
        post({ type: 'saved', step: trainer.step, path: request.checkpointPath });
      },
      yieldNow: () => yieldToEventLoop(), // lets `stop` and `watch` in
      stopRequested: () => shell.stopRequested(),
      watched: () => shell.watched(),
      snapshot: snapshots ? (step) => void keepSnapshot(request.checkpointPath, step, () => snapshotOf(trainer.checkpoint())) : undefined,
    },
    request,
  );
  post({ type: 'finished', ...result, path: request.checkpointPath });
}

async function generate(request: GenerateRequest): Promise<void> {
  const ckpt = readCheckpointFile(request.checkpointPath);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const generator = new TextGenerator(model, tokenizer, { temperature: request.temperature, topK: request.topK }, request.seed, ckpt.settings.sequence_length, request.clamps ?? []);
  post({ type: 'primed', ...generator.prime(request.prime) });
  let pending = '';
  let lastPost = performance.now();
  let count = 0;
  for (; count < request.length && !shell.stopRequested(); count++) {
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

/** Surprise, attribution or the baseline of a text with the saved model (or one of its snapshots). */
async function analyze(request: AnalyzeRequest): Promise<void> {
  checkTextSize(request.text.length);
  const ckpt = readCheckpointFile(request.checkpointPath);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const q = request.question;
  if (q.kind === 'surprise') {
    const s = surpriseOf(model, tokenizer, request.text, q.ngramText);
    post({ type: 'analyzed', answer: { kind: 'surprise', ...s } });
  } else if (q.kind === 'attribution') {
    const { values: _values, ...a } = attributionAt(model, tokenizer, request.text, q.cursor);
    post({ type: 'analyzed', answer: { kind: 'attribution', ...a } });
  } else {
    post({ type: 'analyzed', answer: { kind: 'baseline', baseline: baselineTable(model, tokenizer, request.text, ckpt.settings.sequence_length) } });
  }
}

async function inspect(request: InspectRequest): Promise<void> {
  const ckpt = readCheckpointFile(request.checkpointPath);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  if (request.withModel) post({ type: 'panel', message: modelMessage(checkpointFacts(ckpt), request.file) });
  const s = request.sequence;
  const traced = traceSequenceAndStep(model, tokenizer, s, ckpt.training.step, ckpt.settings.sequence_length);
  if (traced) {
    post({ type: 'panel', message: traced.trace });
    if (traced.step) post({ type: 'panel', message: traced.step });
  } else post({ type: 'panel', message: { type: 'note', level: 'info', text: `The text ${s.source} has no tokens this model knows.` } });
  post({ type: 'inspected' });
}
