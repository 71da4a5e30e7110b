// States over time: i, f, g, o, c and h of the chosen layer and direction as units × steps maps,
// with the tokens along the time axis and, under each gate, how saturated it is.
//
// Saturation: for the sigmoid gates i, f and o, the share of values below 0.1 (nearly closed) and
// above 0.9 (nearly open). For the candidate g = tanh(·) in (−1, 1), the same two shares of |g|:
// below 0.1, the candidate adds almost nothing; above 0.9, tanh is saturated (its gradient
// 1 − g² is below 0.19).

import { STATE_NAMES, at, type StateName, type TraceMessage } from '../../src/protocol/panel';
import { CLIP_PERCENTILE, clipOf, clippedScale, divergingScale, gateScale, type ColourScale } from '../colour';
import { formatPercent, formatValue, showToken } from '../format';
import { heatmap } from '../heatmap';
import { cursorBoundary, tokenStrip } from '../strip';
import { el } from '../ui/dom';
import { layoutMaps, placeholder, STATE_TITLES, type MapLayout, type SectionContext } from './context';

export function renderStates(view: HTMLElement, ctx: SectionContext): void {
  const { trace } = ctx.store;
  const { layer, direction } = ctx.store.ui;
  view.replaceChildren();
  view.append(el('h2', { text: 'States over time' }));
  if (!trace) {
    view.append(placeholder(waitingText(ctx)));
    return;
  }
  const entry = trace.entries.find((e) => e.layer === layer && e.direction === direction);
  if (!entry) {
    view.append(placeholder(`This sequence has no trace for layer ${layer} ${direction}.`));
    return;
  }
  view.append(
    el(
      'p',
      { class: 'lede' },
      `Layer ${layer}, ${direction}: rows are the ${trace.H} hidden units, columns the ${trace.T} tokens${direction === 'backward' ? ' (read right to left by this direction)' : ''}. ` +
        `Gates i, f, o are sigmoids in [0, 1] (viridis); g, c and h are signed (blue below 0, red above), ${scaleWords(ctx)}. ` +
        'Hover a cell for its value; click it to highlight that unit in the editor.',
    ),
    sequenceStrip(trace, 'states-strip'),
  );
  const layout = layoutMaps(ctx.width, trace.T, trace.H, [3, 2, 1]);
  const grid = el('div', { class: `maps per-row-${layout.perRow}` });
  STATE_NAMES.forEach((name, k) => {
    grid.append(stateMap(trace, entry.states, k, name, layout, ctx));
  });
  view.append(grid);
}

/** How the signed maps are coloured, in words (the lede's). */
export function scaleWords(ctx: SectionContext): string {
  return ctx.store.ui.scale === 'unit'
    ? 'each unit (row) scaled to its own largest |value|'
    : `each map scaled to the ${CLIP_PERCENTILE}th percentile of its |values| (the few beyond show at full colour, marked * in the legend)`;
}

/** The sequence, every token named, above the maps. */
export function sequenceStrip(trace: TraceMessage, id: string): HTMLElement {
  return el('div', { class: 'strip-wrap' }, el('div', { class: 'strip-label muted', text: `The ${trace.T} tokens read (hover one to find its column):` }), tokenStrip(trace, { id }));
}

/** The colours of one signed (K, T, H) map: clipped per map, or one scale per unit. */
export function signedScales(data: Float32Array, k: number, T: number, H: number, perUnit: boolean): { scale: ColourScale; rowScales: ColourScale[] | null; note?: string; labels?: [string, string] } {
  const start = at(k, 0, 0, T, H);
  const end = start + T * H;
  if (!perUnit) return { scale: clippedScale(clipOf(data, start, end)), rowScales: null };
  const rowScales = Array.from({ length: H }, (_, r) => divergingScale(clipOf(data, start + r, end, H).max));
  return { scale: divergingScale(1), rowScales, note: 'per unit: each row to its own largest |value|', labels: ['−max', '+max'] };
}

export function waitingText(ctx: SectionContext): string {
  if (ctx.store.pendingSequence) return 'Reading the sequence…';
  if (!ctx.store.model) return 'Waiting for a model.';
  return 'No sequence yet: choose one above (at the cursor, the selection, or the start of the file).';
}

