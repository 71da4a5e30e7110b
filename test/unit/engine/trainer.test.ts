// Training runs: a resumed run continues exactly as an uninterrupted one; divergence keeps the last
// good weights; checkpoints are whole and checked; bad settings are refused with a clear message.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint, type TrainingSettings } from '../../../src/engine/checkpoint';
import { InputError } from '../../../src/engine/config';
import { encodeSafetensors, decodeSafetensors, CheckpointError } from '../../../src/engine/safetensors';
import { StreamBatcher } from '../../../src/engine/batching';
import { DivergenceError, modelFromCheckpoint, Trainer, type ModelShape } from '../../../src/engine/trainer';

import { SETTINGS, STREAMS, TEXT, WINDOWS } from './trainer-support';

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
      assert.deepEqual(resumed.history.toJSON(), straight.history.toJSON());
      assert.equal(straight.history.steps, 20);
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

/** Trains until a DivergenceError, keeping the weights each step started from (index: the step count then). */
function untilDivergence(trainer: Trainer, maxSteps = 400): { error: DivergenceError; weightsAt: Float32Array[]; losses: number[] } {
  const weightsAt: Float32Array[] = [];
  const losses: number[] = [];
  for (let k = 0; k < maxSteps; k++) {
    weightsAt[trainer.step] = Float32Array.from(trainer.model.params);
    try {
      losses.push(trainer.trainStep().loss);
    } catch (e) {
      assert.ok(e instanceof DivergenceError, `expected a DivergenceError, got ${e}`);
      return { error: e, weightsAt, losses };
    }
  }
  throw new Error(`no divergence in ${maxSteps} steps`);
}

describe('divergence', () => {
  const cases: Array<[string, TrainingSettings, ModelShape, RegExp]> = [
    // Finite weights so large that the next forward pass overflows: today's check saw it a step late.
    ['loss not finite (SGD at 1e39)', { ...SETTINGS, optimizer: 'sgd', learning_rate: 1e39, clip: null, schedule: 'constant', init: 'constant' }, STREAMS, /^loss is not finite$/],
    ['a loss that explodes (Adam at lr 10)', { ...SETTINGS, learning_rate: 10, clip: null, schedule: 'constant' }, STREAMS, /loss exploded/],
    ['random windows, SGD at 1e38', { ...SETTINGS, optimizer: 'sgd', learning_rate: 1e38, clip: null, schedule: 'constant' }, WINDOWS, /./],
  ];
  for (const [name, settings, shape, reason] of cases) {
    it(`${name}: the weights from before the update that broke them are kept, and compute a finite loss`, () => {
      const trainer = Trainer.create(TEXT, 'text', shape, settings);
      const { error, weightsAt, losses } = untilDivergence(trainer);
      assert.match(error.reason, reason);
      assert.equal(error.step, losses.length + 1, 'seen at the step being taken');
      assert.ok(error.keptStep < error.step, 'kept the weights from before the step that diverged');
      assert.equal(trainer.step, error.keptStep);
      assert.deepEqual(Array.from(trainer.model.params), Array.from(weightsAt[error.keptStep]), 'the weights of the kept step');
      assert.equal(error.startingLoss, losses[0]);
      assert.equal(error.suggestedLearningRate, settings.learning_rate / 10);
      assert.doesNotMatch(error.message, /lr|learning rate|--/, 'the message names no remedy');
      // What a diverged run saves reads back, and its next batch gives a finite loss (the one the run saw there).
      const ckpt = decodeCheckpoint(encodeCheckpoint(trainer.checkpoint()));
      assert.equal(ckpt.training.step, error.keptStep);
      assert.equal(ckpt.training.history.steps, error.keptStep);
      const again = Trainer.resume({ ...ckpt, settings: { ...ckpt.settings, steps: error.keptStep + 1 } }, TEXT, 'text');
      const next = again.trainStep().loss;
      assert.ok(Number.isFinite(next));
      assert.equal(next, losses[error.keptStep], 'the same batch, the same loss');
    });
  }

  it('a loss above 10 times the starting loss counts, one at or below does not', () => {
    const trainer = Trainer.create(TEXT, 'text', STREAMS, { ...SETTINGS, learning_rate: 10, clip: null, schedule: 'constant' });
    const { error, losses } = untilDivergence(trainer);
    assert.equal(error.reason, 'loss exploded');
    assert.ok(error.loss > 10 * losses[0]);
    assert.ok(losses.every((l) => l <= 10 * losses[0]));
  });

  it('on a backend other than the default (the generic path the GPU takes): rolled back the same way', async () => {
    const { CpuBackend } = await import('../../../src/engine/backend-cpu');
    const settings: TrainingSettings = { ...SETTINGS, optimizer: 'sgd', learning_rate: 1e39, clip: null, schedule: 'constant', init: 'constant' };
    const plain = untilDivergence(Trainer.create(TEXT, 'text', STREAMS, settings));
    const trainer = Trainer.create(TEXT, 'text', STREAMS, settings, new CpuBackend());
    const generic = untilDivergence(trainer);
    assert.equal(generic.error.keptStep, plain.error.keptStep);
    assert.equal(generic.error.reason, 'loss is not finite');
    assert.deepEqual(Array.from(trainer.model.params), Array.from(plain.weightsAt[plain.error.keptStep]));
    assert.ok(trainer.weightsAreFinite());
  });

  it('a diverged run continues with a lower learning rate given on resume', () => {
    const trainer = Trainer.create(TEXT, 'text', STREAMS, { ...SETTINGS, learning_rate: 10, clip: null, schedule: 'constant' });
    const { error } = untilDivergence(trainer);
    const ckpt = decodeCheckpoint(encodeCheckpoint(trainer.checkpoint()));
    const resumed = Trainer.resume(ckpt, TEXT, 'text', undefined, { learning_rate: error.suggestedLearningRate / 100, steps: error.keptStep + 15 });
    assert.equal(resumed.settings.learning_rate, error.suggestedLearningRate / 100);
    while (!resumed.done) resumed.trainStep();
    assert.equal(resumed.step, error.keptStep + 15);
    assert.equal(decodeCheckpoint(encodeCheckpoint(resumed.checkpoint())).settings.learning_rate, error.suggestedLearningRate / 100);
  });
});

