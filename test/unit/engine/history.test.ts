// The training history (src/engine/history.ts): bounded, its points the means of the steps they
// span (checked against a direct computation), saved whole in checkpoints under
// training.history, older checkpoints' per-step losses converted, and a run of a million steps
// resumed (no spread of a big array into a call) with a small header.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint, summarizeCheckpointHeader, type TrainingSettings } from '../../../src/engine/checkpoint';
import { compactColumns, HISTORY_MAX_POINTS, TrainingHistory } from '../../../src/engine/history';
import { decodeSafetensors, encodeSafetensors, readHeaderLength } from '../../../src/engine/safetensors';
import { Trainer, type ModelShape } from '../../../src/engine/trainer';

const TEXT = 'the mice held a council to consider what to do about the cat. '.repeat(20);
const SETTINGS: TrainingSettings = {
  tokens: 'char', max_vocab: 0, sequence_length: 8, batch_size: 2, steps: 30, optimizer: 'adam', learning_rate: 0.01,
  schedule: 'cosine', clip: 1, init: 'pytorch', init_value: 0.1, seed: 7,
};
const SHAPE: ModelShape = { hidden_size: 8, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };

/** The reference: the plain mean of each column over the steps a point spans. */
function meansOver(values: (step: number) => number, first: number, last: number): number {
  let s = 0;
  for (let k = first; k <= last; k++) s += values(k);
  return s / (last - first + 1);
}

describe('training history', () => {
  it('stays within its bound, each point the mean of the steps it spans, steps consecutive', () => {
    const loss = (k: number): number => 5 / Math.sqrt(k) + Math.sin(k);
    const norm = (k: number): number => 1 + (k % 7);
    const lr = (k: number): number => 0.01 * (1 + Math.cos(k / 1000));
    const h = new TrainingHistory();
    const N = 123_457;
    for (let k = 1; k <= N; k++) {
      h.append(k, loss(k), norm(k), lr(k));
      assert.ok(h.length <= HISTORY_MAX_POINTS);
    }
    const points = h.points();
    assert.ok(points.length > HISTORY_MAX_POINTS / 2 && points.length <= HISTORY_MAX_POINTS, `${points.length} points`);
    assert.equal(points[0].first, 1);
    assert.equal(points[points.length - 1].last, N);
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      if (i > 0) assert.equal(p.first, points[i - 1].last + 1);
      for (const [name, got, f] of [['loss', p.loss, loss], ['gradNorm', p.gradNorm as number, norm], ['lr', p.learningRate, lr]] as const) {
        const want = meansOver(f, p.first, p.last);
        assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `point ${i} ${name}: ${got} vs ${want}`);
      }
    }
    assert.equal(h.firstLoss, loss(1));
    const c = h.columns();
    assert.equal(c.step.length, points.length);
    assert.deepEqual(c.step, points.map((p) => p.last));
  });

  it('round-trips through JSON exactly, and goes on as the original would', () => {
    const a = new TrainingHistory();
    for (let k = 1; k <= 5000; k++) a.append(k, Math.log(k + 1), k / 3, 1e-3);
    const b = TrainingHistory.fromJSON(JSON.parse(JSON.stringify(a)), 5000);
    for (let k = 5001; k <= 9000; k++) {
      a.append(k, Math.log(k + 1), k / 3, 1e-3);
      b.append(k, Math.log(k + 1), k / 3, 1e-3);
    }
    assert.deepEqual(b.toJSON(), a.toJSON());
  });

  it('refuses a serialized history that appending could not have made', () => {
    const h = new TrainingHistory();
    for (let k = 1; k <= 2500; k++) h.append(k, 1, 1, 1);
    const good = h.toJSON();
    const bad: Array<[string, unknown]> = [
      ['width 3', { ...good, width: 3 }],
      ['a point too wide', { ...good, steps: good.steps.map((s, i) => (i === 3 ? s + 1 : s)) }],
      ['too many points', { ...good, steps: Array.from({ length: 1001 }, (_, k) => k + 1), loss: new Array(1001).fill(1), grad_norm: new Array(1001).fill(1), lr: new Array(1001).fill(1), width: 1 }],
      ['a NaN loss', { ...good, loss: good.loss.map(() => null) }],
      ['unequal columns', { ...good, lr: good.lr.slice(1) }],
    ];
    for (const [what, value] of bad) assert.throws(() => TrainingHistory.fromJSON(value, 2500), /training\.history/, what);
    assert.throws(() => TrainingHistory.fromJSON(good, 2499), /ends at step 2500/);
  });
});

