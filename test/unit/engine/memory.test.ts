// The memory a training run needs, counted before it is taken (src/engine/memory.ts): the count is
// checked against what the engine really allocates (a model's WebAssembly arena, buffer by buffer,
// after a forward and backward pass; a whole training step's ordinary arrays), and an absurd
// configuration is refused in one line that names what to lower, without allocating anything.

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TrainingSettings } from '../../../src/engine/checkpoint';
import { InputError, type ModelConfig } from '../../../src/engine/config';
import {
  CHECKPOINT_LIMIT_BYTES,
  checkpointTensorBytes,
  checkTrainingMemory,
  formatBytes,
  TRAINING_MEMORY_LIMIT_BYTES,
  trainingMemory,
  trainingMemoryBytes,
} from '../../../src/engine/memory';
import { LSTMModel, parameterCount } from '../../../src/engine/model';
import { Random } from '../../../src/engine/random';
import { Tokenizer } from '../../../src/engine/tokenizer';
import { Trainer, type ModelShape } from '../../../src/engine/trainer';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 2 ** 20;
const GiB = 2 ** 30;

const config = (c: Partial<ModelConfig>): ModelConfig => ({
  vocab_size: 65,
  embedding_size: null,
  hidden_size: 128,
  num_layers: 1,
  bidirectional: false,
  mode: 'many_to_many',
  ...c,
});

/** Configurations that between them allocate every kind of buffer the workspace has. */
const CASES: Array<{ name: string; config: ModelConfig; B: number; T: number }> = [
  { name: 'one-hot, many-to-many, W_ih transposed (B*T >= 64)', config: config({}), B: 8, T: 32 },
  { name: 'one-hot, under 64 rows (no transpose)', config: config({ vocab_size: 10, hidden_size: 5 }), B: 1, T: 3 },
  { name: 'embedding, 3 layers, odd sizes', config: config({ vocab_size: 97, embedding_size: 13, hidden_size: 37, num_layers: 3 }), B: 5, T: 11 },
  { name: 'bidirectional many-to-one with an embedding', config: config({ vocab_size: 301, embedding_size: 24, hidden_size: 64, num_layers: 2, bidirectional: true, mode: 'many_to_one' }), B: 16, T: 20 },
  { name: 'word-sized vocabulary, one-hot', config: config({ vocab_size: 5000, hidden_size: 96 }), B: 4, T: 16 },
];

function randomIds(n: number, V: number, rng: Random): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.next() * V));
}

