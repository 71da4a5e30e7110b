// GPU training as the extension drives it, in headless Chromium on software WebGL (SwiftShader):
// the real Inspect States page under its real CSP (worker-src blob:) is sent what the host sends
// (src/extension/gpuJob.ts: the worker's script, then a train request) and starts the real GPU
// worker (dist/gpu-worker.js) from a blob: URL; what the page posts back is checked with the
// host's own check (checkGpuToHost). The reference is the CPU engine run here in Node on the same
// text and settings: the loss curves must agree within 1e-3 relative per step (the tolerance of
// gpu.test.ts, which explains it), and a run continues across backends in both directions.
// Needs `npm run build` first.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { decodeCheckpoint, encodeCheckpoint, type TrainingSettings } from '../../src/engine/checkpoint';
import { DivergenceError, Trainer, type ModelShape } from '../../src/engine/trainer';
import { checkGpuToHost, type GpuToHost, type GpuTrainRequest } from '../../src/protocol/gpu';
import { checkHostToPanel } from '../../src/protocol/panel';
import { launchBrowser, openPanel, problems, ROOT, startServer, type Panel, type PanelServer } from './harness';

const WORKER_SOURCE = readFileSync(join(ROOT, 'dist', 'gpu-worker.js'), 'utf8');
const TEXT = readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
const SHAPE: ModelShape = { hidden_size: 16, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
const SETTINGS: TrainingSettings = {
  tokens: 'char', max_vocab: 0, sequence_length: 16, batch_size: 4, steps: 30, optimizer: 'adam', learning_rate: 0.01,
  schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 3,
};
const RELATIVE = 1e-3;

let browser: Browser;
let server: PanelServer;

before(async () => {
  browser = await launchBrowser({ webgl: true });
  server = await startServer();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

function request(overrides: Partial<GpuTrainRequest> = {}): Omit<GpuTrainRequest, 'resume'> {
  return { type: 'train', text: TEXT, sourceName: 'fable', shape: SHAPE, settings: SETTINGS, saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 0, timing: null, ...overrides };
}

/** Sends the host's messages for a run: the worker's script, then the request (resume bytes as base64 across the page boundary). */
async function startRun(page: Page, train: Omit<GpuTrainRequest, 'resume'>, resume: Uint8Array | null = null): Promise<void> {
  await page.evaluate(
    ([source, message, resumeB64]) => {
      window.postMessage({ type: 'gpuWorker', source }, '*');
      const bytes = resumeB64 === null ? null : Uint8Array.from(atob(resumeB64), (c) => c.charCodeAt(0));
      window.postMessage({ type: 'gpu', message: { ...message, resume: bytes } }, '*');
    },
    [WORKER_SOURCE, train, resume === null ? null : Buffer.from(resume).toString('base64')] as const,
  );
}

async function sendToGpu(page: Page, message: unknown): Promise<void> {
  await page.evaluate((m) => window.postMessage({ type: 'gpu', message: m }, '*'), message);
}

/** What the page posted to the host for the GPU, typed arrays carried over, each checked as the host checks it. */
async function gpuMessages(page: Page): Promise<GpuToHost[]> {
  // (A string, not a function: tsx would wrap a named helper in code that exists only in Node.)
  const raw = (await page.evaluate(`(() => {
    const walk = (v) => {
      if (v instanceof Uint8Array) return { $u8: btoa(Array.from(v, (b) => String.fromCharCode(b)).join('')) };
      if (v instanceof Float32Array) return { $f32: Array.from(v) };
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return window.__gpu.map((m) => walk(m.message));
  })()`)) as unknown[];
  const revive = (v: unknown): unknown => {
    if (v && typeof v === 'object' && '$u8' in v) return new Uint8Array(Buffer.from((v as { $u8: string }).$u8, 'base64'));
    if (v && typeof v === 'object' && '$f32' in v) return Float32Array.from((v as { $f32: number[] }).$f32);
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
    return v;
  };
  return raw.map((m, k) => {
    const checked = checkGpuToHost(revive(m));
    assert.ok(checked.ok, `message ${k} fails the host's check: ${checked.ok ? '' : checked.error}`);
    return checked.message;
  });
}

async function waitForEnd(page: Page, timeoutMs = 240_000): Promise<GpuToHost[]> {
  await page.waitForFunction(
    () => (window as unknown as { __gpu: Array<{ message: { type: string } }> }).__gpu.some((m) => ['finished', 'failed', 'timed'].includes(m.message.type)),
    undefined,
    { timeout: timeoutMs, polling: 100 },
  );
  return gpuMessages(page);
}

async function clearGpu(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __gpu: unknown[] }).__gpu.length = 0;
  });
}

