// The units engine: LSTMVis's selection and match rules on hand-made state matrices, the text's
// tracks on hand-made texts, Pearson's r on a hand case, and the states of a text read in pieces
// against PyTorch (the char fixture's unclamped trace) and against one pass.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseClamps } from '../../../src/engine/clamp';
import { InputError, type ModelConfig } from '../../../src/engine/config';
import { LSTMModel } from '../../../src/engine/model';
import { Tokenizer } from '../../../src/engine/tokenizer';
import { charSpan, computeUnitStates, findMatches, pearson, stateAt, textTracks, tokenTracks, trackLeaders, unitStatesFromRows } from '../../../src/engine/units';
import { flat, FIXTURES } from '../../support/fixtures';

/** Columns of 0/1 given as strings, one per unit: "0110" is unit u on at t = 1, 2. */
function matrix(...units: string[]): number[][] {
  const T = units[0].length;
  return Array.from({ length: T }, (_, t) => units.map((s) => (s[t] === '1' ? 0.9 : s[t] === '-' ? -0.9 : 0.1)));
}

describe('selection and matches (hand-made states, threshold 0.5)', () => {
  it('selects the units on at every selected position; a match is a maximal run of all of them', () => {
    //                                     0123456789
    const s = unitStatesFromRows(matrix('1101111011', '0111111010', '1111111111', '0000000000'));
    const r = findMatches(s, { select: [3, 5], threshold: 0.5 });
    assert.deepEqual(r.units, [0, 1, 2]);
    // All of 0, 1, 2 on: t = 1, 3, 4, 5, 6, 8. Runs: [3, 7) (around the selection), [1, 2), [8, 9).
    assert.deepEqual(r.matches, [{ start: 3, end: 7 }, { start: 1, end: 2 }, { start: 8, end: 9 }]);
    assert.equal(r.count, 3);
  });

  it('keeps the threshold inclusive (>= X)', () => {
    const s = unitStatesFromRows([[0.5], [0.5], [0.49999]]);
    assert.deepEqual(findMatches(s, { select: [0, 1], threshold: 0.5 }).matches, [{ start: 0, end: 2 }]);
  });

  it('lists longest first, then by start, at most top, with the total count', () => {
    const s = unitStatesFromRows(matrix('1101101110110'));
    const r = findMatches(s, { select: [0, 1], threshold: 0.5, top: 3 });
    assert.deepEqual(r.matches, [{ start: 6, end: 9 }, { start: 0, end: 2 }, { start: 3, end: 5 }]);
    assert.equal(r.count, 4);
  });

  it('finds runs at both ends of the text', () => {
    const s = unitStatesFromRows(matrix('1100011'));
    const r = findMatches(s, { select: [5, 7], threshold: 0.5 });
    assert.deepEqual(r.matches, [{ start: 0, end: 2 }, { start: 5, end: 7 }]);
  });

  it('off-before and off-after select only units off just outside the selection', () => {
    //                                    01234567
    const s = unitStatesFromRows(matrix('00110000', '01110000', '00111000', '00110110'));
    assert.deepEqual(findMatches(s, { select: [2, 4], threshold: 0.5 }).units, [0, 1, 2, 3]);
    assert.deepEqual(findMatches(s, { select: [2, 4], threshold: 0.5, offBefore: 1 }).units, [0, 2, 3]);
    assert.deepEqual(findMatches(s, { select: [2, 4], threshold: 0.5, offAfter: 1 }).units, [0, 1, 3]);
    assert.deepEqual(findMatches(s, { select: [2, 4], threshold: 0.5, offBefore: 2, offAfter: 2 }).units, [0]);
    // Unit 3 is off at 4 but on at 5: off-after 1 keeps it, off-after 2 drops it.
    assert.deepEqual(findMatches(s, { select: [2, 4], threshold: 0.5, offAfter: 2 }).units, [0, 1]);
  });

  it('off-before and off-after at the ends of the text count only positions that exist', () => {
    const s = unitStatesFromRows(matrix('110011'));
    const r = findMatches(s, { select: [0, 2], threshold: 0.5, offBefore: 2, offAfter: 2 });
    assert.deepEqual(r.units, [0]);
    assert.deepEqual(r.matches, [{ start: 0, end: 2 }, { start: 4, end: 6 }]);
    // Three before [4, 6) reach position 1, which is on.
    assert.deepEqual(findMatches(s, { select: [0, 2], threshold: 0.5, offBefore: 3 }).matches, [{ start: 0, end: 2 }]);
  });

  it('a match needs every selected unit off at each of the N positions before and after', () => {
    // Units 0 and 1 selected at [4, 6). Before [1, 2): unit 1 on at 0. After the run [8, 10): unit 1 on at 10.
    //                                    0123456789012
    const s = unitStatesFromRows(matrix('0100110011000', '1100110011100'));
    const plain = findMatches(s, { select: [4, 6], threshold: 0.5 });
    assert.deepEqual(plain.units, [0, 1]);
    assert.deepEqual(plain.matches, [{ start: 1, end: 2 }, { start: 4, end: 6 }, { start: 8, end: 10 }].sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start));
    const before = findMatches(s, { select: [4, 6], threshold: 0.5, offBefore: 1 });
    assert.deepEqual(before.matches, [{ start: 4, end: 6 }, { start: 8, end: 10 }]);
    const after = findMatches(s, { select: [4, 6], threshold: 0.5, offAfter: 1 });
    assert.deepEqual(after.matches, [{ start: 4, end: 6 }, { start: 1, end: 2 }]);
    const both = findMatches(s, { select: [4, 6], threshold: 0.5, offBefore: 2, offAfter: 2 });
    assert.deepEqual(both.matches, [{ start: 4, end: 6 }]);
  });

  it('no unit selected: no matches', () => {
    const s = unitStatesFromRows(matrix('1010', '0101'));
    assert.deepEqual(findMatches(s, { select: [0, 2], threshold: 0.5 }), { units: [], matches: [], count: 0 });
  });

  it('refuses a selection outside the text, or backwards', () => {
    const s = unitStatesFromRows(matrix('1010'));
    for (const select of [[2, 2], [3, 1], [0, 5], [-1, 2]] as const) assert.throws(() => findMatches(s, { select, threshold: 0 }), InputError);
    assert.throws(() => findMatches(s, { select: [0, 1], threshold: NaN }), InputError);
  });
});

