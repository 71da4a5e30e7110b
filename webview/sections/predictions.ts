// Predictions: the sequence as text, each token coloured by the probability the model gave it
// before reading it (how expected it was), and, for the token hovered or clicked, the tokens the
// model found most likely there, with the probability of the one that really came, even when it
// is not among them. The box after the last token is what the model expects next.

import type { Guess, TraceMessage } from '../../src/protocol/panel';
import { inkOn, probabilityScale } from '../colour';
import { formatProbability, formatValue, showToken } from '../format';
import { legendBar } from '../heatmap';
import { tokenStrip } from '../strip';
import { el } from '../ui/dom';
import { placeholder, type SectionContext } from './context';
import { waitingText } from './states';

/** k: how many most likely tokens each row holds (the last row's length: nothing is added to it, no token follows). */
export function topK(trace: TraceMessage): number {
  return trace.predictions[trace.T - 1]?.length ?? 0;
}

/** The token that follows position t and the probability it was given; p null when not known. */
export function actualAt(trace: TraceMessage, t: number): { token: string; p: number | null; inTop: boolean } | null {
  if (t + 1 >= trace.T) return null;
  const token = trace.tokens[t + 1];
  const row = trace.predictions[t] ?? [];
  const k = topK(trace);
  const marked = row.findIndex((g) => g.actual);
  if (marked >= 0) return { token, p: row[marked].p, inTop: marked < k };
  // Older recordings: no mark; found among the top k, or not known.
  const hit = row.find((g) => g.token === token);
  return { token, p: hit ? hit.p : null, inTop: !!hit };
}

export function renderPredictions(view: HTMLElement, ctx: SectionContext): void {
  const { trace, model } = ctx.store;
  view.replaceChildren();
  view.append(el('h2', { text: 'Predictions' }));
  if (!trace) {
    view.append(placeholder(waitingText(ctx)));
    return;
  }
  const traceK = topK(trace);
  const oneToMany = model?.summary.mode === 'many_to_one';
  const scale = probabilityScale();
  view.append(
    el(
      'p',
      { class: 'lede' },
      'Each token is coloured by the probability the model gave it just before reading it: bright where it was expected, dark where it was a surprise. ' +
        `Hover or click a token to see the ${traceK} tokens the model found most likely there; the last box is what it expects next.` +
        (oneToMany ? ' This model was trained to predict from windows; each prediction here comes from the window that ends there.' : '') +
        (trace.loss === null ? '' : ` Mean loss over the sequence: ${formatValue(trace.loss)} nats per token.`),
    ),
    probabilityLegend(scale),
  );
  let pinned = trace.T - 1;
  const detail = el('div', { class: 'prediction-detail', id: 'prediction-detail', attrs: { 'aria-live': 'polite' } });
  const show = (position: number | null): void => {
    detail.replaceChildren(...details(trace, position === null ? pinned : position));
    detail.dataset.position = String(position === null ? pinned : position);
  };
  const chips = tokenStrip(trace, {
    id: 'prediction-strip',
    interactive: true,
    colour: (t) => {
      if (t === 0) return null;
      const a = actualAt(trace, t - 1);
      if (!a || a.p === null) return null;
      return { background: scale.css(a.p), ink: inkOn(scale.lut, scale.index(a.p)) };
    },
    data: (t): Record<string, string> => {
      const a = t === 0 ? null : actualAt(trace, t - 1);
      return a && a.p !== null ? { 'data-p': String(a.p) } : {};
    },
    title: (t) => {
      const a = t === 0 ? null : actualAt(trace, t - 1);
      return `${JSON.stringify(trace.tokens[t])} (t = ${t})${a && a.p !== null ? `: p = ${formatProbability(a.p)}` : ''}`;
    },
    onPick: (t) => {
      pinned = t === 0 ? 0 : t - 1;
      for (const c of Array.from(chips.querySelectorAll('.picked'))) c.classList.remove('picked');
      chips.querySelector(`[data-col="${t}"]`)?.classList.add('picked');
      show(null);
    },
  });
  const next = el('button', { class: 'token-chip next-chip picked', text: 'next ▸', title: 'What the model expects after the last token', attrs: { 'data-col': 'next' } });
  next.addEventListener('click', () => {
    pinned = trace.T - 1;
    for (const c of Array.from(chips.querySelectorAll('.picked'))) c.classList.remove('picked');
    next.classList.add('picked');
    show(null);
  });
  chips.append(next);
  for (const chip of Array.from(chips.querySelectorAll<HTMLElement>('.token-chip'))) {
    const col = chip.dataset.col;
    chip.addEventListener('mouseenter', () => show(col === 'next' ? trace.T - 1 : Math.max(0, Number(col) - 1)));
    chip.addEventListener('focus', () => show(col === 'next' ? trace.T - 1 : Math.max(0, Number(col) - 1)));
  }
  chips.addEventListener('mouseleave', () => show(null));
  show(null);
  view.append(chips, detail);
}

/** What the model expected at `position`: its top k, and the token that came with its probability. */
function details(trace: TraceMessage, position: number): HTMLElement[] {
  const row = trace.predictions[position] ?? [];
  const actual = actualAt(trace, position);
  const traceK = topK(trace);
  const top: Guess[] = row.slice(0, traceK);
  const heading = el(
    'div',
    { class: 'detail-heading' },
    'After ',
    el('code', { class: 'token', text: showToken(trace.tokens[position]) }),
    el('span', { class: 'muted', text: ` (t = ${position})` }),
    actual ? ', where ' : ', the end of the text: what comes next?',
    actual ? el('code', { class: 'token', text: showToken(actual.token) }) : null,
    actual ? ' came next' : null,
  );
  const list = el('div', { class: 'guess-list', id: 'guesses' });
  for (const g of top) {
    const hit = !!actual && g.token === actual.token;
    const fill = el('span', { class: 'guess-fill' });
    fill.style.width = `${Math.max(0, Math.min(1, g.p)) * 100}%`;
    list.append(
      el(
        'span',
        { class: `guess${hit ? ' hit' : ''}`, title: `${JSON.stringify(g.token)}: ${formatProbability(g.p)}`, attrs: { 'data-token': g.token, 'data-p': String(g.p) } },
        fill,
        el('span', { class: 'guess-token', text: showToken(g.token) }),
        el('span', { class: 'guess-p', text: formatProbability(g.p) }),
        hit ? el('span', { class: 'guess-hit', text: '✓', attrs: { 'aria-label': 'the actual next token' } }) : null,
      ),
    );
  }
  const out = [heading, list];
  if (actual) {
    const inTop = actual.inTop;
    out.push(
      el(
        'div',
        { class: 'actual-line', id: 'actual-p', attrs: { 'data-token': actual.token, 'data-p': actual.p === null ? '' : String(actual.p), 'data-in-top': inTop ? 'yes' : 'no' } },
        'The actual next token ',
        el('code', { class: 'token', text: showToken(actual.token) }),
        actual.p === null ? ': its probability was not recorded.' : `: p = ${formatProbability(actual.p)}${inTop ? '' : ` (not among the ${traceK} most likely)`}; its loss ${formatValue(-Math.log(Math.max(actual.p, 1e-30)))} nats.`,
      ),
    );
  }
  return out;
}

function probabilityLegend(scale: ReturnType<typeof probabilityScale>): HTMLElement {
  return el('div', { class: 'legend prob-legend' }, el('span', { text: 'p of the token: ≤0.1%' }), legendBar(scale), el('span', { text: '100% (log scale)' }));
}
