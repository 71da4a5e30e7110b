// Shapes: the computation drawn as the article draws it, top to bottom: the input, each LSTM layer
// (its gates, its final c and h), each layer's output, the logits and the loss, with every tensor's
// shape; then every parameter with its shape and count.

import type { ModelMessage } from '../../src/protocol/panel';
import { formatCount, formatShape } from '../format';
import { el, svg } from '../ui/dom';
import { placeholder, type SectionContext } from './context';

export function renderShapes(view: HTMLElement, ctx: SectionContext): void {
  const model = ctx.store.model;
  view.replaceChildren();
  view.append(el('h2', { text: 'Shapes' }));
  if (!model) {
    view.append(placeholder('Waiting for a model.'));
    return;
  }
  const s = model.summary;
  const shape = (name: string): number[] | null => model.shapes.find((x) => x.name === name)?.shape ?? null;
  const input = shape('input') ?? [s.batchSize, s.sequenceLength, s.embeddingSize ?? s.vocabSize];
  const dims: Array<[string, number, string]> = [
    ['B', input[0], 'sequences in a batch'],
    ['T', input[1], 'steps'],
    ['V', s.vocabSize, `${s.tokens === 'char' ? 'characters' : 'words'} in the vocabulary`],
    ...(s.embeddingSize === null ? [] : [['E', s.embeddingSize, 'embedding size'] as [string, number, string]]),
    ['H', s.hiddenSize, 'hidden units'],
    ['L', s.layers, s.layers === 1 ? 'layer' : 'layers'],
    ['D', s.directions, s.directions === 1 ? 'direction' : 'directions'],
  ];
  view.append(
    el('p', { class: 'lede' }, `One training step reads a batch of B sequences of T tokens. ${s.mode === 'many_to_one' ? 'Many-to-one: only the last step predicts (the next token after the window).' : 'Many-to-many: every step predicts the token after it.'}`),
    el('dl', { class: 'dims' }, ...dims.map(([k, v, what]) => el('div', {}, el('dt', { text: `${k} = ${v}` }), el('dd', { text: what })))),
    el('div', { class: 'diagram-wrap' }, diagram(model, ctx.width)),
    parameterTable(model),
  );
}

// ---- The diagram ----

const X0 = 64; // main column (the left margin holds the recurrence loops)
const MAIN_W = 340;
const SIDE_X = X0 + MAIN_W + 64;
const SIDE_W = 190;
const WIDTH = SIDE_X + SIDE_W + 28; // room on the right for the links into h_n, c_n
const ARROW = 30;

