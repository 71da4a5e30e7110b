// Gradients over time: dL/dh_t and dL/dc_t of the sequence's loss as units × steps maps, their norm
// at each step against how far the step is from the loss (the vanishing-gradient picture), the
// gradient of every LSTM weight of the chosen layer and direction split into its four gate blocks,
// and the global gradient norm of each training step with the steps that were clipped.

import { parameterSuffix } from '../../src/engine/names';
import type { TraceMessage } from '../../src/protocol/panel';
import type { Line } from '../charts';
import { CLIP_PERCENTILE, clipOf, clippedScale } from '../colour';
import { formatValue } from '../format';
import { heatmap, legend, VALUE_CELL } from '../heatmap';
import { el } from '../ui/dom';
import { layoutMaps, placeholder, type SectionContext } from './context';
import { scaleWords, sequenceStrip, stateMap, waitingText } from './states';
import { runHistory } from './training';

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
            `Blue is negative, red positive, ${scaleWords(ctx)}.`,
        ),
        sequenceStrip(trace, 'gradients-strip'),
      );
      const layout = layoutMaps(ctx.width, trace.T, trace.H, [2, 1]);
      const grid = el('div', { class: `maps per-row-${layout.perRow}` });
      grid.append(stateMap(trace, entry.gradients, 0, 'dh', layout, ctx), stateMap(trace, entry.gradients, 1, 'dc', layout, ctx));
      view.append(grid);
      view.append(normChart(trace, entry.gradients, entry.lastGradients ?? null, direction, ctx));
    }
    view.append(parameterBlocks(trace, ctx));
  }
}

/** ‖dL/dh_t‖ and ‖dL/dc_t‖ against the steps between t and the end this direction reads towards. */
function normChart(trace: TraceMessage, grads: Float32Array, lastGrads: Float32Array | null, direction: 'forward' | 'backward', ctx: SectionContext): HTMLElement {
  const { T, H } = trace;
  const norm = (data: Float32Array, k: number, t: number): number => {
    let s = 0;
    for (let j = 0; j < H; j++) {
      const g = data[(k * T + t) * H + j];
      s += g * g;
    }
    return Math.sqrt(s);
  };
  const x: number[] = [];
  const dh: Array<number | null> = [];
  const dc: Array<number | null> = [];
  const lastDh: Array<number | null> = [];
  for (let d = 0; d < T; d++) {
    const t = direction === 'forward' ? T - 1 - d : d;
    x.push(d);
    dh.push(norm(grads, 0, t));
    dc.push(norm(grads, 1, t));
    if (lastGrads) lastDh.push(norm(lastGrads, 0, t));
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
        'This sequence’s loss is the mean over every position, each predicting the token after it, so the gradient at a step gathers the loss of its own position and of every position after it. ' +
        `Steps far from the end have many losses ahead of them: that is why this curve can stay level with distance${logY ? ' (the scale is logarithmic)' : ''} even when the pull of each single loss fades. ` +
        `The vanishing gradient is about one loss reaching back: the gradient of the last position’s loss alone${lastGrads ? ' (dashed)' : ''} falls with distance where a long memory would be needed.`,
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
        ...(lastGrads ? [{ label: '‖dL_last/dh_t‖ (last position’s loss alone)', colour: ctx.theme.purple, values: logY ? nonZero(lastDh) : lastDh, width: 2, dash: [6, 3] }] : []),
      ],
      width: Math.min(ctx.width, 760),
      height: 220,
      logY,
      theme: ctx.theme,
    }),
  );
  return section;
}

/** Rows of a gate's tile at most: past it, neighbouring units merge (each cell then shows the largest |value|). */
const TILE_ROWS = 96;
/** Height of a gate's tile in CSS pixels at most. */
const TILE_HEIGHT = 200;
/** Largest cell of a tile. */
const TILE_CELL = 24;
/** Widest cell of a tile that prints its values. */
const VALUE_CELL_MAX = 64;
/** Width of the bias bars. */
const BAR_WIDTH = 96;

/**
 * dL/dW_ih, dL/dW_hh and dL/db of the chosen layer and direction, one row per gate: each gate's
 * block of W_ih and of W_hh as a map with its own scale (clipped at the 99th percentile), and the
 * biases as bars, one per unit, beside them. Tiles are sized to the width: side by side when they
 * fit, one under the other when not; nothing scrolls sideways.
 */
