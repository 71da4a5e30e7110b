// lstm-lens import: models made in PyTorch (test/pytorch/make_import_states.py) become checkpoints
// whose inspect logits are PyTorch's; what is not the model of docs/model.md is refused naming the
// tensor. The comparison runs where PyTorch is installed; the refusals of files made here need none.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { cliIn, ok, readHeader, refused, ROOT, workspace } from './cli-support';
import { NO_TORCH, PYTHON } from './pytorch-support';

/** Logits agree with float64 PyTorch within 1e-4 relative (1e-5 absolute near zero), as inspect's contract says. */
function assertClose(actual: number[][], expected: number[][], what: string): number {
  assert.equal(actual.length, expected.length, `${what}: positions`);
  let worst = 0;
  actual.forEach((row, t) => {
    assert.equal(row.length, expected[t].length, `${what}: vocabulary at ${t}`);
    row.forEach((x, v) => {
      const y = expected[t][v];
      const err = Math.abs(x - y);
      worst = Math.max(worst, err / Math.max(Math.abs(y), 0.1));
      assert.ok(err <= 1e-4 * Math.abs(y) + 1e-5, `${what}: logit [${t}, ${v}] is ${x}, PyTorch ${y}`);
    });
  });
  return worst;
}

/** A safetensors file of F32 tensors, written here (for the refusals that need no PyTorch). */
function writeState(path: string, tensors: Record<string, number[]>): void {
  const header: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Buffer.alloc(4 * n);
    for (let k = 0; k < n; k++) data.writeFloatLE(((k % 7) - 3) / 10, 4 * k);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * n] };
    parts.push(data);
    offset += 4 * n;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, ...parts]));
}

/** The tensors of a one-layer LSTM of hidden size H on V one-hot inputs, with its head. */
const lstmShapes = (V: number, H: number): Record<string, number[]> => ({
  'lstm.weight_ih_l0': [4 * H, V],
  'lstm.weight_hh_l0': [4 * H, H],
  'lstm.bias_ih_l0': [4 * H],
  'lstm.bias_hh_l0': [4 * H],
  'head.weight': [V, H],
  'head.bias': [V],
});

