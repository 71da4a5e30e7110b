// Big and strange input: 100 MB of text is tokenized in bounded time and memory, and the time
// grows linearly; a million distinct words are held to the vocabulary cap (and, with no cap, are
// refused at once instead of asking for tens of gigabytes); a 10 MB line without a newline, even
// one long hyphen-joined word, is read; CRLF, a byte-order mark, invalid UTF-8 and a file of white
// space are handled or refused in one line, by decodeText and by the real command line
// (dist/cli.js, built by npm test); text and checkpoint size limits hold, and a checkpoint of a
// model the extension allows is not refused for its size.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InputError, type ModelConfig } from '../../../src/engine/config';
import { parameterCount } from '../../../src/engine/model';
import { Random } from '../../../src/engine/random';
import { decodeText } from '../../../src/engine/text';
import { MAX_UNCAPPED_VOCABULARY, Tokenizer, UNKNOWN_TOKEN } from '../../../src/engine/tokenizer';
import { Trainer } from '../../../src/engine/trainer';
import { checkTextSize, MAX_CHECKPOINT_BYTES, MAX_TEXT_BYTES, readCheckpointFile } from '../../../src/node/files';

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'lstm-lens-big-'));
after(() => rmSync(dir, { recursive: true, force: true }));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 2 ** 20;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;

/** Prose-like text of `bytes` characters: a dozen words and punctuation, a line break every so often. */
function prose(bytes: number): string {
  const words = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'and', 'cat.', 'mouse,', "don't", 'well-known', 'bell'];
  const line = Array.from({ length: 997 }, (_, i) => words[(i * 7 + (i >> 3)) % words.length]).join(' ') + '\n';
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

interface Measured {
  ms: number;
  tokens: number;
  vocabulary: number;
  /** Growth of RSS, and of memory outside the heap (typed arrays), while tokenizing. */
  rss: number;
  external: number;
  /** The token ids (kept, to measure what tokenizing leaves behind). */
  ids: Int32Array;
}

/** A collection, twice, with a turn of the event loop between, so freed buffers are returned. */
async function settle(): Promise<void> {
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
}

function tokenize(text: string, kind: 'char' | 'word'): Measured {
  const before = process.memoryUsage();
  const started = performance.now();
  const tokenizer = Tokenizer.build(text, kind);
  const { ids } = tokenizer.encode(text);
  const ms = performance.now() - started;
  const afterwards = process.memoryUsage();
  return {
    ms,
    tokens: ids.length,
    vocabulary: tokenizer.size,
    rss: afterwards.rss - before.rss,
    external: afterwards.external - before.external, // array buffers included
    ids,
  };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(...args: string[]): Run {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - started };
}

