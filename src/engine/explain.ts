// One step of one cell, in the open (docs/cli.md, explain): the forward equations of step t of
// layer K in one direction with their numbers, then the backward ones, every gradient split by the
// path it comes along. Read from an inspection of the text (inspect.ts, with gradients): its trace
// gives the states and the total dL/dh, dL/dc; the weights give the rest. No second pass over the
// text. Shared by `lstm-lens explain` and the panel's Step tab.
//
// The backward is built from its parts and checked by the tests against the trace's totals:
//   dh = dh_up (the head, or the layer above through its W_ih) + dh_next (W_hhᵀ dz at the next step)
//   dc = dh · o · (1 - tanh²c) + dc_next (dc · f at the next step)
// where "next" is the next step this direction reads (t+1 forward, t-1 backward).
//
// Clamps (clamp.ts) are those the inspection read the text with: the step's c, tanh c and h show
// the clamped values (as the trace does); dh and dc are what arrives at them, and a clamped value
// sends nothing on: at a clamped h[U], do and dc_via_h are zero; at a clamped c[U], di, df, dg and
// dc_prev are zero, and so is dc_next (the next step's c[U] is clamped too).

import { cellBackward, cellClamps, cellForward, cellParameters, matTVec, stepGradients, type CellClamps, type CellParameters, type CellStepState } from './cellMath';
import { checkClamps, clampSpec, type Clamp } from './clamp';
import { directions, InputError } from './config';
import type { Inspection } from './inspect';
import type { Direction, LSTMModel, TraceEntry } from './model';

export interface StepForward {
  x: number[];
  h_prev: number[];
  c_prev: number[];
  Wx: number[];
  Uh: number[];
  b: number[];
  z: number[];
  i: number[];
  f: number[];
  g: number[];
  o: number[];
  c: number[];
  tanh_c: number[];
  h: number[];
}

export interface StepBackward {
  dh: number[];
  dh_up: number[];
  dh_next: number[];
  dc: number[];
  dc_via_h: number[];
  dc_next: number[];
  di: number[];
  df: number[];
  dg: number[];
  do: number[];
  dz: number[];
  dc_prev: number[];
  dh_prev: number[];
  dx: number[];
}

export interface StepExplanation {
  token: string;
  t: number;
  layer: number;
  direction: Direction;
  /** The text's tokens. */
  T: number;
  /** This direction's last step: dh_next and dc_next are zero. */
  is_last: boolean;
  /** This direction's first step: h_prev and c_prev are the initial state (zeros unless given). */
  is_first: boolean;
  forward: StepForward;
  backward: StepBackward;
}

export interface StepChoice {
  /** The token's position in the text, 0-based. */
  t: number;
  layer: number;
  direction: Direction;
}

export interface ExplainOptions {
  /** The initial state the inspection was computed from, (L·D, H) as PyTorch's h0 for batch 1; zeros when absent (inspect's own choice). */
  h0?: ArrayLike<number> | null;
  c0?: ArrayLike<number> | null;
  /** The clamps the inspection read the text with (inspectText's `clamps`); none when absent. */
  clamps?: readonly Clamp[];
}

/** Rows of the trace at one position, and the step's forward as backward needs it. */
interface TraceRows {
  p: CellParameters;
  entry: TraceEntry;
  /** The window's first position: trace row r is position start + r. */
  start: number;
  T: number;
  d: 0 | 1;
  stateOffset: number;
  h0: ArrayLike<number> | null;
  c0: ArrayLike<number> | null;
  /** This cell's clamps, or null. */
  held: CellClamps | null;
}

const row = (a: ArrayLike<number>, r: number, H: number): Float64Array => Float64Array.from({ length: H }, (_, j) => a[r * H + j]);

/** c or h before position t in this direction's reading order: the trace's row, or the initial state. */
function previous(x: TraceRows, name: 'c' | 'h', t: number): Float64Array {
  const H = x.p.H;
  const tp = x.d === 0 ? t - 1 : t + 1;
  if (tp >= 0 && tp < x.T) return row(x.entry[name], tp - x.start, H);
  const initial = name === 'c' ? x.c0 : x.h0;
  return initial ? Float64Array.from({ length: H }, (_, j) => initial[x.stateOffset + j]) : new Float64Array(H);
}

/** What the cell's backward needs of step t's forward, from the trace. */
function stepState(x: TraceRows, t: number): CellStepState {
  const H = x.p.H;
  const r = t - x.start;
  const e = x.entry;
  const gates = new Float64Array(4 * H);
  (['i', 'f', 'g', 'o'] as const).forEach((name, k) => gates.set(row(e[name], r, H), k * H));
  return { gates, tanhC: row(e.c, r, H).map(Math.tanh), cPrev: previous(x, 'c', t) };
}

