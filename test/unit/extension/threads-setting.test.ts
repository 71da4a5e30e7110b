// lstmLens.threads (0 = every core, up to 8; else 1 to 8), from the one table of training options:
// the setting's checks and its place in package.json, the worker messages that carry it (the
// Node worker's and the GPU worker's), and that it is the machine's, not the run's: a real worker
// (dist/worker.js, built by npm run build) trains with it, the same weights whatever the count,
// and the checkpoint neither stores it nor is judged against it.

import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeCheckpoint } from '../../../src/engine/checkpoint';
import { threadCount, validateSettings } from '../../../src/engine/trainingOptions';
import { ModelStore } from '../../../src/extension/modelStore';
import { readSettings, SettingsError, trainingPlan, type SettingKey } from '../../../src/extension/settings';
import { WorkerJob } from '../../../src/extension/workerJob';
import { checkHostToWorker, GpuTrainSchema, type TrainRequest } from '../../../src/protocol/worker';
import * as v from 'valibot';

const ROOT = join(__dirname, '..', '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-threads-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const withThreads = (value: unknown) => (k: SettingKey): unknown => (k === 'threads' ? value : undefined);

describe('lstmLens.threads', () => {
  it('is 0 (every core, up to 8) unless set, and takes 0 to 8', () => {
    assert.equal(readSettings(() => undefined).threads, 0);
    for (let n = 0; n <= 8; n++) assert.equal(readSettings(withThreads(n)).threads, n);
  });

  for (const bad of [-1, 9, 2.5, 'x', '2', Number.NaN, true]) {
    it(`refuses ${JSON.stringify(bad)} in one line naming the setting and its range`, () => {
      assert.throws(
        () => readSettings(withThreads(bad)),
        (e) => e instanceof SettingsError && e.message === `lstmLens.threads must be a whole number from 0 to 8 (it is ${JSON.stringify(bad)})`,
      );
    });
  }

  it('package.json contributes it under Training: an integer from 0 to 8, default 0', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const training = manifest.contributes.configuration.find((s: { id: string }) => s.id === 'lstmLens.training');
    const p = training.properties['lstmLens.threads'];
    assert.equal(p.type, 'integer');
    assert.equal(p.default, 0);
    assert.equal(p.minimum, 0);
    assert.equal(p.maximum, 8);
    assert.match(p.markdownDescription, /0 for every core, up to 8/);
  });

  it('0 resolves to the machine\'s count, any other count to itself', () => {
    assert.equal(threadCount(0, 6), 6);
    assert.equal(threadCount(undefined, 6), 6);
    assert.equal(threadCount(3, 6), 3);
    assert.equal(threadCount(1, 8), 1);
  });
});

describe('the worker messages carry it', () => {
  const plan = trainingPlan(readSettings(withThreads(3)));
  const request: TrainRequest = { type: 'train', text: 'abc', sourceName: 'a.txt', ...plan, resumeFrom: null, checkpointPath: '/x', saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 100, timing: null };

  it('the plan of a run has the setting\'s count apart from its shape and settings', () => {
    assert.equal(plan.threads, 3);
    assert.ok(!('threads' in plan.settings) && !('threads' in plan.shape));
  });

  it('a train request passes with 0 to 8 or none, and is refused with anything else', () => {
    const checked = checkHostToWorker(request);
    assert.ok(checked.ok && checked.message.type === 'train' && checked.message.threads === 3);
    const { threads: _t, ...none } = request;
    assert.ok(checkHostToWorker(none).ok, 'absent: every core (older hosts)');
    for (let n = 0; n <= 8; n++) assert.ok(checkHostToWorker({ ...request, threads: n }).ok, `threads ${n}`);
    for (const bad of [-1, 9, 2.5, 'x', null, Number.POSITIVE_INFINITY]) {
      const result = checkHostToWorker({ ...request, threads: bad });
      assert.ok(!result.ok && /threads must be a whole number from 0 to 8/.test(result.error), `threads ${String(bad)}: ${JSON.stringify(result)}`);
    }
  });

  it('the GPU worker takes the same request (the host passes it on; the GPU has no thread pool)', () => {
    const { resumeFrom: _r, checkpointPath: _c, ...fields } = request;
    assert.ok(v.safeParse(GpuTrainSchema, { ...fields, resume: null }).success);
    assert.ok(!v.safeParse(GpuTrainSchema, { ...fields, threads: 9, resume: null }).success);
  });

  it('the checkpoint\'s settings check ignores it: a run\'s settings never hold it', () => {
    const settings = validateSettings({ ...plan.settings, threads: 5 } as Record<string, unknown>);
    assert.deepEqual(settings, plan.settings);
  });
});

describe('a real worker trains with it', { timeout: 180_000 }, () => {
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
  const plan = trainingPlan(readSettings((k) => ({ hiddenSize: 16, sequenceLength: 16, batchSize: 4, steps: 12 } as Partial<Record<SettingKey, unknown>>)[k]));

  async function trainWith(threads: number): Promise<Uint8Array> {
    const store = new ModelStore(join(scratch, `t${threads}`));
    const checkpointPath = store.prepare('file:///fox.txt');
    const request: TrainRequest = { type: 'train', text, sourceName: 'fox.txt', ...plan, threads, resumeFrom: null, checkpointPath, saveEverySteps: 100, saveEveryMs: 0, progressEveryMs: 0, timing: null };
    let engine: string | undefined;
    const outcome = await new WorkerJob(WORKER, request, { onMessage: (m) => { if (m.type === 'started') engine = m.engine; } }).outcome;
    assert.equal(outcome.kind, 'finished', JSON.stringify(outcome));
    // The log names what ran: the kernels (relaxed SIMD's FMA on Node 20 with the flag the worker sets) and the threads.
    const expected = threads === 0 ? Math.min(8, availableParallelism()) : Math.min(threads, availableParallelism());
    assert.equal(engine, `CPU, kernels wasm relaxed-simd fma, ${expected} thread${expected === 1 ? '' : 's'}`);
    return readFileSync(checkpointPath);
  }

  it('threads 1, 2 and 0 (every core) give the same checkpoint, which does not store the count', async () => {
    const one = await trainWith(1);
    const two = await trainWith(2);
    const auto = await trainWith(0);
    // The header (safetensors: its length, then its JSON) names no thread count.
    const headerLength = Number(new DataView(one.buffer, one.byteOffset).getBigUint64(0, true));
    assert.doesNotMatch(new TextDecoder().decode(one.subarray(8, 8 + headerLength)), /thread/i);
    const weights = (bytes: Uint8Array) => {
      const c = decodeCheckpoint(bytes);
      return { params: [...c.params], moments: [...c.optimizer.slots].map(([slot, m]) => [slot, [...m]]), settings: c.settings };
    };
    assert.deepEqual(weights(two), weights(one));
    assert.deepEqual(weights(auto), weights(one));
  });
});
