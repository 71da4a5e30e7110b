// What a unit does, found from the text (docs/model.md, "Units"): the states of one layer,
// direction and kind (h or c) over a whole text, the LSTMVis selection rule and its matches,
// annotation tracks of the text and the units that follow each most closely.
//
// computeUnitStates reads the text from a zero state, batch 1, in pieces with the state carried
// (inspect.ts's pieces; a bidirectional model in one pass, as inspect does), and keeps only the
// chosen state, unit by unit ((H, T): a unit's values over the text lie together, so that a query
// reads only the units it selects): float32 while that takes at most UNIT_STATES_EXACT_BYTES, else one signed
// byte per value with a scale per unit and piece of UNIT_STATES_BLOCK tokens (the largest |s| of
// the block maps to 127: an error of at most that largest |s| / 254). At most
// UNIT_STATES_MAX_VALUES values are kept (T · H); a longer text is refused in one line. Beside
// them: each token's id and its character span [start, end) in UTF-16 code units.
//
// findMatches and trackLeaders only read what computeUnitStates kept: a match query is a pass over
// T tokens of the selected units, so it answers in well under a second on a million tokens.

import type { Clamp } from './clamp';
import { directions, InputError } from './config';
import { formatBytes, trainingMemory } from './memory';
import { INSPECT_CHUNK_TOKENS, INSPECT_PASS_LIMIT_BYTES, piecesOf } from './inspect';
import type { Direction, LSTMModel } from './model';
import type { Tokenizer } from './tokenizer';

/** The most (T, H) float32 values kept exactly: above it, one byte per value. */
export const UNIT_STATES_EXACT_BYTES = 64 * 2 ** 20;
/** The most values (T · H) kept at all: 256 MiB as bytes (a million tokens at H = 256). */
export const UNIT_STATES_MAX_VALUES = 2 ** 28;
/** Tokens that share one scale per unit when the values are kept as bytes. */
export const UNIT_STATES_BLOCK = 512;

export interface UnitStatesOptions {
  state?: 'h' | 'c';
  layer?: number;
  direction?: Direction;
  clamps?: readonly Clamp[];
  /** Tokens a pass reads at once (default INSPECT_CHUNK_TOKENS). */
  chunkTokens?: number;
  /** Force the byte representation (as above UNIT_STATES_EXACT_BYTES), or the exact one where it fits. */
  precision?: 'float32' | 'int8';
  /** Called after each piece with the tokens read so far. */
  onProgress?: (done: number, total: number) => void;
}

/** The chosen state after every token of a text. */
export interface UnitStates {
  state: 'h' | 'c';
  layer: number;
  direction: Direction;
  T: number;
  H: number;
  /** (H, T), unit u's values at u·T: exact float32, or bytes to multiply by `scales`. */
  values: Float32Array | Int8Array;
  /** (ceil(T / block), H): the scale of each block of tokens and unit; null for float32 values. */
  scales: Float32Array | null;
  block: number;
  /** Token ids (T) and their spans (2T): spans[2t], spans[2t+1] = [start, end) in UTF-16 code units. */
  ids: Int32Array;
  spans: Int32Array;
}

/** s_t[u] as kept. */
export function stateAt(s: UnitStates, t: number, u: number): number {
  const v = s.values[u * s.T + t];
  return s.scales === null ? v : v * s.scales[Math.floor(t / s.block) * s.H + u];
}

/** The bytes the states take. */
export function unitStatesBytes(s: UnitStates): number {
  return s.values.byteLength + (s.scales?.byteLength ?? 0) + s.ids.byteLength + s.spans.byteLength;
}

/**
 * The states of one layer, direction and kind (h by default, layer 0, forward) after every token
 * of `text`, read from a zero state in pieces with the state carried.
 */