describe('the memory of a training run, counted before it is taken', () => {
  for (const { name, config: c, B, T } of CASES) {
    it(`matches the model's arena buffer by buffer after a forward and backward pass: ${name}`, (t: TestContext) => {
      const m = trainingMemory(c, B, T);
      const model = new LSTMModel(c);
      const arena = model.arena;
      if (!arena) {
        t.skip('no shared WebAssembly memory here: the model keeps ordinary arrays');
        return;
      }
      // Parameters and gradients: one group each, P floats in whole 64-byte blocks.
      const P = parameterCount(c);
      assert.equal(m.parameters, Math.ceil((4 * P) / 64) * 64, 'parameters');
      assert.equal(m.gradients, m.parameters, 'gradients');
      assert.equal(arena.bytesInUse(), m.parameters + m.gradients, 'the model before it runs holds its parameters and gradients');

      const rng = new Random(7);
      const inputs = randomIds(B * T, c.vocab_size, rng);
      const targets = randomIds(c.mode === 'many_to_many' ? B * T : B, c.vocab_size, rng);
      model.forward(inputs, B, T, targets);
      model.backward();
      // The workspace of (B, T), every buffer of it, to the byte (tolerance 0).
      const workspace = m.activations + m.head + m.oneHot;
      assert.equal(arena.bytesInUse(), m.parameters + m.gradients + workspace, `arena bytes in use (estimate ${m.parameters + m.gradients + workspace})`);
      // The memory itself is that and the kernels' own areas (packing and scratch: arena.kernelBytes()),
      // grown in steps of at least an eighth and whole 64 KiB pages.
      const size = arena.memory.buffer.byteLength;
      const held = arena.bytesInUse() + arena.kernelBytes();
      assert.ok(arena.kernelBytes() <= 1 << 20, `the kernels' areas ${arena.kernelBytes()} bytes`);
      assert.ok(size >= held && size <= (held + 64) * 1.125 + 2 * 65536, `arena memory ${size} bytes for ${held} in use`);
      // A second pass at the same (B, T) reuses the workspace: nothing more.
      model.zeroGrad();
      model.forward(inputs, B, T, targets);
      model.backward();
      assert.equal(arena.bytesInUse(), m.parameters + m.gradients + workspace, 'a second step allocates nothing');
    });
  }

  it('matches what a real training step allocates, arena and ordinary arrays together (within 1% + 512 KiB: the runtime frees buffers of its own meanwhile)', async (t: TestContext) => {
    // A text of 64 distinct characters, long enough for full batches of contiguous streams.
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .';
    const rng = new Random(3);
    const text = Array.from({ length: 200_000 }, () => alphabet[Math.floor(rng.next() * alphabet.length)]).join('');
    const shape: ModelShape = { hidden_size: 256, num_layers: 2, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
    const settings: TrainingSettings = {
      tokens: 'char', max_vocab: 0, sequence_length: 64, batch_size: 32, steps: 10, optimizer: 'adam', learning_rate: 0.002,
      schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 1,
    };
    // After collections with turns of the event loop between them: a freed buffer's memory is
    // given back by a sweep that may finish after gc() returns.
    const arrayBuffers = async (): Promise<number> => {
      for (let k = 0; k < 3; k++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return process.memoryUsage().arrayBuffers;
    };
    // What the text costs whatever the model (its token ids, the tokenizer's tables), measured alone:
    // the estimate leaves it out.
    let before = await arrayBuffers();
    const tokenizer = Tokenizer.build(text, 'char', {});
    const { ids } = tokenizer.encode(text);
    const textBytes = (await arrayBuffers()) - before;
    assert.ok(textBytes >= ids.byteLength && tokenizer.size === alphabet.length);
    before = await arrayBuffers();
    const trainer = Trainer.create(text, 'text', shape, settings);
    trainer.trainStep();
    const arena = trainer.model.arena;
    if (!arena) {
      t.skip('no shared WebAssembly memory here: the model keeps ordinary arrays');
      return;
    }
    // Ordinary arrays: Adam's moments, the snapshot to roll back to, token ids and targets (the carried state where it is not in the arena).
    const ordinary = (await arrayBuffers()) - before - textBytes;
    const measured = arena.bytesInUse() + ordinary;
    // The total, and the snapshot of weights and moments that a diverged run goes back to (ordinary arrays, given apart).
    const estimate = trainingMemoryBytes(trainer.model.config, trainer.settings.batch_size, trainer.settings.sequence_length, 'adam') +
      trainingMemory(trainer.model.config, trainer.settings.batch_size, trainer.settings.sequence_length, 'adam').snapshot;
    const tolerance = 0.01 * estimate + 512 * 1024;
    console.log(`a training step (hidden 256, 2 layers, batch 32 × 64): estimated ${estimate} bytes, measured ${measured} (arena ${arena.bytesInUse()}, ordinary arrays ${ordinary})`);
    assert.ok(
      Math.abs(measured - estimate) <= tolerance,
      `estimated ${estimate} bytes, measured ${measured} (arena ${arena.bytesInUse()}, ordinary arrays ${ordinary}); tolerance ${Math.round(tolerance)}`,
    );
    // The arena holds what the estimate says it does, carried state included or not.
    const m = trainingMemory(trainer.model.config, trainer.settings.batch_size, trainer.settings.sequence_length);
    assert.ok(arena.bytesInUse() === m.arena || arena.bytesInUse() === m.arena - m.carry, `arena ${arena.bytesInUse()}, estimated ${m.arena} (carry ${m.carry})`);
  });

  it('counts Adam\'s two moments, and none for SGD', () => {
    const c = config({ hidden_size: 200, num_layers: 2 });
    const P = parameterCount(c);
    assert.equal(trainingMemoryBytes(c, 32, 64, 'adam') - trainingMemoryBytes(c, 32, 64, 'sgd'), 2 * 4 * P);
    // The snapshot a diverged run goes back to: the weights and both moments (outside the total, as outside the arena).
    assert.equal(trainingMemory(c, 32, 64, 'adam').snapshot, 3 * 4 * P);
    assert.equal(trainingMemory(c, 32, 64, 'sgd').snapshot, 4 * P, 'SGD: the weights alone');
    assert.equal(trainingMemory(c, 32, 64).saving, 2 * 4 * P * 3, 'writing a checkpoint copies weights and both moments, then encodes them');
  });

  it('grows with the batch and the sequence as the workspace does, and not the weights', () => {
    const c = config({ hidden_size: 64 });
    const small = trainingMemory(c, 8, 32);
    const big = trainingMemory(c, 16, 64);
    assert.equal(big.parameters, small.parameters);
    // Four times the rows; the few (B, H) buffers only twice.
    assert.ok(Math.abs(big.activations / small.activations - 4) < 0.02, `activations ${small.activations} → ${big.activations}`);
    assert.equal(big.head, 4 * small.head);
  });
});

describe('an absurd configuration is refused before anything is allocated', () => {
  const refusal = (c: ModelConfig, B: number, T: number, limit?: number): string => {
    let message = '';
    assert.throws(
      () => checkTrainingMemory(c, B, T, limit),
      (e: unknown) => {
        assert.ok(e instanceof InputError, `an InputError, got ${String(e)}`);
        message = e.message;
        return true;
      },
    );
    assert.ok(!message.includes('\n'), `one line: ${message}`);
    return message;
  };

  it('hidden 100,000: the weights, named with the setting and the option to lower', () => {
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    const message = refusal(config({ hidden_size: 100_000 }), 32, 64);
    const ms = performance.now() - started;
    assert.ok(ms < 50, `refused in ${ms.toFixed(1)} ms`);
    assert.ok(process.memoryUsage().arrayBuffers - before < MiB, 'nothing was allocated');
    assert.match(message, /^this model would need about \d[\d.]* (GiB|TiB) of memory to train: weights /);
    assert.match(message, /hidden 100000, vocabulary 65/);
    assert.match(message, /the limit is 4 GiB: lower the hidden size \(--hidden \/ lstmLens\.hiddenSize\)/);
    // Today's engine, asked for this model, fails with a generic allocation error instead.
    assert.throws(() => new LSTMModel(config({ hidden_size: 100_000 })), (e: unknown) => e instanceof RangeError && !(e instanceof InputError));
    console.log(`refused: ${message}`);
  });

  it('the trainer refuses it the same way, before it builds the model', () => {
    const settings: TrainingSettings = {
      tokens: 'char', max_vocab: 0, sequence_length: 64, batch_size: 32, steps: 10, optimizer: 'adam', learning_rate: 0.002,
      schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 1,
    };
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(200);
    gc();
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(
      () => Trainer.create(text, 'text', { hidden_size: 16_384, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, settings),
      (e: unknown) => e instanceof InputError && /^this model would need about .* the limit is 4 GiB: lower the hidden size \(--hidden \/ lstmLens\.hiddenSize\)$/.test(e.message),
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < 4 * MiB, 'nothing big was allocated');
  });

  it('a batch of 256 × 512 at hidden 1024, 4 layers (within the extension\'s settings): the activations, batch and sequence first', () => {
    const message = refusal(config({ vocab_size: 96, hidden_size: 1024, num_layers: 4 }), 256, 512);
    assert.match(message, /: activations [\d.]+ (GiB|TiB) \(batch 256 × 512 steps × hidden 1024 × 4 layers\)/);
    assert.match(message, /lower the batch size \(--batch \/ lstmLens\.batchSize\), the sequence length \(--seq \/ lstmLens\.sequenceLength\)/);
    console.log(`refused: ${message}`);
  });

  it('a vocabulary of 65,536 words predicted at 131,072 positions: the predictions, vocabulary first', () => {
    const message = refusal(config({ vocab_size: 65536, hidden_size: 64 }), 256, 512);
    assert.match(message, /: predictions [\d.]+ GiB \(131072 × vocabulary 65536\)/);
    assert.match(message, /lower the vocabulary \(--max-vocab, or character tokens\)/);
    console.log(`refused: ${message}`);
  });

  it('a model that fits in memory but whose checkpoint could not be read back (over 2 GiB): refused, naming the checkpoint', () => {
    // Hidden 6,700, one-hot characters: 2.9 GiB to train (under 4 GiB), but weights and Adam's moments take 2.0 GiB on disk.
    const c = config({ vocab_size: 96, hidden_size: 6700 });
    assert.ok(trainingMemoryBytes(c, 1, 1) < TRAINING_MEMORY_LIMIT_BYTES, 'fits in memory');
    assert.ok(checkpointTensorBytes(c) + 64 * MiB > CHECKPOINT_LIMIT_BYTES, 'too big a file');
    const message = refusal(c, 1, 1);
    assert.match(message, /^this model's checkpoint would be about [\d.]+ GiB \(hidden 6700, vocabulary 96, 1 layer\(s\); weights and Adam's moments\), more than the 2 GiB a checkpoint can be to be read back: lower the hidden size/);
    // With SGD (no moments) the same model's checkpoint is a third of that, and it is let through.
    assert.doesNotThrow(() => checkTrainingMemory(c, 1, 1, undefined, 'sgd'));
    console.log(`refused: ${message}`);
  });

  it('the limit is what one model\'s WebAssembly memory can hold, 4 GiB; a lower limit is honoured', () => {
    assert.equal(TRAINING_MEMORY_LIMIT_BYTES, 4 * GiB);
    const c = config({ hidden_size: 512, num_layers: 2 });
    const need = trainingMemoryBytes(c, 32, 64);
    assert.doesNotThrow(() => checkTrainingMemory(c, 32, 64, need));
    assert.match(refusal(c, 32, 64, need - 1), /the limit is [\d.]+ MiB/);
  });

  it('lets the configurations people train through', () => {
    const ok: Array<[string, ModelConfig, number, number]> = [
      ['the extension\'s defaults (char, hidden 128, batch 32 × 64)', config({ vocab_size: 96 }), 32, 64],
      ['the article (word, hidden 5, batch 1 × 3, many-to-one)', config({ vocab_size: 10, hidden_size: 5, mode: 'many_to_one' }), 1, 3],
      ['the benchmark\'s largest (hidden 512, 2 layers)', config({ vocab_size: 96, hidden_size: 512, num_layers: 2 }), 32, 64],
      ['hidden 1024, 4 layers, both directions, embedding 512, 10,000 words, batch 32 × 64', config({ vocab_size: 10000, embedding_size: 512, hidden_size: 1024, num_layers: 4, bidirectional: true, mode: 'many_to_one' }), 32, 64],
    ];
    for (const [name, c, B, T] of ok) {
      assert.doesNotThrow(() => checkTrainingMemory(c, B, T), name);
      console.log(`${name}: ${formatBytes(trainingMemoryBytes(c, B, T))}`);
    }
  });

  it('formats sizes in three figures at most', () => {
    assert.equal(formatBytes(4 * GiB), '4 GiB');
    assert.equal(formatBytes(37.24 * GiB), '37.2 GiB');
    assert.equal(formatBytes(612.4 * GiB), '612 GiB');
    assert.equal(formatBytes(1.5 * 2 ** 40), '1.5 TiB');
    assert.equal(formatBytes(512 * MiB), '512 MiB');
    assert.equal(formatBytes(100), '100 bytes');
  });
});
