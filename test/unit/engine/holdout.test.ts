// A run's last update is judged before it is saved (a run whose very last step breaks the weights
// keeps the weights from before it), the held-out tail of a text is never read by a batch, and the
// loss a run's summary reports (evaluateLoss) is the mean cross-entropy computed another way.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint, type TrainingSettings } from '../../../src/engine/checkpoint';
import { InputError } from '../../../src/engine/config';
import { evaluateLoss, inspectText } from '../../../src/engine/inspect';
import { decodeSafetensors } from '../../../src/engine/safetensors';
import { DivergenceError, heldOutTokens, modelFromCheckpoint, Trainer, type ModelShape } from '../../../src/engine/trainer';

import { SETTINGS as SHARED_SETTINGS, STREAMS, TEXT, WINDOWS } from './trainer-support';

const SETTINGS: TrainingSettings = { ...SHARED_SETTINGS, schedule: 'constant' };

/**
 * Steps until a DivergenceError (or the run's end, whose last update is then judged as before a
 * final save), keeping the weights each step started from (index: the step count then).
 */
function untilDivergence(trainer: Trainer, max = 40): { error: DivergenceError | null; weightsAt: Float32Array[] } {
  const weightsAt: Float32Array[] = [];
  try {
    for (let k = 0; k < max && !trainer.done; k++) {
      weightsAt[trainer.step] = Float32Array.from(trainer.model.params);
      trainer.trainStep();
    }
    trainer.checkLastUpdate();
  } catch (e) {
    assert.ok(e instanceof DivergenceError, `expected a DivergenceError, got ${e}`);
    return { error: e, weightsAt };
  }
  return { error: null, weightsAt };
}

describe("a run's last update is judged before it is saved", () => {
  const breaking: Array<[string, TrainingSettings, ModelShape]> = [
    ['SGD at 1e39 (the next loss is not finite)', { ...SETTINGS, optimizer: 'sgd', learning_rate: 1e39, clip: null, init: 'constant' }, STREAMS],
    ['Adam at lr 10 (the next loss explodes)', { ...SETTINGS, learning_rate: 10, clip: null }, STREAMS],
    ['random windows, SGD at 1e38', { ...SETTINGS, optimizer: 'sgd', learning_rate: 1e38, clip: null }, WINDOWS],
  ];
  for (const [name, settings, shape] of breaking) {
    it(`${name}: a run that ends with the update that broke the weights keeps the weights from before it`, () => {
      // The reference: the same run, longer, sees the divergence at the forward of step s; the update of step s - 1 broke the weights.
      const long = untilDivergence(Trainer.create(TEXT, 'text', shape, settings));
      assert.ok(long.error, 'the longer run diverges');
      const s = long.error.step;
      assert.ok(s >= 2, `seen at step ${s}`);
      // Ending at step s - 1: no next step would look at that update; the check before the final save does.
      const trainer = Trainer.create(TEXT, 'text', shape, { ...settings, steps: s - 1 });
      const { error } = untilDivergence(trainer);
      assert.ok(error, 'the last update is found broken');
      assert.equal(error.keptStep, long.error.keptStep);
      assert.equal(error.reason, long.error.reason);
      assert.equal(trainer.step, error.keptStep);
      assert.ok(trainer.step < s - 1);
      assert.deepEqual(Array.from(trainer.model.params), Array.from(long.weightsAt[error.keptStep]), 'the weights of the kept step');
      assert.match(error.message, new RegExp(`^the last update \\(step ${s - 1}\\) .*; the weights of step ${error.keptStep} are kept$`));
      // What is saved reads back, and its next batch gives a finite loss.
      const ckpt = decodeCheckpoint(encodeCheckpoint(trainer.checkpoint()));
      assert.equal(ckpt.training.step, error.keptStep);
      const again = Trainer.resume(ckpt, TEXT, 'text', undefined, { steps: error.keptStep + 1, learning_rate: 1e-3 });
      assert.ok(Number.isFinite(again.trainStep().loss));
    });
  }

  it('a run stopped early: checkLastUpdate() finds the broken update and rolls back', () => {
    const settings: TrainingSettings = { ...SETTINGS, optimizer: 'sgd', learning_rate: 1e39, clip: null, init: 'constant' };
    const long = untilDivergence(Trainer.create(TEXT, 'text', STREAMS, settings));
    assert.ok(long.error);
    const trainer = Trainer.create(TEXT, 'text', STREAMS, settings);
    while (trainer.step < long.error.step - 1) trainer.trainStep();
    assert.throws(() => trainer.checkLastUpdate(), (e) => e instanceof DivergenceError && e.keptStep === long.error?.keptStep);
    assert.deepEqual(Array.from(trainer.model.params), Array.from(long.weightsAt[long.error.keptStep]));
  });

  for (const [name, shape] of [['streams with carried state', STREAMS], ['random windows', WINDOWS]] as const) {
    it(`${name}: a sound update is left as it is (checking takes no batch: the run goes on exactly as an unchecked one)`, () => {
      const plain = Trainer.create(TEXT, 'text', shape, { ...SETTINGS, steps: 12 });
      const checked = Trainer.create(TEXT, 'text', shape, { ...SETTINGS, steps: 12 });
      const a: number[] = [], b: number[] = [];
      while (plain.step < 11) a.push(plain.trainStep().loss);
      while (checked.step < 11) {
        b.push(checked.trainStep().loss);
        checked.checkLastUpdate();
        checked.checkLastUpdate();
      }
      assert.deepEqual(b, a);
      a.push(plain.trainStep().loss);
      b.push(checked.trainStep().loss);
      checked.checkLastUpdate(); // the last step, as before the final save
      assert.deepEqual(b, a);
      assert.deepEqual(Array.from(checked.model.params), Array.from(plain.model.params));
      assert.deepEqual(checked.checkpoint().training.batcher, plain.checkpoint().training.batcher);
      assert.deepEqual(checked.checkpoint().training.rng, plain.checkpoint().training.rng);
    });
  }
});

