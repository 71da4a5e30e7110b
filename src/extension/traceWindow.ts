// Which part of a document the Inspect States panel traces, decided from offsets alone (no
// `vscode` import: unit-tested in plain Node). The worker then keeps lstmLens.traceLength tokens
// of it and names the span (src/worker/traceSpan.ts).

export type SequenceSource = 'cursor' | 'selection' | 'start';

export interface TraceWindow {
  /** Offsets in the document of the text sent to the worker. */
  start: number;
  end: number;
  keep: 'first' | 'last';
  kind: 'cursor' | 'noSelection' | 'selection' | 'start';
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
