// Long texts are read in pieces with the state carried (src/engine/inspect.ts, TextGenerator.prime):
// the numbers are those of one pass over the whole text (within float32 rounding), checked against
// the unchunked result and against the PyTorch fixtures; the memory is that of one piece; what is
// returned can be limited to a window; what cannot fit is refused in one line.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FloatArray, ModelConfig } from '../../../src/engine/config';
import { InputError } from '../../../src/engine/config';
import { INSPECT_CHUNK_TOKENS, inspectText, type Inspection } from '../../../src/engine/inspect';
import { trainingMemory } from '../../../src/engine/memory';
import { LSTMModel } from '../../../src/engine/model';
import { Random } from '../../../src/engine/random';
import { PRIME_CHUNK_TOKENS, TextGenerator } from '../../../src/engine/sampling';
import { Tokenizer } from '../../../src/engine/tokenizer';
import { gradFixtures } from '../../support/fixtures';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz .,\n';

function randomText(n: number, seed: number): string {
  const rng = new Random(seed);
  let s = '';
  for (let k = 0; k < n; k++) s += ALPHABET[rng.int(ALPHABET.length)];
  return s;
}

function modelOf(config: Partial<ModelConfig>, seed = 1): { model: LSTMModel; tokenizer: Tokenizer } {
  const tokenizer = Tokenizer.fromVocabulary({ kind: 'char', tokens: [...ALPHABET] });
  const model = new LSTMModel({ vocab_size: tokenizer.size, hidden_size: 12, num_layers: 2, embedding_size: null, bidirectional: false, mode: 'many_to_many', ...config });
  model.initialize({ kind: 'pytorch' }, new Random(seed));
  return { model, tokenizer };
}

/** Largest |a - b|, relative to the largest |b| (gradients of a mean over a long text are small). */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let w = 0, scale = 0;
  for (let k = 0; k < a.length; k++) {
    w = Math.max(w, Math.abs(a[k] - b[k]));
    scale = Math.max(scale, Math.abs(b[k]));
  }
  return scale === 0 ? w : w / scale;
}

function assertSame(chunked: Inspection, whole: Inspection, tolerance: number, what: string): void {
  assert.deepEqual(chunked.window, whole.window);
  assert.ok(Math.abs(chunked.loss - whole.loss) <= tolerance * Math.abs(whole.loss), `${what}: loss ${chunked.loss} vs ${whole.loss}`);
  assert.ok(worst(chunked.tokenLoss, whole.tokenLoss) <= tolerance, `${what}: token losses`);
  assert.ok(worst(chunked.logits, whole.logits) <= tolerance, `${what}: logits`);
  assert.deepEqual(chunked.top.map((r) => r.map((p) => p.id)), whole.top.map((r) => r.map((p) => p.id)), `${what}: top predictions`);
  chunked.trace.forEach((e, n) => {
    for (const name of ['i', 'f', 'g', 'o', 'c', 'h', 'dh', 'dc'] as const) {
      const w = worst(e[name] as FloatArray, whole.trace[n][name] as FloatArray);
      assert.ok(w <= tolerance, `${what}: trace ${e.layer}/${e.direction} ${name} differs by ${w}`);
    }
  });
  chunked.parameterGradients.forEach((g, n) => {
    const w = worst(g.data, whole.parameterGradients[n].data);
    assert.ok(w <= tolerance, `${what}: ${g.name} gradient differs by ${w}`);
  });
}

