// A fuzz of the whole checkpoint reader (decodeCheckpoint: safetensors, metadata, config, vocabulary,
// training state, tensors against the config). It starts from real checkpoints written by the
// engine and breaks them in every way a disk, a network or a hostile file could:
//
//   truncations at every interesting offset, bit flips, random byte runs, inserted and deleted
//   bytes, absurd header lengths (2^53, 2^63-1, 2^64-1 as u64), tensor offsets that overlap or run
//   past the end, shapes that disagree with the config, dtypes other than F32, NaN and ±Inf
//   weights, metadata that is valid JSON with the wrong types everywhere, vocabularies with
//   duplicates or non-strings, header and metadata keys such as __proto__ and constructor,
//   nesting deeper than the call stack, JavaScript and pickle headers where data belongs.
//
// The property: decodeCheckpoint either returns a whole, consistent checkpoint (every parameter
// present with its config's shape, the optimizer's moments likewise, every value finite, a
// vocabulary the tokenizer accepts, a training state a run can resume from) or throws an
// InputError (CheckpointError is one) with a one-line message. Never another exception, never a
// decode slower than a second, never a half-loaded model, never a polluted Object.prototype.
//
// Every case is made from its own seed (the run's seed and the case number), so a failure
// reproduces alone:
//   npx tsx test/scripts/fuzz-checkpoint.ts [--cases N] [--seed S] [--case K] [--verbose]
// test/unit/engine/fuzz-checkpoint.test.ts runs the same generator for a few thousand cases.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type TrainingSettings } from '../../src/engine/checkpoint';
import { InputError } from '../../src/engine/config';
import { parameterSpecs } from '../../src/engine/model';
import { Random } from '../../src/engine/random';
import { Tokenizer } from '../../src/engine/tokenizer';
import { DivergenceError, modelFromCheckpoint, ShorterTextError, Trainer, type ModelShape } from '../../src/engine/trainer';

// ---------------------------------------------------------------------------------------------
// Real checkpoints to start from.

export interface Base {
  name: string;
  text: string;
  bytes: Uint8Array;
  /** The parts of the file, for structured mutations. */
  header: Record<string, unknown>;
  headerLength: number;
  data: Uint8Array;
  /** Tensors in file order: name, shape, [begin, end) in the data region. */
  tensors: Array<{ name: string; shape: number[]; begin: number; end: number }>;
  metadata: Record<string, string>;
}

const FABLE = readFileSync(join(__dirname, '..', '..', 'media', 'samples', 'belling_the_cat.txt'), 'utf8').slice(0, 700);

const SETTINGS: TrainingSettings = {
  tokens: 'char',
  max_vocab: 0,
  sequence_length: 4,
  batch_size: 2,
  steps: 2,
  optimizer: 'adam',
  learning_rate: 0.01,
  schedule: 'constant',
  clip: 5,
  init: 'pytorch',
  init_value: 0.1,
  seed: 7,
};