function lossesOf(messages: GpuToHost[]): Map<number, number> {
  const losses = new Map<number, number>();
  for (const m of messages) if (m.type === 'progress') m.history.step.forEach((s, k) => losses.set(s, m.history.loss[k]));
  return losses;
}

/** The CPU engine in Node: the reference run. */
function cpuRun(steps: number, from: Uint8Array | null = null): { losses: Map<number, number>; trainer: Trainer } {
  const trainer = from
    ? Trainer.resume({ ...decodeCheckpoint(from), settings: { ...decodeCheckpoint(from).settings, steps } }, TEXT, 'fable')
    : Trainer.create(TEXT, 'fable', SHAPE, { ...SETTINGS, steps });
  const losses = new Map<number, number>();
  while (!trainer.done) {
    const r = trainer.trainStep();
    losses.set(r.step, r.loss);
  }
  return { losses, trainer };
}

function assertCurvesAgree(gpu: Map<number, number>, cpu: Map<number, number>, steps: number[]): number {
  let worst = 0;
  for (const s of steps) {
    const g = gpu.get(s);
    const c = cpu.get(s);
    assert.ok(g !== undefined && c !== undefined, `step ${s}: GPU ${g}, CPU ${c}`);
    const rel = Math.abs(g - c) / Math.abs(c);
    worst = Math.max(worst, rel);
    assert.ok(rel <= RELATIVE, `step ${s}: GPU loss ${g}, CPU loss ${c} (relative ${rel.toExponential(2)})`);
  }
  return worst;
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, k) => a + k);

