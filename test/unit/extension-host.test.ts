// Host logic that needs no VS Code: settings, the worker protocol, the model store, and real
// training and generation jobs in worker threads (dist/worker.js, built by npm test).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeCheckpoint } from '../../src/engine/checkpoint';
import { InputError } from '../../src/engine/config';
import { ModelStore } from '../../src/extension/modelStore';
import { modelFromCheckpoint } from '../../src/engine/trainer';
import { contributedConfiguration, readSettings, SETTINGS, SettingsError, trainingPlan, type SettingKey } from '../../src/extension/settings';
import { WorkerJob } from '../../src/extension/workerJob';
import { checkHostToWorker, checkWorkerToHost, type TrainRequest, type WorkerToHost } from '../../src/protocol/worker';

const ROOT = join(__dirname, '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-host-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('settings', () => {
  it('the defaults are valid', () => {
    const values = readSettings(() => undefined);
    assert.equal(values.tokens, 'char');
    assert.equal(values.hiddenSize, SETTINGS.hiddenSize.default);
  });

  it("the article's setup is expressible: word-level, many-to-one, one-hot, sequence 3, batch 1, hidden 5", () => {
    const article: Partial<Record<SettingKey, unknown>> = { tokens: 'word', mode: 'many-to-one', embeddingSize: 0, sequenceLength: 3, batchSize: 1, hiddenSize: 5, optimizer: 'sgd', initialization: 'constant' };
    const { shape, settings } = trainingPlan(readSettings((k) => article[k]));
    assert.deepEqual(shape, { hidden_size: 5, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_one' });
    assert.equal(settings.tokens, 'word');
    assert.equal(settings.sequence_length, 3);
    assert.equal(settings.batch_size, 1);
    assert.equal(settings.init, 'constant');
    assert.equal(settings.init_value, 0.1);
  });

  const bad: Array<[SettingKey, unknown]> = [
    ['hiddenSize', 0], ['hiddenSize', 2.5], ['hiddenSize', 5000], ['layers', 9], ['embeddingSize', -1], ['sequenceLength', '64'],
    ['batchSize', null === null ? 0 : 1], ['steps', Number.NaN], ['learningRate', 0], ['learningRate', -0.1], ['tokens', 'bytes'],
    ['mode', 'one-to-many'], ['optimizer', 'rmsprop'], ['seed', -1], ['temperature', 9], ['topK', 1.5], ['bidirectional', 'yes'],
  ];
  for (const [key, value] of bad) {
    it(`refuses lstmLens.${key} = ${JSON.stringify(value)} with a message that names it`, () => {
      assert.throws(() => readSettings((k) => (k === key ? value : undefined)), (e) => e instanceof SettingsError && e.message.startsWith(`lstmLens.${key} `));
    });
  }

  it('refuses a bidirectional many-to-many model', () => {
    assert.throws(() => readSettings((k) => (k === 'bidirectional' ? true : undefined)), (e) => e instanceof SettingsError && /lstmLens\.bidirectional/.test(e.message));
  });

  it("package.json contributes exactly the settings table (run 'npm run sync:settings' after changing it)", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(manifest.contributes.configuration, contributedConfiguration());
    const props = Object.assign({}, ...manifest.contributes.configuration.map((section: { properties: object }) => section.properties));
    assert.equal(props['lstmLens.hiddenSize'].minimum, 1);
    assert.deepEqual(props['lstmLens.backend'].enum, ['auto', 'cpu', 'webgl']);
    assert.equal(props['lstmLens.diagnostics'].default, false);
  });

  it('the Settings editor groups every setting once, in titled sections of the extension (its table of contents: LSTM Lens › Model, Training, …)', () => {
    const sections = contributedConfiguration() as Array<{ id: string; title: string; properties: Record<string, unknown> }>;
    const keys = sections.flatMap((s) => Object.keys(s.properties));
    assert.deepEqual([...keys].sort(), Object.keys(SETTINGS).map((k) => `lstmLens.${k}`).sort());
    for (const s of sections) {
      assert.match(s.id, /^lstmLens(\.|$)/);
      assert.ok(s.title.length > 0);
    }
  });

  it('descriptions name the article series they refer to', () => {
    const texts = Object.values(SETTINGS).flatMap((spec) => ['descriptions' in spec ? [...spec.descriptions] : [], spec.description].flat());
    const mentions = texts.filter((t) => /article/i.test(t));
    assert.ok(mentions.length >= 5, `${mentions.length} descriptions mention the article`);
    for (const t of mentions) assert.match(t, /the article series 'RNN Series: LSTM internals' \(Deep-Breathe\)/i, t);
  });

  it('package.json declares every command under the LSTM Lens category', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const commands = new Map(manifest.contributes.commands.map((c: { command: string; title: string; category: string }) => [c.command, c]));
    for (const [id, title] of [['lstmLens.train', 'Train LSTM on This File'], ['lstmLens.stop', 'Stop Training'], ['lstmLens.generate', 'Generate Text at Cursor'], ['lstmLens.inspect', 'Inspect States'], ['lstmLens.forget', 'Forget Model for This File'], ['lstmLens.forgetMissing', 'Forget Models of Missing Files']]) {
      const c = commands.get(id) as { title: string; category: string } | undefined;
      assert.ok(c, id);
      assert.equal(c.title, title);
      assert.equal(c.category, 'LSTM Lens');
    }
  });
});

