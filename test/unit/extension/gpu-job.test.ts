// The host's side of a GPU run (src/extension/gpuJob.ts), in plain Node: the webview is a scripted
// channel that answers as the GPU worker does, with real checkpoints made by the engine (the format
// is the same on both backends: gpu-training.test.ts checks the GPU's own in Chromium), and the CPU
// fallback is the real Node worker (dist/worker.js, built by npm test), as is the `store` job that
// checks and writes each checkpoint off the host's thread. What is checked: what the host writes
// (only its own path, only checkpoints that decode and are the run's), and how a run
// continues on the CPU when the GPU cannot go on: from its last checkpoint, to the same total,
// exactly where the CPU run it continues would have been.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint, type TrainingSettings } from '../../../src/engine/checkpoint';
import { Trainer, type ModelShape } from '../../../src/engine/trainer';
import { GpuTrainingJob, timeOnGpu, type BackendEvent, type GpuChannel } from '../../../src/extension/gpuJob';
import { WorkerJob } from '../../../src/extension/workerJob';
import { readCheckpointFile } from '../../../src/node/files';
import type { GpuToHost, HostToWebviewGpu } from '../../../src/protocol/gpu';
import type { TrainRequest, WorkerToHost } from '../../../src/protocol/worker';
import { startedMessage } from '../../../src/run/trainingLoop';
import '../../support/kernelPaths'; // relaxed SIMD on, as in the worker: the in-process CPU runs use the same (FMA) kernels

