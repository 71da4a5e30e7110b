// What the panel traces as a plain function of the document's text, its selection and its cursor
// (src/extension/traceWindow.ts traceSequence): the text sent, where it stands (its first line,
// the cursor within it), and its name, checked against the document written out by hand.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentText, traceSequence } from '../../../src/extension/traceWindow';

// Lines: 0 "alpha", 1 "beta" (ends \r\n), 2 "gamma" (ends \r), 3 "delta epsilon".
const TEXT = 'alpha\nbeta\r\ngamma\rdelta epsilon';
const doc = documentText(TEXT);
const at = (s: string): number => TEXT.indexOf(s);

describe('what the panel traces, from text, selection and cursor', () => {
  it('lines end at \\n, \\r\\n and \\r, as in VS Code', () => {
    assert.deepEqual([at('alpha'), at('beta'), at('gamma'), at('delta'), at('epsilon')].map((o) => doc.lineOf(o)), [0, 1, 2, 3, 3]);
  });

  it('at the cursor: the text up to it, never after, from the first line, the cursor at its end', () => {
    const cursor = { offset: at('ma\r'), line: 2, column: 3 };
    const { sequence, offset } = traceSequence(doc, { source: 'cursor', cursor, selection: null, maxTokens: 64 });
    assert.equal(offset, 0);
    assert.equal(sequence.text, 'alpha\nbeta\r\ngam');
    assert.equal(sequence.keep, 'last');
    assert.equal(sequence.maxTokens, 64);
    assert.deepEqual(sequence.span, { kind: 'cursor', firstLine: 0, clippedBefore: false, clippedAfter: false, cursor: { offset: 15, line: 2, column: 3 } });
  });

  it('a selection: its text, from its own first line; a cursor past it is not in the span', () => {
    const selection: [number, number] = [at('gamma'), at(' epsilon')];
    const cursor = { offset: TEXT.length, line: 3, column: 13 };
    const { sequence, offset } = traceSequence(doc, { source: 'selection', cursor, selection, maxTokens: 64 });
    assert.equal(offset, at('gamma'));
    assert.equal(sequence.text, 'gamma\rdelta');
    assert.equal(sequence.keep, 'first');
    assert.equal(sequence.source, 'the selection');
    assert.deepEqual(sequence.span, { kind: 'selection', firstLine: 2, clippedBefore: false, clippedAfter: false, cursor: null });
  });

  it('nothing before the cursor (a file just opened, at 1:1): the start of the file, named so, at the cursor or with "Selection" and nothing selected', () => {
    for (const source of ['cursor', 'selection'] as const) {
      const { sequence, offset } = traceSequence(doc, { source, cursor: { offset: 0, line: 0, column: 0 }, selection: null, maxTokens: 64 });
      assert.equal(offset, 0);
      assert.equal(sequence.text, TEXT);
      assert.equal(sequence.keep, 'first');
      assert.equal(sequence.source, 'nothing before the cursor: the start of the file');
      assert.deepEqual(sequence.span, { kind: 'startBeforeCursor', firstLine: 0, clippedBefore: false, clippedAfter: false, cursor: { offset: 0, line: 0, column: 0 } });
    }
  });

  it('"Selection" with nothing selected: up to the cursor, named so', () => {
    const { sequence } = traceSequence(doc, { source: 'selection', cursor: { offset: at('beta'), line: 1, column: 0 }, selection: null, maxTokens: 64 });
    assert.equal(sequence.text, 'alpha\n');
    assert.equal(sequence.span?.kind, 'noSelection');
    assert.equal(sequence.source, 'no selection: the text before the cursor');
  });

  it('no editor shows the document: the start of the file, no cursor', () => {
    const { sequence, offset } = traceSequence(doc, { source: 'cursor', cursor: null, selection: null, maxTokens: 64 });
    assert.equal(offset, 0);
    assert.equal(sequence.text, TEXT);
    assert.deepEqual(sequence.span, { kind: 'start', firstLine: 0, clippedBefore: false, clippedAfter: false, cursor: null });
  });

  it('a long document at the cursor: the window before it only, its first line counted in the document, clipped before', () => {
    const long = `${'x\n'.repeat(3000)}tail`;
    const { sequence, offset } = traceSequence(documentText(long), { source: 'cursor', cursor: { offset: long.length, line: 3000, column: 4 }, selection: null, maxTokens: 10 });
    // 2000 characters (the least window) before the cursor: 996 lines of "x\n" and "tail".
    assert.equal(offset, long.length - 2000);
    assert.equal(sequence.text.length, 2000);
    assert.equal(sequence.span?.firstLine, 3000 - 998);
    assert.equal(sequence.span?.clippedBefore, true);
    assert.deepEqual(sequence.span?.cursor, { offset: 2000, line: 3000, column: 4 });
  });
});
