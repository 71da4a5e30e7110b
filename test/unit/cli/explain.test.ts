// `lstm-lens explain` as a user runs it (the built dist/cli.js): a checkpoint holding a PyTorch
// fixture's weights (test/pytorch/make_explain_fixtures.py) explains each step exactly as the
// float64 reference; the text output shows the equations; bad --at, --layer and --direction are
// refused in one line; the article's walk-through has the article's shapes; --clamp on any layer
// gives the clamped reference's numbers.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeCheckpoint } from '../../../src/engine/checkpoint';
import { Trainer } from '../../../src/engine/trainer';
import { compareNested } from '../../support/compare';
import { explainFixtures, type ExplainFixture } from '../../support/explainFixtures';
import { flat } from '../../support/fixtures';
import { cliIn, ok, refused, ROOT, workspace } from './cli-support';

const { dir, cleanup } = workspace('explain');
after(cleanup);

/** A checkpoint file with the fixture's model and vocabulary (a trainer's checkpoint, its weights replaced). */
function checkpointOf(fx: ExplainFixture): string {
  const { hidden_size, num_layers, embedding_size, bidirectional, mode } = fx.config;
  const trainer = Trainer.create(fx.text, `${fx.name}.txt`, { hidden_size, num_layers, embedding_size, bidirectional, mode }, {
    tokens: fx.vocab.kind, max_vocab: 0, sequence_length: 2, batch_size: 1, steps: 1, optimizer: 'sgd', learning_rate: 0.1,
    schedule: 'constant', clip: null, init: 'pytorch', init_value: 0.1, seed: 0,
  });
  const ckpt = trainer.checkpoint();
  assert.deepEqual(ckpt.vocab.tokens, fx.vocab.tokens, `${fx.name}: the engine builds the fixture's vocabulary`);
  assert.deepEqual(ckpt.config, fx.config);
  for (const name of ckpt.params.keys()) ckpt.params.set(name, Float32Array.from(flat(fx.weights[name])));
  const path = join(dir, `${fx.name}.lstm.safetensors`);
  writeFileSync(path, encodeCheckpoint(ckpt));
  return path;
}

// explain on the command line starts from a zero state: the fixtures with an initial state are the engine's.
const fixtures = explainFixtures().filter((f) => f.h0 === null);
const byName = (name: string): ExplainFixture => fixtures.find((f) => f.name === name) as ExplainFixture;

describe('lstm-lens explain --json', () => {
  for (const fx of fixtures) {
    it(`${fx.name}: equals float64 PyTorch, the contract's keys in order`, () => {
      const ckpt = checkpointOf(fx);
      for (const want of fx.steps) {
        const clamps = (fx.clamps ?? []).flatMap((c) => ['--clamp', c]);
        const r = ok(cliIn(dir, ['explain', ckpt, '--text', fx.text, '--at', String(want.t), '--layer', String(want.layer), '--direction', want.direction, '--json', ...clamps]));
        const lines = r.stdout.trimEnd().split('\n');
        assert.equal(lines.length, 1, 'one JSON object on one line');
        const got = JSON.parse(lines[0]) as Record<string, Record<string, number[]>>;
        assert.deepEqual(Object.keys(got), ['token', 't', 'layer', 'direction', 'forward', 'backward']);
        assert.deepEqual(Object.keys(got.forward), Object.keys(want.forward));
        assert.deepEqual(Object.keys(got.backward), Object.keys(want.backward));
        const bad = compareNested(got, want);
        assert.deepEqual(bad.slice(0, 5), [], `${fx.name} t=${want.t} layer ${want.layer} ${want.direction}: ${bad.length} numbers differ`);
      }
    });
  }
});

