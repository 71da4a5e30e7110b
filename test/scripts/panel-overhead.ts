// How much the Inspect States panel slows training: the same run in a worker thread with and without
// the panel's trace (every second, as the extension asks), alternated so both see the same machine.
//   npx tsx test/scripts/panel-overhead.ts [--rounds N] [--hidden H]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WorkerJob } from '../../src/extension/workerJob';
import { readSettings, trainingPlan, type SettingKey } from '../../src/extension/settings';
import type { TrainRequest } from '../../src/protocol/worker';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, hidden: { type: 'string', default: '128' }, steps: { type: 'string', default: '150' } } });
const ROOT = join(__dirname, '..', '..');
const text = readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8').repeat(40);
const overrides: Partial<Record<SettingKey, unknown>> = { hiddenSize: Number(values.hidden), steps: Number(values.steps), batchSize: 32, sequenceLength: 64 };
const plan = trainingPlan(readSettings((k) => overrides[k]));
const dir = mkdtempSync(join(tmpdir(), 'lstm-lens-overhead-'));

async function run(watch: boolean): Promise<number> {
  const request: TrainRequest = { type: 'train', text, sourceName: 'fable', ...plan, resumeFrom: null, checkpointPath: join(dir, 'x.safetensors'), saveEverySteps: 1000000, saveEveryMs: 0, progressEveryMs: 200, timing: null };
  let tokensPerSecond = 0;
  let traces = 0;
  const job = new WorkerJob(join(ROOT, 'dist', 'worker.js'), request, {
    onMessage: (m) => {
      if (m.type === 'finished') tokensPerSecond = m.tokensPerSecond;
      if (m.type === 'panel') traces++;
    },
  });
  if (watch) job.send({ type: 'watch', sequence: { text: text.slice(0, 1500), source: 'the cursor', keep: 'last' }, everyMs: 1000 });
  await job.outcome;
  if (watch && traces === 0) throw new Error('no trace was made');
  return tokensPerSecond;
}

(async () => {
  const without: number[] = [];
  const withPanel: number[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    without.push(await run(false));
    withPanel.push(await run(true));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const a = median(without), b = median(withPanel);
  console.log(`hidden ${values.hidden}, batch 32 × 64, ${values.steps} steps, ${values.rounds} rounds alternated`);
  console.log(`without the panel: ${without.map((x) => x.toFixed(0)).join(', ')} tokens/s (median ${a.toFixed(0)})`);
  console.log(`with the panel (a trace a second): ${withPanel.map((x) => x.toFixed(0)).join(', ')} tokens/s (median ${b.toFixed(0)})`);
  console.log(`slowdown: ${((100 * (a - b)) / a).toFixed(1)}%`);
  rmSync(dir, { recursive: true, force: true });
})();