describe('the history in checkpoints', () => {
  it('a resumed run ends with the history of an uninterrupted one', () => {
    const straight = Trainer.create(TEXT, 't', SHAPE, SETTINGS);
    while (!straight.done) straight.trainStep();
    const first = Trainer.create(TEXT, 't', SHAPE, SETTINGS);
    while (first.step < 13) first.trainStep();
    const resumed = Trainer.resume(decodeCheckpoint(encodeCheckpoint(first.checkpoint())), TEXT, 't');
    while (!resumed.done) resumed.trainStep();
    assert.deepEqual(resumed.history.toJSON(), straight.history.toJSON());
    assert.equal(straight.history.steps, 30);
    assert.equal(JSON.parse(decodeSafetensors(encodeCheckpoint(straight.checkpoint())).metadata.training).history.steps.length, 30);
  });

  it('an older checkpoint with the loss of every step loads, converted (gradient norms unknown, learning rates from the schedule)', () => {
    const trainer = Trainer.create(TEXT, 't', SHAPE, SETTINGS);
    const losses: number[] = [];
    const lrs: number[] = [];
    for (let k = 0; k < 10; k++) {
      const r = trainer.trainStep();
      losses.push(r.loss);
      lrs.push(r.lr);
    }
    const { tensors, metadata } = decodeSafetensors(encodeCheckpoint(trainer.checkpoint()));
    const { history: _h, ...older } = JSON.parse(metadata.training);
    const bytes = encodeSafetensors([...tensors], { ...metadata, training: JSON.stringify({ ...older, losses }) });
    const ckpt = decodeCheckpoint(bytes);
    const c = ckpt.training.history.columns();
    assert.deepEqual(c.step, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(c.loss, losses);
    assert.deepEqual(c.learningRate, lrs);
    assert.equal(c.gradNorm, null);
    const resumed = Trainer.resume({ ...ckpt, settings: { ...ckpt.settings, steps: 12 } }, TEXT, 't');
    while (!resumed.done) resumed.trainStep();
    assert.equal(resumed.history.steps, 12);
  });

  it('a run at step 1,000,000 resumes, from a history or from an older list of a million losses, and its header stays small', () => {
    const trainer = Trainer.create(TEXT, 't', SHAPE, SETTINGS);
    trainer.trainStep();
    const base = decodeSafetensors(encodeCheckpoint(trainer.checkpoint()));
    const training = JSON.parse(base.metadata.training);
    const STEP = 1_000_000;
    const history = new TrainingHistory();
    for (let k = 1; k <= STEP; k++) history.append(k, 4 - k / STEP, 1, 0.01);
    const settings = { ...JSON.parse(base.metadata.config), steps: STEP + 2 };
    const asHistory = encodeSafetensors([...base.tensors], {
      ...base.metadata,
      config: JSON.stringify(settings),
      training: JSON.stringify({ ...training, step: STEP, optimizer_step: STEP, history }),
    });
    const { history: _h, ...older } = training;
    const asLosses = encodeSafetensors([...base.tensors], {
      ...base.metadata,
      config: JSON.stringify(settings),
      training: JSON.stringify({ ...older, step: STEP, optimizer_step: STEP, losses: Array.from({ length: STEP }, (_, k) => 4 - k / STEP) }),
    });
    for (const bytes of [asHistory, asLosses]) {
      const resumed = Trainer.resume(decodeCheckpoint(bytes), TEXT, 't');
      while (!resumed.done) resumed.trainStep();
      assert.equal(resumed.step, STEP + 2);
      const out = encodeCheckpoint(resumed.checkpoint());
      const headerLength = readHeaderLength(out.subarray(0, 8));
      assert.ok(headerLength < 200_000, `header of ${headerLength} bytes`);
      const summary = summarizeCheckpointHeader(out.subarray(8, 8 + headerLength), out.length);
      assert.equal(summary.step, STEP + 2);
      assert.equal(summary.history.steps, STEP + 2);
      assert.ok(summary.history.length <= HISTORY_MAX_POINTS);
    }
  });
});

describe('compactColumns (the panel live history, by the same rule)', () => {
  it('merges pairs into the later step and means weighted by the steps each point covers; an odd last point stays', () => {
    // Points ending at steps 1, 2, 4, 8, 9: they cover 1, 1, 2, 4 and 1 steps.
    const h = { step: [1, 2, 4, 8, 9], loss: [4, 2, 3, 6, 7], gradNorm: [1, 3, 2, 5, 9], learningRate: [0.1, 0.1, 0.2, 0.5, 0.5] };
    compactColumns(h);
    assert.deepEqual(h.step, [2, 8, 9]);
    assert.deepEqual(h.loss, [(4 + 2) / 2, (3 * 2 + 6 * 4) / 6, 7]);
    assert.deepEqual(h.gradNorm, [(1 + 3) / 2, (2 * 2 + 5 * 4) / 6, 9]);
    assert.deepEqual(h.learningRate, [0.1, (0.2 * 2 + 0.5 * 4) / 6, 0.5]);
  });

  it('gives what the run history keeps when both saw the same steps', () => {
    const run = new TrainingHistory();
    const live = { step: [] as number[], loss: [] as number[], gradNorm: [] as number[], learningRate: [] as number[] };
    for (let s = 1; s <= HISTORY_MAX_POINTS; s++) {
      const loss = 5 / Math.sqrt(s), norm = 1 + (s % 7), lr = 0.01;
      run.append(s, loss, norm, lr);
      live.step.push(s); live.loss.push(loss); live.gradNorm.push(norm); live.learningRate.push(lr);
    }
    run.append(HISTORY_MAX_POINTS + 1, 1, 1, 0.01); // the run compacts once, then starts a new point
    compactColumns(live);
    const c = run.columns();
    assert.deepEqual(live.step, c.step.slice(0, -1));
    for (let k = 0; k < live.loss.length; k++) {
      assert.ok(Math.abs(live.loss[k] - c.loss[k]) < 1e-12, `loss at point ${k}`);
      assert.ok(Math.abs(live.gradNorm[k] - (c.gradNorm as number[])[k]) < 1e-12, `norm at point ${k}`);
    }
  });
});
