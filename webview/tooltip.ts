// One tooltip for every heatmap: what is under the pointer (or the keyboard cursor), with the exact
// value. Its data-* attributes carry the same facts for tests and for anyone reading the DOM.

import { el } from './ui/dom';
import { formatValue } from './format';

export interface TooltipInfo {
  /** Which map: i, f, g, o, c, h, dh, dc, or a parameter block such as W_ih.f. */
  tensor: string;
  heading: string;
  row: string;
  col: string;
  value: number;
  /** Extra facts as data-* attributes (unit, step, token...). */
  data: Record<string, string>;
}

export class Tooltip {
  readonly element: HTMLDivElement;
  private readonly heading: HTMLElement;
  private readonly where: HTMLElement;
  private readonly value: HTMLElement;

  constructor() {
    this.heading = el('div', { class: 'tt-heading' });
    this.where = el('div', { class: 'tt-where' });
    this.value = el('div', { class: 'tt-value', attrs: { 'data-part': 'value' } });
    this.element = el('div', { id: 'tooltip', class: 'tooltip', role: 'status', attrs: { 'aria-live': 'polite' } }, this.heading, this.where, this.value);
    this.element.hidden = true;
  }

  /** Shows the tooltip beside the point (x, y) in viewport pixels. */
  show(x: number, y: number, info: TooltipInfo): void {
    const t = this.element;
    for (const key of Object.keys(t.dataset)) delete t.dataset[key];
    t.dataset.tensor = info.tensor;
    t.dataset.value = formatValue(info.value);
    t.dataset.exact = String(info.value);
    for (const [k, v] of Object.entries(info.data)) t.dataset[k] = v;
    this.heading.textContent = info.heading;
    this.where.textContent = `${info.row} · ${info.col}`;
    this.value.textContent = formatValue(info.value);
    t.hidden = false;
    const pad = 14;
    const w = t.offsetWidth;
    const h = t.offsetHeight;
    let left = x + pad;
    let top = y + pad;
    if (left + w > window.innerWidth - 4) left = Math.max(4, x - pad - w);
    if (top + h > window.innerHeight - 4) top = Math.max(4, y - pad - h);
    t.style.left = `${left}px`;
    t.style.top = `${top}px`;
  }

  hide(): void {
    this.element.hidden = true;
  }
}
