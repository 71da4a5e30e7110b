// What Show Surprise and Why This Prediction? paint (src/extension/surpriseMarks.ts), from answers
// written by hand: which tokens get a mark, the shade each gets on the fixed scales, and the hovers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributionMarks, binOf, GAIN_EDGES, legendText, SURPRISE_EDGES, surpriseMarks } from '../../../src/extension/surpriseMarks';

// "a bcd": tokens "a", " ", "bcd" at [0,1) [1,2) [2,5).
const text = 'a bcd';
const spans = [0, 1, 1, 2, 2, 5];

describe('surprise and attribution marks', () => {
  it('bins on ascending edges: below the first is 0, at an edge the next shade, at or above the last the top', () => {
    assert.deepEqual([0, 0.24, 0.25, 0.99, 1, 3.9, 4, 50].map((x) => binOf(x, SURPRISE_EDGES)), [0, 0, 1, 2, 3, 4, 5, 5]);
  });

  it('surprise: every predicted token marked (not the first), shaded by −log p, p and the guesses on hover', () => {
    const a = { kind: 'surprise' as const, spans, values: [0, 0.1, 2.5], top: [[], [{ token: ' ', p: 0.9 }], [{ token: 'x', p: 0.5 }, { token: 'bcd', p: 0.082 }]], loss: 1.3, gain: null, order: null };
    const marks = surpriseMarks(text, a, 'surprise');
    assert.deepEqual(marks.map((m) => [m.start, m.end, m.shade]), [[1, 2, 0], [2, 5, 4]]);
    // p = exp(-2.5) = 0.0821 = 8.2%.
    assert.match(marks[1].hover, /p\(`bcd`\) = \*\*8\.2%\*\*/);
    assert.match(marks[1].hover, /surprise −log p = 2\.50 nats/);
    assert.match(marks[1].hover, /`x` 50\.0%, `bcd` 8\.2%/);
    assert.match(marks[0].hover, /`␣`/, 'a space is shown');
    assert.deepEqual(surpriseMarks(text, a, 'surprise', 2).map((m) => m.start), [2], 'only the visible part');
  });

  it('gain: signed shades on the gain scale, the sign said in words', () => {
    const a = { kind: 'surprise' as const, spans, values: [0, 1, 1], top: [[], [], []], loss: 1, gain: [0, -0.3, 1.5], order: 3 };
    const marks = surpriseMarks(text, a, 'gain');
    assert.deepEqual(marks.map((m) => m.shade), [-binOf(0.3, GAIN_EDGES), binOf(1.5, GAIN_EDGES)]);
    assert.deepEqual(marks.map((m) => m.shade), [-1, 3]);
    assert.match(marks[0].hover, /−?-0\.30 nats \(counting predicts it better\)/);
    assert.match(marks[1].hover, /\+1\.50 nats \(the LSTM predicts it better\)/);
    assert.match(legendText('gain', 3), /3-gram/);
    assert.match(legendText('surprise', null), /0\.25, 0\.5, 1, 2, 4/);
  });

  it('attribution: earlier tokens in fifths of the largest norm (under 5% left clear), the predicted token outlined', () => {
    const a = { kind: 'attribution' as const, spans, gradNorm: [0.02, 0.8, 0], gradXInput: [0.01, -0.4, 0], position: 1, target: 'bcd', p: 0.25 };
    const marks = attributionMarks(text, a);
    // 0.02 / 0.8 = 2.5%: left clear; 0.8 is the largest: the top shade (4); the target: -1.
    assert.deepEqual(marks.map((m) => [m.start, m.end, m.shade]), [[1, 2, 4], [2, 5, -1]]);
    assert.match(marks[0].hover, /‖∂ log p \/ ∂x‖ = 0\.800 \(100%/);
    assert.match(marks[0].hover, /gradient × input = -0\.400/);
    assert.match(marks[1].hover, /p\(`bcd`\) = \*\*25\.0%\*\*/);
  });
});
