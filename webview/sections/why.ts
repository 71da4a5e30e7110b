// "Why": on the Training tab, the time line (a slider across the run's snapshots: the panel, the
// editor's surprise and the samples follow the chosen one) and the baseline (the LSTM's held-out
// loss against n-gram orders 1..6, as bars); on the Predictions tab, the attribution strip (which
// earlier tokens drive a prediction: the gradient's norm and gradient × input per token). Pure
// renderers of the store's WhyState; the slider and the button post to the host.

import type { WhyHostToPanel } from '../../src/protocol/why';
import { formatValue, showToken } from '../format';
import { el } from '../ui/dom';
import { button } from '../ui/toolkit';
import type { SectionContext } from './context';

/** Tokens of the attribution strip shown at most (the last ones, the predicted token last). */
const STRIP_TOKENS = 96;

export function renderTimeline(view: HTMLElement, ctx: SectionContext): void {
  const why = ctx.store.why;
  view.replaceChildren();
  const stops = why.stops();
  if (stops.length > 0) {
    view.append(el('h2', { text: 'Time line', id: 'timeline-heading' }));
    const chosen = why.timeline?.chosen ?? null;
    const index = Math.max(0, chosen === null ? stops.length - 1 : stops.findIndex((s) => s.step === chosen));
    const label = (k: number): string => {
      const s = stops[k];
      return `${s.step === null ? 'latest, ' : ''}step ${s.shownStep}${s.loss === null ? '' : `, loss ${formatValue(s.loss)}`}`;
    };
    const slider = el('input', {
      id: 'timeline-slider',
      class: 'timeline-slider',
      attrs: { type: 'range', min: 0, max: stops.length - 1, step: 1, value: index, 'aria-labelledby': 'timeline-heading', 'aria-valuetext': label(index) },
    });
    const readout = el('span', { class: 'timeline-readout', id: 'timeline-readout', text: label(index), attrs: { 'aria-live': 'polite' } });
    slider.addEventListener('input', () => {
      const k = Number(slider.value);
      readout.textContent = label(k);
      slider.setAttribute('aria-valuetext', label(k));
    });
    slider.addEventListener('change', () => ctx.post?.({ type: 'whyChooseSnapshot', step: stops[Number(slider.value)].step }));
    const ticks = el(
      'div',
      { class: 'timeline-ticks', attrs: { 'aria-hidden': 'true' } },
      ...stops.map((s, k) => el('span', { class: `timeline-tick${k === index ? ' chosen' : ''}`, text: s.step === null ? `${s.shownStep}` : String(s.shownStep), attrs: { 'data-step': s.step === null ? 'latest' : s.step } })),
    );
    const s = stops[index];
    view.append(
      el('p', { class: 'muted', text: `${stops.length - (why.timeline?.latest ? 1 : 0)} snapshots kept at roughly geometric steps, the latest last: the States, Gradients, Step and Predictions tabs and the editor's surprise show the chosen one's weights.` }),
      el('div', { class: 'timeline-row' }, slider, readout),
      ticks,
      el('h3', { text: s.sample === null ? 'The latest weights' : `Sample at step ${s.shownStep}` }),
      s.sample === null
        ? el('p', { class: 'muted', text: 'Generate Text at Cursor writes a sample of the latest weights into the editor.' })
        : el('pre', { class: 'timeline-sample', id: 'timeline-sample', text: s.sample }),
      samplesList(stops),
    );
  }
  view.append(baselineBars(why.baseline));
}

/** Every snapshot's sample, one under the other (Karpathy's "samples at iteration 100, 300, 500…"). */
function samplesList(stops: ReturnType<SectionContext['store']['why']['stops']>): HTMLElement {
  const d = el('details', { class: 'timeline-samples', id: 'timeline-samples' }, el('summary', { text: 'Every snapshot’s sample' }));
  for (const s of stops) {
    if (s.sample === null) continue;
    d.append(el('div', { class: 'timeline-sample-row' }, el('span', { class: 'muted', text: `step ${s.shownStep}` }), el('pre', { class: 'timeline-sample small', text: s.sample.slice(0, 160) })));
  }
  return d;
}

