// explainStep against PyTorch: the committed fixtures (test/pytorch/make_explain_fixtures.py) hold
// the float64 answer of a hand-unrolled LSTM whose autograd splits every gradient by path (dh_up,
// dh_next, dc_via_h, dc_next), for several steps of every layer and direction: one-hot and
// embedding input, 1 and 2 layers, bidirectional, a many-to-one model read as inspect reads it, a
// hidden size above 8, a given initial state, the article's example, and clamps (h and c, on
// layers 0 and 1, read by the clamped cell and by the cells around it).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClamps, type Clamp } from '../../../src/engine/clamp';
import { InputError } from '../../../src/engine/config';
import { explainStep, memorySpan, type StepExplanation } from '../../../src/engine/explain';
import { inspectText, type Inspection } from '../../../src/engine/inspect';
import { IGNORE_TARGET } from '../../../src/engine/kernels';
import { LSTMModel, type TraceEntry } from '../../../src/engine/model';
import { Tokenizer } from '../../../src/engine/tokenizer';
import { compareNested } from '../../support/compare';
import { explainFixtures, fixtureModel, type ExplainFixture } from '../../support/explainFixtures';
import { flat } from '../../support/fixtures';

const FORWARD_KEYS = ['x', 'h_prev', 'c_prev', 'Wx', 'Uh', 'b', 'z', 'i', 'f', 'g', 'o', 'c', 'tanh_c', 'h'];
const BACKWARD_KEYS = ['dh', 'dh_up', 'dh_next', 'dc', 'dc_via_h', 'dc_next', 'di', 'df', 'dg', 'do', 'dz', 'dc_prev', 'dh_prev', 'dx'];

/**
 * The inspection of a text read from a given initial state (inspectText always starts from zeros):
 * the model's own forward and backward with h0, c0, the head at every position, as inspect reads.
 */
function inspectionFromState(model: LSTMModel, tokenizer: Tokenizer, text: string, h0: Float32Array, c0: Float32Array): Inspection {
  const base = inspectText(model, tokenizer, text, { topK: 0, gradients: false });
  const every = new LSTMModel({ ...model.config, mode: 'many_to_many' });
  every.params.set(model.params);
  const { ids, T } = base;
  const targets = Int32Array.from({ length: T }, (_, t) => (t + 1 < T ? ids[t + 1] : IGNORE_TARGET));
  const loss = every.forward(ids, 1, T, targets, { h0, c0, recordTrace: true });
  every.backward();
  return { ...base, loss, logits: Float32Array.from(every.logits()), trace: every.trace() };
}

interface SetUp {
  model: LSTMModel;
  inspection: Inspection;
  options: { h0?: Float32Array; c0?: Float32Array; clamps?: Clamp[] };
}

function setUp(fx: ExplainFixture): SetUp {
  const model = fixtureModel(fx);
  const tokenizer = Tokenizer.fromVocabulary(fx.vocab);
  if (fx.h0 && fx.c0) {
    const state = { h0: Float32Array.from(flat(fx.h0)), c0: Float32Array.from(flat(fx.c0)) };
    return { model, inspection: inspectionFromState(model, tokenizer, fx.text, state.h0, state.c0), options: state };
  }
  const clamps = parseClamps(fx.clamps ?? [], model.config);
  return { model, inspection: inspectText(model, tokenizer, fx.text, { topK: 0, clamps }), options: { clamps } };
}

function assertClose(actual: unknown, expected: unknown, what: string): void {
  const bad = compareNested(actual, expected);
  assert.deepEqual(bad.slice(0, 5), [], `${what}: ${bad.length} numbers beyond 1e-4 relative / 1e-5 absolute`);
}

const fixtures = explainFixtures();