export function computeUnitStates(model: LSTMModel, tokenizer: Tokenizer, text: string, options: UnitStatesOptions = {}): UnitStates {
  const config = model.config;
  const H = config.hidden_size;
  const D = directions(config);
  const kind = options.state ?? 'h';
  const layer = options.layer ?? 0;
  const direction = options.direction ?? 'forward';
  if (kind !== 'h' && kind !== 'c') throw new InputError(`the state is h or c, got ${JSON.stringify(kind)}`);
  if (!(Number.isInteger(layer) && layer >= 0 && layer < config.num_layers)) {
    throw new InputError(`layer ${layer} is not in the model, which has ${config.num_layers} (0 to ${config.num_layers - 1})`);
  }
  const d = direction === 'forward' ? 0 : direction === 'backward' ? 1 : -1;
  if (d < 0 || d >= D) throw new InputError(direction === 'backward' ? 'the model reads in one direction only (forward)' : `the direction is forward or backward, got ${JSON.stringify(direction)}`);
  const { ids, spans } = tokenizer.encodeWithSpans(text);
  const T = ids.length;
  if (T === 0) throw new InputError('the text has no tokens the model knows');
  if (T * H > UNIT_STATES_MAX_VALUES) {
    throw new InputError(`the text has ${T} tokens: at ${H} units that is more than the ${UNIT_STATES_MAX_VALUES} states kept at most (${Math.floor(UNIT_STATES_MAX_VALUES / H)} tokens); use a shorter text`);
  }
  const exact = options.precision === 'float32' || (options.precision !== 'int8' && T * H * 4 <= UNIT_STATES_EXACT_BYTES);
  const block = UNIT_STATES_BLOCK;
  const values = exact ? new Float32Array(T * H) : new Int8Array(T * H);
  const scales = exact ? null : new Float32Array(Math.ceil(T / block) * H);

  const chunk = Math.max(2, Math.floor(options.chunkTokens ?? INSPECT_CHUNK_TOKENS));
  if (D === 2) {
    const m = trainingMemory(config, 1, T, 'sgd');
    if (m.activations + m.head > INSPECT_PASS_LIMIT_BYTES) {
      throw new InputError(`this bidirectional model reads the whole text at once, and ${T} tokens would take about ${formatBytes(m.activations + m.head)} (at most ${formatBytes(INSPECT_PASS_LIMIT_BYTES)}): use a shorter text`);
    }
  }
  // Pieces that are whole blocks, so that a block's scale is made from one piece's values.
  const pieces = D === 2 ? [{ a: 0, b: T }] : piecesOf(T, exact ? chunk : Math.max(1, Math.round(chunk / block)) * block);
  const L = config.num_layers;
  const stateSize = L * D * H;
  const h = new Float32Array(stateSize);
  const c = new Float32Array(stateSize);
  const clamps = options.clamps ?? [];
  for (let n = 0; n < pieces.length; n++) {
    const { a, b } = pieces[n];
    model.forward(ids.subarray(a, b), 1, b - a, null, n === 0 ? { clamps } : { h0: h, c0: c, clamps });
    if (n + 1 < pieces.length) model.finalState(h, c);
    const got = model.states(kind, layer, d); // (1, b - a, H)
    if (values instanceof Float32Array) {
      for (let u = 0; u < H; u++) for (let t = a; t < b; t++) values[u * T + t] = got[(t - a) * H + u];
    } else {
      quantize(values, scales as Float32Array, got, a, b, T, H, block);
    }
    options.onProgress?.(b, T);
  }
  return { state: kind, layer, direction, T, H, values, scales, block, ids, spans };
}

/** Rows [a, b) of `got` (rows from 0) as bytes, a scale per block and unit. */
function quantize(values: Int8Array, scales: Float32Array, got: ArrayLike<number>, a: number, b: number, T: number, H: number, block: number): void {
  for (let start = a; start < b; start += block) {
    const end = Math.min(b, start + block);
    const k = Math.floor(start / block);
    for (let u = 0; u < H; u++) {
      let max = 0;
      for (let t = start; t < end; t++) max = Math.max(max, Math.abs(got[(t - a) * H + u]));
      const scale = max > 0 ? max / 127 : 1;
      scales[k * H + u] = scale;
      for (let t = start; t < end; t++) values[u * T + t] = Math.round(got[(t - a) * H + u] / scale);
    }
  }
}

/** States given as rows (T of H values each), kept exactly; spans one character per token. */
export function unitStatesFromRows(rows: readonly (readonly number[])[], options: { state?: 'h' | 'c'; layer?: number; direction?: Direction } = {}): UnitStates {
  const T = rows.length;
  const H = T > 0 ? rows[0].length : 0;
  const values = new Float32Array(T * H);
  rows.forEach((r, t) => r.forEach((v, u) => (values[u * T + t] = v)));
  const spans = new Int32Array(2 * T);
  for (let t = 0; t < T; t++) spans.set([t, t + 1], 2 * t);
  return { state: options.state ?? 'h', layer: options.layer ?? 0, direction: options.direction ?? 'forward', T, H, values, scales: null, block: UNIT_STATES_BLOCK, ids: new Int32Array(T), spans };
}

