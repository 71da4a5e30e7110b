// The host ↔ worker protocol as the extension host uses it (src/protocol/worker.ts): well-formed
// messages pass, every kind of malformed one is refused.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSettings, trainingPlan } from '../../../src/extension/settings';
import { checkHostToWorker, checkWorkerToHost, type TrainRequest } from '../../../src/protocol/worker';

describe('worker protocol', () => {
  const plan = trainingPlan(readSettings(() => undefined));
  const valid: TrainRequest = { type: 'train', text: 'abc', sourceName: 'a.txt', ...plan, resumeFrom: null, checkpointPath: '/x', saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 100, timing: null };
  it('accepts well-formed messages', () => {
    assert.ok(checkHostToWorker(valid).ok);
    assert.ok(checkHostToWorker({ type: 'stop' }).ok);
    const history = { step: [3], loss: [1.5], gradNorm: [2], learningRate: [0.01] };
    assert.ok(checkWorkerToHost({ type: 'progress', step: 3, totalSteps: 10, loss: 1.5, tokensPerSecond: 100, learningRate: 0.01, gradNorm: 2, history, clip: null }).ok);
  });
  const malformed: Array<[string, unknown]> = [
    ['not an object', 42],
    ['no type', { text: 'x' }],
    ['an unknown type', { type: 'format-disk' }],
    ['a missing field', { ...valid, text: undefined }],
    ['a field of the wrong type', { ...valid, saveEverySteps: '10' }],
    ['an extra field', { ...valid, extra: true }],
    ['a negative step count', { ...valid, settings: { ...valid.settings, steps: -1 } }],
    ['a prototype-polluting key', JSON.parse('{"type":"stop","__proto__":{"x":1}}')],
  ];
  for (const [what, message] of malformed) {
    it(`refuses ${what}`, () => {
      const result = checkHostToWorker(message);
      assert.equal(result.ok, false);
    });
  }
  it('refuses worker messages with non-finite numbers', () => {
    const history = { step: [3], loss: [Number.NaN], gradNorm: [2], learningRate: [0.01] };
    assert.equal(checkWorkerToHost({ type: 'progress', step: 3, totalSteps: 10, loss: 1, tokensPerSecond: 100, learningRate: 0.01, gradNorm: 2, history, clip: null }).ok, false);
    assert.equal(checkWorkerToHost({ type: 'progress', step: 3, totalSteps: 10, loss: Number.NaN, tokensPerSecond: 100, learningRate: 0.01, gradNorm: 2, history: { ...history, loss: [1] }, clip: null }).ok, false);
  });
});
