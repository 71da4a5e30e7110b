// The n-gram baseline: interpolated Kneser–Ney against probabilities worked out by hand, every
// distribution summing to 1 (seen and unseen contexts, every order), the split of the text the
// trainer holds out, and a real text on which order 2 beats order 1.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../../src/engine/config';
import { baselineSplit, ngramBaseline, NgramModel, perTokenGain } from '../../../src/engine/ngram';
import { EVALUATION_FRACTION, heldOutTokens } from '../../../src/engine/trainer';
import { Tokenizer } from '../../../src/engine/tokenizer';

const close = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: got ${actual}, by hand ${expected}`);

// Vocabulary a = 0, b = 1, c = 2 (c never in the training text); training text "aabab".
const [a, b, c] = [0, 1, 2];
const TRAIN = [a, a, b, a, b];

describe('n-gram baseline (interpolated Kneser–Ney)', () => {
  // Counts of "aabab":
  //   unigrams (raw)   a 3, b 2                       n1 = 0, n2 = 1 -> no singleton: D = 0.5 (the fallback)
  //   unigrams (cont.) N1+(• a) = |{a, b}| = 2 (aa, ba); N1+(• b) = |{a}| = 1 (ab)
  //                    n1 = 1, n2 = 1 -> D1 = 1 / (1 + 2) = 1/3; Σ = 3, 2 types
  //   bigrams (raw)    aa 1, ab 2, ba 1               n1 = 2, n2 = 1 -> D2 = 2 / (2 + 2) = 1/2
  //   bigrams (cont.)  ab: before it a (aab) and b (bab) -> 2; ba: a (aba) -> 1; aa: none (only at the start) -> 0
  //                    n1 = 1, n2 = 1 -> D = 1/3
  //   trigrams (raw)   aab 1, aba 1, bab 1            n1 = 3, n2 = 0 -> D3 = 3 / 3 = 1
  //
  // The lowest order, continuation counts, interpolated with uniform 1/3:
  //   P1(a) = (2 - 1/3)/3 + (1/3 · 2/3) · 1/3 = 5/9 + 2/27 = 17/27
  //   P1(b) = (1 - 1/3)/3 + 2/27 = 8/27;  P1(c) = 0 + 2/27 = 2/27            (sum 27/27)
  it('order 2 gives the probabilities computed by hand', () => {
    const m = NgramModel.fit(TRAIN, 3, 3);
    // Context a: c(a •) = 3 (aa 1, ab 2), two followers; D2 = 1/2, weight 1/2 · 2/3 = 1/3.
    //   P2(a | a) = (1 - 1/2)/3 + 1/3 · 17/27 = 1/6 + 17/81 = 61/162
    //   P2(b | a) = (2 - 1/2)/3 + 1/3 · 8/27  = 1/2 + 8/81  = 97/162
    //   P2(c | a) = 0           + 1/3 · 2/27  = 4/162                          (sum 162/162)
    close(m.probability([a], a, 2), 61 / 162, 'P2(a|a)');
    close(m.probability([a], b, 2), 97 / 162, 'P2(b|a)');
    close(m.probability([a], c, 2), 4 / 162, 'P2(c|a)');
    // Context b: c(b •) = 1 (ba), one follower; weight 1/2 · 1/1.
    //   P2(a | b) = 1/2 + 1/2 · 17/27 = 22/27; P2(b | b) = 1/2 · 8/27 = 4/27; P2(c | b) = 1/27
    close(m.probability([b], a, 2), 22 / 27, 'P2(a|b)');
    close(m.probability([b], b, 2), 4 / 27, 'P2(b|b)');
    close(m.probability([b], c, 2), 1 / 27, 'P2(c|b)');
    // Context c never seen: the order below, P1.
    close(m.probability([c], a, 2), 17 / 27, 'P2(a|c)');
    close(m.probability([c], c, 2), 2 / 27, 'P2(c|c)');
  });

  it('order 3 and order 1 give the probabilities computed by hand', () => {
    const m = NgramModel.fit(TRAIN, 3, 3);
    assert.deepEqual(m.rawDiscount, [0.5, 0.5, 1]);
    assert.deepEqual(m.contDiscount.slice(0, 2), [1 / 3, 1 / 3]);
    // Context "ab": raw followers aba -> a 1; D3 = 1, so all its mass goes to the order below:
    //   P2'(w | b) from continuation counts: context b has ba (cont. 1): Σ 1, one type, D 1/3
    //   P2'(a | b) = (1 - 1/3)/1 + 1/3 · 17/27 = 2/3 + 17/81 = 71/81; P2'(b | b) = 8/81; P2'(c | b) = 2/81
    //   P3(a | ab) = max(1 - 1, 0)/1 + 1 · 1/1 · 71/81 = 71/81
    close(m.probability([a, b], a, 3), 71 / 81, 'P3(a|ab)');
    close(m.probability([a, b], b, 3), 8 / 81, 'P3(b|ab)');
    close(m.probability([a, b], c, 3), 2 / 81, 'P3(c|ab)');
    // Context "aa": raw followers aab -> b 1; D3 = 1: P3(w | aa) = P2'(w | a), continuation counts:
    //   context a has ab (cont. 2) and aa (cont. 0): Σ 2, one type, D 1/3, weight 1/3 · 1/2 = 1/6
    //   P2'(b | a) = (2 - 1/3)/2 + 1/6 · 8/27 = 5/6 + 8/162 = 143/162; P2'(a | a) = 17/162; P2'(c | a) = 2/162
    close(m.probability([a, a], b, 3), 143 / 162, 'P3(b|aa)');
    close(m.probability([a, a], a, 3), 17 / 162, 'P3(a|aa)');
    // Unseen context "cc": down to P1.
    close(m.probability([c, c], a, 3), 17 / 27, 'P3(a|cc)');
    // Order 1 from raw counts: a 3, b 2 of 5, two types, D = 0.5 (no singleton to estimate it):
    //   P(a) = 2.5/5 + 0.5 · 2/5 · 1/3 = 17/30; P(b) = 1.5/5 + 1/15 = 11/30; P(c) = 1/15 = 2/30
    close(m.probability([], a, 1), 17 / 30, 'P(a)');
    close(m.probability([b, a], b, 1), 11 / 30, 'P(b), the context ignored');
    close(m.probability([], c, 1), 2 / 30, 'P(c)');
  });

  it('token losses read the context from the sequence alone: shorter at its start', () => {
    const m = NgramModel.fit(TRAIN, 3, 3);
    // t = 0: only "a" before -> the order-2 answer P2(b | a) = 97/162; t = 1: P3(c | ab) = 2/81.
    const losses = m.tokenLosses([a, b, c], 3);
    assert.equal(losses.length, 2);
    close(losses[0], -Math.log(97 / 162), 'first');
    close(losses[1], -Math.log(2 / 81), 'second');
    assert.equal(m.tokenLosses([a]).length, 0);
  });

  // The first 100 kB of Karpathy's tinyshakespeare, in the repository.
  const shakespeare = readFileSync(join(__dirname, '..', '..', '..', 'media', 'samples', 'coriolanus_excerpt.txt'), 'utf8');

  it('every distribution sums to 1: every order, seen and unseen contexts, characters and words', () => {
    for (const kind of ['char', 'word'] as const) {
      const text = kind === 'char' ? shakespeare : shakespeare.slice(0, 20_000);
      const tok = Tokenizer.build(text, kind);
      const { ids } = tok.encode(text);
      const { train } = baselineSplit(ids.length);
      const m = NgramModel.fit(ids.subarray(0, train), tok.size, 6);
      const V = tok.size;
      const contexts: number[][] = [
        [],
        Array.from(ids.subarray(100, 105)), // seen
        Array.from(ids.subarray(train + 7, train + 12)), // from the held-out part
        [V - 1, V - 1, V - 1, V - 1, V - 1], // most likely never seen
        [0, 1, 2],
      ];
      for (let order = 1; order <= 6; order++) {
        for (const context of contexts) {
          const d = m.distribution(context, order);
          const sum = d.reduce((s, p) => s + p, 0);
          assert.ok(Math.abs(sum - 1) < 1e-9, `${kind}, order ${order}, context ${context}: sums to ${sum}`);
          assert.ok(d.every((p) => p > 0), `${kind}, order ${order}: every token has some probability`);
        }
      }
    }
  });

  it('on a real text, order 2 beats order 1 and order 4 beats order 2; the split is the trainer\'s', () => {
    const tok = Tokenizer.build(shakespeare, 'char');
    const { ids } = tok.encode(shakespeare);
    const r = ngramBaseline(ids, tok.size, 6);
    assert.equal(r.heldout_tokens, heldOutTokens(ids.length, EVALUATION_FRACTION, 'many_to_many', 64));
    assert.equal(r.train_tokens + r.heldout_tokens, ids.length);
    const loss = (n: number): number => r.orders[n - 1].loss;
    assert.deepEqual(r.orders.map((o) => o.order), [1, 2, 3, 4, 5, 6]);
    assert.ok(loss(1) < Math.log(tok.size), `unigram ${loss(1)} beats uniform ${Math.log(tok.size)}`);
    assert.ok(loss(2) < loss(1) - 0.3, `order 2 ${loss(2)} vs order 1 ${loss(1)}`);
    assert.ok(loss(4) < loss(2), `order 4 ${loss(4)} vs order 2 ${loss(2)}`);
    assert.equal(r.best, r.orders.reduce((x, y) => (y.loss < x.loss ? y : x)).order);
    // The held-out mean is the mean of the per-token losses the editor colours by.
    const held = ids.subarray(r.train_tokens);
    const per = r.model.tokenLosses(held, 3);
    assert.ok(Math.abs(per.reduce((s, x) => s + x, 0) / per.length - loss(3)) < 1e-12);
  });

  it('per-token gain is the n-gram loss less the LSTM loss; refusals are InputErrors', () => {
    assert.deepEqual(Array.from(perTokenGain([1, 2, 0.5], [1.5, 1, 0.5])), [0.5, -1, 0]);
    assert.throws(() => perTokenGain([1], [1, 2]), InputError);
    assert.throws(() => NgramModel.fit([0, 1], 2, 7), InputError);
    assert.throws(() => NgramModel.fit([0, 3], 2, 2), InputError);
    assert.throws(() => ngramBaseline(Int32Array.from([0, 1, 0, 1, 0]), 2), /too short/);
    assert.throws(() => NgramModel.fit(TRAIN, 3, 2).probability([a], b, 3), /from 1 to 2/);
  });
});

describe('n-gram baseline: bounded memory', () => {
  it('refuses a text with more distinct n-grams than the limit, in one line, instead of growing without end', () => {
    // "abcabc" at order 2: unigrams a, b, c and bigrams ab, bc, ca: 6 distinct n-grams.
    const ids = [0, 1, 2, 0, 1, 2];
    assert.ok(NgramModel.fit(ids, 3, 2, 6) instanceof NgramModel);
    assert.throws(() => NgramModel.fit(ids, 3, 2, 5), (e: unknown) => e instanceof InputError && /more than 5 distinct n-grams of orders 1 to 2 .*lower order or a part of the text/.test(e.message) && !e.message.includes('\n'));
  });
});