describe('explainStep against float64 PyTorch', () => {
  it('has the fixtures the issue asks for', () => {
    const names = fixtures.map((f) => f.name);
    for (const n of ['onehot_l1', 'onehot_l2', 'bidir_embed_l2', 'm2o_onehot_l1', 'wide_onehot_l1', 'state_onehot_l2', 'state_bidir_embed_l2', 'article']) assert.ok(names.includes(n), n);
    // Clamps: h and c, on layer 0 and layer 1, two on one unit, and a bidirectional model.
    const specs = fixtures.flatMap((f) => f.clamps ?? []);
    for (const re of [/^h:0:/, /^c:0:/, /^h:1:/, /^c:1:/]) assert.ok(specs.some((s) => re.test(s)), `a clamp ${re}`);
    assert.ok(fixtures.some((f) => f.config.bidirectional && (f.clamps ?? []).length > 0));
    const m2o = fixtures.find((f) => f.name === 'm2o_onehot_l1');
    assert.equal(m2o?.config.mode, 'many_to_one');
  });

  for (const fx of fixtures) {
    it(`${fx.name}: every field of every step (${fx.steps.length} steps)`, () => {
      const { model, inspection, options } = setUp(fx);
      assert.ok(Math.abs(inspection.loss - fx.loss) <= 1e-5 + 1e-4 * fx.loss, `loss ${inspection.loss} vs ${fx.loss}`);
      const D = model.config.bidirectional ? 2 : 1;
      const H = model.config.hidden_size;
      for (const want of fx.steps) {
        const { t, layer, direction } = want;
        const got = explainStep(model, inspection, { t, layer, direction }, options);
        const where = `${fx.name} t=${t} layer ${layer} ${direction}`;
        assert.equal(got.token, want.token, where);
        assert.deepEqual([got.t, got.layer, got.direction], [t, layer, direction], where);
        assert.deepEqual(Object.keys(got.forward), FORWARD_KEYS, where);
        assert.deepEqual(Object.keys(got.backward), BACKWARD_KEYS, where);
        assert.deepEqual(Object.keys(want.forward), FORWARD_KEYS, `${where}: the fixture`);
        assert.deepEqual(Object.keys(want.backward), BACKWARD_KEYS, `${where}: the fixture`);
        assertClose(got.forward, want.forward, `${where} forward`);
        assertClose(got.backward, want.backward, `${where} backward`);
        const last = direction === 'forward' ? t === inspection.T - 1 : t === 0;
        assert.equal(got.is_last, last, where);
        assert.equal(got.is_first, direction === 'forward' ? t === 0 : t === inspection.T - 1, where);
        if (last) assert.ok(got.backward.dh_next.every((v) => v === 0) && got.backward.dc_next.every((v) => v === 0), `${where}: nothing from after the last step`);
        // dh_up is computed directly (the head, or the layer above's W_ihᵀ dz); the engine's own
        // backward gave the trace's total dh and dc: dh_up = dh - dh_next, dc = dc_via_h + dc_next.
        const entry = inspection.trace[layer * D + (direction === 'forward' ? 0 : 1)];
        const row = (a: ArrayLike<number> | null): number[] => Array.from({ length: H }, (_, j) => (a as ArrayLike<number>)[(t - inspection.window.start) * H + j]);
        const traced = { dh: row(entry.dh), dc: row(entry.dc) };
        assertClose(got.backward.dh_up, traced.dh.map((v, j) => v - got.backward.dh_next[j]), `${where}: dh_up = trace dh - dh_next`);
        assertClose(got.backward.dc_via_h.map((v, j) => v + got.backward.dc_next[j]), traced.dc, `${where}: dc_via_h + dc_next = trace dc`);
      }
    });
  }

  it('the same numbers when the text is read in pieces and only a window around t is kept', () => {
    const fx = fixtures.find((f) => f.name === 'onehot_l2') as ExplainFixture;
    const model = fixtureModel(fx);
    const tokenizer = Tokenizer.fromVocabulary(fx.vocab);
    for (const want of fx.steps) {
      const T = tokenizer.encode(fx.text).ids.length;
      const window = { start: Math.max(0, want.t - 1), end: Math.min(T, want.t + 2) };
      const inspection = inspectText(model, tokenizer, fx.text, { topK: 0, chunkTokens: 5, window });
      const got = explainStep(model, inspection, want);
      assertClose(got.forward, want.forward, `t=${want.t} layer ${want.layer} forward`);
      assertClose(got.backward, want.backward, `t=${want.t} layer ${want.layer} backward`);
    }
  });

  it("the article's example: (1, 10) one-hot in, (5, 10) and (5, 5) blocks per gate, (1, 5) states", () => {
    const fx = fixtures.find((f) => f.name === 'article') as ExplainFixture;
    const { model, inspection } = setUp(fx);
    const e: StepExplanation = explainStep(model, inspection, { t: 2, layer: 0, direction: 'forward' });
    assert.equal(e.token, 'the');
    assert.equal(e.forward.x.length, 10);
    assert.deepEqual(e.forward.x.filter((v) => v === 1).length, 1);
    assert.deepEqual(model.spec('lstm.weight_ih_l0').shape, [4 * 5, 10]);
    assert.deepEqual(model.spec('lstm.weight_hh_l0').shape, [4 * 5, 5]);
    for (const k of ['h_prev', 'c_prev', 'i', 'f', 'g', 'o', 'c', 'tanh_c', 'h'] as const) assert.equal(e.forward[k].length, 5, k);
    for (const k of ['Wx', 'Uh', 'b', 'z'] as const) assert.equal(e.forward[k].length, 20, k);
    // Every weight 0.1: each gate's z is 0.1 (the one-hot column) + 0.1·Σh_prev + 0.2 (two biases).
    const sumH = e.forward.h_prev.reduce((a, b) => a + b, 0);
    for (const z of e.forward.z) assert.ok(Math.abs(z - (0.3 + 0.1 * sumH)) < 1e-6, `z ${z}`);
  });
});

