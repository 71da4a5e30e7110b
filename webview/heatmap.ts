// A heatmap on a <canvas>: rows × columns of cells (for the states: hidden units × time steps), one
// colour per cell from a ColourScale. The canvas is exactly cols·cellW by rows·cellH pixels (its
// width/height attributes), and CSS never rescales it, so a cell is found from the pointer by
// division. Hover or keyboard shows the tooltip; a click or Enter selects the row (a unit).

import { el } from './ui/dom';
import { CLIP_PERCENTILE, inkOn, type Clip, type ColourScale } from './colour';
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
  /** A scale per row (per-unit normalisation); the map's `scale` otherwise. */
  rowScales?: ColourScale[] | null;
  /** Print each cell's value in it (when the cells are large enough: see VALUE_CELL). */
  values?: boolean;
  /** Columns are the sequence's steps: hovering one marks that step in every map of the section. */
  timeColumns?: boolean;
  /** Where the cursor stands: a boundary between columns (0..cols), or null. */
  cursorAt?: number | null;
  /** What the legend says after the range (how the scale was chosen). */
  legendNote?: string;
  /** The legend's end labels, when not the scale's range. */
  legendLabels?: [string, string];
}

/** Cells at least this large show their value printed in them. */
export const VALUE_CELL = { w: 44, h: 18 };

/** Width of a character of the cells' numbers (10px monospace), in CSS pixels. */
const VALUE_CHAR = 6.1;

/** A value as printed in a cell `width` px wide: 3 significant digits, 2 when 3 do not fit, or an exponent when tiny. */
export function formatCell(v: number, width = Infinity): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  const write = (digits: number): string =>
    (a < 1e-3 || a >= 1e4 ? v.toExponential(digits - 1).replace('e-', 'e−').replace('e+', 'e') : String(Number(v.toPrecision(digits)))).replace(/^-/, '−');
  const fits = (text: string): boolean => [...text].length * VALUE_CHAR + 4 <= width;
  const plain = [write(3), write(2)].find(fits);
  if (plain) return plain;
  // Too narrow for a plain number: the shortest exponent form that fits (or the shortest of all).
  const exp = (digits: number): string => v.toExponential(digits - 1).replace('e-', 'e−').replace('e+', 'e').replace(/^-/, '−');
  return [exp(2), exp(1)].find(fits) ?? exp(1);
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
  // The hovered column, across every map of the section (see linkColumns).
  const column = o.timeColumns ? el('div', { class: 'hm-colmark' }) : null;
  if (column) {
    column.hidden = true;
    column.style.width = `${o.cellW}px`;
    column.style.height = `${height}px`;
    column.dataset.cellW = String(o.cellW);
  }
  const plot = el('div', { class: 'hm-plot' }, canvas, column, cursor);
  plot.style.width = `${width}px`;
  plot.style.height = `${height}px`;
  const printed = o.values && o.cellW >= VALUE_CELL.w && o.cellH >= VALUE_CELL.h;
  if (printed) plot.append(valueLayer(o));
  if (o.cursorAt !== null && o.cursorAt !== undefined && o.cursorAt >= 0 && o.cursorAt <= o.cols) {
    const mark = el('div', { class: 'hm-textcursor', title: 'the cursor', attrs: { 'data-at': o.cursorAt } });
    mark.style.left = `${o.cursorAt * o.cellW}px`;
    mark.style.height = `${height}px`;
    plot.append(mark);
  }

  let focus: { r: number; c: number } | null = null;
  const showAt = (r: number, c: number, x: number, y: number): void => {
    cursor.hidden = false;
    cursor.style.left = `${c * o.cellW}px`;
    cursor.style.top = `${r * o.cellH}px`;
    const row = o.describeRow(r);
    const col = o.describeCol(c);
    if (o.timeColumns) canvas.dispatchEvent(new CustomEvent<number | null>(COLUMN_EVENT, { bubbles: true, detail: c }));
    o.tooltip.show(x, y, { tensor: o.name, heading: o.heading, row: row.text, col: col.text, value: o.value(r, c), data: { ...row.data, ...col.data } });
  };
  const hide = (): void => {
    cursor.hidden = true;
    if (o.timeColumns) canvas.dispatchEvent(new CustomEvent<number | null>(COLUMN_EVENT, { bubbles: true, detail: null }));
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
  // The legend's note (how its scale was chosen) goes under the map, so that maps side by side line up.
  const note = o.legend !== false ? scaleNote(o.scale, o.legendNote) : '';
  if (o.legend !== false) caption.append(legend(o.scale, o.legendNote, o.legendLabels, false));
  return el(
    'figure',
    { class: `heatmap ${o.className ?? ''}`.trim(), attrs: { 'data-tensor': o.name, 'data-values': printed ? 'printed' : 'none' } },
    caption,
    body,
    o.footer ?? null,
    note ? el('div', { class: 'hm-footer legend-note', text: note }) : null,
  );
}

