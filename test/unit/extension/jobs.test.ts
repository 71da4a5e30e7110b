// Real training, inspection and generation jobs in worker threads (src/extension/workerJob.ts
// running dist/worker.js, built by npm run build): their messages, outcomes and checkpoints.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeCheckpoint } from '../../../src/engine/checkpoint';
import { modelFromCheckpoint } from '../../../src/engine/trainer';
import { ModelStore } from '../../../src/extension/modelStore';
import { readSettings, trainingPlan, type SettingKey } from '../../../src/extension/settings';
import { WorkerJob } from '../../../src/extension/workerJob';
import type { TrainRequest, WorkerToHost } from '../../../src/protocol/worker';

const ROOT = join(__dirname, '..', '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-host-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

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
