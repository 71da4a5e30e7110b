// lstm-lens bench: the training and generation benchmark of the CPU speed issue (docs/cli.md,
// bench). The workload: char-level, V = 96, one-hot input, many-to-many, T = 64, B = 32 (2,048
// tokens a step), Adam (lr 2e-3), clipping at global norm 5, float32, trace off. A timed step is
// forward, loss, backward, clipping and the update; tokens/s is the median of the timed steps after
// 3 warm-up steps. Generation: H = 512, L = 2, batch 1, 200 tokens, each sampled and fed back.
//
// Each configuration runs in a process of its own (this same command, restricted to it), so its
// peak resident memory is its own.

import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { TrainingSettings } from '../engine/checkpoint';
import { InputError } from '../engine/config';
import { unknownOptionMessage } from './options';
import { printable } from '../engine/format';
import { fastKernelsActive, kernelPath, useFastKernels } from '../engine/kernels';
import { Random } from '../engine/random';
import { TextGenerator } from '../engine/sampling';
import { Trainer } from '../engine/trainer';
import { fastKernelsAvailable, poolStats, preferFmaKernels, setMatmulSplitThreshold, type KernelPath } from '../engine/wasm/simd';
import { defaultThreads, startMatmulPool, stopMatmulPool, threadsInUse, waitForMatmulPool } from '../node/matmulPool';
import { threadCount } from '../engine/trainingOptions';
import { readThreads } from './trainOptions';
import { enableRelaxedSimd } from '../node/wasmFeatures';

export const BENCH_HELP = `lstm-lens bench [--json] [--hidden H] [--layers L] [--steps N] [--threads N] [--kernels fma|simd|js]

Measures training (tokens/s, GFLOP/s, peak resident memory) on the benchmark workload: char-level,
vocabulary 96, one-hot input, many-to-many, T = 64, B = 32, Adam (lr 2e-3), clipping at 5, float32.
Every configuration (H in 128, 512; L in 1, 2) runs in a process of its own; tokens/s is the median
of N timed steps (default 10) after 3 warm-up steps. Then generation: H = 512, L = 2, batch 1,
200 tokens sampled and fed back.

  --hidden H, --layers L   only this configuration
  --steps N              timed steps per configuration (default 10; 2000 shows memory staying flat)
  --threads N            threads, 1 to 8; 0 for every core, up to 8 (the default): each takes
                         a share of the batch's sequences through every time step, and part
                         of each large multiply (the same results as one thread)
  --json                 end stdout with one JSON line: {"train": [...], "generate": {...}, "kernels": "..."}
  --kernels K            fma (WebAssembly relaxed SIMD's fused multiply-add, the default where the
                         runtime has it), simd (WebAssembly SIMD, multiply then add) or js (the plain
                         TypeScript loops, the reference the others are checked against)
  --plain                the same as --kernels js

The first line names the kernels that ran: "kernels: wasm relaxed-simd fma", "wasm simd" or "js".`;

const V = 96;
const T = 64;
const B = 32;
const WARMUP = 3;
const GENERATE = { hidden: 512, layers: 2, tokens: 200, warmup: 50 };
const CONFIGS: Array<[number, number]> = [[128, 1], [128, 2], [512, 1], [512, 2]];

export interface TrainResult {
  hidden: number;
  layers: number;
  tokens_per_s: number;
  gflops: number;
  peak_rss_mb: number;
  step_ms: number;
  steps: number;
  /** Threads that ran the large multiplies (2: the helper thread was on). */
  threads: number;
  /** Of the chunks of split multiplies, the share the helper thread ran (0 to 1; 0 with one thread). */
  helper_share: number;
  /** Resident memory (MB) after the warm-up and at points through the timed steps: [step, MB]. */
  rss_mb: Array<[number, number]>;
}

export interface GenerateResult {
  hidden: number;
  layers: number;
  tokens_per_s: number;
  peak_rss_mb: number;
  threads: number;
}

/** Floating-point operations of one training step, as the issue counts them. */
export function stepFlops(H: number, L: number): number {
  let forward = 0;
  for (let l = 0; l < L; l++) {
    const I = l === 0 ? V : H;
    forward += 2 * B * T * 4 * H * (I + H);
  }
  forward += 2 * B * T * H * V;
  return 3 * forward; // backward is twice the forward
}