function parameterBlocks(trace: TraceMessage, ctx: SectionContext): HTMLElement {
  const { layer, direction, selected } = ctx.store.ui;
  const suffix = parameterSuffix(layer, direction);
  const find = (name: string) => trace.parameterGradients.find((g) => g.name === `lstm.${name}${suffix}`);
  const wih = find('weight_ih');
  const whh = find('weight_hh');
  const bih = find('bias_ih');
  const bhh = find('bias_hh');
  const section = el('section', { class: 'block', id: 'weight-gradients' });
  section.append(el('h3', { text: 'Weight gradients by gate' }));
  if (!wih || !whh || wih.rows % 4 !== 0) {
    section.append(placeholder('The trace has no weight gradients for this layer.'));
    return section;
  }
  const H = wih.rows / 4;
  const I = wih.cols;
  // b_ih and b_hh are added together, so their gradients are the same: one set of bars, unless they differ.
  const sameBias = !!bih && !!bhh && bih.data.every((v, i) => v === bhh.data[i]);
  const biases = sameBias ? [{ label: 'b', g: bih }] : [bih && { label: 'b_ih', g: bih }, bhh && { label: 'b_hh', g: bhh }].filter((b): b is { label: string; g: NonNullable<typeof bih> } => !!b);
  section.append(
    el(
      'p',
      { class: 'note-text' },
      `dL/dW of this sequence's loss for layer ${layer} ${direction}, one row per gate (PyTorch's order i, f, g, o): the gate's ${H} rows of W_ih (${H} × ${I}) and of W_hh (${H} × ${whh.cols}), ` +
        `and its biases as bars. Each row of a map, and each bar, belongs to one unit. Each map has its own scale, clipped at its ${CLIP_PERCENTILE}th percentile.${sameBias ? ' b_ih and b_hh get the same gradient, shown once.' : ''}`,
    ),
  );
  const rowBin = Math.max(1, Math.ceil(H / TILE_ROWS));
  const rows = Math.ceil(H / rowBin);
  const AXIS = 34;
  const GATE_LABEL = 92;
  const GAP = 18;
  const barsW = biases.length * (BAR_WIDTH + GAP);
  // Side by side when two tiles of at least 120 px fit beside the gate's label and bars; else stacked.
  const sideBySide = ctx.width - GATE_LABEL - barsW - 2 * (AXIS + GAP) >= 240;
  const tileW = sideBySide ? Math.floor((ctx.width - GATE_LABEL - barsW - 2 * (AXIS + GAP)) / 2) : Math.max(60, ctx.width - AXIS - 8);
  const cellFor = (cols: number): { cell: number; colBin: number } => {
    const cell = Math.max(1, Math.min(TILE_CELL, Math.floor(TILE_HEIGHT / rows), Math.floor(tileW / cols)));
    return { cell, colBin: Math.max(1, Math.ceil((cols * cell) / tileW)) };
  };
  const span = (i: number, bin: number, n: number): [number, number] => [i * bin, Math.min(n, (i + 1) * bin) - 1];
  const describeSpan = (what: string, i: number, bin: number, n: number): string => {
    const [a, b] = span(i, bin, n);
    return bin === 1 || a === b ? `${what} ${a}` : `${what}s ${a}–${b}`;
  };
  // One cell size for both matrices (the smaller), so their rows line up.
  const sizes = [cellFor(I), cellFor(whh.cols)];
  const cell = Math.min(sizes[0].cell, sizes[1].cell);
  // A small layer (the article's) whose tiles have room: cells wide enough to print their values.
  const valueW = (cols: number): number => Math.min(VALUE_CELL_MAX, Math.floor(tileW / cols));
  const values = rowBin === 1 && H <= 24 && valueW(I) >= VALUE_CELL.w && valueW(whh.cols) >= VALUE_CELL.w;
  const cellH = values ? VALUE_CELL.h + 4 : cell;
  const matrices = [
    { key: 'W_ih', title: 'dL/dW_ih', g: wih, cellW: values ? valueW(I) : cell, colBin: values ? 1 : Math.max(1, Math.ceil((I * cell) / tileW)), describe: (c: number, bin: number) => describeSpan('input', c, bin, I) },
    { key: 'W_hh', title: 'dL/dW_hh', g: whh, cellW: values ? valueW(whh.cols) : cell, colBin: values ? 1 : Math.max(1, Math.ceil((whh.cols * cell) / tileW)), describe: (c: number, bin: number) => describeSpan('h_{t−1} unit', c, bin, whh.cols) },
  ];
  const isSelected = selected && selected.layer === layer && selected.direction === direction;
  const grid = el('div', { class: `gate-rows ${sideBySide ? 'side-by-side' : 'stacked'}` });
  GATES.forEach((gate, k) => {
    const row = el('div', { class: 'gate-row', attrs: { 'data-gate': gate } });
    row.append(el('div', { class: 'blocks-gate' }, el('span', { class: 'hm-title', text: gate }), el('span', { class: 'hm-sub', text: GATE_NAMES[gate] })));
    for (const m of matrices) {
      const cols = m.g.cols;
      const start = k * H * cols;
      const end = start + H * cols;
      const scale = clippedScale(clipOf(m.g.data, start, end));
      const value = (r: number, c: number): number => {
        if (rowBin === 1 && m.colBin === 1) return m.g.data[(k * H + r) * cols + c];
        // The merged cell: the value of largest magnitude, with its sign.
        const [r0, r1] = span(r, rowBin, H);
        const [c0, c1] = span(c, m.colBin, cols);
        let best = 0;
        for (let y = r0; y <= r1; y++) {
          const at = (k * H + y) * cols;
          for (let x = c0; x <= c1; x++) if (Math.abs(m.g.data[at + x]) > Math.abs(best)) best = m.g.data[at + x];
        }
        return best;
      };
      row.append(
        heatmap({
          name: `${m.key}.${gate}`,
          title: m.title,
          subtitle: `${gate} rows (${H}, ${cols})`,
          heading: `${m.title} · ${gate} block · layer ${layer} ${direction}${rowBin > 1 || m.colBin > 1 ? ' (merged cells: largest |value|)' : ''}`,
          rows,
          cols: Math.ceil(cols / m.colBin),
          value,
          scale,
          cellW: m.cellW,
          cellH,
          values,
          colLabels: null,
          describeRow: (r) => ({ text: describeSpan('unit', r, rowBin, H), data: { unit: String(r * rowBin), gate } }),
          describeCol: (c) => ({ text: m.describe(c, m.colBin), data: { col: String(c * m.colBin) } }),
          selectedRow: isSelected ? Math.floor(selected.unit / rowBin) : null,
          onSelect: rowBin === 1 ? (unit) => ctx.select({ layer, direction, tensor: gate, unit }) : undefined,
          tooltip: ctx.tooltip,
          rowLabel: (r) => String(r * rowBin),
          className: 'block-map',
        }),
      );
    }
    for (const b of biases) row.append(biasBars(b.label, gate, b.g.data.subarray(k * H, (k + 1) * H), rowBin, cellH, layer, direction, ctx));
    grid.append(row);
  });
  section.append(grid);
  return section;
}