/** Exit 2 with one line on stderr, matching `pattern`. */
function refusedByCli(r: Run, pattern: RegExp): void {
  assert.equal(r.status, 2, `status ${r.status}: ${r.stderr.slice(0, 500)}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr.slice(0, 500));
  assert.match(lines[0], /^lstm-lens: /);
  assert.match(lines[0], pattern);
}

function trainedByCli(r: Run): void {
  assert.equal(r.status, 0, `status ${r.status}: ${r.stderr.slice(0, 500)}`);
}

const TINY = ['--steps', '2', '--hidden', '4', '--seq', '4', '--batch', '2', '--save-every', '1000'];

describe('100 MB of text', () => {
  it('is tokenized (char and word) in bounded time and memory', async (t: TestContext) => {
    let text: string | null = prose(100 * MiB);
    for (const kind of ['word', 'char'] as const) {
      await settle();
      const base = process.memoryUsage();
      const m = tokenize(text, kind);
      await settle();
      const kept = process.memoryUsage();
      const retained = kept.external + kept.heapUsed - base.external - base.heapUsed;
      t.diagnostic(`${kind}: ${m.tokens} tokens, vocabulary ${m.vocabulary}, ${(m.ms / 1000).toFixed(1)} s; while tokenizing RSS +${mib(m.rss)}, outside the heap +${mib(m.external)}; kept after a collection ${mib(retained)} (the ids: ${mib(m.ids.byteLength)})`);
      assert.ok(m.ms < 30_000, `${kind}: ${m.ms.toFixed(0)} ms`);
      assert.ok(m.rss < 1.5 * 1024 * MiB && m.external < 1.5 * 1024 * MiB, `${kind}: RSS +${mib(m.rss)}, external +${mib(m.external)}`);
      // What lasts is four bytes a token for the ids, and little else.
      assert.equal(m.ids.length, m.tokens);
      assert.ok(retained < m.ids.byteLength + 32 * MiB, `${kind}: ${mib(retained)} kept for ${mib(m.ids.byteLength)} of ids`);
    }
    text = null;
  });

  it('tokenizing time grows linearly: 4 times the text takes about 4 times as long, not 16', (t: TestContext) => {
    const small = prose(5 * MiB);
    const large = prose(20 * MiB);
    for (const kind of ['word', 'char'] as const) {
      tokenize(small, kind); // warm up the JIT
      const a = Math.min(tokenize(small, kind).ms, tokenize(small, kind).ms);
      const b = Math.min(tokenize(large, kind).ms, tokenize(large, kind).ms); // the better of two, as for the small text: one run under load can be slowed by the others
      t.diagnostic(`${kind}: 5 MiB ${a.toFixed(0)} ms, 20 MiB ${b.toFixed(0)} ms, ratio ${(b / a).toFixed(1)}`);
      assert.ok(b / a < 8, `${kind}: 4 times the text took ${(b / a).toFixed(1)} times as long`);
    }
  });
});

describe('a million distinct words', () => {
  const text = Array.from({ length: 1_000_000 }, (_, i) => `w${i.toString(36)}`).join(' ');
  const file = join(dir, 'million.txt');
  writeFileSync(file, text);

  it('the vocabulary cap holds: the 9,999 most frequent (here the first) and <unk> for the rest', () => {
    const tokenizer = Tokenizer.build(text, 'word', { maxVocab: 10_000 });
    assert.equal(tokenizer.size, 10_000);
    assert.equal(tokenizer.tokens[9_999], UNKNOWN_TOKEN);
    const { ids, unknown } = tokenizer.encode(text);
    assert.equal(ids.length, 1_000_000);
    assert.equal(unknown, 1_000_000 - 9_999);
    assert.equal(ids.filter((id) => id === tokenizer.unknownId).length, unknown);
    // The extension's plan (word: max_vocab 10000) trains on it.
    const trainer = Trainer.create(text, 'million.txt', { hidden_size: 4, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, {
      tokens: 'word', max_vocab: 10_000, sequence_length: 4, batch_size: 2, steps: 1, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 1,
    });
    assert.equal(trainer.model.config.vocab_size, 10_000);
    assert.ok(Number.isFinite(trainer.trainStep().loss));
  });

  it('with no cap it is refused at once, asking for one (it used to build a model of 640 million parameters)', () => {
    const started = performance.now();
    assert.throws(() => Tokenizer.build(text, 'word'), (e: unknown) => e instanceof InputError && /1000000 distinct words, more than 65536 without a vocabulary cap/.test(e.message));
    assert.ok(performance.now() - started < 10_000);
    // At the limit, no cap is needed.
    const atLimit = Array.from({ length: MAX_UNCAPPED_VOCABULARY }, (_, i) => `w${i.toString(36)}`).join(' ');
    assert.equal(Tokenizer.build(atLimit, 'word').size, MAX_UNCAPPED_VOCABULARY);
  });

  it('the command line: --max-vocab 1000 trains; no cap exits 2 in a second with one line (at the default hidden size it ran 4 minutes, took 20 GB and failed)', () => {
    const capped = cli('train', file, '--tokens', 'word', '--max-vocab', '1000', ...TINY, '--json', '--out', join(dir, 'million.ckpt'));
    trainedByCli(capped);
    assert.equal(readCheckpointFile(join(dir, 'million.ckpt')).config.vocab_size, 1000);
    const uncapped = cli('train', file, '--tokens', 'word', ...TINY, '--out', join(dir, 'million2.ckpt'));
    refusedByCli(uncapped, /distinct words.*--max-vocab/);
    assert.ok(uncapped.ms < 20_000, `${uncapped.ms.toFixed(0)} ms`);
  });
});

describe('one very long line', () => {
  const M10 = 10 * MiB;
  it('10 MB without a newline: char and word', () => {
    const line = prose(M10).replace(/\n/g, ' ');
    assert.equal(line.indexOf('\n'), -1);
    assert.equal(Tokenizer.build(line, 'char').encode(line).ids.length, M10);
    const word = Tokenizer.build(line, 'word');
    assert.ok(word.encode(line).ids.length > M10 / 8);
  });

  it('a 10 MB word joined by hyphens or apostrophes (it used to overflow the regular-expression stack)', () => {
    for (const unit of ['a-', "a'"]) {
      const line = unit.repeat(M10 / unit.length);
      const tokenizer = Tokenizer.build(line, 'word');
      const { ids } = tokenizer.encode(line);
      // The joined word, then the joiner that ends the line (nothing after it to join).
      assert.equal(ids.length, 2, unit);
      assert.equal(tokenizer.tokenString(ids[0]).length, line.length - 1);
    }
  });

  it('the word rule is unchanged: the same tokens as the pattern it replaced, on 20,000 random strings', () => {
    const REFERENCE = /[\p{L}\p{N}\p{M}]+(?:(?<=[\p{L}\p{M}])['’\-\u2010](?=\p{L})[\p{L}\p{N}\p{M}]+)*|\S/gu;
    const alphabet = ['a', 'B', 'É', '7', '\u0301', "'", '’', '-', '\u2010', ' ', '\n', '.', ',', '𝒜', '😀', '\ud800', '\udc00', '_', '٣', 'ß', 'İ'];
    const rng = new Random(11);
    const any = Tokenizer.build('x', 'word');
    for (let k = 0; k < 20_000; k++) {
      let s = '';
      for (let n = 1 + rng.int(14); n > 0; n--) s += alphabet[rng.int(alphabet.length)];
      const expected = Array.from(s.toLowerCase().matchAll(REFERENCE), (m) => m[0]);
      assert.deepEqual(any.split(s), expected, JSON.stringify(s));
    }
  });
});

describe('line endings, byte-order marks, invalid UTF-8, white space', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const cat = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const story = 'the cat sat on the mat and the mouse ran away from the cat. '.repeat(20);

  it('decodeText: CRLF becomes LF, a BOM goes, invalid sequences are counted, white space and binary are refused', () => {
    const crlf = decodeText(cat(new Uint8Array([0xef, 0xbb, 0xbf]), enc(story.replace(/\. /g, '.\r\n'))));
    assert.ok(!crlf.text.includes('\r') && !crlf.text.startsWith('\ufeff'));
    assert.deepEqual(crlf.notes, ['removed a byte-order mark', 'converted 20 CRLF line endings to LF']);
    const invalid = decodeText(cat(enc(story), new Uint8Array([0xff, 0xc3, 0x28, 0xe2, 0x82]), enc(story)));
    assert.match(invalid.notes.join(), /replaced \d+ invalid UTF-8 sequences with U\+FFFD/);
    for (const [bytes, pattern] of [
      [enc(' \t\r\n '.repeat(10_000)), /only white space/],
      [new Uint8Array([0xef, 0xbb, 0xbf]), /empty/],
      [new Uint8Array(0), /empty/],
      [Uint8Array.from({ length: 4096 }, (_, i) => 0x80 + (i % 64)), /looks binary/],
      [cat(enc('text'), new Uint8Array([0]), enc('more')), /NUL byte/],
      [new Uint8Array([0xff, 0xfe, 0x41, 0x00]), /UTF-16/],
    ] as const) {
      assert.throws(() => decodeText(bytes), (e: unknown) => e instanceof InputError && pattern.test(e.message) && !/\n/.test(e.message));
    }
  });

  it('the command line: trains on CRLF, BOM and a few bad bytes (noted); refuses white space, binary and empty files in one line', () => {
    const files: Record<string, Uint8Array> = {
      'crlf-bom.txt': cat(new Uint8Array([0xef, 0xbb, 0xbf]), enc(story.replace(/\. /g, '.\r\n'))),
      'bad-bytes.txt': cat(enc(story), new Uint8Array([0xff, 0xc3, 0x28]), enc(story)),
      'blank.txt': enc(' \n\t\r\n'.repeat(1000)),
      'binary.bin': Uint8Array.from({ length: 4096 }, (_, i) => (i * 37) % 256),
      'empty.txt': new Uint8Array(0),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const crlf = cli('train', 'crlf-bom.txt', ...TINY);
    trainedByCli(crlf);
    assert.match(crlf.stderr, /removed a byte-order mark/);
    assert.match(crlf.stderr, /converted 20 CRLF line endings to LF/);
    const bad = cli('train', 'bad-bytes.txt', '--tokens', 'word', ...TINY);
    trainedByCli(bad);
    assert.match(bad.stderr, /replaced 2 invalid UTF-8 sequences/);
    refusedByCli(cli('train', 'blank.txt', ...TINY), /only white space/);
    refusedByCli(cli('train', 'binary.bin', ...TINY), /looks binary/);
    refusedByCli(cli('train', 'empty.txt', ...TINY), /empty/);
  });
});

describe('size limits', () => {
  it(`a text file over ${MAX_TEXT_BYTES / MiB} MiB is refused before it is read; an editor's text likewise in the worker`, () => {
    const huge = join(dir, 'huge.txt');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_TEXT_BYTES + 1); // sparse: no disk used
    refusedByCli(cli('train', huge, ...TINY), /limit for a text file is 256 MiB/);
    assert.throws(() => checkTextSize(MAX_TEXT_BYTES + 1), (e: unknown) => e instanceof InputError && /the limit is 256 MiB/.test(e.message));
    checkTextSize(100 * MiB);
  });

  it('a run whose checkpoint header would pass the reader\'s 100 MiB (one 101 MiB word) is refused before it trains, and nothing is written', () => {
    // Before, the run trained and wrote a checkpoint that its own reader then refused.
    const word = join(dir, 'one-huge-word.txt');
    writeFileSync(word, `${'w'.repeat(101 * MiB)} the cat sat on the mat`);
    const out = join(dir, 'huge-word.ckpt');
    refusedByCli(cli('train', word, '--tokens', 'word', '--hidden', '4', '--seq', '2', '--batch', '1', '--steps', '1', '--out', out), /checkpoint header/);
    assert.ok(!existsSync(out), 'no checkpoint written');
    rmSync(word);
  });

  it('a checkpoint of a model the extension allows is not refused for its size (the text limit used to apply)', () => {
    // The largest the settings allow: word (cap 10000), embedding 512, hidden 1024, 4 layers, bidirectional, Adam.
    const config: ModelConfig = { vocab_size: 10_000, embedding_size: 512, hidden_size: 1024, num_layers: 4, bidirectional: true, mode: 'many_to_one' };
    const bytes = 3 * 4 * parameterCount(config) + MiB; // weights and two moments, F32, and a header
    assert.ok(bytes > MAX_TEXT_BYTES, 'bigger than a text may be');
    assert.ok(bytes < MAX_CHECKPOINT_BYTES, `${mib(bytes)} fits under ${mib(MAX_CHECKPOINT_BYTES)}`);
    // A file past the text limit is read and judged by what it holds.
    const big = join(dir, 'big.lstm.safetensors');
    writeFileSync(big, '');
    truncateSync(big, MAX_TEXT_BYTES + MiB);
    assert.throws(() => readCheckpointFile(big), (e: unknown) => e instanceof InputError && /safetensors header/.test(e.message) && !/limit/.test(e.message));
  });
});
