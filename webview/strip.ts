// The sequence as a strip of tokens, every one labelled whatever the width: it wraps like text.
// Hovering a token outlines its column in every map of the section (heatmap.linkColumns), and the
// editor's cursor is marked where it stands among the tokens.

import type { TraceMessage } from '../src/protocol/panel';
import { COLUMN_EVENT } from './heatmap';
import { showToken } from './format';
import { el } from './ui/dom';

/** The boundary (0..T) the cursor stands at: after every token that starts before it; null when unknown. */
export function cursorBoundary(trace: TraceMessage): number | null {
  const at = trace.cursor;
  if (at === null || at === undefined) return null;
  const last = trace.spans[2 * trace.T - 1] ?? 0;
  if (at > last) return null;
  let k = 0;
  while (k < trace.T && trace.spans[2 * k] < at) k++;
  return k;
}

export interface StripOptions {
  id: string;
  /** A token's background and text colours (the Predictions strip), or none. */
  colour?: (t: number) => { background: string; ink: string } | null;
  /** Extra attributes of a token (data-*). */
  data?: (t: number) => Record<string, string>;
  /** A token's title (its whole text, and more). */
  title?: (t: number) => string;
  /** Token chosen (click or Enter), or none. */
  onPick?: (t: number) => void;
  /** Token shown outlined (the one picked). */
  picked?: number | null;
  /** Tokens are buttons (focusable) rather than labels. */
  interactive?: boolean;
}

export function tokenStrip(trace: TraceMessage, o: StripOptions): HTMLElement {
  const cursor = cursorBoundary(trace);
  const strip = el('div', { class: 'token-strip', id: o.id, attrs: { 'data-tokens': trace.T } });
  const caret = (): HTMLElement => el('span', { class: 'text-cursor', title: 'the cursor', attrs: { 'data-at': String(cursor), role: 'img', 'aria-label': 'the cursor' } });
  for (let t = 0; t < trace.T; t++) {
    if (cursor === t) strip.append(caret());
    const token = trace.tokens[t];
    const chip = el(o.interactive ? 'button' : 'span', {
      class: `token-chip${o.picked === t ? ' picked' : ''}`,
      text: showToken(token),
      title: o.title ? o.title(t) : `${JSON.stringify(token)} (t = ${t})`,
      attrs: { 'data-col': t, 'data-token': token, ...(o.data?.(t) ?? {}) },
    });
    if (token === '\n') chip.classList.add('newline');
    const colour = o.colour?.(t);
    if (colour) {
      chip.style.backgroundColor = colour.background;
      chip.style.color = colour.ink;
      chip.classList.add('coloured');
    }
    chip.addEventListener('mouseenter', () => chip.dispatchEvent(new CustomEvent<number | null>(COLUMN_EVENT, { bubbles: true, detail: t })));
    chip.addEventListener('mouseleave', () => chip.dispatchEvent(new CustomEvent<number | null>(COLUMN_EVENT, { bubbles: true, detail: null })));
    if (o.onPick) {
      const pick = o.onPick;
      chip.addEventListener('click', () => pick(t));
    }
    strip.append(chip);
  }
  if (cursor === trace.T) strip.append(caret());
  return strip;
}
