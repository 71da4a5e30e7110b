// The training loop every runtime runs (src/run/trainingLoop.ts runTraining), in the real Node
// worker (dist/worker.js): the last update of a run, which no next step judges, is judged before
// the final save, and a divergence there is handled as any other (the weights from before it are
// saved and kept, and the failure carries the divergence as data). The reference is the engine's
// own Trainer taking the same run in this thread.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { decodeCheckpoint, encodeCheckpoint, type TrainingSettings } from '../../../src/engine/checkpoint';
import { existsSync } from 'node:fs';
import { DivergenceError, Trainer, type ModelShape } from '../../../src/engine/trainer';
import { checkWorkerToHost, type StoreRequest, type TrainRequest, type WorkerToHost } from '../../../src/protocol/worker';
import '../../support/kernelPaths'; // relaxed SIMD on, as in the worker: the references below run the same (FMA) kernels

const ROOT = join(__dirname, '..', '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');
const TEXT = readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-loop-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const SHAPE: ModelShape = { hidden_size: 8, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
/** One SGD step at a rate that breaks every weight (no clipping), from weights that are all 0.1. */
const BREAKING: TrainingSettings = {
  tokens: 'word', max_vocab: 0, sequence_length: 6, batch_size: 4, steps: 1, optimizer: 'sgd', learning_rate: 1e39,
  schedule: 'constant', clip: null, init: 'constant', init_value: 0.1, seed: 0,
};

/** Runs one training job in the worker; every message it sends, checked. */
function job(request: TrainRequest | StoreRequest): Promise<WorkerToHost[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER);
    const messages: WorkerToHost[] = [];
    worker.on('message', (raw: unknown) => {
      const checked = checkWorkerToHost(raw);
      if (!checked.ok) return reject(new Error(`malformed message: ${checked.error}`));
      messages.push(checked.message);
      if (checked.message.type === 'finished' || checked.message.type === 'failed' || checked.message.type === 'stored') void worker.terminate().then(() => resolve(messages));
    });
    worker.on('error', reject);
    worker.postMessage(request);
  });
}

describe('the training loop in the Node worker', { timeout: 120_000 }, () => {
  it('judges the last update before the final save: a run whose last update breaks the weights fails as diverged, keeping (and saving) the weights from before it', async () => {
    // The reference: the engine takes the same step, and the same judgement finds it broken.
    const reference = Trainer.create(TEXT, 'fable.txt', SHAPE, BREAKING);
    reference.trainStep();
    let expected: DivergenceError | null = null;
    try {
      reference.checkLastUpdate();
    } catch (e) {
      if (e instanceof DivergenceError) expected = e;
      else throw e;
    }
    assert.ok(expected, 'the engine finds the last update broken');

    const path = join(scratch, 'last.lstm.safetensors');
    const messages = await job({
      type: 'train', text: TEXT, sourceName: 'fable.txt', shape: SHAPE, settings: BREAKING, saveEverySteps: 50, saveEveryMs: 0,
      progressEveryMs: 0, timing: null, resumeFrom: null, checkpointPath: path,
    });
    const end = messages[messages.length - 1];
    assert.ok(end.type === 'failed' && end.kind === 'diverged', JSON.stringify(end));
    assert.deepEqual(end.divergence, { step: expected.step, keptStep: expected.keptStep, suggestedLearningRate: expected.suggestedLearningRate });
    assert.equal(end.divergence?.keptStep, 0);
    assert.equal(end.message, expected.message);
    assert.match(end.message, /^the last update \(step 1\) /);
    // Saved before the failure: the kept step, every weight still the constant it started at.
    const saves = messages.filter((m) => m.type === 'saved');
    assert.deepEqual(saves.map((m) => m.type === 'saved' && m.step), [0]);
    const ckpt = decodeCheckpoint(readFileSync(path));
    assert.equal(ckpt.training.step, 0);
    for (const [name, x] of ckpt.params) assert.ok(x.every((v) => v === Math.fround(0.1)), `${name} is still 0.1 everywhere`);
  });

  it('a sound last update is judged and saved as the run\'s end', async () => {
    const settings: TrainingSettings = { ...BREAKING, learning_rate: 0.1, steps: 3, init: 'pytorch' };
    const reference = Trainer.create(TEXT, 'fable.txt', SHAPE, settings);
    for (let k = 0; k < 3; k++) reference.trainStep();
    reference.checkLastUpdate();
    const path = join(scratch, 'sound.lstm.safetensors');
    const messages = await job({
      type: 'train', text: TEXT, sourceName: 'fable.txt', shape: SHAPE, settings, saveEverySteps: 50, saveEveryMs: 0,
      progressEveryMs: 0, timing: null, resumeFrom: null, checkpointPath: path,
    });
    const end = messages[messages.length - 1];
    assert.ok(end.type === 'finished' && end.reason === 'done' && end.step === 3 && end.loss === reference.loss, JSON.stringify(end));
    const ckpt = decodeCheckpoint(readFileSync(path));
    const want = reference.checkpoint();
    assert.equal(ckpt.training.step, 3);
    for (const [name, x] of want.params) assert.deepEqual(ckpt.params.get(name), x, name);
  });
});

describe('a checkpoint from the GPU worker, stored by the Node worker', { timeout: 120_000 }, () => {
  const settings: TrainingSettings = { ...BREAKING, learning_rate: 0.1, steps: 2, init: 'pytorch' };
  const trainer = Trainer.create(TEXT, 'fable.txt', SHAPE, settings);
  trainer.trainStep();
  trainer.trainStep();
  const V = trainer.model.config.vocab_size;
  const store = (name: string, expect: StoreRequest['expect']) => {
    const path = join(scratch, `${name}.lstm.safetensors`);
    return job({ type: 'store', bytes: encodeCheckpoint(trainer.checkpoint()), checkpointPath: path, expect }).then((messages) => ({ end: messages[messages.length - 1], written: existsSync(path) }));
  };

  it('is written when it is the run\'s model at the run\'s step', async () => {
    const { end, written } = await store('same', { vocabSize: V, shape: SHAPE, step: 2, notBefore: 1 });
    assert.deepEqual(end, { type: 'stored', step: 2, path: join(scratch, 'same.lstm.safetensors') });
    assert.ok(written);
  });

  // Every field of the model's identity, changed alone, makes it another model: refused, nothing written.
  const others: Array<[string, StoreRequest['expect']]> = [
    ['vocabulary', { vocabSize: V + 1, shape: SHAPE, step: 2, notBefore: 1 }],
    ['hidden size', { vocabSize: V, shape: { ...SHAPE, hidden_size: 9 }, step: 2, notBefore: 1 }],
    ['layers', { vocabSize: V, shape: { ...SHAPE, num_layers: 2 }, step: 2, notBefore: 1 }],
    ['embedding', { vocabSize: V, shape: { ...SHAPE, embedding_size: 4 }, step: 2, notBefore: 1 }],
    ['directions', { vocabSize: V, shape: { ...SHAPE, bidirectional: true }, step: 2, notBefore: 1 }],
    ['mode', { vocabSize: V, shape: { ...SHAPE, mode: 'many_to_one' }, step: 2, notBefore: 1 }],
  ];
  for (const [what, expect] of others) {
    it(`is refused when its ${what} is not the run's`, async () => {
      const { end, written } = await store(`other-${what.replace(/ /g, '-')}`, expect);
      assert.deepEqual(end, { type: 'failed', kind: 'input', message: 'its model is not the one being trained' });
      assert.equal(written, false);
    });
  }
});
