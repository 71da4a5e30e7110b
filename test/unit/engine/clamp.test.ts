// Clamps against PyTorch: the committed fixtures (test/pytorch/make_units_fixtures.py) hold the
// float64 answer of a hand-unrolled LSTM with the clamps as assignments: states, trace, loss and
// every gradient, h and c clamps on layers 0 and 1, a bidirectional model, and a char text read
// as `inspect` reads it.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseClamp, parseClamps, type Clamp } from '../../../src/engine/clamp';
import { InputError, type DType, type ModelConfig } from '../../../src/engine/config';
import { inspectText } from '../../../src/engine/inspect';
import { LSTMModel } from '../../../src/engine/model';
import { TextGenerator } from '../../../src/engine/sampling';
import { Tokenizer } from '../../../src/engine/tokenizer';
import { compareNested, type Mismatch } from '../../support/compare';
import { flat, FIXTURES } from '../../support/fixtures';

interface UnitsFixture {
  name: string;
  config: ModelConfig;
  clamps: string[];
  tokens: number[][];
  targets: number[][];
  weights: Record<string, unknown>;
  text?: string;
  vocab?: { kind: 'char'; tokens: string[] };
  expected: { loss: number; logits: unknown; trace: Array<Record<string, unknown>>; grads: Record<string, unknown> };
  unclamped_loss: number;
}

const dir = join(FIXTURES, 'units');
const fixtures: UnitsFixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ name: f.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }));

/** A flat array as nested arrays of `shape`. */
function nest(data: ArrayLike<number>, shape: number[]): unknown {
  const go = (offset: number, dim: number): unknown => {
    if (dim === shape.length) return data[offset];
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[dim] }, (_, k) => go(offset + k * stride, dim + 1));
  };
  return go(0, 0);
}

function modelOf(f: UnitsFixture, dtype: DType): LSTMModel {
  const model = new LSTMModel(f.config, dtype);
  for (const spec of model.specs) model.setParameter(spec.name, flat(f.weights[spec.name]));
  return model;
}

/** The engine's answer for a fixture, in the fixture's shapes. */
function run(f: UnitsFixture, dtype: DType, clamps: Clamp[]) {
  const model = modelOf(f, dtype);
  const B = f.tokens.length;
  const T = f.tokens[0].length;
  const { vocab_size: V, hidden_size: H } = f.config;
  model.zeroGrad();
  const loss = model.forward(Int32Array.from(flat(f.tokens)), B, T, Int32Array.from(flat(f.targets)), { clamps, recordTrace: true });
  const logits = nest(Float64Array.from(model.logits()), [B, T, V]);
  model.backward();
  const trace = model.trace().map((e) => {
    const out: Record<string, unknown> = { layer: e.layer, direction: e.direction };
    for (const k of ['i', 'f', 'g', 'o', 'c', 'h', 'dh', 'dc'] as const) out[k] = nest(e[k] as ArrayLike<number>, [B, T, H]);
    return out;
  });
  const grads = Object.fromEntries(model.specs.map((s) => [s.name, nest(model.gradient(s.name), s.shape)]));
  return { loss, logits, trace, grads };
}

const report = (m: Mismatch[]): string => m.slice(0, 5).map((x) => `${x.path}: engine ${JSON.stringify(x.actual)}, PyTorch ${JSON.stringify(x.expected)}`).join('\n');

describe('clamp specs', () => {
  const config: ModelConfig = { vocab_size: 5, embedding_size: null, hidden_size: 8, num_layers: 2, bidirectional: false, mode: 'many_to_many' };
  it('reads h:K:U=V and c:K:U=V', () => {
    assert.deepEqual(parseClamp('h:1:7=-0.25', config), { state: 'h', layer: 1, unit: 7, value: -0.25 });
    assert.deepEqual(parseClamp('c:0:3=2', config), { state: 'c', layer: 0, unit: 3, value: 2 });
    assert.deepEqual(parseClamp('c:0:3=1e-2'), { state: 'c', layer: 0, unit: 3, value: 0.01 });
  });
  for (const bad of ['', 'h:0:1', 'x:0:1=2', 'h:0:1=abc', 'h:-1:1=2', 'h:0:1=2=3', 'h:a:1=2', 'h:0:1=NaN', 'h:0:1=Infinity', 'h 0 1 2']) {
    it(`refuses ${JSON.stringify(bad)} in one line`, () => {
      assert.throws(() => parseClamp(bad, config), (e: unknown) => e instanceof InputError && /h:K:U=V/.test(e.message) && !e.message.includes('\n'));
    });
  }
  it('refuses a layer or unit the model lacks, and one unit clamped twice', () => {
    assert.throws(() => parseClamp('h:2:0=1', config), /layer 2, and the model has 2 \(0 to 1\)/);
    assert.throws(() => parseClamp('c:0:8=1', config), /unit 8, and the model has 8 per layer \(0 to 7\)/);
    assert.throws(() => parseClamps(['h:0:1=1', 'h:0:1=2'], config), /h:0:1 is given twice/);
    assert.equal(parseClamps(['h:0:1=1', 'c:0:1=2'], config).length, 2);
  });
});

