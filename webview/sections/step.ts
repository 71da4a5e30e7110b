// The Step tab: one step of one cell, forward and backward, with its numbers. The cell as a diagram
// beside the equations of the model (docs/model.md): for the chosen unit every scalar, for all units
// each vector as a strip with its shape. Each equation names its PyTorch expression on hover. Then
// the memory span: how much of what the cell wrote at step k survives at each later step (the
// running product of forget gates), next to the last position's gradient decaying toward k.
// The numbers are the engine's (explainStep), made with the trace by the worker that made it.

import type { StepMessage, TraceMessage } from '../../src/protocol/panel';
import { gateScale, inkOn } from '../colour';
import { formatValue, showToken } from '../format';
import { stepDiagram } from '../stepDiagram';
import { cursorBoundary, tokenStrip } from '../strip';
import { el } from '../ui/dom';
import { button } from '../ui/toolkit';
import { vectorStrip } from '../vectorStrip';
import { placeholder, type SectionContext } from './context';
import { waitingText } from './states';

type Explanation = StepMessage['explanation'];
type Field = `forward.${keyof Explanation['forward']}` | `backward.${keyof Explanation['backward']}`;

const GATES = ['i', 'f', 'g', 'o'] as const;

/** The step the tab starts at when none was chosen: the token before the cursor, else the last. */
export function defaultStep(trace: TraceMessage): number {
  const at = cursorBoundary(trace);
  return at === null || at === 0 ? trace.T - 1 : Math.min(trace.T - 1, at - 1);
}

/** A number as the panel writes it, tied to the field and index it comes from (tests read these). */
function num(field: Field, index: number, value: number, result = false): HTMLElement {
  return el('span', { class: result ? 'num result' : 'num', text: formatValue(value), attrs: { 'data-field': field, 'data-index': index } });
}

function value(e: Explanation, field: Field, index: number): number {
  const [part, name] = field.split('.') as ['forward' | 'backward', string];
  return (e[part] as Record<string, number[]>)[name][index];
}

interface Equation {
  id: string;
  /** The equation in the model's notation. */
  formula: string;
  /** What PyTorch writes for it (the hover). */
  torch: string;
  /** Lines for the chosen unit: text and numbers. */
  unit: Array<Array<string | HTMLElement>>;
  strips: HTMLElement[];
  note?: string | null;
}

function equation(q: Equation): HTMLElement {
  return el(
    'div',
    { class: 'eq', title: `PyTorch: ${q.torch}`, attrs: { 'data-eq': q.id, 'data-torch': q.torch } },
    el('div', { class: 'eq-formula' }, el('span', { text: q.formula }), el('code', { class: 'eq-torch', text: q.torch })),
    ...q.unit.map((line) => el('div', { class: 'eq-unit' }, ...line)),
    q.note ? el('div', { class: 'eq-note', text: q.note, attrs: { 'data-note': q.id } }) : null,
    q.strips.length ? el('div', { class: 'eq-strips' }, ...q.strips) : null,
  );
}

