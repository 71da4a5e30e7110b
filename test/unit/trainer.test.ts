// Training runs: a resumed run continues exactly as an uninterrupted one; divergence keeps the last
// good weights; checkpoints are whole and checked; bad settings are refused with a clear message.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint, type TrainingSettings } from '../../src/engine/checkpoint';
import { InputError } from '../../src/engine/config';
import { encodeSafetensors, decodeSafetensors, CheckpointError } from '../../src/engine/safetensors';
import { DivergenceError, Trainer, type ModelShape } from '../../src/engine/trainer';

const TEXT = `First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

First Citizen:
You are all resolved rather to die than to famish?
`.repeat(4);

const SETTINGS: TrainingSettings = {
  tokens: 'char',
  max_vocab: 0,
  sequence_length: 8,
  batch_size: 4,
  steps: 20,
  optimizer: 'adam',
  learning_rate: 0.01,
  schedule: 'cosine',
  clip: 1,
  init: 'pytorch',
  init_value: 0.1,
  seed: 42,
};
const STREAMS: ModelShape = { hidden_size: 12, num_layers: 2, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
const WINDOWS: ModelShape = { hidden_size: 10, num_layers: 1, embedding_size: 6, bidirectional: true, mode: 'many_to_one' };

function run(trainer: Trainer, until: number): number[] {
  const losses: number[] = [];
  while (trainer.step < until) losses.push(trainer.trainStep().loss);
  return losses;
}

describe('resuming from a checkpoint', () => {
  for (const [name, shape] of [['contiguous streams with carried state', STREAMS], ['random windows, bidirectional, embedding', WINDOWS]] as const) {
    it(`${name}: continues with exactly the losses and weights of an uninterrupted run`, () => {
      const straight = Trainer.create(TEXT, 'text', shape, SETTINGS);
      const all = run(straight, 20);

      const first = Trainer.create(TEXT, 'text', shape, SETTINGS);
      const head = run(first, 9);
      const bytes = encodeCheckpoint(first.checkpoint());
      const resumed = Trainer.resume(decodeCheckpoint(bytes), TEXT, 'text');
      assert.equal(resumed.step, 9);
      const tail = run(resumed, 20);

      assert.deepEqual([...head, ...tail], all);
      assert.deepEqual(Array.from(resumed.model.params), Array.from(straight.model.params));
      assert.deepEqual(resumed.lossHistory, straight.lossHistory);
    });
  }

  it('the same seed gives the same run, another seed another', () => {
    const a = run(Trainer.create(TEXT, 'text', STREAMS, SETTINGS), 3);
    const b = run(Trainer.create(TEXT, 'text', STREAMS, SETTINGS), 3);
    const c = run(Trainer.create(TEXT, 'text', STREAMS, { ...SETTINGS, seed: 43 }), 3);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});

describe('divergence', () => {
  it('stops before the update that would spoil the weights', () => {
    const trainer = Trainer.create(TEXT, 'text', STREAMS, { ...SETTINGS, optimizer: 'sgd', learning_rate: 1e38, clip: null, schedule: 'constant' });
    let before = Float32Array.from(trainer.model.params);
    let error: unknown;
    for (let k = 0; k < 20 && !error; k++) {
      before = Float32Array.from(trainer.model.params);
      try {
        trainer.trainStep();
      } catch (e) {
        error = e;
      }
    }
    assert.ok(error instanceof DivergenceError, `expected a DivergenceError, got ${error}`);
    assert.deepEqual(Array.from(trainer.model.params), Array.from(before));
    assert.ok(Array.from(trainer.model.params).every(Number.isFinite));
    // The last good weights still make a valid checkpoint.
    assert.doesNotThrow(() => decodeCheckpoint(encodeCheckpoint(trainer.checkpoint())));
  });
});

describe('refusals', () => {
  it('a bidirectional many-to-many model, which would see its own targets', () => {
    assert.throws(() => Trainer.create(TEXT, 'text', { ...STREAMS, bidirectional: true }, SETTINGS), (e) => e instanceof InputError && /bidirectional/.test(e.message));
  });
  it('a text too short for one sequence, naming the numbers', () => {
    assert.throws(
      () => Trainer.create('mice', 'one word', { ...WINDOWS, bidirectional: false }, { ...SETTINGS, tokens: 'word', sequence_length: 3 }),
      (e) => e instanceof InputError && /1 tokens/.test(e.message) && /needs 4/.test(e.message),
    );
  });
  it('lowers the batch for a small text and says so', () => {
    const trainer = Trainer.create(TEXT.slice(0, 200), 'text', STREAMS, { ...SETTINGS, batch_size: 64 });
    assert.ok(trainer.settings.batch_size < 64 && trainer.settings.batch_size >= 1);
    assert.ok(trainer.notes.some((n) => n.includes('batch size lowered from 64')));
  });
});

describe('checkpoints', () => {
  const trainer = Trainer.create(TEXT, 'text', STREAMS, SETTINGS);
  run(trainer, 2);
  const good = encodeCheckpoint(trainer.checkpoint());
  const { tensors, metadata } = decodeSafetensors(good);

  function rewrite(change: (t: Map<string, { shape: number[]; data: Float32Array }>, m: Record<string, string>) => void): Uint8Array {
    const t = new Map([...tensors].map(([k, v]) => [k, { shape: [...v.shape], data: v.data.slice() }]));
    const m = { ...metadata };
    change(t, m);
    return encodeSafetensors([...t], m);
  }

  it('hold every parameter under its PyTorch name, the moments, and the metadata of the contract', () => {
    assert.ok(tensors.has('lstm.weight_ih_l1') && tensors.has('head.bias') && tensors.has('optimizer.m.lstm.weight_hh_l0') && tensors.has('optimizer.v.head.weight'));
    assert.deepEqual(tensors.get('lstm.weight_ih_l0')?.shape, [48, trainer.tokenizer.size]);
    assert.equal(metadata.format, 'lstm-lens/1');
    const config = JSON.parse(metadata.config);
    assert.equal(config.vocab_size, trainer.tokenizer.size);
    assert.equal(config.mode, 'many_to_many');
    const vocab = JSON.parse(metadata.vocab);
    assert.equal(vocab.kind, 'char');
    assert.deepEqual(vocab.tokens, trainer.tokenizer.tokens);
    const training = JSON.parse(metadata.training);
    assert.equal(training.step, 2);
    assert.equal(training.seed, 42);
    assert.equal(typeof training.loss, 'number');
  });

  const corruptions: Array<[string, Uint8Array, RegExp]> = [
    ['a NaN weight', rewrite((t) => { t.get('head.bias')!.data[3] = NaN; }), /non-finite/],
    ['a tensor of the wrong shape', rewrite((t) => { t.set('head.bias', { shape: [2], data: new Float32Array(2) }); }), /head\.bias has shape \[2\]/],
    ['a missing tensor', rewrite((t) => { t.delete('lstm.bias_hh_l1'); }), /lstm\.bias_hh_l1 is missing/],
    ['a stray tensor', rewrite((t) => { t.set('extra', { shape: [1], data: new Float32Array(1) }); }), /unexpected tensor extra/],
    ['another format', rewrite((_, m) => { m.format = 'something/2'; }), /unsupported checkpoint format/],
    ['no format', rewrite((_, m) => { delete m.format; }), /not an lstm-lens checkpoint/],
    ['a vocabulary of the wrong size', rewrite((_, m) => { m.vocab = JSON.stringify({ kind: 'char', tokens: ['a', 'b'] }); }), /vocabulary has 2 tokens/],
    ['config that is not JSON', rewrite((_, m) => { m.config = '{oops'; }), /"config" is not valid JSON/],
    ['a truncated file', good.subarray(0, good.length >> 1), /./],
  ];
  for (const [name, bytes, message] of corruptions) {
    it(`refuse ${name} with a clear message`, () => {
      assert.throws(() => decodeCheckpoint(bytes), (e) => e instanceof CheckpointError && message.test(e.message) && !e.message.includes('\n'));
    });
  }
});
