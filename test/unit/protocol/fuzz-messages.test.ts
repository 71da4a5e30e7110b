// Every receiver's message check under fuzz: the worker's checkHostToWorker, the host's
// checkWorkerToHost and checkPanelToHost, the webview's checkHostToPanel. Valid messages are made
// by walking the valibot schemas (so a new field is fuzzed without touching this file), with the
// sizes a trace must agree on; malformed ones by breaking one place of a valid message in a way
// that the schema at that place forbids (a field dropped or added, a wrong type, NaN, Infinity, a
// negative or fractional count, a Float32Array for a string and back, a prototype key, a trace of
// the wrong length, a structure that contains itself). The checks must never throw, must refuse
// every malformed message in one line, accept every valid one, and leave Object.prototype alone.
//
// Then the real thing: a worker (dist/worker.js, built by npm test) sent malformed messages, a
// WorkerJob given a worker that talks nonsense, and the model store's paths for hostile URIs.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker as RealWorker, type Worker } from 'node:worker_threads';
import { Random } from '../../../src/engine/random';
import { ModelStore } from '../../../src/extension/modelStore';
import { readCheckpointFile } from '../../../src/node/files';
import { WorkerJob } from '../../../src/extension/workerJob';
import { checkGpuToHost, checkHostToGpu, checkHostToWebviewGpu, checkWebviewGpuToHost, GpuToHostSchema, HostToGpuSchema, HostToWebviewGpuSchema, WebviewGpuToHostSchema } from '../../../src/protocol/gpu';
import { checkHostToPanel, checkPanelToHost, HostToPanelSchema, PanelToHostSchema } from '../../../src/protocol/panel';
import { checkHostToWorker, checkWorkerToHost, HostToWorkerSchema, WorkerToHostSchema, type TrainRequest, type WorkerToHost } from '../../../src/protocol/worker';

const ROOT = join(__dirname, '..', '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');
const SEED = Number(process.env.FUZZ_SEED ?? 1);
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-messages-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// The schemas as data: valibot schemas are plain objects that say what they are.

interface Action {
  kind: string;
  type: string;
  requirement?: unknown;
}
interface Schema {
  type: string;
  entries?: Record<string, Schema>;
  options?: unknown[];
  item?: Schema;
  /** A tuple's items, in order. */
  items?: Schema[];
  wrapped?: Schema;
  literal?: unknown;
  class?: new (...args: never[]) => unknown;
  key?: string;
  pipe?: Action[];
}

const asSchema = (s: unknown): Schema => s as Schema;

interface NumberRule {
  integer: boolean;
  min: number;
  max: number;
  /** Exclusive lower bound (gtValue), or -Infinity. */
  above: number;
}

function numberRule(s: Schema): NumberRule {
  const rule: NumberRule = { integer: false, min: -Infinity, max: Infinity, above: -Infinity };
  for (const a of s.pipe ?? []) {
    if (a.type === 'integer') rule.integer = true;
    if (a.type === 'min_value') rule.min = a.requirement as number;
    if (a.type === 'max_value') rule.max = a.requirement as number;
    if (a.type === 'gt_value') rule.above = a.requirement as number;
  }
  return rule;
}

/** The option of a variant that a value of type `type` takes. */
function variantOption(s: Schema, type: unknown): Schema | undefined {
  return (s.options as Schema[]).find((o) => o.entries?.[s.key as string]?.literal === type);
}

// ---------------------------------------------------------------------------------------------
// Valid messages, with anything a schema allows: empty and huge strings, boundary numbers.

/** A string schema's maxLength, if it has one. */
function maxLength(s: Schema): number {
  return (s.pipe ?? []).find((a) => a.type === 'max_length')?.requirement as number | undefined ?? Infinity;
}

function validString(rng: Random, max = Infinity): string {
  const pick = rng.int(12);
  if (pick === 0) return '';
  if (pick === 1) return 'x'.repeat(Math.min(max, 1_000_000)); // big, but a string is a string
  if (pick === 2) return 'ü-naïve 🐈 \u2028 <script>alert(1)</script>';
  if (pick === 3) return '../../etc/passwd\0';
  if (pick === 4) return '__proto__';
  return `s${rng.int(1000)}`;
}

function validNumber(s: Schema, rng: Random): number {
  const r = numberRule(s);
  const lo = Math.max(r.min, r.above === -Infinity ? -1e6 : r.above + (r.integer ? 1 : 1e-9));
  const hi = Math.min(r.max, lo + 1e6);
  const pick = rng.int(4);
  let x = pick === 0 ? lo : pick === 1 ? hi : lo + (hi - lo) * rng.next();
  if (r.integer) x = Math.max(Math.ceil(lo), Math.min(Math.floor(hi), Math.round(x)));
  if (r.above > -Infinity && x <= r.above) x = r.above + 1;
  return x;
}

