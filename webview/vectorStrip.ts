// One vector as a strip of coloured cells on a <canvas> (the Step tab's (1, H), (1, 4H) and (1, I)
// rows), labelled with its shape; a (4H) vector split into its gate blocks i, f, g, o. Hover (or
// focus and the arrow keys) shows a cell's value in the tooltip; a click or Enter picks its unit.

import { divergingScale, gateScale, type ColourScale } from './colour';
import { formatValue } from './format';
import type { Tooltip } from './tooltip';
import { el } from './ui/dom';

export interface VectorStripOptions {
  /** The field it shows (forward.i, backward.dz): data-field, and the tooltip's tensor. */
  field: string;
  /** Its name as the equations write it. */
  label: string;
  /** Its shape as PyTorch writes it: (1, H), (1, 4H) = (1, 20). */
  shape: string;
  values: readonly number[];
  /** Cells in [0, 1] (the sigmoid gates): viridis; else blue below 0, red above. */
  gate?: boolean;
  /** Split into this many equal blocks (4: i, f, g, o), with these names. */
  blocks?: readonly string[];
  /** The unit marked (its cell in every block), or null. */
  unit: number | null;
  /** Unit of cell k (k itself, or k mod H in a (4H) vector); null: cells are not units (x, dx). */
  unitOf?: ((k: number) => number) | null;
  onPickUnit?: (unit: number) => void;
  width: number;
  tooltip: Tooltip;
  heading: string;
}

const CELL_H = 14;
const MAX_CELL = 16;
const BLOCK_GAP = 6;

export function vectorStrip(o: VectorStripOptions): HTMLElement {
  const n = o.values.length;
  const blocks = o.blocks ?? [''];
  const per = Math.ceil(n / blocks.length);
  const avail = Math.max(40, o.width - (blocks.length - 1) * BLOCK_GAP);
  // Thin cells for a long vector (a big vocabulary's one-hot); never wider than MAX_CELL.
  const raw = avail / n;
  const cellW = raw >= 1 ? Math.min(MAX_CELL, Math.floor(raw)) : raw;
  const blockW = per * cellW;
  const width = Math.ceil(blocks.length * blockW + (blocks.length - 1) * BLOCK_GAP);
  let m = 0;
  for (const v of o.values) m = Math.max(m, Math.abs(v));
  const scale: ColourScale = o.gate ? gateScale() : divergingScale(m);
  const canvas = el('canvas', {
    class: 'vs-canvas',
    attrs: { width, height: CELL_H, tabindex: 0, 'data-field': o.field, 'data-cells': n, 'aria-label': `${o.heading}: ${n} values${o.unitOf ? '; arrow keys move, Enter picks the unit' : ''}`, 'aria-describedby': 'tooltip' },
  });
  canvas.style.width = `${width}px`;
  canvas.style.height = `${CELL_H}px`;
  const xOf = (k: number): number => Math.floor(k / per) * (blockW + BLOCK_GAP) + (k % per) * cellW;
  const c2d = canvas.getContext('2d');
  if (c2d) {
    for (let k = 0; k < n; k++) {
      c2d.fillStyle = scale.css(o.values[k]);
      c2d.fillRect(xOf(k), 0, Math.max(1, cellW), CELL_H);
    }
    if (o.unit !== null && o.unitOf) {
      for (let k = 0; k < n; k++) {
        if (o.unitOf(k) !== o.unit) continue;
        c2d.lineWidth = 2;
        c2d.strokeStyle = 'rgba(255, 255, 255, 0.95)';
        c2d.strokeRect(xOf(k) + 1, 1, Math.max(2, cellW - 2), CELL_H - 2);
        c2d.lineWidth = 1;
        c2d.strokeStyle = 'rgba(0, 0, 0, 0.85)';
        c2d.strokeRect(xOf(k) - 0.5, 0.5, Math.max(2, cellW + 1), CELL_H - 1);
      }
    }
  }
  const cellAt = (x: number): number | null => {
    const b = Math.floor(x / (blockW + BLOCK_GAP));
    const inBlock = x - b * (blockW + BLOCK_GAP);
    if (b < 0 || b >= blocks.length || inBlock >= blockW) return null;
    const k = b * per + Math.floor(inBlock / cellW);
    return k < n ? k : null;
  };
  let focus = o.unit !== null && o.unitOf ? Math.max(0, Array.from({ length: n }, (_, k) => k).find((k) => o.unitOf?.(k) === o.unit) ?? 0) : 0;
  const show = (k: number, x: number, y: number): void => {
    const block = blocks.length > 1 ? `${blocks[Math.floor(k / per)]} block, ` : '';
    const unit = o.unitOf ? `unit ${o.unitOf(k)}` : `index ${k}`;
    o.tooltip.show(x, y, { tensor: o.field, heading: o.heading, row: `${block}${unit}`, col: o.shape, value: o.values[k], data: { index: String(k), ...(o.unitOf ? { unit: String(o.unitOf(k)) } : {}) } });
  };
  canvas.addEventListener('mousemove', (e) => {
    const rect = canvas.getBoundingClientRect();
    const k = cellAt(e.clientX - rect.left);
    if (k === null) o.tooltip.hide();
    else show(k, e.clientX, e.clientY);
  });
  canvas.addEventListener('mouseleave', () => o.tooltip.hide());
  canvas.addEventListener('blur', () => o.tooltip.hide());
  const showFocus = (): void => {
    const rect = canvas.getBoundingClientRect();
    show(focus, rect.left + xOf(focus) + cellW, rect.bottom);
  };
  canvas.addEventListener('focus', showFocus);
  const { onPickUnit, unitOf } = o;
  if (onPickUnit && unitOf) {
    canvas.classList.add('selectable');
    canvas.addEventListener('click', (e) => {
      const rect = canvas.getBoundingClientRect();
      const k = cellAt(e.clientX - rect.left);
      if (k !== null) onPickUnit(unitOf(k));
    });
  }
  canvas.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      // The strip's own cursor: the Step tab's arrow keys (which move through time) stay out of it.
      e.preventDefault();
      e.stopPropagation();
      focus = Math.max(0, Math.min(n - 1, focus + (e.key === 'ArrowLeft' ? -1 : 1)));
      showFocus();
    } else if ((e.key === 'Enter' || e.key === ' ') && onPickUnit && unitOf) {
      e.preventDefault();
      onPickUnit(unitOf(focus));
    }
  });
  const labels = blocks.length > 1 ? el('div', { class: 'vs-blocks', attrs: { 'aria-hidden': 'true' } }, ...blocks.map((b) => el('span', { class: 'vs-block', text: b }))) : null;
  if (labels) for (const child of Array.from(labels.children) as HTMLElement[]) child.style.width = `${blockW + BLOCK_GAP}px`;
  return el(
    'div',
    { class: 'vs', attrs: { 'data-field': o.field } },
    el('div', { class: 'vs-head' }, el('span', { class: 'vs-label', text: o.label }), el('span', { class: 'vs-shape', text: o.shape }), el('span', { class: 'vs-range muted', text: o.gate ? '0 … 1' : `±${formatValue(m)}` })),
    el('div', { class: 'vs-plot' }, canvas, labels),
  );
}