/** The event a map sends up when the pointer enters a column (detail: its index) or leaves (null). */
export const COLUMN_EVENT = 'lens-column';

/** Each cell's value printed over it, in black or white as the cell's colour needs. */
function valueLayer(o: HeatmapOptions): HTMLElement {
  const layer = el('div', { class: 'hm-values', attrs: { 'aria-hidden': 'true' } });
  layer.style.gridTemplateColumns = `repeat(${o.cols}, ${o.cellW}px)`;
  layer.style.gridAutoRows = `${o.cellH}px`;
  for (let r = 0; r < o.rows; r++) {
    const scale = o.rowScales?.[r] ?? o.scale;
    for (let c = 0; c < o.cols; c++) {
      const v = o.value(r, c);
      const cell = el('span', { class: 'hm-value', text: formatCell(v, o.cellW), attrs: { 'data-row': r, 'data-col': c } });
      cell.style.color = inkOn(scale.lut, scale.index(v));
      layer.append(cell);
    }
  }
  return layer;
}

/**
 * Ties the columns of every map under `root` together: hovering column c of one map (or token c
 * of a strip: any element with data-col sending COLUMN_EVENT) outlines column c in all of them and
 * marks label c.
 */
export function linkColumns(root: HTMLElement): void {
  let shown: number | null = null;
  root.addEventListener(COLUMN_EVENT, (e) => {
    const c = (e as CustomEvent<number | null>).detail;
    if (c === shown) return;
    shown = c;
    for (const mark of Array.from(root.querySelectorAll<HTMLElement>('.hm-colmark'))) {
      mark.hidden = c === null;
      if (c !== null) mark.style.left = `${c * Number(mark.dataset.cellW)}px`;
    }
    for (const label of Array.from(root.querySelectorAll<HTMLElement>('.hm-col.hover, .token-chip.hover'))) label.classList.remove('hover');
    if (c !== null) for (const label of Array.from(root.querySelectorAll<HTMLElement>(`.hm-col[data-col="${c}"], .token-chip[data-col="${c}"]`))) label.classList.add('hover');
  });
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
  for (let r = 0; r < o.rows; r++) {
    const scale = o.rowScales?.[r] ?? o.scale;
    const lut = scale.lut;
    for (let c = 0; c < o.cols; c++) {
      const k = scale.index(o.value(r, c)) * 4;
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

/** Characters of a token label at most (longer ones end in an ellipsis; the title has it whole). */
const MAX_LABEL = 10;
/** A column at least this wide gets its own label (rotated when it does not fit upright). */
export const LABEL_MIN_CELL = 9;

/**
 * Labels of the columns: every token, upright when it fits its cell, else rotated a quarter turn
 * in a font as small as the cell needs. Columns narrower than LABEL_MIN_CELL get position numbers
 * at round intervals instead, and the section's token strip names every token.
 */
function columnAxis(labels: string[], cellW: number): HTMLElement {
  const n = labels.length;
  const clipped = labels.map((s) => {
    const chars = [...s];
    return chars.length > MAX_LABEL ? `${chars.slice(0, MAX_LABEL - 1).join('')}…` : s;
  });
  if (cellW < LABEL_MIN_CELL) {
    const axis = el('div', { class: 'hm-cols numbered', attrs: { 'aria-hidden': 'true', 'data-labels': 'positions' } });
    axis.style.width = `${n * cellW}px`;
    const every = [1, 2, 5, 10, 20, 50, 100, 200, 500].find((k) => k * cellW >= 26) ?? 1000;
    for (let c = 0; c < n; c += every) {
      const label = el('span', { class: 'hm-col', text: String(c), attrs: { 'data-col': c } });
      label.style.left = `${c * cellW + cellW / 2}px`;
      axis.append(label);
    }
    return axis;
  }
  const longest = clipped.reduce((m, s) => Math.max(m, [...s].length), 0);
  // Upright in 11 px type, or down to 9 px if that fits; else rotated, in type as small as the cell needs.
  const fits = (px: number): boolean => longest * px * 0.62 + 3 <= cellW;
  const uprightPx = [11, 10, 9].find(fits);
  const upright = uprightPx !== undefined;
  const fontPx = uprightPx ?? Math.max(8, Math.min(11, cellW - 1));
  const charW = fontPx * 0.62;
  const axis = el('div', { class: `hm-cols ${upright ? 'upright' : 'rotated'}`, attrs: { 'aria-hidden': 'true', 'data-labels': 'tokens' } });
  axis.style.width = `${n * cellW}px`;
  axis.style.fontSize = `${fontPx}px`;
  if (!upright) axis.style.height = `${Math.ceil(longest * charW) + 6}px`;
  for (let c = 0; c < n; c++) {
    const label = el('span', { class: 'hm-col', text: clipped[c], title: labels[c], attrs: { 'data-col': c } });
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
    if (selected !== null && Math.abs(r - selected) * cellH < 12) continue;
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

/** The scale's colours with its range: 0 … 1, or −m … 0 … +m, and how m was chosen. */
/** What a legend says of its scale: the clip (marked *), or the note given; '' for nothing. */
export function scaleNote(scale: ColourScale & { clip?: Clip }, note?: string): string {
  const clip = scale.clip;
  if (note) return note;
  return clip && clip.over > 0 ? `* scale to the ${CLIP_PERCENTILE}th percentile of |value|; ${clip.over} larger (up to ${formatValue(clip.max)}) at full colour` : '';
}

/** A colour scale's 256-entry lookup table drawn as a 128-pixel bar. */
export function legendBar(scale: { lut: ArrayLike<number> }): HTMLCanvasElement {
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
  return bar;
}

export function legend(scale: ColourScale & { clip?: Clip }, note?: string, labels?: [string, string], withNote = true): HTMLElement {
  const bar = legendBar(scale);
  const lo = labels?.[0] ?? (scale.kind === 'diverging' ? `−${formatValue(scale.max)}` : formatValue(scale.min));
  const hi = labels?.[1] ?? (scale.kind === 'diverging' ? `+${formatValue(scale.max)}` : formatValue(scale.max));
  const clip = scale.clip;
  const clipped = !!clip && clip.over > 0;
  const said = scaleNote(scale, note);
  return el(
    'span',
    { class: 'legend', attrs: { 'aria-label': `colour scale from ${lo} to ${hi}${said ? ` (${said})` : ''}`, 'data-clipped': clipped ? 'yes' : 'no' } },
    el('span', { class: 'legend-lo', text: lo }),
    bar,
    el('span', { class: 'legend-hi', text: clipped ? `${hi}*` : hi }),
    said && withNote ? el('span', { class: 'legend-note', text: said }) : null,
  );
}
