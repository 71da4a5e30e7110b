// The host's copy of a run's training history for the Inspect States panel
// (src/extension/panelHistory.ts, used by inspectPanel.ts): bounded by the engine's history
// however long the run, its points the means of the steps they hold (checked against sums made
// here), and a new run of the file starts it over.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HISTORY_MAX_POINTS } from '../../../src/engine/history';
import { PanelTrainingCopy } from '../../../src/extension/panelHistory';
import type { TrainingMessage } from '../../../src/protocol/panel';

function message(first: number, count: number, loss: (step: number) => number, reset = false): TrainingMessage {
  const step = Array.from({ length: count }, (_, k) => first + k);
  return {
    type: 'training', running: true, step: first + count - 1, totalSteps: 1_000_000, tokensPerSecond: 100, clip: 5, backend: 'CPU', reset,
    history: { step, loss: step.map(loss), gradNorm: step.map(() => 1), learningRate: step.map(() => 0.01) },
  };
}

describe("the panel's copy of the training history", () => {
  it('a million steps, 200 a message, keep at most HISTORY_MAX_POINTS points, each the mean of its steps', () => {
    const copy = new PanelTrainingCopy();
    const loss = (s: number): number => 1 + ((s * 7919) % 1000) / 1000;
    for (let first = 1; first <= 1_000_000; first += 200) copy.add(message(first, 200, loss));
    const m = copy.message();
    assert.ok(m);
    const h = m.history;
    assert.ok(h.step.length <= HISTORY_MAX_POINTS && h.step.length > HISTORY_MAX_POINTS / 4, `${h.step.length} points`);
    assert.equal(h.step.at(-1), 1_000_000);
    assert.equal(m.step, 1_000_000);
    assert.equal(m.reset, true);
    // Each point is the mean of the steps since the previous point's last step (summed here, independently).
    for (const k of [0, 1, Math.floor(h.step.length / 2), h.step.length - 1]) {
      const from = k === 0 ? 1 : h.step[k - 1] + 1;
      let sum = 0;
      for (let s = from; s <= h.step[k]; s++) sum += loss(s);
      const mean = sum / (h.step[k] - from + 1);
      assert.ok(Math.abs(h.loss[k] - mean) < 1e-9, `point ${k}: ${h.loss[k]} vs ${mean}`);
    }
  });

  it('a new run of the file (steps that do not follow, or a reset) starts the history over; a continued run extends it', () => {
    const copy = new PanelTrainingCopy();
    copy.add(message(1, 60, () => 2));
    copy.add(message(61, 20, () => 1)); // continued
    assert.deepEqual(copy.message()?.history.step.slice(-2), [79, 80]);
    assert.equal(copy.message()?.history.step.length, 80);
    copy.add(message(1, 10, () => 3)); // started afresh
    assert.deepEqual(copy.message()?.history.step, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    copy.add(message(500, 5, () => 3, true)); // a reset message
    assert.deepEqual(copy.message()?.history.step, [500, 501, 502, 503, 504]);
    copy.clear();
    assert.equal(copy.message(), null);
  });
});
