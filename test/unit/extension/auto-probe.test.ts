// The "auto" backend's probe (lstmLens.backend): how long the CPU is timed (src/run/trainingLoop.ts
// timeTraining, on a real trainer whose clock the test controls), how long the GPU then gets, and
// what a choice is remembered by (src/extension/autoChoice.ts). Once through a real worker thread
// (dist/worker.js, built by `npm run build`).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Trainer } from '../../../src/engine/trainer';
import { autoKey, gpuWaitMs, PROBE_MS } from '../../../src/extension/autoChoice';
import { readSettings, trainingPlan } from '../../../src/extension/settings';
import { WorkerJob } from '../../../src/extension/workerJob';
import type { TrainRequest, WorkerToHost } from '../../../src/protocol/worker';
import { timeTraining } from '../../../src/run/trainingLoop';
import { doc, SETTINGS, SHAPE } from '../support/lines';

const WORKER = join(__dirname, '..', '..', '..', 'dist', 'worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-auto-probe-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('lstmLens.backend "auto": the probe', () => {
  /** A real trainer whose steps each take 400 ms of a clock the test controls. */
  function clocked(): { trainer: Trainer<unknown, unknown>; now: () => number; steps: () => number } {
    const trainer = Trainer.create(doc(30), 'doc.txt', SHAPE, SETTINGS) as unknown as Trainer<unknown, unknown>;
    let clock = 0;
    let steps = 0;
    const step = trainer.trainStep.bind(trainer);
    trainer.trainStep = () => {
      clock += 400;
      steps++;
      return step();
    };
    return { trainer, now: () => clock, steps: () => steps };
  }

  it('stops timing when its budget is spent: 1 step after the first when the first took 400 of 700 ms', () => {
    const c = clocked();
    const r = timeTraining(c.trainer, 3, 700, c.now);
    assert.equal(r.timedSteps, 1);
    assert.equal(c.steps(), 2);
    assert.equal(r.firstStepMs, 400);
    assert.equal(r.msPerStep, 400);
    assert.equal(r.tokensPerSecond, (c.trainer.tokensPerStep * 1000) / 400);
  });

  it('a first step that spends the whole budget is the estimate', () => {
    const c = clocked();
    const r = timeTraining(c.trainer, 3, 300, c.now);
    assert.equal(r.timedSteps, 0);
    assert.equal(c.steps(), 1);
    assert.equal(r.msPerStep, 400);
  });

  it('with no budget, the steps asked for', () => {
    const c = clocked();
    assert.equal(timeTraining(c.trainer, 3, Number.POSITIVE_INFINITY, c.now).timedSteps, 3);
    assert.equal(c.steps(), 4);
  });

  it('through the worker thread: a budget of 0 times the first step only', async () => {
    const plan = trainingPlan(readSettings(() => undefined));
    const request: TrainRequest = {
      type: 'train', text: doc(30), sourceName: 'doc.txt', shape: SHAPE, settings: { ...plan.settings, ...SETTINGS }, resumeFrom: null,
      checkpointPath: join(scratch, 'never.lstm.safetensors'), saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 100, timing: { steps: 3, budgetMs: 0 },
    };
    const outcome = await new WorkerJob(WORKER, request).outcome;
    assert.equal(outcome.kind, 'finished');
    const m = (outcome as { message: WorkerToHost }).message;
    assert.equal(m.type, 'timed');
    if (m.type !== 'timed') return;
    assert.equal(m.timedSteps, 0);
    assert.equal(m.msPerStep, m.firstStepMs);
  });

  it('the GPU gets the rest of about 2 s, at least 1 s', () => {
    assert.equal(gpuWaitMs(500), PROBE_MS - 500);
    assert.equal(gpuWaitMs(1900), 1000);
    assert.ok(PROBE_MS <= 2500);
  });

  it('a choice is remembered by model size, not by file: another text of the same size reuses it, another size does not', () => {
    const plan = trainingPlan(readSettings(() => undefined));
    const a = autoKey({ ...plan });
    assert.equal(autoKey(trainingPlan(readSettings((k) => (k === 'steps' ? 50 : k === 'seed' ? 9 : undefined)))), a);
    assert.notEqual(autoKey(trainingPlan(readSettings((k) => (k === 'hiddenSize' ? 512 : undefined)))), a);
    assert.notEqual(autoKey(trainingPlan(readSettings((k) => (k === 'batchSize' ? 8 : undefined)))), a);
  });
});
