// Whole training steps against PyTorch (test/pytorch/make_training_fixtures.py): forward, loss,
// backward, clip_grad_norm_, SGD or Adam, CosineAnnealingLR, step after step, down to the final
// weights and Adam's moments. float64 must agree to 1e-9 (the same arithmetic); float32 to the
// tolerance a few steps of float32 rounding allow.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validateConfig, type DType, type FloatArray } from '../../../src/engine/config';
import { LSTMModel, tensorShape } from '../../../src/engine/model';
import { learningRate, Optimizer, type OptimizerSettings, type ScheduleSettings } from '../../../src/engine/optimizer';
import { compareNested, type Tolerance } from '../../support/compare';
import { flat, trainingFixtures } from '../../support/fixtures';
import { kernelPaths } from '../../support/kernelPaths';

function replay(data: Record<string, any>, dtype: DType) {
  const config = validateConfig(data.config);
  const model = new LSTMModel(config, dtype);
  for (const spec of model.specs) model.parameter(spec.name).set(flat(data.weights[spec.name]));
  const o = data.optimizer;
  const settings: OptimizerSettings = o.kind === 'adam' ? { kind: 'adam', lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps } : { kind: 'sgd', lr: o.lr };
  const schedule: ScheduleSettings = data.schedule.kind === 'cosine' ? { kind: 'cosine', total_steps: data.schedule.total_steps, min_lr_ratio: data.schedule.min_lr_ratio } : { kind: 'constant' };
  // The optimizer the trainer uses, on the model's own backend (float64 here for the 1e-9 comparison).
  const optimizer = new Optimizer(settings, model.backend, model.specs.map(tensorShape));
  const losses: number[] = [], norms: number[] = [], lrs: number[] = [];
  data.batches.forEach((batch: { tokens: number[][]; targets: number[] | number[][] }, step: number) => {
    const B = batch.tokens.length, T = batch.tokens[0].length;
    model.zeroGrad();
    losses.push(model.forward(Int32Array.from(flat(batch.tokens)), B, T, Int32Array.from(flat(batch.targets))));
    model.backward();
    norms.push(optimizer.clip(model.grads, data.clip).norm);
    const lr = learningRate(o.lr, schedule, step);
    lrs.push(lr);
    assert.ok(optimizer.update(model.params, model.grads, lr), `the update of step ${step + 1} is written`);
  });
  const byName = (buffer: FloatArray) => Object.fromEntries(model.specs.map((s) => [s.name, Array.from(buffer.subarray(s.offset, s.offset + s.size))]));
  const flatten = (nested: Record<string, unknown>) => Object.fromEntries(Object.entries(nested).map(([k, v]) => [k, flat(v)]));
  const expected = data.expected;
  return {
    actual: {
      losses,
      grad_norms: norms,
      lrs,
      final_weights: byName(model.params),
      ...(optimizer.m && optimizer.v ? { m: byName(optimizer.m), v: byName(optimizer.v), step: optimizer.step } : {}),
    },
    expected: {
      losses: expected.losses,
      grad_norms: expected.grad_norms,
      lrs: expected.lrs,
      final_weights: flatten(expected.final_weights),
      ...(o.kind === 'adam' ? { m: flatten(expected.final_optimizer.m), v: flatten(expected.final_optimizer.v), step: expected.final_optimizer.step } : {}),
    },
  };
}

// float32: weights move by lr-sized steps computed from float32 gradients; after a few Adam steps
// the relative error of a weight stays near float32's 1e-7 times the steps' condition, well under 1e-4.
// Adam's v is a square of gradients and ~1e-8 in places, hence its absolute floor.
const FLOAT32: Tolerance = { rtol: 1e-4, atol: 1e-6 };
const FLOAT64: Tolerance = { rtol: 1e-9, atol: 1e-13 };

describe('training steps against PyTorch', () => {
  const fixtures = trainingFixtures();
  it('include clipping that triggers, SGD, Adam and the cosine schedule', () => {
    const all = fixtures.map((f) => f.data);
    assert.ok(all.some((d) => d.optimizer.kind === 'sgd') && all.some((d) => d.optimizer.kind === 'adam'));
    assert.ok(all.some((d) => d.schedule.kind === 'cosine'));
    assert.ok(all.some((d) => d.clip !== null && d.expected.grad_norms.some((n: number) => n > d.clip)));
  });
  const check = (name: string, data: Record<string, any>, dtype: DType, tol: Tolerance): void => {
    it(`${name} in ${dtype}`, () => {
      const { actual, expected } = replay(data, dtype);
      const mismatches = compareNested(actual, expected, tol);
      assert.equal(mismatches.length, 0, mismatches.slice(0, 5).map((m) => `${m.path}: ${m.actual} vs PyTorch ${m.expected}`).join('\n'));
    });
  };
  for (const { name, data } of fixtures) check(name, data, 'float64', FLOAT64);
  // float32 on every kernel path (the FMA build's single rounding stays within the same tolerance).
  for (const path of kernelPaths()) {
    describe(`float32 on ${path.name}`, () => {
      before(path.enter);
      after(path.leave);
      for (const { name, data } of fixtures) check(name, data, 'float32', FLOAT32);
    });
  }
});
