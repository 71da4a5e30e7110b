// What every section is drawn with.

import type { ChartSet, Theme } from '../charts';
import type { PanelStore, Selection } from '../store';
import type { Tooltip } from '../tooltip';

export interface SectionContext {
  store: PanelStore;
  tooltip: Tooltip;
  /** Width available to the section's content, in CSS pixels. */
  width: number;
  theme: Theme;
  charts: ChartSet;
  /** Selects a unit (a heatmap row): outlines it and posts highlightUnit. */
  select(selection: Selection): void;
}

export const STATE_TITLES: Record<string, string> = {
  i: 'input gate',
  f: 'forget gate',
  g: 'candidate',
  o: 'output gate',
  c: 'cell state',
  h: 'hidden state',
  dh: 'dL/dh',
  dc: 'dL/dc',
};

/** Cell size of the units × steps maps: as large as fits `perRow` maps across, within bounds. */
export function cellSize(width: number, T: number, H: number, perRow: number, gap = 28, axis = 34): number {
  const each = (width - (perRow - 1) * gap) / perRow - axis;
  let cell = Math.floor(each / T);
  cell = Math.min(cell, 32, Math.max(1, Math.floor(420 / H)));
  return Math.max(1, cell);
}

/** How many maps go across, and their cell: the most per row whose cells stay readable (8 px, or
 *  the largest the height allows when that is less). `choices` runs from most to fewest. */
export function layoutMaps(width: number, T: number, H: number, choices: readonly number[]): { perRow: number; cell: number } {
  const best = cellSize(width, T, H, 1);
  const target = Math.min(8, best);
  for (const perRow of choices) {
    const cell = cellSize(width, T, H, perRow);
    if (cell >= target) return { perRow, cell };
  }
  return { perRow: 1, cell: best };
}

export function placeholder(text: string): HTMLElement {
  const p = document.createElement('p');
  p.className = 'placeholder';
  p.textContent = text;
  return p;
}
