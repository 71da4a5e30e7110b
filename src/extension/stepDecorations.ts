// The Step tab's memory span in the editor: the tokens after the chosen step k, coloured by how much
// of what unit u wrote at k survives there (the running product f_{k+1} ⋯ f_t of the step message's
// span), and the chosen token outlined. No `vscode` import: the host turns these offsets (in the
// trace's coordinates) into decorations.

import type { StepMessage } from '../protocol/panel';

/** Shades of the memory span's colour in the editor, from nothing kept (0) to all of it (SPAN_SHADES − 1). */
export const SPAN_SHADES = 5;

export interface SpanMark {
  /** The token's characters [start, end) in the coordinates of the trace's spans. */
  start: number;
  end: number;
  /** The token's position and the product f_{k+1} ⋯ f_t there. */
  t: number;
  value: number;
  /** floor(value · SPAN_SHADES), at most SPAN_SHADES − 1 (a product of sigmoids is within [0, 1]). */
  shade: number;
  hover: string;
}

export interface SpanMarks {
  /** The chosen step's token (the one the unit wrote at). */
  chosen: Omit<SpanMark, 'value' | 'shade'>;
  /** The later tokens this direction reads, in reading order. */
  later: SpanMark[];
}

/** Text shown as itself in Markdown (a token may be `*` or `_`). */
function markdownText(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, '\\$&').replace(/\n/g, '↵');
}

/**
 * Where the editor shows unit `unit`'s memory span of a step message: the chosen token and each
 * later one with its shade. `spans` holds each token's [start, end) (the trace's spans, 2T values).
 * Null when the unit is not in the message or a step is not a token of the spans.
 */
export function spanMarks(step: Pick<StepMessage, 'explanation' | 'span'>, unit: number, spans: ArrayLike<number>, tokenText: (t: number) => string): SpanMarks | null {
  const { explanation: e, span } = step;
  const H = e.forward.h.length;
  const T = spans.length / 2;
  if (!Number.isInteger(unit) || unit < 0 || unit >= H || span.memory.length !== span.steps.length * H) return null;
  if (span.steps.length === 0 || span.steps[0] !== e.t || span.steps.some((t) => t >= T)) return null;
  const where = `layer ${e.layer} ${e.direction}, unit ${unit}`;
  const wrote = `unit ${unit} wrote at t = ${e.t} (“${markdownText(tokenText(e.t))}”)`;
  const later: SpanMark[] = [];
  for (let s = 1; s < span.steps.length; s++) {
    const t = span.steps[s];
    const value = span.memory[s * H + unit];
    const shade = Math.max(0, Math.min(SPAN_SHADES - 1, Math.floor(value * SPAN_SHADES)));
    const hover = `LSTM Lens · ${where} · memory span: f_${e.t + (e.direction === 'forward' ? 1 : -1)} ⋯ f_${t} = **${value.toPrecision(3)}** of what ${wrote} survives in c at t = ${t}`;
    later.push({ start: spans[2 * t], end: spans[2 * t + 1], t, value, shade, hover });
  }
  return {
    chosen: { start: spans[2 * e.t], end: spans[2 * e.t + 1], t: e.t, hover: `LSTM Lens · ${where} · the Step tab's step t = ${e.t}: the later tokens are coloured by how much of what ${wrote} survives there` },
    later,
  };
}