export function renderStep(view: HTMLElement, ctx: SectionContext): void {
  const { trace, step, ui } = ctx.store;
  view.replaceChildren();
  view.append(el('h2', { text: 'One step, forward and backward' }));
  if (!trace) {
    view.append(placeholder(waitingText(ctx)));
    return;
  }
  const t = Math.min(ui.stepT ?? defaultStep(trace), trace.T - 1);
  const move = (to: number): void => {
    if (to >= 0 && to < trace.T) ctx.explainStep?.(to);
  };
  const prev = button({ label: '◀', id: 'step-prev', ariaLabel: 'Previous step', title: 'Previous step (Left arrow)', onClick: () => move(t - 1) });
  const next = button({ label: '▶', id: 'step-next', ariaLabel: 'Next step', title: 'Next step (Right arrow)', onClick: () => move(t + 1) });
  if (t <= 0) prev.setAttribute('disabled', '');
  if (t >= trace.T - 1) next.setAttribute('disabled', '');
  const current = step && step.explanation.t === t && step.explanation.layer === ui.layer && step.explanation.direction === ui.direction ? step : null;
  const e = current?.explanation ?? null;
  const H = trace.H;
  const u = Math.min(ui.stepUnit ?? 0, H - 1);
  const unitInput = el('input', { class: 'step-unit', id: 'step-unit', attrs: { type: 'number', min: 0, max: H - 1, step: 1, value: u, 'aria-label': 'Unit' } });
  unitInput.addEventListener('change', () => {
    const n = Number(unitInput.value);
    if (Number.isInteger(n) && n >= 0 && n < H) ctx.chooseStepUnit?.(n);
  });
  view.append(
    el(
      'div',
      { class: 'step-nav', role: 'group', attrs: { 'aria-label': 'Step' } },
      prev,
      el('span', { class: 'step-where', id: 'step-where', attrs: { 'data-t': t, 'aria-live': 'polite' } }, 'step ', el('strong', { text: `t = ${t}` }), ` of ${trace.T} · “${showToken(trace.tokens[t])}” · layer ${ui.layer} ${ui.direction}`),
      next,
      el('label', { class: 'step-unit-label', attrs: { for: 'step-unit' } }, 'unit '),
      unitInput,
      el('span', { class: 'muted', text: ` of 0–${H - 1}` }),
    ),
  );
  // The tokens: click one to explain it; the memory span of the chosen unit colours the later ones.
  const memory = current ? new Map(current.span.steps.map((s, k) => [s, current.span.memory[k * H + u]])) : new Map<number, number>();
  const gates = gateScale();
  view.append(
    el(
      'div',
      { class: 'strip-wrap' },
      el('div', { class: 'strip-label muted', text: `Pick a token (or ◀ ▶, the arrow keys). ${current ? `Later tokens are coloured by how much of what unit ${u} wrote at t = ${t} survives there (f_{k+1} ⋯ f_t).` : ''}` }),
      tokenStrip(trace, {
        id: 'step-strip',
        interactive: true,
        picked: t,
        onPick: move,
        colour: (s) => {
          const m = memory.get(s);
          if (m === undefined || s === t) return null;
          return { background: gates.css(m), ink: inkOn(gates.lut, gates.index(m)) };
        },
      }),
    ),
  );
  if (!e || !current) {
    view.append(placeholder(`Explaining step ${t}…`));
    return;
  }
  const I = e.forward.x.length;
  const width = Math.max(200, Math.min(ctx.width, 1100) - 24);
  const wide = ctx.width >= 900;
  const stripW = wide ? Math.max(200, Math.min(ctx.width, 1100) - 470) : width;
  const strip = (field: Field, label: string, shape: string, o: { gate?: boolean; blocks?: boolean; units?: boolean } = {}): HTMLElement => {
    const [part, name] = field.split('.') as ['forward' | 'backward', string];
    const values = (e[part] as Record<string, number[]>)[name];
    const units = o.units ?? true;
    return vectorStrip({
      field,
      label,
      shape,
      values,
      gate: o.gate,
      blocks: o.blocks ? GATES : undefined,
      unit: units ? u : null,
      unitOf: units ? (k) => k % H : null,
      onPickUnit: units ? (unit) => ctx.chooseStepUnit?.(unit) : undefined,
      width: stripW,
      tooltip: ctx.tooltip,
      heading: `${label} · step ${t} · layer ${e.layer} ${e.direction}`,
    });
  };
  const top = ctx.store.model ? e.layer === ctx.store.model.summary.layers - 1 : true;
  const oneHot = e.layer === 0 && (ctx.store.model?.summary.embeddingSize ?? null) === null;
  const xShape = oneHot ? `(1, V) = (1, ${I}) one-hot` : e.layer === 0 ? `(1, E) = (1, ${I}) embedding row` : `(1, ${I}) the layer below's h_t`;
  const first = e.is_first ? 'zeros: this is the first step this direction reads, so the state starts from zero.' : null;
  const gateTorch: Record<(typeof GATES)[number], string> = {
    i: 'i = torch.sigmoid(z[:, 0:H])',
    f: 'f = torch.sigmoid(z[:, H:2*H])',
    g: 'g = torch.tanh(z[:, 2*H:3*H])',
    o: 'o = torch.sigmoid(z[:, 3*H:4*H])',
  };
  const forward: Equation[] = [
    {
      id: 'input',
      formula: 'x_t, h_t−1, c_t−1: what the step reads',
      torch: oneHot ? 'x = F.one_hot(ids[:, t], V).float(); h_prev, c_prev = h[t-1], c[t-1]' : e.layer === 0 ? 'x = embedding(ids[:, t]); h_prev, c_prev = h[t-1], c[t-1]' : 'x = output_below[:, t]; h_prev, c_prev = h[t-1], c[t-1]',
      unit: [[`h_t−1[${u}] = `, num('forward.h_prev', u, e.forward.h_prev[u], true), `, c_t−1[${u}] = `, num('forward.c_prev', u, e.forward.c_prev[u], true)]],
      note: first && `h_t−1 and c_t−1 are ${first}`,
      strips: [strip('forward.x', 'x_t', xShape, { units: false }), strip('forward.h_prev', 'h_t−1', `(1, H) = (1, ${H})`), strip('forward.c_prev', 'c_t−1', `(1, H) = (1, ${H})`)],
    },
    {
      id: 'z',
      formula: 'z = W_ih x_t + W_hh h_t−1 + b    (per gate: W_ih block (H, I), W_hh block (H, H))',
      torch: 'z = x @ W_ih.T + h_prev @ W_hh.T + b_ih + b_hh',
      unit: GATES.map((gname, k) => [
        `z_${gname}[${u}] = `,
        num('forward.Wx', k * H + u, e.forward.Wx[k * H + u]),
        ' + ',
        num('forward.Uh', k * H + u, e.forward.Uh[k * H + u]),
        ' + ',
        num('forward.b', k * H + u, e.forward.b[k * H + u]),
        ' = ',
        num('forward.z', k * H + u, e.forward.z[k * H + u], true),
      ]),
      strips: [
        strip('forward.Wx', 'W_ih x', `(1, 4H) = (1, ${4 * H}); blocks (${H}, ${I}) · x`, { blocks: true }),
        strip('forward.Uh', 'W_hh h_t−1', `(1, 4H); blocks (${H}, ${H}) · h`, { blocks: true }),
        strip('forward.b', 'b = b_ih + b_hh', `(1, 4H)`, { blocks: true }),
        strip('forward.z', 'z', `(1, 4H) = (1, ${4 * H})`, { blocks: true }),
      ],
    },
    {
      id: 'gates',
      formula: 'i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)',
      torch: `${gateTorch.i}; ${gateTorch.f}; ${gateTorch.g}; ${gateTorch.o}`,
      unit: GATES.map((gname, k) => [`${gname}[${u}] = ${gname === 'g' ? 'tanh' : 'σ'}(`, num('forward.z', k * H + u, e.forward.z[k * H + u]), ') = ', num(`forward.${gname}`, u, e.forward[gname][u], true)]),
      strips: GATES.map((gname) => strip(`forward.${gname}`, gname, `(1, H) = (1, ${H})`, { gate: gname !== 'g' })),
    },
    {
      id: 'c',
      formula: 'c_t = f ⊙ c_t−1 + i ⊙ g',
      torch: 'c = f * c_prev + i * g',
      unit: [[`c[${u}] = `, num('forward.f', u, e.forward.f[u]), ' × ', num('forward.c_prev', u, e.forward.c_prev[u]), ' + ', num('forward.i', u, e.forward.i[u]), ' × ', num('forward.g', u, e.forward.g[u]), ' = ', num('forward.c', u, e.forward.c[u], true)]],
      strips: [strip('forward.c', 'c_t', `(1, H) = (1, ${H})`)],
    },
    {
      id: 'h',
      formula: 'h_t = o ⊙ tanh(c_t)',
      torch: 'h = o * torch.tanh(c)',
      unit: [[`h[${u}] = `, num('forward.o', u, e.forward.o[u]), ' × tanh(', num('forward.c', u, e.forward.c[u]), ') = ', num('forward.o', u, e.forward.o[u]), ' × ', num('forward.tanh_c', u, e.forward.tanh_c[u], true), ' = ', num('forward.h', u, e.forward.h[u], true)]],
      strips: [strip('forward.tanh_c', 'tanh(c_t)', `(1, H) = (1, ${H})`), strip('forward.h', 'h_t', `(1, H) = (1, ${H})`)],
    },
  ];
  const nextName = e.direction === 'forward' ? 't+1' : 't−1';
  const last = e.is_last ? `zero: this is the last step this direction reads (${e.direction === 'forward' ? 'the last token' : 'the first token'}), so no later step sends anything back.` : null;
  const upWords = top
    ? t === trace.T - 1
      ? 'dh_up is zero: the last token predicts nothing, so the head has no loss here.'
      : 'dh_up comes from the head: this position\'s share of the loss, (softmax − one-hot of the next token) / (T − 1), through head.weight.'
    : 'dh_up comes from the layer above, which reads h_t as its input: its dx at this step.';
  const backward: Equation[] = [
    {
      id: 'dh',
      formula: `dh_t = dh_up + dh_next    (dh_next = W_hhᵀ dz at ${nextName})`,
      torch: 'dh = dh_up + dz_next @ W_hh',
      unit: [[`dh[${u}] = `, num('backward.dh_up', u, e.backward.dh_up[u]), ' + ', num('backward.dh_next', u, e.backward.dh_next[u]), ' = ', num('backward.dh', u, e.backward.dh[u], true)]],
      note: [upWords, last && `dh_next is ${last}`].filter(Boolean).join(' '),
      strips: [strip('backward.dh_up', 'dh_up', `(1, H) = (1, ${H})`), strip('backward.dh_next', 'dh_next', `(1, H)`), strip('backward.dh', 'dh', `(1, H)`)],
    },
    {
      id: 'dc',
      formula: `dc_t = dh ⊙ o ⊙ (1 − tanh² c_t) + dc_next    (dc_next = dc ⊙ f at ${nextName})`,
      torch: 'dc = dh * o * (1 - torch.tanh(c)**2) + dc_next * f_next',
      unit: [
        [`dc_via_h[${u}] = `, num('backward.dh', u, e.backward.dh[u]), ' × ', num('forward.o', u, e.forward.o[u]), ' × (1 − ', num('forward.tanh_c', u, e.forward.tanh_c[u]), '²) = ', num('backward.dc_via_h', u, e.backward.dc_via_h[u], true)],
        [`dc[${u}] = `, num('backward.dc_via_h', u, e.backward.dc_via_h[u]), ' + ', num('backward.dc_next', u, e.backward.dc_next[u]), ' = ', num('backward.dc', u, e.backward.dc[u], true)],
      ],
      note: last && `dc_next is ${last}`,
      strips: [strip('backward.dc_via_h', 'dc_via_h', `(1, H) = (1, ${H})`), strip('backward.dc_next', 'dc_next', '(1, H)'), strip('backward.dc', 'dc', '(1, H)')],
    },
    {
      id: 'dgates',
      formula: 'di = dc ⊙ g, df = dc ⊙ c_t−1, dg = dc ⊙ i, do = dh ⊙ tanh(c_t)',
      torch: 'di = dc * g; df = dc * c_prev; dg = dc * i; do = dh * torch.tanh(c)',
      unit: [
        [`di[${u}] = `, num('backward.dc', u, e.backward.dc[u]), ' × ', num('forward.g', u, e.forward.g[u]), ' = ', num('backward.di', u, e.backward.di[u], true)],
        [`df[${u}] = `, num('backward.dc', u, e.backward.dc[u]), ' × ', num('forward.c_prev', u, e.forward.c_prev[u]), ' = ', num('backward.df', u, e.backward.df[u], true)],
        [`dg[${u}] = `, num('backward.dc', u, e.backward.dc[u]), ' × ', num('forward.i', u, e.forward.i[u]), ' = ', num('backward.dg', u, e.backward.dg[u], true)],
        [`do[${u}] = `, num('backward.dh', u, e.backward.dh[u]), ' × ', num('forward.tanh_c', u, e.forward.tanh_c[u]), ' = ', num('backward.do', u, e.backward.do[u], true)],
      ],
      note: e.is_first ? 'df is zero: c_t−1 is the zero initial state at the first step.' : null,
      strips: (['di', 'df', 'dg', 'do'] as const).map((name) => strip(`backward.${name}`, name, `(1, H) = (1, ${H})`)),
    },
    {
      id: 'dz',
      formula: 'dz = [di ⊙ i(1−i), df ⊙ f(1−f), dg ⊙ (1−g²), do ⊙ o(1−o)]',
      torch: 'dz = torch.cat([di*i*(1-i), df*f*(1-f), dg*(1-g**2), do*o*(1-o)], dim=1)',
      unit: GATES.map((gname, k) => {
        const d = `backward.d${gname}` as Field;
        const a = e.forward[gname][u];
        return [`dz_${gname}[${u}] = `, num(d, u, value(e, d, u)), gname === 'g' ? ' × (1 − ' : ' × ', num(`forward.${gname}`, u, a), gname === 'g' ? '²) = ' : ` × (1 − ${formatValue(a)}) = `, num('backward.dz', k * H + u, e.backward.dz[k * H + u], true)];
      }),
      strips: [strip('backward.dz', 'dz', `(1, 4H) = (1, ${4 * H})`, { blocks: true })],
    },
    {
      id: 'send',
      formula: 'dc_t−1 = dc ⊙ f,  dh_t−1 = W_hhᵀ dz,  dx_t = W_ihᵀ dz: what this step sends back',
      torch: 'dc_prev = dc * f; dh_prev = dz @ W_hh; dx = dz @ W_ih',
      unit: [
        [`dc_prev[${u}] = `, num('backward.dc', u, e.backward.dc[u]), ' × ', num('forward.f', u, e.forward.f[u]), ' = ', num('backward.dc_prev', u, e.backward.dc_prev[u], true)],
        [`dh_prev[${u}] = Σ_k W_hh[k, ${u}] dz[k] = `, num('backward.dh_prev', u, e.backward.dh_prev[u], true)],
      ],
      note: e.is_first ? 'This is the first step this direction reads: dc_t−1 and dh_t−1 reach the initial state, which is not learned.' : null,
      strips: [strip('backward.dc_prev', 'dc_t−1', `(1, H) = (1, ${H})`), strip('backward.dh_prev', 'dh_t−1', `(1, H)`), strip('backward.dx', 'dx_t', `(1, ${I})`, { units: false })],
    },
  ];
  view.append(
    el(
      'p',
      { class: 'lede' },
      `The model at training step ${current.step}, layer ${e.layer} ${e.direction}, step t = ${t} reading “${showToken(e.token)}”: H = ${H} units, input I = ${I}. ` +
        `Numbers for unit ${u} (click a strip's cell, or type a unit, to change it); each strip is one vector over all units, with its shape. Hover an equation for its PyTorch expression.`,
    ),
    el('section', { class: 'block step-part', id: 'step-forward' }, el('h3', { text: 'Forward' }), el('div', { class: `step-grid ${wide ? 'wide' : 'narrow'}` }, el('div', { class: 'step-figure' }, stepDiagram(e, u, 'forward')), el('div', { class: 'eqs' }, ...forward.map(equation)))),
    el('section', { class: 'block step-part', id: 'step-backward' }, el('h3', { text: 'Backward' }), el('div', { class: `step-grid ${wide ? 'wide' : 'narrow'}` }, el('div', { class: 'step-figure' }, stepDiagram(e, u, 'backward')), el('div', { class: 'eqs' }, ...backward.map(equation)))),
    memorySection(current, u, ctx),
  );
}

