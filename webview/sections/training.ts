// Training: where the run is, the loss curve (raw and smoothed) against the loss of a uniform
// guess (ln V), tokens per second and the learning rate. The curve comes from the run the panel
// watched, or from the checkpoint's stored history when the panel did not watch it (or watched
// less of it).

import type { Curve } from '../../src/protocol/panel';
import { ema, type Line } from '../charts';
import { formatRate, formatValue } from '../format';
import type { PanelStore } from '../store';
import { el } from '../ui/dom';
import { placeholder, type SectionContext } from './context';

/** Smoothing of the loss curve: an exponential moving average with this weight on the past. */
export const LOSS_SMOOTHING = 0.9;

/** A model at step 0 with no curve: made elsewhere (Open PyTorch Model…) and never trained here. */
export const NO_HISTORY =
  'This model has no training history: it has not been trained here (a model opened from PyTorch starts at step 0, without its loss curve). Train LSTM on This File continues it on this file, and its loss curve appears here.';

/** The history drawn: columns with step ascending; gradNorm and learningRate null where not kept. */
export interface RunHistory {
  source: 'live' | 'checkpoint';
  step: number[];
  loss: number[];
  gradNorm: Array<number | null> | null;
  learningRate: Array<number | null> | null;
  firstLoss: number | null;
}

function fromCurve(curve: Curve): RunHistory {
  // Sorted by step, one point per step (a malformed order must not break the chart).
  const points = [...curve.points].sort((a, b) => a.step - b.step).filter((p, i, all) => i === 0 || p.step !== all[i - 1].step);
  const norms = points.map((p) => p.gradNorm);
  const rates = points.map((p) => p.learningRate);
  return {
    source: 'checkpoint',
    step: points.map((p) => p.step),
    loss: points.map((p) => p.loss),
    gradNorm: norms.every((g): g is number => g !== null) ? norms : null,
    learningRate: rates.every((r): r is number => r !== null) ? rates : null,
    firstLoss: curve.firstLoss,
  };
}

/**
 * What the Training tab and the gradient-norm chart draw: the watched run while it runs or when
 * it reaches at least as far as the checkpoint's history; the checkpoint's otherwise.
 */
export function runHistory(store: PanelStore): RunHistory | null {
  const t = store.training;
  const live: RunHistory | null =
    t && t.history.step.length > 0
      ? { source: 'live', step: t.history.step, loss: t.history.loss, gradNorm: t.history.gradNorm, learningRate: t.history.learningRate, firstLoss: null }
      : null;
  const curve = store.model?.curve;
  const saved = curve && curve.points.length > 0 ? fromCurve(curve) : null;
  if (!saved) return live;
  if (!live) return saved;
  const lastLive = live.step[live.step.length - 1];
  const lastSaved = saved.step[saved.step.length - 1];
  if (!(t?.running || lastLive >= lastSaved)) return saved;
  // The run watched, after what the checkpoint kept of the steps before the panel saw it.
  const before = saved.step.findIndex((s) => s >= live.step[0]);
  const n = before < 0 ? saved.step.length : before;
  if (n === 0) return live;
  const column = (a: Array<number | null> | null, b: Array<number | null> | null, na: number, nb: number): Array<number | null> | null =>
    a === null && b === null ? null : [...(a ?? new Array<null>(na).fill(null)).slice(0, na), ...(b ?? new Array<null>(nb).fill(null))];
  return {
    source: 'live',
    step: [...saved.step.slice(0, n), ...live.step],
    loss: [...saved.loss.slice(0, n), ...live.loss],
    gradNorm: column(saved.gradNorm, live.gradNorm, n, live.step.length),
    learningRate: column(saved.learningRate, live.learningRate, n, live.step.length),
    firstLoss: saved.firstLoss,
  };
}

