// gemm_prepacked (src/engine/wasm/kernels.wat): a multiply whose B was packed beforehand by
// pack_b_all, as the recurrence packs W_hh once for its T steps. It must give gemm_packed's bits
// (the same tiles in the same order) on every layout of B the engine packs (rows contiguous:
// A·B; columns contiguous: A·B^T), for sizes past the kernel's 256-column and 256-deep blocks,
// columns not a multiple of the 8-wide panels, and with and without accumulation; and both must
// agree with the plain loops (the reference) to float32 rounding.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { view } from '../../../src/engine/backend';
import { fastKernelsActive, matmulReference } from '../../../src/engine/kernels';
import { Random } from '../../../src/engine/random';
import { createArena, GEMM_WORK_BYTES } from '../../../src/engine/wasm/simd';
import '../../support/kernelPaths'; // relaxed SIMD on, as the CLI turns it on

const rng = new Random(5);

describe('gemm_prepacked', { skip: !fastKernelsActive() && 'no WebAssembly SIMD here' }, () => {
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [5, 9, 3], [8, 16, 8], [13, 257, 31], [32, 512, 128], [9, 130, 300], [40, 263, 513], [4, 8, 256]];
  for (const transB of [false, true]) {
    it(`gives gemm_packed's bits, B ${transB ? 'transposed (columns contiguous)' : 'as stored (rows contiguous)'}`, () => {
      for (const [M, N, K] of shapes) {
        for (const acc of [0, 1]) {
          const arena = createArena()!;
          const k = arena.kernels;
          const fill = (n: number): Float32Array => {
            const x = arena.allocFloats(n);
            for (let q = 0; q < n; q++) x[q] = rng.uniform(-1, 1);
            return x;
          };
          const a = fill(M * K);
          const b = fill(K * N); // (K, N), or (N, K) when transposed
          const c0 = fill(M * N);
          const c1 = arena.allocFloats(M * N);
          const c2 = arena.allocFloats(M * N);
          c1.set(c0);
          c2.set(c0);
          const work = arena.allocBytes(GEMM_WORK_BYTES)!;
          const packed = arena.allocBytes(4 * K * Math.ceil(N / 8) * 8)!;
          const [sbk, sbj] = transB ? [1, K] : [N, 1];
          k.gemm_packed(c1.byteOffset, N, a.byteOffset, K, 1, b.byteOffset, sbk, sbj, M, N, K, acc, work);
          k.pack_b_all(packed, b.byteOffset, sbk, sbj, K, N);
          k.gemm_prepacked(c2.byteOffset, N, a.byteOffset, K, 1, packed, M, N, K, acc, work);
          const what = `M=${M} N=${N} K=${K} acc=${acc}`;
          assert.deepEqual(new Uint32Array(c2.buffer, c2.byteOffset, c2.length), new Uint32Array(c1.buffer, c1.byteOffset, c1.length), what);
          // And both are the product (the plain loops, float64 sums).
          const ref = Float64Array.from(c0);
          matmulReference(view(ref, 0, N), view(Float64Array.from(a), 0, K), view(Float64Array.from(b), 0, transB ? K : N), { M, N, K, transB, accumulate: acc === 1 });
          for (let q = 0; q < ref.length; q++) assert.ok(Math.abs(c2[q] - ref[q]) <= 1e-5 * (1 + Math.sqrt(K)) * (1 + Math.abs(ref[q])), `${what}: element ${q} ${c2[q]} against ${ref[q]}`);
        }
      }
    });
  }
});