/** The memory span of unit u from step k, and the last position's gradient at the same steps. */
function memorySection(m: StepMessage, u: number, ctx: SectionContext): HTMLElement {
  const { steps, memory, lastDh, lastDc } = m.span;
  const H = m.explanation.forward.h.length;
  const k = m.explanation.t;
  const n = steps.length;
  const x = steps.map((_, s) => s);
  const section = el('section', { class: 'block', id: 'step-memory' }, el('h3', { text: 'Memory span' }));
  section.append(
    el(
      'p',
      { class: 'note-text' },
      `What unit ${u} wrote into its cell at t = ${k} survives at a later step t scaled by f_{k+1} ⋯ f_t, the running product of its forget gates: this is the constant error carousel. ` +
        `The same product carries the gradient back: dL/dc_k gets dL/dc_t times it. Beside it, the gradient of the last position's loss alone at those steps, as on the Gradients tab.`,
    ),
  );
  if (n < 2) {
    section.append(placeholder(`t = ${k} is the last step this direction reads: nothing comes after it.`));
    return section;
  }
  const span = Array.from({ length: n }, (_, s) => memory[s * H + u]);
  const w = ctx.width >= 760 ? Math.floor((Math.min(ctx.width, 1100) - 24) / 2) : Math.min(ctx.width, 760);
  const formatX = (s: number): string => `t = ${steps[Math.round(s)] ?? ''}`;
  const charts = el('div', { class: `step-charts ${ctx.width >= 760 ? 'side-by-side' : 'stacked'}` });
  charts.append(
    ctx.charts.add({ id: 'chart-memory-span', title: '', xLabel: `steps after t = ${k}`, yLabel: 'f product', x, lines: [{ label: `f_{k+1} ⋯ f_t, unit ${u}`, colour: ctx.theme.orange, values: span, width: 2 }], width: w, height: 200, theme: ctx.theme, formatX }),
  );
  if (lastDh && lastDc) {
    const dh = lastDh.map((v) => (v > 0 ? v : null));
    const dc = Array.from({ length: n }, (_, s) => Math.abs(lastDc[s * H + u]) || null);
    const logY = dh.filter((v) => v !== null).length >= 2;
    charts.append(
      ctx.charts.add({
        id: 'chart-step-decay',
        title: '',
        xLabel: `steps after t = ${k}`,
        yLabel: 'gradient',
        x,
        lines: [
          { label: '‖dL_last/dh_t‖', colour: ctx.theme.purple, values: logY ? dh : lastDh, width: 2, dash: [6, 3] },
          { label: `|dL_last/dc_t| unit ${u}`, colour: ctx.theme.blue, values: dc, width: 2 },
        ],
        width: w,
        height: 200,
        logY,
        theme: ctx.theme,
        formatX,
      }),
    );
  } else charts.append(placeholder('No gradient of the last position: the sequence needs two tokens.'));
  section.append(charts);
  return section;
}
