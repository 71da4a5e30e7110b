// Line charts through uPlot (small and fast; axes, ticks, log scales and a hover legend for free),
// coloured from the VS Code theme's chart colours at the time they are drawn. A theme change
// redraws them.

import uPlot from 'uplot';
import { el } from './ui/dom';

export interface Theme {
  foreground: string;
  muted: string;
  /** Axis lines and ticks. */
  lines: string;
  /** Grid lines: fainter than the axes. */
  grid: string;
  blue: string;
  red: string;
  orange: string;
  green: string;
  purple: string;
  yellow: string;
  font: string;
}

function cssVar(styles: CSSStyleDeclaration, name: string, fallback: string): string {
  return styles.getPropertyValue(name).trim() || fallback;
}

/** The theme's colours now (VS Code sets them on the page as --vscode-* variables). */
export function readTheme(): Theme {
  const s = getComputedStyle(document.body);
  const foreground = cssVar(s, '--vscode-charts-foreground', cssVar(s, '--vscode-foreground', '#cccccc'));
  return {
    foreground,
    muted: cssVar(s, '--vscode-descriptionForeground', foreground),
    lines: cssVar(s, '--vscode-charts-lines', 'rgba(128, 128, 128, 0.5)'),
    grid: cssVar(s, '--vscode-panel-border', 'rgba(128, 128, 128, 0.25)'),
    blue: cssVar(s, '--vscode-charts-blue', '#3794ff'),
    red: cssVar(s, '--vscode-charts-red', '#f14c4c'),
    orange: cssVar(s, '--vscode-charts-orange', '#d18616'),
    green: cssVar(s, '--vscode-charts-green', '#89d185'),
    purple: cssVar(s, '--vscode-charts-purple', '#b180d7'),
    yellow: cssVar(s, '--vscode-charts-yellow', '#cca700'),
    font: s.fontFamily || 'sans-serif',
  };
}

export interface Line {
  label: string;
  colour: string;
  values: Array<number | null>;
  width?: number;
  dash?: number[];
  /** Markers only, no line (events such as clipped steps). */
  markers?: boolean;
  /** Faded (a raw curve under its smoothed one). */
  faint?: boolean;
}

export interface ChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  lines: Line[];
  width: number;
  height: number;
  logY?: boolean;
  theme: Theme;
  /** How x values are written on the axis and in the legend. */
  formatX?: (x: number) => string;
  formatY?: (y: number) => string;
}

const INTEGER_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000];

/** Charts drawn in one section, destroyed together when the section is drawn again. */
export class ChartSet {
  private charts: uPlot[] = [];

  add(o: ChartOptions): HTMLElement {
    const holder = el('div', { class: 'chart-plot' });
    const figure = el('figure', { class: 'chart', id: o.id, attrs: { 'data-points': o.x.length } }, el('figcaption', { text: o.title }), holder);
    const fmtY = o.formatY ?? compact;
    const fmtX = o.formatX ?? ((x: number) => String(x));
    const axis = (label: string): uPlot.Axis => ({
      label,
      stroke: o.theme.muted,
      font: `11px ${o.theme.font}`,
      labelFont: `11px ${o.theme.font}`,
      labelSize: 22,
      labelGap: 0,
      grid: { stroke: o.theme.grid, width: 1 },
      ticks: { stroke: o.theme.lines, width: 1, size: 4 },
    });
    const yAxis: uPlot.Axis = { ...axis(o.yLabel), size: 54, values: (_u, ticks) => ticks.map((t) => (t === null ? '' : fmtY(t))) };
    if (o.logY) {
      // Log axes leave some ticks null; of the rest, keep 1·10^k (and 2·, 5· over a short range).
      const filter = (u: uPlot, splits: number[]): Array<number | null> => logTicks(splits, u.scales.y.min, u.scales.y.max);
      yAxis.filter = filter;
      yAxis.grid = { ...yAxis.grid, filter };
      yAxis.ticks = { ...yAxis.ticks, filter };
    }
    const opts: uPlot.Options = {
      width: Math.max(200, Math.floor(o.width)),
      height: o.height,
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: false }, y: o.logY ? { distr: 3 } : {} },
      legend: { live: true },
      hooks: {
        // Off the chart, the legend shows the last point rather than dashes.
        setCursor: [(u) => showLast(u)],
        ready: [(u) => showLast(u)],
      },
      axes: [
        // x is a step or a count of steps: whole numbers only.
        { ...axis(o.xLabel), incrs: INTEGER_INCREMENTS, values: (_u, ticks) => ticks.map((t) => (t === null ? '' : fmtX(t))) },
        yAxis,
      ],
      series: [
        { label: o.xLabel, value: (_u, x) => (x === null ? '–' : fmtX(x)) },
        ...o.lines.map((l): uPlot.Series => ({
          label: l.label,
          stroke: l.colour,
          width: l.width ?? 1.5,
          dash: l.dash,
          alpha: l.faint ? 0.35 : 1,
          spanGaps: false,
          value: (_u, y) => (y === null || y === undefined ? '–' : fmtY(y)),
          ...(l.markers ? { paths: () => null, points: { show: true, size: 7, width: 1, stroke: l.colour, fill: l.colour } } : { points: { show: false } }),
        })),
      ],
    };
    const data: uPlot.AlignedData = [o.x, ...o.lines.map((l) => l.values)];
    this.charts.push(new uPlot(opts, data, holder));
    return figure;
  }

  dispose(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }
}

function showLast(u: uPlot): void {
  const n = u.data[0].length;
  if (u.cursor.idx === null || u.cursor.idx === undefined) {
    if (n > 0) u.setLegend({ idx: n - 1 });
  }
}

function logTicks(splits: number[], min: number | undefined, max: number | undefined): Array<number | null> {
  const decades = min && max && min > 0 ? Math.log10(max / min) : Infinity;
  return splits.map((v) => {
    if (v === null || v <= 0) return null;
    const mantissa = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
    return mantissa === 1 || (decades < 2 && (mantissa === 2 || mantissa === 5)) ? v : null;
  });
}

/** 0.0123, 1.23, 123, 12.3k: short tick labels. */
export function compact(y: number): string {
  if (y === 0) return '0';
  const a = Math.abs(y);
  if (a >= 1e4) return `${(y / 1000).toFixed(0)}k`;
  if (a >= 100) return y.toFixed(0);
  if (a >= 1) return String(Number(y.toPrecision(3)));
  if (a >= 1e-3) return String(Number(y.toPrecision(2)));
  return y.toExponential(0);
}

/** Exponential moving average with the start debiased (as TensorBoard smooths): smoothing in [0, 1). */
export function ema(values: readonly number[], smoothing: number): number[] {
  const out: number[] = [];
  let last = 0;
  let weight = 0;
  for (const v of values) {
    last = last * smoothing + (1 - smoothing) * v;
    weight = weight * smoothing + (1 - smoothing);
    out.push(last / weight);
  }
  return out;
}