describe('resume overrides', () => {
  const trainer = Trainer.create(TEXT, 'text', STREAMS, SETTINGS);
  run(trainer, 4);
  const ckpt = decodeCheckpoint(encodeCheckpoint(trainer.checkpoint()));
  it('steps and learning rate are checked by the reader\'s rules, in one line', () => {
    for (const overrides of [{ steps: 1e300 }, { steps: 0 }, { steps: 2.5 }, { learning_rate: -1 }, { learning_rate: Infinity }, { learning_rate: NaN }]) {
      assert.throws(() => Trainer.resume(ckpt, TEXT, 'text', undefined, overrides), (e) => e instanceof InputError && !e.message.includes('\n'), JSON.stringify(overrides));
    }
  });
  it('a new learning rate changes the next steps; the same one does not', () => {
    const same = Trainer.resume(ckpt, TEXT, 'text', undefined, { learning_rate: SETTINGS.learning_rate });
    const other = Trainer.resume(ckpt, TEXT, 'text', undefined, { learning_rate: SETTINGS.learning_rate / 2 });
    const plain = Trainer.resume(ckpt, TEXT, 'text');
    const a = run(same, 6), b = run(other, 6), c = run(plain, 6);
    assert.deepEqual(a, c);
    assert.equal(a[0], b[0], 'the first step after resuming reads the same weights');
    assert.notDeepEqual(a.slice(1), b.slice(1));
  });
});