/** One map of a (K, T, H) block: tensor k, rows = units, columns = steps. */
export function stateMap(trace: TraceMessage, data: Float32Array, k: number, name: StateName | 'dh' | 'dc', layout: MapLayout, ctx: SectionContext): HTMLElement {
  const { T, H } = trace;
  const { layer, direction, selected } = ctx.store.ui;
  const start = at(k, 0, 0, T, H);
  const end = start + T * H;
  const gate = name === 'i' || name === 'f' || name === 'o';
  const scales = gate ? { scale: gateScale(), rowScales: null } : signedScales(data, k, T, H, ctx.store.ui.scale === 'unit');
  const value = (r: number, c: number): number => data[at(k, c, r, T, H)];
  const isSelected = selected && selected.layer === layer && selected.direction === direction;
  return heatmap({
    name,
    title: name === 'dh' ? 'dL/dh' : name === 'dc' ? 'dL/dc' : name,
    subtitle: name === 'dh' || name === 'dc' ? undefined : STATE_TITLES[name],
    heading: `${name === 'dh' ? 'dL/dh' : name === 'dc' ? 'dL/dc' : name} · layer ${layer} ${direction}`,
    rows: H,
    cols: T,
    value,
    scale: scales.scale,
    rowScales: scales.rowScales,
    legendNote: 'note' in scales ? scales.note : undefined,
    legendLabels: 'labels' in scales ? scales.labels : undefined,
    values: layout.values,
    timeColumns: true,
    cursorAt: cursorBoundary(trace),
    cellW: layout.cellW,
    cellH: layout.cellH,
    colLabels: trace.tokens.map(showToken),
    describeRow: (r) => ({ text: `unit ${r}`, data: { unit: String(r) } }),
    describeCol: (c) => ({ text: `“${showToken(trace.tokens[c])}” (t = ${c})`, data: { step: String(c), token: trace.tokens[c] } }),
    selectedRow: isSelected ? selected.unit : null,
    onSelect: (unit) => ctx.select({ layer, direction, tensor: name, unit }),
    tooltip: ctx.tooltip,
    footer: footer(name, data, start, end),
  });
}

function footer(name: string, data: Float32Array, start: number, end: number): HTMLElement {
  const n = end - start;
  if (name === 'i' || name === 'f' || name === 'o' || name === 'g') {
    let low = 0;
    let high = 0;
    for (let p = start; p < end; p++) {
      const x = name === 'g' ? Math.abs(data[p]) : data[p];
      if (x < 0.1) low++;
      else if (x > 0.9) high++;
    }
    const lowShare = low / n;
    const highShare = high / n;
    const lowLabel = name === 'g' ? '|g| < 0.1' : '< 0.1';
    const highLabel = name === 'g' ? '|g| > 0.9' : '> 0.9';
    const bar = el('span', { class: 'sat-bar', attrs: { 'aria-hidden': 'true' } });
    const segLow = el('span', { class: 'sat-low' });
    const segMid = el('span', { class: 'sat-mid' });
    const segHigh = el('span', { class: 'sat-high' });
    segLow.style.width = `${lowShare * 100}%`;
    segMid.style.width = `${(1 - lowShare - highShare) * 100}%`;
    segHigh.style.width = `${highShare * 100}%`;
    bar.append(segLow, segMid, segHigh);
    return el(
      'div',
      { class: 'hm-footer saturation', attrs: { 'data-low': lowShare.toFixed(4), 'data-high': highShare.toFixed(4) }, title: name === 'g' ? 'tanh saturation: |g| near 0 adds little to the cell; near 1, tanh is flat' : 'sigmoid saturation: near 0 the gate is shut, near 1 wide open' },
      bar,
      el('span', { class: 'sat-item' }, el('span', { class: 'sat-key low' }), `${lowLabel}: ${formatPercent(lowShare)}`),
      el('span', { class: 'sat-item' }, el('span', { class: 'sat-key high' }), `${highLabel}: ${formatPercent(highShare)}`),
    );
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let p = start; p < end; p++) {
    if (data[p] < lo) lo = data[p];
    if (data[p] > hi) hi = data[p];
  }
  return el('div', { class: 'hm-footer' }, `range ${formatValue(lo)} … ${formatValue(hi)}`);
}