describe('holdout: the end of the text that no batch reads', () => {
  const text = TEXT;
  // The same characters in another order: the vocabulary is the same, the tail is not.
  const cut = text.length - Math.floor(text.length * 0.25);
  const other = text.slice(0, cut) + [...text.slice(cut)].reverse().join('');

  for (const [name, shape] of [['streams', STREAMS], ['windows', WINDOWS]] as const) {
    it(`${name}: a run with holdout 0.25 trains the same on two texts that differ only in their last quarter; without it, not`, () => {
      const losses = (t: string, holdout: number | undefined): number[] => {
        const trainer = Trainer.create(t, 'text', shape, { ...SETTINGS, steps: 25, ...(holdout === undefined ? {} : { holdout }) });
        const out: number[] = [];
        while (!trainer.done) out.push(trainer.trainStep().loss);
        return out;
      };
      const a = Trainer.create(text, 'text', shape, SETTINGS);
      const b = Trainer.create(other, 'text', shape, SETTINGS);
      assert.deepEqual(a.tokenizer.tokens, b.tokenizer.tokens, 'the same vocabulary');
      assert.deepEqual(losses(text, 0.25), losses(other, 0.25));
      assert.notDeepEqual(losses(text, undefined), losses(other, undefined));
    });
  }

  it('the held-out part is floor(n · holdout) tokens at the end; the evaluation reads exactly it', () => {
    const trainer = Trainer.create(text, 'text', STREAMS, { ...SETTINGS, holdout: 0.1 });
    const n = trainer.ids.length;
    assert.equal(trainer.heldOut, Math.floor(n * 0.1));
    assert.equal(trainer.trainingIds.length, n - trainer.heldOut);
    const evaluation = trainer.evaluationIds;
    assert.equal(evaluation.heldOut, true);
    assert.deepEqual(Array.from(evaluation.ids), Array.from(trainer.ids.slice(n - trainer.heldOut)));
    // Nothing held out: the last tenth, which it trained on.
    const plain = Trainer.create(text, 'text', STREAMS, SETTINGS);
    assert.equal(plain.heldOut, 0);
    assert.equal(plain.evaluationIds.heldOut, false);
    assert.equal(plain.evaluationIds.ids.length, Math.floor(n / 10));
  });

  it('too short to hold anything out (the article: 10 words, windows of 3): nothing is held out, and a note says so', () => {
    const words = 'long ago the mice had a general council to consider the';
    const trainer = Trainer.create(words, 'text', { ...WINDOWS, bidirectional: false }, { ...SETTINGS, tokens: 'word', sequence_length: 3, batch_size: 1, holdout: 0.1 });
    assert.equal(trainer.heldOut, 0);
    assert.equal(trainer.trainingIds.length, trainer.ids.length);
    assert.ok(trainer.notes.some((n) => /nothing is held out/.test(n)), trainer.notes.join('; '));
    assert.equal(heldOutTokens(11, 0.1, 'many_to_one', 3), 0);
    assert.equal(heldOutTokens(100, 0.1, 'many_to_one', 3), 10);
    assert.equal(heldOutTokens(70, 0.1, 'many_to_many', 64), 0, 'would leave 63 tokens, too few for a sequence of 64 and the token after it');
    assert.equal(heldOutTokens(100, 0.1, 'many_to_many', 64), 10);
  });

  it('is stored in the checkpoint when set, and absent (as in every older checkpoint) when not', () => {
    const set = Trainer.create(text, 'text', STREAMS, { ...SETTINGS, holdout: 0.2 });
    set.trainStep();
    const bytes = encodeCheckpoint(set.checkpoint());
    assert.equal(JSON.parse(decodeSafetensors(bytes).metadata.config).holdout, 0.2);
    const back = decodeCheckpoint(bytes);
    assert.equal(back.settings.holdout, 0.2);
    const resumed = Trainer.resume(back, text, 'text');
    assert.equal(resumed.heldOut, set.heldOut);
    const unset = Trainer.create(text, 'text', STREAMS, { ...SETTINGS, holdout: 0 });
    unset.trainStep();
    assert.equal('holdout' in JSON.parse(decodeSafetensors(encodeCheckpoint(unset.checkpoint())).metadata.config), false);
  });

  it('out of range is refused in one line', () => {
    for (const holdout of [-0.1, 0.6, NaN, Infinity]) {
      assert.throws(() => Trainer.create(text, 'text', STREAMS, { ...SETTINGS, holdout }), (e) => e instanceof InputError && /holdout/.test(e.message) && !e.message.includes('\n'), String(holdout));
    }
  });
});

