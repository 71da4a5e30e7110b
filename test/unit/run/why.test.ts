// What the editor's colours and the panel's strip are made of (src/run/why.ts), against float64
// PyTorch (test/fixtures/why/, made by test/pytorch/make_why_fixtures.py): the surprise of every
// token is PyTorch's token_loss one place on, and the attribution at a character offset is
// PyTorch's attribution of the token there. The gain is checked against the n-gram's own
// hand-checked losses (test/unit/engine/ngram.test.ts) less PyTorch's.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NgramModel, baselineSplit } from '../../../src/engine/ngram';
import { attributionAt, surpriseOf } from '../../../src/run/why';
import { whyFixtures, whyModel } from '../../support/whyFixtures';
import { CONTRACT_TOLERANCE } from '../../support/compare';

/** Within the contract's float32 tolerance (1e-4 relative, 1e-5 absolute). */
function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= CONTRACT_TOLERANCE.atol + CONTRACT_TOLERANCE.rtol * Math.abs(b);
}

const fixtures = whyFixtures().filter((f) => f.clamps.length === 0);

describe('surprise and attribution for the editor', () => {
  for (const f of fixtures) {
    it(`${f.name}: surprise at token t is PyTorch's token_loss[t-1]; the gain is the best n-gram's loss less it`, () => {
      const { model, tokenizer } = whyModel(f);
      // The fixtures' texts are short: the n-gram counts the text three times over (a baseline needs 20 tokens).
      const counted = f.text.repeat(3);
      const s = surpriseOf(model, tokenizer, f.text, counted);
      const T = f.tokens.length;
      assert.equal(s.spans.length, 2 * T);
      assert.equal(s.values[0], 0);
      for (let t = 1; t < T; t++) assert.ok(close(s.values[t], f.token_loss[t - 1]), `t=${t}: ${s.values[t]} vs ${f.token_loss[t - 1]}`);
      // The top guesses for token t are made at position t-1, most likely first, probabilities.
      for (let t = 1; t < T; t++) {
        const top = s.top[t];
        assert.ok(top.length > 0 && top.every((g, k) => g.p > 0 && g.p <= 1 && (k === 0 || g.p <= top[k - 1].p)));
        // The actual token's p is exp(-surprise); in the top guesses it has exactly that p.
        const actual = tokenizer.tokenString(f.tokens[t]);
        const hit = top.find((g) => g.token === actual);
        if (hit) assert.ok(Math.abs(hit.p - Math.exp(-f.token_loss[t - 1])) < 1e-5);
      }
      assert.ok(s.gain && s.order !== null);
      const ids = Int32Array.from(f.tokens);
      const all = Int32Array.from([...f.tokens, ...f.tokens, ...f.tokens]);
      const ngram = NgramModel.fit(all.subarray(0, baselineSplit(all.length).train), model.config.vocab_size).tokenLosses(ids, s.order);
      for (let t = 1; t < T; t++) assert.ok(close(s.gain[t], ngram[t - 1] - f.token_loss[t - 1]), `gain t=${t}`);
    });

    it(`${f.name}: the attribution at a character offset is PyTorch's for the token that starts there`, () => {
      const { model, tokenizer } = whyModel(f);
      const spans = tokenizer.encodeWithSpans(f.text).spans;
      for (const a of f.attributions) {
        if (model.config.bidirectional) continue; // a bidirectional prediction reads tokens after the cursor: the editor sends only the text up to it
        const cursor = spans[2 * (a.position + 1)];
        const got = attributionAt(model, tokenizer, f.text, cursor);
        assert.equal(got.position, a.position);
        assert.equal(got.target, tokenizer.tokenString(a.target));
        const n = a.position + 2;
        assert.equal(got.gradNorm.length, n);
        for (let k = 0; k < n - 1; k++) {
          assert.ok(close(got.gradNorm[k], a.grad_norm[k]), `norm k=${k}: ${got.gradNorm[k]} vs ${a.grad_norm[k]}`);
          assert.ok(close(got.gradXInput[k], a.grad_x_input[k]), `g×x k=${k}`);
        }
        assert.ok(Math.abs(got.p - Math.exp(-f.token_loss[a.position])) < 1e-5, 'p of the target is exp(-token_loss)');
      }
    });
  }
});
