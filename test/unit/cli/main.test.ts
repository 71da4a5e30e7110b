// The real command line (dist/cli.js, so `npm run build` first), spawned as a user would run it:
// exit codes, one-line refusals, the --json outputs, the checkpoint file, generate, inspect, grad,
// exact resume and divergence (docs/cli.md and docs/checkpoint.md). Tiny models keep it fast.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const GRAD_CASE = join(ROOT, 'test', 'fixtures', 'grad', 'onehot_l1_m2m.case.json');

// Aesop's fable, the article's text, and a few sentences more.
const FABLE = `Long ago, the mice had a general council to consider what measures they could take to outwit their common enemy, the Cat. Some said this, and some said that; but at last a young mouse got up and said he had a proposal to make, which he thought would meet the case. "You will all agree," said he, "that our chief danger consists in the sly and treacherous manner in which the enemy approaches us. Now, if we could receive some signal of her approach, we could easily escape from her. I venture, therefore, to propose that a small bell be procured, and attached by a ribbon round the neck of the Cat. By this means we should always know when she was about, and could easily retire while she was in the neighbourhood."
This proposal met with general applause, until an old mouse got up and said: "That is all very well, but who is to bell the Cat?" The mice looked at one another and nobody spoke. Then the old mouse said:
"It is easy to propose impossible remedies."
The cat slept by the fire, and the mice said nothing more about the bell. The young mouse went home and thought about the cat and the bell and the ribbon.
`;

// Small and fast: word-level, one-hot, H = 8.
const TINY = ['--tokens', 'word', '--hidden', '8', '--seq', '6', '--batch', '4', '--quiet'];

let dir = '';
let corpus = '';
let ckpt = ''; // trained once, shared by the generate / inspect / checkpoint tests
let trainSummary: Record<string, unknown> = {};

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const show = (r: Run): string => `status ${r.status}\n--- stdout\n${r.stdout.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`;

function ok(r: Run): Run {
  assert.equal(r.status, 0, show(r));
  return r;
}

/** Exit 2, and stderr is exactly one line "lstm-lens: ..." with no stack frames; returns that line. */
function refused(r: Run, message?: RegExp): string {
  assert.equal(r.status, 2, show(r));
  assert.ok(r.stderr.endsWith('\n'), `stderr ends with a newline: ${JSON.stringify(r.stderr)}`);
  const lines = r.stderr.slice(0, -1).split('\n');
  assert.equal(lines.length, 1, `stderr is one line:\n${r.stderr}`);
  const line = lines[0];
  assert.ok(line.startsWith('lstm-lens: '), line);
  assert.ok(line.length > 'lstm-lens: '.length + 5, `a message follows: ${line}`);
  assert.doesNotMatch(line, /\bat .+:\d+:\d+|^\s+at /, 'no stack frame');
  assert.doesNotMatch(line, /\b(TypeError|RangeError|SyntaxError|ReferenceError)\b/, 'no raw JS error');
  if (message) assert.match(line, message);
  return line;
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trimEnd().split('\n');
  const value: unknown = JSON.parse(lines[lines.length - 1]);
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), 'the last line is a JSON object');
  return value as Record<string, unknown>;
}

const write = (name: string, content: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

interface SafetensorsFile {
  header: Record<string, unknown>;
  metadata: Record<string, string>;
  tensors: Map<string, { dtype: string; shape: number[]; bytes: Buffer }>;
}

/** Reads a safetensors file independently of the engine's reader. */
function readSafetensors(path: string): SafetensorsFile {
  const file = readFileSync(path);
  assert.ok(file.length >= 8, 'at least the 8-byte header length');
  const n = file.readBigUInt64LE(0);
  assert.ok(n > 0n && n <= BigInt(file.length - 8), `header length ${n} fits in the file of ${file.length} bytes`);
  const headerEnd = 8 + Number(n);
  const header = JSON.parse(file.subarray(8, headerEnd).toString('utf8')) as Record<string, unknown>;
  const metadata = header.__metadata__ as Record<string, string>;
  assert.ok(metadata && typeof metadata === 'object', '__metadata__ present');
  for (const [k, v] of Object.entries(metadata)) assert.equal(typeof v, 'string', `metadata ${k} is a string`);
  const tensors = new Map<string, { dtype: string; shape: number[]; bytes: Buffer }>();
  let covered = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [begin, end] = data_offsets;
    assert.equal(end - begin, 4 * shape.reduce((a, b) => a * b, 1), `${name}: offsets match the shape`);
    assert.ok(headerEnd + end <= file.length, `${name} lies inside the file`);
    covered += end - begin;
    tensors.set(name, { dtype, shape, bytes: file.subarray(headerEnd + begin, headerEnd + end) });
  }
  assert.equal(headerEnd + covered, file.length, 'the tensors cover the data region exactly');
  return { header, metadata, tensors };
}

