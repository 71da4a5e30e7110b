// The checkpoint reader under fuzz: thousands of checkpoints broken on purpose (truncated, bit
// flipped, overwritten, with absurd header lengths, overlapping offsets, shapes that disagree with
// the config, other dtypes, NaN and Inf, metadata of the wrong types, hostile keys) are each either
// read whole and consistent or refused with one line: never another exception, never a slow
// decode, never a half-loaded model. The generator is test/scripts/fuzz-checkpoint.ts (which runs
// it for many more cases); FUZZ_SEED=S picks another seed, and a failure names its seed and case.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/engine/checkpoint';
import { InputError } from '../../../src/engine/config';
import { CheckpointError } from '../../../src/engine/safetensors';
import {
  assemble,
  formatReport,
  interestingOffsets,
  makeBases,
  pollution,
  runCase,
  runFuzz,
  splitFile,
  toJson,
  type Base,
} from '../../scripts/fuzz-checkpoint';

const SEED = Number(process.env.FUZZ_SEED ?? 1);
const CASES = 4000;
const bases = makeBases();

/** The base's file with its header changed by `edit` (a copy: bases stay as written). */
function edited(base: Base, edit: (header: Record<string, unknown>, meta: Record<string, unknown>) => void, data = base.data): Uint8Array {
  const { header } = splitFile(base.bytes);
  edit(header, header.__metadata__ as Record<string, unknown>);
  return assemble(toJson(header), data);
}

/** The base with metadata `key` (JSON) edited; a value "__DEEP__" becomes an array nested 50,000 deep. */
function editJson(base: Base, key: 'config' | 'vocab' | 'training', edit: (value: Record<string, unknown>) => void): Uint8Array {
  return edited(base, (_, meta) => {
    const value = JSON.parse(meta[key] as string) as Record<string, unknown>;
    edit(value);
    meta[key] = JSON.stringify(value).replace('"__DEEP__"', '['.repeat(50_000) + ']'.repeat(50_000));
  });
}

