// A heatmap on a <canvas>: rows × columns of cells (for the states: hidden units × time steps), one
// colour per cell from a ColourScale. The canvas is exactly cols·cellW by rows·cellH pixels (its
// width/height attributes), and CSS never rescales it, so a cell is found from the pointer by
// division. Hover or keyboard shows the tooltip; a click or Enter selects the row (a unit).

import { el } from './ui/dom';
import type { ColourScale } from './colour';
import { formatValue } from './format';
import type { Tooltip } from './tooltip';

export interface HeatmapOptions {
  /** The map's name (i, f, ..., dh, W_ih.f): data-tensor, and the tooltip's. */
  name: string;
  title: string;
  subtitle?: string;
  /** What the tooltip's first line says (the title, plus layer and direction). */
  heading: string;
  rows: number;
  cols: number;
  value: (row: number, col: number) => number;
  scale: ColourScale;
  cellW: number;
  cellH: number;
  /** Labels of the columns along the top (tokens), or null for none. */
  colLabels: string[] | null;
  describeRow: (row: number) => { text: string; data: Record<string, string> };
  describeCol: (col: number) => { text: string; data: Record<string, string> };
  /** Row drawn outlined (the selected unit), or null. */
  selectedRow: number | null;
  onSelect?: (row: number) => void;
  tooltip: Tooltip;
  /** Drawn under the map (statistics). */
  footer?: HTMLElement | null;
  /** Row labels every n rows (unit numbers); false for none. */
  rowAxis?: boolean;
  /** A row's label on that axis (default: its index). */
  rowLabel?: (row: number) => string;
  legend?: boolean;
  className?: string;
}

export function heatmap(o: HeatmapOptions): HTMLElement {
  const width = o.cols * o.cellW;
  const height = o.rows * o.cellH;
  const canvas = el('canvas', {
    class: 'hm-canvas',
    attrs: {
      width,
      height,
      tabindex: 0,
      'data-tensor': o.name,
      'data-rows': o.rows,
      'data-cols': o.cols,
      'data-cell-w': o.cellW,
      'data-cell-h': o.cellH,
      'aria-label': `${o.heading}: ${o.rows} rows by ${o.cols} columns. Arrow keys move between cells${o.onSelect ? ', Enter selects the row' : ''}.`,
      'aria-describedby': 'tooltip',
    },
  });
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  draw(canvas, o);

  const cursor = el('div', { class: 'hm-cursor' });
  cursor.hidden = true;
  cursor.style.width = `${o.cellW}px`;
  cursor.style.height = `${o.cellH}px`;
  const plot = el('div', { class: 'hm-plot' }, canvas, cursor);
  plot.style.width = `${width}px`;
  plot.style.height = `${height}px`;

  let focus: { r: number; c: number } | null = null;
  const showAt = (r: number, c: number, x: number, y: number): void => {
    cursor.hidden = false;
    cursor.style.left = `${c * o.cellW}px`;
    cursor.style.top = `${r * o.cellH}px`;
    const row = o.describeRow(r);
    const col = o.describeCol(c);
    o.tooltip.show(x, y, { tensor: o.name, heading: o.heading, row: row.text, col: col.text, value: o.value(r, c), data: { ...row.data, ...col.data } });
  };
  const hide = (): void => {
    cursor.hidden = true;
    o.tooltip.hide();
  };
  const cellAt = (e: MouseEvent): { r: number; c: number } | null => {
    const rect = canvas.getBoundingClientRect();
    const c = Math.floor(((e.clientX - rect.left) * (width / rect.width)) / o.cellW);
    const r = Math.floor(((e.clientY - rect.top) * (height / rect.height)) / o.cellH);
    return r >= 0 && r < o.rows && c >= 0 && c < o.cols ? { r, c } : null;
  };
  canvas.addEventListener('mousemove', (e) => {
    const cell = cellAt(e);
    if (cell) showAt(cell.r, cell.c, e.clientX, e.clientY);
    else hide();
  });
  canvas.addEventListener('mouseleave', hide);
  if (o.onSelect) {
    const onSelect = o.onSelect;
    canvas.classList.add('selectable');
    canvas.addEventListener('click', (e) => {
      const cell = cellAt(e);
      if (cell) onSelect(cell.r);
    });
  }
  canvas.addEventListener('focus', () => {
    focus ??= { r: o.selectedRow ?? 0, c: 0 };
    const rect = canvas.getBoundingClientRect();
    showAt(focus.r, focus.c, rect.left + (focus.c + 1) * o.cellW, rect.top + (focus.r + 1) * o.cellH);
  });
  canvas.addEventListener('blur', hide);
  canvas.addEventListener('keydown', (e) => {
    if (!focus) return;
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], Home: [0, -o.cols], End: [0, o.cols] };
    const move = moves[e.key];
    if (move) {
      e.preventDefault();
      focus = { r: clamp(focus.r + move[0], 0, o.rows - 1), c: clamp(focus.c + move[1], 0, o.cols - 1) };
      const rect = canvas.getBoundingClientRect();
      showAt(focus.r, focus.c, rect.left + (focus.c + 1) * o.cellW, rect.top + (focus.r + 1) * o.cellH);
    } else if ((e.key === 'Enter' || e.key === ' ') && o.onSelect) {
      e.preventDefault();
      o.onSelect(focus.r);
    } else if (e.key === 'Escape') hide();
  });

  const body = el('div', { class: 'hm-body' });
  body.append(el('div', { class: 'hm-corner' }));
  body.append(o.colLabels ? columnAxis(o.colLabels, o.cellW) : el('div', { class: 'hm-cols none' }));
  body.append(o.rowAxis === false ? el('div', { class: 'hm-rows none' }) : rowAxis(o.rows, o.cellH, o.selectedRow, o.rowLabel ?? String));
  body.append(plot);

  const caption = el('figcaption', {}, el('span', { class: 'hm-title', text: o.title }), o.subtitle ? el('span', { class: 'hm-sub', text: o.subtitle }) : null);
  if (o.legend !== false) caption.append(legend(o.scale));
  return el('figure', { class: `heatmap ${o.className ?? ''}`.trim(), attrs: { 'data-tensor': o.name } }, caption, body, o.footer ?? null);
}

