// lstm-lens export: the run continued in PyTorch (the exported train.py) against the run continued
// by lstm-lens train --resume, step by step, alone and data parallel under torchrun; the refusals.
// The PyTorch half runs where `python3 -c "import torch"` works (CI installs Debian's
// python3-torch); elsewhere it is reported as skipped, never as passed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { CLI, cliIn, ok, readHeader, refused, startCli, tensors, workspace } from './cli-support';
import { NO_TORCH, PYTHON } from './pytorch-support';

interface PyRun {
  status: number | null;
  stdout: string;
  stderr: string;
  losses: Map<number, number>;
}

/** Runs a Python command in `dir`; the {"step": s, "loss": x} lines of stdout (prefixed or not, as torchrun's tee prefixes them). */
function python(dir: string, args: string[], env: Record<string, string> = {}): PyRun {
  const r = spawnSync(PYTHON as string, args, { cwd: dir, encoding: 'utf8', timeout: 240_000, killSignal: 'SIGKILL', env: { ...process.env, OMP_NUM_THREADS: '1', ...env } });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  const losses = new Map<number, number>();
  for (const m of r.stdout.matchAll(/\{"step": (\d+), "loss": ([^}]+)\}/g)) losses.set(Number(m[1]), Number(m[2]));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, losses };
}

/** The loss of each step the checkpoint's history holds (one point per step: short runs). */
function historyLosses(path: string): Map<number, number> {
  const h = readHeader(path).training.history as { width: number; steps: number[]; loss: number[] };
  assert.equal(h.width, 1, 'one history point per step');
  return new Map(h.steps.map((s, k) => [s, h.loss[k]]));
}

/** Every step from..to is in both, and the losses agree within `rtol` relative; returns the largest difference. */
function compareLosses(ours: Map<number, number>, engine: Map<number, number>, from: number, to: number, rtol: number): number {
  let worst = 0;
  for (let s = from; s <= to; s++) {
    const a = ours.get(s);
    const b = engine.get(s);
    assert.ok(a !== undefined && b !== undefined, `step ${s}: PyTorch ${a}, lstm-lens ${b}`);
    const rel = Math.abs(a - b) / Math.abs(b);
    worst = Math.max(worst, rel);
    assert.ok(rel <= rtol, `step ${s}: PyTorch ${a}, lstm-lens ${b} (relative ${rel.toExponential(2)})`);
  }
  return worst;
}

/** The largest difference between two checkpoints' parameters (not the moments). */
function weightDifference(a: string, b: string): number {
  const ta = tensors(a);
  const tb = tensors(b);
  let worst = 0;
  for (const [name, x] of ta) {
    if (name.startsWith('optimizer.')) continue;
    const y = tb.get(name) as Float32Array;
    for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(x[k] - y[k]));
  }
  return worst;
}

