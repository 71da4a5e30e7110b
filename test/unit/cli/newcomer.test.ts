// The command line for a newcomer (issue 12, item 17; issue 11, item 18 on the command line): the
// prime before the continuation (dimmed only on a terminal without NO_COLOR); inspect's readable
// report (units and positions by index, chosen with --units/--positions, --no-trace, lines within
// the width); a text given for a checkpoint; mistyped commands and options answered with the
// nearest; the usage lists every command; --version; the train summary's held-out loss against
// ln V and the epochs seen; --restart-stream; a run whose last update breaks the weights. The real
// CLI (dist/cli.js, so `npm run build` first) in a temporary folder on the bundled fable.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useColor } from '../../../src/cli/main';
import { editDistance, nearest } from '../../../src/cli/options';
import { CLI, cliIn, lastJsonLine, ok, readHeader, refused, ROOT, savedStep, show, TINY, workspace, type Run, tensors, predictionEntries } from './cli-support';

let dir = '';
let story = '';
let cleanup = (): void => {};
before(() => {
  ({ dir, cleanup } = workspace('newcomer'));
  story = readFileSync(join(dir, 'story.txt'), 'utf8');
});
after(() => cleanup());

const cli = (...args: string[]): Run => cliIn(dir, args);
function cliEnv(args: string[], env: Record<string, string>): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Every parameter of a checkpoint, read without the engine. */
describe('generate prints the prime before the continuation on a terminal', () => {
  const model = (): string => join(dir, 'gen.ckpt');
  before(() => {
    ok(cli('train', 'story.txt', ...TINY, '--steps', '5', '--out', model()));
  });

  it('into a pipe only the continuation (as the contract has it); --with-prime puts the prime first, plain', () => {
    const piped = ok(cli('generate', model(), '--prime', 'the mice', '--length', '12', '--seed', '3')).stdout;
    const alone = ok(cli('generate', model(), '--prime', 'the mice', '--length', '12', '--seed', '3', '--no-prime')).stdout;
    const both = ok(cli('generate', model(), '--prime', 'the mice', '--length', '12', '--seed', '3', '--with-prime')).stdout;
    assert.equal(piped, alone);
    assert.doesNotMatch(piped, /^the mice/);
    assert.equal(both, `the mice${alone}`);
    assert.doesNotMatch(both, /\x1b/);
    const r = cli('generate', model(), '--prime', 'the mice', '--with-prime', '--no-prime');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /contradict/);
  });

  it('dimmed on a terminal (a pseudo-terminal through script(1)), plain with NO_COLOR', (t) => {
    if (spawnSync('script', ['--version'], { encoding: 'utf8' }).status !== 0) {
      t.skip('script(1) is not installed');
      return;
    }
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} generate ${JSON.stringify(model())} --prime 'the mice' --length 5 --seed 3`;
    const onTerminal = (env: Record<string, string | undefined>): string => {
      const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: env as NodeJS.ProcessEnv });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      return r.stdout;
    };
    const { NO_COLOR: _drop, ...env } = process.env;
    assert.match(onTerminal(env), /\x1b\[2mthe mice\x1b\[22m/);
    const plain = onTerminal({ ...env, NO_COLOR: '1' });
    assert.match(plain, /the mice/);
    assert.doesNotMatch(plain, /\x1b\[2m/);
  });

  it('useColor: a terminal and no NO_COLOR, nothing else', () => {
    assert.equal(useColor({ isTTY: true }, {}), true);
    assert.equal(useColor({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(useColor({ isTTY: true }, { NO_COLOR: '' }), false);
    assert.equal(useColor({ isTTY: false }, {}), false);
    assert.equal(useColor({}, {}), false);
  });
});

describe("inspect's readable report", () => {
  const model = (): string => join(dir, 'insp.ckpt');
  const text = 'long ago, the mice had a general council to consider what measures they could take to outwit their common enemy';
  let json: Record<string, unknown> = {};
  before(() => {
    ok(cli('train', 'story.txt', '--tokens', 'word', '--hidden', '24', '--seq', '6', '--batch', '4', '--steps', '5', '--quiet', '--out', model()));
    json = lastJsonLine(ok(cli('inspect', model(), '--text', text, '--json')).stdout);
  });

  /** The rows of one tensor of the trace in the text report: step → values by unit, from the column headers. */
  function traceTable(stdout: string, tensor: string): Map<number, Map<number, number>> {
    const lines = stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith(`    ${tensor} (`));
    assert.ok(at >= 0, `the trace has ${tensor}`);
    const rows = new Map<number, Map<number, number>>();
    let units: number[] = [];
    for (let k = at + 1; k < lines.length && lines[k].startsWith('      '); k++) {
      const l = lines[k];
      if (/^\s+step\s/.test(l)) {
        units = [...l.matchAll(/u(\d+)/g)].map((m) => Number(m[1]));
        continue;
      }
      const m = /^\s+t=(\d+)\s+".*?"\s+(.*)$/.exec(l);
      assert.ok(m, `a trace row: ${l}`);
      const values = m[2].trim().split(/\s+/).map(Number);
      assert.equal(values.length, units.length, l);
      const row = rows.get(Number(m[1])) ?? new Map<number, number>();
      units.forEach((u, j) => row.set(u, values[j]));
      rows.set(Number(m[1]), row);
    }
    return rows;
  }

  it('--units 0,3,5-6 and --positions 2:7: exactly those units and steps, with the values --json has', () => {
    const r = ok(cli('inspect', model(), '--text', text, '--units', '0,3,5-6', '--positions', '2:7'));
    assert.match(r.stdout, /columns units 0, 3, 5-6 of 24/);
    const trace = (json.trace as Array<Record<string, number[][][]>>)[0];
    for (const name of ['i', 'c', 'h', 'dh']) {
      const table = traceTable(r.stdout, name);
      assert.deepEqual([...table.keys()], [2, 3, 4, 5, 6]);
      for (const [t, row] of table) {
        assert.deepEqual([...row.keys()], [0, 3, 5, 6]);
        for (const [u, x] of row) assert.equal(x.toFixed(3), trace[name][0][t][u].toFixed(3), `${name} t=${t} u=${u}`);
      }
    }
    // Predictions for those positions only, with the actual next token's probability.
    // A prediction that does not fit the width continues on the lines below it, indented.
    const lines = r.stdout.split('\n');
    const predictions = predictionEntries(lines);
    assert.deepEqual(predictions.map((l) => Number(/^\s+(\d+)/.exec(l)?.[1])), [2, 3, 4, 5, 6]);
    const tokens = json.tokens as string[];
    const logits = json.logits as number[][];
    for (const l of predictions) {
      const t = Number(/^\s+(\d+)/.exec(l)?.[1]);
      const row = logits[t];
      const max = Math.max(...row);
      const p = Math.exp(row[(json.ids as number[])[t + 1]] - max) / row.reduce((s, z) => s + Math.exp(z - max), 0);
      assert.ok(l.includes(`(actual ${JSON.stringify(tokens[t + 1])} ${p.toFixed(3)})`), `${l} vs p ${p}`);
    }
  });

  it('by default, as many units as fit the width, named by index; every line within COLUMNS', () => {
    for (const columns of [60, 100, 160]) {
      const r = cliEnv(['inspect', model(), '--text', text], { COLUMNS: String(columns) });
      assert.equal(r.status, 0, show(r));
      for (const l of r.stdout.split('\n')) assert.ok(l.length <= columns, `COLUMNS=${columns}: a line of ${l.length}: ${l}`);
      const units = traceTable(r.stdout, 'i').get(0);
      assert.ok(units && units.size >= 3 && units.size <= 24, `${units?.size} units at ${columns} columns`);
      assert.deepEqual([...(units as Map<number, number>).keys()], Array.from({ length: (units as Map<number, number>).size }, (_, u) => u));
    }
    const narrow = traceTable(cliEnv(['inspect', model(), '--text', text], { COLUMNS: '60' }).stdout, 'i').get(0)?.size ?? 0;
    const wide = traceTable(cliEnv(['inspect', model(), '--text', text], { COLUMNS: '160' }).stdout, 'i').get(0)?.size ?? 0;
    assert.ok(wide > narrow, `${wide} units at 160 columns, ${narrow} at 60`);
  });

  it('every unit asked for, in blocks that fit the width', () => {
    const r = cliEnv(['inspect', model(), '--text', text, '--units', '0-23'], { COLUMNS: '80' });
    assert.equal(r.status, 0, show(r));
    for (const l of r.stdout.split('\n')) assert.ok(l.length <= 80, l);
    assert.deepEqual([...(traceTable(r.stdout, 'f').get(0) as Map<number, number>).keys()], Array.from({ length: 24 }, (_, u) => u));
  });

  it('a word of 5,000 characters is cut, never a 1,000-character line', () => {
    const long = 'x'.repeat(5000);
    writeFileSync(join(dir, 'long.txt'), `${story} ${long} ${story}`);
    const m = join(dir, 'long.ckpt');
    ok(cli('train', 'long.txt', ...TINY, '--steps', '2', '--out', m));
    const r = ok(cli('inspect', m, '--text', `the ${long} mice ${long}`));
    for (const l of r.stdout.split('\n')) assert.ok(l.length <= 100, `a line of ${l.length}`);
  });

  it('--no-trace leaves the trace out', () => {
    const r = ok(cli('inspect', model(), '--text', text, '--no-trace'));
    assert.match(r.stdout, /next-token predictions/);
    assert.doesNotMatch(r.stdout, /trace|t=0/);
  });

  it('bad choices are refused in one line', () => {
    refused(cli('inspect', model(), '--text', text, '--units', '24'), /--units names unit 24, and the model has 24 \(0 to 23\)/);
    refused(cli('inspect', model(), '--text', text, '--units', '3-1'), /runs backwards/);
    refused(cli('inspect', model(), '--text', text, '--units', 'a'), /--units must be indices/);
    refused(cli('inspect', model(), '--text', text, '--positions', '5:5'), /at least one position/);
    refused(cli('inspect', model(), '--text', text, '--positions', '0:99'), /ends past the text/);
    refused(cli('inspect', model(), '--text', text, '--positions', '3'), /must be A:B/);
    refused(cli('inspect', model(), '--text', text, '--json', '--units', '0'), /--units shapes the text output; --json has every/);
  });
});

describe('a text file where a checkpoint is expected', () => {
  it('names the model beside it when there is one', () => {
    ok(cli('train', 'story.txt', ...TINY, '--steps', '1'));
    refused(cli('generate', 'story.txt'), /^lstm-lens: story\.txt is a text file; did you mean story\.txt\.lstm\.safetensors\?$/);
    refused(cli('inspect', 'story.txt', '--text', 'the mice'), /^lstm-lens: story\.txt is a text file; did you mean story\.txt\.lstm\.safetensors\?$/);
  });
  it('says it is a text file, not a checkpoint, when there is none', () => {
    writeFileSync(join(dir, 'notes.txt'), 'just some notes\n');
    refused(cli('generate', 'notes.txt'), /^lstm-lens: notes\.txt is a text file, not a checkpoint$/);
  });
});

describe('mistyped commands and options', () => {
  it('an unknown option is answered with the nearest one', () => {
    refused(cli('train', 'story.txt', '--step', '3'), /^lstm-lens: train: unknown option --step; did you mean --steps\? \(see lstm-lens train --help\)$/);
    refused(cli('train', 'story.txt', '--hiden', '3'), /did you mean --hidden\?/);
    refused(cli('generate', 'x', '--temprature', '1'), /did you mean --temperature\?/);
    refused(cli('inspect', 'x', '--unit', '1'), /did you mean --units\?/);
    refused(cli('bench', '--hiden', '8'), /^lstm-lens: bench: unknown option --hiden; did you mean --hidden\?/);
    refused(cli('train', 'story.txt', '--zzzzzz'), /^lstm-lens: train: unknown option --zzzzzz \(see/);
    // A negative number is still the option's own business.
    refused(cli('train', 'story.txt', '--lr', '-1'), /--lr must be a number > 0/);
  });
  it('an unknown command likewise', () => {
    refused(cli('trian', 'story.txt'), /unknown command "trian"; did you mean train\?/);
    refused(cli('genrate'), /did you mean generate\?/);
    refused(cli('--step'), /unknown option "--step"/);
  });
  it('edit distance: insertions, deletions, substitutions and a swap of neighbours each count one', () => {
    assert.equal(editDistance('step', 'steps'), 1);
    assert.equal(editDistance('trian', 'train'), 1);
    assert.equal(editDistance('hidden', 'hiden'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(nearest('sed', ['seed', 'seq']), 'seed');
    assert.equal(nearest('qqq', ['train', 'generate']), null);
  });
});

describe('the usage and the version', () => {
  it('no arguments: the usage lists every command (bench too) on stdout, and says bad usage with status 2', () => {
    const r = cli();
    assert.equal(r.status, 2, show(r));
    const commands = ['train', 'generate', 'inspect', 'units', 'explain', 'grad', 'bench', 'baseline', 'export', 'import'];
    for (const command of commands) assert.match(r.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    assert.match(r.stdout, /with no command prints it and exits 2/);
    assert.equal(r.stderr, `lstm-lens: no command given (commands: ${commands.join(', ')})\n`);
  });
  it('--help prints the same usage and exits 0', () => {
    const r = ok(cli('--help'));
    assert.equal(r.stdout, cli().stdout);
  });
  it("--version prints package.json's version", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(ok(cli('--version')).stdout, `lstm-lens ${version}\n`);
  });
});

describe('the train summary says what a good loss is', () => {
  it('--holdout 0.1 (the default): the loss on the last tenth, not trained on, the loss inspect gives there; ln V; epochs', () => {
    const out = join(dir, 'held.ckpt');
    const r = ok(cli('train', 'story.txt', '--hidden', '16', '--seq', '16', '--batch', '4', '--steps', '12', '--out', out, '--json'));
    const s = lastJsonLine(r.stdout);
    const chars = Array.from(story);
    const k = Math.floor(chars.length * 0.1);
    const tail = chars.slice(chars.length - k).join('');
    assert.equal(s.held_out, true);
    assert.equal(s.eval_tokens, k);
    assert.equal(readHeader(out).config.holdout, 0.1);
    // The reference: inspect reads the tail as one sequence from a zero state, as the summary does for fewer than 1,025 tokens.
    const reference = lastJsonLine(ok(cli('inspect', out, '--text', tail, '--json')).stdout).loss as number;
    assert.ok(Math.abs((s.eval_loss as number) - reference) < 1e-4, `${s.eval_loss} vs inspect's ${reference}`);
    const V = (JSON.parse(readHeader(out).metadata.vocab) as { tokens: string[] }).tokens.length;
    assert.ok(Math.abs((s.uniform_loss as number) - Math.log(V)) < 1e-12);
    const B = readHeader(out).config.batch_size as number;
    assert.equal(s.tokens_read, 12 * B * 16);
    assert.equal(s.training_tokens, chars.length - k);
    assert.ok(Math.abs((s.epochs as number) - (12 * B * 16) / (chars.length - k)) < 1e-12);
    assert.match(r.stderr, new RegExp(`loss on the last 10% of the text \\(${k} tokens, held out: not trained on\\): \\d+\\.\\d{4}; a uniform guess over the ${V} tokens scores ln ${V} = ${Math.log(V).toFixed(4)}`));
    assert.match(r.stderr, /\d+\.\d+ epochs: [\d,]+ tokens read of the [\d,]+ trained on/);
  });

  it('the held-out tail is never read: two texts that differ only there train the same weights', () => {
    const chars = Array.from(story);
    const cut = chars.length - Math.floor(chars.length * 0.25);
    writeFileSync(join(dir, 'other.txt'), chars.slice(0, cut).join('') + chars.slice(cut).reverse().join(''));
    ok(cli('train', 'story.txt', '--hidden', '8', '--seq', '8', '--batch', '8', '--steps', '6', '--holdout', '0.25', '--quiet', '--out', 'a.ckpt'));
    ok(cli('train', 'other.txt', '--hidden', '8', '--seq', '8', '--batch', '8', '--steps', '6', '--holdout', '0.25', '--quiet', '--out', 'b.ckpt'));
    const a = tensors(join(dir, 'a.ckpt')), b = tensors(join(dir, 'b.ckpt'));
    for (const [name, x] of a) assert.deepEqual(Array.from(b.get(name) as Float32Array), Array.from(x), name);
    // Without holdout the tails are read, and the weights differ.
    ok(cli('train', 'story.txt', '--hidden', '8', '--seq', '8', '--batch', '8', '--steps', '6', '--holdout', '0', '--quiet', '--out', 'c.ckpt'));
    ok(cli('train', 'other.txt', '--hidden', '8', '--seq', '8', '--batch', '8', '--steps', '6', '--holdout', '0', '--quiet', '--out', 'd.ckpt'));
    const c = tensors(join(dir, 'c.ckpt')), d = tensors(join(dir, 'd.ckpt'));
    assert.ok([...c].some(([name, x]) => x.some((v, i) => v !== (d.get(name) as Float32Array)[i])), 'the tails were read');
  });

  it('--holdout 0: the last tenth, said to be trained on; the checkpoint has no holdout setting', () => {
    const r = ok(cli('train', 'story.txt', ...TINY.filter((x) => x !== '--quiet'), '--steps', '3', '--holdout', '0', '--out', 'zero.ckpt', '--json'));
    const s = lastJsonLine(r.stdout);
    assert.equal(s.held_out, false);
    assert.match(r.stderr, /trained on; --holdout 0\.1 keeps it out/);
    assert.equal('holdout' in readHeader(join(dir, 'zero.ckpt')).config, false);
    for (const bad of ['0.6', '-0.1', 'x']) refused(cli('train', 'story.txt', ...TINY, '--holdout', bad), /--holdout must be a fraction from 0 to 0.5/);
  });
});