function validValue(s: Schema, rng: Random, depth = 0): unknown {
  switch (s.type) {
    case 'string': return validString(rng, maxLength(s));
    case 'number': return validNumber(s, rng);
    case 'boolean': return rng.int(2) === 0;
    case 'literal': return s.literal;
    case 'picklist': return (s.options as unknown[])[rng.int((s.options as unknown[]).length)];
    case 'nullable': return rng.int(3) === 0 ? null : validValue(s.wrapped as Schema, rng, depth);
    case 'optional': return rng.int(3) === 0 ? undefined : validValue(s.wrapped as Schema, rng, depth);
    case 'array': return Array.from({ length: depth > 4 ? 0 : rng.int(4) }, () => validValue(s.item as Schema, rng, depth + 1));
    case 'instance': return s.class === Uint8Array ? Uint8Array.from({ length: rng.int(6) }, () => rng.int(256)) : Float32Array.from({ length: rng.int(6) }, () => rng.normal());
    case 'variant': return validValue((s.options as Schema[])[rng.int((s.options as Schema[]).length)], rng, depth);
    // The protocol's tuples are spans of numbers, [start, end] with start <= end: made in ascending order.
    case 'tuple': {
      const items = (s.items as Schema[]).map((item) => validValue(item, rng, depth + 1));
      return items.every((x) => typeof x === 'number') ? (items as number[]).sort((a, b) => a - b) : items;
    }
    case 'strict_object': {
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(s.entries as Record<string, Schema>)) {
        const v = validValue(e, rng, depth + 1);
        if (v !== undefined || e.type !== 'optional') out[k] = v; // an optional field: absent
      }
      return agree(out, rng);
    }
    default: throw new Error(`the fuzz does not know schema type ${s.type}: teach it`);
  }
}