export interface MatchQuery {
  /** Token positions [A, B), A < B. */
  select: readonly [number, number];
  threshold: number;
  offBefore?: number;
  offAfter?: number;
  /** Matches listed at most (default 50). */
  top?: number;
}

export interface Match {
  start: number;
  end: number;
}

export interface MatchResult {
  /** The selected units, ascending. */
  units: number[];
  /** Longest first, then by start; at most `top`. */
  matches: Match[];
  /** Every match, listed or not. */
  count: number;
}

/**
 * LSTMVis's rule: the units on (>= threshold) at every position of the selection (and, with
 * offBefore/offAfter N, off at every existing position of the N before or after it); then every
 * maximal run where all of them are on (and off at the N existing positions before or after).
 */
export function findMatches(states: UnitStates, query: MatchQuery): MatchResult {
  const { T, H } = states;
  const [A, B] = query.select;
  const X = query.threshold;
  const nb = query.offBefore ?? 0;
  const na = query.offAfter ?? 0;
  const top = query.top ?? 50;
  if (!(Number.isSafeInteger(A) && Number.isSafeInteger(B) && A >= 0 && A < B && B <= T)) {
    throw new InputError(`the selection [${A}, ${B}) must be token positions with 0 <= A < B <= ${T}`);
  }
  if (!Number.isFinite(X)) throw new InputError(`the threshold must be a finite number, got ${X}`);
  for (const [name, n] of [['off-before', nb], ['off-after', na], ['top', top]] as const) {
    if (!(Number.isSafeInteger(n) && n >= 0)) throw new InputError(`${name} must be a whole number >= 0, got ${n}`);
  }
  // Exact states are float32: compared with X as float32 reads it (a unit clamped to -0.8 is >= -0.8).
  const Xs = states.scales === null ? Math.fround(X) : X;
  const on = (t: number, u: number): boolean => stateAt(states, t, u) >= Xs;
  const units: number[] = [];
  for (let u = 0; u < H; u++) {
    let ok = true;
    for (let t = A; t < B && ok; t++) ok = on(t, u);
    for (let t = Math.max(0, A - nb); t < A && ok; t++) ok = !on(t, u);
    for (let t = B; t < Math.min(T, B + na) && ok; t++) ok = !on(t, u);
    if (ok) units.push(u);
  }
  if (units.length === 0) return { units, matches: [], count: 0 };
  // Per position: every selected unit on; every selected unit off (as a running count).
  const { values, scales, block } = states;
  // Per selected unit, the least stored value that is on, for each block of tokens: X itself for
  // exact states (as float32 reads it); for bytes, the smallest q with q · scale >= X (as stateAt reads it).
  const blocks = Math.ceil(T / block);
  const least = units.map((u) => {
    const q = new Float32Array(blocks);
    for (let k = 0; k < blocks; k++) {
      if (scales === null) {
        q[k] = Xs;
        continue;
      }
      const scale = scales[k * H + u];
      let x = Math.max(-128, Math.min(128, Math.ceil(X / scale)));
      while (x > -128 && (x - 1) * scale >= X) x--;
      while (x <= 127 && x * scale < X) x++;
      q[k] = x;
    }
    return q;
  });
  // The positions where every selected unit is on: the first unit's, read in one pass, then kept
  // where each next unit is on too (each pass reads only the positions still standing).
  let standing = new Int32Array(T);
  let count = 0;
  {
    const base = units[0] * T;
    const q = least[0];
    for (let b0 = 0, k = 0; b0 < T; b0 += block, k++) {
      const b1 = Math.min(T, b0 + block);
      const x = q[k];
      for (let t = b0; t < b1; t++) if (values[base + t] >= x) standing[count++] = t;
    }
  }
  for (let j = 1; j < units.length && count > 0; j++) {
    const base = units[j] * T;
    const q = least[j];
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const t = standing[i];
      if (values[base + t] >= q[Math.floor(t / block)]) standing[kept++] = t;
    }
    count = kept;
  }
  standing = standing.subarray(0, count);
  const allOn = new Uint8Array(T);
  for (const t of standing) allOn[t] = 1;
  /** Every selected unit off at every existing position of [from, to). */
  const allOff = (from: number, to: number): boolean => {
    for (let t = Math.max(0, from); t < Math.min(T, to); t++) {
      const k = Math.floor(t / block);
      for (let j = 0; j < units.length; j++) if (values[units[j] * T + t] >= least[j][k]) return false;
    }
    return true;
  };
  const found: Match[] = [];
  for (let t = 0; t < T; ) {
    if (!allOn[t]) {
      t++;
      continue;
    }
    let e = t;
    while (e < T && allOn[e]) e++;
    if ((nb === 0 || allOff(t - nb, t)) && (na === 0 || allOff(e, e + na))) found.push({ start: t, end: e });
    t = e;
  }
  found.sort((x, y) => y.end - y.start - (x.end - x.start) || x.start - y.start);
  return { units, matches: found.slice(0, top), count: found.length };
}