/** dz and dx of step t from the trace's total dh and dc there. */
function tracedGradients(x: TraceRows, t: number): ReturnType<typeof stepGradients> {
  const H = x.p.H;
  const r = t - x.start;
  return stepGradients(x.p, stepState(x, t), row(x.entry.dh as ArrayLike<number>, r, H), row(x.entry.dc as ArrayLike<number>, r, H), x.held);
}

/** Explains step `choice.t` of one cell from a model and the inspection of a text (inspectText with gradients): no second pass over the text. */
export function explainStep(model: LSTMModel, inspection: Inspection, choice: StepChoice, options: ExplainOptions = {}): StepExplanation {
  const config = model.config;
  const { hidden_size: H, num_layers: L, vocab_size: V } = config;
  const D = directions(config);
  const { t, layer, direction } = choice;
  const T = inspection.T;
  if (!Number.isSafeInteger(layer) || layer < 0 || layer >= L) {
    throw new InputError(`layer ${layer} is not in the model: it has ${L} layer${L === 1 ? '' : 's'} (${L === 1 ? '0' : `0 to ${L - 1}`})`);
  }
  if (direction !== 'forward' && direction !== 'backward') throw new InputError(`the direction must be forward or backward, got ${JSON.stringify(direction)}`);
  if (direction === 'backward' && D === 1) throw new InputError('the model reads forward only: it has no backward direction');
  if (!Number.isSafeInteger(t) || t < 0 || t >= T) {
    throw new InputError(`step ${t} is not in the text: its ${T} token${T === 1 ? '' : 's'} are steps 0 to ${T - 1}`);
  }
  const { start, end } = inspection.window;
  const from = Math.max(0, t - 1), to = Math.min(T, t + 2);
  if (from < start || to > end) {
    throw new InputError(`explaining step ${t} needs the inspection's trace at steps ${from} to ${to - 1}; it holds ${start} to ${end - 1}`);
  }
  if (inspection.trace.some((e) => e.dh === null || e.dc === null)) throw new InputError('the inspection has no gradients: inspect the text with gradients to explain a step');
  for (const [name, s] of [['h0', options.h0], ['c0', options.c0]] as const) {
    if (s && s.length !== L * D * H) throw new InputError(`${name} holds ${s.length} values, expected (L*D, H) = ${L * D * H}`);
  }
  const clamps = options.clamps ?? [];
  checkClamps(clamps, config);
  // The trace shows a clamped value at every step of its cell: one that does not was read without it.
  for (const c of clamps) {
    const seen = inspection.trace[c.layer * D][c.state][(t - start) * H + c.unit];
    if (seen !== c.value && seen !== Math.fround(c.value)) {
      throw new InputError(`the clamp ${clampSpec(c)} is not in the inspection (its ${c.state} there is ${seen}): inspect the text with the same clamps`);
    }
  }

  const rowsOf = (l: number, d: 0 | 1): TraceRows => ({
    p: cellParameters(model, l, d),
    entry: inspection.trace[l * D + d],
    start,
    T,
    d,
    stateOffset: (l * D + d) * H,
    h0: options.h0 ?? null,
    c0: options.c0 ?? null,
    held: cellClamps(clamps, l, d),
  });
  const d: 0 | 1 = direction === 'forward' ? 0 : 1;
  const here = rowsOf(layer, d);
  const r = t - start;

  // Forward: the input, the state the step starts from, and the equations.
  let x: Float64Array;
  if (layer > 0) {
    x = new Float64Array(D * H);
    for (let k = 0; k < D; k++) x.set(row(inspection.trace[(layer - 1) * D + k].h, r, H), k * H);
  } else if (config.embedding_size !== null) {
    const E = config.embedding_size;
    x = Float64Array.from(model.parameter('embedding.weight').subarray(inspection.ids[t] * E, inspection.ids[t] * E + E));
  } else {
    x = new Float64Array(V);
    x[inspection.ids[t]] = 1;
  }
  const hPrev = previous(here, 'h', t);
  const cPrev = previous(here, 'c', t);
  const fw = cellForward(here.p, x, hPrev, cPrev, here.held);

  // Backward: what reaches h_t from above (the head at the top; else the layer above's input gradient at t).
  let dhUp: Float64Array = new Float64Array(H);
  if (layer === L - 1) {
    if (t < T - 1) {
      const logits = inspection.logits.subarray(r * V, r * V + V);
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[v]);
      let sum = 0;
      const dLogits = new Float64Array(V);
      for (let v = 0; v < V; v++) sum += (dLogits[v] = Math.exp(logits[v] - max));
      // The mean over the T-1 positions that predict: (softmax - onehot(next token)) / (T - 1).
      for (let v = 0; v < V; v++) dLogits[v] /= sum * (T - 1);
      dLogits[inspection.ids[t + 1]] -= 1 / (T - 1);
      const headW = model.parameter('head.weight');
      const all = matTVec(headW, dLogits, V, D * H);
      dhUp = all.slice(d * H, d * H + H);
    }
  } else {
    for (let k = 0; k < D; k++) {
      const above = tracedGradients(rowsOf(layer + 1, k as 0 | 1), t);
      for (let j = 0; j < H; j++) dhUp[j] += above.dx[d * H + j];
    }
  }
  // What reaches h_t and c_t from the next step this direction reads.
  const next = d === 0 ? t + 1 : t - 1;
  const isLast = next < 0 || next >= T;
  const isFirst = d === 0 ? t === 0 : t === T - 1;
  let dhNext: Float64Array = new Float64Array(H);
  let dcNext: Float64Array = new Float64Array(H);
  if (!isLast) {
    const sent = tracedGradients(here, next);
    dhNext = sent.dhPrev;
    dcNext = sent.dcPrev;
  }
  const bw = cellBackward({ gates: fw.gates, tanhC: fw.tanhC, cPrev }, dhUp, dhNext, dcNext, here.held);
  const gate = (a: Float64Array, k: number): number[] => Array.from(a.subarray(k * H, k * H + H));
  const dcViaH = new Float64Array(H), di = new Float64Array(H), df = new Float64Array(H), dg = new Float64Array(H), dO = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    const i = fw.gates[j], g = fw.gates[2 * H + j], o = fw.gates[3 * H + j];
    dcViaH[j] = bw.dhOn[j] * o * (1 - fw.tanhC[j] * fw.tanhC[j]);
    di[j] = bw.dcOn[j] * g;
    df[j] = bw.dcOn[j] * cPrev[j];
    dg[j] = bw.dcOn[j] * i;
    dO[j] = bw.dhOn[j] * fw.tanhC[j];
  }
  const G = 4 * H;
  return {
    token: inspection.tokens[t],
    t,
    layer,
    direction,
    T,
    is_last: isLast,
    is_first: isFirst,
    forward: {
      x: Array.from(x),
      h_prev: Array.from(hPrev),
      c_prev: Array.from(cPrev),
      Wx: Array.from(fw.Wx),
      Uh: Array.from(fw.Uh),
      b: Array.from(fw.b),
      z: Array.from(fw.z),
      i: gate(fw.gates, 0),
      f: gate(fw.gates, 1),
      g: gate(fw.gates, 2),
      o: gate(fw.gates, 3),
      c: Array.from(fw.c),
      tanh_c: Array.from(fw.tanhC),
      h: Array.from(fw.h),
    },
    backward: {
      dh: Array.from(bw.dh),
      dh_up: Array.from(dhUp),
      dh_next: Array.from(dhNext),
      dc: Array.from(bw.dc),
      dc_via_h: Array.from(dcViaH),
      dc_next: Array.from(dcNext),
      di: Array.from(di),
      df: Array.from(df),
      dg: Array.from(dg),
      do: Array.from(dO),
      dz: Array.from(bw.dz),
      dc_prev: Array.from(bw.dcPrev),
      dh_prev: Array.from(matTVec(here.p.whh, bw.dz, G, H)),
      dx: Array.from(matTVec(here.p.wih, bw.dz, G, here.p.I)),
    },
  };
}

/**
 * Memory span of what step k of one cell wrote into unit `unit`: for each later step t this
 * direction reads, the running product f_{k+1} ⋯ f_t of the forget gates (index 0 is k itself, 1).
 * k is a row of the entry (a position of the inspection's window).
 */
export function memorySpan(entry: TraceEntry, k: number, unit: number): number[] {
  const { T, H } = entry;
  if (!Number.isSafeInteger(k) || k < 0 || k >= T) throw new InputError(`step ${k} is not in the trace's ${T} steps`);
  if (!Number.isSafeInteger(unit) || unit < 0 || unit >= H) throw new InputError(`unit ${unit} is not among the ${H} units`);
  const step = entry.direction === 'forward' ? 1 : -1;
  const out = [1];
  let product = 1;
  for (let t = k + step; t >= 0 && t < T; t += step) {
    product *= entry.f[t * H + unit];
    out.push(product);
  }
  return out;
}