describe('whatever is written reads back', () => {
  const SMALL: ModelShape = { hidden_size: 4, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
  const refused: Array<[string, ModelShape, Partial<TrainingSettings>, RegExp]> = [
    ['65 layers', { ...SMALL, num_layers: 65 }, {}, /num_layers/],
    ['an embedding of 100000', { ...SMALL, embedding_size: 100000 }, {}, /embedding_size/],
    ['a hidden size of 2^14 + 1', { ...SMALL, hidden_size: 2 ** 14 + 1 }, {}, /hidden_size/],
    ['a vocabulary cap over 2^20', SMALL, { max_vocab: 2 ** 20 + 1 }, /max_vocab/],
    ['1e300 steps', SMALL, { steps: 1e300 }, /steps/],
    ['a NaN learning rate', SMALL, { learning_rate: NaN }, /learning_rate/],
    ['a seed of 2^32', SMALL, { seed: 2 ** 32 }, /seed/],
    ['a bidirectional many-to-many model', { ...SMALL, bidirectional: true }, {}, /bidirectional/],
  ];
  for (const [name, shape, settings, message] of refused) {
    it(`Trainer.create refuses ${name} before training, in one line`, () => {
      assert.throws(() => Trainer.create(TEXT, 'text', shape, { ...SETTINGS, ...settings }), (e) => e instanceof InputError && message.test(e.message) && !e.message.includes('\n'));
    });
  }

  it('a word of 101 MiB (a header over the reader\'s limit) is refused at create, and encodeCheckpoint refuses such a header before producing a byte', () => {
    const word = 'a'.repeat(101 * 2 ** 20);
    assert.throws(
      () => Trainer.create(`the cat ${word} sat on the mat, the cat`, 'text', SMALL, { ...SETTINGS, tokens: 'word', sequence_length: 2, batch_size: 1 }),
      (e) => e instanceof InputError && /header/.test(e.message) && /vocabulary/.test(e.message) && !e.message.includes('\n'),
    );
    const trainer = Trainer.create('the cat sat on the mat, the cat sat', 'text', SMALL, { ...SETTINGS, tokens: 'word', sequence_length: 2, batch_size: 1 });
    const ckpt = trainer.checkpoint();
    assert.throws(() => encodeCheckpoint({ ...ckpt, training: { ...ckpt.training, source: { name: word, chars: 1, hash: 'h' } } }), (e) => e instanceof InputError && /read back/.test(e.message) && e.message.length < 400);
  });

  it('encodeCheckpoint refuses what the reader would refuse (a NaN weight, a malformed state) with one line', () => {
    const trainer = Trainer.create(TEXT, 'text', SMALL, SETTINGS);
    run(trainer, 2);
    const ckpt = trainer.checkpoint();
    const params = new Map(ckpt.params);
    params.set('head.bias', Float32Array.from(params.get('head.bias') as Float32Array, (x, k) => (k === 1 ? NaN : x)));
    assert.throws(() => encodeCheckpoint({ ...ckpt, params }), (e) => e instanceof InputError && /head\.bias holds a non-finite value/.test(e.message));
    assert.throws(() => encodeCheckpoint({ ...ckpt, settings: { ...ckpt.settings, steps: 1e300 } }), (e) => e instanceof InputError && /steps/.test(e.message));
  });

  it('property: settings and shapes drawn at and beyond the bounds are either refused by Trainer.create or give checkpoints that decode', () => {
    let seed = 12345;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rand() * xs.length)];
    let accepted = 0, refusedCount = 0;
    for (let n = 0; n < 150; n++) {
      // Every field from its valid values (the bounds among them), and in half the cases one field from its invalid ones.
      const valid: Record<string, readonly unknown[]> = {
        hidden_size: [1, 2, 3], num_layers: [1, 2, 64], embedding_size: [null, 1, 3, 2 ** 14], bidirectional: [false, true], mode: ['many_to_one', 'many_to_many'],
        tokens: ['char', 'word'], max_vocab: [0, 2, 5, 2 ** 20], sequence_length: [1, 2, 3], batch_size: [1, 2], steps: [1, 2, 2 ** 53 - 1],
        learning_rate: [1e-300, 1e-3, 1, 1e300], schedule: ['constant', 'cosine'], clip: [null, 1e-300, 5, 1e300], init: ['pytorch', 'constant'],
        init_value: [0, 0.1, -1e-3, 1e300], seed: [0, 1, 2 ** 32 - 1],
      };
      const invalid: Record<string, readonly unknown[]> = {
        hidden_size: [0, -1, 1.5, 2 ** 14 + 1], num_layers: [0, 65], embedding_size: [0, 2 ** 14 + 1], bidirectional: ['yes'], mode: ['many'],
        tokens: ['byte'], max_vocab: [1, -1, 2 ** 20 + 1], sequence_length: [0, 2.5], batch_size: [0], steps: [0, 2 ** 53, 1e300],
        learning_rate: [0, -1, Infinity, NaN], schedule: ['linear'], clip: [0, -1, NaN], init: ['zeros'], init_value: [NaN, Infinity], seed: [-1, 2 ** 32, 0.5],
      };
      const draw: Record<string, unknown> = {};
      for (const [key, values] of Object.entries(valid)) draw[key] = pick(values);
      if (rand() < 0.5) {
        const key = pick(Object.keys(invalid));
        draw[key] = pick(invalid[key]);
      }
      // Bidirectional many-to-many is the one combination the rules refuse; keep it rare.
      if (draw.bidirectional === true && draw.mode === 'many_to_many' && rand() < 0.8) draw.bidirectional = false;
      const { hidden_size, num_layers, embedding_size, bidirectional, mode, ...rest } = draw;
      const shape = { hidden_size, num_layers, embedding_size, bidirectional, mode } as ModelShape;
      const settings = { ...SETTINGS, ...rest } as TrainingSettings;
      let trainer: Trainer;
      try {
        trainer = Trainer.create(TEXT, 'text', shape, settings);
      } catch (e) {
        assert.ok(e instanceof InputError && !e.message.includes('\n'), `${JSON.stringify({ shape, settings })}: ${e}`);
        refusedCount++;
        continue;
      }
      accepted++;
      try {
        trainer.trainStep();
      } catch (e) {
        assert.ok(e instanceof DivergenceError, `${e}`);
      }
      let bytes: Uint8Array | null = null;
      try {
        bytes = encodeCheckpoint(trainer.checkpoint());
      } catch (e) {
        assert.fail(`${JSON.stringify({ shape, settings })}: a run that was accepted wrote no checkpoint: ${e}`);
      }
      const back = decodeCheckpoint(bytes);
      assert.deepEqual(back.settings, trainer.settings);
      assert.deepEqual(back.config, trainer.model.config);
    }
    assert.ok(accepted > 10 && refusedCount > 10, `${accepted} accepted, ${refusedCount} refused`);
  });
});

