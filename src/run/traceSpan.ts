// What the Inspect States panel traces, named exactly: which lines, up to where, and whether the
// text was cut to lstmLens.traceLength tokens ("lines 3–21, up to the cursor at 21:1: the last 96
// of 110 tokens"). Pure (no Node built-ins): the Node worker and the panel's GPU worker both use it.

import type { LSTMModel } from '../engine/model';
import type { Tokenizer } from '../engine/tokenizer';
import type { StepMessage, TraceMessage } from '../protocol/panel';
import type { Sequence } from '../protocol/worker';
import { MAX_TRACE_TOKENS, traceAndStep } from './panelData';

export type SpanKind = NonNullable<Sequence['span']>['kind'];

export interface SpanFacts {
  kind: SpanKind;
  /** 1-based lines of the first and the last traced character. */
  startLine: number;
  endLine: number;
  /** 1-based line and column of the cursor (cursor and noSelection). */
  cursor: { line: number; column: number } | null;
  /** Tokens traced, and tokens there were to choose from in the text sent. */
  kept: number;
  available: number;
  /** The document goes on beyond the text sent, on the side that was cut (so `available` is not its whole count). */
  clipped: boolean;
}

/** The heading of a trace: exactly what was traced, and whether it was cut. */
export function spanName(f: SpanFacts): string {
  const lines = f.startLine === f.endLine ? `line ${f.startLine}` : `lines ${f.startLine}–${f.endLine}`;
  const last = f.kind === 'cursor' || f.kind === 'noSelection';
  const cut = f.kept < f.available || f.clipped;
  const count = (n: number): string => `${n} token${n === 1 ? '' : 's'}`;
  const cutNote = !cut ? '' : `: the ${last ? 'last' : 'first'} ${f.clipped ? count(f.kept) : `${f.kept} of ${count(f.available)}`}`;
  const at = f.cursor ? `${f.cursor.line}:${f.cursor.column}` : '';
  switch (f.kind) {
    case 'cursor':
      return `${lines}, up to the cursor${at ? ` at ${at}` : ''}${cutNote}`;
    case 'noSelection':
      return `no selection: the text before the cursor${at ? ` at ${at}` : ''}, ${lines}${cutNote}`;
    case 'selection':
      return `the selection, ${lines}${cutNote}`;
    case 'start':
      return cut ? `the start of the file, ${lines}${cutNote}` : `the whole file, ${lines}`;
    case 'startBeforeCursor':
      return `nothing before the cursor${at ? ` at ${at}` : ''}: ${cut ? `the start of the file, ${lines}${cutNote}` : `the whole file, ${lines}`}`;
  }
}

function newlinesBefore(text: string, end: number): number {
  let n = 0;
  for (let k = text.indexOf('\n'); k >= 0 && k < end; k = text.indexOf('\n', k + 1)) n++;
  return n;
}

/**
 * The panel's trace of `sequence`: at most its `maxTokens` tokens (the last ones up to the cursor,
 * the first ones of a selection or of the file), named by spanName when the sequence says where it
 * stands. A token the host's window may have cut in two (at a clipped end) is left out. Spans and
 * the cursor are in the coordinates of the whole sequence text.
 */
export function traceSequence(model: LSTMModel, tokenizer: Tokenizer, sequence: Sequence, step: number, window: number | null): TraceMessage | null {
  return traceSequenceAndStep(model, tokenizer, sequence, step, window)?.trace ?? null;
}

/** traceSequence, and with `sequence.explain` the Step tab's step of the same reading (see traceAndStep). */
export function traceSequenceAndStep(model: LSTMModel, tokenizer: Tokenizer, sequence: Sequence, step: number, window: number | null): { trace: TraceMessage; step: StepMessage | null } | null {
  const { text, span } = sequence;
  const all = tokenizer.encodeWithSpans(text);
  const n = all.ids.length;
  if (n === 0) return null;
  const max = Math.max(1, Math.min(sequence.maxTokens ?? MAX_TRACE_TOKENS, MAX_TRACE_TOKENS));
  let lo = 0;
  let hi = n;
  if (span?.clippedBefore && hi - lo > 1) lo++;
  if (span?.clippedAfter && hi - lo > 1) hi--;
  const available = hi - lo;
  if (sequence.keep === 'last') lo = Math.max(lo, hi - max);
  else hi = Math.min(hi, lo + max);
  const a = all.spans[2 * lo];
  const b = all.spans[2 * (hi - 1) + 1];
  const cursorOffset = span?.cursor ? span.cursor.offset - a : null;
  const cursor = cursorOffset !== null && cursorOffset >= 0 && cursorOffset <= b - a ? cursorOffset : null;
  const both = traceAndStep(model, tokenizer, text.slice(a, b), sequence.source, step, 5, sequence.keep, window, cursor, sequence.explain ?? null);
  if (!both) return null;
  const trace = both.trace;
  trace.spans = trace.spans.map((x) => x + a);
  if (trace.cursor !== null && trace.cursor !== undefined) trace.cursor += a;
  if (span) {
    const first = trace.spans[0];
    const end = trace.spans[2 * trace.T - 1];
    trace.source = spanName({
      kind: span.kind,
      startLine: span.firstLine + newlinesBefore(text, first) + 1,
      endLine: span.firstLine + newlinesBefore(text, Math.max(first, end - 1)) + 1,
      cursor: span.cursor ? { line: span.cursor.line + 1, column: span.cursor.column + 1 } : null,
      kept: trace.T,
      available,
      clipped: sequence.keep === 'last' ? span.clippedBefore : span.clippedAfter,
    });
  }
  return both;
}