function draw(canvas: HTMLCanvasElement, o: HeatmapOptions): void {
  const ctx = canvas.getContext('2d');
  if (!ctx || o.rows === 0 || o.cols === 0) return;
  // One pixel per cell, then scaled up without smoothing: sharp cells at any size.
  const small = document.createElement('canvas');
  small.width = o.cols;
  small.height = o.rows;
  const sctx = small.getContext('2d');
  if (!sctx) return;
  const img = sctx.createImageData(o.cols, o.rows);
  const px = img.data;
  const lut = o.scale.lut;
  for (let r = 0; r < o.rows; r++) {
    for (let c = 0; c < o.cols; c++) {
      const k = o.scale.index(o.value(r, c)) * 4;
      const p = (r * o.cols + c) * 4;
      px[p] = lut[k];
      px[p + 1] = lut[k + 1];
      px[p + 2] = lut[k + 2];
      px[p + 3] = 255;
    }
  }
  sctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  if (o.selectedRow !== null && o.selectedRow < o.rows && o.cellH >= 4) {
    // Two strokes, dark inside light, so the outline shows on every colour of both scales.
    const y = o.selectedRow * o.cellH;
    ctx.lineWidth = 2;
    ctx.strokeStyle = 'rgba(255, 255, 255, 0.95)';
    ctx.strokeRect(1, y + 1, canvas.width - 2, o.cellH - 2);
    if (o.cellH >= 8) {
      ctx.lineWidth = 1;
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.85)';
      ctx.strokeRect(2.5, y + 2.5, canvas.width - 5, o.cellH - 5);
    }
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Labels of the columns: upright when they fit their cells, slanted otherwise; every n-th when crowded. */
function columnAxis(labels: string[], cellW: number): HTMLElement {
  const MAX_CHARS = 10;
  const CHAR_W = 6.6; // 11px monospace
  const longest = Math.min(MAX_CHARS, labels.reduce((m, s) => Math.max(m, [...s].length), 0));
  const upright = longest <= 1 || longest * CHAR_W + 4 <= cellW;
  const spacing = upright ? Math.max(9, longest * CHAR_W + 4) : 15;
  const every = Math.max(1, Math.ceil(spacing / cellW));
  const axis = el('div', { class: `hm-cols ${upright ? 'upright' : 'slanted'}`, attrs: { 'aria-hidden': 'true' } });
  axis.style.width = `${labels.length * cellW}px`;
  // A slanted label rises at 50°: its height is its length times sin 50°.
  if (!upright) axis.style.height = `${Math.ceil(longest * CHAR_W * 0.77) + 12}px`;
  for (let c = 0; c < labels.length; c += every) {
    const chars = [...labels[c]];
    const text = chars.length > MAX_CHARS ? `${chars.slice(0, MAX_CHARS - 1).join('')}…` : labels[c];
    const label = el('span', { class: 'hm-col', text, title: labels[c] });
    label.style.left = `${c * cellW + cellW / 2}px`;
    axis.append(label);
  }
  return axis;
}

/** Unit numbers down the side, every n-th with n a round number; the selected unit marked. */
function rowAxis(rows: number, cellH: number, selected: number | null, name: (row: number) => string): HTMLElement {
  const axis = el('div', { class: 'hm-rows', attrs: { 'aria-hidden': 'true' } });
  axis.style.height = `${rows * cellH}px`;
  const raw = Math.ceil(13 / cellH);
  const every = [1, 2, 5, 10, 20, 50, 100, 200, 500].find((n) => n >= raw) ?? 1000;
  for (let r = 0; r < rows; r += every) {
    if (selected !== null && Math.abs(r - selected) * cellH < 12 && r !== selected) continue;
    const label = el('span', { class: 'hm-row', text: name(r) });
    label.style.top = `${r * cellH + cellH / 2}px`;
    axis.append(label);
  }
  if (selected !== null && selected < rows) {
    const mark = el('span', { class: 'hm-row selected', text: `${name(selected)} ▸` });
    mark.style.top = `${selected * cellH + cellH / 2}px`;
    axis.append(mark);
  }
  return axis;
}

/** The scale's colours with its range: 0 … 1, or −m … 0 … +m. */
export function legend(scale: ColourScale): HTMLElement {
  const bar = el('canvas', { class: 'legend-bar', attrs: { width: 128, height: 1, 'aria-hidden': 'true' } });
  const ctx = bar.getContext('2d');
  if (ctx) {
    const img = ctx.createImageData(128, 1);
    for (let i = 0; i < 128; i++) {
      const k = Math.round((i / 127) * 255) * 4;
      img.data.set([scale.lut[k], scale.lut[k + 1], scale.lut[k + 2], 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
  }
  const lo = scale.kind === 'diverging' ? `−${formatValue(scale.max)}` : formatValue(scale.min);
  const hi = scale.kind === 'diverging' ? `+${formatValue(scale.max)}` : formatValue(scale.max);
  return el(
    'span',
    { class: 'legend', attrs: { 'aria-label': `colour scale from ${lo} to ${hi}` } },
    el('span', { class: 'legend-lo', text: lo }),
    bar,
    el('span', { class: 'legend-hi', text: hi }),
  );
}
