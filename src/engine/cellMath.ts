// One step of one cell, on plain vectors in float64: the equations of docs/model.md with every
// intermediate kept, for the explanation of a step (explain.ts) and for gradients with respect to a
// step's input. The cell's non-linearities and its backward are those of the fused kernels
// (kernels.ts lstmCellForward, lstmCellBackward) run for one row, so there is one statement of them.
//
// Dimensions (config.ts): I the cell's input size, H hidden, G = 4H gate rows i, f, g, o.

import { view, rows } from './backend';
import type { Clamp } from './clamp';
import type { FloatArray } from './config';
import { lstmCellBackward, lstmCellForward } from './kernels';
import type { LSTMModel } from './model';
import { parameterSuffix } from './names';

/** The weights of one layer and direction (views of the model's parameters). */
export interface CellParameters {
  I: number;
  H: number;
  /** (G, I) */
  wih: ArrayLike<number>;
  /** (G, H) */
  whh: ArrayLike<number>;
  /** (G) */
  bih: ArrayLike<number>;
  /** (G) */
  bhh: ArrayLike<number>;
}

export function cellParameters(model: LSTMModel, layer: number, direction: 0 | 1): CellParameters {
  const suffix = parameterSuffix(layer, direction);
  const wih = model.parameter(`lstm.weight_ih${suffix}`);
  return {
    I: wih.length / (4 * model.config.hidden_size),
    H: model.config.hidden_size,
    wih,
    whh: model.parameter(`lstm.weight_hh${suffix}`),
    bih: model.parameter(`lstm.bias_ih${suffix}`),
    bhh: model.parameter(`lstm.bias_hh${suffix}`),
  };
}

/** The units of one cell held at a constant (clamp.ts), c and h apart. */
export interface CellClamps {
  c: ReadonlyArray<{ unit: number; value: number }>;
  h: ReadonlyArray<{ unit: number; value: number }>;
}

/** The clamps of layer `layer`, direction `direction` (clamps hold the forward direction only); null when none. */
export function cellClamps(clamps: readonly Clamp[], layer: number, direction: 0 | 1): CellClamps | null {
  if (direction !== 0) return null;
  const mine = clamps.filter((c) => c.layer === layer);
  if (mine.length === 0) return null;
  const of = (state: 'c' | 'h'): Array<{ unit: number; value: number }> => mine.filter((c) => c.state === state).map(({ unit, value }) => ({ unit, value }));
  return { c: of('c'), h: of('h') };
}

/** W v for W (rows, cols) row-major. */
export function matVec(W: ArrayLike<number>, v: ArrayLike<number>, rowCount: number, cols: number): Float64Array {
  const out = new Float64Array(rowCount);
  for (let r = 0; r < rowCount; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += W[r * cols + j] * v[j];
    out[r] = s;
  }
  return out;
}

/** Wᵀ v for W (rows, cols) row-major: (cols). */
export function matTVec(W: ArrayLike<number>, v: ArrayLike<number>, rowCount: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let r = 0; r < rowCount; r++) {
    const x = v[r];
    if (x === 0) continue;
    for (let j = 0; j < cols; j++) out[j] += W[r * cols + j] * x;
  }
  return out;
}

export interface CellForwardStep {
  /** (G) W_ih x */
  Wx: Float64Array;
  /** (G) W_hh h_prev */
  Uh: Float64Array;
  /** (G) b_ih + b_hh */
  b: Float64Array;
  /** (G) Wx + Uh + b, the pre-activations, rows i, f, g, o */
  z: Float64Array;
  /** (G) the activations i, f, g, o */
  gates: Float64Array;
  c: Float64Array;
  tanhC: Float64Array;
  h: Float64Array;
}

/**
 * The step forward: z = W_ih x + W_hh h_prev + b_ih + b_hh, the gates, c and h. With clamps, c[U]
 * is set to V as soon as it is computed (tanh c and h = o · tanh c read V), then h[U] to V.
 */
export function cellForward(p: CellParameters, x: ArrayLike<number>, hPrev: ArrayLike<number>, cPrev: ArrayLike<number>, held: CellClamps | null = null): CellForwardStep {
  const { I, H } = p;
  const G = 4 * H;
  const Wx = matVec(p.wih, x, G, I);
  const Uh = matVec(p.whh, hPrev, G, H);
  const b = new Float64Array(G);
  const z = new Float64Array(G);
  for (let r = 0; r < G; r++) {
    b[r] = p.bih[r] + p.bhh[r];
    z[r] = Wx[r] + Uh[r] + b[r];
  }
  const gates = Float64Array.from(z);
  const c = new Float64Array(H), h = new Float64Array(H), tanhC = new Float64Array(H);
  lstmCellForward({
    B: 1, H, gates: view<FloatArray>(gates, 0, G), state: rows(0, H), c, h, tanhC,
    hPrev: new Float64Array(H), cPrev: new Float64Array(H), prev: rows(0, H),
    hPrevIn: Float64Array.from(hPrev), cPrevIn: Float64Array.from(cPrev),
  });
  for (const { unit, value } of held?.c ?? []) {
    c[unit] = value;
    tanhC[unit] = Math.tanh(value);
    h[unit] = gates[3 * H + unit] * tanhC[unit];
  }
  for (const { unit, value } of held?.h ?? []) h[unit] = value;
  return { Wx, Uh, b, z, gates, c, tanhC, h };
}

