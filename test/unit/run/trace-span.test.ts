// What the panel traces and how its heading names it (src/run/traceSpan.ts traceSequence and
// spanName), from the window the host cuts (src/extension/traceWindow.ts): at the cursor, a
// selection, the start of a file, cut or whole. Every traced token is checked against the
// document's text at its span; the names are the expected text written out by hand. A real
// trainer, a real worker thread (dist/worker.js, built by `npm run build`), real panel message checks.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeCheckpoint } from '../../../src/engine/checkpoint';
import type { LSTMModel } from '../../../src/engine/model';
import { Trainer } from '../../../src/engine/trainer';
import { traceWindow, windowChars } from '../../../src/extension/traceWindow';
import { WorkerJob } from '../../../src/extension/workerJob';
import { checkHostToPanel, type TraceMessage } from '../../../src/protocol/panel';
import type { Sequence } from '../../../src/protocol/worker';
import { spanName, traceSequence } from '../../../src/run/traceSpan';
import { doc, SETTINGS, SHAPE } from '../support/lines';

const WORKER = join(__dirname, '..', '..', '..', 'dist', 'worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-trace-span-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** How the extension builds a sequence for the worker (extension.ts sequenceFor), from plain offsets. */
function sequenceOf(text: string, source: 'cursor' | 'selection' | 'start', cursor: number, selection: [number, number] | null, maxTokens: number): { sequence: Sequence; offset: number } {
  const plan = traceWindow({ source, length: text.length, cursor, selection, maxTokens });
  const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length - 1;
  const sent = text.slice(plan.start, plan.end);
  const c = cursor - plan.start;
  return {
    offset: plan.start,
    sequence: {
      text: sent, source: plan.fallbackName, keep: plan.keep, maxTokens,
      span: {
        kind: plan.kind, firstLine: lineOf(plan.start), clippedBefore: plan.clippedBefore, clippedAfter: plan.clippedAfter,
        cursor: c >= 0 && c <= sent.length ? { offset: c, line: lineOf(cursor), column: cursor - text.lastIndexOf('\n', cursor - 1) - 1 } : null,
      },
    },
  };
}

describe('what the panel traces, and its name', () => {
  const trainer = Trainer.create(doc(30), 'doc.txt', SHAPE, SETTINGS);
  const model = trainer.model as unknown as LSTMModel;

  /** Every traced token is the document's text at its span (offset + span). */
  function assertTokensAt(text: string, offset: number, t: TraceMessage): void {
    for (let s = 0; s < t.T; s++) assert.equal(text.slice(offset + t.spans[2 * s], offset + t.spans[2 * s + 1]), t.tokens[s], `token ${s}`);
  }

  it('at the cursor: the last 96 tokens before it, none after it, named by lines and the cursor, with the count it was cut from', () => {
    const text = doc(30);
    const cursor = 200; // line 21, column 1
    const { sequence, offset } = sequenceOf(text, 'cursor', cursor, null, 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 96);
    assertTokensAt(text, offset, t);
    // The last token ends at the cursor: nothing after it is read (it read 40 characters more before).
    assert.equal(offset + t.spans[2 * t.T - 1], cursor);
    assert.equal(offset + (t.cursor ?? -1), cursor);
    // Characters 104..199: line 11 (offset 100) to the newline that ends line 20.
    assert.equal(t.source, 'lines 11–20, up to the cursor at 21:1: the last 96 of 200 tokens');
    assert.ok(checkHostToPanel(t).ok);
  });

  it('at the cursor, uncut: all tokens, no "last … of"', () => {
    const text = doc(30);
    const { sequence, offset } = sequenceOf(text, 'cursor', 25, null, 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 25);
    assertTokensAt(text, offset, t);
    assert.equal(t.source, 'lines 1–3, up to the cursor at 3:6');
  });

  it('lstmLens.traceLength sets the length; a window the host cut says "the last N tokens" without a count it does not know', () => {
    const text = doc(500);
    const cursor = 4505; // line 451, column 6
    const { sequence, offset } = sequenceOf(text, 'cursor', cursor, null, 8);
    assert.equal(offset, cursor - windowChars(8));
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 8);
    assertTokensAt(text, offset, t);
    // Characters 4497..4504: "hi\n" ending line 450, then "abcde" of line 451.
    assert.equal(t.source, 'lines 450–451, up to the cursor at 451:6: the last 8 tokens');
  });

  it('"Selection" with nothing selected traces up to the cursor and says so', () => {
    const text = doc(30);
    const { sequence } = sequenceOf(text, 'selection', 200, null, 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.match(t.source, /^no selection: the text before the cursor at 21:1, lines 11–20: the last 96 of 200 tokens$/);
  });

  it('a selection: its first tokens, named by its lines and cut count', () => {
    const text = doc(30);
    const { sequence, offset } = sequenceOf(text, 'selection', 250, [30, 250], 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 96);
    assert.equal(offset + t.spans[0], 30);
    assertTokensAt(text, offset, t);
    // Characters 30..125: line 4 (offset 30) to line 13 (offset 120).
    assert.equal(t.source, 'the selection, lines 4–13: the first 96 of 220 tokens');
  });

  it('the start of a short file is the whole file', () => {
    const text = doc(3);
    const { sequence } = sequenceOf(text, 'start', 5, null, 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 30);
    assert.equal(t.source, 'the whole file, lines 1–3');
  });

  it('names without a cut or a cursor', () => {
    assert.equal(spanName({ kind: 'start', startLine: 1, endLine: 40, cursor: null, kept: 96, available: 300, clipped: false }), 'the start of the file, lines 1–40: the first 96 of 300 tokens');
    assert.equal(spanName({ kind: 'selection', startLine: 7, endLine: 7, cursor: null, kept: 1, available: 1, clipped: false }), 'the selection, line 7');
    assert.equal(spanName({ kind: 'startBeforeCursor', startLine: 1, endLine: 3, cursor: { line: 1, column: 1 }, kept: 20, available: 20, clipped: false }), 'nothing before the cursor at 1:1: the whole file, lines 1–3');
    assert.equal(spanName({ kind: 'startBeforeCursor', startLine: 1, endLine: 40, cursor: { line: 1, column: 1 }, kept: 96, available: 300, clipped: false }), 'nothing before the cursor at 1:1: the start of the file, lines 1–40: the first 96 of 300 tokens');
  });

  it('through the worker thread: an inspect request with a span is answered with the named trace', async () => {
    const path = join(scratch, 'doc.lstm.safetensors');
    writeFileSync(path, encodeCheckpoint(trainer.checkpoint()));
    const text = doc(30);
    const { sequence } = sequenceOf(text, 'cursor', 200, null, 50);
    let trace: TraceMessage | null = null;
    const job = new WorkerJob(WORKER, { type: 'inspect', checkpointPath: path, file: 'doc.txt', sequence, withModel: false }, {
      onMessage: (m) => {
        if (m.type === 'panel' && m.message.type === 'trace') trace = m.message;
      },
    });
    const outcome = await job.outcome;
    assert.equal(outcome.kind, 'finished');
    const t = trace as TraceMessage | null;
    assert.ok(t);
    assert.equal(t.T, 50);
    assert.equal(t.source, 'lines 16–20, up to the cursor at 21:1: the last 50 of 200 tokens');
  });
});
