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

/** Largest and smallest width of a time step in the units × steps maps, in CSS pixels. */
const MAX_CELL = 40;
/** Height a map may take before its rows get thinner than its columns. */
const MAP_HEIGHT = 520;

export interface MapLayout {
  perRow: number;
  /** Width of a step (column). */
  cellW: number;
  /** Height of a unit (row): the step's width, unless H units would make the map too tall. */
  cellH: number;
}

/** Width of a step when `perRow` maps share the width, each with its unit axis. */
function stepWidth(width: number, T: number, perRow: number, gap = 28, axis = 34): number {
  const each = (width - (perRow - 1) * gap) / perRow - axis;
  return Math.max(1, Math.min(MAX_CELL, Math.floor(each / T)));
}

/**
 * How many maps go across and their cells: the most per row whose steps stay readable (8 px, or
 * the widest possible when less). Cells are square unless H is large: then rows get thinner (down
 * to 1 px) so that a map stays about MAP_HEIGHT tall. `choices` runs from most to fewest.
 */
export function layoutMaps(width: number, T: number, H: number, choices: readonly number[]): MapLayout {
  const target = Math.min(8, stepWidth(width, T, 1));
  const perRow = choices.find((n) => stepWidth(width, T, n) >= target) ?? 1;
  const cellW = stepWidth(width, T, perRow);
  const cellH = Math.max(1, Math.min(cellW, Math.floor(MAP_HEIGHT / H)));
  return { perRow, cellW, cellH };
}

export function placeholder(text: string): HTMLElement {
  const p = document.createElement('p');
  p.className = 'placeholder';
  p.textContent = text;
  return p;
}
