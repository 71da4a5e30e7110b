// The settings table (src/extension/settings.ts): defaults, the article's setup, every bad value
// refused by name, package.json's contributes.configuration generated from it, and the log's line.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { contributedConfiguration, readSettings, SETTINGS, SettingsError, settingsLine, trainingPlan, type SettingKey } from '../../../src/extension/settings';

const ROOT = join(__dirname, '..', '..', '..');

describe('settings', () => {
  it('the defaults are valid', () => {
    const values = readSettings(() => undefined);
    assert.equal(values.tokens, 'char');
    assert.equal(values.hiddenSize, SETTINGS.hiddenSize.default);
  });

  it("the article's setup is expressible: word-level, many-to-one, one-hot, sequence 3, batch 1, hidden 5", () => {
    const article: Partial<Record<SettingKey, unknown>> = { tokens: 'word', mode: 'many-to-one', embeddingSize: 0, sequenceLength: 3, batchSize: 1, hiddenSize: 5, optimizer: 'sgd', initialization: 'constant' };
    const { shape, settings } = trainingPlan(readSettings((k) => article[k]));
    assert.deepEqual(shape, { hidden_size: 5, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_one' });
    assert.equal(settings.tokens, 'word');
    assert.equal(settings.sequence_length, 3);
    assert.equal(settings.batch_size, 1);
    assert.equal(settings.init, 'constant');
    assert.equal(settings.init_value, 0.1);
  });

  const bad: Array<[SettingKey, unknown]> = [
    ['hiddenSize', 0], ['hiddenSize', 2.5], ['hiddenSize', 5000], ['layers', 9], ['embeddingSize', -1], ['sequenceLength', '64'],
    ['batchSize', null === null ? 0 : 1], ['steps', Number.NaN], ['learningRate', 0], ['learningRate', -0.1], ['tokens', 'bytes'],
    ['mode', 'one-to-many'], ['optimizer', 'rmsprop'], ['seed', -1], ['temperature', 9], ['topK', 1.5], ['bidirectional', 'yes'],
  ];
  for (const [key, value] of bad) {
    it(`refuses lstmLens.${key} = ${JSON.stringify(value)} with a message that names it`, () => {
      assert.throws(() => readSettings((k) => (k === key ? value : undefined)), (e) => e instanceof SettingsError && e.message.startsWith(`lstmLens.${key} `));
    });
  }

  it('refuses a bidirectional many-to-many model', () => {
    assert.throws(() => readSettings((k) => (k === 'bidirectional' ? true : undefined)), (e) => e instanceof SettingsError && /lstmLens\.bidirectional/.test(e.message));
  });

  it("package.json contributes exactly the settings table (run 'npm run sync:settings' after changing it)", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(manifest.contributes.configuration, contributedConfiguration());
    const props = Object.assign({}, ...manifest.contributes.configuration.map((section: { properties: object }) => section.properties));
    assert.equal(props['lstmLens.hiddenSize'].minimum, 1);
    assert.deepEqual(props['lstmLens.backend'].enum, ['auto', 'cpu', 'webgl']);
    assert.equal(props['lstmLens.diagnostics'].default, false);
  });

  it('the Settings editor groups every setting once, in titled sections of the extension (its table of contents: LSTM Lens › Model, Training, …)', () => {
    const sections = contributedConfiguration() as Array<{ id: string; title: string; properties: Record<string, unknown> }>;
    const keys = sections.flatMap((s) => Object.keys(s.properties));
    assert.deepEqual([...keys].sort(), Object.keys(SETTINGS).map((k) => `lstmLens.${k}`).sort());
    for (const s of sections) {
      assert.match(s.id, /^lstmLens(\.|$)/);
      assert.ok(s.title.length > 0);
    }
  });

  it('descriptions name the article series they refer to', () => {
    const texts = Object.values(SETTINGS).flatMap((spec) => ['descriptions' in spec ? [...spec.descriptions] : [], spec.description].flat());
    const mentions = texts.filter((t) => /article/i.test(t));
    assert.ok(mentions.length >= 5, `${mentions.length} descriptions mention the article`);
    for (const t of mentions) assert.match(t, /the article series 'RNN Series: LSTM internals' \(Deep-Breathe\)/i, t);
  });
});

describe('settings in the log', () => {
  it('one readable line of name=value', () => {
    const line = settingsLine(readSettings((k) => (k === 'hiddenSize' ? 5 : k === 'tokens' ? 'word' : undefined)));
    assert.equal(
      line,
      'tokens=word mode=many-to-many hiddenSize=5 layers=1 embeddingSize=0 bidirectional=false sequenceLength=64 batchSize=32 steps=600 learningRate=0.004 optimizer=adam gradientClip=5 initialization=pytorch seed=0 backend=auto threads=0',
    );
  });
});
