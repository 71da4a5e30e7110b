// `lstm-lens inspect --json` gives token_loss, and `--attribute P` the attribution of the
// prediction at P, as float64 PyTorch computes them (units clamped too): checkpoints holding the
// fixtures' weights, read by the built CLI. Refusals are one line, exit 2, naming the range.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeCheckpoint } from '../../../src/engine/checkpoint';
import { Trainer } from '../../../src/engine/trainer';
import { compareNested } from '../../support/compare';
import { flat } from '../../support/fixtures';
import { whyFixtures, type WhyFixture } from '../../support/whyFixtures';
import { cliIn, ok, refused, show, workspace } from './cli-support';

const { dir, cleanup } = workspace('inspect-why');
after(cleanup);

/**
 * A checkpoint of the fixture's model: a run's checkpoint on the fixture's text, its weights
 * replaced by the fixture's. A bidirectional one is trained many-to-one (the only way it trains);
 * inspect applies the head at every position whatever the mode, so the numbers are the same.
 */
function checkpointOf(f: WhyFixture): string {
  const { vocab_size: _V, ...config } = f.config;
  const shape = config.bidirectional ? { ...config, mode: 'many_to_one' as const } : config;
  const trainer = Trainer.create(f.text, 'fixture.txt', shape, {
    tokens: 'char', max_vocab: 0, sequence_length: 3, batch_size: 1, steps: 1, optimizer: 'sgd', learning_rate: 0.1,
    schedule: 'constant', clip: 1, init: 'pytorch', init_value: 0.1, seed: 1,
  });
  const ckpt = trainer.checkpoint();
  assert.deepEqual(ckpt.vocab.tokens, f.vocab.tokens, 'the run read the fixture text into the fixture vocabulary');
  for (const name of ckpt.params.keys()) ckpt.params.set(name, Float32Array.from(flat(f.weights[name])));
  const path = join(dir, `${f.name}.lstm.safetensors`);
  writeFileSync(path, encodeCheckpoint(ckpt));
  return path;
}

const fixtures = ['onehot_l2', 'embed_bidir_l2', 'onehot_l1_m2o', 'onehot_l2_clamped'].map((name) => whyFixtures().find((f) => f.name === name) as WhyFixture);

describe('lstm-lens inspect: token_loss and --attribute', () => {
  it('uses a one-hot, an embedding bidirectional, a many-to-one and a clamped fixture', () => assert.ok(fixtures.every((f) => f !== undefined)));

  for (const f of fixtures) {
    it(`${f.name}: token_loss and every attribution agree with PyTorch`, () => {
      const ckpt = checkpointOf(f);
      const clamps = f.clamps.flatMap((spec) => ['--clamp', spec]);
      const plain = JSON.parse(ok(cliIn(dir, ['inspect', ckpt, '--text', f.text, '--json', ...clamps])).stdout) as Record<string, unknown>;
      assert.equal('attribution' in plain, false, 'no attribution unless asked');
      let m = compareNested({ loss: plain.loss, token_loss: plain.token_loss }, { loss: f.loss, token_loss: f.token_loss });
      assert.equal(m.length, 0, JSON.stringify(m.slice(0, 3)));
      for (const a of f.attributions) {
        const r = ok(cliIn(dir, ['inspect', ckpt, '--text', f.text, '--json', '--attribute', String(a.position), ...clamps]));
        const out = JSON.parse(r.stdout) as { attribution: Record<string, unknown>; token_loss: number[] };
        assert.deepEqual(Object.keys(out.attribution), ['position', 'target', 'grad_norm', 'grad_x_input']);
        m = compareNested(out.attribution, { position: a.position, target: f.vocab.tokens[a.target], grad_norm: a.grad_norm, grad_x_input: a.grad_x_input });
        assert.equal(m.length, 0, `P = ${a.position}: ${JSON.stringify(m.slice(0, 3))}`);
        assert.deepEqual(out.token_loss, plain.token_loss);
      }
    });
  }

  it('refuses a position out of range, or a text of one token, in one line with the range', () => {
    const f = fixtures[0];
    const ckpt = checkpointOf(f);
    const T = f.tokens.length;
    for (const P of [String(T - 1), '-1', 'x', '2.5']) {
      refused(cliIn(dir, ['inspect', ckpt, '--text', f.text, '--json', '--attribute', P]), new RegExp(`--attribute must be a whole number from 0 to ${T - 2}`));
    }
    refused(cliIn(dir, ['inspect', ckpt, '--text', 'a', '--attribute', '0']), /at least two tokens/);
  });

  it('without --json, the report lists the strongest positions, and none after the prediction of a forward model', () => {
    const f = fixtures[0];
    const ckpt = checkpointOf(f);
    const a = f.attributions[1];
    const r = ok(cliIn(dir, ['inspect', ckpt, '--text', f.text, '--attribute', String(a.position), '--no-trace']));
    assert.match(r.stdout, new RegExp(`attribution of the prediction at position ${a.position} `), show(r));
    const strongest = a.grad_norm.indexOf(Math.max(...a.grad_norm));
    const listed = r.stdout.split('attribution of the prediction')[1].split('\n').filter((l) => /norm \d/.test(l));
    assert.equal(listed.length, a.position + 1);
    assert.match(listed[0], new RegExp(`^\\s+${strongest} .*norm ${a.grad_norm[strongest].toFixed(4)}`));
  });
});
