// Continuing and diverging from the command line (issue 11): --resume takes only what it can honour
// (--steps and --lr, checked by the reader's rules) and refuses, naming it, every option it would
// ignore; a checkpoint the reader would refuse is never written; training that diverges or whose
// loss explodes exits 1, keeps the weights from before the step that broke them, ends --json with
// the divergence, and its advice is a command that runs. The real CLI (dist/cli.js) on the fable.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Trainer } from '../../../src/engine/trainer';
import { readCheckpointFile, writeCheckpointFile } from '../../../src/node/files';
import { cliIn, lastJsonLine, ok, readHeader, refused, savedStep, show, TINY, workspace, type Run, tensors } from './cli-support';

let dir = '';
let cleanup = (): void => {};
before(() => {
  ({ dir, cleanup } = workspace('resume'));
});
after(() => cleanup());

const cli = (...args: string[]): Run => cliIn(dir, args);

/** Every parameter of a checkpoint as float32 values, read without the engine. */
describe('--resume takes --steps and --lr, and refuses what it would ignore', () => {
  const out = (): string => join(dir, 'base.ckpt');
  before(() => {
    ok(cli('train', 'story.txt', ...TINY, '--steps', '3', '--optimizer', 'sgd', '--lr', '0.1', '--clip', '0', '--out', out()));
  });

  it('each option of a fresh run is refused with --resume, by name, and the checkpoint is untouched', () => {
    const before = readFileSync(out());
    const given: Array<[string, string | null]> = [
      ['tokens', 'char'], ['hidden', '16'], ['layers', '2'], ['embedding', '4'], ['mode', 'many-to-one'], ['bidirectional', null],
      ['seq', '8'], ['batch', '2'], ['optimizer', 'adam'], ['clip', '1'], ['schedule', 'cosine'], ['init', 'constant'],
      ['init-value', '0.2'], ['max-vocab', '50'], ['seed', '9'], ['holdout', '0.2'],
    ];
    for (const [name, value] of given) {
      const args = ['train', 'story.txt', '--resume', '--steps', '5', '--out', out(), `--${name}`, ...(value === null ? [] : [value])];
      refused(cli(...args), new RegExp(`--resume continues the run saved at .* with its own settings: --${name} cannot change`));
    }
    refused(cli('train', 'story.txt', '--resume', '--out', out(), '--hidden', '16', '--seq', '8'), /--hidden, --seq cannot change \(leave them out; --steps, --lr and --restart-stream can\)/);
    assert.ok(readFileSync(out()).equals(before));
  });

  it('--steps the reader would refuse (1e300, past 2^53, 0, fractions, negatives) is refused and nothing is written', () => {
    const before = readFileSync(out());
    for (const steps of ['1e300', '9007199254740993', '0', '4.5', '-5', '0x10']) {
      refused(cli('train', 'story.txt', '--resume', '--steps', steps, '--out', out()), /--steps must be a whole number ≥ 1/);
    }
    for (const lr of ['0', '-1', '1e999', 'abc']) refused(cli('train', 'story.txt', '--resume', '--lr', lr, '--out', out()), /--lr must be a number > 0/);
    assert.ok(readFileSync(out()).equals(before));
    readCheckpointFile(out()); // still whole
  });

  it('--lr applies from the next step: an SGD step moves the weights half as far at half the rate', () => {
    const half = join(dir, 'half.ckpt');
    const full = join(dir, 'full.ckpt');
    writeFileSync(half, readFileSync(out()));
    writeFileSync(full, readFileSync(out()));
    const r = ok(cli('train', 'story.txt', '--resume', '--steps', '4', '--lr', '0.05', '--out', half));
    ok(cli('train', 'story.txt', '--resume', '--steps', '4', '--out', full, '--quiet'));
    assert.equal(readHeader(half).config.learning_rate, 0.05, 'the new rate is saved with the run');
    assert.equal(readHeader(full).config.learning_rate, 0.1);
    assert.equal(savedStep(half), 4);
    assert.match(r.stderr, /learning rate 0\.05 \(was 0\.1\)/);
    // Same weights after step 3, same batch at step 4, same gradient: w4 = w3 - lr g, with no clipping.
    const w3 = tensors(out());
    const wHalf = tensors(half);
    const wFull = tensors(full);
    let compared = 0;
    for (const [name, start] of w3) {
      const a = wHalf.get(name)!;
      const b = wFull.get(name)!;
      for (let k = 0; k < start.length; k++) {
        const stepHalf = start[k] - a[k];
        const stepFull = start[k] - b[k];
        if (Math.abs(stepFull) < 1e-5) continue; // too small to compare in float32
        assert.ok(Math.abs(stepHalf / stepFull - 0.5) < 2e-2, `${name}[${k}]: step ${stepHalf} at lr 0.05 vs ${stepFull} at lr 0.1`);
        compared++;
      }
    }
    assert.ok(compared > 100, `${compared} weights compared`);
  });
});