const ROOT = join(__dirname, '..', '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-gpujob-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(60);
const SHAPE: ModelShape = { hidden_size: 12, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
const SETTINGS: TrainingSettings = {
  tokens: 'char', max_vocab: 0, sequence_length: 16, batch_size: 4, steps: 40, optimizer: 'adam', learning_rate: 0.01,
  schedule: 'cosine', clip: 5, init: 'pytorch', init_value: 0.1, seed: 5,
};

/** The webview as the job sees it: what the host posted, and a way to answer as the GPU worker. */
class ScriptedChannel implements GpuChannel {
  readonly posted: HostToWebviewGpu[] = [];
  open = true;
  private readonly listeners = new Set<{ onMessage(m: GpuToHost): void; onClosed(): void }>();
  post(message: HostToWebviewGpu): boolean {
    if (!this.open) return false;
    this.posted.push(message);
    return true;
  }
  listen(onMessage: (m: GpuToHost) => void, onClosed: () => void): { dispose(): void } {
    const l = { onMessage, onClosed };
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  }
  answer(message: GpuToHost): void {
    for (const l of [...this.listeners]) l.onMessage(message);
  }
  close(): void {
    this.open = false;
    for (const l of [...this.listeners]) l.onClosed();
  }
}

let runs = 0;
function setup(overrides: Partial<TrainRequest> = {}, startTimeoutMs = 30_000, watchdog: { silenceMs?: number; stopGraceMs?: number } = {}) {
  const dir = join(scratch, `run${++runs}`);
  const checkpointPath = join(dir, 'model.lstm.safetensors');
  mkdirSync(dir, { recursive: true });
  const request: TrainRequest = {
    type: 'train', text: TEXT, sourceName: 'fox.txt', shape: SHAPE, settings: SETTINGS, resumeFrom: null, checkpointPath,
    saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 0, timing: null, ...overrides,
  };
  const channel = new ScriptedChannel();
  const messages: WorkerToHost[] = [];
  const malformed: string[] = [];
  const backends: BackendEvent[] = [];
  const job = new GpuTrainingJob(channel, request, {
    onMessage: (m) => messages.push(m),
    onMalformed: (e) => malformed.push(e),
    onBackend: (e) => backends.push(e),
  }, { workerSource: '/* the GPU worker */', startOnCpu: (r, h) => new WorkerJob(WORKER, r, h), store: (r) => new WorkerJob(WORKER, r), startTimeoutMs, ...watchdog });
  return { dir, checkpointPath, request, channel, job, messages, malformed, backends };
}

/** The engine's run on the CPU in this process: what a GPU worker's run reports, up to `steps`. */
function engineRun(steps: number, total = SETTINGS.steps, shape = SHAPE) {
  const trainer = Trainer.create(TEXT, 'fox.txt', shape, { ...SETTINGS, steps: total });
  for (let s = 0; s < steps; s++) trainer.trainStep();
  return { trainer, bytes: encodeCheckpoint(trainer.checkpoint()), started: startedMessage(Trainer.create(TEXT, 'fox.txt', shape, { ...SETTINGS, steps: total })) };
}

describe('a GPU run as the host drives it', { timeout: 120_000 }, () => {
  it('sends the worker script and a file-free request; writes each checked checkpoint to its own path; finishes with that path', async () => {
    const t = setup();
    assert.deepEqual(t.channel.posted.map((m) => m.type), ['gpuWorker', 'gpu']);
    const train = t.channel.posted[1];
    assert.ok(train.type === 'gpu' && train.message.type === 'train');
    assert.equal(train.message.resume, null);
    assert.ok(!('checkpointPath' in train.message) && !('resumeFrom' in train.message), 'no paths go to the webview');
    const run = engineRun(10);
    t.channel.answer({ type: 'backend', renderer: 'test renderer', thread: 'worker' });
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    t.channel.answer({ type: 'finished', reason: 'stopped', step: 10, loss: 3, tokensPerSecond: 100 });
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.path === t.checkpointPath);
    assert.deepEqual(t.backends, [{ backend: 'webgl', renderer: 'test renderer', thread: 'worker' }]);
    assert.deepEqual(t.messages.map((m) => m.type), ['started', 'saved', 'finished']);
    assert.equal(readCheckpointFile(t.checkpointPath).training.step, 10);
    assert.deepEqual(t.malformed, []);
  });

  it('refuses a checkpoint that does not decode, is of another model, or goes back in steps: the file keeps the last good one', async () => {
    const t = setup();
    const run = engineRun(20);
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 20, bytes: run.bytes });
    const truncated = run.bytes.slice(0, run.bytes.length - 7);
    const other = engineRun(10, 40, { ...SHAPE, hidden_size: 13 });
    const earlier = engineRun(10);
    t.channel.answer({ type: 'checkpoint', step: 20, bytes: truncated });
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: other.bytes });
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: earlier.bytes });
    t.channel.answer({ type: 'checkpoint', step: 30, bytes: run.bytes.slice() }); // says 30, holds 20 (each message has bytes of its own)
    await t.job.whenSaved();
    assert.equal(t.malformed.length, 4, t.malformed.join('\n'));
    for (const m of t.malformed) assert.match(m, /^a checkpoint from the GPU worker was refused: /);
    assert.equal(readCheckpointFile(t.checkpointPath).training.step, 20);
    t.job.stop();
    t.channel.answer({ type: 'finished', reason: 'stopped', step: 20, loss: 3, tokensPerSecond: 1 });
    await t.job.outcome;
  });

  it("nothing the GPU worker says becomes a path: strings that look like paths are only text, and only the host's file is written", async () => {
    const t = setup();
    const run = engineRun(10);
    const hostile = '../../../../tmp/evil.safetensors';
    t.channel.answer({ type: 'backend', renderer: hostile, thread: 'main' });
    t.channel.answer({ ...run.started, notes: [hostile, '/etc/passwd'] });
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    t.channel.answer({ type: 'failed', kind: 'input', message: hostile });
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'failed' && outcome.message === hostile);
    assert.deepEqual(readdirSync(t.dir), ['model.lstm.safetensors']);
  });
});

describe('a GPU run that fails', { timeout: 120_000 }, () => {
  it('a divergence comes through as data (step, kept step, learning rate to try), after the last save', async () => {
    const t = setup();
    const run = engineRun(10);
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    t.channel.answer({ type: 'failed', kind: 'diverged', message: 'the loss became NaN at step 11; the weights of step 10 are kept', divergence: { step: 11, keptStep: 10, suggestedLearningRate: 0.001 } });
    const outcome = await t.job.outcome;
    assert.deepEqual(outcome, { kind: 'failed', reason: 'diverged', message: 'the loss became NaN at step 11; the weights of step 10 are kept', divergence: { step: 11, keptStep: 10, suggestedLearningRate: 0.001 } });
    assert.equal(readCheckpointFile(t.checkpointPath).training.step, 10);
  });

  it('a text shorter than the one trained on comes through as such (the host offers to start the stream over)', async () => {
    const t = setup();
    t.channel.answer({ type: 'failed', kind: 'textShorter', message: 'the text is shorter than the one this model was trained on' });
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'failed' && outcome.reason === 'textShorter');
  });
});