describe('inspect in pieces', () => {
  const text = randomText(1300, 5);
  for (const [name, config] of [
    ['one-hot, 2 layers, many-to-many', {}],
    ['embedding, many-to-one (the head at every position)', { embedding_size: 6, mode: 'many_to_one' as const, num_layers: 1 }],
  ] as const) {
    it(`${name}: the same numbers as one pass over the whole text`, () => {
      const { model, tokenizer } = modelOf(config);
      const whole = inspectText(model, tokenizer, text, { topK: 3, chunkTokens: 100_000 });
      assert.equal(whole.T, 1300);
      for (const chunkTokens of [INSPECT_CHUNK_TOKENS, 97, 2]) {
        assertSame(inspectText(model, tokenizer, text, { topK: 3, chunkTokens }), whole, 2e-5, `pieces of ${chunkTokens}`);
      }
    });
  }

  it('a window returns the window of the whole: logits, top and trace of those positions only', () => {
    const { model, tokenizer } = modelOf({});
    const whole = inspectText(model, tokenizer, text, { topK: 2, chunkTokens: 100_000 });
    const part = inspectText(model, tokenizer, text, { topK: 2, chunkTokens: 64, window: { start: 700, end: 760 } });
    assert.equal(part.logits.length, 60 * model.config.vocab_size);
    assert.equal(part.top.length, 60);
    const V = model.config.vocab_size;
    assert.ok(worst(part.logits, whole.logits.subarray(700 * V, 760 * V)) < 2e-5);
    assert.deepEqual(part.top.map((r) => r[0].id), whole.top.slice(700, 760).map((r) => r[0].id));
    const H = model.config.hidden_size;
    for (const name of ['h', 'dc'] as const) {
      assert.ok(worst(part.trace[1][name] as FloatArray, (whole.trace[1][name] as FloatArray).subarray(700 * H, 760 * H)) < 2e-5, name);
    }
    assert.ok(Math.abs(part.loss - whole.loss) < 1e-5 * whole.loss, 'the loss is still the whole text\'s');
    assert.throws(() => inspectText(model, tokenizer, text, { window: { start: 10, end: 5000 } }), (e) => e instanceof InputError && !e.message.includes('\n'));
  });

  it('against PyTorch: the fixtures\' forward numbers (batch 1, many-to-many, one direction) read in pieces of two tokens', () => {
    const cases = gradFixtures().filter((f) => {
      const c = f.case.config as ModelConfig;
      return c.mode === 'many_to_many' && !c.bidirectional && (f.case.tokens as number[][]).length === 1 && f.case.h0 === null && (f.case.tokens as number[][])[0].length >= 3;
    });
    assert.ok(cases.length >= 1, 'a fixture to compare with');
    for (const f of cases) {
      const config = f.case.config as ModelConfig;
      const V = config.vocab_size;
      const symbols = Array.from({ length: V }, (_, k) => String.fromCodePoint(0x4e00 + k));
      const tokenizer = Tokenizer.fromVocabulary({ kind: 'char', tokens: symbols });
      const model = new LSTMModel(config);
      for (const spec of model.specs) model.setParameter(spec.name, (f.case.weights as Record<string, unknown[]>)[spec.name].flat(3) as number[]);
      const ids = (f.case.tokens as number[][])[0];
      const r = inspectText(model, tokenizer, ids.map((id) => symbols[id]).join(''), { chunkTokens: 2 });
      const expected = f.expected as { logits: number[][][]; trace: Array<Record<string, number[][][]>> };
      const close = (got: ArrayLike<number>, want: number[]): void => {
        for (let k = 0; k < want.length; k++) assert.ok(Math.abs(got[k] - want[k]) <= 1e-4 * Math.abs(want[k]) + 1e-5, `${f.name}: ${got[k]} vs PyTorch ${want[k]}`);
      };
      close(r.logits, expected.logits[0].flat());
      r.trace.forEach((e, n) => {
        for (const name of ['i', 'f', 'g', 'o', 'c', 'h'] as const) close(e[name], expected.trace[n][name][0].flat());
      });
    }
  });

  it('a 130 KB text: memory of one piece, a window of the trace, and the whole text\'s loss', () => {
    const { model, tokenizer } = modelOf({ hidden_size: 16, num_layers: 1 });
    const long = randomText(130_000, 9);
    const arena = model.arena;
    const before = arena?.bytesInUse() ?? 0;
    const r = inspectText(model, tokenizer, long, { topK: 1, window: { start: 129_900, end: 130_000 } });
    assert.equal(r.T, 130_000);
    assert.equal(r.top.length, 100);
    assert.equal(r.trace[0].h.length, 100 * 16);
    assert.equal(r.tokenLoss.length, 129_999);
    assert.ok(Number.isFinite(r.loss) && Math.abs(r.loss - Math.log(ALPHABET.length)) < 0.5, `loss ${r.loss}`);
    if (arena) {
      const m = trainingMemory(model.config, 1, INSPECT_CHUNK_TOKENS, 'sgd');
      const grown = arena.bytesInUse() - before;
      assert.ok(grown <= 2 * (m.activations + m.head) + 64 * 1024, `the model's memory grew by ${grown} bytes, more than two pieces' workspaces`);
    }
  });

  it('refuses in one line what would not fit: every position of a long text at a large size, a long text for a bidirectional model', () => {
    const { model, tokenizer } = modelOf({ hidden_size: 512, num_layers: 2 });
    const long = randomText(130_000, 3);
    assert.throws(() => inspectText(model, tokenizer, long), (e) => e instanceof InputError && /fewer positions/.test(e.message) && !e.message.includes('\n'));
    const bi = modelOf({ hidden_size: 256, bidirectional: true, mode: 'many_to_one' });
    assert.throws(
      () => inspectText(bi.model, bi.tokenizer, long, { window: { start: 0, end: 10 }, gradients: false }),
      (e) => e instanceof InputError && /bidirectional/.test(e.message) && !e.message.includes('\n'),
    );
  });
});

describe('priming with a long cue', () => {
  it('reads it in pieces: the same next-token logits as one pass, in the memory of one piece', () => {
    const { model, tokenizer } = modelOf({});
    const cue = randomText(5000, 11);
    const ids = tokenizer.encode(cue).ids;
    const reference = new LSTMModel(model.config);
    reference.params.set(model.params);
    reference.forward(ids, 1, ids.length, null);
    const V = model.config.vocab_size;
    const want = Float32Array.from(reference.logits().subarray((ids.length - 1) * V));
    const arena = model.arena;
    const before = arena?.bytesInUse() ?? 0;
    const generator = new TextGenerator(model, tokenizer, { temperature: 0, topK: 0 }, 1, 8);
    assert.deepEqual(generator.prime(cue), { unknown: 0, read: 5000 });
    const got = model.logits().subarray(model.logits().length - V);
    assert.ok(worst(got, want) < 1e-5, `logits differ by ${worst(got, want)}`);
    if (arena) {
      const m = trainingMemory(model.config, 1, PRIME_CHUNK_TOKENS, 'sgd');
      assert.ok(arena.bytesInUse() - before <= 2 * (m.activations + m.head) + 64 * 1024, 'no workspace of the whole cue');
    }
    assert.equal(typeof generator.next().text, 'string');
  });
});
