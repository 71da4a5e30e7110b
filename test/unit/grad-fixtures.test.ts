// The engine against PyTorch, number by number: every committed case of CONTRACTS.md section 2,
// through the engine in float32 (the contract's tolerance), in float64 (agreement to 1e-9 shows the
// float32 differences are rounding, not mathematics), and through the real `lstm-lens grad`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseGradCase, runGradCase } from '../../src/engine/grad-case';
import { compareNested, largestRelativeError } from '../support/compare';
import { gradFixtures } from '../support/fixtures';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
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

  for (const f of fixtures) {
    it(`${f.name}: float32 engine within 1e-4 relative of PyTorch, every field`, () => {
      const actual = runGradCase(parseGradCase(f.case), 'float32');
      const mismatches = compareNested(actual, f.expected);
      assert.equal(mismatches.length, 0, report(mismatches));
    });

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