/** A gate's bias gradients as bars, one per unit (merged units: the largest |value|), from a zero line. */
function biasBars(label: string, gate: string, data: Float32Array, rowBin: number, cellH: number, layer: number, direction: string, ctx: SectionContext): HTMLElement {
  const H = data.length;
  const rows = Math.ceil(H / rowBin);
  const values = Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let u = r * rowBin; u < Math.min(H, (r + 1) * rowBin); u++) if (Math.abs(data[u]) > Math.abs(best)) best = data[u];
    return best;
  });
  const clip = clipOf(data);
  const scale = clippedScale(clip);
  const m = scale.max;
  const barH = Math.max(cellH, 1);
  const height = rows * barH;
  const canvas = el('canvas', {
    class: 'bias-bars',
    attrs: { width: BAR_WIDTH, height, tabindex: 0, 'data-tensor': `${label}.${gate}`, 'data-rows': rows, 'aria-label': `dL/d${label}, ${gate} block: one bar per unit`, 'aria-describedby': 'tooltip' },
  });
  canvas.style.width = `${BAR_WIDTH}px`;
  canvas.style.height = `${height}px`;
  const c2d = canvas.getContext('2d');
  if (c2d) {
    const mid = BAR_WIDTH / 2;
    values.forEach((v, r) => {
      const len = Math.max(-1, Math.min(1, v / (m || 1))) * (mid - 1);
      c2d.fillStyle = scale.css(v);
      const x = len >= 0 ? mid : mid + len;
      c2d.fillRect(x, r * barH + (barH >= 4 ? 1 : 0), Math.max(1, Math.abs(len)), barH >= 4 ? barH - 2 : barH);
    });
    c2d.fillStyle = ctx.theme.muted;
    c2d.fillRect(Math.floor(mid), 0, 1, height);
  }
  const show = (r: number, x: number, y: number): void => {
    const [a, b] = [r * rowBin, Math.min(H, (r + 1) * rowBin) - 1];
    ctx.tooltip.show(x, y, { tensor: `${label}.${gate}`, heading: `dL/d${label} · ${gate} block · layer ${layer} ${direction}`, row: a === b ? `unit ${a}` : `units ${a}–${b}`, col: 'bias', value: values[r], data: { unit: String(a), gate } });
  };
  canvas.addEventListener('mousemove', (e) => {
    const rect = canvas.getBoundingClientRect();
    const r = Math.floor((e.clientY - rect.top) / barH);
    if (r >= 0 && r < rows) show(r, e.clientX, e.clientY);
  });
  canvas.addEventListener('mouseleave', () => ctx.tooltip.hide());
  return el(
    'figure',
    { class: 'bias', attrs: { 'data-tensor': `${label}.${gate}` } },
    el('figcaption', {}, el('span', { class: 'hm-title', text: `dL/d${label}` }), el('span', { class: 'hm-sub', text: `(${H})` }), legend(scale)),
    el('div', { class: 'bias-plot' }, canvas),
  );
}