export function renderTraining(view: HTMLElement, ctx: SectionContext): void {
  const t = ctx.store.training;
  const model = ctx.store.model;
  view.replaceChildren();
  view.append(el('h2', { text: 'Training' }));
  const h = runHistory(ctx.store);
  if (!t && !h) {
    const message = !model
      ? 'Waiting for a model.'
      : model.summary.step === 0
        ? NO_HISTORY
        : `The model has been trained for ${model.summary.step} steps${model.summary.loss === null ? '' : ` (last loss ${formatValue(model.summary.loss)})`}; its checkpoint keeps no loss curve.`;
    const p = placeholder(message);
    p.id = 'training-none';
    view.append(p);
    return;
  }
  const V = model?.summary.vocabSize ?? null;
  const uniform = V !== null && V > 1 ? Math.log(V) : null;
  const loss = h?.loss ?? [];
  const smooth = ema(loss, LOSS_SMOOTHING);
  const lastLoss = loss.length ? loss[loss.length - 1] : null;
  const lastSmooth = smooth.length ? smooth[smooth.length - 1] : null;
  const rates = h?.learningRate ?? null;
  const lr = rates && rates.length ? rates[rates.length - 1] : null;

  const stats = el('div', { class: 'stats', id: 'training-stats' });
  if (t) {
    const progress = t.totalSteps > 0 ? Math.min(1, t.step / t.totalSteps) : 0;
    const bar = el('span', { class: 'progress', role: 'progressbar', attrs: { 'aria-valuemin': 0, 'aria-valuemax': t.totalSteps, 'aria-valuenow': t.step, 'aria-label': 'training progress' } });
    const fill = el('span', { class: 'progress-fill' });
    fill.style.width = `${progress * 100}%`;
    bar.append(fill);
    const outcome = t.running ? 'training' : t.step >= t.totalSteps ? 'finished' : `stopped before step ${t.totalSteps.toLocaleString('en-US')}`;
    stats.append(stat('Step', t.running || t.step < t.totalSteps ? `${t.step.toLocaleString('en-US')} / ${t.totalSteps.toLocaleString('en-US')}` : t.step.toLocaleString('en-US'), outcome, bar, 'stat-step'));
  } else if (model) {
    stats.append(stat('Step', model.summary.step.toLocaleString('en-US'), 'trained (from the checkpoint)', undefined, 'stat-step'));
  }
  stats.append(stat('Loss', lastLoss === null ? '–' : formatValue(lastLoss), lastSmooth === null ? '' : `smoothed ${formatValue(lastSmooth)}${h?.firstLoss != null ? ` · first ${formatValue(h.firstLoss)}` : ''}`, undefined, 'stat-loss'));
  if (uniform !== null) stats.append(stat('Uniform guess', formatValue(uniform), `ln V, V = ${V}: nats per token`, undefined, 'stat-uniform'));
  if (t) stats.append(speed(t));
  stats.append(stat('Learning rate', lr === null ? '–' : formatValue(lr), t ? (t.clip === null ? 'no clipping' : `clip at ${formatValue(t.clip)}`) : '', undefined, 'stat-lr'));
  view.append(stats);

  if (!h || h.step.length === 0) {
    view.append(placeholder('No steps in the history yet.'));
    return;
  }
  const bucketed = h.source === 'checkpoint' && h.step.length > 1 && h.step[h.step.length - 1] - h.step[0] + 1 > h.step.length;
  view.append(
    el(
      'p',
      { class: 'note-text', id: 'loss-source', attrs: { 'data-source': h.source } },
      (h.source === 'checkpoint' ? `From the checkpoint: ${h.step.length.toLocaleString('en-US')} points${bucketed ? ', each the mean loss of a run of steps' : ''}. ` : '') +
        'Loss is the mean cross-entropy in nats per token' +
        (uniform === null ? '.' : `; a model that guesses every token alike scores ln V = ${formatValue(uniform)} (the dashed line), and a model that predicts well goes far below it.`),
    ),
  );
  const lines: Line[] = [
    { label: 'loss', colour: ctx.theme.blue, values: h.loss, width: 1, faint: true },
    { label: 'smoothed', colour: ctx.theme.blue, values: smooth, width: 2.25 },
  ];
  if (uniform !== null) lines.push({ label: `uniform, ln ${V}`, colour: ctx.theme.muted, values: h.step.map(() => uniform), width: 1, dash: [5, 4] });
  const chart = ctx.charts.add({
    id: 'chart-loss',
    title: `Loss per step (raw, and smoothed: moving average with weight ${LOSS_SMOOTHING} on the past)`,
    xLabel: 'step',
    yLabel: 'loss (nats per token)',
    x: h.step,
    lines,
    width: ctx.width,
    height: 240,
    theme: ctx.theme,
  });
  if (uniform !== null) chart.dataset.baseline = String(uniform);
  chart.dataset.source = h.source;
  view.append(chart);
  if (!rates) return;
  const known = rates.filter((v): v is number => v !== null);
  const lrConstant = known.every((v) => v === known[0]);
  if (lrConstant) {
    if (known.length) view.append(el('p', { class: 'note-text', id: 'learning-rate' }, `The learning rate stays at ${formatValue(known[0])} over these steps.`));
    return;
  }
  view.append(
    ctx.charts.add({
      id: 'chart-lr',
      title: 'Learning rate',
      xLabel: 'step',
      yLabel: 'rate',
      x: h.step,
      lines: [{ label: 'learning rate', colour: ctx.theme.purple, values: rates, width: 1.5 }],
      width: ctx.width,
      height: 140,
      theme: ctx.theme,
    }),
  );
}

/** Tokens per second: now while running; the run's average once it is over (when the host says it). */
function speed(t: NonNullable<PanelStore['training']>): HTMLElement {
  if (t.running) return stat('Tokens / s', formatRate(t.tokensPerSecond), 'now', undefined, 'stat-speed');
  if (t.averageTokensPerSecond !== undefined && t.averageTokensPerSecond > 0) return stat('Tokens / s', formatRate(t.averageTokensPerSecond), 'average over the run', undefined, 'stat-speed');
  if (t.tokensPerSecond > 0) return stat('Tokens / s', formatRate(t.tokensPerSecond), 'at the last step', undefined, 'stat-speed');
  return stat('Tokens / s', '–', 'not measured', undefined, 'stat-speed');
}

function stat(label: string, value: string, detail: string, extra?: HTMLElement, id?: string): HTMLElement {
  return el(
    'div',
    { class: 'stat', ...(id ? { id } : {}) },
    el('div', { class: 'stat-label', text: label }),
    el('div', { class: 'stat-value', text: value }),
    extra ?? null,
    detail ? el('div', { class: 'stat-detail', text: detail }) : null,
  );
}