/** Sizes that must agree across fields (what checkHostToPanel and checkWorkerToHost check beyond the schema). */
function agree(m: Record<string, unknown>, rng: Random): Record<string, unknown> {
  if ('history' in m && m.history && typeof m.history === 'object') {
    const n = rng.int(5);
    const step = Array.from({ length: n }, (_, i) => i + 1);
    m.history = { step, loss: step.map(() => rng.next() * 5), gradNorm: step.map(() => rng.next()), learningRate: step.map(() => 0.01) };
  }
  if (m.type === 'trace') {
    const T = 1 + rng.int(12);
    const H = 1 + rng.int(6);
    m.T = T;
    m.H = H;
    m.tokens = Array.from({ length: T }, (_, t) => `t${t}`);
    m.spans = Array.from({ length: 2 * T }, (_, k) => k);
    m.predictions = Array.from({ length: T }, () => [{ token: 'a', p: 0.5 }]);
    m.entries = Array.from({ length: 1 + rng.int(3) }, (_, l) => ({
      layer: l,
      direction: rng.int(2) === 0 ? 'forward' : 'backward',
      states: new Float32Array(6 * T * H),
      gradients: rng.int(2) === 0 ? null : new Float32Array(2 * T * H),
    }));
    m.parameterGradients = Array.from({ length: rng.int(3) }, () => {
      const rows = 1 + rng.int(8), cols = 1 + rng.int(8);
      return { name: 'lstm.weight_hh_l0', rows, cols, data: new Float32Array(rows * cols) };
    });
  }
  if (m.type === 'step') {
    // One step explained: (H) states and gates, (4H) gate rows, (I) input, t within T, the memory span from t.
    const T = 1 + rng.int(8);
    const H = 1 + rng.int(4);
    const I = 1 + rng.int(6);
    const t = rng.int(T);
    const direction = rng.int(2) === 0 ? 'forward' : 'backward';
    const vec = (n: number): number[] => Array.from({ length: n }, () => rng.normal());
    const size = (k: string): number => (k === 'x' || k === 'dx' ? I : ['Wx', 'Uh', 'b', 'z', 'dz'].includes(k) ? 4 * H : H);
    const fields = (names: string[]): Record<string, number[]> => Object.fromEntries(names.map((k) => [k, vec(size(k))]));
    const steps = direction === 'forward' ? Array.from({ length: T - t }, (_, s) => t + s) : Array.from({ length: t + 1 }, (_, s) => t - s);
    m.explanation = {
      token: 'a', t, layer: 0, direction, T,
      is_first: t === (direction === 'forward' ? 0 : T - 1),
      is_last: t === (direction === 'forward' ? T - 1 : 0),
      forward: fields(['x', 'h_prev', 'c_prev', 'Wx', 'Uh', 'b', 'z', 'i', 'f', 'g', 'o', 'c', 'tanh_c', 'h']),
      backward: fields(['dh', 'dh_up', 'dh_next', 'dc', 'dc_via_h', 'dc_next', 'di', 'df', 'dg', 'do', 'dz', 'dc_prev', 'dh_prev', 'dx']),
    };
    m.span = { steps, memory: new Float32Array(steps.length * H), lastDh: rng.int(2) === 0 ? null : vec(steps.length), lastDc: rng.int(2) === 0 ? null : new Float32Array(steps.length * H) };
  }
  if (m.type === 'analyzed' && m.answer && typeof m.answer === 'object') {
    // Spans 2 per token, start <= end; every per-token array one per token.
    const a = m.answer as Record<string, unknown>;
    if (a.kind !== 'baseline') {
      const T = rng.int(6);
      a.spans = Array.from({ length: 2 * T }, (_, k) => k);
      const perToken = (x: unknown): unknown => (Array.isArray(x) ? Array.from({ length: T }, (_, k) => x[k % Math.max(1, x.length)] ?? (typeof x[0] === 'object' ? [] : 0.5)) : x);
      for (const k of ['values', 'top', 'gain', 'gradNorm', 'gradXInput']) if (k in a && a[k] !== null) a[k] = perToken(a[k]);
      if (Array.isArray(a.top)) a.top = (a.top as unknown[]).map(() => []);
      for (const k of ['values', 'gain', 'gradNorm', 'gradXInput']) if (Array.isArray(a[k])) a[k] = (a[k] as unknown[]).map(() => rng.next());
    }
  }
  if (m.type === 'whyAttribution') {
    // As many non-negative norms and products as tokens.
    const T = Array.isArray(m.tokens) ? m.tokens.length : 0;
    m.gradNorm = Array.from({ length: T }, () => rng.next());
    m.gradXInput = Array.from({ length: T }, () => rng.normal());
  }
  if (m.type === 'whyTimeline' && Array.isArray(m.snapshots)) {
    // Snapshots in increasing step order; the chosen step one of them (or null).
    const rows = m.snapshots as Array<Record<string, unknown>>;
    rows.forEach((r, k) => { r.step = 3 * k; });
    m.chosen = rows.length > 0 && rng.int(2) === 0 ? rows[rng.int(rows.length)].step : null;
  }
  if (m.type === 'units') {
    // Matches and the selection not empty; the layer, units within the model.
    if (Array.isArray(m.matches)) for (const x of m.matches as Array<Record<string, unknown>>) x.end = (x.start as number) + 1 + rng.int(3);
    const choice = m.choice as Record<string, unknown> | undefined;
    if (choice && typeof m.layers === 'number') choice.layer = rng.int(m.layers);
    if (Array.isArray(m.units) && typeof m.H === 'number') m.units = (m.units as number[]).map((u) => u % (m.H as number));
    const selection = m.selection as { tokens: number[] } | null | undefined;
    if (selection && Array.isArray(selection.tokens)) selection.tokens = [selection.tokens[0], selection.tokens[0] + 1 + rng.int(3)];
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Malformed messages: one place broken in a way its schema forbids.

const deepArray = (n: number): unknown => {
  let v: unknown = [];
  for (let i = 0; i < n; i++) v = [v];
  return v;
};
const deepObject = (n: number): unknown => {
  let v: unknown = {};
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};
/** An object that contains itself (structured clone carries cycles). */
const cyclic = (): unknown => {
  const o: Record<string, unknown> = { type: 'ready' };
  o.self = o;
  return o;
};

function ownKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A value that schema `s` refuses, and what it is. */
function invalidFor(s: Schema, valid: unknown, rng: Random): { value: unknown; what: string } {
  const anyType: Array<[unknown, string]> = [[deepArray(5000), 'an array nested 5000 deep'], [deepObject(5000), 'an object nested 5000 deep'], [cyclic(), 'an object that contains itself'], [1n, 'a bigint'], [undefined, 'undefined']];
  const general: Array<[unknown, string]> = [];
  switch (s.type) {
    case 'string':
      if (maxLength(s) < Infinity) general.push(['x'.repeat(maxLength(s) + 1), 'a string one over its maximum length']);
      general.push([5, 'a number'], [null, 'null'], [{}, 'an object'], [['a'], 'an array'], [new Float32Array([1, 2]), 'a Float32Array'], [true, 'a boolean'], [new Uint8Array([104, 105]), 'bytes']);
      break;
    case 'number': {
      const r = numberRule(s);
      general.push([NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], ['1', 'a numeric string'], [null, 'null'], [new Float32Array(1), 'a Float32Array'], [[1], 'an array'], [true, 'a boolean']);
      if (r.integer) general.push([0.5, 'a fraction'], [(valid as number) + 0.25, 'a fraction near a valid value']);
      // (min - 1 is min itself where min is huge, as float32's largest; 2^64 is in range of such a max.)
      if (r.min > -Infinity) general.push(...(r.min - 1 < r.min ? [[r.min - 1, `below the minimum ${r.min}`] as [number, string]] : []), [-1e308, 'a huge negative']);
      if (r.max < Infinity) general.push(...(r.max + 1 > r.max ? [[r.max + 1, `above the maximum ${r.max}`] as [number, string]] : []), ...(2 ** 64 > r.max ? [[2 ** 64, '2^64'] as [number, string]] : [[1e308, 'a huge positive'] as [number, string]]));
      if (r.above > -Infinity) general.push([r.above, `equal to the exclusive bound ${r.above}`]);
      break;
    }
    case 'boolean': general.push(['true', 'a string'], [1, 'a number'], [null, 'null']); break;
    case 'literal':
    case 'picklist': {
      const options = s.type === 'literal' ? [s.literal] : (s.options as unknown[]);
      for (const v of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'x', String(valid).toUpperCase(), `${String(valid)} `, `${String(valid)}\nforged`, 'y'.repeat(100_000), 0, 3, null, ['forward']]) {
        if (!options.includes(v)) general.push([v, typeof v === 'string' && v.length > 40 ? `a string of ${v.length} characters` : (JSON.stringify(v) ?? String(v))]);
      }
      break;
    }
    case 'optional': {
      // What the wrapped schema refuses, except undefined, which this one takes.
      for (let tries = 0; tries < 10; tries++) {
        const bad = invalidFor(s.wrapped as Schema, valid ?? validValue(s.wrapped as Schema, rng, 5), rng);
        if (bad.value !== undefined) return bad;
      }
      return { value: null, what: 'null' };
    }
    case 'nullable': {
      // What the wrapped schema refuses, except null, which this one takes.
      for (let tries = 0; tries < 10 && rng.int(4) !== 0; tries++) {
        const bad = invalidFor(s.wrapped as Schema, valid ?? validValue(s.wrapped as Schema, rng, 5), rng);
        if (bad.value !== null) return bad;
      }
      return { value: undefined, what: 'undefined' };
    }
    case 'array': {
      const item = s.item as Schema;
      const sample = Array.isArray(valid) && valid.length > 0 ? valid[0] : validValue(item, rng, 5);
      const bad = invalidFor(item, sample, rng);
      const selfish: unknown[] = [];
      selfish.push(selfish);
      general.push([[bad.value], `an array of ${bad.what}`], [{ length: 1, 0: sample }, 'an array-like object'], ['abc', 'a string'], [null, 'null'], [new Float32Array(2), 'a Float32Array']);
      if (item.type !== 'array') general.push([selfish, 'an array that contains itself']);
      break;
    }
    case 'tuple': {
      const items = s.items as Schema[];
      const sample = Array.isArray(valid) && valid.length === items.length ? valid : (validValue(s, rng, 5) as unknown[]);
      const k = rng.int(items.length);
      const bad = invalidFor(items[k], sample[k], rng);
      const withBad = [...sample];
      withBad[k] = bad.value;
      general.push([withBad, `a tuple whose item ${k} is ${bad.what}`], [sample.slice(0, -1), 'a tuple one item short'], [[...sample, 0], 'a tuple one item long'], [null, 'null'], ['0,1', 'a string']);
      if (items.every((i) => i.type === 'number') && items.length === 2) general.push([[1, 0], 'a span that ends before it starts']);
      break;
    }
    case 'instance':
      general.push([[1, 2, 3], 'a plain array of numbers'], [new Float64Array(3), 'a Float64Array'], [new Int32Array(3), 'an Int32Array'], ['AAAA', 'a base64 string'], [{ length: 3 }, 'an object with a length'], [new DataView(new ArrayBuffer(4)), 'a DataView'], [null, 'null']);
      general.push(s.class === Uint8Array ? [new Float32Array(3), 'a Float32Array'] : [new Uint8Array(3), 'a Uint8Array']);
      break;
    case 'variant':
    case 'strict_object': {
      general.push([null, 'null'], [[], 'an array'], ['ready', 'a string'], [new Float32Array(1), 'a Float32Array'], [42, 'a number']);
      if (valid && typeof valid === 'object' && !Array.isArray(valid)) {
        // A required key (an optional one may be absent).
        const entries = (s.type === 'variant' ? variantOption(s, (valid as Record<string, unknown>)[s.key as string]) : s)?.entries ?? {};
        const keys = Object.keys(valid).filter((k) => entries[k]?.type !== 'optional');
        const drop = keys[rng.int(keys.length)];
        const dropped = { ...(valid as Record<string, unknown>) };
        delete dropped[drop];
        general.push([dropped, `without ${drop}`]);
        for (const k of ['extra', '__proto__', 'constructor', 'prototype']) {
          const added = { ...(valid as Record<string, unknown>) };
          ownKey(added, k, rng.int(2) === 0 ? { polluted: true } : 'x');
          general.push([added, `with an own key ${k}`]);
        }
        const self = { ...(valid as Record<string, unknown>) };
        self.self = self;
        general.push([self, 'with a key that refers to itself']);
        if (s.type === 'variant') general.push([{ ...(valid as Record<string, unknown>), [s.key as string]: 'format-disk' }, 'an unknown type']);
      }
      break;
    }
    default: throw new Error(`the fuzz does not know schema type ${s.type}`);
  }
  const choices = rng.int(8) === 0 ? anyType : general;
  const [value, what] = choices[rng.int(choices.length)];
  return { value, what };
}

type Path = Array<string | number>;

/** Every place in a valid message with the schema that governs it. */
function places(s: Schema, value: unknown, path: Path = [], out: Array<{ path: Path; schema: Schema; value: unknown }> = []): typeof out {
  out.push({ path, schema: s, value });
  if (s.type === 'nullable' || s.type === 'optional') {
    // The places inside a present value (the value itself is this place, under the wrapper).
    if (value !== null && value !== undefined) out.push(...places(s.wrapped as Schema, value, path).slice(1));
    return out;
  }
  if (s.type === 'variant') {
    const option = variantOption(s, (value as Record<string, unknown>)[s.key as string]);
    if (option) for (const [k, e] of Object.entries(option.entries as Record<string, Schema>)) places(e, (value as Record<string, unknown>)[k], [...path, k], out);
  } else if (s.type === 'strict_object') {
    for (const [k, e] of Object.entries(s.entries as Record<string, Schema>)) places(e, (value as Record<string, unknown>)[k], [...path, k], out);
  } else if (s.type === 'array' && Array.isArray(value)) {
    value.slice(0, 2).forEach((v, i) => places(s.item as Schema, v, [...path, i], out));
  }
  return out;
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path[path.length - 1];
  if (value === undefined && !Array.isArray(parent) && rng0.int(2) === 0) delete parent[key];
  else parent[key] = value;
  return copy;
}
const rng0 = new Random(SEED ^ 0x5eed);

/** Breaks the sizes a trace or a history must agree on (the schema alone cannot). */
function breakSizes(m: Record<string, unknown>, rng: Random): { value: unknown; what: string } | null {
  const c = structuredClone(m) as Record<string, unknown> & { [k: string]: never };
  if (c.type === 'trace') {
    const t = c as unknown as { T: number; H: number; tokens: string[]; spans: number[]; predictions: unknown[]; entries: Array<{ states: Float32Array; gradients: Float32Array | null }>; parameterGradients: Array<{ data: Float32Array }> };
    const options: Array<[() => void, string]> = [
      [() => t.tokens.push('extra'), 'one token too many'],
      [() => t.spans.pop(), 'one span offset too few'],
      [() => t.predictions.push([]), 'one prediction row too many'],
      [() => { t.entries[0].states = new Float32Array(t.entries[0].states.length + 1); }, 'states one value too long'],
      [() => { t.entries[0].states = new Float32Array(0); }, 'no states'],
      [() => { t.entries[0].gradients = new Float32Array(2 * t.T * t.H - 1); }, 'gradients one value short'],
      [() => { t.T += 1; }, 'T one more than the arrays'],
      [() => { t.H *= 2; }, 'H twice the states'],
      [() => { if (t.parameterGradients.length) t.parameterGradients[0].data = new Float32Array(t.parameterGradients[0].data.length + 3); else t.T = 1e9; }, 'a parameter gradient of the wrong size'],
    ];
    const [apply, what] = options[rng.int(options.length)];
    apply();
    return { value: c, what: `trace: ${what}` };
  }
  const history = (c as { history?: Record<string, number[]> }).history;
  if (history && history.step.length > 0) {
    const key = ['loss', 'gradNorm', 'learningRate'][rng.int(3)];
    history[key].pop();
    return { value: c, what: `history: ${key} shorter than step` };
  }
  return null;
}

interface Receiver {
  name: string;
  schema: Schema;
  check: (v: unknown) => { ok: true; message: unknown } | { ok: false; error: string };
}

const RECEIVERS: Receiver[] = [
  { name: "the worker's checkHostToWorker", schema: asSchema(HostToWorkerSchema), check: checkHostToWorker },
  { name: "the host's checkWorkerToHost", schema: asSchema(WorkerToHostSchema), check: checkWorkerToHost },
  { name: "the host's checkPanelToHost", schema: asSchema(PanelToHostSchema), check: checkPanelToHost },
  { name: "the webview's checkHostToPanel", schema: asSchema(HostToPanelSchema), check: checkHostToPanel },
  // The GPU relay: host → webview → GPU worker, and back.
  { name: "the webview's checkHostToWebviewGpu", schema: asSchema(HostToWebviewGpuSchema), check: checkHostToWebviewGpu },
  { name: "the GPU worker's checkHostToGpu", schema: asSchema(HostToGpuSchema), check: checkHostToGpu },
  { name: "the webview's checkGpuToHost (the GPU worker's answers)", schema: asSchema(GpuToHostSchema), check: checkGpuToHost },
  { name: "the host's checkWebviewGpuToHost", schema: asSchema(WebviewGpuToHostSchema), check: checkWebviewGpuToHost },
];

function pollution(): string | null {
  for (const k of ['polluted', 'self', 'extra']) if (k in Object.prototype || k in ({} as Record<string, unknown>)) return `Object.prototype.${k} is set`;
  return null;
}

const CASES_PER_RECEIVER = 2500;

describe('message fuzz', () => {
  for (const receiver of RECEIVERS) {
    it(`${receiver.name}: ${CASES_PER_RECEIVER} valid messages accepted, ${CASES_PER_RECEIVER} malformed refused in one line, never a throw (seed ${SEED})`, () => {
      const rng = new Random(SEED);
      const problems: string[] = [];
      let malformed = 0;
      const call = (value: unknown, label: string) => {
        const started = performance.now();
        try {
          const result = receiver.check(value);
          // Only a runaway check (backtracking, a walk of a structure that contains itself) is caught
          // here: 5 s is far beyond any scheduling pause on a loaded machine, where 250 ms was not.
          const ms = performance.now() - started;
          if (ms > 5_000) problems.push(`${label}: the check took ${ms.toFixed(0)} ms`);
          return result;
        } catch (e) {
          problems.push(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 120)}` : String(e)}`);
          return null;
        }
      };
      for (let k = 0; k < CASES_PER_RECEIVER && problems.length < 10; k++) {
        const valid = validValue(receiver.schema, rng) as Record<string, unknown>;
        const type = String(valid.type);
        const ok = call(valid, `valid ${type} #${k}`);
        if (ok && !ok.ok) problems.push(`valid ${type} #${k} refused: ${ok.error.slice(0, 200)}`);

        // Break it: one place, or the sizes that must agree.
        let broken: { value: unknown; what: string } | null = rng.int(6) === 0 ? breakSizes(valid, rng) : null;
        let at = '';
        if (!broken) {
          const all = places(receiver.schema, valid);
          const place = all[rng.int(all.length)];
          broken = invalidFor(place.schema, place.value, rng);
          at = place.path.join('.') || '(the message)';
          broken = { value: setAt(valid, place.path, broken.value), what: `${at} = ${broken.what}` };
        }
        malformed++;
        const label = `malformed ${type} #${k} (${broken.what})`;
        const result = call(broken.value, label);
        if (result?.ok) problems.push(`${label} was accepted`);
        if (result && !result.ok && (/[\n\r\u2028\u2029]/.test(result.error) || result.error.length > 300)) {
          problems.push(`${label}: the error is not one short line: ${JSON.stringify(result.error.slice(0, 120))} (${result.error.length} characters)`);
        }
        const polluted = pollution();
        if (polluted) problems.push(`${label}: ${polluted}`);
      }
      assert.deepEqual(problems, [], `seed ${SEED}`);
      assert.equal(malformed, CASES_PER_RECEIVER);
    });
  }

  it('hostile non-messages: never a throw, always refused', () => {
    const hostile: Array<[string, unknown]> = [
      ['undefined', undefined], ['null', null], ['0', 0], ['NaN', NaN], ['""', ''], ['"ready"', 'ready'], ['[]', []], ['[{type: "ready"}]', [{ type: 'ready' }]],
      ['a Float32Array', new Float32Array(4)], ['an array nested 100,000 deep', deepArray(100_000)], ['an object nested 100,000 deep', deepObject(100_000)],
      ['an object that contains itself', cyclic()], ['a bigint', 1n], ['{"__proto__": {"type": "ready"}} parsed', JSON.parse('{"__proto__":{"type":"ready"}}')],
      ['an object without a prototype', Object.create(null)], ['a Map', new Map([['type', 'ready']])], ['a Date', new Date(0)], ['a RegExp', /ready/],
      ['a type that only converts to "ready"', { type: { toString: () => 'ready' } }],
    ];
    for (const receiver of RECEIVERS) {
      for (const [what, value] of hostile) {
        const result = receiver.check(value);
        assert.equal(result.ok, false, `${receiver.name} accepted ${what}`);
      }
    }
    assert.equal(pollution(), null);
  });

  it('nothing the webview sends can name a file: every string the panel→host schema accepts is one of a fixed list', () => {
    // By construction: walk the schema; a free string (or anything that could carry one) fails.
    const free: string[] = [];
    const walk = (s: Schema, at: string): void => {
      switch (s.type) {
        case 'literal': case 'picklist': case 'number': case 'boolean': return;
        case 'nullable': case 'optional': return walk(s.wrapped as Schema, at);
        case 'array': return walk(s.item as Schema, `${at}[]`);
        case 'variant': for (const o of s.options as Schema[]) walk(o, `${at}(${String((o.entries as Record<string, Schema>)[s.key as string].literal)})`); return;
        case 'strict_object': for (const [k, e] of Object.entries(s.entries as Record<string, Schema>)) walk(e, `${at}.${k}`); return;
        default: free.push(`${at}: ${s.type}`);
      }
    };
    walk(asSchema(PanelToHostSchema), 'PanelToHost');
    assert.deepEqual(free, [], 'a field the webview could fill with a path or a URI');
    // And by sampling: every string in an accepted message is an enumerated value.
    const enumerated = new Set<unknown>();
    const collect = (s: Schema): void => {
      if (s.type === 'literal') enumerated.add(s.literal);
      if (s.type === 'picklist') for (const o of s.options as unknown[]) enumerated.add(o);
      for (const e of Object.values(s.entries ?? {})) collect(e);
      for (const o of (s.type === 'variant' ? s.options : []) as Schema[]) collect(o);
      if (s.item) collect(s.item);
      if (s.wrapped) collect(s.wrapped);
    };
    collect(asSchema(PanelToHostSchema));
    const rng = new Random(SEED + 1);
    const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : []);
    for (let k = 0; k < 500; k++) {
      const m = validValue(asSchema(PanelToHostSchema), rng);
      const checked = checkPanelToHost(m);
      assert.ok(checked.ok);
      for (const s of strings(checked.message)) assert.ok(enumerated.has(s), `${s} is not an enumerated value`);
    }
  });
});