describe('explainStep with clamps: the rule of the contract at the clamped unit', () => {
  const clamped = fixtures.filter((f) => (f.clamps ?? []).length > 0);
  for (const fx of clamped) {
    it(`${fx.name}: c, tanh_c and h as the trace shows them; nothing goes on from a clamped value`, () => {
      const { model, inspection, options } = setUp(fx);
      const H = model.config.hidden_size;
      const D = model.config.bidirectional ? 2 : 1;
      let checked = 0;
      for (const { t, layer, direction } of fx.steps) {
        const e = explainStep(model, inspection, { t, layer, direction }, options);
        const where = `${fx.name} t=${t} layer ${layer} ${direction}`;
        const entry = inspection.trace[layer * D + (direction === 'forward' ? 0 : 1)];
        const r = t - inspection.window.start;
        for (let j = 0; j < H; j++) {
          assert.ok(Math.abs(e.forward.c[j] - entry.c[r * H + j]) <= 1e-6, `${where}: c[${j}] is the trace's`);
          assert.ok(Math.abs(e.forward.h[j] - entry.h[r * H + j]) <= 1e-6, `${where}: h[${j}] is the trace's`);
        }
        if (direction !== 'forward') continue;
        for (const c of options.clamps ?? []) {
          if (c.layer !== layer) continue;
          const u = c.unit;
          const b = e.backward;
          checked++;
          if (c.state === 'c') {
            assert.equal(e.forward.c[u], c.value, where);
            assert.equal(e.forward.tanh_c[u], Math.tanh(c.value), where);
            for (const k of ['di', 'df', 'dg', 'dc_prev', 'dc_next'] as const) assert.ok(b[k][u] === 0, `${where}: ${k}[${u}] of a clamped c is ${b[k][u]}`);
            for (const k of [0, 1, 2]) assert.ok(b.dz[k * H + u] === 0, `${where}: dz row ${k * H + u}`);
            assert.equal(b.dc[u], b.dc_via_h[u], `${where}: dc of a clamped c is what arrives through h`);
          } else {
            assert.equal(e.forward.h[u], c.value, where);
            assert.ok(b.do[u] === 0, `${where}: do[${u}] of a clamped h`);
            assert.ok(b.dc_via_h[u] === 0, `${where}: dc_via_h[${u}] of a clamped h`);
            assert.ok(b.dz[3 * H + u] === 0, `${where}: dz_o[${u}]`);
          }
        }
      }
      assert.ok(checked > 0, `${fx.name}: some step of a clamped cell`);
    });
  }

  it('refuses clamps the inspection was not read with, in one line', () => {
    const fx = clamped.find((f) => f.name === 'clamp_h_onehot_l2') as ExplainFixture;
    const model = fixtureModel(fx);
    const tokenizer = Tokenizer.fromVocabulary(fx.vocab);
    const free = inspectText(model, tokenizer, fx.text, { topK: 0 });
    assert.throws(
      () => explainStep(model, free, { t: 3, layer: 1, direction: 'forward' }, { clamps: parseClamps(fx.clamps ?? [], model.config) }),
      (e: unknown) => e instanceof InputError && /the clamp h:0:1=0\.5 is not in the inspection/.test(e.message) && !e.message.includes('\n'),
    );
    assert.throws(() => explainStep(model, free, { t: 3, layer: 0, direction: 'forward' }, { clamps: [{ state: 'h', layer: 5, unit: 0, value: 1 }] }), InputError);
  });
});