describe('a checkpoint that cannot be written', { timeout: 120_000 }, () => {
  it('ends the run as failed, says so, ends the GPU worker, and never reports it saved (a refused one does not end the run)', async () => {
    const t = setup();
    // Where the checkpoint goes is a folder with something in it: the rename onto it fails (EISDIR), even for root.
    mkdirSync(join(t.checkpointPath, 'inside'), { recursive: true });
    const run = engineRun(10);
    t.channel.answer({ type: 'backend', renderer: 'r', thread: 'worker' });
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes.slice(0, 100) }); // refused: the run goes on
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    t.channel.answer({ type: 'finished', reason: 'done', step: 10, loss: 3, tokensPerSecond: 100 });
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'failed' && /^training stopped: the checkpoint could not be written( \(E[A-Z]+\)|: [^\n]+); nothing was saved$/.test(outcome.message), JSON.stringify(outcome));
    assert.equal(t.messages.filter((m) => m.type === 'saved' || m.type === 'finished').length, 0, 'never "saved", never "finished"');
    assert.equal(t.malformed.length, 1, 'the refused one is only logged');
    assert.equal(t.channel.posted.at(-1)?.type, 'gpuTerminate');
  });

  it('on the CPU, too, a run whose checkpoint cannot be written fails in one line naming the errno', async () => {
    const dir = join(scratch, 'cpu-unwritable');
    const checkpointPath = join(dir, 'model.lstm.safetensors');
    mkdirSync(join(checkpointPath, 'inside'), { recursive: true });
    const messages: WorkerToHost[] = [];
    const job = new WorkerJob(WORKER, { type: 'train', text: TEXT, sourceName: 'fox.txt', shape: SHAPE, settings: { ...SETTINGS, steps: 12 }, resumeFrom: null, checkpointPath, saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 0, timing: null }, { onMessage: (m) => messages.push(m) });
    const outcome = await job.outcome;
    assert.ok(outcome.kind === 'failed' && outcome.reason === 'internal' && /^the checkpoint could not be written( \(E[A-Z]+\)|: [^\n]+)$/.test(outcome.message), JSON.stringify(outcome));
    assert.equal(messages.filter((m) => m.type === 'saved' || m.type === 'finished').length, 0);
  });
});

describe('a GPU that falls silent', { timeout: 120_000 }, () => {
  it('mid-run: the watchdog gives it up and the CPU continues from its last checkpoint, exactly', async () => {
    const t = setup({}, 30_000, { silenceMs: 400 });
    const run = engineRun(10);
    t.channel.answer({ type: 'backend', renderer: 'r', thread: 'worker' });
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    // ...and then nothing: a hung driver, a frozen webview.
    const outcome = await t.job.outcome;
    assert.equal(t.backends.length, 2);
    assert.match((t.backends[1] as { reason: string }).reason, /^the GPU stopped answering \(nothing for \d+ s\)$/);
    assert.equal((t.backends[1] as { fromStep: number }).fromStep, 10);
    assert.ok(t.channel.posted.some((m) => m.type === 'gpuTerminate'));
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.step === 40, JSON.stringify(outcome));
    const straight = engineRun(40).trainer.checkpoint();
    const continued = readCheckpointFile(t.checkpointPath);
    for (const [name, values] of straight.params) assert.deepEqual(Array.from(continued.params.get(name) as Float32Array), Array.from(values), name);
  });

  it('Stop on a silent GPU ends the run at its last checkpoint: no CPU run, the GPU worker ended', async () => {
    const t = setup({}, 30_000, { silenceMs: 60_000, stopGraceMs: 300 });
    const run = engineRun(10);
    t.channel.answer({ type: 'backend', renderer: 'r', thread: 'worker' });
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    await t.job.whenSaved();
    t.job.stop();
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.reason === 'stopped' && outcome.message.step === 10, JSON.stringify(outcome));
    assert.equal(t.backends.length, 1, 'no CPU run');
    assert.equal(t.channel.posted.at(-1)?.type, 'gpuTerminate');
    assert.equal(readCheckpointFile(t.checkpointPath).training.step, 10);
    assert.ok(t.malformed.some((m) => /did not answer Stop/.test(m)));
  });

  it('Stop on a GPU that answers: its own final checkpoint and finish, as before', async () => {
    const t = setup({}, 30_000, { silenceMs: 60_000, stopGraceMs: 60_000 });
    const run = engineRun(10);
    t.channel.answer(run.started);
    t.job.stop();
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    t.channel.answer({ type: 'finished', reason: 'stopped', step: 10, loss: 3, tokensPerSecond: 100 });
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.reason === 'stopped' && outcome.message.step === 10);
    assert.deepEqual(t.malformed, []);
    assert.ok(!t.channel.posted.some((m) => m.type === 'gpuTerminate'));
  });
});