describe('the model store keeps every path inside its folder', () => {
  const store = new ModelStore(join(scratch, 'storage'));
  const uris = [
    'file:///home/me/a.txt', '../../etc/passwd', 'file:///../../../../etc/passwd', '/etc/passwd', 'C:\\Windows\\win.ini', '..\\..\\boot.ini',
    `file:///${'a/'.repeat(100_000)}x.txt`, 'file:///a\0b.txt', '\0', '', 'untitled:Untitled-1', 'vscode-vfs://github/x/y/../../z', 'file:///a%2F..%2F..%2Fb',
    '~/.ssh/id_rsa', 'file:///tmp/x.lstm.safetensors/../../y', '🐈\u2028\n\r', 'models/../../outside',
  ];
  it('<folder>/models/<32 hex>.lstm.safetensors for any document URI, however hostile', () => {
    for (const uri of uris) {
      const path = store.checkpointPath(uri);
      assert.equal(dirname(path), store.folder, JSON.stringify(uri.slice(0, 60)));
      assert.match(path.slice(store.folder.length), /^[/\\][0-9a-f]{32}\.lstm\.safetensors$/);
      assert.ok(!relative(store.folder, resolve(path)).startsWith('..'));
    }
    assert.equal(store.folder, join(scratch, 'storage', 'models'));
  });
  it('prepare, has, forget and the clean-up touch nothing outside the folder', () => {
    mkdirSync(join(scratch, 'storage'), { recursive: true });
    const outside = join(scratch, 'storage', 'keep.txt');
    writeFileSync(outside, 'keep');
    const sibling = join(scratch, 'storage', '.keep.tmp');
    writeFileSync(sibling, 'keep');
    for (const uri of uris) {
      const path = store.prepare(uri);
      writeFileSync(path, 'x');
      assert.equal(store.has(uri), true);
      assert.equal(store.forget(uri), true);
    }
    store.removeTemporaryFiles(0);
    assert.deepEqual(readdirSync(join(scratch, 'storage')).sort(), ['.keep.tmp', 'keep.txt', 'models']);
    assert.deepEqual(readdirSync(store.folder), []);
  });
});

