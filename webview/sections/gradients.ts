// Gradients over time: dL/dh_t and dL/dc_t of the sequence's loss as units × steps maps, their norm
// at each step against how far the step is from the loss (the vanishing-gradient picture), the
// gradient of every LSTM weight of the chosen layer and direction split into its four gate blocks,
// and the global gradient norm of each training step with the steps that were clipped.

import type { TraceMessage } from '../../src/protocol/panel';
import type { Line } from '../charts';
import { divergingScale, maxAbs } from '../colour';
import { formatValue } from '../format';
import { heatmap, legend } from '../heatmap';
import { el } from '../ui/dom';
import { layoutMaps, placeholder, type SectionContext } from './context';
import { stateMap, waitingText } from './states';

const GATES = ['i', 'f', 'g', 'o'] as const;
const GATE_NAMES: Record<(typeof GATES)[number], string> = { i: 'input gate', f: 'forget gate', g: 'candidate', o: 'output gate' };

export function renderGradients(view: HTMLElement, ctx: SectionContext): void {
  const { trace } = ctx.store;
  const { layer, direction } = ctx.store.ui;
  view.replaceChildren();
  view.append(el('h2', { text: 'Gradients over time' }));
  if (!trace) view.append(placeholder(waitingText(ctx)));
  else {
    const entry = trace.entries.find((e) => e.layer === layer && e.direction === direction);
    if (!entry) view.append(placeholder(`This sequence has no trace for layer ${layer} ${direction}.`));
    else if (!entry.gradients) view.append(placeholder('No gradients for this sequence: it needs at least two tokens to have a loss.'));
    else {
      view.append(
        el(
          'p',
          { class: 'lede' },
          `Layer ${layer}, ${direction}: the gradient of this sequence's loss${trace.loss === null ? '' : ` (${formatValue(trace.loss)})`} with respect to each unit's hidden state h and cell state c at each step. ` +
            'Blue is negative, red positive, scaled to the largest |value| of each map.',
        ),
      );
      const layout = layoutMaps(ctx.width, trace.T, trace.H, [2, 1]);
      const grid = el('div', { class: `maps per-row-${layout.perRow}` });
      grid.append(stateMap(trace, entry.gradients, 0, 'dh', layout, ctx), stateMap(trace, entry.gradients, 1, 'dc', layout, ctx));
      view.append(grid);
      view.append(normChart(trace, entry.gradients, direction, ctx));
    }
    view.append(parameterBlocks(trace, ctx));
  }
}

/** ‖dL/dh_t‖ and ‖dL/dc_t‖ against the steps between t and the end this direction reads towards. */
function normChart(trace: TraceMessage, grads: Float32Array, direction: 'forward' | 'backward', ctx: SectionContext): HTMLElement {
  const { T, H } = trace;
  const norm = (k: number, t: number): number => {
    let s = 0;
    for (let j = 0; j < H; j++) {
      const g = grads[(k * T + t) * H + j];
      s += g * g;
    }
    return Math.sqrt(s);
  };
  const x: number[] = [];
  const dh: Array<number | null> = [];
  const dc: Array<number | null> = [];
  for (let d = 0; d < T; d++) {
    const t = direction === 'forward' ? T - 1 - d : d;
    x.push(d);
    dh.push(norm(0, t));
    dc.push(norm(1, t));
  }
  // A step with no loss after it (the last one: it has no next token) has a gradient of exactly
  // 0; it is left out so that the rest can be drawn on a logarithmic scale.
  const nonZero = (values: Array<number | null>) => values.map((v) => (v !== null && v > 0 ? v : null));
  const dhShown = nonZero(dh);
  const dcShown = nonZero(dc);
  const logY = dhShown.filter((v) => v !== null).length >= 2;
  const section = el('section', { class: 'block' });
  section.append(
    el('h3', { text: 'Gradient norm against distance from the end' }),
    el(
      'p',
      { class: 'note-text' },
      `‖dL/dh_t‖ and ‖dL/dc_t‖ over the ${H} units, by how many steps t lies before the end of the sequence${direction === 'backward' ? ' as the backward direction reads it (its end is the first token)' : ''}. ` +
        `A step's gradient gathers the losses of the positions after it, through the recurrence; where the curve falls as the distance grows${logY ? ' (the scale is logarithmic)' : ''}, early tokens barely move the loss: the vanishing gradient.`,
    ),
  );
  if (T < 2) return section;
  section.append(
    ctx.charts.add({
      id: 'chart-grad-distance',
      title: '',
      xLabel: 'steps before the end',
      yLabel: 'norm',
      x,
      lines: [
        { label: '‖dL/dh_t‖', colour: ctx.theme.blue, values: logY ? dhShown : dh, width: 2 },
        { label: '‖dL/dc_t‖', colour: ctx.theme.orange, values: logY ? dcShown : dc, width: 2 },
      ],
      width: Math.min(ctx.width, 760),
      height: 220,
      logY,
      theme: ctx.theme,
    }),
  );
  return section;
}

