// A run's end as the panel receives it (src/extension/runEnd.ts): finished, stopped or failed, at
// which step, with which speed; each end is checked against the panel's message schema. Expected
// values written out by hand.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runEnd } from '../../../src/extension/runEnd';
import { checkHostToPanel } from '../../../src/protocol/panel';

describe("a run's end, as the panel receives it", () => {
  const finished = (reason: 'done' | 'stopped', step: number): Parameters<typeof runEnd>[1] => ({ kind: 'finished', message: { type: 'finished', reason, step, loss: 1.2, tokensPerSecond: 25465, path: '/x' } });
  const base = { type: 'training' as const, clip: null, backend: 'CPU' as const, reset: false, history: { step: [], loss: [], gradNorm: [], learningRate: [] } };

  it('600 of 600 steps: not running, at step 600 of 600, with the average speed (never 0 tokens/s alone)', () => {
    const end = runEnd({ step: 598, totalSteps: 600 }, finished('done', 600));
    assert.deepEqual(end, { running: false, step: 600, totalSteps: 600, tokensPerSecond: 0, averageTokensPerSecond: 25465 });
    assert.ok(checkHostToPanel({ ...base, ...end }).ok);
  });

  it('stopped at 120 of 600: its step, so that the panel reads "stopped"', () => {
    const end = runEnd({ step: 118, totalSteps: 600 }, finished('stopped', 120));
    assert.equal(end.step, 120);
    assert.equal(end.totalSteps, 600);
    assert.equal(end.running, false);
  });

  it('a run that failed: not running, at its last reported step, no average', () => {
    const end = runEnd({ step: 40, totalSteps: 600 }, { kind: 'crashed', message: 'gone' });
    assert.deepEqual(end, { running: false, step: 40, totalSteps: 600, tokensPerSecond: 0 });
  });
});