/** Refused as bad input, in one line of reasonable length, matching `pattern`. */
function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeCheckpoint(bytes), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e)}`);
    assert.ok(e instanceof InputError);
    assert.match(e.message, pattern);
    assert.ok(!/[\n\r\u2028\u2029]/.test(e.message), `one line: ${JSON.stringify(e.message.slice(0, 200))}`);
    assert.ok(e.message.length <= 500, `a short message, not ${e.message.length} characters`);
    return true;
  });
}

describe('checkpoint reader fuzz', () => {
  it('starts from real checkpoints: char and word, Adam and SGD, one-hot and embedding, bidirectional many-to-one', () => {
    assert.equal(bases.length, 4);
    for (const base of bases) {
      const ckpt = decodeCheckpoint(base.bytes);
      assert.equal(ckpt.training.step, 2, base.name);
      assert.deepEqual(decodeCheckpoint(encodeCheckpoint(ckpt)), ckpt, `${base.name}: read, written and read again`);
    }
    const kinds = bases.map((b) => decodeCheckpoint(b.bytes)).map((c) => `${c.settings.tokens} ${c.settings.optimizer} ${c.config.embedding_size === null ? 'one-hot' : 'embedding'} ${c.config.bidirectional ? 'bidirectional' : ''} ${c.config.mode}`);
    assert.ok(kinds.some((k) => /^char adam/.test(k)) && kinds.some((k) => /^word sgd embedding bidirectional many_to_one/.test(k)), kinds.join('; '));
  });

  it(`${CASES} broken checkpoints: each is read whole and consistent, or refused in one line (seed ${SEED})`, () => {
    const report = runFuzz({ cases: CASES, seed: SEED });
    const summary = formatReport(report, SEED);
    if (report.violations.length > 0 || process.env.FUZZ_VERBOSE) console.log(summary);
    assert.deepEqual(report.violations.map((v) => `case ${v.index} (${v.kind}, ${v.base}): ${v.what}: ${v.why}`), [], `seed ${SEED}; reproduce one case with: npx tsx test/scripts/fuzz-checkpoint.ts --seed ${SEED} --case K`);
    assert.equal(report.cases, CASES);
    // The generator reaches both outcomes and every kind of damage (else it tests nothing).
    assert.ok(report.accepted > CASES / 20 && report.refused > CASES / 2, `accepted ${report.accepted}, refused ${report.refused}`);
    for (const kind of ['truncate', 'bitflip', 'byteRun', 'insertDelete', 'headerLength', 'offsets', 'shapeInHeader', 'shapeConsistent', 'dtype', 'nonFinite', 'config', 'vocab', 'training', 'metadata', 'tensorEntries', 'headerText']) {
      const counts = report.byKind.get(kind);
      assert.ok(counts && counts.refused > 0, `the ${kind} cases ran and some were refused`);
    }
    assert.ok((report.byKind.get('truncate')?.refused ?? 0) >= bases.reduce((n, b) => n + interestingOffsets(b).length, 0), 'every interesting truncation offset of every base');
    assert.ok(report.slowestMs < 1000, `slowest decode ${report.slowestMs.toFixed(0)} ms`);
  });

  it('a truncated checkpoint is refused at every offset, never read in part', () => {
    const base = bases[0];
    for (let n = 0; n < base.bytes.length; n += 7) {
      const outcome = runCase({ base, kind: 'truncate', what: `cut at ${n}`, bytes: base.bytes.slice(0, n) });
      assert.equal(outcome.kind, 'refused', `cut at ${n}: ${JSON.stringify(outcome)}`);
    }
  });

  it('absurd header lengths are refused before anything is allocated', () => {
    const base = bases[1];
    for (const n of [2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n, 2n ** 32n, BigInt(base.bytes.length)]) {
      const bytes = base.bytes.slice();
      new DataView(bytes.buffer).setBigUint64(0, n, true);
      refused(bytes, new RegExp(`header length ${n} exceeds the file`));
    }
  });

  it('overlapping offsets, offsets past the end, shapes that disagree with the config, other dtypes', () => {
    const base = bases[0];
    const t = base.tensors[3];
    refused(edited(base, (h) => { (h[t.name] as Record<string, unknown>).data_offsets = [t.begin - 4, t.end - 4]; }), /overlap|belong to no tensor/);
    refused(edited(base, (h) => { (h[t.name] as Record<string, unknown>).data_offsets = [t.begin, base.data.length + 4]; }), /inside the data region/);
    // The same bytes under another shape: whole as safetensors, wrong for the config.
    refused(edited(base, (h) => { (h[t.name] as Record<string, unknown>).shape = [...t.shape, 1]; }), new RegExp(`tensor ${t.name.replace(/\./g, '\\.')} has shape .* the config needs`));
    for (const dtype of ['F16', 'I32', 'BF16']) refused(edited(base, (h) => { (h[t.name] as Record<string, unknown>).dtype = dtype; }), new RegExp(`dtype ${dtype} is not supported`));
  });

  it('NaN and ±Inf weights or moments are refused; so is a negative second moment of Adam', () => {
    const base = bases[0]; // Adam
    for (const [name, value, pattern] of [['head.bias', NaN, /non-finite value \(NaN\)/], ['lstm.weight_hh_l0', Infinity, /non-finite/], ['optimizer.m.head.weight', -Infinity, /non-finite/], ['optimizer.v.head.bias', -1, /negative value/]] as const) {
      const t = base.tensors.find((x) => x.name === name);
      assert.ok(t);
      const bytes = base.bytes.slice();
      new DataView(bytes.buffer).setFloat32(8 + base.headerLength + t.begin, value, true);
      refused(bytes, pattern);
    }
  });

  it('metadata that is valid JSON with the wrong types: refused, each with a line that says what', () => {
    const adam = bases[0];
    const word = bases[1];
    refused(editJson(adam, 'config', (c) => { c.hidden_size = '3'; }), /config\.hidden_size must be an integer/);
    refused(editJson(adam, 'config', (c) => { c.steps = -2; }), /setting steps/);
    refused(editJson(adam, 'config', (c) => { c.batch_size = 2 ** 53; }), /setting batch_size/); // once a RangeError when the run resumed
    refused(editJson(adam, 'config', (c) => { c.mode = 'x'.repeat(100_000); }), /config\.mode/); // once a message of 100,000 characters
    refused(editJson(adam, 'config', (c) => { c.vocab_size = '__DEEP__'; }), /config/);
    refused(editJson(adam, 'config', (c) => { delete c.vocab_size; }), /vocab_size/);
    refused(editJson(adam, 'training', (t) => { t.step = -1; }), /training\.step/);
    refused(editJson(adam, 'training', (t) => { t.step = 2 ** 53 + 2; }), /training\.step/);
    refused(editJson(adam, 'training', (t) => { t.rng = [0, 0, 0, 0]; }), /training\.rng/);
    refused(editJson(adam, 'training', (t) => { t.carry = { h: 'AAAA', c: 'AAAA' }; }), /training\.carry\.h holds [\d.]+ values, expected \d+/);
    refused(editJson(adam, 'training', (t) => { t.batcher = { kind: 'windows' }; }), /training\.batcher/);
    refused(editJson(adam, 'training', (t) => { t.source = { name: 7, chars: 'x', hash: 'h' }; }), /training\.source/);
    refused(editJson(word, 'vocab', (v) => { (v.tokens as unknown[]).push((v.tokens as unknown[])[0]); }), /duplicates|vocabulary has/);
    refused(editJson(word, 'vocab', (v) => { (v.tokens as unknown[])[0] = 5; }), /list of strings/);
    refused(editJson(word, 'vocab', (v) => { (v.tokens as unknown[]).pop(); }), /the vocabulary has \d+ tokens but config\.vocab_size is \d+/);
    refused(editJson(word, 'vocab', (v) => { (v.tokens as string[])[0] = 'two words'; }), /contains white space/); // once accepted, then unusable
    refused(editJson(adam, 'vocab', (v) => { (v.tokens as string[])[0] = 'ab'; }), /single character/);
    refused(editJson(bases[3], 'config', (c) => { c.max_vocab = 3; }), /more than max_vocab 3/);
    refused(edited(adam, (_, m) => { m.format = 'lstm-lens/1\nforged: line'; }), /unsupported checkpoint format "lstm-lens\/1\\nforged/); // once two lines
    refused(edited(adam, (_, m) => { m.config = 5; }), /metadata "config" is not a string/);
    refused(edited(adam, (h) => { h.__metadata__ = ['format']; }), /__metadata__ is not an object/);
  });

  it('header keys such as __proto__ and constructor are plain data: refused as tensors, kept as strings in metadata, no prototype polluted', () => {
    const base = bases[2];
    const data = new Uint8Array(base.data.length + 4);
    data.set(base.data);
    for (const name of ['__proto__', 'constructor', 'x\ny']) {
      const bytes = edited(base, (h) => { Object.defineProperty(h, name, { value: { dtype: 'F32', shape: [1], data_offsets: [base.data.length, base.data.length + 4] }, enumerable: true }); }, data);
      refused(bytes, /unexpected tensor/);
    }
    const withProto = edited(base, (_, m) => {
      Object.defineProperty(m, '__proto__', { value: '{"polluted":1}', enumerable: true });
      m.exploit = '(() => { globalThis.pwned = 1 })()';
    });
    const meta = splitFile(withProto).header.__metadata__ as Record<string, unknown>;
    assert.ok(Object.prototype.hasOwnProperty.call(meta, '__proto__'), 'the file really has a "__proto__" metadata key');
    const ckpt = decodeCheckpoint(withProto);
    assert.equal(ckpt.training.step, 2);
    assert.equal(pollution(), null);
    const config = editJson(base, 'config', (c) => { Object.defineProperty(c, '__proto__', { value: { vocab_size: 1 }, enumerable: true }); });
    assert.equal(decodeCheckpoint(config).config.vocab_size, decodeCheckpoint(base.bytes).config.vocab_size);
    assert.equal(pollution(), null);
  });
});
