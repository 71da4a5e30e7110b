// Continuing a saved run from the extension (a real worker thread, dist/worker.js): the current
// lstmLens.learningRate applies to Continue (through the engine's resume override); a text shorter
// than the one trained on is reported as such (textShorter, not a batcher message), and the run
// can then go on from the start of the text (restartStream); the remedy for a divergence is worded
// for VS Code.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeCheckpoint } from '../../../src/engine/checkpoint';
import { divergenceRemedy } from '../../../src/extension/names';
import { readSettings, trainingPlan, type SettingKey } from '../../../src/extension/settings';
import { WorkerJob } from '../../../src/extension/workerJob';
import type { TrainRequest, WorkerToHost } from '../../../src/protocol/worker';

const WORKER = join(__dirname, '..', '..', '..', 'dist', 'worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-resume-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const LONG = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
const plan = trainingPlan(readSettings((k) => ({ hiddenSize: 12, sequenceLength: 16, batchSize: 4, steps: 12, learningRate: 0.01 } as Partial<Record<SettingKey, unknown>>)[k]));

async function run(overrides: Partial<TrainRequest>) {
  const messages: WorkerToHost[] = [];
  const request: TrainRequest = { type: 'train', text: LONG, sourceName: 'fox.txt', ...plan, resumeFrom: null, checkpointPath: join(scratch, 'fox.lstm.safetensors'), saveEverySteps: 50, saveEveryMs: 0, progressEveryMs: 0, timing: null, ...overrides };
  const outcome = await new WorkerJob(WORKER, request, { onMessage: (m) => messages.push(m) }).outcome;
  return { outcome, messages };
}

describe('continuing a run from the extension', { timeout: 120_000 }, () => {
  const ckpt = join(scratch, 'fox.lstm.safetensors');

  it('lstmLens.learningRate applies to Continue: the continued steps use it, and the checkpoint says so', async () => {
    const first = await run({});
    assert.equal(first.outcome.kind, 'finished');
    assert.equal(decodeCheckpoint(readFileSync(ckpt)).settings.learning_rate, 0.01);
    const continued = await run({ resumeFrom: ckpt, settings: { ...plan.settings, learning_rate: 0.001 } });
    assert.ok(continued.outcome.kind === 'finished' && continued.outcome.message.type === 'finished' && continued.outcome.message.step === 24, JSON.stringify(continued.outcome));
    const rates = continued.messages.flatMap((m) => (m.type === 'progress' ? m.history.learningRate : []));
    assert.equal(rates.length, 12);
    // Adam at a constant schedule: every continued step at the new rate (cosine would scale it down, never up).
    for (const r of rates) assert.ok(r <= 0.001 + 1e-12 && r > 0.0001, `learning rate ${r}`);
    assert.equal(decodeCheckpoint(readFileSync(ckpt)).settings.learning_rate, 0.001);
  });

  it('a shorter text is reported as such (not as a batcher position); with restartStream the run goes on from the start of the text', async () => {
    const short = LONG.slice(0, 600); // 150 tokens a stream: enough for its 4 streams of 16, short of where they stood (token 384)
    const refused = await run({ resumeFrom: ckpt, text: short });
    assert.ok(refused.outcome.kind === 'failed' && refused.outcome.reason === 'textShorter', JSON.stringify(refused.outcome));
    assert.match(refused.outcome.message, /shorter than the one this model was trained on/);
    assert.doesNotMatch(refused.outcome.message, /batcher state|position must be/);
    assert.equal(decodeCheckpoint(readFileSync(ckpt)).training.step, 24, 'nothing written');
    const restarted = await run({ resumeFrom: ckpt, text: short, restartStream: true });
    assert.ok(restarted.outcome.kind === 'finished' && restarted.outcome.message.type === 'finished' && restarted.outcome.message.step === 36, JSON.stringify(restarted.outcome));
    const started = restarted.messages.find((m) => m.type === 'started');
    assert.ok(started?.type === 'started' && started.notes.some((n) => /from its start again/.test(n)), JSON.stringify(started));
  });

  it('a text too short for the model\'s streams at all stays an input error (the start of the text would not help)', async () => {
    const refused = await run({ resumeFrom: ckpt, text: LONG.slice(0, 40) });
    assert.ok(refused.outcome.kind === 'failed' && refused.outcome.reason === 'input', JSON.stringify(refused.outcome));
  });
});

describe('the remedy for a divergence, in VS Code terms', () => {
  it('names the setting, the suggested value to two digits, and the step to continue from', () => {
    const r = divergenceRemedy({ step: 12, keptStep: 11, suggestedLearningRate: 0.00040000000000000002 });
    assert.equal(r.learningRate, 0.0004);
    assert.equal(r.text, 'Set lstmLens.learningRate to 0.0004 and choose Continue training to go on from step 11.');
  });
});
