// `lstm-lens inspect` on long texts (issue 11): the text output is bounded whatever the length of
// the text (the first positions, said so; --json has all), a long text is read in pieces by the
// engine instead of dying with "Invalid string length", and what cannot fit is refused in one line.
// The real CLI (dist/cli.js) in a temporary folder.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cliIn, lastJsonLine, ok, refused, type Run, workspace, predictionEntries } from './cli-support';

let dir = '';
let cleanup = (): void => {};
let story = '';
before(() => {
  ({ dir, cleanup } = workspace('inspect'));
  story = readFileSync(join(dir, 'story.txt'), 'utf8');
});
after(() => cleanup());

const cli = (...args: string[]): Run => cliIn(dir, args, { timeout: 120_000 });
/** The default spawnSync limit for one stream is 1 MiB; the whole output is read here, up to 64 MiB. */
function inspect(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, 'inspect', ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 2 ** 20 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe('inspect prints a bounded amount', () => {
  const model = (): string => join(dir, 'words.ckpt');
  before(() => {
    ok(cli('train', 'story.txt', '--tokens', 'word', '--hidden', '8', '--seq', '6', '--batch', '2', '--steps', '2', '--quiet', '--out', model()));
  });

  it('a text of 1,290 tokens: the first 200 predictions and 50 trace steps, said so; they agree with --json', () => {
    const text = story.replace(/\s+/g, ' ').trim().repeat(6); // about 215 words, six times
    const json = lastJsonLine(ok(inspect(model(), '--text', text, '--json')).stdout);
    const T = (json.tokens as string[]).length;
    assert.ok(T > 1000, `${T} tokens`);
    const r = ok(inspect(model(), '--text', text));
    const lines = r.stdout.split('\n');
    assert.match(r.stdout, new RegExp(`next-token predictions \\(the first 200 of ${T} positions; --json has all\\):`));
    assert.match(r.stdout, new RegExp(`the first 50 of ${T} steps; --json has all`));
    // Lines keep to the width (100 when not a terminal): a long prediction continues on the next line, indented.
    for (const l of lines) assert.ok(l.length <= 100, `a line of ${l.length} characters: ${l}`);
    const predictions = predictionEntries(lines);
    assert.equal(predictions.length, 200);
    const traceRows = lines.filter((l) => /^\s+t=\d+/.test(l));
    assert.equal(traceRows.length, 8 * 50, 'eight tensors, fifty steps each');
    assert.ok(r.stdout.length < 200_000, `${r.stdout.length} characters`);
    // What is printed is what --json says at those positions.
    const top = json.top as Array<Array<{ token: string; p: number }>>;
    for (const t of [0, 57, 199]) {
      const line = predictions[t];
      const expected = top[t].map((p) => `${JSON.stringify(p.token)} ${p.p.toFixed(3)}`).join(', ');
      assert.ok(line.includes(expected), `position ${t}: ${line} vs ${expected}`);
    }
  });

  it('a 130 KB text (char level, hidden 32): read in pieces, exit 0, output bounded (it used to die with "Invalid string length")', () => {
    const chars = join(dir, 'chars.ckpt');
    ok(cli('train', 'story.txt', '--hidden', '32', '--seq', '16', '--batch', '2', '--steps', '2', '--quiet', '--out', chars));
    const text = story.repeat(Math.ceil(130_000 / story.length)).slice(0, 130_000);
    writeFileSync(join(dir, 'long.txt'), text);
    const r = ok(inspect(chars, '--text', text.slice(0, 120_000))); // an argument may hold 128 KiB
    assert.match(r.stdout, /^text: 120000 tokens/m);
    assert.match(r.stdout, /the first 200 of 120000 positions/);
    assert.ok(r.stdout.length < 400_000, `${r.stdout.length} characters printed`);
  });

  it('--json that cannot fit is refused in one line, before any work (a vocabulary of 20,000 characters, 14,000 positions)', () => {
    // 20,000 distinct CJK characters: logits alone are 14,000 × 20,000 floats, over 1 GiB.
    let wide = '';
    for (let k = 0; k < 20_000; k++) wide += String.fromCodePoint(0x4e00 + k);
    writeFileSync(join(dir, 'wide.txt'), wide.repeat(2));
    const out = join(dir, 'wide.ckpt');
    ok(cli('train', 'wide.txt', '--hidden', '4', '--seq', '4', '--batch', '1', '--steps', '1', '--quiet', '--out', out));
    refused(inspect(out, '--text', wide.slice(0, 14_000), '--json'), /would return about [\d.]+ [GM]iB .*more than [\d.]+ [GM]iB.*give a shorter --text, or leave out --json for the first 200/);
  });
});