describe('two threads saving the same checkpoint at once', () => {
  it('every save succeeds and the file is always one whole save (they used to share a temporary file: ENOENT)', async () => {
    const target = join(scratch, 'shared.lstm.safetensors');
    const SIZE = 256 * 1024;
    // Worker threads of this process, as the extension's training workers are.
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      require('tsx/cjs');
      const { writeFileAtomic } = require(workerData.files);
      const bytes = new Uint8Array(workerData.size).fill(workerData.fill);
      const errors = [];
      for (let i = 0; i < 100; i++) { try { writeFileAtomic(workerData.target, bytes); } catch (e) { errors.push(String(e.code || e.message)); } }
      parentPort.postMessage(errors);`;
    const save = (fill: number): Promise<string[]> => new Promise((done, fail) => {
      const w = new RealWorker(code, { eval: true, workerData: { files: join(ROOT, 'src', 'node', 'files.ts'), target, size: SIZE, fill } });
      w.once('message', done);
      w.once('error', fail);
    });
    let reads = 0;
    const torn: string[] = [];
    const reader = setInterval(() => {
      let b: Buffer;
      try {
        b = readFileSync(target);
      } catch {
        return; // not written yet
      }
      reads++;
      if (b.length !== SIZE || !b.every((x) => x === b[0])) torn.push(`${b.length} bytes`);
    }, 1);
    const errors = await Promise.all([save(1), save(2)]);
    clearInterval(reader);
    assert.deepEqual(errors, [[], []]);
    assert.deepEqual(torn, [], `${reads} reads`);
    assert.deepEqual(readdirSync(scratch).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  });
});

describe('a real worker sent malformed messages', { timeout: 60_000 }, () => {
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
  const request = (checkpointPath: string, steps: number): TrainRequest => ({
    type: 'train', text, sourceName: 'fox.txt',
    shape: { hidden_size: 8, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' },
    settings: { tokens: 'char', max_vocab: 0, sequence_length: 8, batch_size: 2, steps, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 1 },
    resumeFrom: null, checkpointPath, saveEverySteps: 1000, saveEveryMs: 0, progressEveryMs: 0, timing: null,
  });
  const exited = (job: WorkerJob): Promise<void> => {
    const worker = (job as unknown as { worker: Worker }).worker;
    return worker.threadId < 0 ? Promise.resolve() : new Promise((r) => worker.once('exit', () => r()));
  };

  const firsts: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'train'],
    ['a train request with a Float32Array for its text', { ...request('/unused', 2), text: new Float32Array(4) }],
    ['a train request with an extra "__proto__" key', JSON.parse(`{"__proto__":{"polluted":1},${JSON.stringify(request('/unused', 2)).slice(1)}`)],
    ['a generate request with NaN for temperature', { type: 'generate', checkpointPath: '/unused', prime: 'a', length: 5, temperature: NaN, topK: 0, seed: 1 }],
    ['an unknown type', { type: 'format-disk' }],
  ];
  for (const [what, first] of firsts) {
    it(`${what} as the first message: answered "failed" (internal), and the worker ends`, async () => {
      const job = new WorkerJob(WORKER, first as TrainRequest);
      const outcome = await job.outcome;
      assert.ok(outcome.kind === 'failed' && outcome.reason === 'internal' && /malformed/.test(outcome.message), JSON.stringify(outcome));
      await exited(job);
    });
  }

  it('the worker itself ends after answering a malformed first message (exit code 0, not terminated by the host)', async () => {
    const worker = new RealWorker(WORKER);
    const answers: unknown[] = [];
    worker.on('message', (m) => answers.push(m));
    worker.postMessage({ type: 'generate', checkpointPath: '/unused', prime: 'a', length: -1, temperature: 1, topK: 0, seed: 1 });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      new Promise<number>((r) => worker.once('exit', r)),
      new Promise<string>((r) => { timer = setTimeout(() => r('still running after 10 s'), 10_000); }),
    ]);
    clearTimeout(timer);
    if (code !== 0) await worker.terminate();
    assert.equal(code, 0);
    assert.equal(answers.length, 1);
    const checked = checkWorkerToHost(answers[0]);
    assert.ok(checked.ok && checked.message.type === 'failed' && checked.message.kind === 'internal', JSON.stringify(answers[0]));
  });

  it('a malformed watch (or a second job) during training is ignored: the run goes on, traces the valid watch, and ends with its checkpoint', async () => {
    const path = join(scratch, 'watch.lstm.safetensors');
    const seen: WorkerToHost[] = [];
    const malformed: string[] = [];
    let sent = false;
    let stopped = false;
    // A long run, stopped once the valid watch has been traced: no timing to depend on.
    const job = new WorkerJob(WORKER, request(path, 1_000_000), {
      onMalformed: (e) => malformed.push(e),
      onMessage: (m) => {
        seen.push(m);
        if (m.type === 'progress' && !sent) {
          sent = true;
          for (const bad of [
            { type: 'watch', sequence: { text: 5, source: 'x', keep: 'last' }, everyMs: 0 },
            { type: 'watch', sequence: null, everyMs: -1 },
            { type: 'watch', sequence: { text: 'the fox', source: 'x', keep: 'middle' }, everyMs: 0 },
            { type: 'stop', now: true },
            { type: 'train' },
            request(join(scratch, 'second.lstm.safetensors'), 2), // valid, but the worker is busy: not a reason to end the run
          ]) job.send(bad as never);
          job.send({ type: 'watch', sequence: { text: 'the quick brown fox', source: 'the selection', keep: 'last' }, everyMs: 0 });
        }
        if (m.type === 'panel' && m.message.type === 'trace' && !stopped) {
          stopped = true;
          job.stop();
        }
      },
    });
    const outcome = await job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.reason === 'stopped', JSON.stringify(outcome));
    assert.ok(stopped, 'the valid watch after the malformed ones was honoured');
    assert.ok(!seen.some((m) => m.type === 'failed'), 'no failure answered');
    assert.deepEqual(malformed, []);
    assert.equal(readCheckpointFile(path).training.step, outcome.message.step, 'the checkpoint of where it stopped');
    assert.equal(existsSync(join(scratch, 'second.lstm.safetensors')), false, 'the second job never ran');
  });

  it('a worker that talks nonsense: its malformed messages are dropped and reported, the valid end is taken', async () => {
    const script = join(scratch, 'nonsense-worker.js');
    writeFileSync(script, `
      const { parentPort } = require('node:worker_threads');
      parentPort.once('message', () => {
        parentPort.postMessage({ type: 'progress', step: 1, totalSteps: 2, loss: NaN, tokensPerSecond: 1, learningRate: 0.1, gradNorm: 1, history: { step: [1], loss: [1], gradNorm: [1], learningRate: [1] }, clip: null });
        parentPort.postMessage({ type: 'finished', reason: 'done', step: 2, loss: 1, tokensPerSecond: Infinity, path: '/x' });
        parentPort.postMessage(JSON.parse('{"type":"failed","kind":"internal","message":"x","__proto__":{"polluted":1}}'));
        parentPort.postMessage({ type: 'panel', message: { type: 'trace', step: 0, source: 's', tokens: ['a'], spans: [0, 1], T: 1, H: 1, loss: null, entries: [{ layer: 0, direction: 'forward', states: new Float32Array(1), gradients: null }], predictions: [[]], parameterGradients: [] } });
        parentPort.postMessage('finished');
        parentPort.postMessage({ type: 'finished', reason: 'done', step: 2, loss: 1, tokensPerSecond: 5, path: '/x' });
      });`);
    const malformed: string[] = [];
    const job = new WorkerJob(script, request('/unused', 2), { onMalformed: (e) => malformed.push(e) });
    const outcome = await job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.tokensPerSecond === 5, JSON.stringify(outcome));
    assert.equal(malformed.length, 5, malformed.join('\n'));
    assert.equal(pollution(), null);
  });

  it('a worker that says nothing and exits is reported as crashed, not awaited for ever', async () => {
    const script = join(scratch, 'silent-worker.js');
    writeFileSync(script, `require('node:worker_threads').parentPort.once('message', () => process.exit(3));`);
    const outcome = await new WorkerJob(script, request('/unused', 2)).outcome;
    assert.ok(outcome.kind === 'crashed' && /exit code 3/.test(outcome.message), JSON.stringify(outcome));
  });
});
