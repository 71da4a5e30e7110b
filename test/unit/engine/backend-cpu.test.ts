// The CPU backend's own scratch: for one-hot input from ONE_HOT_TRANSPOSE_MIN_ROWS rows on, it
// reads and sums W_ih through a transposed copy that it keeps itself (no caller passes it). Both
// sides of that threshold are held to the definition (the column of W_ih that a token picks, plus
// the biases; its gradient summed into that column), computed here by plain loops; a copy kept
// from an earlier W_ih or an earlier size would show. The transposed copy is the backend's, made
// once: a model keeps one however many workspaces it has.

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CpuBackend, ONE_HOT_TRANSPOSE_MIN_ROWS } from '../../../src/engine/backend-cpu';
import type { DType, FloatArray, ModelConfig } from '../../../src/engine/config';
import { trainingMemory } from '../../../src/engine/memory';
import { LSTMModel } from '../../../src/engine/model';
import { Random } from '../../../src/engine/random';

function filled(backend: CpuBackend, rows: number, cols: number, rng: Random): FloatArray {
  const t = backend.alloc(rows, cols);
  for (let k = 0; k < t.length; k++) t[k] = rng.uniform(-1, 1);
  return t;
}

function ids(n: number, V: number, rng: Random): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.next() * V));
}

function assertClose(got: FloatArray, want: Float64Array, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let k = 0; k < want.length; k++) {
    const bound = tol * Math.max(1, Math.abs(want[k]));
    assert.ok(Math.abs(got[k] - want[k]) <= bound, `${what}[${k}]: ${got[k]}, expected ${want[k]}`);
  }
}

/** gates[r, j] = W_ih[j, ids[r]] + bih[j] + bhh[j], in float64. */
function projectReference(wih: FloatArray, bih: FloatArray, bhh: FloatArray, tokens: Int32Array, G: number, V: number): Float64Array {
  const out = new Float64Array(tokens.length * G);
  for (let r = 0; r < tokens.length; r++) for (let j = 0; j < G; j++) out[r * G + j] = wih[j * V + tokens[r]] + bih[j] + bhh[j];
  return out;
}

/** dW_ih[j, ids[r]] += dGates[r, j], in float64, from the given start. */
function gradientReference(start: FloatArray, dGates: FloatArray, tokens: Int32Array, G: number, V: number): Float64Array {
  const out = Float64Array.from(start);
  for (let r = 0; r < tokens.length; r++) for (let j = 0; j < G; j++) out[j * V + tokens[r]] += dGates[r * G + j];
  return out;
}

describe('the CPU backend: one-hot input through W_ih', () => {
  for (const dtype of ['float32', 'float64'] as DType[]) {
    const tol = dtype === 'float32' ? 1e-5 : 1e-12;
    it(`${dtype}: the projection and its gradient match the definition below, at and above ${ONE_HOT_TRANSPOSE_MIN_ROWS} rows, after W_ih changes, and at another size`, () => {
      const backend = new CpuBackend(dtype);
      const rng = new Random(5);
      // Two sizes in turn on one backend (the second smaller), each with rows on both sides of the threshold.
      for (const [V, H] of [[37, 6], [11, 3], [37, 6]]) {
        const G = 4 * H;
        const wih = filled(backend, G, V, rng);
        const bih = filled(backend, 1, G, rng);
        const bhh = filled(backend, 1, G, rng);
        for (const R of [1, ONE_HOT_TRANSPOSE_MIN_ROWS - 1, ONE_HOT_TRANSPOSE_MIN_ROWS, 3 * ONE_HOT_TRANSPOSE_MIN_ROWS + 5]) {
          const tokens = ids(R, V, rng);
          const gates = backend.alloc(R, G);
          backend.oneHotProject(gates, wih, bih, bhh, tokens, R, G, V);
          assertClose(gates, projectReference(wih, bih, bhh, tokens, G, V), tol, `gates (V ${V}, H ${H}, R ${R})`);
          // W_ih changes (a training step): the next projection reads the new one.
          for (let k = 0; k < wih.length; k++) wih[k] = rng.uniform(-1, 1);
          backend.oneHotProject(gates, wih, bih, bhh, tokens, R, G, V);
          assertClose(gates, projectReference(wih, bih, bhh, tokens, G, V), tol, `gates after W_ih changed (V ${V}, H ${H}, R ${R})`);

          const dGates = filled(backend, R, G, rng);
          const dwih = filled(backend, G, V, rng); // accumulates onto what is there
          const want = gradientReference(dwih, dGates, tokens, G, V);
          backend.oneHotGradient(dwih, dGates, tokens, R, G, V);
          assertClose(dwih, want, tol, `dW_ih (V ${V}, H ${H}, R ${R})`);
        }
      }
    });
  }

  it('keeps one transposed W_ih for a model, however many workspaces it has', (t: TestContext) => {
    const config: ModelConfig = { vocab_size: 50, embedding_size: null, hidden_size: 16, num_layers: 1, bidirectional: false, mode: 'many_to_many' };
    const model = new LSTMModel(config);
    const arena = model.arena;
    if (!arena) {
      t.skip('no shared WebAssembly memory here: the model keeps ordinary arrays');
      return;
    }
    model.initialize({ kind: 'pytorch' }, new Random(1));
    const rng = new Random(2);
    const before = arena.bytesInUse();
    const sizes: Array<[number, number]> = [[4, 32], [8, 16], [2, 64]];
    for (const [B, T] of sizes) {
      model.forward(ids(B * T, config.vocab_size, rng), B, T, ids(B * T, config.vocab_size, rng));
      model.backward();
    }
    const workspaces = sizes.reduce((s, [B, T]) => {
      const m = trainingMemory(config, B, T, 'sgd');
      return s + m.activations + m.head;
    }, 0);
    const oneHot = trainingMemory(config, 4, 32, 'sgd').oneHot;
    assert.ok(oneHot > 0, 'the estimate counts a transposed W_ih at 128 rows');
    assert.equal(arena.bytesInUse() - before, workspaces + oneHot, 'three workspaces and one transposed W_ih');
  });
});