/** dL/dW_ih, dL/dW_hh and dL/db of the chosen layer and direction, one row per gate block. */
function parameterBlocks(trace: TraceMessage, ctx: SectionContext): HTMLElement {
  const { layer, direction, selected } = ctx.store.ui;
  const suffix = `_l${layer}${direction === 'backward' ? '_reverse' : ''}`;
  const find = (name: string) => trace.parameterGradients.find((g) => g.name === `lstm.${name}${suffix}`);
  const wih = find('weight_ih');
  const whh = find('weight_hh');
  const bih = find('bias_ih');
  const bhh = find('bias_hh');
  const section = el('section', { class: 'block' });
  section.append(el('h3', { text: 'Weight gradients by gate' }));
  if (!wih || !whh || wih.rows % 4 !== 0) {
    section.append(placeholder('The trace has no weight gradients for this layer.'));
    return section;
  }
  const H = wih.rows / 4;
  const I = wih.cols;
  // b_ih and b_hh are added together, so their gradients are the same: one column, unless they differ.
  const sameBias = !!bih && !!bhh && bih.data.every((v, i) => v === bhh.data[i]);
  const biases = sameBias ? [{ label: 'b', g: bih }] : [bih && { label: 'b_ih', g: bih }, bhh && { label: 'b_hh', g: bhh }].filter((b): b is { label: string; g: NonNullable<typeof bih> } => !!b);
  section.append(
    el(
      'p',
      { class: 'note-text' },
      `dL/dW of this sequence's loss for layer ${layer} ${direction}. W_ih (${wih.rows} × ${I}) and W_hh (${whh.rows} × ${whh.cols}) stack the four gates' weights, ${H} rows each, in PyTorch's order i, f, g, o; ` +
        `each row of a block belongs to one unit. Each matrix has its own scale.${sameBias ? ' b_ih and b_hh get the same gradient, shown once.' : ''}`,
    ),
  );
  // Cells as large as fit (up to 14 px); a large layer's blocks merge neighbouring rows or columns
  // into one cell showing the largest |value| among them, so each block stays about 120 px tall
  // and the three matrices fit across.
  const BLOCK_HEIGHT = 120;
  const rowHead = 88;
  const avail = Math.max(200, ctx.width - rowHead - 18 * (1 + biases.length) - 34);
  const rowBin = Math.max(1, Math.ceil(H / BLOCK_HEIGHT));
  const rows = Math.ceil(H / rowBin);
  let cell = Math.floor(avail / (I + H + biases.length));
  cell = Math.max(1, Math.min(cell, 14, Math.max(1, Math.floor(BLOCK_HEIGHT / rows))));
  const room = Math.max(60, avail - biases.length * cell);
  const colBin = Math.max(1, Math.ceil(((I + H) * cell) / room));
  const span = (i: number, bin: number, n: number): [number, number] => [i * bin, Math.min(n, (i + 1) * bin) - 1];
  const describeSpan = (what: string, i: number, bin: number, n: number): string => {
    const [a, b] = span(i, bin, n);
    return bin === 1 || a === b ? `${what} ${a}` : `${what}s ${a}–${b}`;
  };

  const isSelected = selected && selected.layer === layer && selected.direction === direction;
  const matrices = [
    { key: 'W_ih', title: 'dL/dW_ih', g: wih, colBin, describe: (c: number) => describeSpan('input', c, colBin, I) },
    { key: 'W_hh', title: 'dL/dW_hh', g: whh, colBin, describe: (c: number) => describeSpan('h_{t−1} unit', c, colBin, whh.cols) },
    ...biases.map((b) => ({ key: b.label, title: `dL/d${b.label}`, g: b.g, colBin: 1, describe: () => 'bias' })),
  ];
  const table = el('div', { class: 'blocks' });
  table.style.gridTemplateColumns = `${rowHead}px repeat(${matrices.length}, max-content)`;
  table.append(el('div', { class: 'blocks-corner' }));
  const scales = matrices.map((m) => divergingScale(maxAbs(m.g.data)));
  matrices.forEach((m, i) => {
    table.append(
      el(
        'div',
        { class: 'blocks-head' },
        el('div', {}, el('span', { class: 'hm-title', text: m.title }), ' ', el('span', { class: 'hm-sub', text: m.key.startsWith('b') ? `(${m.g.rows})` : `(${m.g.rows}, ${m.g.cols})` })),
        legend(scales[i]),
      ),
    );
  });
  GATES.forEach((gate, k) => {
    table.append(el('div', { class: 'blocks-gate' }, el('span', { class: 'hm-title', text: gate }), el('span', { class: 'hm-sub', text: GATE_NAMES[gate] })));
    matrices.forEach((m, i) => {
      const cols = m.g.cols;
      const value = (r: number, c: number): number => {
        if (rowBin === 1 && m.colBin === 1) return m.g.data[(k * H + r) * cols + c];
        // The merged cell: the value of largest magnitude, with its sign.
        const [r0, r1] = span(r, rowBin, H);
        const [c0, c1] = span(c, m.colBin, cols);
        let best = 0;
        for (let y = r0; y <= r1; y++) {
          const row = (k * H + y) * cols;
          for (let x = c0; x <= c1; x++) if (Math.abs(m.g.data[row + x]) > Math.abs(best)) best = m.g.data[row + x];
        }
        return best;
      };
      table.append(
        heatmap({
          name: `${m.key}.${gate}`,
          title: '',
          heading: `${m.title} · ${gate} block · layer ${layer} ${direction}${rowBin > 1 || m.colBin > 1 ? ' (merged cells: largest |value|)' : ''}`,
          rows,
          cols: Math.ceil(cols / m.colBin),
          value,
          scale: scales[i],
          cellW: cell,
          cellH: cell,
          colLabels: null,
          describeRow: (r) => ({ text: describeSpan('unit', r, rowBin, H), data: { unit: String(r * rowBin), gate } }),
          describeCol: (c) => ({ text: m.describe(c), data: { col: String(c * m.colBin) } }),
          selectedRow: isSelected ? Math.floor(selected.unit / rowBin) : null,
          onSelect: rowBin === 1 ? (unit) => ctx.select({ layer, direction, tensor: gate, unit }) : undefined,
          tooltip: ctx.tooltip,
          legend: false,
          rowAxis: i === 0,
          rowLabel: (r) => String(r * rowBin),
          className: 'block-map',
        }),
      );
    });
  });
  section.append(el('div', { class: 'scroll-x' }, table));
  return section;
}