/** The global gradient norm of every training step, the clip threshold, and the clipped steps. */
export function renderGradientNorm(view: HTMLElement, ctx: SectionContext): void {
  view.replaceChildren(gradientNorm(ctx));
}

function gradientNorm(ctx: SectionContext): HTMLElement {
  const t = ctx.store.training;
  const h = runHistory(ctx.store);
  const section = el('section', { class: 'block' });
  section.append(el('h3', { text: 'Gradient norm per training step' }));
  if (!h || h.step.length === 0) {
    section.append(placeholder('No training steps yet.'));
    return section;
  }
  if (!h.gradNorm) {
    section.append(placeholder('This checkpoint keeps no gradient norms (it was saved before they were recorded).'));
    return section;
  }
  const norms = h.gradNorm;
  // The clip threshold of the run watched, or the checkpoint's setting.
  const clip = t ? t.clip : (ctx.store.model?.summary.clip ?? null);
  const clipped = clip === null ? [] : norms.map((g) => (g !== null && g > clip ? g : null));
  const events = clipped.filter((v) => v !== null).length;
  const source = h.source === 'checkpoint' ? 'From the checkpoint (a point may be the mean of several steps). ' : '';
  section.append(
    el(
      'p',
      { class: 'note-text', attrs: { 'data-clip-events': events, 'data-source': h.source } },
      source +
        (clip === null
          ? `The global norm of all parameter gradients before each update.${t || ctx.store.model?.summary.clip === null ? ' This run does not clip.' : ''}`
          : `The global norm of all parameter gradients before each update; above ${formatValue(clip)} they were scaled down to it. ${events === 0 ? 'No step was clipped.' : `${events} of ${h.step.length} steps were clipped (marked).`}`),
    ),
  );
  const lines: Line[] = [{ label: 'gradient norm', colour: ctx.theme.blue, values: norms, width: 1.5 }];
  if (clip !== null) {
    lines.push({ label: 'clip', colour: ctx.theme.muted, values: h.step.map(() => clip), width: 1, dash: [4, 4] });
    lines.push({ label: 'clipped', colour: ctx.theme.red, values: clipped, markers: true });
  }
  section.append(
    ctx.charts.add({ id: 'chart-grad-norm', title: '', xLabel: 'training step', yLabel: 'norm', x: h.step, lines, width: ctx.width, height: 200, theme: ctx.theme }),
  );
  return section;
}