/** What one step's backward needs of its forward. */
export interface CellStepState {
  /** (G) the activations i, f, g, o */
  gates: ArrayLike<number>;
  /** (H) tanh(c_t) */
  tanhC: ArrayLike<number>;
  /** (H) c_{t-1} in this direction's reading order */
  cPrev: ArrayLike<number>;
}

export interface CellBackwardStep {
  /** (H) dh_up + dh_next: what arrives at h_t (at a clamped h_t[U] too) */
  dh: Float64Array;
  /** (H) dh · o · (1 - tanh²c) + dc_next: what arrives at c_t (at a clamped c_t[U] too) */
  dc: Float64Array;
  /** (H) dh as it goes on to o and c_t: zero at a clamped h_t[U] */
  dhOn: Float64Array;
  /** (H) dc as it goes on to i, f, g and c_{t-1}: zero at a clamped c_t[U] */
  dcOn: Float64Array;
  /** (G) dL/dz, rows i, f, g, o */
  dz: Float64Array;
  /** (H) dc · f, what goes back to c_{t-1} */
  dcPrev: Float64Array;
}

/**
 * The step backward from the three gradients that reach it: from above (dhUp), and from the next
 * step through h (dhNext) and through c (dcNext). A clamped value is a constant: what arrives at a
 * clamped h_t[U] goes no further (nothing to o or c_t), what arrives at a clamped c_t[U] sends
 * nothing to i, f, g or c_{t-1}.
 */
export function cellBackward(s: CellStepState, dhUp: ArrayLike<number>, dhNext: ArrayLike<number>, dcNext: ArrayLike<number>, held: CellClamps | null = null): CellBackwardStep {
  const H = s.tanhC.length;
  const G = 4 * H;
  const dh = new Float64Array(H), dc = new Float64Array(H), dz = new Float64Array(G);
  const dcCarry = Float64Array.from(dcNext);
  const up = Float64Array.from(dhUp), next = Float64Array.from(dhNext);
  const arriving = (held?.h ?? []).map(({ unit }) => up[unit] + next[unit]);
  for (const { unit } of held?.h ?? []) up[unit] = next[unit] = 0;
  lstmCellBackward({
    B: 1, H, gate: rows(0, G), gates: Float64Array.from(s.gates), dGates: dz,
    state: rows(0, H), tanhC: Float64Array.from(s.tanhC), cPrev: Float64Array.from(s.cPrev),
    dhTrace: dh, dcTrace: dc, dOut: view<FloatArray>(up, 0, H),
    dhNext: next, dcNext: dcCarry,
  });
  const dhOn = Float64Array.from(dh), dcOn = Float64Array.from(dc);
  (held?.h ?? []).forEach(({ unit }, k) => (dh[unit] = arriving[k]));
  for (const { unit } of held?.c ?? []) {
    dz[unit] = dz[H + unit] = dz[2 * H + unit] = 0;
    dcCarry[unit] = dcOn[unit] = 0;
  }
  return { dh, dc, dhOn, dcOn, dz, dcPrev: dcCarry };
}

export interface StepGradients {
  /** (G) dL/dz */
  dz: Float64Array;
  /** (I) W_ihᵀ dz: what the step sends to its input */
  dx: Float64Array;
  /** (H) W_hhᵀ dz: what the step sends back to h_{t-1} */
  dhPrev: Float64Array;
  /** (H) dc · f */
  dcPrev: Float64Array;
}

/**
 * dz and what a step sends back, from its total dL/dh_t and dL/dc_t (a trace's dh and dc) and
 * its forward. dc is handed to the cell's backward as its part that does not come through h_t
 * (dc - dh · o · (1 - tanh²c); at a clamped h_t[U] nothing came through h), so that the backward's
 * own sum gives dc back.
 */
export function stepGradients(p: CellParameters, s: CellStepState, dh: ArrayLike<number>, dc: ArrayLike<number>, held: CellClamps | null = null): StepGradients {
  const H = p.H;
  const dcBeside = new Float64Array(H);
  const hHeld = new Set((held?.h ?? []).map(({ unit }) => unit));
  for (let j = 0; j < H; j++) {
    const o = s.gates[3 * H + j];
    const tc = s.tanhC[j];
    dcBeside[j] = hHeld.has(j) ? dc[j] : dc[j] - dh[j] * o * (1 - tc * tc);
  }
  const { dz, dcPrev } = cellBackward(s, dh, new Float64Array(H), dcBeside, held);
  return { dz, dx: matTVec(p.wih, dz, 4 * H, p.I), dhPrev: matTVec(p.whh, dz, 4 * H, H), dcPrev };
}
