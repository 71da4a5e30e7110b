// What every section is drawn with.

import type { ChartSet, Theme } from '../charts';
import type { PanelToHost } from '../../src/protocol/panel';
import type { PanelStore, Selection } from '../store';
import type { Tooltip } from '../tooltip';
import { VALUE_CELL } from '../heatmap';

export interface SectionContext {
  store: PanelStore;
  tooltip: Tooltip;
  /** Width available to the section's content, in CSS pixels. */
  width: number;
  theme: Theme;
  charts: ChartSet;
  /** Selects a unit (a heatmap row): outlines it and posts highlightUnit. */
  select(selection: Selection): void;
  /** The Step tab: explain step t of the chosen layer and direction. */
  explainStep?(t: number): void;
  /** The Step tab: the unit whose numbers are written out. */
  chooseStepUnit?(unit: number): void;
  /** A message for the host (the Units tab's controls). */
  post?(message: PanelToHost): void;
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

/** Largest width of a time step in the units × steps maps, in CSS pixels. */
const MAX_CELL = 72;
/** Height a map may take before its rows get thinner than its columns. */
const MAP_HEIGHT = 520;
/** A step this wide, when possible, before more maps share a row (labels and hovering stay easy). */
const COMFORTABLE_CELL = 12;
/** Width of a map at least, for it to share a row with others. */
const MIN_SHARED_MAP = 140;
/** Rows of a map whose cells may be taller than this only when the map is small. */
const VALUE_ROWS = 24;

export interface MapLayout {
  perRow: number;
  /** Width of a step (column). */
  cellW: number;
  /** Height of a unit (row): the step's width, unless H units would make the map too tall. */
  cellH: number;
  /** Cells are large enough to print their values. */
  values: boolean;
}

/** Width of a step when `perRow` maps share the width, each with its unit axis. */
function stepWidth(width: number, T: number, perRow: number, gap = 28, axis = 34): number {
  const each = (width - (perRow - 1) * gap) / perRow - axis;
  return Math.max(1, Math.min(MAX_CELL, Math.floor(each / T)));
}

/**
 * How many maps go across and their cells. A small model (at most VALUE_ROWS units) gets cells
 * large enough to print its values when some number of maps per row allows it (the most that
 * do); otherwise the most maps per row whose steps stay readable (12 px, or the widest possible
 * when less). Cells are square up to 32 px tall, unless H is large: then rows get thinner (down
 * to 1 px) so that a map stays about MAP_HEIGHT tall. `choices` runs from most to fewest.
 */
export function layoutMaps(width: number, T: number, H: number, choices: readonly number[]): MapLayout {
  if (H <= VALUE_ROWS) {
    const perRow = choices.find((n) => stepWidth(width, T, n) >= VALUE_CELL.w);
    if (perRow !== undefined) {
      const cellW = stepWidth(width, T, perRow);
      return { perRow, cellW, cellH: Math.max(VALUE_CELL.h, Math.min(32, Math.floor(MAP_HEIGHT / H))), values: true };
    }
  }
  const target = Math.min(COMFORTABLE_CELL, stepWidth(width, T, 1));
  // Sharing a row only when each map stays at least MIN_SHARED_MAP wide.
  const perRow = choices.find((n) => stepWidth(width, T, n) >= target && (n === 1 || T * stepWidth(width, T, n) >= MIN_SHARED_MAP)) ?? 1;
  const cellW = stepWidth(width, T, perRow);
  const cellH = Math.max(1, Math.min(cellW, 32, Math.floor(MAP_HEIGHT / H)));
  return { perRow, cellW, cellH, values: false };
}

export function placeholder(text: string): HTMLElement {
  const p = document.createElement('p');
  p.className = 'placeholder';
  p.textContent = text;
  return p;
}