describe('worker protocol', () => {
  const plan = trainingPlan(readSettings(() => undefined));
  const valid: TrainRequest = { type: 'train', text: 'abc', sourceName: 'a.txt', ...plan, resumeFrom: null, checkpointPath: '/x', saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 100, timing: null };
  it('accepts well-formed messages', () => {
    assert.ok(checkHostToWorker(valid).ok);
    assert.ok(checkHostToWorker({ type: 'stop' }).ok);
    const history = { step: [3], loss: [1.5], gradNorm: [2], learningRate: [0.01] };
    assert.ok(checkWorkerToHost({ type: 'progress', step: 3, totalSteps: 10, loss: 1.5, tokensPerSecond: 100, learningRate: 0.01, gradNorm: 2, history, clip: null }).ok);
  });
  const malformed: Array<[string, unknown]> = [
    ['not an object', 42],
    ['no type', { text: 'x' }],
    ['an unknown type', { type: 'format-disk' }],
    ['a missing field', { ...valid, text: undefined }],
    ['a field of the wrong type', { ...valid, saveEverySteps: '10' }],
    ['an extra field', { ...valid, extra: true }],
    ['a negative step count', { ...valid, settings: { ...valid.settings, steps: -1 } }],
    ['a prototype-polluting key', JSON.parse('{"type":"stop","__proto__":{"x":1}}')],
  ];
  for (const [what, message] of malformed) {
    it(`refuses ${what}`, () => {
      const result = checkHostToWorker(message);
      assert.equal(result.ok, false);
    });
  }
  it('refuses worker messages with non-finite numbers', () => {
    const history = { step: [3], loss: [Number.NaN], gradNorm: [2], learningRate: [0.01] };
    assert.equal(checkWorkerToHost({ type: 'progress', step: 3, totalSteps: 10, loss: 1, tokensPerSecond: 100, learningRate: 0.01, gradNorm: 2, history, clip: null }).ok, false);
    assert.equal(checkWorkerToHost({ type: 'progress', step: 3, totalSteps: 10, loss: Number.NaN, tokensPerSecond: 100, learningRate: 0.01, gradNorm: 2, history: { ...history, loss: [1] }, clip: null }).ok, false);
  });
});

describe('model store', () => {
  const store = new ModelStore(join(scratch, 'storage'));
  it('keys documents by URI, distinctly and stably', () => {
    assert.equal(store.keyFor('file:///a.txt'), store.keyFor('file:///a.txt'));
    assert.notEqual(store.keyFor('file:///a.txt'), store.keyFor('file:///b.txt'));
    assert.match(store.checkpointPath('file:///a.txt'), /[0-9a-f]{32}\.lstm\.safetensors$/);
  });
  it('refuses a corrupt checkpoint with a clear message, and forgets it', () => {
    const path = store.prepare('file:///corrupt.txt');
    writeFileSync(path, 'not a checkpoint');
    assert.ok(store.has('file:///corrupt.txt'));
    assert.throws(() => store.load('file:///corrupt.txt'), (e) => e instanceof InputError);
    assert.equal(store.forget('file:///corrupt.txt'), true);
    assert.equal(store.has('file:///corrupt.txt'), false);
  });
  it('removes temporary files left by an interrupted save, not a save in progress', () => {
    store.prepare('file:///x.txt');
    const leftover = join(store.folder, '.abc.lstm.safetensors.123.tmp');
    writeFileSync(leftover, 'half');
    // A fresh one may be another window's save in progress: kept.
    assert.deepEqual(store.removeTemporaryFiles(), { removed: 0, failed: [] });
    assert.ok(existsSync(leftover));
    // One untouched for longer than the limit is a leftover: removed.
    const old = new Date(Date.now() - 11 * 60 * 1000);
    utimesSync(leftover, old, old);
    assert.deepEqual(store.removeTemporaryFiles(), { removed: 1, failed: [] });
    assert.deepEqual(store.removeTemporaryFiles(), { removed: 0, failed: [] });
  });
});

