// The Node worker (worker_threads) that trains or generates, off the extension host's thread.
// One worker does one job: the host sends `train` or `generate` first, then possibly `stop`.
// Every message in is checked; every message out follows src/protocol/worker.ts.

import { parentPort } from 'node:worker_threads';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { InputError } from '../engine/config';
import { parameterCount } from '../engine/model';
import { TextGenerator } from '../engine/sampling';
import { DivergenceError, modelFromCheckpoint, Trainer } from '../engine/trainer';
import { checkTextSize, readCheckpointFile, writeCheckpointFile } from '../node/files';
import { startMatmulPool } from '../node/matmulPool';
import { checkHostToWorker, type GenerateRequest, type InspectRequest, type Sequence, type TrainRequest, type WorkerToHost } from '../protocol/worker';
import { modelMessage, traceMessage } from './panelData';

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
  const job = message.type === 'train' ? train(message) : message.type === 'generate' ? generate(message) : inspect(message);
  job.catch((e: unknown) => {
    const kind = e instanceof InputError ? 'input' : e instanceof DivergenceError ? 'diverged' : 'internal';
    post({ type: 'failed', kind, message: e instanceof Error ? e.message : String(e) });
  }).finally(() => {
    port.close();
  });
});

async function train(request: TrainRequest): Promise<void> {
  startMatmulPool(2); // a helper thread takes part of each large multiply (same results; one thread where it cannot start)
  checkTextSize(request.text.length); // the command line's limit on a file, for an editor's text
  let trainer: Trainer;
  if (request.resumeFrom) {
    const ckpt = readCheckpointFile(request.resumeFrom);
    trainer = Trainer.resume({ ...ckpt, settings: { ...ckpt.settings, steps: ckpt.training.step + request.settings.steps } }, request.text, request.sourceName);
  } else {
    trainer = Trainer.create(request.text, request.sourceName, request.shape, request.settings);
  }
  const config = trainer.model.config;
  const { vocab_size: _v, ...shape } = config;
  post({
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
  });

  const save = (): void => {
    writeCheckpointFile(request.checkpointPath, trainer.checkpoint());
    post({ type: 'saved', step: trainer.step, path: request.checkpointPath });
  };
  const started = performance.now();
  const firstStep = trainer.step;
  let lastPost = 0;
  let lastTrace = 0;
  let lastYield = started;
  const history = { step: [] as number[], loss: [] as number[], gradNorm: [] as number[], learningRate: [] as number[] };
  while (!trainer.done && !stopRequested) {
    let result;
    try {
      result = trainer.trainStep();
    } catch (e) {
      if (e instanceof DivergenceError) {
        // The weights are still the last good ones: keep them, and say what to try.
        save();
        throw new DivergenceError(`training diverged: ${e.message}. Try a lower learning rate (lstmLens.learningRate ${(trainer.settings.learning_rate / 10).toPrecision(2)}); the last good weights are kept.`);
      }
      throw e;
    }
    history.step.push(result.step);
    history.loss.push(result.loss);
    history.gradNorm.push(result.gradNorm);
    history.learningRate.push(result.lr);
    const now = performance.now();
    if (now - lastPost >= request.progressEveryMs || trainer.done) {
      lastPost = now;
      const seconds = (now - started) / 1000;
      post({
        type: 'progress',
        step: result.step,
        totalSteps: trainer.settings.steps,
        loss: result.loss,
        tokensPerSecond: ((trainer.step - firstStep) * trainer.tokensPerStep) / Math.max(seconds, 1e-9),
        learningRate: result.lr,
        gradNorm: result.gradNorm,
        history: { step: history.step.splice(0), loss: history.loss.splice(0), gradNorm: history.gradNorm.splice(0), learningRate: history.learningRate.splice(0) },
        clip: trainer.settings.clip,
      });
    }
    // The panel's trace: the current weights reading the watched text, at most every `everyMs`.
    if (watched && (now - lastTrace >= watched.everyMs || trainer.done)) {
      lastTrace = now;
      const trace = traceMessage(trainer.model, trainer.tokenizer, watched.sequence.text, watched.sequence.source, trainer.step, 5, watched.sequence.keep, trainer.settings.sequence_length);
      if (trace) post({ type: 'panel', message: trace }, trace.entries.flatMap((e) => (e.gradients ? [e.states.buffer, e.gradients.buffer] : [e.states.buffer])));
    }
    if (trainer.step % request.saveEverySteps === 0 && !trainer.done) save();
    if (now - lastYield > 20) {
      await yieldToEventLoop(); // lets `stop` in
      lastYield = performance.now();
    }
  }
  save();
  const seconds = (performance.now() - started) / 1000;
  post({
    type: 'finished',
    reason: trainer.done ? 'done' : 'stopped',
    step: trainer.step,
    loss: trainer.loss,
    tokensPerSecond: ((trainer.step - firstStep) * trainer.tokensPerStep) / Math.max(seconds, 1e-9),
    path: request.checkpointPath,
  });
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

async function inspect(request: InspectRequest): Promise<void> {
  const ckpt = readCheckpointFile(request.checkpointPath);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  if (request.withModel) post({ type: 'panel', message: modelMessage(ckpt, request.file) });
  const s = request.sequence;
  const trace = traceMessage(model, tokenizer, s.text, s.source, ckpt.training.step, 5, s.keep, ckpt.settings.sequence_length);
  if (trace) post({ type: 'panel', message: trace });
  else post({ type: 'panel', message: { type: 'note', level: 'info', text: `The text ${s.source} has no tokens this model knows.` } });
  post({ type: 'inspected' });
}