describe('evaluateLoss', () => {
  const trainer = Trainer.create(TEXT, 'text', STREAMS, SETTINGS);
  while (trainer.step < 10) trainer.trainStep();
  const { model, tokenizer } = modelFromCheckpoint(trainer.checkpoint());

  it('many-to-many, under 1,024 tokens (one stream, read in pieces of 256): the loss of inspect reading it as one sequence', () => {
    const text = TEXT.slice(0, 700);
    const ids = tokenizer.encode(text).ids;
    const { loss, predictions } = evaluateLoss(model, ids, 8);
    assert.equal(predictions, ids.length - 1);
    const reference = inspectText(model, tokenizer, text, { topK: 0, gradients: false, window: { start: 0, end: 0 } }).loss;
    assert.ok(Math.abs(loss - reference) < 1e-5, `${loss} vs ${reference}`);
  });

  it('many-to-many, a long text: streams of at least 1,024 tokens, each as inspect reads it', () => {
    const text = TEXT.repeat(8); // 4,000+ tokens: several streams
    const ids = tokenizer.encode(text).ids;
    const { loss, predictions } = evaluateLoss(model, ids, 8);
    const S = Math.min(16, Math.floor((ids.length - 1) / 1024));
    assert.ok(S >= 2);
    const length = Math.floor((ids.length - 1) / S);
    assert.equal(predictions, S * length);
    let sum = 0;
    for (let b = 0; b < S; b++) {
      // Each stream: its tokens and the one after its last, read from a zero state.
      const piece = Array.from(ids.subarray(b * length, b * length + length + 1), (id) => tokenizer.tokenString(id)).join('');
      sum += inspectText(model, tokenizer, piece, { topK: 0, gradients: false, window: { start: 0, end: 0 } }).loss * length;
    }
    assert.ok(Math.abs(loss - sum / (S * length)) < 1e-5, `${loss} vs ${sum / (S * length)}`);
  });

  it('many-to-one: every window predicting the token after it, each computed alone', () => {
    const windows = Trainer.create(TEXT, 'text', WINDOWS, SETTINGS);
    while (windows.step < 5) windows.trainStep();
    const m = modelFromCheckpoint(windows.checkpoint()).model;
    const ids = windows.ids.subarray(0, 300);
    const T = 8;
    const { loss, predictions } = evaluateLoss(m, ids, T);
    assert.equal(predictions, ids.length - T);
    let sum = 0;
    for (let s = 0; s + T < ids.length; s++) sum += m.forward(ids.slice(s, s + T), 1, T, Int32Array.of(ids[s + T]));
    assert.ok(Math.abs(loss - sum / (ids.length - T)) < 1e-5, `${loss} vs ${sum / (ids.length - T)}`);
  });
});