function diagram(model: ModelMessage, available: number): SVGSVGElement {
  const s = model.summary;
  const shape = (name: string): string => {
    const found = model.shapes.find((x) => x.name === name);
    return found ? formatShape(found.shape) : '?';
  };
  const paramShape = (name: string): string => shape(name);
  const parts: SVGElement[] = [];
  let y = 12;
  const mid = X0 + MAIN_W / 2;
  const arrowDown = (from: number, to: number): void => {
    parts.push(svg('line', { class: 'dg-arrow', x1: mid, y1: from, x2: mid, y2: to - 2, 'marker-end': 'url(#dg-head)' }));
  };

  const embedded = s.embeddingSize !== null;
  const finalBoxes: number[] = [];
  parts.push(...tensorBox(X0, y, MAIN_W, 'input', 'input x', shape('input'), embedded ? 'B × T × E: each token looked up in embedding.weight' : 'B × T × V: one-hot tokens'));
  y += 48;
  for (let l = 0; l < s.layers; l++) {
    arrowDown(y, y + ARROW);
    y += ARROW;
    const suffixes = s.directions === 2 ? [`_l${l}`, `_l${l}_reverse`] : [`_l${l}`];
    const layerH = 30 + suffixes.length * 38 + 22;
    const sideH = suffixes.length * 56 + (suffixes.length - 1) * 8;
    const rowH = Math.max(layerH, sideH);
    const top = y + (rowH - layerH) / 2;
    // The layer: its gates per direction, its weights.
    parts.push(svg('rect', { class: 'dg-box dg-layer', x: X0, y: top, width: MAIN_W, height: layerH, rx: 6 }));
    parts.push(text(X0 + 12, top + 20, `LSTM layer ${l}`, 'dg-name'));
    parts.push(text(X0 + MAIN_W - 12, top + 20, s.directions === 2 ? `${s.hiddenSize} units, each direction its own weights` : `${s.hiddenSize} units`, 'dg-sub', 'end'));
    suffixes.forEach((suffix, d) => {
      const ly = top + 42 + d * 38;
      parts.push(text(X0 + 12, ly, `gates${suffix}`, 'dg-label'));
      parts.push(text(X0 + MAIN_W - 12, ly, shape(`gates${suffix}`), 'dg-shape', 'end'));
      parts.push(text(X0 + 12, ly + 15, `i, f, g, o: 4·H per step${s.directions === 2 ? (d === 0 ? ', reading left to right' : ', reading right to left') : ''}`, 'dg-sub'));
    });
    const sfx = suffixes[0];
    parts.push(
      text(
        X0 + 12,
        top + layerH - 10,
        `W_ih ${paramShape(`lstm.weight_ih${sfx}`)} · W_hh ${paramShape(`lstm.weight_hh${sfx}`)} · b ${paramShape(`lstm.bias_ih${sfx}`)}`,
        'dg-param',
      ),
    );
    // The recurrence: h and c carried over to the next step.
    const ly = top + layerH / 2;
    parts.push(svg('path', { class: 'dg-loop', d: `M ${X0} ${ly + 14} C ${X0 - 44} ${ly + 30}, ${X0 - 44} ${ly - 30}, ${X0 - 3} ${ly - 14}`, 'marker-end': 'url(#dg-loop-head)' }));
    parts.push(text(X0 - 24, ly - 28, 'h, c', 'dg-loop-label', 'middle'));
    // Final states, one box per direction.
    suffixes.forEach((suffix, d) => {
      const by = y + (rowH - sideH) / 2 + d * 64;
      finalBoxes.push(by);
      parts.push(svg('rect', { class: 'dg-box', x: SIDE_X, y: by, width: SIDE_W, height: 56, rx: 4 }));
      parts.push(
        svg('g', { 'data-tensor': `c${suffix}` }, text(SIDE_X + 10, by + 18, `c${suffix}`, 'dg-label'), text(SIDE_X + SIDE_W - 10, by + 18, shape(`c${suffix}`), 'dg-shape', 'end')),
        svg('g', { 'data-tensor': `h${suffix}` }, text(SIDE_X + 10, by + 34, `h${suffix}`, 'dg-label'), text(SIDE_X + SIDE_W - 10, by + 34, shape(`h${suffix}`), 'dg-shape', 'end')),
      );
      parts.push(text(SIDE_X + 10, by + 49, 'after the last step: B × H', 'dg-sub'));
      parts.push(svg('line', { class: 'dg-arrow', x1: X0 + MAIN_W, y1: by + 28, x2: SIDE_X - 2, y2: by + 28, 'marker-end': 'url(#dg-head)' }));
    });
    y += rowH;
    arrowDown(y, y + ARROW);
    y += ARROW;
    parts.push(...tensorBox(X0, y, MAIN_W, `output_l${l}`, `output_l${l}`, shape(`output_l${l}`), `B × T × ${s.directions === 2 ? 'D·H' : 'H'}: h at every step${l + 1 < s.layers ? `, the input of layer ${l + 1}` : ''}`));
    if (l === s.layers - 1) {
      parts.push(svg('rect', { class: 'dg-box', x: SIDE_X, y, width: SIDE_W, height: 44, rx: 4 }));
      parts.push(text(SIDE_X + 10, y + 18, 'h_n, c_n', 'dg-label'));
      parts.push(text(SIDE_X + SIDE_W - 10, y + 18, shape('h_n'), 'dg-shape', 'end'));
      parts.push(text(SIDE_X + 10, y + 35, 'all final states: L·D × B × H', 'dg-sub'));
      // Every layer's final states are stacked into h_n and c_n: links along the right-hand side.
      const rail = SIDE_X + SIDE_W + 14;
      for (const by of finalBoxes) parts.push(svg('line', { class: 'dg-link', x1: SIDE_X + SIDE_W, y1: by + 28, x2: rail, y2: by + 28 }));
      parts.push(svg('line', { class: 'dg-link', x1: rail, y1: finalBoxes[0] + 28, x2: rail, y2: y + 22 }));
      parts.push(svg('line', { class: 'dg-link', x1: rail, y1: y + 22, x2: SIDE_X + SIDE_W + 2, y2: y + 22, 'marker-end': 'url(#dg-head)' }));
    }
    y += 44;
  }
  arrowDown(y, y + ARROW);
  y += ARROW;
  parts.push(
    ...tensorBox(X0, y, MAIN_W, 'logits', 'logits', shape('logits'), s.mode === 'many_to_one' ? 'B × V: the head on the last step' : 'B × T × V: the head on every step', `head.weight ${paramShape('head.weight')} · head.bias ${paramShape('head.bias')}`),
  );
  y += 62;
  arrowDown(y, y + ARROW);
  y += ARROW;
  parts.push(...tensorBox(X0, y, MAIN_W, 'loss', 'loss', shape('loss'), 'cross-entropy with the next token: a scalar'));
  y += 48;

  const height = y + 8;
  const width = Math.min(WIDTH, Math.max(280, available));
  const root = svg('svg', {
    class: 'diagram',
    id: 'shapes-diagram',
    width,
    height: Math.round((height * width) / WIDTH),
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: 'img',
    'aria-label': `The model's computation: input ${shape('input')}, ${s.layers} LSTM layer(s), logits ${shape('logits')}, loss.`,
  });
  root.append(
    svg(
      'defs',
      {},
      svg('marker', { id: 'dg-head', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { class: 'dg-arrowhead', d: 'M 0 0 L 10 5 L 0 10 z' })),
      svg('marker', { id: 'dg-loop-head', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { class: 'dg-loop-arrowhead', d: 'M 0 0 L 10 5 L 0 10 z' })),
    ),
    ...parts,
  );
  return root;
}

