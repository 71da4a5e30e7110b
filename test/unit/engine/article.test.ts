// The article's worked example: the story's first eleven words, word-level, vocabulary 10,
// many-to-one (words 1..3 predict word 4), sequence 3, batch 1, hidden 5, every weight 0.1, SGD.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspectText, tensorShapes } from '../../../src/engine/inspect';
import { Trainer } from '../../../src/engine/trainer';

const ARTICLE_TEXT = 'long ago the mice had a general council to consider the';

function articleTrainer(steps: number, learningRate: number): Trainer {
  return Trainer.create(
    ARTICLE_TEXT,
    'article',
    { hidden_size: 5, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_one' },
    {
      tokens: 'word',
      max_vocab: 0,
      sequence_length: 3,
      batch_size: 1,
      steps,
      optimizer: 'sgd',
      learning_rate: learningRate,
      schedule: 'constant',
      clip: null,
      init: 'constant',
      init_value: 0.1,
      seed: 0,
    },
  );
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

describe("the article's worked example", () => {
  it('has a vocabulary of 10 and the shapes the article draws', () => {
    const trainer = articleTrainer(1, 0.1);
    assert.equal(trainer.tokenizer.size, 10);
    assert.equal(trainer.ids.length, 11);
    const shapes = new Map(tensorShapes(trainer.model.config, 1, 3));
    assert.deepEqual(shapes.get('input'), [1, 3, 10]); // one-hot words
    assert.deepEqual(shapes.get('output_l0'), [1, 3, 5]); // the output of every step
    assert.deepEqual(shapes.get('c_l0'), [1, 5]); // final c
    assert.deepEqual(shapes.get('h_l0'), [1, 5]); // final h
    assert.deepEqual(shapes.get('logits'), [1, 10]);
    // And the tensors themselves have those sizes.
    const inspection = inspectText(trainer.model, trainer.tokenizer, 'long ago the');
    assert.deepEqual(inspection.tokens, ['long', 'ago', 'the']);
    const [trace] = inspection.trace;
    assert.equal(inspection.trace.length, 1);
    assert.equal(trace.h.length, 1 * 3 * 5);
    assert.equal(trace.c.length, 1 * 3 * 5);
    assert.equal(inspection.logits.length, 3 * 10);
  });

  it('starts at the uniform loss ln 10: every weight 0.1 makes every word equally likely', () => {
    const trainer = articleTrainer(1, 0.1);
    const { loss } = trainer.trainStep();
    assert.ok(Math.abs(loss - Math.log(10)) < 1e-6, `loss ${loss}`);
  });

  it('lowers the loss until the model predicts the next word of every window', () => {
    const trainer = articleTrainer(3000, 1.0);
    const losses: number[] = [];
    while (!trainer.done) losses.push(trainer.trainStep().loss);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(losses.slice(-100)) < mean(losses.slice(0, 100)) / 4, `first ${mean(losses.slice(0, 100))}, last ${mean(losses.slice(-100))}`);
    const { ids, model, tokenizer } = trainer;
    for (let s = 0; s + 3 < ids.length; s++) {
      model.forward(ids.slice(s, s + 3), 1, 3, null);
      const predicted = tokenizer.tokenString(argmax(model.logits()));
      const words = Array.from(ids.slice(s, s + 3), (id) => tokenizer.tokenString(id)).join(' ');
      assert.equal(predicted, tokenizer.tokenString(ids[s + 3]), `after "${words}"`);
    }
  });
});