describe('lstm-lens import: a model made in PyTorch', () => {
  let made: { dir: string; cleanup: () => void } | null = null;
  before(() => {
    if (PYTHON === null) return;
    const { dir, cleanup } = workspace('import');
    made = { dir, cleanup };
    const r = spawnSync(PYTHON, [join(ROOT, 'test', 'pytorch', 'make_import_states.py'), dir], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => made?.cleanup());

  it('2 layers, bidirectional, embedding (F32 and F64) and one-hot: inspect gives PyTorch\'s logits; the checkpoints continue with train --resume', (t: TestContext) => {
    if (PYTHON === null || made === null) return t.skip(NO_TORCH);
    const { dir } = made;
    {
      const text = readFileSync(join(dir, 'text.txt'), 'utf8');
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, number[][]>;
      const cases = [
        { state: 'bi', reference: 'bi', config: { embedding_size: 6, hidden_size: 5, num_layers: 2, bidirectional: true, mode: 'many_to_one' } },
        { state: 'bi64', reference: 'bi', config: { embedding_size: 6, hidden_size: 5, num_layers: 2, bidirectional: true, mode: 'many_to_one' } },
        { state: 'onehot', reference: 'onehot', config: { embedding_size: null, hidden_size: 7, num_layers: 1, bidirectional: false, mode: 'many_to_many' } },
      ];
      for (const c of cases) {
        const out = `${c.state}.lstm.safetensors`;
        const r = ok(cliIn(dir, ['import', `${c.state}.safetensors`, '--vocab', 'vocab.json', '--out', out, '--seq', '8', '--batch', '2', '--json']));
        if (c.state === 'bi64') assert.match(r.stderr, /converted to float32/);
        const header = readHeader(join(dir, out));
        for (const [key, value] of Object.entries(c.config)) assert.deepEqual(header.config[key], value, `${c.state}: config.${key}`);
        assert.equal(header.training.step, 0);
        assert.equal(Object.keys(JSON.parse(readFileSync(join(dir, out)).subarray(8, 8 + Number(readFileSync(join(dir, out)).readBigUInt64LE(0))).toString('utf8'))).some((k) => k.startsWith('optimizer.')), false, 'no optimizer state');
        const inspected = JSON.parse(ok(cliIn(dir, ['inspect', out, '--text', text, '--json'])).stdout) as { logits: number[][] };
        const worst = assertClose(inspected.logits, expected[c.reference], c.state);
        t.diagnostic(`${c.state}: largest logit difference from PyTorch ${worst.toExponential(2)} (relative)`);
      }
      // Without optimizer state or history, the run continues: Adam's moments start at zero.
      writeFileSync(join(dir, 'long.txt'), text.repeat(4));
      ok(cliIn(dir, ['train', 'long.txt', '--resume', '--out', 'onehot.lstm.safetensors', '--steps', '3', '--quiet']));
      assert.equal(readHeader(join(dir, 'onehot.lstm.safetensors')).training.step, 3);
      ok(cliIn(dir, ['train', 'long.txt', '--resume', '--out', 'bi.lstm.safetensors', '--steps', '2', '--quiet']));
    }
  });

  it('a GRU and a model without its head are refused naming the tensor', (t: TestContext) => {
    if (PYTHON === null || made === null) return t.skip(NO_TORCH);
    const { dir } = made;
    {
      refused(cliIn(dir, ['import', 'gru.safetensors', '--vocab', 'vocab.json', '--out', 'g.ckpt']), /tensor lstm\.weight_hh_l0 has 12 = 3·4 gate rows: a GRU's/);
      refused(cliIn(dir, ['import', 'nohead.safetensors', '--vocab', 'vocab.json', '--out', 'h.ckpt']), /tensor head\.weight is missing/);
      assert.equal(existsSync(join(dir, 'g.ckpt')) || existsSync(join(dir, 'h.ckpt')), false, 'nothing written');
    }
  });
});

describe('lstm-lens import: what it refuses, in one line, writing nothing', () => {
  it('a vocabulary of another size or malformed, a shape that disagrees, an extra tensor, a missing bias, bidirectional many-to-many, another dtype', () => {
    const { dir, cleanup } = workspace('import-refusals');
    try {
      const V = 5, H = 3;
      writeFileSync(join(dir, 'vocab.json'), JSON.stringify({ kind: 'char', tokens: ['a', 'b', 'c', 'd', 'e'] }));
      writeFileSync(join(dir, 'vocab4.json'), JSON.stringify({ kind: 'char', tokens: ['a', 'b', 'c', 'd'] }));
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ kind: 'char', tokens: ['a', 'bb'] }));
      writeState(join(dir, 'good.safetensors'), lstmShapes(V, H));
      ok(cliIn(dir, ['import', 'good.safetensors', '--vocab', 'vocab.json', '--out', 'good.ckpt']));
      ok(cliIn(dir, ['inspect', 'good.ckpt', '--text', 'abcde', '--json']));
      refused(cliIn(dir, ['import', 'good.safetensors', '--vocab', 'vocab4.json', '--out', 'x.ckpt']), /tensor head\.weight has 5 rows, one per token, but the vocabulary has 4 tokens/);
      refused(cliIn(dir, ['import', 'good.safetensors', '--vocab', 'bad.json', '--out', 'x.ckpt']), /bad\.json: char vocabulary token 1 \("bb"\) must be a single character/);
      writeState(join(dir, 'wide.safetensors'), { ...lstmShapes(V, H), 'lstm.weight_ih_l0': [4 * H, V + 1] });
      refused(cliIn(dir, ['import', 'wide.safetensors', '--vocab', 'vocab.json', '--out', 'x.ckpt']), /tensor lstm\.weight_ih_l0 has shape \[12, 6\], the model read from the others needs \[12, 5\] \(one-hot input/);
      writeState(join(dir, 'extra.safetensors'), { ...lstmShapes(V, H), 'rnn.weight': [2, 2] });
      refused(cliIn(dir, ['import', 'extra.safetensors', '--vocab', 'vocab.json', '--out', 'x.ckpt']), /tensor rnn\.weight does not belong to the model/);
      const { 'lstm.bias_ih_l0': _b, ...noBias } = lstmShapes(V, H);
      writeState(join(dir, 'nobias.safetensors'), noBias);
      refused(cliIn(dir, ['import', 'nobias.safetensors', '--vocab', 'vocab.json', '--out', 'x.ckpt']), /tensor lstm\.bias_ih_l0 is missing.*bias=False/);
      const bi = { ...lstmShapes(V, H), 'lstm.weight_ih_l0_reverse': [4 * H, V], 'lstm.weight_hh_l0_reverse': [4 * H, H], 'lstm.bias_ih_l0_reverse': [4 * H], 'lstm.bias_hh_l0_reverse': [4 * H], 'head.weight': [V, 2 * H] };
      writeState(join(dir, 'bi.safetensors'), bi);
      refused(cliIn(dir, ['import', 'bi.safetensors', '--vocab', 'vocab.json', '--out', 'x.ckpt', '--mode', 'many_to_many']), /bidirectional model reads the very tokens.*--mode many_to_one/);
      ok(cliIn(dir, ['import', 'bi.safetensors', '--vocab', 'vocab.json', '--out', 'bi.ckpt']));
      assert.equal(readHeader(join(dir, 'bi.ckpt')).config.mode, 'many_to_one');
      const i64 = readFileSync(join(dir, 'good.safetensors')).toString('latin1').replace('"dtype":"F32","shape":[5]', '"dtype":"I32","shape":[5]');
      writeFileSync(join(dir, 'ints.safetensors'), Buffer.from(i64, 'latin1'));
      refused(cliIn(dir, ['import', 'ints.safetensors', '--vocab', 'vocab.json', '--out', 'x.ckpt']), /tensor head\.bias: dtype "I32" is not a floating-point type/);
      assert.equal(existsSync(join(dir, 'x.ckpt')), false, 'nothing written');
      refused(cliIn(dir, ['import', 'good.safetensors', '--out', 'x.ckpt']), /--vocab VOCAB\.json is required/);
      // A checkpoint without moments reads only at optimizer step 0: one that has trained needs them.
      const file = readFileSync(join(dir, 'good.ckpt'));
      const n = Number(file.readBigUInt64LE(0));
      const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as { __metadata__: Record<string, string> };
      header.__metadata__.training = JSON.stringify({ ...JSON.parse(header.__metadata__.training), optimizer_step: 5 });
      const json = Buffer.from(JSON.stringify(header));
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(json.length));
      writeFileSync(join(dir, 'trained.ckpt'), Buffer.concat([length, json, file.subarray(8 + n)]));
      refused(cliIn(dir, ['inspect', 'trained.ckpt', '--text', 'abc']), /tensor optimizer\.m\.\* is missing: Adam's moments are needed to continue at optimizer step 5/);
    } finally {
      cleanup();
    }
  });
});

describe('lstm-lens import: a safetensors file that lies, and its own inputs', () => {
  it('tensors that share bytes or leave bytes over are refused, as safetensors refuses them; --out is never the state or the vocabulary, even with --force', () => {
    const { dir, cleanup } = workspace('import-lies');
    try {
      const V = 5, H = 3;
      writeFileSync(join(dir, 'vocab.json'), JSON.stringify({ kind: 'char', tokens: ['a', 'b', 'c', 'd', 'e'] }));
      writeState(join(dir, 'good.safetensors'), lstmShapes(V, H));
      const file = readFileSync(join(dir, 'good.safetensors'));
      const n = Number(file.readBigUInt64LE(0));
      const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
      const withHeader = (h: unknown, data: Buffer): Buffer => {
        const json = Buffer.from(JSON.stringify(h));
        const length = Buffer.alloc(8);
        length.writeBigUInt64LE(BigInt(json.length));
        return Buffer.concat([length, json, data]);
      };
      // Every tensor read from the start of the data: each the right size, all of them the same bytes.
      const overlapping = Object.fromEntries(Object.entries(header).map(([k, v]) => [k, { ...v, data_offsets: [0, v.data_offsets[1] - v.data_offsets[0]] }]));
      writeFileSync(join(dir, 'overlap.safetensors'), withHeader(overlapping, file.subarray(8 + n)));
      refused(cliIn(dir, ['import', 'overlap.safetensors', '--vocab', 'vocab.json', '--out', 'x.ckpt']), /overlap\.safetensors: not a valid safetensors file: tensors .* overlap/);
      writeFileSync(join(dir, 'trailing.safetensors'), Buffer.concat([file, Buffer.alloc(4)]));
      refused(cliIn(dir, ['import', 'trailing.safetensors', '--vocab', 'vocab.json', '--out', 'x.ckpt']), /4 trailing bytes after the last tensor/);
      assert.equal(existsSync(join(dir, 'x.ckpt')), false, 'nothing written');
      refused(cliIn(dir, ['import', 'good.safetensors', '--vocab', 'vocab.json', '--out', 'vocab.json', '--force']), /--out vocab\.json is the vocabulary it reads/);
      refused(cliIn(dir, ['import', 'good.safetensors', '--vocab', 'vocab.json', '--out', 'good.safetensors', '--force']), /--out good\.safetensors is the state it reads/);
      assert.ok(readFileSync(join(dir, 'good.safetensors')).equals(file), 'the state is as it was');
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')).tokens, ['a', 'b', 'c', 'd', 'e'], 'the vocabulary is as it was');
    } finally {
      cleanup();
    }
  });
});