/** The global gradient norm of every training step, the clip threshold, and the clipped steps. */
export function renderGradientNorm(view: HTMLElement, ctx: SectionContext): void {
  view.replaceChildren(gradientNorm(ctx));
}

function gradientNorm(ctx: SectionContext): HTMLElement {
  const t = ctx.store.training;
  const section = el('section', { class: 'block' });
  section.append(el('h3', { text: 'Gradient norm per training step' }));
  if (!t || t.history.step.length === 0) {
    section.append(placeholder('No training steps yet.'));
    return section;
  }
  const h = t.history;
  const clip = t.clip;
  const clipped = clip === null ? [] : h.gradNorm.map((g) => (g > clip ? g : null));
  const events = clipped.filter((v) => v !== null).length;
  section.append(
    el(
      'p',
      { class: 'note-text', attrs: { 'data-clip-events': events } },
      clip === null
        ? 'The global norm of all parameter gradients before each update. This run does not clip.'
        : `The global norm of all parameter gradients before each update; above ${formatValue(clip)} they were scaled down to it. ${events === 0 ? 'No step was clipped.' : `${events} of ${h.step.length} steps were clipped (marked).`}`,
    ),
  );
  const lines: Line[] = [{ label: 'gradient norm', colour: ctx.theme.blue, values: h.gradNorm, width: 1.5 }];
  if (clip !== null) {
    lines.push({ label: 'clip', colour: ctx.theme.muted, values: h.step.map(() => clip), width: 1, dash: [4, 4] });
    lines.push({ label: 'clipped', colour: ctx.theme.red, values: clipped, markers: true });
  }
  section.append(
    ctx.charts.add({ id: 'chart-grad-norm', title: '', xLabel: 'training step', yLabel: 'norm', x: h.step, lines, width: ctx.width, height: 200, theme: ctx.theme }),
  );
  return section;
}