describe('tracks (hand-made texts)', () => {
  it('column, indent, in_word on lines with spaces and tabs', () => {
    const text = '  ab\n\tx y\nz';
    const t = textTracks(text);
    assert.deepEqual(Array.from(t.column), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0]);
    assert.deepEqual(Array.from(t.indent), [2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 0]);
    assert.deepEqual(Array.from(t.in_word), [0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1]);
  });

  it('bracket depth after each character, never below zero', () => {
    const t = textTracks('a)(]{[x]}})(');
    //                     a  )  (  ]  {  [  x  ]  }  }  )  (
    assert.deepEqual(Array.from(t.bracket_depth), [0, 0, 1, 0, 1, 2, 2, 1, 0, 0, 0, 1]);
  });

  it('quotes count on their own line only (a quote left open ends with the line)', () => {
    const t = textTracks('a"b\nc"d"e');
    //                     a  "  b  \n c  "  d  "  e
    assert.deepEqual(Array.from(t.in_quotes), [0, 1, 1, 1, 0, 1, 1, 0, 0]);
  });

  it('CRLF already turned into LF: one newline per line', () => {
    const t = textTracks('x\n y');
    assert.deepEqual(Array.from(t.column), [0, 1, 0, 1]);
    assert.deepEqual(Array.from(t.indent), [0, 0, 1, 1]);
  });

  it('a token takes the value at its last character (a surrogate pair is one character)', () => {
    const text = '(😀 ab';
    const tok = Tokenizer.build(text, 'char');
    const { spans } = tok.encodeWithSpans(text);
    assert.deepEqual(Array.from(spans), [0, 1, 1, 3, 3, 4, 4, 5, 5, 6]);
    const s = { ...unitStatesFromRows([[0], [0], [0], [0], [0]]), spans };
    const tr = tokenTracks(s, text);
    assert.deepEqual(Array.from(tr.column), [0, 1, 3, 4, 5]);
    assert.deepEqual(Array.from(tr.bracket_depth), [1, 1, 1, 1, 1]);
    assert.deepEqual(Array.from(tr.in_word), [0, 0, 0, 1, 1]);
    const words = Tokenizer.build('foo(bar)', 'word');
    const w = words.encodeWithSpans('foo(bar)');
    assert.deepEqual(Array.from(w.spans), [0, 3, 3, 4, 4, 7, 7, 8]);
  });
});

