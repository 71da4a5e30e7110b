// Which part of a document the Inspect States panel traces, decided from offsets alone (no
// `vscode` import: unit-tested in plain Node). The worker then keeps lstmLens.traceLength tokens
// of it and names the span (src/run/traceSpan.ts).

import type { Sequence } from '../protocol/worker';

export type SequenceSource = 'cursor' | 'selection' | 'start';

export interface TraceWindow {
  /** Offsets in the document of the text sent to the worker. */
  start: number;
  end: number;
  keep: 'first' | 'last';
  kind: 'cursor' | 'noSelection' | 'selection' | 'start' | 'startBeforeCursor';
  /** The span goes on before (keep last) / after (keep first) the text sent: its first / last token may be cut, and its count is not known. */
  clippedBefore: boolean;
  clippedAfter: boolean;
  /** A name for a worker that does not name spans itself. */
  fallbackName: string;
}

/** Characters sent for `maxTokens` tokens: generous for words (a token of code with its indentation can be long), small beside a file. */
export function windowChars(maxTokens: number): number {
  return Math.max(2000, maxTokens * 64);
}

export function traceWindow(o: {
  source: SequenceSource;
  /** The document's length in UTF-16 code units. */
  length: number;
  /** The cursor's offset (null: no editor shows the document). */
  cursor: number | null;
  /** The selection's offsets, null when nothing is selected. */
  selection: [number, number] | null;
  maxTokens: number;
}): TraceWindow {
  const chars = windowChars(o.maxTokens);
  if (o.source === 'selection' && o.selection) {
    const [start, selectionEnd] = o.selection;
    const end = Math.min(selectionEnd, start + chars);
    return { start, end, keep: 'first', kind: 'selection', clippedBefore: false, clippedAfter: end < selectionEnd, fallbackName: 'the selection' };
  }
  if (o.source !== 'start' && o.cursor !== null && Math.min(o.cursor, o.length) === 0) {
    // Nothing before the cursor (a file just opened, the cursor at 1:1): the start of the file, said so,
    // rather than a panel waiting for text that will not come until the cursor moves.
    const end = Math.min(o.length, chars);
    return { start: 0, end, keep: 'first', kind: 'startBeforeCursor', clippedBefore: false, clippedAfter: end < o.length, fallbackName: 'nothing before the cursor: the start of the file' };
  }
  if (o.source !== 'start' && o.cursor !== null) {
    // Up to the cursor, never past it: the trace reads what comes before the cursor.
    const end = Math.min(o.cursor, o.length);
    const start = Math.max(0, end - chars);
    return {
      start, end, keep: 'last', kind: o.source === 'selection' ? 'noSelection' : 'cursor', clippedBefore: start > 0, clippedAfter: false,
      fallbackName: o.source === 'selection' ? 'no selection: the text before the cursor' : 'the text before the cursor',
    };
  }
  const end = Math.min(o.length, chars);
  return { start: 0, end, keep: 'first', kind: 'start', clippedBefore: false, clippedAfter: end < o.length, fallbackName: 'the start of the file' };
}

/** A traced sequence's place in its document, to colour the editor by a unit's values. */
export interface TracePlacement {
  documentUri: string;
  documentVersion: number;
  /** Offset in the document of the sequence text's first character. */
  offset: number;
}

/**
 * A document as the panel reads it: its length, a slice of its text, and the line an offset is on
 * (a document of megabytes is never copied whole to decide what to trace).
 */
export interface DocumentText {
  length: number;
  slice(start: number, end: number): string;
  lineOf(offset: number): number;
}

/** A string as a DocumentText (lines end at \r\n, \n or \r, as in VS Code). */
export function documentText(text: string): DocumentText {
  return {
    length: text.length,
    slice: (start, end) => text.slice(start, end),
    lineOf: (offset) => (text.slice(0, offset).match(/\r\n|\r|\n/g) ?? []).length,
  };
}

/**
 * The text the panel traces: the text up to the cursor (never after it), the selection, or the
 * start of the file, with where it stands in the document so that the trace's heading names it
 * exactly; at most `maxTokens` tokens of it are traced. "Selection" with nothing selected traces up
 * to the cursor and says so.
 */
export function traceSequence(
  document: DocumentText,
  o: {
    source: SequenceSource;
    /** The cursor (null: no editor shows the document). */
    cursor: { offset: number; line: number; column: number } | null;
    /** The selection's offsets, null when nothing is selected. */
    selection: [number, number] | null;
    maxTokens: number;
  },
): { sequence: Sequence; offset: number } {
  const plan = traceWindow({ source: o.source, length: document.length, cursor: o.cursor?.offset ?? null, selection: o.selection, maxTokens: o.maxTokens });
  const text = document.slice(plan.start, plan.end);
  const cursorOffset = o.cursor ? o.cursor.offset - plan.start : -1;
  return {
    sequence: {
      text,
      source: plan.fallbackName,
      keep: plan.keep,
      maxTokens: o.maxTokens,
      span: {
        kind: plan.kind,
        firstLine: document.lineOf(plan.start),
        clippedBefore: plan.clippedBefore,
        clippedAfter: plan.clippedAfter,
        cursor: o.cursor && cursorOffset >= 0 && cursorOffset <= text.length ? { offset: cursorOffset, line: o.cursor.line, column: o.cursor.column } : null,
      },
    },
    offset: plan.start,
  };
}