/** A text of exactly 96 distinct characters (printable ASCII and the line break), seeded. */
function benchText(length: number): string {
  const alphabet: string[] = ['\n'];
  for (let c = 32; c < 127; c++) alphabet.push(String.fromCharCode(c));
  const rng = new Random(1);
  const out: string[] = [...alphabet];
  while (out.length < length) out.push(alphabet[rng.int(alphabet.length)]);
  return out.join('');
}

function rssMb(): number {
  return process.memoryUsage.rss() / 2 ** 20;
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024; // kilobytes
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function settings(steps: number): TrainingSettings {
  return {
    tokens: 'char',
    max_vocab: 0,
    sequence_length: T,
    batch_size: B,
    steps: steps + WARMUP,
    optimizer: 'adam',
    learning_rate: 2e-3,
    schedule: 'constant',
    clip: 5,
    init: 'pytorch',
    init_value: 0.1,
    seed: 0,
  };
}

export function benchTrain(H: number, L: number, steps: number): TrainResult {
  const text = benchText(1 << 18);
  const trainer = Trainer.create(text, 'bench', { hidden_size: H, num_layers: L, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, settings(steps));
  if (trainer.tokenizer.size !== V) throw new Error(`bench vocabulary is ${trainer.tokenizer.size}, expected ${V}`);
  for (let s = 0; s < WARMUP; s++) trainer.trainStep();
  const rss: Array<[number, number]> = [[0, rssMb()]];
  const every = Math.max(1, Math.floor(steps / 10));
  const times: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const t0 = performance.now();
    trainer.trainStep();
    times.push(performance.now() - t0);
    if (s % every === 0 || s === steps) rss.push([s, rssMb()]);
  }
  const stepMs = median(times);
  return {
    hidden: H,
    layers: L,
    tokens_per_s: (B * T) / (stepMs / 1000),
    gflops: stepFlops(H, L) / (stepMs / 1000) / 1e9,
    peak_rss_mb: peakRssMb(),
    step_ms: stepMs,
    steps,
    rss_mb: rss,
    threads: threadsInUse(),
    helper_share: poolStats.chunks ? 1 - poolStats.callerChunks / poolStats.chunks : 0,
  };
}

export function benchGenerate(): GenerateResult {
  const { hidden: H, layers: L } = GENERATE;
  const text = benchText(1 << 14);
  const trainer = Trainer.create(text, 'bench', { hidden_size: H, num_layers: L, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, settings(1));
  const generator = new TextGenerator(trainer.model, trainer.tokenizer, { temperature: 1, topK: 0 }, 0, T);
  generator.prime('The ');
  for (let k = 0; k < GENERATE.warmup; k++) generator.next();
  const t0 = performance.now();
  for (let k = 0; k < GENERATE.tokens; k++) generator.next();
  const seconds = (performance.now() - t0) / 1000;
  return { hidden: H, layers: L, tokens_per_s: GENERATE.tokens / seconds, peak_rss_mb: peakRssMb(), threads: threadsInUse() };
}

/** A plain decimal whole number from 1 to `max` (no sign, spaces, 0x or exponent), as the other commands take them. */
function positiveInt(value: string | undefined, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new InputError(`--${name} must be ${max === Number.MAX_SAFE_INTEGER ? 'a whole number ≥ 1' : `a whole number from 1 to ${max}`}, got "${printable(value, 60)}"`);
  }
  return n;
}

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Runs this command again, restricted, in a child process; returns its JSON line. */
function child(args: string[]): { train: TrainResult[]; generate: GenerateResult | null } {
  const script = process.argv[1];
  const run = spawnSync(process.execPath, [...process.execArgv, script, 'bench', '--json', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`bench ${args.join(' ')} failed: ${run.stderr.trim() || `exit ${run.status}`}`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

const BENCH_OPTIONS = {
  json: { type: 'boolean', default: false },
  hidden: { type: 'string' },
  layers: { type: 'string' },
  steps: { type: 'string' },
  threads: { type: 'string' },
  split: { type: 'string' }, // internal: the smallest M·N·K split across threads (for measuring it)
  plain: { type: 'boolean', default: false },
  kernels: { type: 'string' },
  part: { type: 'string' }, // internal: train | generate, for the per-configuration processes
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function bench(argv: string[]): Promise<number> {
  // A mistyped option is named with the nearest one.
  const unknown = unknownOptionMessage(argv, BENCH_OPTIONS);
  if (unknown !== null) throw new InputError(`bench: ${unknown} (see lstm-lens bench --help)`);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: BENCH_OPTIONS,
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    // parseArgs explains some mistakes over several lines; bad usage gets one (exit 2).
    throw new InputError(`bench: ${printable((e as Error).message.trim().replace(/\s*\n\s*/g, ' '), 400)}`);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${BENCH_HELP}\n`);
    return 0;
  }
  const steps = positiveInt(values.steps, 'steps', 10);
  const hidden = values.hidden === undefined ? null : positiveInt(values.hidden, 'hidden', 0, 1 << 14);
  const layers = values.layers === undefined ? null : positiveInt(values.layers, 'layers', 0, 64);
  const part = values.part ?? 'all';
  if (!['all', 'train', 'generate'].includes(part)) throw new InputError(`--part must be train or generate, got ${JSON.stringify(part)}`);
  const kernels = values.plain ? 'js' : (values.kernels ?? 'fma');
  if (!['fma', 'simd', 'js'].includes(kernels)) throw new InputError(`--kernels must be fma, simd or js, got "${printable(kernels, 40)}"`);
  if (kernels === 'fma') enableRelaxedSimd();
  if (kernels === 'simd') preferFmaKernels(false);
  if (kernels === 'js') useFastKernels(false);
  const threads = threadCount(readThreads(values), defaultThreads());
  const passOn = ['--kernels', kernels, '--steps', String(steps), '--threads', String(threads), ...(values.split ? ['--split', values.split] : [])];
  if (values.split !== undefined) setMatmulSplitThreshold(positiveInt(values.split, 'split', 1));
  // The helper thread runs in the processes that measure (the parent only starts them).
  const pooled = part !== 'all' && threads > 1 && fastKernelsActive() && startMatmulPool(threads);
  if (pooled) waitForMatmulPool(); // its start-up is not timed
  try {
    return run();
  } finally {
    if (pooled) stopMatmulPool();
  }

  function run(): number {
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };

  const available = fastKernelsAvailable();
  const path: KernelPath = kernelPath();
  log(
    `lstm-lens bench: char-level, V=${V}, one-hot, many-to-many, T=${T}, B=${B}, Adam lr 2e-3, clip 5, float32; ` +
      `kernels: ${path}${path === 'js' ? '' : available.shared ? ' (shared memory)' : ' (copied operands)'}; ` +
      `threads: ${threads > 1 && fastKernelsActive() && available.shared ? `${threads} (each takes a share of the batch through every time step, and part of each large multiply)` : '1'}`,
  );
  const train: TrainResult[] = [];
  let generate: GenerateResult | null = null;
  const configs = CONFIGS.filter(([h, l]) => (hidden === null || h === hidden) && (layers === null || l === layers));
  if (configs.length === 0) configs.push([hidden ?? 128, layers ?? 1]);
  if (part !== 'generate') {
    log('     H   L     tokens/s   GFLOP/s    step ms   peak RSS MB   threads (helper share)');
    for (const [h, l] of configs) {
      const result = part === 'train' ? benchTrain(h, l, steps) : child(['--part', 'train', '--hidden', String(h), '--layers', String(l), ...passOn]).train[0];
      train.push(result);
      log(`  ${String(h).padStart(4)} ${String(l).padStart(3)} ${fmt(result.tokens_per_s).padStart(12)} ${fmt(result.gflops, 1).padStart(9)} ${fmt(result.step_ms, 1).padStart(10)} ${fmt(result.peak_rss_mb).padStart(13)} ${String(result.threads).padStart(9)}${result.threads > 1 ? ` (${fmt(100 * result.helper_share)}%)` : ''}`);
      if (steps >= 100) log(`          resident MB by step: ${result.rss_mb.map(([s, mb]) => `${s}: ${fmt(mb)}`).join(', ')}`);
    }
  }
  if (part !== 'train') {
    generate = part === 'generate' ? benchGenerate() : child(['--part', 'generate', ...passOn]).generate;
    if (generate) log(`  generate H=${generate.hidden} L=${generate.layers} batch 1, ${GENERATE.tokens} tokens: ${fmt(generate.tokens_per_s)} tokens/s (threads: ${generate.threads})`);
  }
  if (values.json) {
    log(JSON.stringify({ train, generate, kernels: path }));
  }
  return 0;
  }
}
