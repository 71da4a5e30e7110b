// The SIMD fast path (src/engine/wasm) against the plain TypeScript kernels, the reference: random
// shapes including odd sizes, offsets and leading dimensions, every transpose the engine uses, with
// and without accumulation, operands in a model's arena or in ordinary arrays; and the arena's
// allocator. Both builds of the kernels (relaxed SIMD's fused multiply-add, and the plain-SIMD
// fallback), the packed kernel (from PACKED rows on) and the tiles that read in place (below).
// The fixture tests run the whole model on every path (test/support/kernelPaths.ts).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { view } from '../../../src/engine/backend';
import { fastKernelsActive, kernelPath, matmul, matmulReference, useFastKernels } from '../../../src/engine/kernels';
import { LSTMModel } from '../../../src/engine/model';
import { Random } from '../../../src/engine/random';
import { Arena, createArena, fastKernelsAvailable, preferFmaKernels, relaxedSimdAvailable, simdMatmul } from '../../../src/engine/wasm/simd';
import '../../support/kernelPaths'; // relaxed SIMD on, as the CLI turns it on

const rng = new Random(7);

function randomArray(n: number, arena: Arena | null): Float32Array {
  const a = arena ? arena.allocFloats(n) : new Float32Array(n);
  for (let k = 0; k < n; k++) a[k] = rng.uniform(-1, 1);
  return a;
}

interface Case {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  accumulate: boolean;
}

/** Runs one case on the fast path and on the reference (in float64), and compares every element of C. */
function check(cs: Case, where: { a: Arena | null; b: Arena | null; c: Arena | null }): void {
  const { transA, transB, M, N, K, accumulate } = cs;
  const pad = (): number => rng.int(4);
  const aRows = transA ? K : M, aCols = transA ? M : K;
  const bRows = transB ? N : K, bCols = transB ? K : N;
  const lda = aCols + pad(), ldb = bCols + pad(), ldc = N + pad();
  const aOff = pad(), bOff = pad(), cOff = pad();
  const a = randomArray(aOff + Math.max(0, aRows - 1) * lda + aCols + pad(), where.a);
  const b = randomArray(bOff + Math.max(0, bRows - 1) * ldb + bCols + pad(), where.b);
  const c = randomArray(cOff + (M - 1) * ldc + N + pad(), where.c);
  const expected = Float64Array.from(c);
  matmulReference(view(expected, cOff, ldc), view(Float64Array.from(a), aOff, lda), view(Float64Array.from(b), bOff, ldb), { M, N, K, transA, transB, accumulate });
  const before = Float32Array.from(c);
  matmul(view(c, cOff, ldc), view(a, aOff, lda), view(b, bOff, ldb), { M, N, K, transA, transB, accumulate });
  // float32 sums of K products of numbers in [-1, 1]: error well under 1e-6 * K.
  const tol = 1e-6 * (K + 1) + 1e-6;
  for (let k = 0; k < c.length; k++) {
    const r = Math.floor((k - cOff) / ldc);
    const inside = k >= cOff && r < M && (k - cOff) % ldc < N;
    if (inside) assert.ok(Math.abs(c[k] - expected[k]) <= tol, `${JSON.stringify(cs)} element ${k}: ${c[k]} vs ${expected[k]}`);
    else assert.equal(c[k], before[k], `${JSON.stringify(cs)} wrote outside C at ${k}`);
  }
}

const FORMS: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true]];

