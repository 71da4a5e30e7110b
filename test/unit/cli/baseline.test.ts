// `lstm-lens baseline FILE`: the n-gram model's held-out loss by order, as JSON and as text, and
// its refusals. The unigram's loss is recomputed here from the counts of the text's first 90%.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cliIn, ok, refused, workspace } from './cli-support';

const { dir, story, cleanup } = workspace('baseline');
after(cleanup);

interface Baseline {
  tokens: string;
  train_tokens: number;
  heldout_tokens: number;
  orders: Array<{ order: number; loss: number }>;
}

describe('lstm-lens baseline', () => {
  it('--json: every order, the split, and a unigram loss that agrees with its counts', () => {
    const text = readFileSync(story, 'utf8').replace(/\r\n?/g, '\n');
    const r = JSON.parse(ok(cliIn(dir, ['baseline', story, '--json'])).stdout) as Baseline;
    assert.deepEqual(Object.keys(r), ['tokens', 'train_tokens', 'heldout_tokens', 'orders']);
    assert.equal(r.tokens, 'char');
    const chars = Array.from(text);
    const n = chars.length;
    assert.equal(r.heldout_tokens, Math.floor(n / 10));
    assert.equal(r.train_tokens, n - Math.floor(n / 10));
    assert.deepEqual(r.orders.map((o) => o.order), [1, 2, 3, 4, 5, 6]);
    assert.ok(r.orders[1].loss < r.orders[0].loss);

    // Order 1, interpolated Kneser–Ney from raw counts: P(w) = max(c(w) - D, 0) / N + D · types / N · 1/V,
    // D = n1 / (n1 + 2 n2); the held-out part's n - 1 predictions (its first token has nothing before it).
    const V = new Set(chars).size;
    const train = chars.slice(0, r.train_tokens);
    const counts = new Map<string, number>();
    for (const ch of train) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const ofCount = (k: number): number => [...counts.values()].filter((c) => c === k).length;
    const D = ofCount(1) / (ofCount(1) + 2 * ofCount(2));
    const N = train.length;
    const p = (ch: string): number => Math.max((counts.get(ch) ?? 0) - D, 0) / N + ((D * counts.size) / N) * (1 / V);
    const held = chars.slice(r.train_tokens);
    let sum = 0;
    for (const ch of held.slice(1)) sum -= Math.log(p(ch));
    const expected = sum / (held.length - 1);
    assert.ok(Math.abs(r.orders[0].loss - expected) < 1e-9, `unigram ${r.orders[0].loss}, from the counts ${expected}`);
  });

  it('word tokens and --order, and the text report', () => {
    const r = JSON.parse(ok(cliIn(dir, ['baseline', story, '--json', '--tokens', 'word', '--order', '3'])).stdout) as Baseline;
    assert.equal(r.tokens, 'word');
    assert.deepEqual(r.orders.map((o) => o.order), [1, 2, 3]);
    const out = ok(cliIn(dir, ['baseline', story, '--order', '4'])).stdout;
    assert.match(out, /interpolated Kneser–Ney over char tokens/);
    assert.equal(out.split('\n').filter((l) => /^\s+\d\s+\d+\.\d{4}$/.test(l)).length, 4);
    assert.match(out, /^best: order \d, \d+\.\d{4}; a uniform guess scores ln \d+ = /m);
  });

  it('refuses bad options and texts in one line, exit 2', () => {
    refused(cliIn(dir, ['baseline', story, '--order', '0']), /--order must be a whole number from 1 to 6/);
    refused(cliIn(dir, ['baseline', story, '--order', '7']), /--order must be a whole number from 1 to 6/);
    refused(cliIn(dir, ['baseline', story, '--tokens', 'bytes']), /--tokens must be one of char, word/);
    refused(cliIn(dir, ['baseline']), /baseline takes one FILE/);
    refused(cliIn(dir, ['baseline', join(dir, 'missing.txt')]));
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    refused(cliIn(dir, ['baseline', empty]), /empty/);
    const short = join(dir, 'short.txt');
    writeFileSync(short, 'the cat');
    refused(cliIn(dir, ['baseline', short]), /too short to measure a loss on/);
  });
});