function baselineBars(m: Extract<WhyHostToPanel, { type: 'whyBaseline' }> | null): HTMLElement {
  const box = el('div', { class: 'baseline', id: 'baseline' }, el('h2', { text: 'Baseline: n-grams' }));
  if (!m) return box;
  const b = m.baseline;
  if (!b) {
    box.append(el('p', { class: 'muted', text: m.note ?? '' }));
    return box;
  }
  const rows: Array<{ name: string; loss: number; kind: string }> = b.orders.map((o) => ({ name: `${o.order}-gram`, loss: o.loss, kind: o.order === b.best ? 'best' : 'ngram' }));
  if (b.lstm !== null) rows.push({ name: 'LSTM', loss: b.lstm, kind: 'lstm' });
  const max = Math.max(...rows.map((r) => r.loss));
  const list = el('div', { class: 'baseline-bars', role: 'list' });
  for (const r of rows) {
    const bar = el('span', { class: `baseline-fill ${r.kind}` });
    bar.style.width = `${(100 * r.loss) / max}%`;
    list.append(
      el(
        'div',
        { class: 'baseline-row', role: 'listitem', attrs: { 'data-kind': r.kind, 'data-loss': String(r.loss), 'aria-label': `${r.name}: ${formatValue(r.loss)} nats per token` } },
        el('span', { class: 'baseline-name', text: r.name }),
        el('span', { class: 'baseline-bar' }, bar),
        el('span', { class: 'baseline-value', text: formatValue(r.loss) }),
      ),
    );
  }
  const best = b.orders.find((o) => o.order === b.best);
  const beaten = b.lstm === null ? [] : b.orders.filter((o) => b.lstm !== null && b.lstm < o.loss).map((o) => o.order);
  const verdict =
    b.lstm === null
      ? 'The LSTM’s loss on this part could not be measured (too few tokens for a window).'
      : beaten.length === b.orders.length
        ? `The LSTM beats every order, the best (${b.best}-gram, ${formatValue(best?.loss ?? NaN)}) by ${formatValue((best?.loss ?? 0) - b.lstm)} nats per token.`
        : beaten.length === 0
          ? 'The LSTM does not beat even the 1-gram yet: counting letters does better.'
          : `The LSTM beats the ${beaten.map((o) => `${o}-gram`).join(', ')}, not yet the ${b.orders.filter((o) => !beaten.includes(o.order)).map((o) => `${o.order}-gram`).join(', ')}.`;
  box.append(
    el('p', { class: 'muted', text: `Held-out loss, nats per token, on the text’s last tenth (${b.heldoutTokens} tokens; the n-grams counted the first ${b.trainTokens}, with interpolated Kneser–Ney smoothing). Lower is better.` }),
    list,
    el('p', { class: 'baseline-verdict', id: 'baseline-verdict', text: verdict }),
  );
  return box;
}

export function renderAttribution(view: HTMLElement, ctx: SectionContext): void {
  view.replaceChildren(el('h2', { text: 'Why this prediction?', id: 'attribution-heading' }));
  const ask = button({
    label: 'Why the picked prediction?',
    id: 'attribution-ask',
    title: 'Which earlier tokens drive the prediction picked above (also: LSTM Lens: Why This Prediction? at the cursor)',
    onClick: () => {
      const picked = document.getElementById('prediction-detail')?.dataset.position;
      const t = picked === undefined ? NaN : Number(picked);
      const trace = ctx.store.trace;
      if (trace && Number.isInteger(t) && t >= 0 && t + 1 < trace.T) ctx.post?.({ type: 'whyAttribute', t });
    },
  });
  view.append(ask);
  const a = ctx.store.why.attribution;
  if (!a) {
    view.append(el('p', { class: 'muted', text: 'Pick a token above, or run “LSTM Lens: Why This Prediction?” in the editor: the earlier tokens are shaded by how much the prediction depends on them.' }));
    return;
  }
  const T = a.tokens.length;
  const first = Math.max(0, T - STRIP_TOKENS);
  const maxNorm = Math.max(1e-30, ...a.gradNorm.slice(first, T - 1));
  const maxProduct = Math.max(1e-30, ...a.gradXInput.slice(first, T - 1).map(Math.abs));
  view.append(
    el('p', { class: 'muted', id: 'attribution-summary', text: `p(${showToken(a.target)}) = ${(100 * a.p).toPrecision(3)}%. Each earlier token: the norm of ∂ log p / ∂x (shade), and gradient × input (below: red raises p, blue lowers it).` }),
  );
  const strip = el('div', { class: 'attribution-strip', id: 'attribution-strip', role: 'list', attrs: { 'aria-labelledby': 'attribution-heading' } });
  for (let t = first; t < T; t++) {
    const target = t === T - 1;
    const share = target ? 0 : a.gradNorm[t] / maxNorm;
    const signed = target ? 0 : a.gradXInput[t] / maxProduct;
    const chip = el(
      'span',
      {
        class: `attribution-chip${target ? ' target' : ''}`,
        role: 'listitem',
        attrs: {
          tabindex: 0,
          'data-t': t,
          'data-norm': String(a.gradNorm[t]),
          'aria-label': target ? `the predicted token ${showToken(a.tokens[t])}` : `${showToken(a.tokens[t])}: gradient norm ${formatValue(a.gradNorm[t])}, gradient × input ${formatValue(a.gradXInput[t])}`,
        },
      },
      el('span', { class: 'attribution-token', text: showToken(a.tokens[t]) }),
      el('span', { class: 'attribution-product' }),
    );
    (chip.firstChild as HTMLElement).style.backgroundColor = `rgba(94, 60, 200, ${(0.08 + 0.8 * share).toFixed(3)})`;
    (chip.lastChild as HTMLElement).style.backgroundColor = signed >= 0 ? `rgba(178, 24, 43, ${Math.abs(signed).toFixed(3)})` : `rgba(33, 102, 172, ${Math.abs(signed).toFixed(3)})`;
    chip.title = target ? 'the predicted token' : `‖∂ log p/∂x‖ = ${formatValue(a.gradNorm[t])} · gradient × input = ${formatValue(a.gradXInput[t])}`;
    strip.append(chip);
  }
  view.append(strip);
}
