// Learning for real: char-level training on a corpus (by default tiny Shakespeare) brings the loss
// well below the text's unigram entropy, and samples look like the text. A script, not a test:
//   npm run check:learning -- [FILE] [--steps N] [--hidden H]
// It prints the loss on held-out text next to the unigram entropy, and a sample; it exits 1 when
// the held-out loss is not below 75% of the unigram entropy.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TextGenerator } from '../../src/engine/sampling';
import { decodeText } from '../../src/engine/text';
import { Trainer } from '../../src/engine/trainer';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: 'string', default: '400' }, hidden: { type: 'string', default: '128' }, seed: { type: 'string', default: '1' } },
});
const file = positionals[0] ?? join(__dirname, '..', '..', '..', 'shared', 'corpus', 'tinyshakespeare.txt');
const { text } = decodeText(readFileSync(file));
const split = Math.floor(text.length * 0.9);
const trainText = text.slice(0, split);
const heldOut = text.slice(split);

// The unigram entropy (nats per character) of the training text: what a model that ignores context can reach.
const counts = new Map<string, number>();
for (const ch of trainText) counts.set(ch, (counts.get(ch) ?? 0) + 1);
let entropy = 0;
for (const n of counts.values()) entropy -= (n / trainText.length) * Math.log(n / trainText.length);

const trainer = Trainer.create(
  trainText,
  file,
  { hidden_size: Number(values.hidden), num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' },
  {
    tokens: 'char', max_vocab: 0, sequence_length: 64, batch_size: 32, steps: Number(values.steps),
    optimizer: 'adam', learning_rate: 0.004, schedule: 'cosine', clip: 5, init: 'pytorch', init_value: 0.1, seed: Number(values.seed),
  },
);

/** Mean cross-entropy (nats per character) on held-out text, read as 32 streams with the state carried. */
function heldOutLoss(): number {
  const { ids } = trainer.tokenizer.encode(heldOut);
  const B = 32, T = 64;
  const S = Math.floor((ids.length - 1) / B);
  const model = trainer.model;
  const H = model.config.hidden_size;
  const h = new Float32Array(B * H), c = new Float32Array(B * H);
  const inputs = new Int32Array(B * T), targets = new Int32Array(B * T);
  let total = 0, n = 0;
  for (let p = 0; p + T <= S; p += T) {
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      inputs[b * T + t] = ids[b * S + p + t];
      targets[b * T + t] = ids[b * S + p + t + 1];
    }
    total += model.forward(inputs, B, T, targets, p === 0 ? {} : { h0: h, c0: c }) * B * T;
    n += B * T;
    model.finalState(h, c);
  }
  return total / n;
}

console.log(`${file}: ${trainText.length} characters to train on, ${heldOut.length} held out; vocabulary ${trainer.tokenizer.size}`);
console.log(`unigram entropy ${entropy.toFixed(3)} nats/char; uniform ${Math.log(trainer.tokenizer.size).toFixed(3)}`);
console.log(`model: 1 layer of ${values.hidden}, one-hot input, batch 32 × 64, Adam 0.004 cosine, clip 5, ${values.steps} steps`);
const started = performance.now();
let recent = 0;
while (!trainer.done) {
  const { step, loss } = trainer.trainStep();
  recent += loss;
  if (step % 50 === 0 || trainer.done) {
    const k = step % 50 === 0 ? 50 : step % 50;
    const seconds = (performance.now() - started) / 1000;
    console.log(`step ${String(step).padStart(5)}  train loss (mean of last ${k}) ${(recent / k).toFixed(3)}  ${((step * trainer.tokensPerStep) / seconds).toFixed(0)} tokens/s`);
    recent = 0;
  }
}
const valid = heldOutLoss();
console.log(`held-out loss ${valid.toFixed(3)} nats/char = ${((100 * valid) / entropy).toFixed(1)}% of the unigram entropy`);
const generator = new TextGenerator(trainer.model, trainer.tokenizer, { temperature: 0.8, topK: 0 }, 7, 64);
generator.prime('ROMEO:\n');
let sample = 'ROMEO:\n';
for (let k = 0; k < 400; k++) sample += generator.next().text;
console.log(`\nsample (temperature 0.8):\n${sample}\n`);
process.exitCode = valid < 0.75 * entropy ? 0 : 1;