describe('when the GPU cannot go on, the run continues on the CPU', { timeout: 300_000 }, () => {
  it('no WebGL2: the CPU trains the whole run, and the change is said once', async () => {
    const t = setup({ settings: { ...SETTINGS, steps: 20 } });
    t.channel.answer({ type: 'failed', kind: 'unavailable', message: 'WebGL2 is not available' });
    const outcome = await t.job.outcome;
    assert.deepEqual(t.backends, [{ backend: 'cpu', reason: 'WebGL2 is not available', fromStep: 0 }]);
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.step === 20, JSON.stringify(outcome));
    assert.ok(t.channel.posted.some((m) => m.type === 'gpuTerminate'));
    assert.equal(readCheckpointFile(t.checkpointPath).training.step, 20);
  });

  it('a lost context at step 20 of 40: the CPU continues from the step-20 checkpoint to 40, exactly where the uninterrupted CPU run ends', async () => {
    const t = setup();
    const run = engineRun(20);
    t.channel.answer({ type: 'backend', renderer: 'r', thread: 'worker' });
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 20, bytes: run.bytes });
    t.channel.answer({ type: 'failed', kind: 'lost', message: 'the GPU context was lost' });
    const outcome = await t.job.outcome;
    assert.deepEqual(t.backends.at(-1), { backend: 'cpu', reason: 'the GPU context was lost', fromStep: 20 });
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.step === 40, JSON.stringify(outcome));
    const started = t.messages.filter((m) => m.type === 'started');
    assert.deepEqual(started.map((m) => m.type === 'started' && [m.step, m.totalSteps]), [[0, 40], [20, 40]]);
    // The continuation is exact: the same weights as 40 steps in one go.
    const straight = engineRun(40).trainer.checkpoint();
    const continued = readCheckpointFile(t.checkpointPath);
    assert.equal(continued.training.step, 40);
    for (const [name, values] of straight.params) assert.deepEqual(Array.from(continued.params.get(name) as Float32Array), Array.from(values), name);
  });

  it('the panel closed mid-run: the same, with the reason', async () => {
    const t = setup();
    const run = engineRun(10);
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    t.channel.close();
    const outcome = await t.job.outcome;
    assert.deepEqual(t.backends, [{ backend: 'cpu', reason: 'the Inspect States panel, where the GPU trained, was closed', fromStep: 10 }]);
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.step === 40);
  });

  it('no answer from the webview: after the start timeout', async () => {
    const t = setup({ settings: { ...SETTINGS, steps: 10 } }, 300);
    const outcome = await t.job.outcome;
    assert.equal(t.backends.length, 1);
    assert.match((t.backends[0] as { reason: string }).reason, /^the GPU did not start within/);
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.step === 10);
  });

  it('stopped, then the panel closes before the GPU answers: the run ends as stopped at its last checkpoint, no CPU run', async () => {
    const t = setup();
    const run = engineRun(10);
    t.channel.answer(run.started);
    t.channel.answer({ type: 'checkpoint', step: 10, bytes: run.bytes });
    t.job.stop();
    assert.deepEqual(t.channel.posted.at(-1), { type: 'gpu', message: { type: 'stop' } });
    t.channel.close();
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.reason === 'stopped' && outcome.message.step === 10);
    assert.deepEqual(t.backends, []);
  });

  it('a continued run (resumeFrom) sends the saved bytes; falling back before any new save resumes the saved file', async () => {
    const first = setup({ settings: { ...SETTINGS, steps: 10 } });
    first.channel.answer({ type: 'failed', kind: 'unavailable', message: 'x' });
    await first.job.outcome;
    const t = setup({ resumeFrom: first.checkpointPath, settings: { ...SETTINGS, steps: 5 } });
    // The saved model is read without blocking the host's thread: its bytes go once they are read.
    while (t.channel.posted.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const train = t.channel.posted[1];
    assert.ok(train.type === 'gpu' && train.message.type === 'train' && train.message.resume !== null);
    assert.equal(decodeCheckpoint(train.message.resume).training.step, 10);
    t.channel.answer({ type: 'failed', kind: 'unavailable', message: 'WebGL2 is not available' });
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.step === 15, JSON.stringify(outcome));
  });
});