function text(x: number, y: number, content: string, cls: string, anchor: 'start' | 'middle' | 'end' = 'start'): SVGTextElement {
  const t = svg('text', { x, y, class: cls, 'text-anchor': anchor });
  t.textContent = content;
  return t;
}

/** A tensor: its name and shape on one line, what it holds below (and its parameters, if any). */
function tensorBox(x: number, y: number, w: number, id: string, name: string, shape: string, sub: string, params?: string): SVGElement[] {
  const h = params ? 62 : 44;
  const g = svg('g', { class: 'dg-tensor', 'data-tensor': id });
  g.append(svg('rect', { class: 'dg-box', x, y, width: w, height: h, rx: 4 }), text(x + 12, y + 18, name, 'dg-name'), text(x + w - 12, y + 18, shape, 'dg-shape', 'end'), text(x + 12, y + 35, sub, 'dg-sub'));
  if (params) g.append(text(x + 12, y + 53, params, 'dg-param'));
  return [g];
}

// ---- The parameter table ----

function role(name: string): string {
  if (name === 'embedding.weight') return 'a vector for each token';
  if (name.startsWith('lstm.weight_ih')) return 'input → the 4 gates (rows i, f, g, o)';
  if (name.startsWith('lstm.weight_hh')) return 'h of the step before → the 4 gates';
  if (name.startsWith('lstm.bias_ih') || name.startsWith('lstm.bias_hh')) return 'added to the 4 gates';
  if (name === 'head.weight') return 'h → a score for each token';
  if (name === 'head.bias') return 'added to the scores';
  return '';
}

function parameterTable(model: ModelMessage): HTMLElement {
  const params = model.shapes.filter((x) => x.kind === 'parameter');
  const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
  const total = params.reduce((a, p) => a + count(p.shape), 0);
  const body = el('tbody');
  for (const p of params) {
    body.append(el('tr', {}, el('td', {}, el('code', { text: p.name })), el('td', { class: 'shape', text: formatShape(p.shape) }), el('td', { class: 'num', text: formatCount(count(p.shape)) }), el('td', { class: 'muted role', text: role(p.name) })));
  }
  const table = el(
    'table',
    { class: 'params', id: 'parameter-table' },
    el('caption', { text: `Parameters: ${formatCount(model.summary.parameters)}` }),
    el('thead', {}, el('tr', {}, ...['parameter', 'shape', 'count', 'role'].map((h) => el('th', { text: h, attrs: { scope: 'col' } })))),
    body,
    el('tfoot', {}, el('tr', {}, el('th', { text: 'total', attrs: { scope: 'row' } }), el('td'), el('td', { class: 'num', text: formatCount(total) }), el('td'))),
  );
  return el('div', { class: 'scroll-x' }, table);
}