describe('GPU training in the panel webview', { timeout: 600_000 }, () => {
  let panel: Panel;
  let gpuCheckpoint: Uint8Array;

  before(async () => {
    panel = await openPanel(browser, server);
  });

  after(async () => {
    await panel?.close();
  });

  it('trains in a Web Worker from a blob: URL under the panel CSP, reporting like a CPU run, on the CPU engine\'s loss curve', async () => {
    await startRun(panel.page, request());
    const messages = await waitForEnd(panel.page);
    const types = messages.map((m) => m.type);
    const backend = messages.find((m) => m.type === 'backend');
    assert.ok(backend && backend.type === 'backend', `no backend message: ${types.join(' ')}`);
    console.log(`GPU worker: ${backend.thread}, renderer ${backend.renderer}`);
    assert.equal(backend.thread, 'worker');
    const started = messages.find((m) => m.type === 'started');
    assert.ok(started && started.type === 'started' && started.step === 0 && started.totalSteps === 30, JSON.stringify(started));
    const finished = messages.at(-1);
    assert.ok(finished && finished.type === 'finished' && finished.reason === 'done' && finished.step === 30, JSON.stringify(finished));
    const checkpoints = messages.filter((m) => m.type === 'checkpoint');
    assert.deepEqual(checkpoints.map((m) => m.step), [10, 20, 30]);
    const gpu = lossesOf(messages);
    const cpu = cpuRun(30);
    const worst = assertCurvesAgree(gpu, cpu.losses, range(1, 30));
    console.log(`30 steps: loss ${gpu.get(1)?.toFixed(4)} -> ${gpu.get(30)?.toFixed(4)} on the GPU, ${cpu.losses.get(30)?.toFixed(4)} on the CPU; worst relative difference ${worst.toExponential(2)}`);
    // The last checkpoint is the run's, in the contract's format, with weights near the CPU's.
    const last = checkpoints.at(-1);
    assert.ok(last && last.type === 'checkpoint');
    gpuCheckpoint = last.bytes;
    const ckpt = decodeCheckpoint(last.bytes);
    assert.equal(ckpt.training.step, 30);
    const reference = cpu.trainer.checkpoint();
    let worstWeight = 0;
    for (const [name, values] of ckpt.params) {
      const ref = reference.params.get(name) as Float32Array;
      for (let k = 0; k < values.length; k++) worstWeight = Math.max(worstWeight, Math.abs(values[k] - ref[k]));
    }
    console.log(`weights after 30 steps: largest GPU - CPU difference ${worstWeight.toExponential(2)}`);
    assert.ok(worstWeight < 1e-3, `weights differ by ${worstWeight}`);
    assert.deepEqual(await problems(panel), []);
  });

  it('a run continues across backends: a CPU checkpoint on the GPU, and the GPU checkpoint on the CPU', async () => {
    // CPU 15 steps, then 15 more on the GPU, against CPU 30 straight.
    const straight = cpuRun(40);
    const first = cpuRun(15);
    await clearGpu(panel.page);
    await startRun(panel.page, request({ settings: { ...SETTINGS, steps: 15 } }), encodeCheckpoint(first.trainer.checkpoint()));
    const messages = await waitForEnd(panel.page);
    const started = messages.find((m) => m.type === 'started');
    assert.ok(started && started.type === 'started' && started.step === 15 && started.totalSteps === 30, JSON.stringify(started));
    const worstOnGpu = assertCurvesAgree(lossesOf(messages), straight.losses, range(16, 30));
    // The GPU's own 30-step checkpoint (previous test) continued 10 steps on the CPU.
    assert.ok(gpuCheckpoint, 'the previous test made a GPU checkpoint');
    const continued = cpuRun(40, gpuCheckpoint);
    const worstOnCpu = assertCurvesAgree(continued.losses, straight.losses, range(31, 40));
    console.log(`CPU→GPU steps 16-30 worst relative ${worstOnGpu.toExponential(2)}; GPU→CPU steps 31-40 worst relative ${worstOnCpu.toExponential(2)}`);
  });

  it('traces the watched text for the panel, and stops on request with a last checkpoint', async () => {
    await clearGpu(panel.page);
    await startRun(panel.page, request({ settings: { ...SETTINGS, steps: 100_000 } }));
    await sendToGpu(panel.page, { type: 'watch', sequence: { text: TEXT.slice(0, 40), source: 'the test', keep: 'last' }, everyMs: 0 });
    await panel.page.waitForFunction(
      () => (window as unknown as { __gpu: Array<{ message: { type: string } }> }).__gpu.some((m) => m.message.type === 'panel'),
      undefined,
      { timeout: 120_000 },
    );
    await sendToGpu(panel.page, { type: 'stop' });
    const messages = await waitForEnd(panel.page);
    const finished = messages.at(-1);
    assert.ok(finished && finished.type === 'finished' && finished.reason === 'stopped', JSON.stringify(finished));
    const lastCheckpoint = messages.filter((m) => m.type === 'checkpoint').at(-1);
    assert.ok(lastCheckpoint && lastCheckpoint.type === 'checkpoint' && lastCheckpoint.step === finished.step, 'the stopped run saved its last step');
    const trace = messages.find((m) => m.type === 'panel');
    assert.ok(trace && trace.type === 'panel' && trace.message.type === 'trace');
    assert.ok(checkHostToPanel(trace.message).ok);
    assert.equal(trace.message.tokens.join(''), TEXT.slice(0, 40));
    assert.ok(trace.message.entries[0].states.every(Number.isFinite));
    assert.deepEqual(await problems(panel), []);
  });

  it('a run that diverges on the GPU keeps the weights from before the update that broke them: its checkpoint is the CPU\'s at that step, and computes a finite loss', async () => {
    // Adam at lr 3 explodes (loss above 10 times the starting loss) a few steps in, on either backend.
    const settings: TrainingSettings = { ...SETTINGS, learning_rate: 3 };
    const cpu = Trainer.create(TEXT, 'fable', SHAPE, settings);
    const weightsAt: Float32Array[] = [];
    const cpuLosses: number[] = [];
    let cpuError: DivergenceError | null = null;
    while (!cpuError && !cpu.done) {
      weightsAt[cpu.step] = Float32Array.from(cpu.model.params);
      try {
        cpuLosses.push(cpu.trainStep().loss);
      } catch (e) {
        if (!(e instanceof DivergenceError)) throw e;
        cpuError = e;
      }
    }
    assert.ok(cpuError && cpuError.keptStep > 0, 'the reference diverges after a few steps');
    await clearGpu(panel.page);
    await startRun(panel.page, request({ settings }));
    const messages = await waitForEnd(panel.page);
    const failed = messages.at(-1);
    assert.ok(failed && failed.type === 'failed' && failed.kind === 'diverged', JSON.stringify(failed));
    const saved = messages.filter((m) => m.type === 'checkpoint').at(-1);
    assert.ok(saved && saved.type === 'checkpoint', 'the last good weights were saved');
    const ckpt = decodeCheckpoint(saved.bytes);
    assert.equal(ckpt.training.step, cpuError.keptStep);
    const reference = weightsAt[cpuError.keptStep];
    let worstWeight = 0, offset = 0;
    for (const values of ckpt.params.values()) {
      for (let k = 0; k < values.length; k++) worstWeight = Math.max(worstWeight, Math.abs(values[k] - reference[offset + k]));
      offset += values.length;
    }
    console.log(`diverged at step ${cpuError.step} (${cpuError.reason}); the GPU kept step ${ckpt.training.step}, weights within ${worstWeight.toExponential(2)} of the CPU's`);
    // Adam moves every weight by about lr a step, so rounding differences grow with lr and the steps;
    // the update that broke the weights moved them by about lr (3), far beyond this.
    const tolerance = 1e-3 * settings.learning_rate * cpuError.keptStep;
    assert.ok(worstWeight < tolerance, `weights differ by ${worstWeight}, more than ${tolerance}`);
    const resumed = Trainer.resume({ ...ckpt, settings: { ...ckpt.settings, steps: ckpt.training.step + 1 } }, TEXT, 'fable');
    const next = resumed.trainStep().loss;
    assert.ok(Number.isFinite(next) && next <= 10 * cpuLosses[0], `the next loss ${next} is finite and not exploded (the CPU's: ${cpuLosses[cpuError.keptStep]})`);
    assert.deepEqual(await problems(panel), []);
  });

  it('ignores malformed relay messages: nothing starts', async () => {
    await clearGpu(panel.page);
    await panel.page.evaluate(() => {
      window.postMessage({ type: 'gpu', message: { type: 'train', text: 5 } }, '*');
      window.postMessage({ type: 'gpuWorker', source: 42 }, '*');
      window.postMessage({ type: 'gpu', message: { type: 'stop', extra: true } }, '*');
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await gpuMessages(panel.page), []);
    const warnings = panel.console.filter((c) => /ignored a malformed GPU message/.test(c.text));
    assert.equal(warnings.length, 3);
  });
});

describe('GPU training without a worker\'s OffscreenCanvas, or without WebGL2', { timeout: 600_000 }, () => {
  it('trains on the panel\'s main thread, yielding between steps so the page keeps running', async () => {
    const panel = await openPanel(browser, server, { noOffscreenCanvas: true });
    try {
      // A timer that should tick every 20 ms: the longest gap between ticks shows whether the page froze.
      await panel.page.evaluate(() => {
        const w = window as unknown as { __gaps: number[] };
        w.__gaps = [];
        let last = performance.now();
        setInterval(() => {
          const now = performance.now();
          w.__gaps.push(now - last);
          last = now;
        }, 20);
      });
      await startRun(panel.page, request());
      const messages = await waitForEnd(panel.page);
      const backend = messages.find((m) => m.type === 'backend');
      assert.ok(backend && backend.type === 'backend' && backend.thread === 'main', JSON.stringify(backend));
      const finished = messages.at(-1);
      assert.ok(finished && finished.type === 'finished' && finished.step === 30, JSON.stringify(finished));
      assertCurvesAgree(lossesOf(messages), cpuRun(30).losses, range(1, 30));
      const gaps = await panel.page.evaluate(() => (window as unknown as { __gaps: number[] }).__gaps);
      const longest = Math.max(...gaps);
      console.log(`main thread: ${gaps.length} timer ticks during the run, longest gap ${longest.toFixed(0)} ms`);
      assert.ok(gaps.length >= 5 && longest < 2000, `the page froze: ${gaps.length} ticks, longest gap ${longest} ms`);
      assert.deepEqual(await problems(panel), []);
    } finally {
      await panel.close();
    }
  });

  it('a context lost mid-run ends the run as lost, after its last good checkpoint (the host then continues on the CPU from there)', async () => {
    const panel = await openPanel(browser, server, { noOffscreenCanvas: true, captureWebGL2: true });
    try {
      await startRun(panel.page, request({ settings: { ...SETTINGS, steps: 100_000 }, saveEverySteps: 5 }));
      await panel.page.waitForFunction(
        () => (window as unknown as { __gpu: Array<{ message: { type: string; step?: number } }> }).__gpu.some((m) => m.message.type === 'checkpoint' && (m.message.step ?? 0) >= 10),
        undefined,
        { timeout: 120_000 },
      );
      await panel.page.evaluate(() => {
        const gl = (window as unknown as { __gl2: WebGL2RenderingContext[] }).__gl2.at(-1);
        gl?.getExtension('WEBGL_lose_context')?.loseContext();
      });
      const messages = await waitForEnd(panel.page, 60_000);
      const failed = messages.at(-1);
      assert.ok(failed && failed.type === 'failed' && failed.kind === 'lost', JSON.stringify(failed));
      assert.equal(failed.message, 'the GPU context was lost');
      // Every checkpoint it sent is whole and finite: nothing read from the lost context was saved.
      const checkpoints = messages.filter((m) => m.type === 'checkpoint');
      for (const c of checkpoints) {
        const ckpt = decodeCheckpoint(c.bytes);
        for (const [name, values] of ckpt.params) assert.ok(values.every(Number.isFinite) && values.some((x) => x !== 0), `${name} at step ${c.step}`);
      }
      console.log(`context lost after checkpoint ${checkpoints.at(-1)?.step}: ${failed.message}`);
    } finally {
      await panel.close();
    }
  });

  it('without WebGL2 the run fails at once as unavailable, in one line (the host then trains on the CPU)', async () => {
    const panel = await openPanel(browser, server, { noOffscreenCanvas: true, noWebGL2: true });
    try {
      await startRun(panel.page, request());
      const messages = await waitForEnd(panel.page, 30_000);
      assert.deepEqual(messages.map((m) => m.type), ['failed']);
      const failed = messages[0];
      assert.ok(failed.type === 'failed' && failed.kind === 'unavailable' && failed.message === 'WebGL2 is not available', JSON.stringify(failed));
    } finally {
      await panel.close();
    }
  });
});