describe('a continued run that reads a shorter text from its start again (restartStream)', { timeout: 120_000 }, () => {
  it('falling back to the CPU after its own checkpoint continues its stream there, not from the start once more', async () => {
    // The model: 24 steps on the whole text, saved where its streams stood.
    const dir = join(scratch, 'restart');
    mkdirSync(dir, { recursive: true });
    const savedPath = join(dir, 'saved.lstm.safetensors');
    const first = Trainer.create(TEXT, 'fox.txt', SHAPE, { ...SETTINGS, steps: 24 });
    for (let k = 0; k < 24; k++) first.trainStep();
    const saved = first.checkpoint();
    writeFileSync(savedPath, encodeCheckpoint(saved));
    const short = TEXT.slice(0, 700); // its 4 streams of 175 tokens end before where they stood (token 384)
    const overrides = { steps: 36, learning_rate: SETTINGS.learning_rate, restartStream: true };
    // What the GPU did before it was lost: 5 steps of the restarted run, and a checkpoint of them.
    const gpu = Trainer.resume(saved, short, 'fox.txt', undefined, overrides);
    for (let k = 0; k < 5; k++) gpu.trainStep();
    const t = setup({ resumeFrom: savedPath, text: short, restartStream: true, settings: { ...SETTINGS, steps: 12 } });
    while (t.channel.posted.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    t.channel.answer({ type: 'backend', renderer: 'r', thread: 'worker' });
    t.channel.answer(startedMessage(Trainer.resume(saved, short, 'fox.txt', undefined, overrides)));
    t.channel.answer({ type: 'checkpoint', step: 29, bytes: encodeCheckpoint(gpu.checkpoint()) });
    t.channel.answer({ type: 'failed', kind: 'lost', message: 'the GPU context was lost' });
    const outcome = await t.job.outcome;
    assert.ok(outcome.kind === 'finished' && outcome.message.type === 'finished' && outcome.message.step === 36, JSON.stringify(outcome));
    // The same as the restarted run trained straight through, in this process.
    const straight = Trainer.resume(saved, short, 'fox.txt', undefined, overrides);
    for (let k = 0; k < 12; k++) straight.trainStep();
    const expected = straight.checkpoint();
    const continued = readCheckpointFile(t.checkpointPath);
    assert.equal(continued.training.step, 36);
    for (const [name, values] of expected.params) assert.deepEqual(Array.from(continued.params.get(name) as Float32Array), Array.from(values), name);
  });
});

describe('timing the GPU for lstmLens.backend "auto"', () => {
  const request = (): TrainRequest => ({
    type: 'train', text: TEXT, sourceName: 'fox.txt', shape: SHAPE, settings: SETTINGS, resumeFrom: null, checkpointPath: '/unused',
    saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 0, timing: null,
  });

  it('asks for a timing run and reports its rate and renderer', async () => {
    const channel = new ScriptedChannel();
    const timed = timeOnGpu(channel, 'src', request(), 3, 10_000);
    const train = channel.posted[1];
    assert.ok(train.type === 'gpu' && train.message.type === 'train' && train.message.timing?.steps === 3);
    channel.answer({ type: 'backend', renderer: 'GPU X', thread: 'worker' });
    channel.answer({ type: 'timed', firstStepMs: 50, msPerStep: 2, tokensPerSecond: 32_000 });
    assert.deepEqual(await timed, { ok: true, msPerStep: 2, tokensPerSecond: 32_000, renderer: 'GPU X' });
  });

  it('a GPU that fails or takes too long is not usable, and its worker is ended', async () => {
    const failing = new ScriptedChannel();
    const a = timeOnGpu(failing, 'src', request(), 3, 10_000);
    failing.answer({ type: 'failed', kind: 'unavailable', message: 'WebGL2 cannot render to float textures (no EXT_color_buffer_float)' });
    assert.deepEqual(await a, { ok: false, reason: 'WebGL2 cannot render to float textures (no EXT_color_buffer_float)' });
    const slow = new ScriptedChannel();
    const b = await timeOnGpu(slow, 'src', request(), 3, 100);
    assert.ok(!b.ok && /did not answer within 0.1 s/.test(b.reason));
    assert.equal(slow.posted.at(-1)?.type, 'gpuTerminate');
  });
});
