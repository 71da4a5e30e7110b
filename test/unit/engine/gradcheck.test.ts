// Finite-difference gradient checks in float64: each piece of the backward pass (matmul, softmax
// cross-entropy, the LSTM cell) and the whole model on many configurations. Central differences
// in float64 are accurate to about 1e-9 here, so the analytic gradients must agree to 1e-6.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows, view } from '../../../src/engine/backend';
import type { ModelConfig } from '../../../src/engine/config';
import {
  IGNORE_TARGET,
  lstmCellBackward,
  lstmCellForward,
  matmul,
  softmaxCrossEntropyBackward,
  softmaxCrossEntropyForward,
} from '../../../src/engine/kernels';
import { LSTMModel } from '../../../src/engine/model';
import { Random } from '../../../src/engine/random';

const EPS = 1e-6;

function assertClose(analytic: number, numeric: number, what: string): void {
  const tol = 1e-6 * Math.max(1, Math.abs(analytic), Math.abs(numeric));
  assert.ok(Math.abs(analytic - numeric) <= tol, `${what}: analytic ${analytic}, finite difference ${numeric}`);
}

/** Central difference of f with respect to x[k]. */
function numericGradient(f: () => number, x: Float64Array, k: number): number {
  const keep = x[k];
  x[k] = keep + EPS;
  const plus = f();
  x[k] = keep - EPS;
  const minus = f();
  x[k] = keep;
  return (plus - minus) / (2 * EPS);
}

function randomArray(rng: Random, n: number, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.uniform(-scale, scale));
}

describe('matmul', () => {
  // Every transpose combination the engine uses, with offsets and strides, against a plain triple loop.
  const rng = new Random(7);
  for (const [transA, transB] of [[false, true], [false, false], [true, false]] as const) {
    for (const accumulate of [false, true]) {
      it(`op(A)${transA ? 'ᵀ' : ''} · op(B)${transB ? 'ᵀ' : ''}${accumulate ? ' accumulated' : ''} matches the definition`, () => {
        const M = 5, N = 7, K = 6, pad = 3;
        const aRows = transA ? K : M, aCols = transA ? M : K;
        const bRows = transB ? N : K, bCols = transB ? K : N;
        const A = randomArray(rng, 2 + aRows * (aCols + pad));
        const B = randomArray(rng, 1 + bRows * (bCols + pad));
        const C = randomArray(rng, 4 + M * (N + pad));
        const expected = C.slice();
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) {
              const a = transA ? A[2 + k * (aCols + pad) + i] : A[2 + i * (aCols + pad) + k];
              const b = transB ? B[1 + j * (bCols + pad) + k] : B[1 + k * (bCols + pad) + j];
              s += a * b;
            }
            const c = 4 + i * (N + pad) + j;
            expected[c] = accumulate ? expected[c] + s : s;
          }
        }
        matmul(view(C, 4, N + pad), view(A, 2, aCols + pad), view(B, 1, bCols + pad), { M, N, K, transA, transB, accumulate });
        for (let k = 0; k < C.length; k++) assert.ok(Math.abs(C[k] - expected[k]) < 1e-12, `element ${k}: ${C[k]} vs ${expected[k]}`);
      });
    }
  }
});

describe('softmax cross-entropy', () => {
  it('backward is the derivative of forward, with ignored rows', () => {
    const rng = new Random(3);
    const R = 4, V = 6;
    const logits = randomArray(rng, R * V, 3);
    const targets = Int32Array.from([2, IGNORE_TARGET, 0, 5]);
    const probs = new Float64Array(R * V);
    const dlogits = new Float64Array(R * V);
    const loss = (): number => softmaxCrossEntropyForward(probs, logits, targets, R, V);
    loss();
    softmaxCrossEntropyBackward(dlogits, probs, targets, R, V);
    for (let k = 0; k < R * V; k++) assertClose(dlogits[k], numericGradient(loss, logits, k), `dlogits[${k}]`);
    // And the value itself: the mean of -log p(target) over the three counted rows.
    let expected = 0;
    for (const r of [0, 2, 3]) {
      const row = Array.from(logits.subarray(r * V, r * V + V));
      const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
      expected += lse - row[targets[r]];
    }
    assert.ok(Math.abs(loss() - expected / 3) < 1e-12);
  });
});

