// `lstm-lens units` and `--clamp`, run as a user runs them (the built CLI): a checkpoint holding
// the char fixture's weights (test/pytorch/make_units_fixtures.py), whose clamped numbers inspect
// must give; the JSON of units, key by key; generation that a clamp changes, the same for a seed;
// bad specs refused with one line.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/engine/checkpoint';
import { compareNested } from '../../support/compare';
import { flat, FIXTURES } from '../../support/fixtures';
import { cliIn, ok, refused, workspace } from './cli-support';

const f = JSON.parse(readFileSync(join(FIXTURES, 'units', 'char.json'), 'utf8'));
const text = f.text as string;
const T = Array.from(text).length; // 26 tokens, one per character

describe('lstm-lens units and --clamp', () => {
  let dir = '';
  let cleanup = (): void => {};
  let ckpt = '';
  let file = '';
  before(() => {
    ({ dir, cleanup } = workspace('units'));
    file = join(dir, 'code.txt');
    writeFileSync(file, text);
    // A run on the fixture's text gives its vocabulary and shape; then the fixture's weights go in.
    ckpt = join(dir, 'model.safetensors');
    ok(cliIn(dir, ['train', 'code.txt', '--tokens', 'char', '--hidden', '6', '--layers', '2', '--seq', '8', '--batch', '2', '--steps', '1', '--holdout', '0', '--quiet', '--out', ckpt]));
    const c = decodeCheckpoint(readFileSync(ckpt));
    assert.deepEqual(c.vocab.tokens, f.vocab.tokens);
    assert.deepEqual(c.config, f.config);
    for (const [name] of c.params) c.params.set(name, Float32Array.from(flat(f.weights[name])));
    writeFileSync(ckpt, encodeCheckpoint(c));
  });
  after(() => cleanup());

  it("inspect --clamp gives PyTorch's clamped loss, logits and trace", () => {
    const r = ok(cliIn(dir, ['inspect', ckpt, '--text', text, '--json', ...f.clamps.flatMap((s: string) => ['--clamp', s])]));
    const got = JSON.parse(r.stdout);
    const V = f.config.vocab_size;
    assert.equal(got.logits.length, T);
    const actual = { loss: got.loss, logits: [got.logits], trace: got.trace };
    const mismatches = compareNested(actual, { loss: f.expected.loss, logits: f.expected.logits, trace: f.expected.trace });
    assert.equal(mismatches.length, 0, JSON.stringify(mismatches.slice(0, 3)));
    assert.equal(got.logits[0].length, V);
    // Without the clamps: the unclamped loss.
    const free = JSON.parse(ok(cliIn(dir, ['inspect', ckpt, '--text', text, '--json'])).stdout);
    assert.ok(Math.abs(free.loss - f.unclamped_loss) < 1e-4 * f.unclamped_loss);
  });

  it('units --json: the keys of the contract in order; a clamped unit is on everywhere and follows no track', () => {
    const r = ok(cliIn(dir, ['units', ckpt, 'code.txt', '--layer', '1', '--select', '2:5', '--threshold', '-0.8', '--tracks', '--json', '--clamp', 'h:1:4=-0.8']));
    const got = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(got), ['state', 'layer', 'direction', 'tokens', 'select', 'threshold', 'units', 'matches', 'match_count', 'tracks']);
    assert.equal(got.state, 'h');
    assert.equal(got.layer, 1);
    assert.equal(got.direction, 'forward');
    assert.equal(got.tokens, T);
    assert.deepEqual(got.select, [2, 5]);
    assert.equal(got.threshold, -0.8);
    assert.ok(got.units.includes(4));
    if (got.units.length === 1) assert.deepEqual(got.matches, [{ start: 0, end: T, chars: [0, text.length], text }]);
    assert.ok(got.match_count >= 1);
    for (const m of got.matches) {
      assert.deepEqual(Object.keys(m), ['start', 'end', 'chars', 'text']);
      assert.equal(m.text, text.slice(m.chars[0], m.chars[1]));
    }
    assert.deepEqual(Object.keys(got.tracks), ['column', 'indent', 'bracket_depth', 'in_quotes', 'in_word']);
    for (const leaders of Object.values(got.tracks) as Array<Array<{ unit: number; r: number }>>) {
      assert.equal(leaders.length, 5);
      for (const l of leaders) {
        assert.deepEqual(Object.keys(l), ['unit', 'r']);
        if (l.unit === 4) assert.equal(l.r, 0);
      }
    }
  });

  it('units --json without a selection: no units, no matches, tracks null', () => {
    const got = JSON.parse(ok(cliIn(dir, ['units', ckpt, 'code.txt', '--json', '--state', 'c'])).stdout);
    assert.deepEqual(got, { state: 'c', layer: 0, direction: 'forward', tokens: T, select: null, threshold: null, units: [], matches: [], match_count: 0, tracks: null });
  });

  it('units as text names the selection, the units and the matches', () => {
    const r = ok(cliIn(dir, ['units', ckpt, 'code.txt', '--layer', '1', '--select', '0:3', '--threshold', '-0.8', '--clamp', 'h:1:4=-0.8']));
    assert.match(r.stdout, new RegExp(`^h of layer 1 \\(forward\\), 6 units, over ${T} tokens of code\\.txt, with h:1:4=-0\\.8 clamped\n`));
    assert.match(r.stdout, /units on: (\d+, )*4/);
    assert.match(r.stdout, /matches: \d+/);
  });

  it('generate --clamp changes the text, the same for the same seed', () => {
    const args = ['generate', ckpt, '--prime', 'if (', '--length', '60', '--seed', '7', '--temperature', '1'];
    const clamps = ['h:1:0=1', 'h:1:1=-1', 'h:1:2=1', 'c:1:3=-2', 'h:1:4=1', 'h:1:5=-1'].flatMap((s) => ['--clamp', s]);
    const plain = ok(cliIn(dir, args)).stdout;
    const clamped = ok(cliIn(dir, [...args, ...clamps])).stdout;
    assert.equal(ok(cliIn(dir, [...args, ...clamps])).stdout, clamped);
    assert.notEqual(clamped, plain);
  });

  it('explain --clamp on a layer below reads the clamped states; on its own layer the step holds it', () => {
    const clamp = ['--clamp', 'c:0:2=1.5'];
    const inspected = JSON.parse(ok(cliIn(dir, ['inspect', ckpt, '--text', text, '--json', ...clamp])).stdout);
    const e = JSON.parse(ok(cliIn(dir, ['explain', ckpt, '--text', text, '--at', '3', '--layer', '1', '--json', ...clamp])).stdout);
    assert.deepEqual(e.forward.x, inspected.trace[0].h[0][3]);
    assert.equal(e.forward.x[2], inspected.trace[0].h[0][3][2]);
    assert.deepEqual(e.forward.h_prev, inspected.trace[1].h[0][2]);
    const own = JSON.parse(ok(cliIn(dir, ['explain', ckpt, '--text', text, '--at', '3', '--layer', '0', '--json', ...clamp])).stdout);
    assert.equal(own.forward.c[2], 1.5);
    assert.deepEqual([own.backward.di[2], own.backward.df[2], own.backward.dg[2], own.backward.dc_prev[2]], [0, 0, 0, 0]);
  });

  for (const [args, message] of [
    [['units', 'CKPT', 'code.txt', '--clamp', 'h:0:1'], /--clamp: a clamp is h:K:U=V or c:K:U=V/],
    [['units', 'CKPT', 'code.txt', '--clamp', 'h:2:0=1'], /--clamp: the clamp h:2:0 names layer 2, and the model has 2/],
    [['inspect', 'CKPT', '--text', 'if', '--clamp', 'c:0:6=1'], /names unit 6, and the model has 6 per layer/],
    [['generate', 'CKPT', '--clamp', 'x:0:0=1'], /a clamp is h:K:U=V/],
    [['generate', 'CKPT', '--clamp', 'h:0:0=1', '--clamp', 'h:0:0=2'], /h:0:0 is given twice/],
    [['units', 'CKPT', 'code.txt', '--select', '3:1', '--threshold', '0'], /--select must be A:B with A < B/],
    [['units', 'CKPT', 'code.txt', '--select', '3:5'], /--select needs --threshold/],
    [['units', 'CKPT', 'code.txt', '--threshold', '0.5'], /--threshold goes with --select/],
    [['units', 'CKPT', 'code.txt', '--select', '0:99', '--threshold', '0'], /ends past the text's 26 tokens/],
    [['units', 'CKPT', 'code.txt', '--direction', 'backward'], /reads forward only/],
    [['units', 'CKPT'], /units takes CKPT and FILE/],
  ] as const) {
    it(`refuses ${args.slice(1).join(' ')} with one line (exit 2)`, () => {
      refused(cliIn(dir, args.map((a) => (a === 'CKPT' ? ckpt : a))), message);
    });
  }
});
