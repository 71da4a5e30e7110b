// The LSTM cell drawn as an SVG diagram for the Step tab: x_t and h_{t−1} entering the gate
// pre-activations z, the four gates, the cell line from c_{t−1} to c_t, and h_t leaving. Forward,
// each wire is labelled with its value for the chosen unit; backward, the arrows turn round and the
// labels are the gradients that flow along them. Colours come from the theme through CSS classes.

import type { StepMessage } from '../src/protocol/panel';
import { svg } from './ui/dom';

type Explanation = StepMessage['explanation'];

const W = 430;
const H = 280;

function node(x: number, y: number, text: string, kind: 'op' | 'gate' | 'act'): SVGGElement {
  const g = svg('g', { class: `dg-${kind}` });
  if (kind === 'op') g.append(svg('circle', { cx: x, cy: y, r: 11 }));
  else g.append(svg('rect', { x: x - 22, y: y - 13, width: 44, height: 26, rx: 5 }));
  g.append(svg('text', { x, y: y + 4, 'text-anchor': 'middle' }, text));
  return g;
}

function wire(points: Array<[number, number]>, reverse: boolean, cls = 'dg-wire'): SVGPolylineElement {
  const p = reverse ? [...points].reverse() : points;
  return svg('polyline', { points: p.map(([x, y]) => `${x},${y}`).join(' '), class: cls, 'marker-end': 'url(#dg-arrow)' });
}

function label(x: number, y: number, text: string, anchor: 'start' | 'middle' | 'end' = 'start', field?: string): SVGTextElement {
  return svg('text', { x, y, class: 'dg-label', 'text-anchor': anchor, ...(field ? { 'data-field': field } : {}) }, text);
}

/** A gate's value above its box; o's to the left of its wire, clear of h_t's label on the right. */
function gateLabel(name: 'i' | 'f' | 'g' | 'o', x: number, text: string, field: string): SVGTextElement {
  return name === 'o' ? label(x - 4, 166, text, 'end', field) : label(x + 4, 166, text, 'middle', field);
}

/**
 * A number as the diagram writes it: 3 significant digits, at most 8 characters (−0.00423,
 * −4.23e-5), so that the four gates' labels fit between them; the equations give 4.
 */
export function diagramValue(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e4) return x.toExponential(2);
  return Number(x.toPrecision(3)).toString();
}

/** The cell of one step; `mode` forward shows values, backward gradients, for unit `u`. */
export function stepDiagram(e: Explanation, u: number, mode: 'forward' | 'backward'): SVGSVGElement {
  const back = mode === 'backward';
  const f = e.forward;
  const b = e.backward;
  const v = diagramValue;
  const root = svg('svg', {
    class: `step-diagram ${mode}`,
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    role: 'img',
    'aria-label': back
      ? `The cell run backward for unit ${u}: dh and dc arrive from above and from the next step; di, df, dg, do, then dz; dc_prev, dh_prev and dx leave.`
      : `The LSTM cell for unit ${u}: x_t and h_t−1 make z; the gates i, f, g, o; c_t = f·c_t−1 + i·g; h_t = o·tanh(c_t).`,
  });
  root.append(
    svg('defs', {}, svg('marker', { id: 'dg-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'dg-head' }))),
  );
  // The cell line (top), c_{t-1} → ×f → + → c_t.
  root.append(wire([[20, 40], [119, 40]], back, 'dg-cell'), wire([[141, 40], [204, 40]], back, 'dg-cell'), wire([[226, 40], [410, 40]], back, 'dg-cell'));
  // z from h_{t-1} and x_t, up to the four gates.
  root.append(wire([[20, 240], [95, 240]], back), wire([[225, 275], [225, 253]], back));
  root.append(svg('rect', { x: 95, y: 226, width: 265, height: 26, rx: 5, class: 'dg-z' }), svg('text', { x: 227, y: 243, 'text-anchor': 'middle', class: 'dg-ztext' }, 'z = W_ih x + W_hh h + b'));
  const gates: Array<{ name: 'i' | 'f' | 'g' | 'o'; x: number; act: string }> = [
    { name: 'f', x: 130, act: 'σ' },
    { name: 'i', x: 185, act: 'σ' },
    { name: 'g', x: 245, act: 'tanh' },
    { name: 'o', x: 330, act: 'σ' },
  ];
  for (const gt of gates) root.append(wire([[gt.x, 226], [gt.x, 198]], back));
  // f up to ×; i and g into their product, up to +; o up to × on the way out.
  root.append(wire([[130, 172], [130, 51]], back), wire([[185, 172], [208, 126]], back), wire([[245, 172], [222, 126]], back), wire([[215, 104], [215, 51]], back));
  root.append(wire([[330, 40], [330, 72]], back), wire([[330, 98], [330, 129]], back), wire([[330, 172], [330, 151]], back));
  root.append(wire([[341, 140], [410, 140]], back), wire([[390, 140], [390, 100]], back));
  root.append(node(130, 40, '×', 'op'), node(215, 40, '+', 'op'), node(215, 115, '×', 'op'), node(330, 85, 'tanh', 'act'), node(330, 140, '×', 'op'));
  // Backward, a gate's box names its gradient (its label is the value alone, to fit between them).
  for (const gt of gates) root.append(node(gt.x, 185, back ? `d${gt.name}` : `${gt.name} ${gt.act}`, 'gate'));
  // What the wires carry for unit u.
  if (!back) {
    root.append(
      label(20, 30, `c_t−1 = ${v(f.c_prev[u])}`, 'start', 'diagram.c_prev'),
      label(410, 30, `c_t = ${v(f.c[u])}`, 'end', 'diagram.c'),
      label(20, 232, `h_t−1 = ${v(f.h_prev[u])}`, 'start', 'diagram.h_prev'),
      label(232, 272, `x_t (${f.x.length})`, 'start'),
      label(410, 158, `h_t = ${v(f.h[u])}`, 'end', 'diagram.h'),
      label(410, 122, '↑ up; on to t+1', 'end'),
      label(340, 66, `tanh c = ${v(f.tanh_c[u])}`, 'start', 'diagram.tanh_c'),
      label(225, 100, `i·g = ${v(f.i[u] * f.g[u])}`, 'start'),
      ...gates.map((gt) => gateLabel(gt.name, gt.x, `${v(f[gt.name][u])}`, `diagram.${gt.name}`)),
    );
  } else {
    root.append(
      label(20, 30, `dc_prev = ${v(b.dc_prev[u])}`, 'start', 'diagram.dc_prev'),
      label(410, 30, `dc_next = ${v(b.dc_next[u])}`, 'end', 'diagram.dc_next'),
      label(20, 232, `dh_prev = ${v(b.dh_prev[u])}`, 'start', 'diagram.dh_prev'),
      label(232, 272, `dx (${b.dx.length})`, 'start'),
      label(410, 158, `dh = ${v(b.dh[u])}`, 'end', 'diagram.dh'),
      label(410, 122, `dh_up = ${v(b.dh_up[u])}`, 'end', 'diagram.dh_up'),
      label(320, 66, `dc_via_h = ${v(b.dc_via_h[u])}`, 'end', 'diagram.dc_via_h'),
      label(225, 100, `dc = ${v(b.dc[u])}`, 'start', 'diagram.dc'),
      ...gates.map((gt) => gateLabel(gt.name, gt.x, v(b[`d${gt.name}` as 'di' | 'df' | 'dg' | 'do'][u]), `diagram.d${gt.name}`)),
    );
  }
  return root;
}