describe('the kernel builds', () => {
  it('are available in Node, with shared memory; the FMA build where relaxed SIMD is turned on', () => {
    assert.deepEqual(fastKernelsAvailable(), { simd: true, shared: true });
    assert.ok(fastKernelsActive());
    assert.ok(relaxedSimdAvailable(), 'Node 20 with --experimental-wasm-relaxed-simd set, or a later Node');
    assert.equal(kernelPath(), 'wasm relaxed-simd fma');
    const before = preferFmaKernels(false);
    try {
      assert.equal(kernelPath(), 'wasm simd');
    } finally {
      preferFmaKernels(before);
    }
    const fast = useFastKernels(false);
    try {
      assert.equal(kernelPath(), 'js');
    } finally {
      useFastKernels(fast);
    }
  });

  it('the FMA build rounds once: (1 + 2^-12)² - (1 + 2^-11) is 2^-24 fused and 0 with a multiply then an add', () => {
    const x = 1 + 2 ** -12;
    const run = (fma: boolean, M: number): Float32Array => {
      const before = preferFmaKernels(fma);
      try {
        const arena = createArena() as Arena;
        const a = arena.allocFloats(M), b = arena.allocFloats(8), c = arena.allocFloats(M * 8);
        a.fill(x);
        b.fill(x);
        c.fill(-(1 + 2 ** -11));
        matmul(view(c, 0, 8), view(a, 0, 1), view(b, 0, 8), { M, N: 8, K: 1, accumulate: true });
        return c.slice();
      } finally {
        preferFmaKernels(before);
      }
    };
    for (const M of [1, 8]) {
      assert.ok(run(true, M).every((v) => v === 2 ** -24), `M=${M}: fused`);
      assert.ok(run(false, M).every((v) => v === 0), `M=${M}: not fused`);
    }
  });
});

for (const fma of [true, false]) describe(`${fma ? 'FMA' : 'plain-SIMD'} kernels against the plain reference`, () => {
  let previous = true;
  before(() => {
    previous = preferFmaKernels(fma);
  });
  after(() => {
    preferFmaKernels(previous);
  });

  it('agree on small and odd shapes, every transpose, with and without accumulation (ordinary arrays: operands copied)', () => {
    for (const [transA, transB] of FORMS) {
      for (const M of [1, 2, 3, 4, 5, 7, 9]) {
        for (const N of [1, 3, 4, 7, 8, 9, 17]) {
          for (const K of [0, 1, 3, 4, 5, 8, 13]) {
            for (const accumulate of [false, true]) check({ transA, transB, M, N, K, accumulate }, { a: null, b: null, c: null });
          }
        }
      }
    }
  });

  it('agree on random larger shapes with operands in an arena, mixed with ordinary arrays', () => {
    const arena = createArena();
    assert.ok(arena);
    for (let n = 0; n < 60; n++) {
      const [transA, transB] = FORMS[rng.int(3)];
      const cs: Case = { transA, transB, M: 1 + rng.int(70), N: 1 + rng.int(70), K: 1 + rng.int(600), accumulate: rng.next() < 0.5 };
      const pick = (): Arena | null => (rng.next() < 0.7 ? arena : null);
      check(cs, { a: pick(), b: pick(), c: pick() });
    }
  });

  it('agree on the packed kernel\'s edges: 1, 3, 17, 33, 130 and past its blocks (64 rows, 256 columns, 256 of K)', () => {
    const arena = createArena();
    const sizes = [1, 3, 17, 33, 130];
    for (const [transA, transB] of FORMS) {
      for (const M of [8, 17, 33, 130]) {
        for (const N of sizes) {
          for (const K of sizes) check({ transA, transB, M, N, K, accumulate: (M + N + K) % 2 === 0 }, { a: arena, b: arena, c: arena });
        }
      }
      for (const [M, N, K] of [[65, 257, 513], [130, 300, 257], [8, 520, 300]]) {
        for (const accumulate of [false, true]) check({ transA, transB, M, N, K, accumulate }, { a: arena, b: null, c: arena });
      }
    }
  });

  it('agree on the model shapes (recurrent step, input projection, weight gradients)', () => {
    const arena = createArena();
    const shapes: Case[] = [
      { transA: false, transB: true, M: 32, N: 512, K: 128, accumulate: true },
      { transA: false, transB: false, M: 32, N: 128, K: 512, accumulate: false },
      { transA: true, transB: false, M: 512, N: 128, K: 300, accumulate: true },
      { transA: false, transB: true, M: 1, N: 2048, K: 512, accumulate: true },
      { transA: true, transB: false, M: 96, N: 128, K: 1000, accumulate: true },
    ];
    for (const cs of shapes) check(cs, { a: arena, b: arena, c: arena });
  });

  it('decline what they cannot do, leaving the plain path to it', () => {
    const a = new Float32Array(12), b = new Float32Array(12), c = new Float32Array(4);
    assert.equal(simdMatmul(c, 0, 2, a, 0, 3, true, b, 0, 3, true, 2, 2, 3, false), false, 'both transposed');
    assert.equal(simdMatmul(c, 0, 2, a, 0, 3, false, b, 0, 2, false, 2, 2, 7, false), false, 'A out of range');
    assert.equal(simdMatmul(c, 1, 2, a, 0, 3, false, b, 0, 2, false, 2, 2, 3, false), false, 'C out of range');
  });

  it('the model gives the same loss and gradients on either path, to float rounding', () => {
    const config = { vocab_size: 11, embedding_size: 6, hidden_size: 9, num_layers: 2, bidirectional: false, mode: 'many_to_many' as const };
    const run = (fast: boolean): { loss: number; grads: Float32Array } => {
      const before = useFastKernels(fast);
      try {
        const model = new LSTMModel(config);
        model.initialize({ kind: 'pytorch' }, new Random(3));
        const r = new Random(4);
        const inputs = Int32Array.from({ length: 5 * 7 }, () => r.int(11));
        const targets = Int32Array.from({ length: 5 * 7 }, () => r.int(11));
        const loss = model.forward(inputs, 5, 7, targets);
        model.backward();
        return { loss, grads: Float32Array.from(model.grads) };
      } finally {
        useFastKernels(before);
      }
    };
    const fast = run(true), plain = run(false);
    assert.ok(Math.abs(fast.loss - plain.loss) <= 1e-6 * Math.abs(plain.loss));
    for (let k = 0; k < plain.grads.length; k++) {
      assert.ok(Math.abs(fast.grads[k] - plain.grads[k]) <= 1e-5 * Math.abs(plain.grads[k]) + 1e-7, `gradient ${k}: ${fast.grads[k]} vs ${plain.grads[k]}`);
    }
  });
});