describe('jobs in worker threads', { timeout: 120_000 }, () => {
  const store = new ModelStore(join(scratch, 'jobs'));
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
  const base = trainingPlan(readSettings((k) => ({ hiddenSize: 16, sequenceLength: 16, batchSize: 4, steps: 40 } as Partial<Record<SettingKey, unknown>>)[k]));

  function train(overrides: Partial<TrainRequest> = {}, onMessage?: (m: WorkerToHost) => void) {
    const messages: WorkerToHost[] = [];
    const request: TrainRequest = { type: 'train', text, sourceName: 'fox.txt', ...base, resumeFrom: null, checkpointPath: store.prepare('file:///fox.txt'), saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 0, timing: null, ...overrides };
    const job = new WorkerJob(WORKER, request, { onMessage: (m) => { messages.push(m); onMessage?.(m); } });
    return { job, messages };
  }

  it('trains to the end: started, progress with a falling loss, saved, finished; the checkpoint loads', async () => {
    const { job, messages } = train();
    const outcome = await job.outcome;
    assert.equal(outcome.kind, 'finished');
    assert.equal(messages[0].type, 'started');
    const losses = messages.flatMap((m) => (m.type === 'progress' ? [m.loss] : []));
    assert.equal(losses.length, 40);
    assert.ok(losses[losses.length - 1] < losses[0], `loss ${losses[0]} → ${losses[losses.length - 1]}`);
    assert.ok(messages.some((m) => m.type === 'saved'));
    const ckpt = decodeCheckpoint(readFileSync(store.checkpointPath('file:///fox.txt')));
    assert.equal(ckpt.training.step, 40);
  });

  it('traces the watched text for the panel while training, with every step in the history', async () => {
    const traces: WorkerToHost[] = [];
    let steps = 0;
    const { job } = train({ checkpointPath: store.prepare('file:///watch.txt') }, (m) => {
      if (m.type === 'panel') traces.push(m);
      if (m.type === 'progress') steps += m.history.step.length;
    });
    job.send({ type: 'watch', sequence: { text: 'the quick brown fox', source: 'the selection', keep: 'last' }, everyMs: 0 });
    const outcome = await job.outcome;
    assert.equal(outcome.kind, 'finished');
    assert.equal(steps, 40);
    assert.ok(traces.length > 0);
    const trace = traces[traces.length - 1];
    assert.ok(trace.type === 'panel' && trace.message.type === 'trace');
    if (trace.type === 'panel' && trace.message.type === 'trace') {
      assert.equal(trace.message.T, 'the quick brown fox'.length);
      assert.equal(trace.message.entries[0].states.length, 6 * trace.message.T * 16);
    }
  });

  it('inspects a saved model: the model, then the trace of a text', async () => {
    const panel: WorkerToHost[] = [];
    const job = new WorkerJob(WORKER, { type: 'inspect', checkpointPath: store.checkpointPath('file:///fox.txt'), file: 'fox.txt', sequence: { text: 'over the lazy dog', source: 'the cursor', keep: 'last' }, withModel: true }, {
      onMessage: (m) => { if (m.type === 'panel') panel.push(m); },
    });
    const outcome = await job.outcome;
    assert.equal(outcome.kind, 'finished');
    assert.deepEqual(panel.map((m) => (m.type === 'panel' ? m.message.type : '')), ['model', 'trace']);
  });

  it('continues a saved run for `steps` more steps', async () => {
    const { job } = train({ resumeFrom: store.checkpointPath('file:///fox.txt') });
    const outcome = await job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished');
    assert.equal(outcome.message.step, 80);
  });

  it('stops when asked and keeps a checkpoint of where it stopped', async () => {
    let asked = false;
    const { job } = train({ settings: { ...base.settings, steps: 100000 }, checkpointPath: store.prepare('file:///stop.txt') }, (m) => {
      if (m.type === 'progress' && m.step >= 5 && !asked) {
        asked = true;
        job.stop();
      }
    });
    const outcome = await job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished');
    assert.equal(outcome.message.reason, 'stopped');
    assert.equal(decodeCheckpoint(readFileSync(store.checkpointPath('file:///stop.txt'))).training.step, outcome.message.step);
  });

  it('reports bad input as such: a text too short for one sequence', async () => {
    const { job } = train({ text: 'ab', checkpointPath: store.prepare('file:///short.txt') });
    const outcome = await job.outcome;
    assert.equal(outcome.kind, 'failed');
    assert.ok(outcome.kind === 'failed' && outcome.reason === 'input' && /too short/.test(outcome.message));
    assert.equal(existsSync(store.checkpointPath('file:///short.txt')), false);
  });

  it('reports divergence as data (the step, the step whose weights are kept, a learning rate to try) and keeps the weights from before the update that broke them', async () => {
    const { job } = train({ settings: { ...base.settings, optimizer: 'sgd', learning_rate: 1e38, clip: null }, checkpointPath: store.prepare('file:///diverge.txt') });
    const outcome = await job.outcome;
    assert.ok(outcome.kind === 'failed' && outcome.reason === 'diverged' && outcome.divergence, JSON.stringify(outcome));
    const d = outcome.divergence;
    assert.ok(d.keptStep < d.step, JSON.stringify(d));
    assert.equal(d.suggestedLearningRate, 1e37);
    assert.match(outcome.message, new RegExp(`the weights of step ${d.keptStep} are kept`));
    assert.doesNotMatch(outcome.message, /learning ?rate|--lr|lstmLens/i, 'the worker names no remedy: the host words it for VS Code');
    const ckpt = decodeCheckpoint(readFileSync(store.checkpointPath('file:///diverge.txt')));
    assert.equal(ckpt.training.step, d.keptStep);
    assert.ok(Array.from(ckpt.params.values()).every((p) => p.every(Number.isFinite)));
    // The kept weights compute a finite loss on the text (an independent forward pass of the saved model).
    const { model, tokenizer } = modelFromCheckpoint(ckpt);
    const ids = tokenizer.encode(text.slice(0, 17)).ids;
    const loss = model.forward(Int32Array.from(ids.slice(0, 16)), 1, 16, Int32Array.from(ids.slice(1, 17)));
    assert.ok(Number.isFinite(loss), `loss ${loss}`);
  });

  it('a worker that dies mid-run is reported as crashed, not hung, and the last checkpoint survives', async () => {
    let killed = false;
    const { job } = train({ settings: { ...base.settings, steps: 100000 }, checkpointPath: store.prepare('file:///dies.txt') }, (m) => {
      if (m.type === 'saved' && !killed) {
        killed = true;
        void job.kill(); // as an out-of-memory kill or a crash would end it: no goodbye message
      }
    });
    const outcome = await job.outcome;
    assert.equal(outcome.kind, 'crashed');
    assert.match(outcome.kind === 'crashed' ? outcome.message : '', /stopped unexpectedly/);
    assert.ok(decodeCheckpoint(readFileSync(store.checkpointPath('file:///dies.txt'))).training.step >= 10);
  });

  it('generates from a saved model, streaming text, the same for the same seed', async () => {
    const generate = async (seed: number) => {
      const pieces: string[] = [];
      const job = new WorkerJob(WORKER, { type: 'generate', checkpointPath: store.checkpointPath('file:///fox.txt'), prime: 'the quick', length: 60, temperature: 1, topK: 0, seed }, {
        onMessage: (m) => { if (m.type === 'text') pieces.push(m.text); },
      });
      const outcome = await job.outcome;
      assert.ok(outcome.kind === 'finished' && outcome.message.type === 'generated' && outcome.message.tokens === 60);
      return pieces.join('');
    };
    const a = await generate(1);
    assert.equal(a.length, 60); // char-level: one character a token
    assert.equal(await generate(1), a);
  });

  it('a worker sent a malformed request says so and ends', async () => {
    const job = new WorkerJob(WORKER, { type: 'train' } as unknown as TrainRequest);
    const outcome = await job.outcome;
    assert.ok(outcome.kind === 'failed' && /malformed/.test(outcome.message));
  });
});
