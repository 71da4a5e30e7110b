// Surprise (each position's loss) and attribution (the gradient of log p(next token) at every
// token's input) against float64 PyTorch autograd: one-hot and embedding inputs, one to three
// layers, bidirectional, a many-to-one model read with the head at every position, units clamped
// (no gradient through a clamped value), positions 0, inside and T-2.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attribute, attributeText } from '../../../src/engine/attribution';
import { InputError } from '../../../src/engine/config';
import { inspectText } from '../../../src/engine/inspect';
import { compareNested, type Tolerance } from '../../support/compare';
import { whyFixtures, whyModel } from '../../support/whyFixtures';

const fixtures = whyFixtures();
const show = (m: ReturnType<typeof compareNested>): string => m.slice(0, 5).map((x) => `${x.path}: got ${x.actual}, PyTorch ${x.expected}`).join('\n');

describe('surprise and attribution against PyTorch', () => {
  it('the fixtures cover one-hot and embedding, several layers, both directions and both modes', () => {
    const c = fixtures.map((f) => f.config);
    assert.ok(fixtures.length >= 5);
    assert.ok(c.some((x) => x.embedding_size === null) && c.some((x) => x.embedding_size !== null));
    assert.ok(c.some((x) => x.num_layers >= 2) && c.some((x) => x.num_layers === 3));
    assert.ok(c.some((x) => x.bidirectional) && c.some((x) => !x.bidirectional));
    assert.ok(c.some((x) => x.mode === 'many_to_one'));
    assert.ok(fixtures.some((f) => f.clamps.some((s) => s.startsWith('c:'))) && fixtures.some((f) => f.clamps.some((s) => s.startsWith('h:'))), 'c and h clamps');
    for (const f of fixtures) {
      const P = f.attributions.map((a) => a.position);
      assert.ok(P.includes(0) && P.includes(f.tokens.length - 2), `${f.name}: positions 0 and T-2`);
    }
  });

  for (const f of fixtures) {
    const T = f.tokens.length;
    it(`${f.name}: token_loss over the whole text (also with a window, and read in pieces), its mean the loss`, () => {
      const { model, tokenizer, clamps } = whyModel(f);
      const whole = inspectText(model, tokenizer, f.text, { topK: 1, gradients: false, clamps });
      assert.deepEqual(Array.from(whole.ids), f.tokens);
      let m = compareNested(Array.from(whole.tokenLoss), f.token_loss);
      assert.equal(m.length, 0, show(m));
      assert.ok(Math.abs(whole.loss - f.loss) <= 1e-5 + 1e-4 * f.loss);
      const mean = whole.tokenLoss.reduce((s, x) => s + x, 0) / (T - 1);
      assert.ok(Math.abs(mean - whole.loss) < 1e-6, `mean ${mean} loss ${whole.loss}`);
      const windowed = inspectText(model, tokenizer, f.text, { topK: 1, window: { start: 3, end: 5 }, chunkTokens: 4, clamps });
      assert.equal(windowed.tokenLoss.length, T - 1);
      m = compareNested(Array.from(windowed.tokenLoss), f.token_loss);
      assert.equal(m.length, 0, `windowed: ${show(m)}`);
    });

    for (const dtype of ['float32', 'float64'] as const) {
      const tol: Tolerance = dtype === 'float32' ? { rtol: 1e-4, atol: 1e-5 } : { rtol: 1e-9, atol: 1e-12 };
      it(`${f.name}: attribution in ${dtype} agrees with PyTorch (${dtype === 'float32' ? 'the contract tolerance' : '1e-9: float32 differs by rounding only'})`, () => {
        const { model, tokenizer, clamps } = whyModel(f, dtype);
        for (const expected of f.attributions) {
          const a = attributeText(model, tokenizer, f.text, expected.position, { clamps });
          assert.equal(a.target, f.vocab.tokens[expected.target]);
          const m = compareNested({ grad_norm: a.grad_norm, grad_x_input: a.grad_x_input }, { grad_norm: expected.grad_norm, grad_x_input: expected.grad_x_input }, tol);
          assert.equal(m.length, 0, `P = ${expected.position}\n${show(m)}`);
          if (!f.config.bidirectional) {
            for (let k = expected.position + 1; k < T; k++) assert.equal(a.grad_norm[k], 0, `position ${k} is after P`);
          }
        }
      });
    }
  }

  it('leaves the model as it was: the same attribution twice, and inspect after it unchanged', () => {
    const f = fixtures.find((x) => x.config.mode === 'many_to_one') ?? fixtures[0];
    const { model, tokenizer } = whyModel(f);
    const before = Float32Array.from(model.params);
    const first = attribute(model, Int32Array.from(f.tokens), 2);
    const again = attribute(model, Int32Array.from(f.tokens), 2);
    assert.deepEqual(Array.from(first.gradNorm), Array.from(again.gradNorm));
    assert.deepEqual(Array.from(model.params), Array.from(before));
    const m = compareNested(Array.from(inspectText(model, tokenizer, f.text, 1).tokenLoss), f.token_loss);
    assert.equal(m.length, 0, show(m));
  });

  it('refuses a position that predicts nothing, naming the range', () => {
    const f = fixtures[0];
    const { model } = whyModel(f);
    const ids = Int32Array.from(f.tokens);
    const T = ids.length;
    for (const P of [-1, T - 1, T, 1.5, Number.NaN]) {
      assert.throws(() => attribute(model, ids, P), (e: Error) => e instanceof InputError && new RegExp(`positions 0 to ${T - 2}`).test(e.message), `P = ${P}`);
    }
    assert.throws(() => attribute(model, ids.subarray(0, 1), 0), (e: Error) => e instanceof InputError && /at least two tokens/.test(e.message));
    assert.throws(() => attribute(model, ids.subarray(0, 2), 1), (e: Error) => e instanceof InputError && /only position 0/.test(e.message));
  });
});
