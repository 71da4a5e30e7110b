// What Show Surprise and Why This Prediction? paint in the editor, as plain data: each token's
// characters, its shade on a fixed scale and its hover. No `vscode` import: unit-tested in plain
// Node; surprise.ts and attribution.ts turn the marks into decorations.

import type { AnalyzedAnswer } from '../protocol/why';
import { tokenText } from './names';

/** Surprise −log p (nats) bin edges: shade k covers [EDGES[k-1], EDGES[k]); the last is open. */
export const SURPRISE_EDGES = [0.25, 0.5, 1, 2, 4] as const;
/** Gain (nats, n-gram less LSTM) magnitude bin edges, for each sign. */
export const GAIN_EDGES = [0.25, 0.5, 1, 2] as const;
/** Attribution shades: the gradient norm's share of the largest, in fifths. */
export const ATTRIBUTION_SHADES = 5;
/** Characters of a file coloured whole; a longer one has its visible part (and this much context before it) read. */
export const SURPRISE_WHOLE_CHARS = 20_000;
export const SURPRISE_CONTEXT_CHARS = 2_000;

export type SurpriseMode = 'surprise' | 'gain';

export interface Mark {
  /** Characters [start, end) in the coordinates of the text sent. */
  start: number;
  end: number;
  /** The decoration to use: a shade index, (for gain) negative shades for the n-gram's side. */
  shade: number;
  hover: string;
}

/** The shade of x on ascending bin edges: 0 below the first, edges.length at or above the last. */
export function binOf(x: number, edges: readonly number[]): number {
  let k = 0;
  while (k < edges.length && x >= edges[k]) k++;
  return k;
}

function md(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, '\\$&');
}

const percent = (p: number): string => `${(100 * p).toPrecision(p >= 0.1 ? 3 : 2)}%`;

/** The legend of a scale, one line: what the colours mean. */
export function legendText(mode: SurpriseMode, order: number | null): string {
  return mode === 'surprise'
    ? `surprise −log p in nats, darker from ${SURPRISE_EDGES.join(', ')} up (p ${SURPRISE_EDGES.map((e) => percent(Math.exp(-e))).join(', ')})`
    : `gain over the ${order ?? 'best'}-gram in nats: green where the LSTM predicts better, purple where counting does, darker from ${GAIN_EDGES.join(', ')} up`;
}

/**
 * The marks of a surprise answer over `text` (the text sent): every predicted token (t >= 1) that
 * starts at or after `from` (the visible part), shaded by its surprise, or by its gain in gain mode.
 */
export function surpriseMarks(text: string, a: Extract<AnalyzedAnswer, { kind: 'surprise' }>, mode: SurpriseMode, from = 0): Mark[] {
  const T = a.spans.length / 2;
  const marks: Mark[] = [];
  for (let t = 1; t < T; t++) {
    const start = a.spans[2 * t];
    const end = a.spans[2 * t + 1];
    if (start < from || end <= start) continue;
    const loss = a.values[t];
    const p = Math.exp(-loss);
    const guesses = a.top[t].map((g) => `\`${md(tokenText(g.token))}\` ${percent(g.p)}`).join(', ');
    let hover = `**LSTM Lens** · p(\`${md(tokenText(text.slice(start, end)))}\`) = **${percent(p)}** · surprise −log p = ${loss.toFixed(2)} nats`;
    if (guesses) hover += `  \nthe model expected: ${guesses}`;
    let shade: number;
    if (mode === 'gain' && a.gain) {
      const g = a.gain[t];
      const k = binOf(Math.abs(g), GAIN_EDGES);
      shade = g >= 0 ? k : -k;
      hover += `  \ngain over the ${a.order}-gram: ${g >= 0 ? '+' : ''}${g.toFixed(2)} nats (${g >= 0 ? 'the LSTM predicts it better' : 'counting predicts it better'})`;
    } else shade = binOf(loss, SURPRISE_EDGES);
    marks.push({ start, end, shade, hover });
  }
  return marks;
}

/** The attribution's marks: every earlier token shaded by its gradient norm's share of the largest, and the predicted token (shade -1, outlined). */
export function attributionMarks(text: string, a: Extract<AnalyzedAnswer, { kind: 'attribution' }>): Mark[] {
  const T = a.spans.length / 2;
  const max = Math.max(...a.gradNorm.slice(0, T - 1), 0);
  const marks: Mark[] = [];
  const target = `\`${md(tokenText(a.target))}\``;
  for (let t = 0; t < T - 1; t++) {
    const share = max > 0 ? a.gradNorm[t] / max : 0;
    const shade = Math.min(ATTRIBUTION_SHADES - 1, Math.floor(share * ATTRIBUTION_SHADES));
    if (share < 0.05) continue;
    const token = `\`${md(tokenText(text.slice(a.spans[2 * t], a.spans[2 * t + 1])))}\``;
    marks.push({
      start: a.spans[2 * t],
      end: a.spans[2 * t + 1],
      shade,
      hover: `**LSTM Lens** · how much ${token} drives the prediction of ${target}: ‖∂ log p / ∂x‖ = ${a.gradNorm[t].toPrecision(3)} (${percent(share)} of the largest), gradient × input = ${a.gradXInput[t].toPrecision(3)}`,
    });
  }
  marks.push({ start: a.spans[2 * (T - 1)], end: a.spans[2 * (T - 1) + 1], shade: -1, hover: `**LSTM Lens** · the prediction explained: p(${target}) = **${percent(a.p)}**; the earlier tokens are coloured by the gradient of log p with respect to their input` });
  return marks;
}