/** A TCP port no one listens on now (for the processes' rendezvous). */
function freePort(): number {
  const r = spawnSync(process.execPath, ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

/**
 * torchrun with two CPU processes: the module form (torchrun may not be on the PATH), a rendezvous
 * port of its own, and explicit stream settings (Debian's torch 1.13 under Python 3.11 fails on
 * the defaults: its Std flags of value 0 and 3 do not parse).
 */
const torchrun = (): string[] => ['-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', String(freePort()), '--redirects', '0:1', '--tee', '0:1,1:1'];

const RTOL = 1e-3;

describe('lstm-lens export: the run continued in PyTorch', () => {
  it('streams (char, one-hot, Adam, clipping, held-out tail): train.py follows train --resume over 20 steps, alone and on 2 processes; its checkpoint opens and continues', (t: TestContext) => {
    if (PYTHON === null) return t.skip(NO_TORCH);
    const { dir, story, cleanup } = workspace('export-streams');
    try {
      // B = 3 sequences: two processes take 2 and 1.
      ok(cliIn(dir, ['train', story, '--hidden', '12', '--seq', '12', '--batch', '3', '--steps', '8', '--clip', '0.5', '--out', 'run.safetensors', '--quiet']));
      const exported = ok(cliIn(dir, ['export', 'run.safetensors', '--text', story, '--out', 'exp', '--json']));
      const summary = JSON.parse(exported.stdout) as { files: string[]; step: number; batch_size: number };
      assert.equal(summary.step, 8);
      assert.equal(summary.batch_size, 3);
      assert.deepEqual(readdirSync(join(dir, 'exp')).sort(), ['README.md', 'model.safetensors', 'text.txt', 'tokens.bin', 'train.py']);
      assert.deepEqual(readFileSync(join(dir, 'exp', 'model.safetensors')), readFileSync(join(dir, 'run.safetensors')), 'the checkpoint, copied');
      assert.equal(readFileSync(join(dir, 'exp', 'text.txt'), 'utf8'), readFileSync(story, 'utf8').replace(/\r\n?/g, '\n'));
      assert.match(readFileSync(join(dir, 'exp', 'README.md'), 'utf8'), /torchrun --nnodes 2 .*--rdzv-endpoint/);

      // The engine continues a copy for the same 20 steps.
      copyFileSync(join(dir, 'run.safetensors'), join(dir, 'engine.safetensors'));
      ok(cliIn(dir, ['train', story, '--resume', '--out', 'engine.safetensors', '--steps', '28', '--quiet']));
      const engine = historyLosses(join(dir, 'engine.safetensors'));

      const alone = python(dir, ['exp/train.py', '--steps', '20', '--device', 'cpu', '--out', 'alone.safetensors']);
      assert.equal(alone.status, 0, alone.stderr);
      const worstAlone = compareLosses(alone.losses, engine, 9, 28, RTOL);
      assert.ok(weightDifference(join(dir, 'alone.safetensors'), join(dir, 'engine.safetensors')) < 1e-4, 'the weights after 20 steps agree');
      const written = readHeader(join(dir, 'alone.safetensors')).training;
      const engineState = readHeader(join(dir, 'engine.safetensors')).training;
      for (const key of ['step', 'rng', 'batcher', 'tokens_seen', 'optimizer_step', 'source']) assert.deepEqual(written[key], engineState[key], `training.${key}`);

      const parallel = python(dir, [...torchrun(), 'exp/train.py', '--steps', '20', '--device', 'cpu', '--out', 'parallel.safetensors']);
      assert.equal(parallel.status, 0, `torchrun: status ${parallel.status}\n${parallel.stdout.slice(-3000)}\n${parallel.stderr.slice(-3000)}`);
      const worstParallel = compareLosses(parallel.losses, engine, 9, 28, RTOL);
      assert.ok(weightDifference(join(dir, 'parallel.safetensors'), join(dir, 'engine.safetensors')) < 1e-4, 'the weights after 20 data-parallel steps agree');
      t.diagnostic(`largest relative loss difference over 20 steps: ${worstAlone.toExponential(2)} alone, ${worstParallel.toExponential(2)} on 2 processes`);

      // What PyTorch wrote opens and continues in lstm-lens.
      const inspected = ok(cliIn(dir, ['inspect', 'parallel.safetensors', '--text', 'The mice', '--json']));
      assert.ok(Number.isFinite((JSON.parse(inspected.stdout) as { loss: number }).loss));
      ok(cliIn(dir, ['train', story, '--resume', '--out', 'parallel.safetensors', '--steps', '31', '--quiet']));
      assert.equal(readHeader(join(dir, 'parallel.safetensors')).training.step, 31);
    } finally {
      cleanup();
    }
  });

  it('random windows (word, embedding, many-to-one, SGD, cosine schedule): the same 20 steps, the schedule stretched as --resume --steps stretches it; another batch size says it is another run', (t: TestContext) => {
    if (PYTHON === null) return t.skip(NO_TORCH);
    const { dir, story, cleanup } = workspace('export-windows');
    try {
      ok(cliIn(dir, ['train', story, '--tokens', 'word', '--embedding', '6', '--hidden', '10', '--mode', 'many-to-one', '--seq', '5', '--batch', '4', '--optimizer', 'sgd', '--lr', '0.5', '--schedule', 'cosine', '--steps', '6', '--out', 'run.safetensors', '--quiet']));
      ok(cliIn(dir, ['export', 'run.safetensors', '--text', story, '--out', 'exp']));
      copyFileSync(join(dir, 'run.safetensors'), join(dir, 'engine.safetensors'));
      ok(cliIn(dir, ['train', story, '--resume', '--out', 'engine.safetensors', '--steps', '26', '--quiet']));
      const run = python(dir, ['exp/train.py', '--steps', '20', '--device', 'cpu']);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /total steps rise from 6 to 26/);
      const worst = compareLosses(run.losses, historyLosses(join(dir, 'engine.safetensors')), 7, 26, RTOL);
      t.diagnostic(`largest relative loss difference over 20 steps: ${worst.toExponential(2)}`);
      // By default it writes the exported checkpoint, which lstm-lens reads.
      assert.equal(readHeader(join(dir, 'exp', 'model.safetensors')).training.step, 26);
      ok(cliIn(dir, ['generate', join('exp', 'model.safetensors'), '--length', '5']));
      // Another batch size is another run, and says so.
      const wider = python(dir, ['exp/train.py', '--steps', '1', '--batch', '5', '--device', 'cpu', '--out', 'b5.safetensors']);
      assert.equal(wider.status, 0, wider.stderr);
      assert.match(wider.stderr, /--batch 5 .*no longer a continuation/);
      assert.equal(readHeader(join(dir, 'b5.safetensors')).config.batch_size, 5);
      ok(cliIn(dir, ['inspect', 'b5.safetensors', '--text', 'the cat', '--json']));
    } finally {
      cleanup();
    }
  });
});

describe('lstm-lens export: what it refuses, in one line, writing nothing', () => {
  it('a text of another vocabulary, a shorter text, a folder that is not empty (unless --force), missing options', () => {
    const { dir, story, cleanup } = workspace('export-refusals');
    try {
      ok(cliIn(dir, ['train', story, '--hidden', '8', '--seq', '8', '--batch', '4', '--steps', '30', '--holdout', '0', '--out', 'run.safetensors', '--quiet']));
      writeFileSync(join(dir, 'other.txt'), 'Zebras QUIZZED 12345 jovial wolves! '.repeat(20));
      refused(cliIn(dir, ['export', 'run.safetensors', '--text', 'other.txt', '--out', 'x']), /not in the model's vocabulary/);
      const text = readFileSync(story, 'utf8');
      writeFileSync(join(dir, 'short.txt'), text.slice(0, 200));
      refused(cliIn(dir, ['export', 'run.safetensors', '--text', 'short.txt', '--out', 'x']), /shorter than the one this model was trained on.*export it with the text it was trained on/);
      assert.equal(existsSync(join(dir, 'x')), false, 'nothing written');
      mkdirSync(join(dir, 'full'));
      writeFileSync(join(dir, 'full', 'keep.txt'), 'mine');
      refused(cliIn(dir, ['export', 'run.safetensors', '--text', story, '--out', 'full']), /exists and is not empty.*--force/);
      assert.deepEqual(readdirSync(join(dir, 'full')), ['keep.txt']);
      ok(cliIn(dir, ['export', 'run.safetensors', '--text', story, '--out', 'full', '--force']));
      assert.ok(existsSync(join(dir, 'full', 'train.py')));
      refused(cliIn(dir, ['export', 'run.safetensors', '--out', 'y']), /--text FILE is required/);
      refused(cliIn(dir, ['export', 'run.safetensors', '--text', story]), /--out DIR is required/);
      refused(cliIn(dir, ['export', story, '--text', story, '--out', 'z']), /text file/);
    } finally {
      cleanup();
    }
  });
});

describe('lstm-lens export: the folder is written whole or not at all', () => {
  it('two exports to one new or empty folder at once: one is refused, and the folder is the other\'s, whole', async () => {
    const { dir, story, cleanup } = workspace('export-race');
    try {
      ok(cliIn(dir, ['train', story, '--hidden', '8', '--seq', '8', '--batch', '4', '--steps', '3', '--holdout', '0', '--out', 'a.safetensors', '--quiet']));
      ok(cliIn(dir, ['train', story, '--hidden', '8', '--seq', '8', '--batch', '4', '--steps', '4', '--holdout', '0', '--seed', '5', '--out', 'b.safetensors', '--quiet']));
      const run = (ckpt: string, out: string): Promise<number | null> =>
        new Promise((done) => startCli(dir, ['export', ckpt, '--text', story, '--out', out], 'ignore').on('exit', (code) => done(code)));
      for (const [k, out] of ['new1', 'empty1', 'new2', 'empty2'].entries()) {
        if (out.startsWith('empty')) mkdirSync(join(dir, out));
        const codes = await Promise.all([run('a.safetensors', out), run('b.safetensors', out)]);
        assert.deepEqual(codes.slice().sort(), [0, 2], `round ${k}: one export succeeds, the other is refused (${codes})`);
        const winner = codes[0] === 0 ? 'a.safetensors' : 'b.safetensors';
        assert.deepEqual(readdirSync(join(dir, out)).sort(), ['README.md', 'model.safetensors', 'text.txt', 'tokens.bin', 'train.py']);
        assert.ok(readFileSync(join(dir, out, 'model.safetensors')).equals(readFileSync(join(dir, winner))), `round ${k}: the model is ${winner}'s`);
        assert.match(readFileSync(join(dir, out, 'README.md'), 'utf8'), new RegExp(`^# ${winner.replace('.', '\\.')},`), `round ${k}: the README is ${winner}'s`);
      }
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'nothing hidden left behind');
    } finally {
      cleanup();
    }
  });

  it('an --out that cannot be made is refused in one line, not waited on for ever (Node\'s recursive mkdir never returns under /proc)', { skip: !existsSync('/proc/self') }, () => {
    const { dir, story, cleanup } = workspace('export-proc');
    try {
      ok(cliIn(dir, ['train', story, '--hidden', '8', '--seq', '8', '--batch', '4', '--steps', '2', '--holdout', '0', '--out', 'run.safetensors', '--quiet']));
      refused(cliIn(dir, ['export', 'run.safetensors', '--text', story, '--out', '/proc/lstm-lens-export'], { timeout: 20_000 }), /--out \/proc\/lstm-lens-export cannot be written/);
      refused(cliIn(dir, ['export', 'run.safetensors', '--text', story, '--out', '/proc/lstm-lens/a/b'], { timeout: 20_000 }), /cannot be made: no such file or folder \(making \/proc\/lstm-lens\)/);
      // The folder it runs in, empty: written there (it cannot be renamed over).
      const here = join(dir, 'here');
      mkdirSync(here);
      const r = spawnSync(process.execPath, [CLI, 'export', join(dir, 'run.safetensors'), '--text', story, '--out', '.'], { cwd: here, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(readdirSync(here).sort(), ['README.md', 'model.safetensors', 'text.txt', 'tokens.bin', 'train.py']);
    } finally {
      cleanup();
    }
  });
});