/** Four small models, two steps each: char and word, Adam and SGD, one-hot and embedding, streams and bidirectional windows. */
const BASE_RUNS: Array<{ name: string; shape: ModelShape; settings: Partial<TrainingSettings> }> = [
  { name: 'char adam one-hot many-to-many', shape: { hidden_size: 3, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, settings: {} },
  { name: 'word sgd embedding bidirectional many-to-one', shape: { hidden_size: 2, num_layers: 1, embedding_size: 3, bidirectional: true, mode: 'many_to_one' }, settings: { tokens: 'word', optimizer: 'sgd', learning_rate: 0.5 } },
  { name: 'char sgd embedding bidirectional 2 layers many-to-one', shape: { hidden_size: 2, num_layers: 2, embedding_size: 2, bidirectional: true, mode: 'many_to_one' }, settings: { optimizer: 'sgd', clip: null, schedule: 'cosine' } },
  { name: 'word adam one-hot 2 layers many-to-many, capped vocabulary', shape: { hidden_size: 2, num_layers: 2, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, settings: { tokens: 'word', max_vocab: 12, init: 'constant' } },
];

export function splitFile(bytes: Uint8Array): { header: Record<string, unknown>; headerLength: number; data: Uint8Array } {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  return { header, headerLength, data: bytes.slice(8 + headerLength) };
}

export function makeBases(): Base[] {
  return BASE_RUNS.map(({ name, shape, settings }) => {
    const trainer = Trainer.create(FABLE, 'fable.txt', shape, { ...SETTINGS, ...settings });
    trainer.trainStep();
    trainer.trainStep();
    const bytes = encodeCheckpoint(trainer.checkpoint());
    const { header, headerLength, data } = splitFile(bytes);
    const tensors = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([k, v]) => {
        const e = v as { shape: number[]; data_offsets: [number, number] };
        return { name: k, shape: e.shape, begin: e.data_offsets[0], end: e.data_offsets[1] };
      })
      .sort((a, b) => a.begin - b.begin);
    return { name, text: FABLE, bytes, header, headerLength, data, tensors, metadata: header.__metadata__ as Record<string, string> };
  });
}

// ---------------------------------------------------------------------------------------------
// Building files: raw JSON where JSON.stringify cannot say it (1e999, deep nesting, repeated keys).

/** JSON text to put in place of a value as it is. */
class Raw {
  constructor(readonly text: string) {}
}

/** JSON.stringify, except that Raw values go in verbatim and every own key is kept (an own "__proto__" too). */
export function toJson(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${toJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A copy of a plain JSON value (own "__proto__" keys kept as data). */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** An object whose key may be "__proto__" or "constructor" as a plain own property. */
function withKey(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

function u64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}

/** A safetensors file from header JSON text and a data region (the length prefix is the text's, unless given). */
export function assemble(headerText: string, data: Uint8Array, length?: bigint): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  out.set(u64(length ?? BigInt(h.length)), 0);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A file from the base with its header (object) replaced; the data region as given or the base's. */
function withHeader(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  return assemble(toJson(header), data);
}

function withMetadata(base: Base, key: string, value: unknown): Uint8Array {
  const header = clone(base.header);
  const meta = header.__metadata__ as Record<string, unknown>;
  if (value === undefined) delete meta[key];
  else withKey(meta, key, value);
  return withHeader(header, base.data);
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

const deepArray = (n: number): Raw => new Raw('['.repeat(n) + ']'.repeat(n));
const deepObject = (n: number): Raw => new Raw('{"a":'.repeat(n) + '0' + '}'.repeat(n));

function hostileValue(rng: Random): unknown {
  const pick = rng.int(40);
  switch (pick) {
    case 0: return new Raw('1e999');
    case 1: return new Raw('-1e999');
    case 2: return '1';
    case 3: return '0';
    case 4: return '';
    case 5: return 'x'.repeat(100_000 + rng.int(100_000));
    case 6: return 'two\nlines\r\u2028and more';
    case 7: return '<script>alert(1)</script>';
    case 8: return 'require("child_process").execSync("touch /tmp/lstm-lens-pwned")';
    case 9: return -1;
    case 10: return 0;
    case 11: return 1;
    case 12: return 1.5;
    case 13: return -0.5;
    case 14: return 2 ** 31;
    case 15: return 2 ** 32;
    case 16: return 2 ** 53;
    case 17: return 2 ** 53 + 2;
    case 18: return 1e308;
    case 19: return -1e308;
    case 20: return 5e-324;
    case 21: return true;
    case 22: return false;
    case 23: return null;
    case 24: return [];
    case 25: return [1];
    case 26: return ['a', 'a'];
    case 27: return [null, {}];
    case 28: return {};
    case 29: return { length: 3 };
    case 30: return { 0: 'a', 1: 'b' };
    case 31: return deepArray(20_000 + rng.int(30_000));
    case 32: return deepObject(20_000 + rng.int(30_000));
    case 33: return new Raw('{"__proto__":{"polluted":1}}');
    case 34: return new Raw('{"constructor":{"prototype":{"polluted":1}}}');
    case 35: return new Raw(`[${'0,'.repeat(50_000)}0]`);
    case 36: return -(2 ** 53);
    case 37: return '__proto__';
    case 38: return 'NaN';
    default: return new Raw('{"a":1,"a":"twice"}');
  }
}

/** Every path (keys from the root) to a value inside a JSON value, down to `depth`. */
function paths(value: unknown, depth = 3, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (depth === 0 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    // Arrays can be long (the vocabulary, the losses): a few elements are enough.
    const picks = value.length <= 4 ? value.map((_, i) => i) : [0, 1, value.length - 1];
    for (const i of picks) out.push(...paths(value[i], depth - 1, [...prefix, i]));
  } else {
    for (const k of Object.keys(value)) out.push(...paths((value as Record<string, unknown>)[k], depth - 1, [...prefix, k]));
  }
  return out;
}

/** The JSON value with one hostile change: a value replaced, a key removed or added, the type changed. */
function mutateJson(root: unknown, rng: Random): { value: unknown; what: string } {
  const value = clone(root);
  const all = paths(value);
  const path = all[rng.int(all.length)];
  const where = path.length ? path.join('.') : '(root)';
  if (path.length === 0) {
    const v = hostileValue(rng);
    return { value: v, what: `root replaced by ${describe(v)}` };
  }
  let parent = value as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path[path.length - 1];
  const op = rng.int(6);
  if (op === 0 && !Array.isArray(parent)) {
    delete parent[key];
    return { value, what: `${where} removed` };
  }
  if (op === 1 && Array.isArray(parent)) {
    parent.splice(Number(key), 1);
    return { value, what: `${where} removed from its array` };
  }
  if (op === 2 && typeof parent[key] === 'number') {
    const n = parent[key] as number;
    const v = [String(n), -n - 1, n + 0.5, n * 1e300, new Raw('1e999'), -(2 ** 63)][rng.int(6)];
    parent[key] = v;
    return { value, what: `${where} = ${describe(v)} (was ${n})` };
  }
  if (op === 3 && !Array.isArray(parent)) {
    const k = ['__proto__', 'constructor', 'prototype', 'toString', 'extra'][rng.int(5)];
    withKey(parent as Record<string, unknown>, k, hostileValue(rng));
    return { value, what: `${path.slice(0, -1).join('.') || '(root)'}.${k} added` };
  }
  const v = hostileValue(rng);
  parent[key] = v;
  return { value, what: `${where} = ${describe(v)}` };
}

function describe(v: unknown): string {
  const s = v instanceof Raw ? v.text : (JSON.stringify(v) ?? String(v));
  return s.length > 40 ? `${s.slice(0, 37)}... (${s.length} chars)` : s;
}

// ---------------------------------------------------------------------------------------------
// Cases.

export interface FuzzCase {
  base: Base;
  kind: string;
  what: string;
  bytes: Uint8Array;
}

type Maker = (base: Base, rng: Random) => { what: string; bytes: Uint8Array };

/** Offsets where a cut is most likely to matter: the length prefix, the header's ends, every tensor's ends. */
export function interestingOffsets(base: Base): number[] {
  const at = new Set<number>();
  for (let i = 0; i <= 16; i++) at.add(i);
  const dataStart = 8 + base.headerLength;
  for (const d of [-2, -1, 0, 1, 2]) at.add(dataStart + d);
  for (const t of base.tensors) for (const d of [-1, 0, 1]) { at.add(dataStart + t.begin + d); at.add(dataStart + t.end + d); }
  at.add(base.bytes.length - 1);
  return [...at].filter((n) => n >= 0 && n < base.bytes.length).sort((a, b) => a - b);
}

const float32Bytes = (x: number): Uint8Array => new Uint8Array(new Float32Array([x]).buffer);

const MAKERS: Record<string, Maker> = {
  truncate: (base, rng) => {
    const n = rng.int(base.bytes.length);
    return { what: `cut at ${n} of ${base.bytes.length}`, bytes: base.bytes.slice(0, n) };
  },
  bitflip: (base, rng) => {
    const bytes = base.bytes.slice();
    const flips = 1 + rng.int(8);
    // Anywhere, or where it hurts most: the length prefix, the header, the data.
    const region = rng.int(4);
    const [lo, hi] = region === 0 ? [0, 8] : region === 1 ? [8, 8 + base.headerLength] : region === 2 ? [8 + base.headerLength, bytes.length] : [0, bytes.length];
    const at: string[] = [];
    for (let k = 0; k < flips; k++) {
      const i = lo + rng.int(hi - lo);
      const bit = rng.int(8);
      bytes[i] ^= 1 << bit;
      at.push(`${i}.${bit}`);
    }
    return { what: `bits flipped at ${at.join(' ')}`, bytes };
  },
  byteRun: (base, rng) => {
    const bytes = base.bytes.slice();
    const start = rng.int(bytes.length);
    const length = 1 + rng.int(64);
    const fill = rng.int(3); // random, 0x00, 0xff
    for (let i = start; i < Math.min(bytes.length, start + length); i++) bytes[i] = fill === 0 ? rng.int(256) : fill === 1 ? 0 : 0xff;
    return { what: `${length} ${['random', 'zero', '0xff'][fill]} bytes at ${start}`, bytes };
  },
  insertDelete: (base, rng) => {
    const at = rng.int(base.bytes.length);
    const n = 1 + rng.int(16);
    if (rng.int(2) === 0) {
      const run = Uint8Array.from({ length: n }, () => rng.int(256));
      const out = new Uint8Array(base.bytes.length + n);
      out.set(base.bytes.subarray(0, at));
      out.set(run, at);
      out.set(base.bytes.subarray(at), at + n);
      return { what: `${n} bytes inserted at ${at}`, bytes: out };
    }
    const out = new Uint8Array(base.bytes.length - Math.min(n, base.bytes.length - at));
    out.set(base.bytes.subarray(0, at));
    out.set(base.bytes.subarray(at + n), at);
    return { what: `${n} bytes deleted at ${at}`, bytes: out };
  },
  appendBytes: (base, rng) => {
    const n = 1 + rng.int(4096);
    const out = new Uint8Array(base.bytes.length + n);
    out.set(base.bytes);
    for (let i = base.bytes.length; i < out.length; i++) out[i] = rng.int(256);
    return { what: `${n} bytes appended`, bytes: out };
  },
  headerLength: (base, rng) => {
    const h = BigInt(base.headerLength);
    const values = [2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n, 2n ** 32n, 2n ** 32n + h, h + 1n, h - 1n, h + 8n, 0n, 1n, 7n, BigInt(base.bytes.length), BigInt(base.bytes.length - 8), 100n * 1024n * 1024n + 1n];
    const n = values[rng.int(values.length)];
    const bytes = base.bytes.slice();
    bytes.set(u64(n), 0);
    return { what: `header length ${n}`, bytes };
  },
  offsets: (base, rng) => {
    const header = clone(base.header);
    const t = base.tensors[rng.int(base.tensors.length)];
    const n = base.data.length;
    const { begin: b, end: e } = t;
    const options: unknown[] = [
      [b - 4, e - 4], [b + 4, e + 4], [b, e + 4], [b, e - 4], [e, b], [b, n + 4], [b, n + 2 ** 32], [0, e - b], [-4, e], [b + 0.5, e + 0.5],
      [String(b), e], [b], [b, e, e], null, 'x', [2 ** 53, 2 ** 53 + 4], [b, 2 ** 64], [new Raw('1e999'), e], [b, b], {},
    ];
    const v = rng.int(4) === 0 ? hostileValue(rng) : options[rng.int(options.length)];
    (header[t.name] as Record<string, unknown>).data_offsets = v;
    return { what: `${t.name}.data_offsets = ${describe(v)} (was [${b}, ${e}])`, bytes: withHeader(header, base.data) };
  },
  shapeInHeader: (base, rng) => {
    // The header's shape changes, the bytes do not: the same byte count (a dimension of 1 added or
    // removed, dimensions swapped or merged) passes safetensors and must fail the config's shape.
    const header = clone(base.header);
    const t = base.tensors[rng.int(base.tensors.length)];
    const s = t.shape;
    const count = s.reduce((a, x) => a * x, 1);
    const options: unknown[] = [[...s, 1], [1, ...s], [count], s.slice().reverse(), s.length > 1 ? [s[0] * s[1], ...s.slice(2)] : [count, 1], [s[0] + 1, ...s.slice(1)], [0, ...s.slice(1)], [], [count * 2], [2 ** 53, 2 ** 53], [2 ** 40, 2 ** 40, 0]];
    const v = rng.int(4) === 0 ? hostileValue(rng) : options[rng.int(options.length)];
    (header[t.name] as Record<string, unknown>).shape = v;
    return { what: `${t.name}.shape = ${describe(v)} (was ${JSON.stringify(s)})`, bytes: withHeader(header, base.data) };
  },
  shapeConsistent: (base, rng) => {
    // A tensor of another size, with a header that agrees with its bytes: only the config can tell.
    const t = base.tensors[rng.int(base.tensors.length)];
    const extra = [1, 4, -1][rng.int(3)];
    const dims = t.shape.slice();
    if (dims.length === 0 || dims[0] + extra < 0) return { what: 'no-op', bytes: base.bytes };
    dims[0] += extra;
    const rowBytes = 4 * dims.slice(1).reduce((a, x) => a * x, 1);
    const oldBytes = t.end - t.begin;
    const newBytes = dims[0] * rowBytes;
    const data = new Uint8Array(base.data.length - oldBytes + newBytes);
    data.set(base.data.subarray(0, t.begin));
    data.set(base.data.subarray(t.begin, t.begin + Math.min(oldBytes, newBytes)), t.begin);
    data.set(base.data.subarray(t.end), t.begin + newBytes);
    const header = clone(base.header);
    const shift = newBytes - oldBytes;
    for (const u of base.tensors) {
      const entry = header[u.name] as Record<string, unknown>;
      if (u.name === t.name) entry.data_offsets = [u.begin, u.begin + newBytes], entry.shape = dims;
      else if (u.begin >= t.end) entry.data_offsets = [u.begin + shift, u.end + shift];
    }
    return { what: `${t.name} re-shaped to ${JSON.stringify(dims)} with matching bytes`, bytes: withHeader(header, data) };
  },
  dtype: (base, rng) => {
    const header = clone(base.header);
    const t = base.tensors[rng.int(base.tensors.length)];
    const options: unknown[] = ['F16', 'I32', 'BF16', 'F64', 'U8', 'f32', 'F32 ', '', null, 32, ['F32'], undefined];
    const v = options[rng.int(options.length)];
    const entry = header[t.name] as Record<string, unknown>;
    if (v === undefined) delete entry.dtype;
    else entry.dtype = v;
    return { what: `${t.name}.dtype = ${describe(v)}`, bytes: withHeader(header, base.data) };
  },
  nonFinite: (base, rng) => {
    const bytes = base.bytes.slice();
    const t = base.tensors[rng.int(base.tensors.length)];
    if (t.end === t.begin) return { what: 'no-op', bytes };
    const index = rng.int((t.end - t.begin) / 4);
    const v = [NaN, Infinity, -Infinity][rng.int(3)];
    bytes.set(float32Bytes(v), 8 + base.headerLength + t.begin + 4 * index);
    // Sometimes a NaN with a payload, or a signalling one.
    if (Number.isNaN(v) && rng.int(2) === 0) bytes.set([0x01, 0x00, 0x80, 0xff], 8 + base.headerLength + t.begin + 4 * index);
    return { what: `${t.name}[${index}] = ${v}`, bytes };
  },
  extremeFinite: (base, rng) => {
    // Finite but extreme: the largest float, the smallest subnormal, -0. A checkpoint may hold them.
    const bytes = base.bytes.slice();
    const t = base.tensors[rng.int(base.tensors.length)];
    const index = rng.int((t.end - t.begin) / 4);
    const v = [3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0][rng.int(4)];
    bytes.set(float32Bytes(v), 8 + base.headerLength + t.begin + 4 * index);
    return { what: `${t.name}[${index}] = ${v}`, bytes };
  },
  config: (base, rng) => {
    const config = JSON.parse(base.metadata.config) as unknown;
    const { value, what } = mutateJson(config, rng);
    return { what: `config: ${what}`, bytes: withMetadata(base, 'config', toJson(value)) };
  },
  vocab: (base, rng) => {
    const vocab = JSON.parse(base.metadata.vocab) as { kind: string; tokens: unknown[] };
    const op = rng.int(12);
    const tokens = vocab.tokens.slice();
    let what: string;
    let value: unknown = vocab;
    switch (op) {
      case 0: tokens.push(tokens[0]); what = 'a duplicate token'; break;
      case 1: tokens[rng.int(tokens.length)] = [1, null, true, {}, [], 1.5][rng.int(6)]; what = 'a token that is not a string'; break;
      case 2: tokens.pop(); what = 'one token fewer'; break;
      case 3: tokens.push('zz-new'); what = 'one token more'; break;
      case 4: tokens[rng.int(tokens.length)] = ''; what = 'an empty token'; break;
      case 5: tokens[rng.int(tokens.length)] = vocab.kind === 'char' ? 'ab' : 'two words'; what = vocab.kind === 'char' ? 'a two-character char token' : 'a word token with a space'; break;
      case 6: value = { ...vocab, kind: ['byte', 'CHAR', null, 1][rng.int(4)] }; what = 'a wrong kind'; break;
      case 7: value = { ...vocab, kind: vocab.kind === 'char' ? 'word' : 'char' }; what = 'the other kind'; break;
      case 8: value = { ...vocab, tokens: Object.fromEntries(tokens.map((t, i) => [i, t])) }; what = 'tokens as an object'; break;
      case 9: tokens.reverse(); what = 'tokens reversed (a different but valid vocabulary)'; break;
      case 10: tokens[rng.int(tokens.length)] = '<unk>'; what = '<unk> in place of a token'; break;
      default: {
        const m = mutateJson(vocab, rng);
        value = m.value;
        what = m.what;
      }
    }
    if (op <= 5 || op === 9 || op === 10) value = { ...vocab, tokens };
    return { what: `vocab: ${what}`, bytes: withMetadata(base, 'vocab', toJson(value)) };
  },
  training: (base, rng) => {
    const training = JSON.parse(base.metadata.training) as Record<string, unknown>;
    const op = rng.int(10);
    let value: Record<string, unknown> | unknown = training;
    let what: string;
    switch (op) {
      case 0: value = { ...training, step: -1 - rng.int(5) }; what = 'a negative step'; break;
      case 1: value = { ...training, rng: [0, 0, 0, 0] }; what = 'an all-zero random state'; break;
      case 2: value = { ...training, rng: (training.rng as number[]).slice(0, 3) }; what = 'a random state of 3 words'; break;
      case 3: value = { ...training, rng: [2 ** 32, 1, 2, 3] }; what = 'a random state word of 2^32'; break;
      case 4: value = { ...training, carry: [{ h: 'AAAA', c: 'AAAA' }, { h: '!!!!', c: '' }, { h: 1, c: 2 }, 'carry'][rng.int(4)] }; what = 'a malformed carried state'; break;
      case 5: {
        const batcher = [{ kind: 'streams' }, { kind: 'streams', position: -4, started: true }, { kind: 'windows' }, { kind: 'streams', position: 1.5, started: 'yes' }, { kind: 'streams', position: 1e9, started: true }, null, 'streams'][rng.int(7)];
        value = { ...training, batcher };
        what = `batcher = ${describe(batcher)}`;
        break;
      }
      case 6: value = { ...training, source: [{ name: 7, chars: 'x', hash: 'h' }, { hash: 1 }, 'fable.txt', [], { name: 'a', chars: -1, hash: 'h' }][rng.int(5)] }; what = 'a malformed source'; break;
      case 7: {
        const history = training.history as Record<string, unknown[]> & { width: number };
        const { history: _h, ...older } = training;
        const steps = training.step as number;
        const variants: Array<[string, unknown]> = [
          ['older malformed losses', { ...older, losses: [{ 0: 1 }, [1, '2', null], [new Raw('1e999')], 'losses'][rng.int(4)] }],
          ['older losses, one a step (converted)', { ...older, losses: Array.from({ length: steps }, (_, k) => 4 - k / 100) }],
          ['older losses, more than the steps', { ...older, losses: Array.from({ length: steps + 7 }, () => 1) }],
          ['history of width 3', { ...training, history: { ...history, width: 3 } }],
          ['history steps not increasing', { ...training, history: { ...history, steps: [...history.steps].reverse() } }],
          ['history of 1001 points', { ...training, history: { ...history, steps: Array.from({ length: 1001 }, (_, k) => k + 1), loss: new Array(1001).fill(1), grad_norm: new Array(1001).fill(1), lr: new Array(1001).fill(1) } }],
          ['history loss 1e999', { ...training, history: { ...history, loss: history.loss.map(() => new Raw('1e999')) } }],
          ['history grad_norm strings', { ...training, history: { ...history, grad_norm: history.grad_norm.map(() => '1') } }],
          ['history ending before the step', { ...training, step: steps + 1 }],
          ['history columns of unequal length', { ...training, history: { ...history, lr: history.lr.slice(1) } }],
          ['history a list', { ...training, history: [] }],
          ['history width 2^60', { ...training, history: { ...history, width: 2 ** 60 } }],
        ];
        [what, value] = variants[rng.int(variants.length)];
        break;
      }
      case 8: value = { ...training, step: 2 ** 53 + 2, optimizer_step: 1e300 }; what = 'steps beyond 2^53'; break;
      default: {
        const m = mutateJson(training, rng);
        value = m.value;
        what = m.what;
      }
    }
    return { what: `training: ${what}`, bytes: withMetadata(base, 'training', toJson(value)) };
  },
  metadata: (base, rng) => {
    const op = rng.int(9);
    switch (op) {
      case 0: {
        const header = clone(base.header);
        header.__metadata__ = hostileValue(rng);
        return { what: `__metadata__ = ${describe(header.__metadata__)}`, bytes: withHeader(header, base.data) };
      }
      case 1: {
        const key = ['format', 'config', 'vocab', 'training'][rng.int(4)];
        return { what: `metadata ${key} missing`, bytes: withMetadata(base, key, undefined) };
      }
      case 2: {
        const key = ['format', 'config', 'vocab', 'training'][rng.int(4)];
        const v = rng.int(2) === 0 ? JSON.parse(base.metadata[key] === 'lstm-lens/1' ? '"lstm-lens/1"' : base.metadata[key]) : hostileValue(rng);
        return { what: `metadata ${key} not a string: ${describe(v)}`, bytes: withMetadata(base, key, v) };
      }
      case 3: {
        const v = ['lstm-lens/2', 'lstm-lens/1 ', '', 'pt', 'lstm-lens/1\nforged line', 'x'.repeat(50_000), '\u2028'][rng.int(7)];
        return { what: `format = ${describe(v)}`, bytes: withMetadata(base, 'format', v) };
      }
      case 4: {
        const key = ['config', 'vocab', 'training'][rng.int(3)];
        const v = ['', 'null', '[]', '"text"', '{', 'NaN', '1e999', '{"a":1}x', '(function(){globalThis.pwned=1})()'][rng.int(9)];
        return { what: `metadata ${key} = ${describe(v)}`, bytes: withMetadata(base, key, v) };
      }
      case 5: {
        // Data only: JavaScript in the metadata is a string and nothing more.
        return { what: 'extra metadata holding JavaScript', bytes: withMetadata(base, 'exploit', '(() => { globalThis.pwned = 1; return require("fs"); })()') };
      }
      case 6: {
        const key = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty'][rng.int(4)];
        const v = rng.int(2) === 0 ? '{"polluted":1}' : new Raw('{"polluted":1}');
        return { what: `metadata key ${key}`, bytes: withMetadata(base, key, v) };
      }
      case 7: {
        // The same key twice in the header text: JSON.parse keeps the last.
        const text = toJson(base.header).replace(/^\{/, `{"__metadata__":${toJson({ ...base.metadata, format: 'other' })},`);
        return { what: '__metadata__ twice, the last one valid', bytes: assemble(text, base.data) };
      }
      default: {
        const key = ['config', 'vocab', 'training'][rng.int(3)];
        const v = rng.int(2) === 0 ? JSON.stringify(deepArray(30_000).text) : deepObject(30_000).text;
        return { what: `metadata ${key} nested 30000 deep`, bytes: withMetadata(base, key, v) };
      }
    }
  },
  tensorEntries: (base, rng) => {
    const op = rng.int(6);
    const header = clone(base.header);
    if (op <= 2) {
      // An extra tensor of 4 bytes at the end of the data, under a name that should not be there.
      const names = ['x\ny', '__proto__', 'constructor', 'optimizer.m.head.weight', 'optimizer.z.head.weight', 'head.weight.extra', '', 'ü🐈', '../../etc/passwd', 'toString'];
      const name = names[rng.int(names.length)];
      withKey(header, name, { dtype: 'F32', shape: [1], data_offsets: [base.data.length, base.data.length + 4] });
      const data = new Uint8Array(base.data.length + 4);
      data.set(base.data);
      return { what: `extra tensor ${JSON.stringify(name)}`, bytes: withHeader(header, data) };
    }
    if (op === 3) {
      // A tensor entry and its bytes removed (the others moved down): whole as safetensors, missing a parameter.
      const t = base.tensors[rng.int(base.tensors.length)];
      const size = t.end - t.begin;
      delete header[t.name];
      for (const u of base.tensors) {
        if (u.begin >= t.end) (header[u.name] as Record<string, unknown>).data_offsets = [u.begin - size, u.end - size];
      }
      const data = new Uint8Array(base.data.length - size);
      data.set(base.data.subarray(0, t.begin));
      data.set(base.data.subarray(t.end), t.begin);
      return { what: `tensor ${t.name} removed`, bytes: withHeader(header, data) };
    }
    if (op === 4) {
      // Two tensors swap names: whole, but each has the other's shape (or the same, then values swap).
      const a = base.tensors[rng.int(base.tensors.length)];
      const b = base.tensors[rng.int(base.tensors.length)];
      const ea = header[a.name];
      header[a.name] = header[b.name];
      header[b.name] = ea;
      return { what: `tensors ${a.name} and ${b.name} swap entries`, bytes: withHeader(header, base.data) };
    }
    // A tensor entry that is not an object.
    const t = base.tensors[rng.int(base.tensors.length)];
    header[t.name] = hostileValue(rng);
    return { what: `tensor ${t.name} entry = ${describe(header[t.name])}`, bytes: withHeader(header, base.data) };
  },
  headerText: (base, rng) => {
    // The header's text itself: padding that is not white space, a byte-order mark, a pickle or zip
    // signature in front, trailing garbage, a different encoding.
    const op = rng.int(7);
    const text = new TextDecoder().decode(base.bytes.subarray(8, 8 + base.headerLength));
    switch (op) {
      case 0: return { what: 'header padded with NUL', bytes: assemble(text.trimEnd() + '\0\0\0', base.data) };
      case 1: return { what: 'header after a byte-order mark', bytes: assemble('\ufeff' + text, base.data) };
      case 2: {
        const pickle = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01]); // a pickle protocol 2 stream
        const bytes = base.bytes.slice();
        bytes.set(pickle, 0);
        return { what: 'a pickle header over the length', bytes };
      }
      case 3: {
        const bytes = base.bytes.slice();
        bytes.set([0x50, 0x4b, 0x03, 0x04], 0); // a zip (torch.save) signature
        return { what: 'a zip signature over the length', bytes };
      }
      case 4: return { what: 'trailing garbage in the header', bytes: assemble(text.trimEnd() + ' x', base.data) };
      case 5: {
        // Latin-1 bytes (invalid UTF-8) in a string of the header.
        const h = new TextEncoder().encode(text);
        const i = h.indexOf(0x22); // the first quote
        const bytes = new Uint8Array(8 + h.length + 2 + base.data.length);
        bytes.set(u64(BigInt(h.length + 2)), 0);
        bytes.set(h.subarray(0, i + 1), 8);
        bytes.set([0xff, 0xfe], 8 + i + 1);
        bytes.set(h.subarray(i + 1), 8 + i + 3);
        bytes.set(base.data, 8 + h.length + 2);
        return { what: 'invalid UTF-8 in the header', bytes };
      }
      default: return { what: 'the header replaced by a JSON array', bytes: assemble('[' + text + ']', base.data) };
    }
  },
};

/** Kinds and their weights in the random part of a run. */
const KINDS: Array<[string, number]> = [
  ['truncate', 6], ['bitflip', 14], ['byteRun', 8], ['insertDelete', 5], ['appendBytes', 2], ['headerLength', 4],
  ['offsets', 6], ['shapeInHeader', 6], ['shapeConsistent', 5], ['dtype', 4], ['nonFinite', 6], ['extremeFinite', 3],
  ['config', 9], ['vocab', 8], ['training', 9], ['metadata', 7], ['tensorEntries', 6], ['headerText', 3],
];
const TOTAL_WEIGHT = KINDS.reduce((a, [, w]) => a + w, 0);

/** The seed of case `index` of a run seeded `seed`: each case reproduces alone. */
export function caseSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/**
 * Case `index` of a run: the first cases sweep every interesting truncation offset of every base
 * and every absurd header length; the rest are random, by the weights above.
 */
export function makeCase(bases: Base[], seed: number, index: number): FuzzCase {
  const sweep: Array<{ base: Base; offset: number }> = bases.flatMap((base) => interestingOffsets(base).map((offset) => ({ base, offset })));
  if (index < sweep.length) {
    const { base, offset } = sweep[index];
    return { base, kind: 'truncate', what: `cut at ${offset} of ${base.bytes.length} (sweep)`, bytes: base.bytes.slice(0, offset) };
  }
  const rng = new Random(caseSeed(seed, index));
  const base = bases[rng.int(bases.length)];
  let r = rng.int(TOTAL_WEIGHT);
  let kind = KINDS[0][0];
  for (const [k, w] of KINDS) {
    if (r < w) {
      kind = k;
      break;
    }
    r -= w;
  }
  const { what, bytes } = MAKERS[kind](base, rng);
  return { base, kind, what, bytes };
}

// ---------------------------------------------------------------------------------------------
// The property.

export type Outcome =
  | { kind: 'accepted'; ms: number }
  | { kind: 'refused'; ms: number; error: string; message: string }
  | { kind: 'violation'; ms: number; why: string };

export const DECODE_LIMIT_MS = 1000;
export const MESSAGE_LIMIT = 500;

/** Whether a checkpoint is whole and consistent, or why not. Checked by hand, then by using it. */
export function inconsistency(ckpt: Checkpoint, base: Base): string | null {
  const specs = parameterSpecs(ckpt.config);
  if (ckpt.params.size !== specs.length) return `${ckpt.params.size} parameters for ${specs.length} in the config`;
  const slots = ckpt.settings.optimizer === 'adam' ? ['m', 'v'] : [];
  if ([...ckpt.optimizer.slots.keys()].join() !== slots.join()) return `optimizer slots [${[...ckpt.optimizer.slots.keys()]}] for ${ckpt.settings.optimizer}`;
  const tensors: Array<[string, Float32Array | undefined]> = [];
  for (const spec of specs) {
    tensors.push([spec.name, ckpt.params.get(spec.name)]);
    for (const slot of slots) tensors.push([`optimizer.${slot}.${spec.name}`, ckpt.optimizer.slots.get(slot)?.get(spec.name)]);
    for (const [name, data] of tensors.splice(0)) {
      if (!(data instanceof Float32Array)) return `${name} is missing`;
      if (data.length !== spec.size) return `${name} holds ${data.length} values for shape [${spec.shape}]`;
      for (let k = 0; k < data.length; k++) if (!Number.isFinite(data[k])) return `${name}[${k}] is ${data[k]}`;
    }
  }
  if (ckpt.vocab.tokens.length !== ckpt.config.vocab_size) return `${ckpt.vocab.tokens.length} tokens for vocab_size ${ckpt.config.vocab_size}`;
  if (!Number.isSafeInteger(ckpt.training.step) || ckpt.training.step < 0) return `training.step ${ckpt.training.step}`;
  if (!Number.isSafeInteger(ckpt.optimizer.step) || ckpt.optimizer.step < 0) return `optimizer.step ${ckpt.optimizer.step}`;
  if (ckpt.training.source !== null && (typeof ckpt.training.source.name !== 'string' || typeof ckpt.training.source.hash !== 'string')) return 'training.source is malformed';
  const v = ckpt.optimizer.slots.get('v');
  if (v) for (const [name, data] of v) if (!data.every((x) => x >= 0)) return `optimizer.v.${name} holds a negative value`;
  // Using it: the vocabulary makes a tokenizer, the weights a model, and the run resumes on its text.
  try {
    Tokenizer.fromVocabulary(ckpt.vocab);
    modelFromCheckpoint(ckpt);
  } catch (e) {
    return `accepted, then unusable: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  try {
    const trainer = Trainer.resume({ ...ckpt, settings: { ...ckpt.settings, steps: ckpt.training.step + 1 } }, base.text, 'fable.txt');
    trainer.trainStep();
  } catch (e) {
    // Only what depends on the text it resumes on may refuse it (the stream position must fit the
    // text, which the checkpoint cannot know: the engine's ShorterTextError; a sequence longer than
    // the text; a stream position past its end), and extreme but finite weights may diverge: the
    // engine says so. Anything else is a checkpoint that loaded but was not whole.
    const textDependent = e instanceof ShorterTextError || (e instanceof InputError && /too short for one sequence|stream length/.test(e.message));
    if (!textDependent && !(e instanceof DivergenceError)) {
      return `accepted, then resuming failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    }
  }
  return null;
}

export function runCase(c: FuzzCase): Outcome {
  const started = performance.now();
  let result: Checkpoint;
  try {
    result = decodeCheckpoint(c.bytes);
  } catch (e) {
    const ms = performance.now() - started;
    if (!(e instanceof InputError)) return { kind: 'violation', ms, why: `threw ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e)}` };
    if (ms > DECODE_LIMIT_MS) return { kind: 'violation', ms, why: `refusing took ${ms.toFixed(0)} ms` };
    if (/[\n\r\u2028\u2029]/.test(e.message)) return { kind: 'violation', ms, why: `the message has a line break: ${JSON.stringify(e.message.slice(0, 200))}` };
    if (e.message.length > MESSAGE_LIMIT) return { kind: 'violation', ms, why: `the message is ${e.message.length} characters: ${JSON.stringify(e.message.slice(0, 120))}...` };
    return { kind: 'refused', ms, error: e.name, message: e.message };
  }
  const ms = performance.now() - started;
  if (ms > DECODE_LIMIT_MS) return { kind: 'violation', ms, why: `decoding took ${ms.toFixed(0)} ms` };
  const problem = inconsistency(result, c.base);
  if (problem) return { kind: 'violation', ms, why: problem };
  return { kind: 'accepted', ms };
}

/** What a run leaves behind that it must not: a polluted prototype, a global set by "code" in a file. */
export function pollution(): string | null {
  const proto = Object.prototype as Record<string, unknown>;
  if ('polluted' in proto || 'polluted' in ({} as Record<string, unknown>)) return 'Object.prototype.polluted is set';
  if ((globalThis as Record<string, unknown>).pwned !== undefined) return 'globalThis.pwned is set';
  return null;
}

export interface RunReport {
  cases: number;
  accepted: number;
  refused: number;
  violations: Array<{ index: number; kind: string; base: string; what: string; why: string }>;
  byKind: Map<string, { accepted: number; refused: number; violation: number }>;
  /** The most frequent refusal messages, with numbers blanked. */
  messages: Map<string, number>;
  slowestMs: number;
  slowest: string;
  seconds: number;
}

export function runFuzz(options: { cases: number; seed: number; only?: number; onProgress?: (done: number) => void }): RunReport {
  const bases = makeBases();
  const report: RunReport = { cases: 0, accepted: 0, refused: 0, violations: [], byKind: new Map(), messages: new Map(), slowestMs: 0, slowest: '', seconds: 0 };
  const started = performance.now();
  const indices = options.only !== undefined ? [options.only] : Array.from({ length: options.cases }, (_, i) => i);
  for (const index of indices) {
    const c = makeCase(bases, options.seed, index);
    const outcome = runCase(c);
    const polluted = pollution();
    const final: Outcome = polluted ? { kind: 'violation', ms: outcome.ms, why: polluted } : outcome;
    report.cases++;
    if (final.ms > report.slowestMs) {
      report.slowestMs = final.ms;
      report.slowest = `case ${index} (${c.kind}: ${c.what})`;
    }
    const counts = report.byKind.get(c.kind) ?? { accepted: 0, refused: 0, violation: 0 };
    report.byKind.set(c.kind, counts);
    if (final.kind === 'accepted') {
      report.accepted++;
      counts.accepted++;
    } else if (final.kind === 'refused') {
      report.refused++;
      counts.refused++;
      const key = final.message.replace(/\d+/g, 'N').slice(0, 90);
      report.messages.set(key, (report.messages.get(key) ?? 0) + 1);
    } else {
      counts.violation++;
      report.violations.push({ index, kind: c.kind, base: c.base.name, what: c.what, why: final.why });
    }
    if (options.onProgress && report.cases % 10_000 === 0) options.onProgress(report.cases);
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

export function formatReport(report: RunReport, seed: number): string {
  const lines: string[] = [];
  lines.push(`checkpoint fuzz: ${report.cases} cases, seed ${seed}, ${report.seconds.toFixed(1)} s (slowest decode ${report.slowestMs.toFixed(1)} ms, ${report.slowest})`);
  lines.push(`  accepted (whole and consistent): ${report.accepted}`);
  lines.push(`  refused (InputError / CheckpointError, one line): ${report.refused}`);
  lines.push(`  violations: ${report.violations.length}`);
  lines.push('');
  lines.push(`  ${'kind'.padEnd(16)} ${'accepted'.padStart(9)} ${'refused'.padStart(9)} ${'violation'.padStart(9)}`);
  for (const [kind, c] of [...report.byKind].sort((a, b) => a[0].localeCompare(b[0]))) {
    lines.push(`  ${kind.padEnd(16)} ${String(c.accepted).padStart(9)} ${String(c.refused).padStart(9)} ${String(c.violation).padStart(9)}`);
  }
  lines.push('');
  lines.push('  most frequent refusals:');
  for (const [m, n] of [...report.messages].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`    ${String(n).padStart(7)}  ${m}`);
  const why = new Map<string, { n: number; first: RunReport['violations'][number] }>();
  for (const v of report.violations) {
    const key = `${v.kind}: ${v.why.replace(/\d+/g, 'N').replace(/"[^"]*"/g, '"…"').slice(0, 100)}`;
    const seen = why.get(key);
    if (seen) seen.n++;
    else why.set(key, { n: 1, first: v });
  }
  if (why.size > 0) lines.push('', '  violations by kind of failure (one example each):');
  for (const [key, { n, first }] of why) lines.push(`    ${String(n).padStart(7)}  ${key}   e.g. case ${first.index}: ${first.what}`);
  for (const v of report.violations.slice(0, 5)) {
    lines.push(`  VIOLATION case ${v.index} (${v.kind}, ${v.base}): ${v.what}: ${v.why}`);
    lines.push(`    reproduce: npx tsx test/scripts/fuzz-checkpoint.ts --seed ${seed} --case ${v.index}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { cases: { type: 'string', default: '200000' }, seed: { type: 'string', default: '1' }, case: { type: 'string' } },
  });
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  const only = values.case === undefined ? undefined : Number(values.case);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed) || (only !== undefined && !(Number.isInteger(only) && only >= 0))) {
    process.stderr.write('usage: fuzz-checkpoint.ts [--cases N] [--seed S] [--case K]\n');
    process.exit(2);
  }
  if (only !== undefined) {
    const bases = makeBases();
    const c = makeCase(bases, seed, only);
    process.stdout.write(`case ${only} (${c.kind}, ${c.base.name}): ${c.what}, ${c.bytes.length} bytes\n`);
    process.stdout.write(`${JSON.stringify(runCase(c))}\n`);
  } else {
    const report = runFuzz({ cases, seed, onProgress: (n) => process.stderr.write(`  ${n} cases...\n`) });
    process.stdout.write(`${formatReport(report, seed)}\n`);
    process.exitCode = report.violations.length > 0 ? 1 : 0;
  }
}