describe('--restart-stream', () => {
  it('continues on a text shorter than the one trained on, from its start; without it the refusal names it', () => {
    const out = join(dir, 'stream.ckpt');
    // One stream, sequences of 32 characters: after 20 steps it stands at character 640 of the story.
    ok(cli('train', 'story.txt', '--hidden', '8', '--seq', '32', '--batch', '1', '--steps', '20', '--holdout', '0', '--quiet', '--out', out));
    writeFileSync(join(dir, 'short.txt'), story.slice(0, 300));
    const line = refused(cli('train', 'short.txt', '--resume', '--out', out, '--steps', '25'));
    assert.match(line, /the text is shorter than the one this model was trained on: .*\(add --restart-stream to continue from the start of the text\)$/);
    assert.equal(savedStep(out), 20);
    const r = ok(cli('train', 'short.txt', '--resume', '--restart-stream', '--out', out, '--steps', '25'));
    assert.match(r.stderr, /read from its start again/);
    assert.equal(savedStep(out), 25);
    assert.deepEqual(JSON.parse(readHeader(out).metadata.training).batcher, { kind: 'streams', position: 5 * 32, started: true });
  });
  it('goes with --resume only', () => {
    refused(cli('train', 'story.txt', ...TINY, '--restart-stream'), /--restart-stream goes with --resume/);
  });
});

describe('a run whose last update breaks the weights', () => {
  it('exits 1, says so, and saves the weights from before it (every weight still the constant it started at)', () => {
    const out = join(dir, 'last.ckpt');
    const r = cli('train', 'story.txt', ...TINY, '--optimizer', 'sgd', '--lr', '1e39', '--clip', '0', '--init', 'constant', '--init-value', '0.1', '--steps', '1', '--out', out, '--json');
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr, /training diverged: the last update \(step 1\) (broke the weights: the loss of the next batch is NaN|made the loss explode: [\d.e+]+ on the next batch, over 10 times the starting loss [\d.]+); the weights of step 0 are kept/);
    assert.equal(lastJsonLine(r.stdout).diverged, true);
    assert.equal(savedStep(out), 0);
    for (const [name, x] of tensors(out)) assert.ok(x.every((v) => v === Math.fround(0.1)), `${name} is still 0.1 everywhere`);
  });
});
