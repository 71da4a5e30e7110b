// Sampling: greedy is the argmax; temperature and top-k draw from the distributions they define;
// generation carrying the state token by token matches reading the whole text at once.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LSTMModel } from '../../../src/engine/model';
import { Random } from '../../../src/engine/random';
import { sampleToken, TextGenerator } from '../../../src/engine/sampling';
import { Tokenizer } from '../../../src/engine/tokenizer';

const LOGITS = Float32Array.from([0.5, 2.0, -1.0, 1.5, 0.0, 1.9]);
const V = LOGITS.length;

function frequencies(settings: { temperature: number; topK: number }, draws: number): number[] {
  const rng = new Random(5);
  const counts = new Array(V).fill(0);
  const scratch = new Float64Array(V);
  const order = new Int32Array(V);
  for (let k = 0; k < draws; k++) counts[sampleToken(LOGITS, 0, V, settings, rng, scratch, order)]++;
  return counts.map((c) => c / draws);
}

function softmax(xs: number[], temperature: number): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp((x - m) / temperature));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

describe('sampleToken', () => {
  it('greedy (temperature 0) picks the largest logit', () => {
    const f = frequencies({ temperature: 0, topK: 0 }, 50);
    assert.equal(f[1], 1);
  });

  for (const temperature of [1, 0.5, 2]) {
    it(`temperature ${temperature} draws from softmax(logits / ${temperature})`, () => {
      const draws = 40000;
      const f = frequencies({ temperature, topK: 0 }, draws);
      const p = softmax(Array.from(LOGITS), temperature);
      // Five standard errors of a binomial proportion.
      p.forEach((pk, k) => assert.ok(Math.abs(f[k] - pk) < 5 * Math.sqrt((pk * (1 - pk)) / draws) + 1e-9, `token ${k}: ${f[k]} vs ${pk}`));
    });
  }

  it('top-k draws only among the k most likely, in proportion', () => {
    const draws = 40000;
    const f = frequencies({ temperature: 1, topK: 3 }, draws);
    const top = [1, 5, 3]; // logits 2.0, 1.9, 1.5
    const p = softmax(top.map((k) => LOGITS[k]), 1);
    for (let k = 0; k < V; k++) if (!top.includes(k)) assert.equal(f[k], 0, `token ${k} is outside the top 3`);
    top.forEach((k, a) => assert.ok(Math.abs(f[k] - p[a]) < 5 * Math.sqrt((p[a] * (1 - p[a])) / draws)));
  });
});

describe('TextGenerator', () => {
  const text = 'abcabcabd abcab cabca';
  const tokenizer = Tokenizer.build(text, 'char');
  const config = { vocab_size: tokenizer.size, embedding_size: null, hidden_size: 6, num_layers: 2, bidirectional: false, mode: 'many_to_many' as const };
  const model = new LSTMModel(config);
  model.initialize({ kind: 'pytorch' }, new Random(1));

  it('carrying the state token by token gives what one pass over the whole text gives', () => {
    const generator = new TextGenerator(model, tokenizer, { temperature: 0, topK: 0 }, 0, 8);
    generator.prime('abc');
    const generated: number[] = [];
    for (let k = 0; k < 12; k++) generated.push(generator.next().id);
    // Read prime + generated in one forward: greedy means each generated token is the argmax at the position before it.
    const ids = Int32Array.from([...tokenizer.encode('abc').ids, ...generated]);
    const check = new LSTMModel(config);
    check.params.set(model.params);
    check.forward(ids, 1, ids.length, null);
    const logits = check.logits();
    for (let k = 0; k < generated.length; k++) {
      const t = 2 + k; // the position whose prediction produced generated[k]
      let best = 0;
      for (let v = 1; v < tokenizer.size; v++) if (logits[t * tokenizer.size + v] > logits[t * tokenizer.size + best]) best = v;
      assert.equal(generated[k], best, `generated token ${k}`);
    }
  });

  it('the same seed gives the same text, and the pieces join into the decoded ids', () => {
    const sample = (seed: number) => {
      const g = new TextGenerator(model, tokenizer, { temperature: 1, topK: 0 }, seed, 8);
      g.prime('ab');
      const out = Array.from({ length: 30 }, () => g.next());
      return { text: out.map((o) => o.text).join(''), ids: out.map((o) => o.id) };
    };
    const a = sample(3), b = sample(3), c = sample(4);
    assert.equal(a.text, b.text);
    assert.notEqual(a.text, c.text);
    assert.equal(a.text, tokenizer.decode(a.ids));
  });

  it('a cue with tokens the vocabulary lacks is read, not refused', () => {
    const g = new TextGenerator(model, tokenizer, { temperature: 0, topK: 0 }, 0, 8);
    const primed = g.prime('abz!');
    assert.equal(primed.unknown, 2);
    assert.equal(primed.read, 2);
    assert.equal(typeof g.next().text, 'string');
  });
});