describe('the arena', () => {
  it('hands out zeroed, aligned views that survive the memory growing, and reuses what is given back', () => {
    const arena = createArena() as Arena;
    const first = arena.allocFloats(1000);
    first.fill(3);
    const big = arena.allocFloats(1 << 20); // grows the memory
    assert.equal(first.length, 1000);
    assert.equal(first[999], 3, 'a view made before growth still reads the memory');
    assert.equal(big[123], 0);
    assert.equal(first.byteOffset % 64, 0);
    const inUse = arena.bytesInUse();
    const a = arena.allocFloats(100), b = arena.allocFloats(100), c = arena.allocFloats(100);
    arena.release(a);
    arena.release(c);
    arena.release(b); // coalesces with both neighbours
    assert.equal(arena.bytesInUse(), inUse);
    const again = arena.allocFloats(300);
    assert.equal(again.byteOffset, a.byteOffset, 'the freed run is reused');
    assert.ok(again.every((x) => x === 0));
  });

  it('a model keeps its buffers in memory of its own, and its workspaces do not pile up', () => {
    const model = new LSTMModel({ vocab_size: 5, embedding_size: null, hidden_size: 4, num_layers: 1, bidirectional: false, mode: 'many_to_many' });
    assert.ok(model.params.buffer instanceof SharedArrayBuffer);
    const arenaBytes = (): number => (model as unknown as { arena: Arena }).arena.bytesInUse();
    const cycle = (): void => {
      for (let T = 1; T <= 8; T++) model.forward(new Int32Array(T), 1, T, null);
    };
    cycle();
    const settled = arenaBytes();
    for (let round = 0; round < 5; round++) cycle();
    assert.equal(arenaBytes(), settled, 'evicted workspaces are given back');
  });
});
