// The Step tab's requests, host side: a step the panel asks for is checked against the trace it was
// sent (t within T, a layer and direction the trace has); Explain Step at Cursor keeps the layer and
// direction asked for last; the worker is asked for the step with the sequence. And the panel's
// message checks: explainStep's fields, a step message's sizes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHostToPanel, checkPanelToHost, type TraceMessage } from '../../../src/protocol/panel';
import { checkHostToWorker } from '../../../src/protocol/worker';
import { nextStepChoice, stepAtCursor, stepRequestProblem, withStep } from '../../../src/extension/stepChoice';

const T = 4;
const H = 2;
const trace = {
  type: 'trace',
  entries: [
    { layer: 0, direction: 'forward' },
    { layer: 0, direction: 'backward' },
    { layer: 1, direction: 'forward' },
  ],
  T,
  H,
} as unknown as TraceMessage;

describe('explainStep from the panel', () => {
  it('is checked against the current trace: t below T, a layer and direction it has', () => {
    assert.equal(stepRequestProblem({ type: 'explainStep', t: 3, layer: 0, direction: 'backward' }, trace), null);
    assert.match(stepRequestProblem({ type: 'explainStep', t: 4, layer: 0, direction: 'forward' }, trace) ?? '', /t = 4 is past the trace's 4 tokens/);
    assert.match(stepRequestProblem({ type: 'explainStep', t: 0, layer: 1, direction: 'backward' }, trace) ?? '', /no layer 1 backward/);
    assert.match(stepRequestProblem({ type: 'explainStep', t: 0, layer: 2, direction: 'forward' }, trace) ?? '', /no layer 2 forward/);
    assert.match(stepRequestProblem({ type: 'explainStep', t: 0, layer: 0, direction: 'forward' }, null) ?? '', /before any trace/);
  });

  it('is refused in one line by the message check when malformed', () => {
    assert.ok(checkPanelToHost({ type: 'explainStep', t: 2, layer: 0, direction: 'forward' }).ok);
    for (const bad of [
      { type: 'explainStep', t: -1, layer: 0, direction: 'forward' },
      { type: 'explainStep', t: 0.5, layer: 0, direction: 'forward' },
      { type: 'explainStep', t: 1, layer: 0, direction: 'sideways' },
      { type: 'explainStep', t: 1, layer: 0 },
      { type: 'explainStep', t: 1, layer: 0, direction: 'forward', unit: 3 },
    ]) {
      const c = checkPanelToHost(bad);
      assert.equal(c.ok, false, JSON.stringify(bad));
      if (!c.ok) assert.ok(!c.error.includes('\n') && c.error.length <= 200);
    }
  });
});

describe('Explain Step at Cursor and the worker request', () => {
  it('asks for the token before the cursor, in the layer and direction asked for last', () => {
    assert.deepEqual(stepAtCursor(null), { t: null, layer: 0, direction: 'forward' });
    assert.deepEqual(stepAtCursor({ t: 5, layer: 1, direction: 'backward' }), { t: null, layer: 1, direction: 'backward' });
  });

  it('sends the step with the sequence, and a worker accepts it', () => {
    const sequence = { text: 'abc', source: 'x', keep: 'last' as const };
    assert.deepEqual(withStep(sequence, null), sequence);
    const watched = withStep(sequence, { t: 2, layer: 0, direction: 'forward' });
    assert.deepEqual(watched.explain, { t: 2, layer: 0, direction: 'forward' });
    assert.ok(checkHostToWorker({ type: 'watch', sequence: watched, everyMs: 1000 }).ok);
    assert.ok(checkHostToWorker({ type: 'watch', sequence: withStep(sequence, stepAtCursor(null)), everyMs: 1000 }).ok);
    assert.equal(checkHostToWorker({ type: 'watch', sequence: { ...sequence, explain: { t: -1, layer: 0, direction: 'forward' } }, everyMs: 1000 }).ok, false);
  });
});

describe('the step the host keeps', () => {
  it('is the step the panel asked for, the cursor with the last layer and direction, then nothing once the panel closes', () => {
    let chosen = nextStepChoice(null, { kind: 'cursor' });
    assert.deepEqual(chosen, { t: null, layer: 0, direction: 'forward' });
    chosen = nextStepChoice(chosen, { kind: 'panel', request: { type: 'explainStep', t: 2, layer: 1, direction: 'backward' } });
    assert.deepEqual(chosen, { t: 2, layer: 1, direction: 'backward' });
    // Explain Step at Cursor again: the cursor's token, the layer and direction kept.
    chosen = nextStepChoice(chosen, { kind: 'cursor' });
    assert.deepEqual(chosen, { t: null, layer: 1, direction: 'backward' });
    assert.equal(nextStepChoice(chosen, { kind: 'closed' }), null);
    assert.deepEqual(nextStepChoice(null, { kind: 'panel', request: { type: 'explainStep', t: 0, layer: 0, direction: 'forward' } }), { t: 0, layer: 0, direction: 'forward' });
  });
});

describe('stepSpan from the panel', () => {
  it('names a unit, or null when the Step tab is not shown; nothing else', () => {
    assert.ok(checkPanelToHost({ type: 'stepSpan', unit: 3 }).ok);
    assert.ok(checkPanelToHost({ type: 'stepSpan', unit: null }).ok);
    for (const bad of [{ type: 'stepSpan' }, { type: 'stepSpan', unit: -1 }, { type: 'stepSpan', unit: 1.5 }, { type: 'stepSpan', unit: '2' }, { type: 'stepSpan', unit: 1, t: 2 }]) {
      const c = checkPanelToHost(bad);
      assert.equal(c.ok, false, JSON.stringify(bad));
      if (!c.ok) assert.ok(!c.error.includes('\n'));
    }
  });
});

describe('a step message', () => {
  const vec = (n: number): number[] => Array.from({ length: n }, (_, k) => k / 10);
  const I = 3;
  const forward = { x: vec(I), h_prev: vec(H), c_prev: vec(H), Wx: vec(4 * H), Uh: vec(4 * H), b: vec(4 * H), z: vec(4 * H), i: vec(H), f: vec(H), g: vec(H), o: vec(H), c: vec(H), tanh_c: vec(H), h: vec(H) };
  const backward = { dh: vec(H), dh_up: vec(H), dh_next: vec(H), dc: vec(H), dc_via_h: vec(H), dc_next: vec(H), di: vec(H), df: vec(H), dg: vec(H), do: vec(H), dz: vec(4 * H), dc_prev: vec(H), dh_prev: vec(H), dx: vec(I) };
  const message = (over: Record<string, unknown> = {}, span: Record<string, unknown> = {}) => ({
    type: 'step',
    step: 3,
    explanation: { token: 'a', t: 1, layer: 0, direction: 'forward', T, is_first: false, is_last: false, forward, backward, ...over },
    span: { steps: [1, 2, 3], memory: new Float32Array(3 * H), lastDh: [1, 2, 3], lastDc: new Float32Array(3 * H), ...span },
  });

  it('is accepted when every size agrees', () => {
    const c = checkHostToPanel(message());
    assert.ok(c.ok, c.ok ? '' : c.error);
  });

  it('is refused when a size, t or the first/last flags disagree', () => {
    const cases: Array<[unknown, RegExp]> = [
      [message({ forward: { ...forward, z: vec(4 * H - 1) } }), /z holds 7 values, expected 8/],
      [message({ backward: { ...backward, dx: vec(I + 1) } }), /dx holds 4 values, expected 3/],
      [message({ backward: { ...backward, dc: vec(H + 1) } }), /dc holds 3 values, expected 2/],
      [message({ t: 4 }), /t = 4 for T = 4/],
      [message({ is_last: true }), /is_first\/is_last disagree/],
      [message({ t: 0 }), /is_first\/is_last disagree/],
      [message({}, { steps: [2, 3] }), /does not start at t/],
      [message({}, { memory: new Float32Array(5) }), /memory holds 5 values/],
      [message({}, { lastDh: [1] }), /lastDh holds 1 values/],
      [message({}, { steps: [1, 2, 9], memory: new Float32Array(3 * H) }), /beyond T/],
    ];
    for (const [m, re] of cases) {
      const c = checkHostToPanel(m);
      assert.equal(c.ok, false);
      if (!c.ok) assert.match(c.error, re);
    }
  });
});