describe('a checkpoint the reader would refuse is never written', () => {
  it('writeCheckpointFile refuses settings out of the reader\'s range (steps 1e300) and leaves the file as it was', () => {
    const text = readFileSync(join(dir, 'story.txt'), 'utf8');
    const trainer = Trainer.create(text, 'story.txt', { hidden_size: 4, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, {
      tokens: 'word', max_vocab: 0, sequence_length: 4, batch_size: 2, steps: 2, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 1,
    });
    const path = join(dir, 'refused.ckpt');
    writeCheckpointFile(path, trainer.checkpoint());
    const good = readFileSync(path);
    for (const settings of [{ steps: 1e300 }, { steps: 2 ** 53 }, { learning_rate: Infinity }, { batch_size: 0 }]) {
      const ckpt = trainer.checkpoint();
      assert.throws(
        () => writeCheckpointFile(path, { ...ckpt, settings: { ...ckpt.settings, ...settings } }),
        (e: unknown) => e instanceof Error && /would not read back, so it is not written/.test(e.message) && !e.message.includes('\n'),
        JSON.stringify(settings),
      );
      assert.ok(readFileSync(path).equals(good), `the file is unchanged after ${JSON.stringify(settings)}`);
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file');
    const ckpt = trainer.checkpoint();
    assert.throws(() => writeCheckpointFile(join(dir, 'layers.ckpt'), { ...ckpt, config: { ...ckpt.config, num_layers: 65 } }));
    assert.ok(!existsSync(join(dir, 'layers.ckpt')));
  });
});

describe('divergence', () => {
  it('a loss that explodes (--lr 10 with Adam) exits 1; --json ends with the divergence; the weights kept load; the advice runs', () => {
    const out = join(dir, 'exploded.ckpt');
    const r = cli('train', 'story.txt', '--hidden', '32', '--seq', '16', '--steps', '300', '--lr', '10', '--optimizer', 'adam', '--json', '--out', out);
    assert.equal(r.status, 1, show(r));
    const last = r.stderr.trimEnd().split('\n').pop() ?? '';
    assert.match(last, /^lstm-lens: training diverged/);
    const advice = /(lstm-lens train .*--resume.*--lr (\S+))/.exec(last);
    assert.ok(advice, `the message names a command with --resume and --lr: ${last}`);
    const summary = lastJsonLine(r.stdout);
    assert.equal(summary.diverged, true);
    const d = summary.divergence as { step: number; reason: string; kept_step: number; suggested_learning_rate: number };
    assert.equal(typeof d.reason, 'string');
    assert.ok(d.kept_step < d.step, `kept step ${d.kept_step} is before the step ${d.step} that broke`);
    assert.equal(d.suggested_learning_rate, Number(advice[2]));
    assert.ok(d.suggested_learning_rate < 10);
    assert.equal(savedStep(out), d.kept_step, 'the checkpoint holds the kept weights');
    const kept = readHeader(out).training.loss as number | null;
    assert.ok(kept === null || (Number.isFinite(kept) && kept < 10 * 4.8), `kept loss ${kept}`);
    ok(cli('generate', out, '--length', '5'));
    // The advice, run as given: accepted (no usage error), and it continues from the kept step.
    const words = advice[1].replace(/^lstm-lens /, '').split(' ').map((w) => w.replace(/^'(.*)'$/, '$1'));
    const followed = cliIn(dir, [...words, '--steps', String(d.kept_step + 5), '--quiet']);
    assert.notEqual(followed.status, 2, show(followed));
    assert.ok(savedStep(out) > d.kept_step || followed.status === 1, show(followed));
  });

  it('a non-finite update (SGD at 1e300) exits 1 with the weights before step 1; --json still ends with a JSON line', () => {
    const out = join(dir, 'overflow.ckpt');
    const r = cli('train', 'story.txt', ...TINY, '--steps', '5', '--optimizer', 'sgd', '--lr', '1e300', '--clip', '0', '--json', '--out', out);
    assert.equal(r.status, 1, show(r));
    const summary = lastJsonLine(r.stdout);
    assert.equal(summary.diverged, true);
    assert.equal(savedStep(out), 0);
    assert.equal(summary.steps, 0);
    assert.equal(summary.checkpoint, out);
  });
});

