// The worker messages' schema of a run's settings and shape, generated from the table of training
// options, against the checkpoint's own check (validateSettings) on hand-picked values at and
// beyond every bound: the two accept the same values. And a run continued from a checkpoint that
// holds part of its text out (settings.holdout) is a valid message.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as v from 'valibot';
import { validateSettings } from '../../../src/engine/checkpoint';
import { ModelShapeSchema, TrainingSettingsSchema } from '../../../src/protocol/worker';

const GOOD = { tokens: 'char', max_vocab: 0, sequence_length: 8, batch_size: 4, steps: 10, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 1 };
const VALUES: Record<string, unknown[]> = {
  tokens: ['char', 'word', 'x', 1, null],
  max_vocab: [0, 1, 2, 2 ** 20, 2 ** 20 + 1, -1, 2.5],
  sequence_length: [1, 0, 2 ** 20, 2 ** 22 + 1, 1.5], // 2^20 × 4: the most tokens a step
  batch_size: [1, 0, 2 ** 22 + 1, 'a'],
  steps: [1, 0, 2 ** 53 - 1, 2 ** 53, 1.5],
  optimizer: ['adam', 'sgd', 'x'],
  learning_rate: [1e-9, 0, -1, Infinity, 100],
  schedule: ['constant', 'cosine', 'x'],
  clip: [null, 0, -1, NaN, 1e30],
  init: ['pytorch', 'constant', 'x'],
  init_value: [0, -5, 3.4e38, 1e39, -1e39, NaN],
  seed: [0, 2 ** 32 - 1, 2 ** 32, -1, 1.5],
  holdout: [undefined, 0, 0.25, 0.5, 0.6, -0.1, 'x'],
};

describe('the settings schema and the checkpoint check agree', () => {
  for (const [key, values] of Object.entries(VALUES)) {
    it(`${key}: ${values.map(String).join(', ')}`, () => {
      for (const value of values) {
        const settings = { ...GOOD, [key]: value };
        if (value === undefined) delete (settings as Record<string, unknown>)[key];
        let engine = true;
        try {
          validateSettings(settings);
        } catch {
          engine = false;
        }
        assert.equal(v.safeParse(TrainingSettingsSchema, settings).success, engine, `${key} = ${String(value)}: the engine ${engine ? 'accepts' : 'refuses'} it`);
      }
    });
  }

  it('a run that holds out part of its text is a valid message (holdout 0.1, as the command line saves it)', () => {
    assert.equal(v.safeParse(TrainingSettingsSchema, { ...GOOD, holdout: 0.1 }).success, true);
  });

  it('the shape: hidden and embedding 1 to 16384 (embedding null for one-hot), layers 1 to 64, the engine modes', () => {
    const shape = { hidden_size: 3, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
    const ok = (s: object): boolean => v.safeParse(ModelShapeSchema, { ...shape, ...s }).success;
    assert.equal(ok({}), true);
    assert.equal(ok({ hidden_size: 16384, embedding_size: 16384, num_layers: 64, mode: 'many_to_one', bidirectional: true }), true);
    for (const bad of [{ hidden_size: 0 }, { hidden_size: 16385 }, { embedding_size: 0 }, { num_layers: 65 }, { mode: 'many-to-one' }, { bidirectional: 1 }]) assert.equal(ok(bad), false, JSON.stringify(bad));
  });
});
