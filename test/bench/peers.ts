// npm run bench:peers: the benchmark workload on this engine, PyTorch (where /usr/bin/python3 has
// torch) and TensorFlow.js (wasm and cpu backends), configuration by configuration in one run, so
// a shared, noisy machine treats them alike; then the table with the engine's ratios.
// Every measurement runs in a process of its own (peak memory is its own).
//
//   npm run bench:peers [-- --steps N] [--max-seconds S] [--skip-tfjs-cpu] [--skip-tfjs] [--configs 128x1,512x2]
//                          [--torch-blas DIR] [--threads 1,2,4,8,16]
// --threads: the engine and PyTorch on each thread count in turn (default 2), side by side; with
// more than one, a thread-scaling table follows (the engine takes at most 8; TensorFlow.js runs once).
// PyTorch gets its BLAS on the same count, and counts at its best of two ways of using them (torchTrain).
// PyTorch runs on the BLAS its libblas.so.3 is: Debian's default is the reference BLAS (netlib,
// several times slower than OpenBLAS); --torch-blas DIR puts DIR first on PyTorch's library path,
// e.g. OpenBLAS unpacked without installing it:
//   apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/openblas
//   npm run bench:peers -- --torch-blas /tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread
// The table names the BLAS PyTorch mapped.
// A slow peer's timed steps stop after S seconds (default 90) once it has 3; the table says how many.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stepFlops } from '../../src/cli/bench';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' },
    'max-seconds': { type: 'string', default: '90' },
    'skip-tfjs-cpu': { type: 'boolean', default: false },
    'skip-tfjs': { type: 'boolean', default: false },
    configs: { type: 'string' }, // HxL,HxL: only these configurations
    json: { type: 'boolean', default: false },
    'torch-blas': { type: 'string' },
    threads: { type: 'string', default: '2' },
  },
});
const THREADS = (values.threads as string).split(',').map(Number);
if (THREADS.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--threads ${values.threads}: a list of thread counts, e.g. 1,2,4`);
/** What the engine's --threads takes (1 to 8). */
const engineThreads = (n: number): number => Math.min(8, n);
const torchEnv = values['torch-blas'] ? { ...process.env, LD_LIBRARY_PATH: [values['torch-blas'], process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : process.env;
/**
 * PyTorch on n threads: its BLAS on n (OpenBLAS's pthread build otherwise starts a thread per core
 * of its own beside PyTorch's, oversubscribing the cores), its own intra-op threads on `own`.
 */
const torchOn = (n: number, own: number): NodeJS.ProcessEnv => ({ ...torchEnv, OPENBLAS_NUM_THREADS: String(n), OMP_NUM_THREADS: String(own) });

/**
 * PyTorch's training at its best on n threads: with n > 1 both ways of spending them, PyTorch's own
 * threads and its BLAS's (torch.set_num_threads(n)), or its BLAS's alone (torch.set_num_threads(1)),
 * which on a small shared machine is often the faster; the faster one counts (`torch_threads` says which).
 */
function torchTrain(args: string[], n: number): Record<string, unknown> | null {
  const ways = n > 1 ? [n, 1] : [1];
  let best: Record<string, unknown> | null = null;
  for (const own of ways) {
    const r = lastJson(PYTHON, ['test/bench/torch_bench.py', ...args, '--threads', String(own)], torchOn(n, own));
    if (r && (!best || Number(r.tokens_per_s) > Number(best.tokens_per_s))) best = { ...r, torch_threads: own, blas_threads: n };
  }
  return best;
}
const steps = values.steps as string;
const maxSeconds = values['max-seconds'] as string;
const CONFIGS: Array<[number, number]> = values.configs
  ? values.configs.split(',').map((c) => c.split('x').map(Number) as [number, number])
  : [[128, 1], [128, 2], [512, 1], [512, 2]];
const PYTHON = '/usr/bin/python3';

type Row = { tokens_per_s: number; steps?: number; peak_rss_mb?: number } | null;

function lastJson(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Record<string, unknown> | null {
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26, env });
  if (run.status !== 0) {
    process.stderr.write(`  (${[command, ...args].join(' ')} failed: ${(run.stderr || '').trim().split('\n').pop()})\n`);
    return null;
  }
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

const tsx = ['--import', 'tsx', 'test/bench/tfjs.ts'];
const haveTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const peers = ['engine', ...(haveTorch ? ['pytorch'] : []), ...(values['skip-tfjs'] ? [] : ['tfjs-wasm', ...(values['skip-tfjs-cpu'] ? [] : ['tfjs-cpu'])])];

const train: Record<string, Record<string, Row>> = {};
const generate: Record<string, Row> = {};
let engineGenerate: Row = null;
let blas = '';

/** Each configuration's rows by thread count: train[HxL][threads][peer]. */
const scaling: Record<string, Record<number, Record<string, Row>>> = {};
for (const [H, L] of CONFIGS) {
  const key = `${H}x${L}`;
  train[key] = {};
  scaling[key] = {};
  THREADS.forEach((threads, k) => {
    const row: Record<string, Row> = {};
    for (const peer of peers) {
      if (peer.startsWith('tfjs') && k > 0) continue; // single-threaded: once is enough
      process.stderr.write(`H=${H} L=${L} threads=${threads}: ${peer}...\n`);
      let r: Record<string, unknown> | null = null;
      if (peer === 'engine') {
        const out = lastJson(process.execPath, ['dist/cli.js', 'bench', '--json', '--hidden', String(H), '--layers', String(L), '--steps', steps, '--threads', String(engineThreads(threads))]);
        r = out ? (out.train as Array<Record<string, unknown>>)[0] : null;
        if (out && !engineGenerate) engineGenerate = out.generate as Row;
      } else if (peer === 'pytorch') {
        r = torchTrain(['--hidden', String(H), '--layers', String(L), '--steps', steps], threads);
        if (r) blas = (r.blas as string[]).join(', ');
      } else {
        r = lastJson(process.execPath, [...tsx, '--backend', peer.slice(5), '--hidden', String(H), '--layers', String(L), '--steps', steps, '--max-seconds', maxSeconds]);
      }
      row[peer] = r as Row;
    }
    scaling[key][threads] = row;
    if (k === 0) train[key] = row;
  });
}
generate.engine = engineGenerate;
for (const peer of peers.slice(1)) {
  process.stderr.write(`generate: ${peer}...\n`);
  generate[peer] =
    peer === 'pytorch'
      ? (torchTrain(['--generate'], THREADS[0]) as Row)
      : (lastJson(process.execPath, [...tsx, '--backend', peer.slice(5), '--generate']) as Row);
}

const fmt = (x: number | undefined, d = 0): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const ratio = (a: Row, b: Row): string => (a && b ? `${fmt(a.tokens_per_s / b.tokens_per_s, 2)}x` : '-');

const lines: string[] = [];
const torchWay = (r: Row): string => {
  const x = r as Record<string, unknown> | null;
  return x && x.torch_threads !== undefined ? ` torch ${x.torch_threads}/BLAS ${x.blas_threads}` : '';
};
lines.push(`training tokens/s (median; GFLOP/s by the issue's count; peak RSS MB); ${THREADS[0]} threads each (PyTorch at the better of its own threads or its BLAS's alone)${blas ? `; PyTorch BLAS: ${blas}` : ''}`);
lines.push(`| H | L | ${peers.join(' | ')} | engine/PyTorch | engine/tfjs-wasm | engine/tfjs-cpu |`);
lines.push(`|---|---|${peers.map(() => '---:').join('|')}|---:|---:|---:|`);
for (const [H, L] of CONFIGS) {
  const row = train[`${H}x${L}`];
  const cells = peers.map((p) => {
    const r = row[p];
    if (!r) return '-';
    const gf = (stepFlops(H, L) * r.tokens_per_s) / (32 * 64) / 1e9;
    return `${fmt(r.tokens_per_s)} (${fmt(gf, 1)} GF/s, ${fmt(r.peak_rss_mb)} MB${r.steps !== undefined && Number(r.steps) < 10 ? `, ${r.steps} steps` : ''}${torchWay(r)})`;
  });
  lines.push(`| ${H} | ${L} | ${cells.join(' | ')} | ${ratio(row.engine, row.pytorch)} | ${ratio(row.engine, row['tfjs-wasm'])} | ${ratio(row.engine, row['tfjs-cpu'])} |`);
}
if (THREADS.length > 1) {
  lines.push('');
  lines.push('thread scaling: training tokens/s, the engine against PyTorch on the same threads (the engine takes at most 8)');
  lines.push(`| H | L | ${THREADS.map((n) => `${n} thr engine | PyTorch | ratio`).join(' | ')} |`);
  lines.push(`|---|---|${THREADS.map(() => '---:|---:|---:').join('|')}|`);
  for (const [H, L] of CONFIGS) {
    const cells = THREADS.map((n) => {
      const r = scaling[`${H}x${L}`][n] ?? {};
      return `${fmt(r.engine?.tokens_per_s)} | ${fmt(r.pytorch?.tokens_per_s)} | ${ratio(r.engine ?? null, r.pytorch ?? null)}`;
    });
    lines.push(`| ${H} | ${L} | ${cells.join(' | ')} |`);
  }
}
lines.push('');
lines.push(`generation (${THREADS[0]} threads), H=512 L=2, batch 1, 200 tokens: ${peers.map((p) => `${p} ${fmt(generate[p]?.tokens_per_s)}`).join(', ')} tokens/s`);
process.stdout.write(`${lines.join('\n')}\n`);
if (values.json) process.stdout.write(`${JSON.stringify({ train, scaling, generate, blas })}\n`);