/** The character span [start, end) of the tokens [s, e), in UTF-16 code units. */
export function charSpan(states: UnitStates, s: number, e: number): [number, number] {
  return [states.spans[2 * s], states.spans[2 * (e - 1) + 1]];
}

export const TRACK_NAMES = ['column', 'indent', 'bracket_depth', 'in_quotes', 'in_word'] as const;
export type TrackName = (typeof TRACK_NAMES)[number];

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/**
 * Every track's value at every UTF-16 code unit of `text` (both halves of a surrogate pair get the
 * pair's values): column (characters since the previous newline), indent (spaces and tabs that
 * begin the character's line), bracket_depth (after the character; never below 0), in_quotes (an
 * odd number of `"` on the line up to and including the character), in_word (a letter or digit).
 */
export function textTracks(text: string): Record<TrackName, Int32Array> {
  const n = text.length;
  const column = new Int32Array(n);
  const indent = new Int32Array(n);
  const depth = new Int32Array(n);
  const quotes = new Int32Array(n);
  const word = new Int32Array(n);
  let col = 0, d = 0, q = 0, lineIndent = 0;
  const indentOf = (start: number): number => {
    let k = start;
    while (k < n && (text[k] === ' ' || text[k] === '\t')) k++;
    return k - start;
  };
  lineIndent = indentOf(0);
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < n && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff;
    const ch = pair ? text.slice(i, i + 2) : text[i];
    if (ch === '(' || ch === '[' || ch === '{') d++;
    else if ((ch === ')' || ch === ']' || ch === '}') && d > 0) d--;
    if (ch === '"') q ^= 1;
    const width = pair ? 2 : 1;
    for (let k = i; k < i + width; k++) {
      column[k] = col;
      indent[k] = lineIndent;
      depth[k] = d;
      quotes[k] = q;
      word[k] = LETTER_OR_DIGIT.test(ch) ? 1 : 0;
    }
    col += width;
    if (ch === '\n') {
      col = 0;
      q = 0;
      lineIndent = indentOf(i + 1);
    }
    i += width - 1;
  }
  return { column, indent, bracket_depth: depth, in_quotes: quotes, in_word: word };
}

/** Each token's track values: the value at its last character. */
export function tokenTracks(states: UnitStates, text: string): Record<TrackName, Float64Array> {
  const chars = textTracks(text);
  const out = {} as Record<TrackName, Float64Array>;
  for (const name of TRACK_NAMES) {
    const v = new Float64Array(states.T);
    for (let t = 0; t < states.T; t++) v[t] = chars[name][Math.max(0, states.spans[2 * t + 1] - 1)];
    out[name] = v;
  }
  return out;
}

const isConstant = (x: ArrayLike<number>): boolean => {
  for (let k = 1; k < x.length; k++) if (x[k] !== x[0]) return false;
  return true;
};

/** Pearson's r of two equally long series; 0 when either is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n === 0 || isConstant(x) || isConstant(y)) return 0;
  let mx = 0, my = 0;
  for (let k = 0; k < n; k++) {
    mx += x[k];
    my += y[k];
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let k = 0; k < n; k++) {
    const a = x[k] - mx, b = y[k] - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

export interface TrackLeader {
  unit: number;
  r: number;
}

/**
 * For every track, the `top` units whose state correlates most with it (largest |r| over all
 * tokens; ties: the lower unit), r = 0 where either side is constant. One pass over the states.
 */