describe("Pearson's r", () => {
  it('a hand case, and 0 where a side is constant', () => {
    // x = 1, 2, 3, 4; y = 2, 1, 4, 3: cov = 0.8·... by hand: sxy = 3, sxx = syy = 5, r = 0.6.
    assert.ok(Math.abs(pearson([1, 2, 3, 4], [2, 1, 4, 3]) - 0.6) < 1e-12);
    assert.ok(Math.abs(pearson([1, 2, 3], [6, 4, 2]) + 1) < 1e-12);
    assert.equal(pearson([1, 1, 1], [1, 2, 3]), 0);
    assert.equal(pearson([1, 2, 3], [5, 5, 5]), 0);
  });

  it('trackLeaders ranks units by |r|, a constant unit has r = 0', () => {
    const text = '(()x)';
    // depth after each char: 1 2 1 1 0. Unit 0 follows it, unit 1 is its negative halved plus noise, unit 2 constant.
    const s = unitStatesFromRows([[1, -0.5, 0.3], [2, -1.1, 0.3], [1, -0.5, 0.3], [1, -0.4, 0.3], [0, 0, 0.3]]);
    const leaders = trackLeaders(s, text, 3).bracket_depth;
    assert.equal(leaders[0].unit, 0);
    assert.ok(Math.abs(leaders[0].r - 1) < 1e-12);
    assert.equal(leaders[1].unit, 1);
    // The states are kept as float32.
    assert.ok(Math.abs(leaders[1].r - pearson([1, 2, 1, 1, 0], Float32Array.from([-0.5, -1.1, -0.5, -0.4, 0]))) < 1e-12);
    assert.deepEqual(leaders[2], { unit: 2, r: 0 });
  });
});

describe('states of a text', () => {
  const f = JSON.parse(readFileSync(join(FIXTURES, 'units', 'char.json'), 'utf8'));
  const config = f.config as ModelConfig;
  const model = (): LSTMModel => {
    const m = new LSTMModel(config);
    for (const spec of m.specs) m.setParameter(spec.name, flat(f.weights[spec.name]));
    return m;
  };
  const tokenizer = Tokenizer.fromVocabulary(f.vocab);
  const text = f.text as string;

  for (const [layer, state] of [[0, 'h'], [1, 'c']] as const) {
    it(`layer ${layer} ${state}, read in pieces of 4 tokens, is PyTorch's unclamped trace`, () => {
      const s = computeUnitStates(model(), tokenizer, text, { layer, state, chunkTokens: 4 });
      const expected = flat(f.unclamped.trace[layer][state]);
      assert.equal(s.T * s.H, expected.length);
      for (let k = 0; k < expected.length; k++) {
        const got = stateAt(s, Math.floor(k / s.H), k % s.H);
        assert.ok(Math.abs(got - expected[k]) <= 1e-5 + 1e-4 * Math.abs(expected[k]), `${k}: ${got} vs ${expected[k]}`);
      }
    });
  }

  it('with clamps, the clamped trace of the fixture', () => {
    const s = computeUnitStates(model(), tokenizer, text, { layer: 1, state: 'h', clamps: parseClamps(f.clamps, config), chunkTokens: 7 });
    const expected = flat(f.expected.trace[1].h);
    for (let k = 0; k < expected.length; k++) assert.ok(Math.abs(stateAt(s, Math.floor(k / s.H), k % s.H) - expected[k]) <= 1e-5 + 1e-4 * Math.abs(expected[k]));
  });

  it('pieces or one pass: the same states; bytes within max|s|/254 of them', () => {
    const long = text.repeat(40);
    const one = computeUnitStates(model(), tokenizer, long, { chunkTokens: 100000 });
    const pieces = computeUnitStates(model(), tokenizer, long, { chunkTokens: 37 });
    let worst = 0;
    for (let k = 0; k < one.values.length; k++) worst = Math.max(worst, Math.abs(one.values[k] - pieces.values[k]));
    assert.ok(worst < 1e-6, `worst ${worst}`);
    const bytes = computeUnitStates(model(), tokenizer, long, { precision: 'int8' });
    assert.ok(bytes.values instanceof Int8Array);
    for (let t = 0; t < one.T; t++) {
      for (let u = 0; u < one.H; u++) {
        const exact = stateAt(one, t, u);
        assert.ok(Math.abs(stateAt(bytes, t, u) - exact) <= 1 / 254 + 1e-6, `${t}, ${u}`);
      }
    }
  });

  it('spans are UTF-16 offsets into the text', () => {
    const s = computeUnitStates(model(), tokenizer, text);
    assert.equal(s.T, text.length);
    assert.deepEqual(charSpan(s, 3, 8), [3, 8]);
    assert.equal(text.slice(...charSpan(s, 3, 8)), '(a[0]');
  });

  it('refuses a layer or direction the model lacks', () => {
    assert.throws(() => computeUnitStates(model(), tokenizer, text, { layer: 2 }), InputError);
    assert.throws(() => computeUnitStates(model(), tokenizer, text, { direction: 'backward' }), /one direction only/);
  });
});