describe('clamps against PyTorch', () => {
  it('cover h and c clamps on layers 0 and 1, both on one unit, and a bidirectional model', () => {
    const all = fixtures.flatMap((f) => f.clamps.map((s) => parseClamp(s)));
    for (const state of ['h', 'c'] as const) for (const layer of [0, 1]) assert.ok(all.some((c) => c.state === state && c.layer === layer), `${state} on layer ${layer}`);
    assert.ok(fixtures.some((f) => f.config.bidirectional));
    assert.ok(fixtures.some((f) => f.tokens.length > 1), 'B > 1');
  });

  for (const f of fixtures) {
    const clamps = parseClamps(f.clamps, f.config);
    it(`${f.name}: float32 states, trace, loss and gradients within the contract's tolerance`, () => {
      const actual = run(f, 'float32', clamps);
      const mismatches = compareNested(actual, f.expected);
      assert.equal(mismatches.length, 0, report(mismatches));
    });
    it(`${f.name}: float64 agrees with float64 PyTorch to 1e-9`, () => {
      const actual = run(f, 'float64', clamps);
      const mismatches = compareNested(actual, f.expected, { rtol: 1e-9, atol: 1e-12 });
      assert.equal(mismatches.length, 0, report(mismatches));
    });
    it(`${f.name}: the clamps change the loss (the fixture is not the unclamped model)`, () => {
      assert.ok(Math.abs(run(f, 'float64', []).loss - f.unclamped_loss) < 1e-9);
      assert.ok(Math.abs(f.expected.loss - f.unclamped_loss) > 1e-4);
    });
  }

  it('the trace shows the clamped value at every step of the clamped cell', () => {
    const f = fixtures.find((x) => x.name === 'h_and_c_one_unit') as UnitsFixture;
    const model = modelOf(f, 'float64');
    const T = f.tokens[0].length;
    model.forward(Int32Array.from(flat(f.tokens)), 1, T, null, { clamps: parseClamps(f.clamps, f.config) });
    const [l0, l1] = model.trace();
    const H = f.config.hidden_size;
    for (let t = 0; t < T; t++) {
      assert.equal(l0.c[t * H], 2);
      assert.equal(l0.h[t * H], -0.4);
      assert.equal(l1.h[t * H + 2], 0.5);
    }
  });
});

describe('clamps through inspect and generation', () => {
  const f = fixtures.find((x) => x.name === 'char') as UnitsFixture;
  const tokenizer = Tokenizer.fromVocabulary(f.vocab as { kind: 'char'; tokens: string[] });
  const clamps = parseClamps(f.clamps, f.config);

  for (const chunkTokens of [512, 5]) {
    it(`inspectText (pieces of ${chunkTokens} tokens) gives PyTorch's loss, logits, trace and gradients`, () => {
      const r = inspectText(modelOf(f, 'float32'), tokenizer, f.text as string, { topK: 1, clamps, chunkTokens });
      const T = r.T;
      const { vocab_size: V, hidden_size: H } = f.config;
      const actual = {
        loss: r.loss,
        logits: nest(r.logits, [1, T, V]),
        trace: r.trace.map((e) => ({ layer: e.layer, direction: e.direction, ...Object.fromEntries((['i', 'f', 'g', 'o', 'c', 'h', 'dh', 'dc'] as const).map((k) => [k, nest(e[k] as Float32Array, [1, T, H])])) })),
        grads: Object.fromEntries(r.parameterGradients.map((p) => [p.name, nest(p.data, p.shape)])),
      };
      const mismatches = compareNested(actual, f.expected);
      assert.equal(mismatches.length, 0, report(mismatches));
    });
  }

  it('generation reads with the clamps: the clamped text differs, and is the same for the same seed', () => {
    const text = (c: Clamp[]): string => {
      const g = new TextGenerator(modelOf(f, 'float32'), tokenizer, { temperature: 0, topK: 0 }, 1, 64, c);
      g.prime('if (');
      let out = '';
      for (let k = 0; k < 40; k++) out += g.next().text;
      return out;
    };
    const strong = parseClamps(['h:1:0=1', 'h:1:1=-1', 'h:1:2=1', 'h:1:3=-1', 'h:1:4=1', 'h:1:5=-1'], f.config);
    assert.equal(text(strong), text(strong));
    assert.notEqual(text(strong), text([]));
    // Every h of the top layer clamped: the head sees one constant, so greedy output is one token repeated.
    const once = text(strong);
    assert.equal(new Set(Array.from(once)).size, 1, once);
  });

  it('refuses clamps outside the model before reading', () => {
    assert.throws(() => new TextGenerator(modelOf(f, 'float32'), tokenizer, { temperature: 0, topK: 0 }, 1, 64, [{ state: 'h', layer: 2, unit: 0, value: 1 }]), InputError);
    assert.throws(() => inspectText(modelOf(f, 'float32'), tokenizer, 'if', { clamps: [{ state: 'c', layer: 0, unit: 6, value: 1 }] }), InputError);
  });
});

describe('clamp values', () => {
  const config = { vocab_size: 4, embedding_size: null, hidden_size: 3, num_layers: 1, bidirectional: false, mode: 'many_to_many' as const };
  it('refuses a value float32 cannot hold (it would be infinite in the engine, not V), and NaN or infinity by name', () => {
    assert.equal(parseClamps(['h:0:1=3.4e38'], config)[0].value, 3.4e38);
    for (const spec of ['h:0:1=1e39', 'c:0:2=-1e39', 'h:0:1=1e400']) {
      assert.throws(() => parseClamps([spec], config), (e: unknown) => e instanceof InputError && /needs a finite value float32 can hold/.test(e.message), spec);
    }
    for (const spec of ['h:0:1=nan', 'h:0:1=-inf', 'c:0:1=Infinity']) {
      assert.throws(() => parseClamps([spec], config), (e: unknown) => e instanceof InputError && /needs a finite value, got/.test(e.message), spec);
    }
  });
});