describe('lstm-lens explain --clamp', () => {
  it('--clamp h:0:1=0.5 --json on the clamped layer equals float64 PyTorch with the same assignment, and differs without it', () => {
    const fx = byName('clamp_h_onehot_l2');
    assert.deepEqual(fx.clamps, ['h:0:1=0.5']);
    const ckpt = checkpointOf(fx);
    const want = fx.steps.find((s) => s.layer === 0 && s.direction === 'forward' && s.t > 0 && s.t < fx.text.length - 1) as ExplainFixture['steps'][number];
    const args = ['explain', ckpt, '--text', fx.text, '--at', String(want.t), '--json'];
    const got = JSON.parse(ok(cliIn(dir, [...args, '--clamp', 'h:0:1=0.5'])).stdout) as Record<string, Record<string, number[]>>;
    const bad = compareNested(got, want);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} numbers differ`);
    assert.equal(got.forward.h[1], 0.5);
    assert.equal(got.backward.do[1], 0);
    const free = JSON.parse(ok(cliIn(dir, args)).stdout) as Record<string, Record<string, number[]>>;
    assert.ok(compareNested(free, want).length > 0, 'without the clamp the numbers are not the clamped ones');
  });

  it('as text it names the clamps and what they hold in the step', () => {
    const fx = byName('clamp_c_onehot_l2');
    const r = ok(cliIn(dir, ['explain', checkpointOf(fx), '--text', fx.text, '--at', '4', '--clamp', 'c:0:2=0.8']));
    assert.match(r.stdout, /clamped while the model reads: c:0:2=0\.8/);
    assert.match(r.stdout, /clamped here: c\[2\] = 0\.8 as soon as c is computed/);
    assert.match(r.stdout, /clamped c\[2\] = 0\.8: its dc goes no further/);
    const above = ok(cliIn(dir, ['explain', checkpointOf(fx), '--text', fx.text, '--at', '4', '--layer', '1', '--clamp', 'c:0:2=0.8']));
    assert.match(above.stdout, /clamped while the model reads: c:0:2=0\.8/);
    assert.doesNotMatch(above.stdout, /clamped here/);
  });
});

describe('lstm-lens explain as text', () => {
  it('the forward equations, then the backward ones, with every unit of a small model', () => {
    const fx = byName('onehot_l2');
    const r = ok(cliIn(dir, ['explain', checkpointOf(fx), '--text', fx.text, '--at', '5', '--layer', '1']));
    const out = r.stdout;
    const order = ['forward', 'x = layer 0', 'h_prev (step 4)', 'z_i = sum of the three', 'i = σ(z_i)', 'g = tanh(z_g)', 'c = f⊙c_prev + i⊙g', 'h = o⊙tanh(c)',
      'backward', 'dh_up (from the head)', 'dh_next = W_hhᵀ dz(next)', 'dh = dh_up + dh_next', 'dc = dc_via_h + dc_next', 'dz_o = do⊙o⊙(1-o)', 'dc_prev = dc⊙f', 'dh_prev = W_hhᵀ dz', 'dx = W_ihᵀ dz'];
    let at = -1;
    for (const piece of order) {
      const next = out.indexOf(piece, at + 1);
      assert.ok(next > at, `"${piece}" after the previous piece:\n${out}`);
      at = next;
    }
    // The numbers are those of --json: h of unit 2, as printed with 4 decimals.
    const want = fx.steps.find((s) => s.t === 5 && s.layer === 1) ?? null;
    if (want) assert.match(out, new RegExp(`h = o⊙tanh\\(c\\).*${want.forward.h[2].toFixed(4).replace('.', '\\.')}`));
    assert.match(out, /^\s+unit\s+0\s+1\s+2$/m, 'one column per unit, every unit (H = 3)');
    for (const line of out.trimEnd().split('\n')) assert.ok(line.length <= 100, `within 100 columns: ${line}`);
  });

  it('the first 8 units of a wider model, and says so; the last step says why nothing comes back', () => {
    const fx = byName('wide_onehot_l1');
    const T = fx.steps[fx.steps.length - 1].t + 1;
    const r = ok(cliIn(dir, ['explain', checkpointOf(fx), '--text', fx.text, '--at', String(T - 1)]));
    assert.match(r.stdout, /units 0 to 7 of 10 shown/);
    assert.match(r.stdout, /^\s+unit\s+0\s+1\s+2\s+3\s+4\s+5\s+6\s+7$/m);
    assert.match(r.stdout, /this direction's last: nothing comes back from a next step/);
    assert.match(r.stdout, /dh_next \(last step: 0\)/);
  });
});

describe('lstm-lens explain refuses in one line (exit 2)', () => {
  const fx = byName('bidir_embed_l2');
  const uni = byName('onehot_l1');
  it('a step outside the text, naming its range', () => {
    const ckpt = checkpointOf(uni);
    refused(cliIn(dir, ['explain', ckpt, '--text', 'a cab', '--at', '5']), /--at 5 is outside the text: its 5 tokens are steps 0 to 4/);
    refused(cliIn(dir, ['explain', ckpt, '--text', 'a cab', '--at', '-1']), /--at must be a whole number/);
    refused(cliIn(dir, ['explain', ckpt, '--text', 'a cab']), /needs --at/);
    refused(cliIn(dir, ['explain', ckpt, '--at', '0']), /needs --text/);
  });

  it('a layer or a direction the model lacks', () => {
    refused(cliIn(dir, ['explain', checkpointOf(fx), '--text', 'dab', '--at', '1', '--layer', '2']), /--layer 2: the model has 2 layers \(0 to 1\)/);
    refused(cliIn(dir, ['explain', checkpointOf(uni), '--text', 'a cab', '--at', '1', '--direction', 'backward']), /forward only/);
    refused(cliIn(dir, ['explain', checkpointOf(uni), '--text', 'a cab', '--at', '1', '--direction', 'sideways']), /--direction must be one of forward, backward/);
  });
});

describe("the article's walk-through", () => {
  it('trains as the article does and explains a step with its shapes: (1, 10) one-hot in, (5, 10) and (5, 5) blocks per gate, (1, 5) states', () => {
    const ckpt = join(dir, 'article.lstm.safetensors');
    const sample = join(ROOT, 'media', 'samples', 'article.txt');
    ok(cliIn(dir, ['train', sample, '--tokens', 'word', '--hidden', '5', '--seq', '3', '--batch', '1', '--mode', 'many-to-one', '--optimizer', 'sgd', '--lr', '1', '--clip', '0', '--init', 'constant', '--init-value', '0.1', '--holdout', '0', '--steps', '30', '--quiet', '--out', ckpt]));
    const shapes = JSON.parse(ok(cliIn(dir, ['inspect', ckpt, '--text', 'long ago the mice', '--json'])).stdout).shapes as Record<string, number[]>;
    assert.deepEqual(shapes.input, [1, 4, 10]);
    assert.deepEqual(shapes['lstm.weight_ih_l0'], [4 * 5, 10]); // four (5, 10) blocks, rows i, f, g, o
    assert.deepEqual(shapes['lstm.weight_hh_l0'], [4 * 5, 5]); // four (5, 5) blocks
    const e = JSON.parse(ok(cliIn(dir, ['explain', ckpt, '--text', 'long ago the mice', '--at', '2', '--json'])).stdout) as { token: string; forward: Record<string, number[]>; backward: Record<string, number[]> };
    assert.equal(e.token, 'the');
    assert.equal(e.forward.x.length, 10);
    assert.deepEqual(e.forward.x.map((v, k) => (v === 1 ? k : -1)).filter((k) => k >= 0), [2], 'one-hot of "the", id 2');
    for (const k of ['Wx', 'Uh', 'b', 'z']) assert.equal(e.forward[k].length, 20, k);
    for (const k of ['h_prev', 'c_prev', 'i', 'f', 'g', 'o', 'c', 'tanh_c', 'h']) assert.equal(e.forward[k].length, 5, k);
    for (const k of ['dh', 'dc', 'dc_prev', 'dh_prev']) assert.equal(e.backward[k].length, 5, k);
    assert.equal(e.backward.dx.length, 10);
    // Every weight started at 0.1: the five units got the same gradients, so they are still equal.
    for (const values of [e.forward.h, e.forward.c, e.backward.dh]) assert.ok(values.every((v) => v === values[0]), `${values}`);
  });
});