/** The parameter names and shapes of docs/model.md. */
function expectedParameters(V: number, H: number, L: number, E: number | null, D = 1): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (E !== null) out.set('embedding.weight', [V, E]);
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d === 1 ? '_reverse' : ''}`;
      const I = l === 0 ? (E ?? V) : D * H;
      out.set(`lstm.weight_ih${s}`, [4 * H, I]);
      out.set(`lstm.weight_hh${s}`, [4 * H, H]);
      out.set(`lstm.bias_ih${s}`, [4 * H]);
      out.set(`lstm.bias_hh${s}`, [4 * H]);
    }
  }
  out.set('head.weight', [V, D * H]);
  out.set('head.bias', [V]);
  return out;
}

before(() => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), 'lstm-lens-cli-'));
  corpus = write('fable.txt', FABLE);
  ckpt = `${corpus}.lstm.safetensors`; // the default: FILE's name and .lstm.safetensors
  const r = ok(cli('train', corpus, ...TINY, '--steps', '30', '--seed', '3', '--json'));
  trainSummary = lastJsonLine(r.stdout);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- 1. bad input: exit 2, one line

test('bad text files are refused with exit 2 and one line', () => {
  refused(cli('train', write('empty.txt', ''), ...TINY), /empty/);
  refused(cli('train', write('binary.bin', new Uint8Array([0x4c, 0x53, 0x00, 0x01, 0x00, 0xff, 0x10, 0x00, 0x41])), ...TINY), /binary/);
  refused(cli('train', write('blank.txt', '   \n\t \r\n  \n'), ...TINY), /white space/);
  refused(cli('train', write('one-word.txt', 'mice\n'), ...TINY), /too short/);
  refused(cli('train', join(dir, 'no-such-file.txt'), ...TINY), /no such file/);
  const folder = join(dir, 'a-folder');
  mkdirSync(folder);
  refused(cli('train', folder, ...TINY), /folder/);
});

test('bad usage is refused with exit 2 and one line', () => {
  refused(cli('frobnicate'), /unknown command "frobnicate"/);
  refused(cli('train', corpus, '--frobnicate'), /--frobnicate/);
  refused(cli('train', corpus, '--hidden', '-3'), /--hidden/);
  refused(cli('train', corpus, '--hidden=-3'), /--hidden must be a whole number from 1 to 16384, got "-3"/);
  refused(cli('train', corpus, '--hidden', '2.5'), /--hidden/);
  refused(cli('train', corpus, '--lr', 'abc'), /--lr must be a number > 0, got "abc"/);
  refused(cli('train', corpus, '--tokens', 'bytes'), /--tokens must be one of char, word/);
  refused(cli('train'), /FILE/);
  refused(cli('generate', ckpt, '--temperature', '-1'), /--temperature/);
  refused(cli('inspect', ckpt), /--text/);
  // No command at all: the usage, and the status of bad usage.
  const none = cli();
  refused(none, /no command/);
  assert.match(none.stdout, /usage: lstm-lens/);
  // Help is not an error.
  assert.match(ok(cli('--help')).stdout, /usage: lstm-lens/);
  assert.match(ok(cli('train', '--help')).stdout, /--hidden/);
});

test('generate refuses anything that is not a whole checkpoint', () => {
  const good = readFileSync(ckpt);
  const truncated = write('truncated.safetensors', good);
  truncateSync(truncated, Math.floor(good.length / 2));
  assert.equal(statSync(truncated).size, Math.floor(good.length / 2));
  refused(cli('generate', truncated, '--length', '5'));

  // Deterministic "random" bytes (an LCG), so a failure can be reproduced.
  const noise = new Uint8Array(4096);
  let x = 12345;
  for (let k = 0; k < noise.length; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    noise[k] = x >>> 24;
  }
  refused(cli('generate', write('noise.safetensors', noise), '--length', '5'));
  refused(cli('generate', corpus, '--length', '5'));
  refused(cli('generate', join(dir, 'no-such.safetensors')), /no such file/);

  // The header altered in place, same length: another format version.
  const altered = Buffer.from(good);
  const at = altered.indexOf('lstm-lens/1');
  assert.ok(at > 8, 'the format string is in the header');
  altered.write('lstm-lens/9', at, 'latin1');
  refused(cli('generate', write('altered.safetensors', altered), '--length', '5'), /lstm-lens\/9|format/);
  refused(cli('inspect', write('altered2.safetensors', altered), '--text', 'the mice'), /format/);
});

test('grad refuses a missing file, invalid JSON and a wrong weight shape', () => {
  refused(cli('grad', join(dir, 'no-such-case.json')), /no such file/);
  refused(cli('grad', write('invalid.json', '{"config": {"vocab_size": 7,')), /JSON/);
  const theCase = JSON.parse(readFileSync(GRAD_CASE, 'utf8')) as { weights: Record<string, number[][]> };
  const w = theCase.weights['lstm.weight_hh_l0'];
  assert.ok(Array.isArray(w) && w.length > 1, 'the fixture has lstm.weight_hh_l0');
  theCase.weights['lstm.weight_hh_l0'] = w.slice(0, -1);
  refused(cli('grad', write('cut.case.json', JSON.stringify(theCase))), /weight_hh_l0/);
});

// ---------------------------------------------------------------- 2. train --json and the checkpoint

test('train --json ends with a summary, and the checkpoint is a safetensors file of the contract', () => {
  assert.equal(trainSummary.steps, 30);
  assert.equal(typeof trainSummary.loss, 'number');
  assert.ok(Number.isFinite(trainSummary.loss) && (trainSummary.loss as number) > 0, `loss ${trainSummary.loss}`);
  assert.equal(typeof trainSummary.tokens_per_s, 'number');
  assert.ok((trainSummary.tokens_per_s as number) > 0);
  assert.equal(typeof trainSummary.checkpoint, 'string');
  assert.equal(resolve(dir, trainSummary.checkpoint as string), ckpt, 'the default path');
  assert.ok(existsSync(ckpt), 'the checkpoint exists');

  const st = readSafetensors(ckpt);
  assert.equal(st.metadata.format, 'lstm-lens/1');
  const config = JSON.parse(st.metadata.config) as Record<string, unknown>;
  const vocab = JSON.parse(st.metadata.vocab) as { kind: string; tokens: string[] };
  const training = JSON.parse(st.metadata.training) as Record<string, unknown>;
  assert.equal(vocab.kind, 'word');
  assert.ok(Array.isArray(vocab.tokens) && vocab.tokens.length > 50, 'a word vocabulary');
  assert.equal(new Set(vocab.tokens).size, vocab.tokens.length, 'tokens are distinct');
  assert.ok(vocab.tokens.includes('mice') && vocab.tokens.includes('cat'), 'lower-cased words of the text');
  const V = vocab.tokens.length;
  assert.equal(config.vocab_size, V);
  assert.equal(config.hidden_size, 8);
  assert.equal(config.num_layers, 1);
  assert.equal(config.embedding_size, null);
  assert.equal(config.bidirectional, false);
  assert.equal(config.mode, 'many_to_many');
  assert.equal(trainSummary.vocab_size ?? V, V);
  assert.equal(training.step, 30);
  assert.equal(training.loss, trainSummary.loss);
  assert.equal(training.seed, 3);

  const params = expectedParameters(V, 8, 1, null);
  const expected = new Map(params);
  for (const slot of ['m', 'v']) for (const [name, shape] of params) expected.set(`optimizer.${slot}.${name}`, shape);
  assert.deepEqual([...st.tensors.keys()].sort(), [...expected.keys()].sort());
  for (const [name, t] of st.tensors) {
    assert.equal(t.dtype, 'F32', name);
    assert.deepEqual(t.shape, expected.get(name), name);
  }
});

test('train names the tensors of an embedding, two layers and SGD as the contract does', () => {
  const out = join(dir, 'embed.safetensors');
  ok(cli('train', corpus, ...TINY, '--steps', '3', '--embedding', '4', '--layers', '2', '--optimizer', 'sgd', '--out', out));
  const st = readSafetensors(out);
  const V = (JSON.parse(st.metadata.vocab) as { tokens: string[] }).tokens.length;
  const expected = expectedParameters(V, 8, 2, 4);
  assert.deepEqual([...st.tensors.keys()].sort(), [...expected.keys()].sort(), 'SGD keeps no optimizer state');
  for (const [name, t] of st.tensors) assert.deepEqual(t.shape, expected.get(name), name);
});

// ---------------------------------------------------------------- 3. generate

test('generate: the same seed gives the same text; another seed another text; temperature 0 ignores the seed', () => {
  const gen = (...args: string[]): string => ok(cli('generate', ckpt, '--length', '40', ...args)).stdout;
  const a = gen('--seed', '1', '--temperature', '1');
  assert.ok(a.trim().length > 0, 'some text');
  assert.equal(gen('--seed', '1', '--temperature', '1'), a);
  assert.notEqual(gen('--seed', '2', '--temperature', '1'), a);
  const greedy = gen('--seed', '1', '--temperature', '0', '--prime', 'the mice', '--with-prime');
  assert.equal(gen('--seed', '99', '--temperature', '0', '--prime', 'the mice', '--with-prime'), greedy);
  // Into a pipe only the continuation; --with-prime puts the prime first.
  assert.equal(ok(cli('generate', ckpt, '--length', '0', '--prime', 'the mice')).stdout, '\n');
  assert.equal(ok(cli('generate', ckpt, '--length', '0', '--prime', 'the mice', '--with-prime')).stdout, 'the mice\n');
  assert.ok(greedy.startsWith('the mice') && greedy.length > 'the mice\n'.length, greedy);
});

test('generate: an unknown word in the prime is noted, not fatal', () => {
  const r = ok(cli('generate', ckpt, '--prime', 'the zyxwvut mice', '--length', '10', '--seed', '4'));
  assert.ok(r.stdout.trim().length > 0, 'text was generated');
  assert.match(r.stderr, /^note: 1 token of the prime (is not in the vocabulary and was skipped|read as <unk>)$/m);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
});

// ---------------------------------------------------------------- 4. inspect

test('inspect --json: tokens, logits (T, V), shapes, the trace and the loss', () => {
  const text = 'the mice had a general council and the cat';
  const out = lastJsonLine(ok(cli('inspect', ckpt, '--text', text, '--json')).stdout);
  const V = (JSON.parse(readSafetensors(ckpt).metadata.vocab) as { tokens: string[] }).tokens.length;
  const H = 8;
  const tokens = out.tokens as string[];
  const ids = out.ids as number[];
  const T = text.split(' ').length;
  assert.deepEqual(tokens, text.split(' '));
  assert.equal(ids.length, T);
  for (const id of ids) assert.ok(Number.isInteger(id) && id >= 0 && id < V, `id ${id}`);

  const logits = out.logits as number[][];
  assert.equal(logits.length, T);
  for (const row of logits) {
    assert.equal(row.length, V);
    for (const z of row) assert.ok(Number.isFinite(z));
  }

  const shapes = out.shapes as Record<string, number[]>;
  assert.deepEqual(shapes.input, [1, T, V]);
  assert.deepEqual(shapes.logits, [1, T, V]);
  assert.deepEqual(shapes.h_n, [1, 1, H]);
  assert.deepEqual(shapes['lstm.weight_ih_l0'], [4 * H, V]);

  const trace = out.trace as Array<Record<string, unknown>>;
  assert.equal(trace.length, 1, 'one layer, one direction');
  assert.equal(trace[0].layer, 0);
  assert.equal(trace[0].direction, 'forward');
  for (const name of ['i', 'f', 'g', 'o', 'c', 'h', 'dh', 'dc']) {
    const v = trace[0][name] as number[][][];
    assert.equal(v.length, 1, `${name}: batch 1`);
    assert.equal(v[0].length, T, `${name}: T steps`);
    for (const row of v[0]) {
      assert.equal(row.length, H, `${name}: H units`);
      for (const x of row) {
        assert.ok(Number.isFinite(x), `${name} is finite`);
        if (name === 'i' || name === 'f' || name === 'o') assert.ok(x > 0 && x < 1, `${name} = ${x} in (0, 1)`);
        if (name === 'g') assert.ok(x > -1 && x < 1, `g = ${x} in (-1, 1)`);
        if (name === 'h') assert.ok(Math.abs(x) < 1, `h = ${x} in (-1, 1)`);
      }
    }
  }
  // Something flows back: the gradients are not all zero.
  assert.ok((trace[0].dh as number[][][])[0].some((row) => row.some((x) => x !== 0)), 'dh is not all zero');

  // The loss, recomputed here in float64 from the logits: positions 0..T-2 predict ids 1..T-1.
  let sum = 0;
  for (let t = 0; t + 1 < T; t++) {
    const row = logits[t];
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0));
    sum += lse - row[ids[t + 1]];
  }
  assert.equal(typeof out.loss, 'number');
  assert.ok(Math.abs((out.loss as number) - sum / (T - 1)) < 1e-5, `loss ${out.loss} vs recomputed ${sum / (T - 1)}`);
});

test('inspect in plain text shows the tokens, the shapes and the trace', () => {
  const r = ok(cli('inspect', ckpt, '--text', 'the mice had'));
  assert.match(r.stdout, /text: 3 tokens/);
  assert.match(r.stdout, /^ {2}0 "the" {2}1 "mice" {2}2 "had"$/m);
  assert.match(r.stdout, /shapes:/);
  assert.match(r.stdout, /input\s+\(1, 3, \d+\)/);
  assert.match(r.stdout, /lstm\.weight_hh_l0\s+\(32, 8\)/);
  assert.match(r.stdout, /loss \(each position predicting the next\): \d+\.\d{4}/);
  assert.match(r.stdout, /layer 0, forward:/);
});

// ---------------------------------------------------------------- 5. grad

test('grad prints one JSON object with exactly the keys of the contract', () => {
  const r = ok(cli('grad', GRAD_CASE));
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1, 'one line of JSON');
  const out = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(out).sort(), ['c_n', 'grads', 'h_n', 'logits', 'loss', 'output', 'trace']);
  assert.equal(typeof out.loss, 'number');
});

// ---------------------------------------------------------------- 6. resume

test('a run resumed from its checkpoint ends exactly where an unbroken run ends', () => {
  const common = [corpus, ...TINY, '--seed', '7'];
  const whole = join(dir, 'whole.safetensors');
  const split = join(dir, 'split.safetensors');
  ok(cli('train', ...common, '--steps', '6', '--save-every', '3', '--out', whole));
  ok(cli('train', ...common, '--steps', '3', '--out', split));
  const halfway = JSON.parse(readSafetensors(split).metadata.training) as { step: number };
  assert.equal(halfway.step, 3);
  ok(cli('train', corpus, '--resume', '--steps', '6', '--quiet', '--out', split));

  const a = readSafetensors(whole);
  const b = readSafetensors(split);
  type Saved = { step: number; history: { steps: number[]; loss: number[] } };
  const ta = JSON.parse(a.metadata.training) as Saved;
  const tb = JSON.parse(b.metadata.training) as Saved;
  assert.equal(ta.step, 6);
  assert.equal(tb.step, 6);
  assert.deepEqual(ta.history.steps, [1, 2, 3, 4, 5, 6], 'a point a step in a short run');
  assert.deepEqual(tb.history, ta.history, 'identical history (losses, norms, rates), step by step');
  assert.deepEqual([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort());
  for (const [name, t] of a.tensors) assert.ok(t.bytes.equals(b.tensors.get(name)!.bytes), `${name}: identical bytes`);
});

// ---------------------------------------------------------------- 7. divergence

test('training that diverges exits 1, says to lower the learning rate, and keeps a loadable checkpoint', () => {
  const out = join(dir, 'diverged.safetensors');
  // Adam moves every weight by about lr per step: float32 (max 3.4e38) overflows within four steps.
  const r = cli('train', corpus, ...TINY, '--steps', '20', '--optimizer', 'adam', '--lr', '1e38', '--clip', '0', '--save-every', '1', '--out', out);
  assert.equal(r.status, 1, show(r));
  const last = r.stderr.trimEnd().split('\n').pop() ?? '';
  assert.match(last, /^lstm-lens: training diverged/);
  assert.match(last, /lower learning rate/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.ok(existsSync(out), 'the checkpoint is kept');
  ok(cli('generate', out, '--length', '5'));
});

test('an update that would overflow float32 changes nothing: the initial weights are kept and load', () => {
  const out = join(dir, 'overflow.safetensors');
  // Step 1's loss and gradient are finite, but lr × gradient is not a float32.
  const r = cli('train', corpus, ...TINY, '--steps', '5', '--optimizer', 'sgd', '--lr', '1e300', '--clip', '0', '--out', out);
  assert.equal(r.status, 1, show(r));
  assert.match(r.stderr, /^lstm-lens: training diverged.*lower learning rate/m);
  const st = readSafetensors(out);
  assert.equal((JSON.parse(st.metadata.training) as { step: number }).step, 0, 'the weights before step 1');
  for (const [name, t] of st.tensors) {
    const values = new Float32Array(t.bytes.buffer.slice(t.bytes.byteOffset, t.bytes.byteOffset + t.bytes.length));
    assert.ok(values.every(Number.isFinite), `${name} is finite`);
  }
  ok(cli('generate', out, '--length', '5'));
});
