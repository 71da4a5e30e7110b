// Training: where the run is, the loss curve (raw and smoothed), tokens per second and the
// learning rate.

import { ema } from '../charts';
import { formatRate, formatValue } from '../format';
import { el } from '../ui/dom';
import { placeholder, type SectionContext } from './context';

/** Smoothing of the loss curve: an exponential moving average with this weight on the past. */
export const LOSS_SMOOTHING = 0.9;

export function renderTraining(view: HTMLElement, ctx: SectionContext): void {
  const t = ctx.store.training;
  view.replaceChildren();
  view.append(el('h2', { text: 'Training' }));
  if (!t) {
    const model = ctx.store.model;
    view.append(placeholder(model ? `No training run seen yet. The model has been trained for ${model.summary.step} steps${model.summary.loss === null ? '' : ` (last loss ${formatValue(model.summary.loss)})`}.` : 'Waiting for a model.'));
    return;
  }
  const h = t.history;
  const smooth = ema(h.loss, LOSS_SMOOTHING);
  const lastLoss = h.loss.length ? h.loss[h.loss.length - 1] : null;
  const lastSmooth = smooth.length ? smooth[smooth.length - 1] : null;
  const lr = h.learningRate.length ? h.learningRate[h.learningRate.length - 1] : null;
  const progress = t.totalSteps > 0 ? Math.min(1, t.step / t.totalSteps) : 0;

  const bar = el('span', { class: 'progress', role: 'progressbar', attrs: { 'aria-valuemin': 0, 'aria-valuemax': t.totalSteps, 'aria-valuenow': t.step, 'aria-label': 'training progress' } });
  const fill = el('span', { class: 'progress-fill' });
  fill.style.width = `${progress * 100}%`;
  bar.append(fill);
  view.append(
    el(
      'div',
      { class: 'stats', id: 'training-stats' },
      stat('Step', `${t.step.toLocaleString('en-US')} / ${t.totalSteps.toLocaleString('en-US')}`, t.running ? 'training' : 'stopped', bar),
      stat('Loss', lastLoss === null ? '–' : formatValue(lastLoss), lastSmooth === null ? '' : `smoothed ${formatValue(lastSmooth)}`),
      stat('Tokens / s', formatRate(t.tokensPerSecond), t.running ? 'now' : 'last'),
      stat('Learning rate', lr === null ? '–' : formatValue(lr), t.clip === null ? 'no clipping' : `clip at ${formatValue(t.clip)}`),
    ),
  );
  if (h.step.length === 0) {
    view.append(placeholder('No steps in the history yet.'));
    return;
  }
  view.append(
    ctx.charts.add({
      id: 'chart-loss',
      title: `Loss per step (raw, and smoothed: moving average with weight ${LOSS_SMOOTHING} on the past)`,
      xLabel: 'step',
      yLabel: 'loss',
      x: h.step,
      lines: [
        { label: 'loss', colour: ctx.theme.blue, values: h.loss, width: 1, faint: true },
        { label: 'smoothed', colour: ctx.theme.blue, values: smooth, width: 2.25 },
      ],
      width: ctx.width,
      height: 240,
      theme: ctx.theme,
    }),
  );
  const lrConstant = h.learningRate.every((v) => v === h.learningRate[0]);
  if (lrConstant) {
    view.append(el('p', { class: 'note-text', id: 'learning-rate' }, `The learning rate stays at ${formatValue(h.learningRate[0])} over these steps.`));
    return;
  }
  view.append(
    ctx.charts.add({
      id: 'chart-lr',
      title: 'Learning rate',
      xLabel: 'step',
      yLabel: 'rate',
      x: h.step,
      lines: [{ label: 'learning rate', colour: ctx.theme.purple, values: h.learningRate, width: 1.5 }],
      width: ctx.width,
      height: 140,
      theme: ctx.theme,
    }),
  );
}

function stat(label: string, value: string, detail: string, extra?: HTMLElement): HTMLElement {
  return el('div', { class: 'stat' }, el('div', { class: 'stat-label', text: label }), el('div', { class: 'stat-value', text: value }), extra ?? null, detail ? el('div', { class: 'stat-detail', text: detail }) : null);
}
