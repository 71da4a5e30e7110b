// Soak: the extension host's side of training, for a long time, watching for leaks. Not a test:
//   npm run soak                    (30 minutes)
//   npx tsx test/scripts/soak.ts --minutes 3 [--sample-seconds 10]
// (dist/worker.js must be built: npm run soak builds it.)
//
// What it does, as the extension does it: trains in worker threads through WorkerJob (the real
// worker), one file at a time and now and then two at once, each run saving checkpoints into a
// ModelStore and continuing the saved run every other time; the panel watches a sequence, traced
// every second (the worker posts a trace with Float32Arrays, the host keeps the latest and the
// whole loss history, as the Inspect States panel does); now and then a burst of rapid starts and
// stops, a run killed mid-step as a crash would, a generation and an inspection.
//
// Every --sample-seconds (10) it records the process's RSS, heap, external memory, the worker
// threads alive (created minus exited, counted on the jobs it made) and the active handles
// (process.getActiveResourcesInfo()), after a full garbage collection: a leak is what survives
// one (without it, the table shows when V8 chose to collect, not what is kept). At the end: a
// table, and a verdict: flat when the mean RSS of the last third of the samples is within 10% of
// the first third's (exit 0), else exit 1.

import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Worker } from 'node:worker_threads';
import type { TrainingSettings } from '../../src/engine/checkpoint';
import { Random } from '../../src/engine/random';
import type { ModelShape } from '../../src/engine/trainer';
import { ModelStore } from '../../src/extension/modelStore';
import { WorkerJob, type JobOutcome } from '../../src/extension/workerJob';
import type { HostToPanel, TraceMessage } from '../../src/protocol/panel';
import type { TrainRequest, WorkerToHost } from '../../src/protocol/worker';

