// Predictions: at each position, the model's most likely next tokens, with the token that really
// comes next marked when it is among them.

import { formatProbability, formatValue, showToken } from '../format';
import { el } from '../ui/dom';
import { placeholder, type SectionContext } from './context';
import { waitingText } from './states';

export function renderPredictions(view: HTMLElement, ctx: SectionContext): void {
  const { trace, model } = ctx.store;
  view.replaceChildren();
  view.append(el('h2', { text: 'Predictions' }));
  if (!trace) {
    view.append(placeholder(waitingText(ctx)));
    return;
  }
  const oneToMany = model?.summary.mode === 'many_to_one';
  view.append(
    el(
      'p',
      { class: 'lede' },
      `After reading each token, the ${trace.predictions[0]?.length ?? 0} next tokens the model finds most likely. ` +
        `A ✓ marks the token that really follows. ${oneToMany ? 'This model is trained to predict only after the last token of a window; the earlier rows show what it makes of shorter contexts.' : ''}` +
        (trace.loss === null ? '' : ` Mean loss over the sequence: ${formatValue(trace.loss)}.`),
    ),
  );
  const table = el('table', { class: 'predictions', id: 'predictions' });
  table.append(
    el('thead', {}, el('tr', {}, el('th', { text: 't', attrs: { scope: 'col' } }), el('th', { text: 'after', attrs: { scope: 'col' } }), el('th', { text: 'next', attrs: { scope: 'col' } }), el('th', { text: 'most likely next tokens', attrs: { scope: 'col' } }))),
  );
  const body = el('tbody');
  trace.predictions.forEach((row, t) => {
    const actual = t + 1 < trace.T ? trace.tokens[t + 1] : null;
    const guesses = el('div', { class: 'guess-list' });
    for (const p of row) {
      const hit = actual !== null && p.token === actual;
      const fill = el('span', { class: 'guess-fill' });
      fill.style.width = `${Math.max(0, Math.min(1, p.p)) * 100}%`;
      guesses.append(
        el(
          'span',
          { class: `guess${hit ? ' hit' : ''}`, title: `${JSON.stringify(p.token)}: ${formatProbability(p.p)}` },
          fill,
          el('span', { class: 'guess-token', text: showToken(p.token) }),
          el('span', { class: 'guess-p', text: formatProbability(p.p) }),
          hit ? el('span', { class: 'guess-hit', text: '✓', attrs: { 'aria-label': 'the actual next token' } }) : null,
        ),
      );
    }
    body.append(
      el(
        'tr',
        {},
        el('td', { class: 'num', text: String(t) }),
        el('td', { class: 'token', text: showToken(trace.tokens[t]) }),
        el('td', { class: 'token next', text: actual === null ? '—' : showToken(actual) }),
        el('td', { class: 'guesses' }, guesses),
      ),
    );
  });
  table.append(body);
  view.append(el('div', { class: 'scroll-x' }, table));
}