describe('the reader', () => {
  it('refuses a bidirectional many-to-many checkpoint (which no run could continue) at load, in one line', () => {
    const trainer = Trainer.create(TEXT, 'text', WINDOWS, SETTINGS);
    run(trainer, 1);
    const { tensors, metadata } = decodeSafetensors(encodeCheckpoint(trainer.checkpoint()));
    const config = { ...JSON.parse(metadata.config), mode: 'many_to_many' };
    const training = { ...JSON.parse(metadata.training), batcher: { kind: 'streams', position: 0, started: false } };
    const bytes = encodeSafetensors([...tensors], { ...metadata, config: JSON.stringify(config), training: JSON.stringify(training) });
    assert.throws(() => decodeCheckpoint(bytes), (e) => e instanceof CheckpointError && /bidirectional/.test(e.message) && !e.message.includes('\n'));
  });
});

describe('a shorter text', () => {
  const trainer = Trainer.create(TEXT, 'text', STREAMS, { ...SETTINGS, batch_size: 2 });
  run(trainer, 12);
  const ckpt = decodeCheckpoint(encodeCheckpoint(trainer.checkpoint()));
  const short = TEXT.slice(0, 120);
  it('says the text is shorter than the one trained on, with both numbers', () => {
    assert.throws(
      () => Trainer.resume(ckpt, short, 'text'),
      (e) => e instanceof InputError && /shorter than the one this model was trained on/.test(e.message) && /119 tokens now|120 tokens now/.test(e.message) && /stood at token 96/.test(e.message) && !/batcher state/.test(e.message),
    );
  });
  it('restartStream reads it from its start, the carried state zeroed, weights, moments, step and history kept', () => {
    const resumed = Trainer.resume({ ...ckpt, settings: { ...ckpt.settings, steps: 14 } }, short, 'text', undefined, { restartStream: true });
    assert.equal(resumed.step, 12);
    assert.deepEqual(Array.from(resumed.model.params), Array.from(trainer.model.params));
    // The first step reads the stream's start from a zero state: the reference runs the saved model on that batch.
    const { model, tokenizer } = modelFromCheckpoint(ckpt);
    const batch = new StreamBatcher(tokenizer.encode(short).ids, 2, SETTINGS.sequence_length).next();
    const fresh = model.forward(batch.inputs, batch.B, batch.T, batch.targets);
    const first = resumed.trainStep().loss;
    assert.equal(first, fresh);
    assert.equal(resumed.history.steps, 13);
    const saved = decodeCheckpoint(encodeCheckpoint(resumed.checkpoint()));
    assert.deepEqual(saved.training.batcher, { kind: 'streams', position: 8, started: true });
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