const ROOT = join(__dirname, '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, 'sample-seconds': { type: 'string', default: '10' }, seed: { type: 'string', default: '1' } } });
const minutes = Number(values.minutes);
const sampleSeconds = Number(values['sample-seconds']);
if (!(minutes > 0) || !(sampleSeconds > 0)) {
  process.stderr.write('usage: soak.ts [--minutes M] [--sample-seconds S] [--seed N]\n');
  process.exit(2);
}
if (!existsSync(WORKER)) {
  process.stderr.write(`soak: ${WORKER} is missing: run npm run build first (npm run soak does)\n`);
  process.exit(2);
}

const rng = new Random(Number(values.seed));
const storage = mkdtempSync(join(tmpdir(), 'lstm-lens-soak-'));
const store = new ModelStore(storage);
const FABLE = readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
const TEXTS = [FABLE.repeat(6), FABLE.toUpperCase().repeat(4)];
const DOCUMENTS = ['file:///soak/fable.txt', 'file:///soak/FABLE.txt'];

const SHAPE: ModelShape = { hidden_size: 48, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
const SETTINGS: TrainingSettings = {
  tokens: 'char', max_vocab: 0, sequence_length: 32, batch_size: 8, steps: 250, optimizer: 'adam', learning_rate: 0.004,
  schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 0,
};

// ---------------------------------------------------------------------------------------------
// Jobs, counted: created, settled, and threads that have exited.

const counts = { created: 0, exited: 0, finished: 0, stopped: 0, failed: 0, crashed: 0, steps: 0, traces: 0, malformed: 0 };

function track(job: WorkerJob): WorkerJob {
  counts.created++;
  // WorkerJob keeps its thread to itself; the soak counts exits to see that none is left behind.
  (job as unknown as { worker: Worker }).worker.once('exit', () => counts.exited++);
  void job.outcome.then((o: JobOutcome) => {
    if (o.kind === 'finished') {
      if (o.message.type === 'finished' && o.message.reason === 'stopped') counts.stopped++;
      else counts.finished++;
    } else if (o.kind === 'failed') counts.failed++;
    else counts.crashed++;
  });
  return job;
}

/** What the host keeps for the panel, as InspectPanel does: the latest trace and the run's whole history. */
const panel = { trace: null as TraceMessage | null, history: { step: [] as number[], loss: [] as number[], gradNorm: [] as number[], learningRate: [] as number[] } };

function onMessage(m: WorkerToHost): void {
  if (m.type === 'progress') {
    counts.steps += m.history.step.length;
    panel.history.step.push(...m.history.step);
    panel.history.loss.push(...m.history.loss);
    panel.history.gradNorm.push(...m.history.gradNorm);
    panel.history.learningRate.push(...m.history.learningRate);
  } else if (m.type === 'started') {
    for (const k of ['step', 'loss', 'gradNorm', 'learningRate'] as const) panel.history[k] = [];
  } else if (m.type === 'panel') {
    const message: HostToPanel = m.message;
    if (message.type === 'trace') {
      panel.trace = message;
      counts.traces++;
    }
  }
}

function train(document: number, options: { resume?: boolean; steps?: number } = {}): WorkerJob {
  const uri = DOCUMENTS[document];
  const request: TrainRequest = {
    type: 'train', text: TEXTS[document], sourceName: uri, shape: SHAPE, settings: { ...SETTINGS, steps: options.steps ?? SETTINGS.steps, seed: rng.int(1000) },
    resumeFrom: options.resume && store.has(uri) ? store.checkpointPath(uri) : null, checkpointPath: store.prepare(uri), saveEverySteps: 50, saveEveryMs: 0, progressEveryMs: 250, timing: null,
  };
  const job = track(new WorkerJob(WORKER, request, { onMessage, onMalformed: () => counts.malformed++ }));
  // The panel is open on this file: trace the start of the text every second, as the extension does.
  job.send({ type: 'watch', sequence: { text: TEXTS[document].slice(0, 200), source: 'the cursor', keep: 'last' }, everyMs: 1000 });
  return job;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One round of what a user might do. */
async function round(k: number): Promise<void> {
  const pick = k % 8;
  if (pick === 3) {
    // Rapid start and stop: a run stopped after a few hundred milliseconds, five times over.
    for (let i = 0; i < 5; i++) {
      const job = train(0, { steps: 100_000 });
      await sleep(50 + rng.int(400));
      job.stop();
      await job.outcome;
    }
  } else if (pick === 5) {
    // Two files at once; one of them dies mid-run (as an out-of-memory kill would), the other finishes.
    const a = train(0, { resume: true });
    const b = train(1, { steps: 100_000 });
    await sleep(300 + rng.int(1000));
    await b.kill();
    await Promise.all([a.outcome, b.outcome]);
  } else if (pick === 7) {
    // Generate at the cursor, then inspect, from the saved model.
    const uri = DOCUMENTS[0];
    if (store.has(uri)) {
      await track(new WorkerJob(WORKER, { type: 'generate', checkpointPath: store.checkpointPath(uri), prime: 'the mice', length: 200, temperature: 0.8, topK: 0, seed: k }, { onMessage })).outcome;
      await track(new WorkerJob(WORKER, { type: 'inspect', checkpointPath: store.checkpointPath(uri), file: 'fable.txt', sequence: { text: FABLE.slice(0, 300), source: 'the start', keep: 'first' }, withModel: true }, { onMessage })).outcome;
    }
  } else {
    // A whole run, continuing the saved one every other time.
    await train(k % 2, { resume: k % 4 === 0 }).outcome;
  }
}

// ---------------------------------------------------------------------------------------------
// Samples.

interface Sample {
  seconds: number;
  rss: number;
  heap: number;
  external: number;
  workers: number;
  handles: number;
  kinds: string;
  jobs: number;
  steps: number;
}

const samples: Sample[] = [];
const started = performance.now();
const MB = 2 ** 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function sample(): Sample {
  gc();
  const m = process.memoryUsage();
  const resources = process.getActiveResourcesInfo();
  const byKind = new Map<string, number>();
  for (const r of resources) byKind.set(r, (byKind.get(r) ?? 0) + 1);
  const s: Sample = {
    seconds: (performance.now() - started) / 1000,
    rss: m.rss / MB,
    heap: m.heapUsed / MB,
    external: m.external / MB,
    workers: counts.created - counts.exited,
    handles: resources.length,
    kinds: [...byKind].map(([k, n]) => `${k}×${n}`).join(' '),
    jobs: counts.created,
    steps: counts.steps,
  };
  samples.push(s);
  return s;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const row = (s: Sample): string =>
  `${s.seconds.toFixed(0).padStart(6)} ${s.rss.toFixed(0).padStart(7)} ${s.heap.toFixed(1).padStart(7)} ${s.external.toFixed(1).padStart(8)} ${String(s.workers).padStart(7)} ${String(s.handles).padStart(7)} ${String(s.jobs).padStart(5)} ${String(s.steps).padStart(7)}  ${s.kinds}`;
const HEADER = `${'s'.padStart(6)} ${'RSS MB'.padStart(7)} ${'heap MB'.padStart(7)} ${'ext MB'.padStart(8)} ${'workers'.padStart(7)} ${'handles'.padStart(7)} ${'jobs'.padStart(5)} ${'steps'.padStart(7)}  active resources`;

async function main(): Promise<void> {
  process.stdout.write(`soak: ${minutes} minutes, a sample every ${sampleSeconds} s, worker ${WORKER}\n${HEADER}\n`);
  const deadline = started + minutes * 60_000;
  const timer = setInterval(() => process.stdout.write(`${row(sample())}\n`), sampleSeconds * 1000);
  let k = 0;
  while (performance.now() < deadline) await round(k++);
  clearInterval(timer);
  // Everything ended: give the threads a moment to exit, then the last word.
  for (let wait = 0; wait < 50 && counts.created > counts.exited; wait++) await sleep(100);
  const last = sample();
  process.stdout.write(`${row(last)}  (after the last job)\n\n`);

  const third = Math.max(1, Math.floor((samples.length - 1) / 3));
  const body = samples.slice(0, -1); // the final sample is after the jobs ended
  const first = mean(body.slice(0, third).map((s) => s.rss));
  const lastThird = mean(body.slice(-third).map((s) => s.rss));
  const heapFirst = mean(body.slice(0, third).map((s) => s.heap));
  const heapLast = mean(body.slice(-third).map((s) => s.heap));
  const change = (lastThird - first) / first;
  const flat = Math.abs(change) <= 0.1;
  process.stdout.write(
    `jobs ${counts.created} (finished ${counts.finished}, stopped ${counts.stopped}, failed ${counts.failed}, crashed or killed ${counts.crashed}), ` +
      `${counts.steps} steps, ${counts.traces} traces, ${counts.malformed} malformed messages; worker threads left: ${last.workers}; active resources at the end: ${last.handles}\n`,
  );
  process.stdout.write(`RSS: first third ${first.toFixed(0)} MB, last third ${lastThird.toFixed(0)} MB (${(100 * change).toFixed(1)}%); heap ${heapFirst.toFixed(1)} → ${heapLast.toFixed(1)} MB\n`);
  const clean = last.workers === 0 && counts.malformed === 0 && counts.failed === 0;
  process.stdout.write(`verdict: ${flat ? 'flat' : 'GROWING'}${clean ? '' : ' (and not clean: threads left, malformed messages or failed jobs)'}\n`);
  rmSync(storage, { recursive: true, force: true });
  process.exitCode = flat && clean ? 0 : 1;
}

void main();
