// The engine against PyTorch, number by number: every committed case of docs/grad-case.md,
// through the engine in float32 (the contract's tolerance), in float64 (agreement to 1e-9 shows the
// float32 differences are rounding, not mathematics), and through the real `lstm-lens grad`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../../src/engine/config';
import { parseGradCase, runGradCase } from '../../../src/engine/grad-case';
import { compareNested, largestRelativeError } from '../../support/compare';
import { gradFixtures } from '../../support/fixtures';
import { kernelPaths } from '../../support/kernelPaths';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CLI = join(__dirname, '..', '..', '..', 'dist', 'cli.js');
const fixtures = gradFixtures();

function report(mismatches: ReturnType<typeof compareNested>): string {
  return mismatches
    .slice(0, 5)
    .map((m) => `${m.path}: got ${JSON.stringify(m.actual)}, PyTorch ${JSON.stringify(m.expected)}`)
    .join('\n');
}

describe('PyTorch grad fixtures', () => {
  it('cover the cases the contract asks for', () => {
    const configs = fixtures.map((f) => f.case.config as Record<string, unknown>);
    assert.ok(fixtures.length >= 10);
    assert.ok(configs.some((c) => c.embedding_size === null) && configs.some((c) => c.embedding_size !== null), 'one-hot and embedding');
    for (const L of [1, 2, 3]) assert.ok(configs.some((c) => c.num_layers === L), `L = ${L}`);
    assert.ok(configs.some((c) => c.bidirectional) && configs.some((c) => !c.bidirectional), 'both directions');
    assert.ok(configs.some((c) => c.mode === 'many_to_one') && configs.some((c) => c.mode === 'many_to_many'), 'both modes');
    assert.ok(fixtures.some((f) => f.case.h0 !== null), 'a given initial state');
    assert.ok(fixtures.some((f) => (f.case.tokens as unknown[]).length === 1), 'B = 1');
    assert.ok(fixtures.some((f) => (f.case.tokens as unknown[][])[0].length === 1), 'T = 1');
  });

  // float32 on every kernel path: the FMA build rounds each product-and-add once where the others
  // round twice; both stay within the contract's 1e-4 relative (the largest seen is far below it).
  for (const path of kernelPaths()) {
    describe(`float32 on ${path.name}`, () => {
      before(path.enter);
      after(path.leave);
      for (const f of fixtures) {
        it(`${f.name}: float32 engine within 1e-4 relative of PyTorch, every field`, () => {
          const actual = runGradCase(parseGradCase(f.case), 'float32');
          const mismatches = compareNested(actual, f.expected);
          assert.equal(mismatches.length, 0, report(mismatches));
        });
      }
    });
  }

  for (const f of fixtures) {
    it(`${f.name}: float64 engine agrees with float64 PyTorch to 1e-9`, () => {
      const actual = runGradCase(parseGradCase(f.case), 'float64');
      const mismatches = compareNested(actual, f.expected, { rtol: 1e-9, atol: 1e-12 });
      assert.equal(mismatches.length, 0, `${report(mismatches)}\nlargest relative error ${largestRelativeError(actual, f.expected)}`);
    });
  }

  it('lstm-lens grad answers every case within the contract tolerance', () => {
    for (const f of fixtures) {
      const run = spawnSync(process.execPath, [CLI, 'grad', f.casePath], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(run.status, 0, `${f.name}: ${run.stderr}`);
      const mismatches = compareNested(JSON.parse(run.stdout), f.expected);
      assert.equal(mismatches.length, 0, `${f.name}:\n${report(mismatches)}`);
    }
  });

  it('a wrong answer is caught: perturbing one weight moves the loss beyond tolerance', () => {
    const f = fixtures.find((x) => x.name === 'onehot_l1_m2m') ?? fixtures[0];
    const perturbed = structuredClone(f.case) as { weights: Record<string, number[][]> };
    perturbed.weights['lstm.weight_hh_l0'][0][0] += 0.01;
    const mismatches = compareNested(runGradCase(parseGradCase(perturbed)), f.expected);
    assert.ok(mismatches.length > 0);
  });
});

describe('grad cases that ask too much or say something impossible', () => {
  const f = fixtures.find((x) => x.name === 'onehot_l1_m2m') ?? fixtures[0];
  const refusedInOneLine = (value: unknown, message: RegExp): void => {
    gc();
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => parseGradCase(value), (e) => e instanceof InputError && message.test(e.message) && !e.message.includes('\n'));
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 2 ** 20, 'refused before the model was built');
  };

  it('a 150-byte case asking for a huge model is refused before anything is built', () => {
    const small = { config: { vocab_size: 5, hidden_size: 16384, num_layers: 64, embedding_size: 16384, mode: 'many_to_many' }, tokens: [[1, 2]], targets: [[2, 3]], weights: {} };
    assert.ok(JSON.stringify(small).length < 200);
    refusedInOneLine(small, /this case would need about .* of memory/);
  });

  it('a model that fits but whose weights are missing or malformed: refused before the model is built', () => {
    // hidden 4096: about 600 MB of parameters and gradients, which the case does not give.
    const base = { config: { vocab_size: 5, hidden_size: 4096, num_layers: 2, embedding_size: null, mode: 'many_to_many' }, tokens: [[1, 2]], targets: [[2, 3]] };
    refusedInOneLine({ ...base, weights: {} }, /weights lack lstm\.weight_ih_l0/);
    refusedInOneLine({ ...base, weights: { 'lstm.weight_ih_l0': [[1]] } }, /weights\["lstm\.weight_ih_l0"\] must be an array of 16384/);
    refusedInOneLine({ ...base, weights: { 'no.such': [] } }, /weights has "no\.such", which this config does not have/);
  });

  it('a non-finite weight is refused, and so is one beyond float32 (infinite where the engine computes)', () => {
    const c = structuredClone(f.case) as { weights: Record<string, number[][]> };
    c.weights['lstm.weight_hh_l0'][1][0] = JSON.parse('1e999') as number;
    assert.throws(() => parseGradCase(c), (e) => e instanceof InputError && /weight_hh_l0.*\[1\]\[0\] must be a finite number/.test(e.message));
    c.weights['lstm.weight_hh_l0'][1][0] = 1e300;
    assert.throws(() => parseGradCase(c), (e) => e instanceof InputError && /weight_hh_l0.*\[1\]\[0\] is 1e\+300, beyond float32/.test(e.message));
  });

  it('token ids and targets must be exact integers in the vocabulary: 2^32 is refused, not wrapped to 0', () => {
    const V = (f.case.config as { vocab_size: number }).vocab_size;
    for (const [field, bad] of [['tokens', 2 ** 32], ['tokens', -1], ['tokens', V], ['tokens', 1.5], ['tokens', 2 ** 53], ['targets', 2 ** 32], ['targets', -1], ['targets', V + 2 ** 32]] as const) {
      const c = structuredClone(f.case) as Record<string, number[][]>;
      c[field][0][0] = bad;
      assert.throws(() => parseGradCase(c), (e) => e instanceof InputError && new RegExp(`^${field}`).test(e.message) && !e.message.includes('\n'), `${field} ${bad}`);
    }
    // PyTorch's ignore_index (-100) stays a target no loss counts.
    const c = structuredClone(f.case) as Record<string, number[][]>;
    c.targets[0][0] = -100;
    assert.ok(Number.isFinite(runGradCase(parseGradCase(c)).loss as number));
  });
});