describe('explainStep refuses what it cannot explain, in one line', () => {
  const fx = fixtures.find((f) => f.name === 'onehot_l2') as ExplainFixture;
  const model = fixtureModel(fx);
  const tokenizer = Tokenizer.fromVocabulary(fx.vocab);
  const inspection = inspectText(model, tokenizer, fx.text, { topK: 0 });
  const T = inspection.T;
  const refuses = (f: () => unknown, message: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof InputError && message.test(e.message) && !e.message.includes('\n'));
  };

  it('a step outside the text, a layer or a direction the model lacks', () => {
    refuses(() => explainStep(model, inspection, { t: T, layer: 0, direction: 'forward' }), new RegExp(`step ${T} .*steps 0 to ${T - 1}`));
    refuses(() => explainStep(model, inspection, { t: -1, layer: 0, direction: 'forward' }), /step -1/);
    refuses(() => explainStep(model, inspection, { t: 1.5, layer: 0, direction: 'forward' }), /step 1.5/);
    refuses(() => explainStep(model, inspection, { t: 0, layer: 2, direction: 'forward' }), /layer 2 .*2 layers \(0 to 1\)/);
    refuses(() => explainStep(model, inspection, { t: 0, layer: 0, direction: 'backward' }), /forward only/);
  });

  it('an inspection without gradients, or whose window lacks the neighbours of t', () => {
    const bare = inspectText(model, tokenizer, fx.text, { topK: 0, gradients: false });
    refuses(() => explainStep(model, bare, { t: 3, layer: 0, direction: 'forward' }), /no gradients/);
    const narrow = inspectText(model, tokenizer, fx.text, { topK: 0, window: { start: 3, end: 4 } });
    refuses(() => explainStep(model, narrow, { t: 3, layer: 0, direction: 'forward' }), /steps 2 to 4; it holds 3 to 3/);
  });
});

describe('memorySpan', () => {
  // Hand-computed: forget gates of unit 1 over five steps.
  const f = [0.9, 0.5, 0.25, 1, 0.8];
  const entry = (direction: 'forward' | 'backward'): TraceEntry => {
    const H = 2;
    const F = Float32Array.from({ length: f.length * H }, (_, k) => (k % H === 1 ? f[Math.floor(k / H)] : 0.1));
    const zeros = new Float32Array(f.length * H);
    return { layer: 0, direction, B: 1, T: f.length, H, i: zeros, f: F, g: zeros, o: zeros, c: zeros, h: zeros, dh: null, dc: null };
  };

  it('forward: 1 at k, then f_{k+1}, f_{k+1} f_{k+2}, … to the last step', () => {
    const span = memorySpan(entry('forward'), 1, 1);
    [1, 0.25, 0.25, 0.2].forEach((v, k) => assert.ok(Math.abs(span[k] - v) < 1e-7, `${span}`));
    assert.equal(span.length, 4);
    assert.deepEqual(memorySpan(entry('forward'), 4, 1), [1]);
  });

  it('backward: the steps it reads after k are k-1, k-2, …', () => {
    const span = memorySpan(entry('backward'), 3, 1);
    [1, 0.25, 0.125, 0.1125].forEach((v, k) => assert.ok(Math.abs(span[k] - v) < 1e-7, `${span}`));
    assert.equal(span.length, 4);
  });

  it('refuses a step or unit outside the trace', () => {
    assert.throws(() => memorySpan(entry('forward'), 5, 0), InputError);
    assert.throws(() => memorySpan(entry('forward'), 0, 2), InputError);
  });
});

