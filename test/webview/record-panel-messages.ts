// Records the messages the Inspect States panel receives during a real training run of the
// engine, for the webview tests (test/fixtures/panel/*.json). Float32Arrays are stored as
// {"$f32": base64}; test/webview/recording.ts turns them back. Run: npm run record:panel
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostToPanel } from '../../src/protocol/panel';
import { Trainer } from '../../src/engine/trainer';
import { checkpointFacts, modelMessage, traceMessage } from '../../src/run/panelData';
import { encodeRecording } from './recording';

const ROOT = join(__dirname, '..', '..');
const fable = readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');

function record(name: string, trainer: Trainer, text: string, source: string, steps: number, traceEvery: number): void {
  const messages: HostToPanel[] = [];
  const history = { step: [] as number[], loss: [] as number[], gradNorm: [] as number[], learningRate: [] as number[] };
  messages.push(modelMessage(checkpointFacts(trainer.checkpoint()), name));
  let first = true;
  while (trainer.step < steps) {
    const r = trainer.trainStep();
    history.step.push(r.step);
    history.loss.push(r.loss);
    history.gradNorm.push(r.gradNorm);
    history.learningRate.push(r.lr);
    if (r.step % traceEvery === 0 || r.step === steps) {
      messages.push({
        type: 'training', running: r.step < steps, step: r.step, totalSteps: steps, tokensPerSecond: 5000, clip: trainer.settings.clip,
        reset: first, history: { step: [...history.step], loss: [...history.loss], gradNorm: [...history.gradNorm], learningRate: [...history.learningRate] },
      });
      first = false;
      history.step.length = history.loss.length = history.gradNorm.length = history.learningRate.length = 0;
      const trace = traceMessage(trainer.model, trainer.tokenizer, text, source, r.step);
      if (trace) messages.push(trace);
    }
  }
  messages.push(modelMessage(checkpointFacts(trainer.checkpoint()), name));
  const file = join(ROOT, 'test', 'fixtures', 'panel', `${name}.json`);
  writeFileSync(file, `${JSON.stringify(encodeRecording(messages))}\n`);
  console.log(`${file}: ${messages.length} messages`);
}

// The article's setup on its eleven words: word-level, many-to-one, one-hot, sequence 3, batch 1, hidden 5.
const article = 'long ago the mice had a general council to consider the';
record(
  'article',
  Trainer.create(article, 'article.txt', { hidden_size: 5, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_one' }, {
    tokens: 'word', max_vocab: 0, sequence_length: 3, batch_size: 1, steps: 300, optimizer: 'sgd', learning_rate: 1, schedule: 'constant', clip: null, init: 'constant', init_value: 0.1, seed: 0,
  }),
  'long ago the',
  'the text at the cursor',
  300,
  50,
);
// A char model on the fable, two layers.
record(
  'fable-char',
  Trainer.create(fable, 'belling_the_cat.txt', { hidden_size: 24, num_layers: 2, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, {
    tokens: 'char', max_vocab: 0, sequence_length: 32, batch_size: 4, steps: 120, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 1, init: 'pytorch', init_value: 0.1, seed: 3,
  }),
  'Long ago, the mice had a general council',
  'the selection',
  120,
  40,
);
