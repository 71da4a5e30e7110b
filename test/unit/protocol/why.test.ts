// The checks of the "why" messages (src/protocol/why.ts): the worker's analyses and the panel's
// time line, baseline and strip, as every receiver runs them (checkWorkerToHost, checkHostToPanel,
// checkPanelToHost): well-formed ones pass, and each way of being wrong is refused with its reason.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHostToPanel, checkPanelToHost } from '../../../src/protocol/panel';
import { checkHostToWorker, checkWorkerToHost } from '../../../src/protocol/worker';

const surprise = { kind: 'surprise', spans: [0, 1, 1, 2, 2, 4], values: [0, 1.5, 0.2], top: [[], [{ token: 'a', p: 0.5 }], [{ token: 'bc', p: 0.8 }]], loss: 0.85, gain: null, order: null };
const attribution = { kind: 'attribution', spans: [0, 1, 1, 2, 2, 3], gradNorm: [0.1, 0.2, 0], gradXInput: [0.05, -0.1, 0], position: 1, target: 'c', p: 0.3 };
const baseline = { tokens: 100, trainTokens: 90, heldoutTokens: 10, orders: [1, 2, 3].map((order) => ({ order, loss: 3 - order / 2 })), best: 3, lstm: 1.2 };

describe('why messages', () => {
  it('the worker: analyze requests and analyzed answers of each kind pass', () => {
    for (const question of [{ kind: 'surprise', ngramText: null }, { kind: 'surprise', ngramText: 'abc' }, { kind: 'attribution', cursor: 3 }, { kind: 'baseline' }]) {
      assert.ok(checkHostToWorker({ type: 'analyze', checkpointPath: '/m', text: 'abc', question }).ok, JSON.stringify(question));
    }
    assert.ok(checkWorkerToHost({ type: 'analyzed', answer: surprise }).ok);
    assert.ok(checkWorkerToHost({ type: 'analyzed', answer: { ...surprise, gain: [0, 0.5, -0.5], order: 3 } }).ok);
    assert.ok(checkWorkerToHost({ type: 'analyzed', answer: attribution }).ok);
    assert.ok(checkWorkerToHost({ type: 'analyzed', answer: { kind: 'baseline', baseline } }).ok);
  });

  it('the worker: refuses what does not agree in size, reverses a span, or is not a number', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ ...surprise, values: [0, 1] }, /values: 2 values for 3 tokens/],
      [{ ...surprise, spans: [0, 1, 1] }, /spans/],
      [{ ...surprise, spans: [0, 1, 2, 1, 2, 4] }, /token 1 ends before it starts/],
      [{ ...surprise, gain: [0, 1] }, /gain/],
      [{ ...surprise, values: [0, NaN, 1] }, /values/],
      [{ ...surprise, top: [[], [{ token: 'a', p: 1.5 }], []] }, /top/],
      [{ ...attribution, gradXInput: [1] }, /gradXInput/],
      [{ ...attribution, p: -0.1 }, /p/],
      [{ kind: 'baseline', baseline: { ...baseline, orders: Array.from({ length: 7 }, (_, k) => ({ order: k + 1, loss: 1 })) } }, /orders/],
      [{ kind: 'elsewhere' }, /kind/],
    ];
    for (const [answer, why] of bad) {
      const c = checkWorkerToHost({ type: 'analyzed', answer });
      assert.equal(c.ok, false, JSON.stringify(answer));
      if (!c.ok) assert.match(c.error, why);
    }
    assert.equal(checkHostToWorker({ type: 'analyze', checkpointPath: '/m', text: 'abc', question: { kind: 'attribution', cursor: -1 } }).ok, false);
  });

  it('the panel: time line, baseline and strip pass; disorder, a chosen step that is not a snapshot and mismatched strips do not', () => {
    const timeline = { type: 'whyTimeline', snapshots: [{ step: 0, loss: null, sample: 'xq' }, { step: 8, loss: 3.1, sample: 'the' }], latest: { step: 300, loss: 1.9 }, chosen: 8 };
    assert.ok(checkHostToPanel(timeline).ok);
    assert.ok(checkHostToPanel({ ...timeline, chosen: null, latest: null }).ok);
    assert.ok(checkHostToPanel({ type: 'whyBaseline', baseline, note: null }).ok);
    assert.ok(checkHostToPanel({ type: 'whyBaseline', baseline: null, note: 'Counting…' }).ok);
    const strip = { type: 'whyAttribution', tokens: ['a', 'b', 'c'], gradNorm: [0.1, 0.2, 0], gradXInput: [0.1, -0.2, 0], target: 'c', p: 0.4 };
    assert.ok(checkHostToPanel(strip).ok);
    const bad: Array<[unknown, RegExp]> = [
      [{ ...timeline, snapshots: [...timeline.snapshots].reverse() }, /out of order/],
      [{ ...timeline, chosen: 5 }, /chosen step 5 is not a snapshot/],
      [{ ...strip, gradNorm: [0.1] }, /1 norms and 3 products for 3 tokens/],
      [{ ...strip, gradNorm: [0.1, -0.2, 0] }, /negative/],
      [{ ...strip, p: 2 }, /p/],
    ];
    for (const [m, why] of bad) {
      const c = checkHostToPanel(m);
      assert.equal(c.ok, false, JSON.stringify(m));
      if (!c.ok) assert.match(c.error, why);
    }
  });

  it('from the panel: a chosen snapshot (or the latest) and a position to attribute, nothing else', () => {
    assert.ok(checkPanelToHost({ type: 'whyChooseSnapshot', step: 8 }).ok);
    assert.ok(checkPanelToHost({ type: 'whyChooseSnapshot', step: null }).ok);
    assert.ok(checkPanelToHost({ type: 'whyAttribute', t: 4 }).ok);
    for (const m of [{ type: 'whyChooseSnapshot', step: -1 }, { type: 'whyChooseSnapshot' }, { type: 'whyAttribute', t: 1.5 }, { type: 'whyAttribute', t: 1, extra: true }]) {
      assert.equal(checkPanelToHost(m).ok, false, JSON.stringify(m));
    }
  });
});