describe('LSTM cell', () => {
  it('backward gives the gradients of the gate pre-activations and of c_{t-1}', () => {
    const rng = new Random(11);
    const B = 2, H = 3, G = 4 * H;
    const pre = randomArray(rng, B * G, 2);
    const hPrev = randomArray(rng, B * H);
    const cPrev = randomArray(rng, B * H, 2);
    // A loss that weighs h_t and c_t with random coefficients: dL/dh and dL/dc are those weights.
    const wh = randomArray(rng, B * H);
    const wc = randomArray(rng, B * H);
    const gates = new Float64Array(B * G);
    const c = new Float64Array(B * H), h = new Float64Array(B * H), tanhC = new Float64Array(B * H);
    const hp = new Float64Array(B * H), cp = new Float64Array(B * H);
    const forward = (): number => {
      gates.set(pre);
      lstmCellForward({ B, H, gates: view(gates, 0, G), state: rows(0, H), c, h, tanhC, hPrev: hp, cPrev: cp, prev: rows(0, H), hPrevIn: hPrev, cPrevIn: cPrev });
      let L = 0;
      for (let k = 0; k < B * H; k++) L += wh[k] * h[k] + wc[k] * c[k];
      return L;
    };
    forward();
    const dGates = new Float64Array(B * G);
    const dcNext = wc.slice(); // in: dL/dc_t from later steps; out: dL/dc_{t-1}
    const dhNext = new Float64Array(B * H);
    lstmCellBackward({ B, H, gate: rows(0, G), gates, dGates, state: rows(0, H), tanhC, cPrev: cp, dhTrace: null, dcTrace: null, dOut: view(wh, 0, H), dhNext, dcNext });
    for (let k = 0; k < B * G; k++) assertClose(dGates[k], numericGradient(forward, pre, k), `dGates[${k}]`);
    for (let k = 0; k < B * H; k++) assertClose(dcNext[k], numericGradient(forward, cPrev, k), `dc_prev[${k}]`);
  });
});

describe('whole model', () => {
  const configs: Array<{ name: string; config: ModelConfig; B: number; T: number; state: boolean }> = [
    { name: 'one-hot, 1 layer, many-to-many', config: { vocab_size: 5, embedding_size: null, hidden_size: 3, num_layers: 1, bidirectional: false, mode: 'many_to_many' }, B: 2, T: 4, state: false },
    { name: 'embedding, 2 layers, many-to-many', config: { vocab_size: 6, embedding_size: 3, hidden_size: 3, num_layers: 2, bidirectional: false, mode: 'many_to_many' }, B: 2, T: 3, state: false },
    { name: 'one-hot, 3 layers, many-to-one', config: { vocab_size: 4, embedding_size: null, hidden_size: 2, num_layers: 3, bidirectional: false, mode: 'many_to_one' }, B: 3, T: 3, state: false },
    { name: 'bidirectional, 2 layers, many-to-many, initial state', config: { vocab_size: 5, embedding_size: 2, hidden_size: 3, num_layers: 2, bidirectional: true, mode: 'many_to_many' }, B: 2, T: 3, state: true },
    { name: 'bidirectional, 1 layer, many-to-one, initial state', config: { vocab_size: 5, embedding_size: null, hidden_size: 2, num_layers: 1, bidirectional: true, mode: 'many_to_one' }, B: 2, T: 4, state: true },
    { name: 'B = 1, T = 1', config: { vocab_size: 3, embedding_size: null, hidden_size: 2, num_layers: 2, bidirectional: false, mode: 'many_to_many' }, B: 1, T: 1, state: true },
  ];
  for (const { name, config, B, T, state } of configs) {
    it(`${name}: every parameter gradient matches central differences`, () => {
      const rng = new Random(name.length * 31 + B);
      const model = new LSTMModel(config, 'float64');
      model.initialize({ kind: 'pytorch' }, rng);
      for (let k = 0; k < model.params.length; k++) model.params[k] += rng.uniform(-0.3, 0.3);
      const V = config.vocab_size;
      const inputs = Int32Array.from({ length: B * T }, () => rng.int(V));
      const targets = Int32Array.from({ length: config.mode === 'many_to_many' ? B * T : B }, () => rng.int(V));
      const S = config.num_layers * (config.bidirectional ? 2 : 1) * B * config.hidden_size;
      const h0 = state ? randomArray(rng, S) : null;
      const c0 = state ? randomArray(rng, S) : null;
      const loss = (): number => model.forward(inputs, B, T, targets, { h0, c0 });
      model.zeroGrad();
      loss();
      model.backward();
      const analytic = (model.grads as Float64Array).slice();
      for (const spec of model.specs) {
        for (let k = 0; k < spec.size; k++) {
          const at = spec.offset + k;
          assertClose(analytic[at], numericGradient(loss, model.params as Float64Array, at), `${spec.name}[${k}]`);
        }
      }
    });
  }
});
