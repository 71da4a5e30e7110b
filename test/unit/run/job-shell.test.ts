// The job shell both workers run (src/run/jobShell.ts): checks every message, answers a malformed
// one only while idle, keeps stop and watch for the job, runs one job at a time, and reports a
// failure as the kind the host acts on. Driven here with the Node worker's and the GPU worker's
// real message checks; the expected answers are written out by hand.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../../src/engine/config';
import { DivergenceError, ShorterTextError } from '../../../src/engine/trainer';
import { checkHostToGpu, type GpuTrainRequest } from '../../../src/protocol/gpu';
import { checkHostToWorker, type HostToWorker } from '../../../src/protocol/worker';
import { failureOf, failureOnBackend, JobShell, type Failure } from '../../../src/run/jobShell';
import { BackendLostError } from '../../../src/run/trainingLoop';

type Job = Exclude<HostToWorker, { type: 'stop' | 'watch' }>;

const sequence = { text: 'abc', source: 'the file', keep: 'last' as const };
const generate = { type: 'generate', checkpointPath: '/m.safetensors', prime: 'a', length: 3, temperature: 1, topK: 0, seed: 1 };

/** A shell over the Node worker's messages whose job waits until `finish` is called. */
function shellWithPendingJob() {
  const failures: Failure[] = [];
  const started: Job[] = [];
  const events: string[] = [];
  let finish: (error?: unknown) => void = () => undefined;
  const shell = new JobShell<Job>({
    name: 'the worker',
    check: checkHostToWorker,
    run: (job) => {
      started.push(job);
      return new Promise<void>((resolve, reject) => {
        finish = (error) => (error === undefined ? resolve() : reject(error));
      });
    },
    fail: (f) => failures.push(f),
    afterRefusal: () => events.push('refused'),
    afterJob: () => events.push('jobDone'),
  });
  return { shell, failures, started, events, finish: (error?: unknown) => finish(error) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the job shell', () => {
  it('answers a malformed message while idle, in one line naming the worker, and calls afterRefusal', () => {
    const { shell, failures, started, events } = shellWithPendingJob();
    shell.receive({ type: 'train' });
    assert.equal(started.length, 0);
    assert.equal(failures.length, 1);
    assert.equal(failures[0].kind, 'internal');
    assert.match(failures[0].message, /^the worker received a malformed message \(.+\)$/);
    assert.ok(!failures[0].message.includes('\n'));
    assert.deepEqual(events, ['refused']);
  });

  it('during a job drops a malformed message and a second job; keeps stop and watch for the job', async () => {
    const { shell, failures, started, events, finish } = shellWithPendingJob();
    assert.equal(checkHostToWorker(generate).ok, true, 'the fixture is a valid generate request');
    shell.receive(generate);
    assert.equal(started.length, 1);
    shell.receive({ type: 'nonsense' });
    shell.receive(generate);
    assert.equal(started.length, 1, 'a second job is dropped while busy');
    assert.equal(failures.length, 0, 'nothing is answered while busy');
    assert.equal(shell.stopRequested(), false);
    assert.equal(shell.watched(), null);
    shell.receive({ type: 'watch', sequence, everyMs: 250 });
    assert.deepEqual(shell.watched(), { sequence, everyMs: 250 });
    shell.receive({ type: 'stop' });
    assert.equal(shell.stopRequested(), true);
    shell.receive({ type: 'watch', sequence: null, everyMs: 0 });
    assert.equal(shell.watched(), null);
    finish();
    await settle();
    assert.deepEqual(events, ['jobDone']);
    assert.equal(failures.length, 0);
    // The next job starts with stop cleared.
    shell.receive(generate);
    assert.equal(started.length, 2);
    assert.equal(shell.stopRequested(), false);
  });

  it('reports a failed job by kind, then is ready for the next', async () => {
    const { shell, failures, events, finish } = shellWithPendingJob();
    shell.receive(generate);
    finish(new InputError('that checkpoint is not one'));
    await settle();
    assert.deepEqual(failures, [{ kind: 'input', message: 'that checkpoint is not one' }]);
    assert.deepEqual(events, ['jobDone']);
    shell.receive(generate);
    finish(new Error('a bug'));
    await settle();
    assert.deepEqual(failures[1], { kind: 'internal', message: 'a bug' });
  });

  it('the GPU worker: its own name on a malformed message, and a lost backend reported as lost', async () => {
    const failures: Failure<string>[] = [];
    let rejectJob: (e: unknown) => void = () => undefined;
    const shell = new JobShell<GpuTrainRequest | { type: 'probe' }, 'unavailable' | 'lost'>({
      name: 'the GPU worker',
      // The GPU's check, and one stand-in job that it would refuse (a real run needs a whole request).
      check: (raw) => ((raw as { type?: unknown })?.type === 'probe' ? { ok: true, message: { type: 'probe' } } : checkHostToGpu(raw)),
      run: () => new Promise<void>((_, reject) => (rejectJob = reject)),
      fail: (f) => failures.push(f),
      failure: failureOnBackend,
    });
    shell.receive(42);
    assert.equal(failures.length, 1);
    assert.match(failures[0].message, /^the GPU worker received a malformed message/);
    shell.receive({ type: 'probe' });
    shell.receive({ type: 'watch', sequence, everyMs: 100 });
    assert.deepEqual(shell.watched(), { sequence, everyMs: 100 });
    rejectJob(new BackendLostError('the GPU context was lost'));
    await settle();
    assert.deepEqual(failures[1], { kind: 'lost', message: 'the GPU context was lost' });
  });
});

describe('failureOf', () => {
  it('a divergence carries its data when it is usable, and not otherwise', () => {
    const usable = new DivergenceError({ step: 12, reason: 'loss is not finite', loss: NaN, startingLoss: 4.1, suggestedLearningRate: 0.001, keptStep: 10 });
    const f = failureOf(usable);
    assert.equal(f.kind, 'diverged');
    assert.deepEqual(f.divergence, { step: 12, keptStep: 10, suggestedLearningRate: 0.001 });
    assert.equal(f.message, 'the loss became NaN at step 12; the weights of step 10 are kept');
    const bare = failureOf(new DivergenceError('it blew up'));
    assert.deepEqual(bare, { kind: 'diverged', message: 'it blew up' });
  });

  it('a shorter text is textShorter only when restarting the stream would help; otherwise input', () => {
    assert.deepEqual(failureOf(new ShorterTextError('shorter', true)), { kind: 'textShorter', message: 'shorter' });
    assert.deepEqual(failureOf(new ShorterTextError('far shorter', false)), { kind: 'input', message: 'far shorter' });
  });

  it('anything else is internal, and a thrown non-Error becomes its string; a lost backend is internal outside the GPU', () => {
    assert.deepEqual(failureOf('plain'), { kind: 'internal', message: 'plain' });
    assert.deepEqual(failureOf(new BackendLostError('gone')), { kind: 'internal', message: 'gone' });
    assert.deepEqual(failureOnBackend(new InputError('bad')), { kind: 'input', message: 'bad' });
  });
});