export function trackLeaders(states: UnitStates, text: string, top = 5): Record<TrackName, TrackLeader[]> {
  const { T, H } = states;
  if (!(Number.isSafeInteger(top) && top >= 0)) throw new InputError(`top must be a whole number >= 0, got ${top}`);
  const tracks = tokenTracks(states, text);
  const K = TRACK_NAMES.length;
  // The tracks centred: then cov(x, y) = sum x (y - mean y), and x needs no second pass.
  const centred: Float64Array[] = [];
  const syy = new Float64Array(K);
  TRACK_NAMES.forEach((name, k) => {
    const y = tracks[name];
    let m = 0;
    for (let t = 0; t < T; t++) m += y[t];
    m /= T;
    const c = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      c[t] = y[t] - m;
      syy[k] += c[t] * c[t];
    }
    centred.push(c);
  });
  const sx = new Float64Array(H);
  const sxx = new Float64Array(H);
  const sxy = new Float64Array(K * H);
  const min = new Float64Array(H).fill(Infinity);
  const max = new Float64Array(H).fill(-Infinity);
  const { values, scales, block } = states;
  const [y0, y1, y2, y3, y4] = centred;
  // In tiles of tokens (whole blocks), unit by unit: the tiles of the tracks stay in cache.
  const tile = 4 * block;
  for (let t0 = 0; t0 < T; t0 += tile) {
    const t1 = Math.min(T, t0 + tile);
    for (let u = 0; u < H; u++) {
      const base = u * T;
      let a = 0, aa = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, lo = min[u], hi = max[u];
      for (let b0 = t0; b0 < t1; b0 += block) {
        const scale = scales === null ? 1 : scales[(b0 / block) * H + u];
        const b1 = Math.min(t1, b0 + block);
        for (let t = b0; t < b1; t++) {
          const x = values[base + t] * scale;
          a += x;
          aa += x * x;
          if (x < lo) lo = x;
          if (x > hi) hi = x;
          c0 += x * y0[t];
          c1 += x * y1[t];
          c2 += x * y2[t];
          c3 += x * y3[t];
          c4 += x * y4[t];
        }
      }
      sx[u] += a;
      sxx[u] += aa;
      min[u] = lo;
      max[u] = hi;
      sxy[u] += c0;
      sxy[H + u] += c1;
      sxy[2 * H + u] += c2;
      sxy[3 * H + u] += c3;
      sxy[4 * H + u] += c4;
    }
  }
  const out = {} as Record<TrackName, TrackLeader[]>;
  TRACK_NAMES.forEach((name, k) => {
    const all: TrackLeader[] = [];
    for (let u = 0; u < H; u++) {
      const varX = sxx[u] - (sx[u] * sx[u]) / T;
      // A constant unit (a clamped one) has r = 0, whatever rounding leaves in varX.
      const r = min[u] === max[u] || !(syy[k] > 0) || !(varX > 0) ? 0 : sxy[k * H + u] / Math.sqrt(varX * syy[k]);
      all.push({ unit: u, r: Math.max(-1, Math.min(1, r)) });
    }
    all.sort((a, b) => Math.abs(b.r) - Math.abs(a.r) || a.unit - b.unit);
    out[name] = all.slice(0, top);
  });
  return out;
}

/** The first token whose span ends after character `c` (T when none): spans are ascending. */
function firstTokenEndingAfter(states: UnitStates, c: number): number {
  let lo = 0, hi = states.T;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (states.spans[2 * mid + 1] > c) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The tokens [A, B) that touch the characters [a, b) (an empty span: the token that holds a);
 * null when no token does (the characters are all outside every token, e.g. unknown ones left out).
 */
export function tokensOfChars(states: UnitStates, a: number, b: number): [number, number] | null {
  const A = firstTokenEndingAfter(states, a);
  let B = A;
  while (B < states.T && states.spans[2 * B] < Math.max(b, a + 1)) B++;
  return B > A ? [A, B] : null;
}

/** One unit's states over the tokens that touch the characters [from, to), at most `limit` tokens. */
export function unitValuesIn(states: UnitStates, unit: number, from: number, to: number, limit: number): { first: number; values: Float32Array<ArrayBuffer> } {
  if (!(Number.isSafeInteger(unit) && unit >= 0 && unit < states.H)) throw new InputError(`unit ${unit} is not in the layer, which has ${states.H} (0 to ${states.H - 1})`);
  const first = firstTokenEndingAfter(states, from);
  let end = first;
  while (end < states.T && end - first < limit && states.spans[2 * end] < to) end++;
  const values = new Float32Array(end - first);
  for (let t = first; t < end; t++) values[t - first] = stateAt(states, t, unit);
  return { first, values };
}
