// The Step tab's memory span in the editor (src/extension/stepDecorations.ts): which characters of
// the text are coloured, with which shade and hover, for a hand-made step message whose running
// products are known (1, then 0.5, then 0.1 for unit 1).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPAN_SHADES, spanMarks } from '../../../src/extension/stepDecorations';

const H = 2;
const TEXT = 'ab cd ef gh';
const TOKENS = ['ab', 'cd', 'ef', 'gh'];
/** Each token's [start, end) in TEXT. */
const SPANS = [0, 2, 3, 5, 6, 8, 9, 11];

function message(t: number, direction: 'forward' | 'backward', steps: number[], unit1: number[]) {
  const memory = new Float32Array(steps.length * H);
  unit1.forEach((m, s) => {
    memory[s * H] = 0.9;
    memory[s * H + 1] = m;
  });
  const zeros = [0, 0];
  return { explanation: { t, layer: 0, direction, forward: { h: zeros } }, span: { steps, memory, lastDh: null, lastDc: null } } as unknown as Parameters<typeof spanMarks>[0];
}

describe('the memory span in the editor', () => {
  it('colours the tokens after the chosen one by the running product of the chosen unit, outlining the chosen one', () => {
    const marks = spanMarks(message(1, 'forward', [1, 2, 3], [1, 0.5, 0.1]), 1, SPANS, (t) => TOKENS[t]);
    assert.ok(marks);
    assert.deepEqual({ start: marks.chosen.start, end: marks.chosen.end, t: marks.chosen.t }, { start: 3, end: 5, t: 1 });
    assert.equal(TEXT.slice(marks.chosen.start, marks.chosen.end), 'cd');
    // 0.5 of 5 shades is shade 2; 0.1 is shade 0 (floor(0.5)).
    assert.deepEqual(
      marks.later.map((m) => ({ text: TEXT.slice(m.start, m.end), t: m.t, value: m.value, shade: m.shade })),
      [
        { text: 'ef', t: 2, value: 0.5, shade: 2 },
        { text: 'gh', t: 3, value: Math.fround(0.1), shade: 0 },
      ],
    );
    assert.match(marks.later[0].hover, /unit 1 · memory span: f_2 ⋯ f_2 = \*\*0\.500\*\* of what unit 1 wrote at t = 1 \(“cd”\) survives in c at t = 2/);
    assert.match(marks.later[1].hover, /f_2 ⋯ f_3 = \*\*0\.100\*\*/);
    assert.match(marks.chosen.hover, /step t = 1/);
  });

  it('reads the other unit from the same message', () => {
    const marks = spanMarks(message(1, 'forward', [1, 2, 3], [1, 0.5, 0.1]), 0, SPANS, (t) => TOKENS[t]);
    assert.deepEqual(marks?.later.map((m) => [m.value, m.shade]), [[Math.fround(0.9), 4], [Math.fround(0.9), 4]]);
  });

  it('keeps every shade within the scale, 1 included', () => {
    const marks = spanMarks(message(0, 'forward', [0, 1, 2, 3], [1, 1, 0.2, 0]), 1, SPANS, (t) => TOKENS[t]);
    assert.deepEqual(marks?.later.map((m) => m.shade), [SPAN_SHADES - 1, 1, 0]);
  });

  it('goes toward the start of the text for the backward direction, which reads it from the end', () => {
    const marks = spanMarks(message(2, 'backward', [2, 1, 0], [1, 0.8, 0.4]), 1, SPANS, (t) => TOKENS[t]);
    assert.ok(marks);
    assert.equal(TEXT.slice(marks.chosen.start, marks.chosen.end), 'ef');
    assert.deepEqual(marks.later.map((m) => TEXT.slice(m.start, m.end)), ['cd', 'ab']);
    assert.deepEqual(marks.later.map((m) => m.shade), [4, 2]);
    assert.match(marks.later[1].hover, /f_1 ⋯ f_0 =/);
  });

  it('the last step has nothing after it: only the chosen token is marked', () => {
    const marks = spanMarks(message(3, 'forward', [3], [1]), 1, SPANS, (t) => TOKENS[t]);
    assert.deepEqual(marks?.later, []);
    assert.equal(marks?.chosen.start, 9);
  });

  it('is null for a unit the message does not have, or a span that does not fit the text', () => {
    const ok = message(1, 'forward', [1, 2, 3], [1, 0.5, 0.1]);
    assert.equal(spanMarks(ok, 2, SPANS, (t) => TOKENS[t]), null);
    assert.equal(spanMarks(ok, -1, SPANS, (t) => TOKENS[t]), null);
    assert.equal(spanMarks(message(1, 'forward', [2, 3], [1, 0.5]), 1, SPANS, (t) => TOKENS[t]), null, 'the span starts at another step');
    assert.equal(spanMarks(message(1, 'forward', [1, 2, 3, 4], [1, 0.5, 0.1, 0]), 1, SPANS, (t) => TOKENS[t]), null, 'a step past the text');
  });

  it('shows a token as itself in the hover, Markdown characters and all', () => {
    const marks = spanMarks(message(0, 'forward', [0, 1], [1, 0.5]), 1, SPANS, (t) => ['*a_', 'b'][t]);
    assert.match(marks?.later[0].hover ?? '', /\(“\\\*a\\_”\)/);
  });
});
