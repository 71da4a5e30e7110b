// Helper threads for the large multiplies (src/node/matmulPool.ts over the protocol of
// src/engine/wasm/simd.ts): with the pool, every multiply is split across threads over rows or
// columns of C, never over K, so the results must be BIT-IDENTICAL to one thread's: odd shapes,
// every transpose the engine uses, with and without accumulation, operands in place or copied,
// several models' memories (the helper re-instantiates, and forgets the oldest), a memory that grew
// after the helper got it; and the same training run with and without the pool.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { view } from '../../../src/engine/backend';
import type { TrainingSettings } from '../../../src/engine/checkpoint';
import { addColumnSums, fastKernelsActive, matmul, softmaxCrossEntropyForward } from '../../../src/engine/kernels';
import { Random } from '../../../src/engine/random';
import { Trainer, type ModelShape } from '../../../src/engine/trainer';
import { type Arena, createArena, fastKernelsAvailable, matmulPool, poolStats, setMatmulSplitThreshold } from '../../../src/engine/wasm/simd';
import { startMatmulPool, stopMatmulPool, waitForMatmulPool } from '../../../src/node/matmulPool';
import { withoutPool } from '../../support/kernelPaths'; // also: relaxed SIMD on, the FMA build, as the CLI runs it

const rng = new Random(11);
const HELPER = join(__dirname, 'matmul-helper.cjs');
const shared = fastKernelsAvailable().shared && fastKernelsActive();

function fill(a: Float32Array): Float32Array {
  for (let k = 0; k < a.length; k++) a[k] = rng.uniform(-1, 1);
  return a;
}

function alloc(arena: Arena | null, n: number): Float32Array {
  return fill(arena ? arena.allocFloats(n) : new Float32Array(n));
}

/** C from one case, with the pool as it is now installed (or not). */
type Run = () => Float32Array;

function makeCase(arena: Arena | null, transA: boolean, transB: boolean, M: number, N: number, K: number, accumulate: boolean): Run {
  const pad = (): number => rng.int(3);
  const aRows = transA ? K : M, aCols = transA ? M : K;
  const bRows = transB ? N : K, bCols = transB ? K : N;
  const lda = aCols + pad(), ldb = bCols + pad(), ldc = N + pad();
  const aOff = pad(), bOff = pad(), cOff = pad();
  const a = alloc(arena, aOff + Math.max(0, aRows - 1) * lda + aCols + 1);
  const b = alloc(arena, bOff + Math.max(0, bRows - 1) * ldb + bCols + 1);
  const c0 = fill(new Float32Array(cOff + (M - 1) * ldc + N + 1));
  const c = arena ? arena.allocFloats(c0.length) : new Float32Array(c0.length);
  return () => {
    c.set(c0);
    matmul(view(c, cOff, ldc), view(a, aOff, lda), view(b, bOff, ldb), { M, N, K, transA, transB, accumulate });
    return c.slice();
  };
}

function bits(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

/** Runs big multiplies until a helper has taken a chunk (it starts asynchronously). */
function waitForHelper(arena: Arena): void {
  const run = makeCase(arena, false, false, 512, 256, 256, false);
  const t0 = Date.now();
  while (poolStats.callerChunks === poolStats.chunks && Date.now() - t0 < 20000) run();
  assert.ok(poolStats.callerChunks < poolStats.chunks, 'the helper thread never took a chunk');
}

describe('multiplies split across helper threads', { skip: !shared && 'no shared WebAssembly memory here' }, () => {
  let threshold = 0;
  before(async () => {
    assert.ok(startMatmulPool(2, { script: HELPER }), 'the pool starts');
    threshold = setMatmulSplitThreshold(0); // split everything that can be split
    assert.ok(waitForMatmulPool(20000), 'the helper thread starts');
    waitForHelper(createArena()!);
  });
  after(() => {
    setMatmulSplitThreshold(threshold);
    stopMatmulPool();
    assert.equal(matmulPool(), null);
  });

  const shapes: Array<[number, number, number]> = [
    [1, 1, 1], [2, 3, 5], [3, 17, 9], [7, 9, 1], [9, 8, 0], [13, 33, 31], [31, 7, 64], [32, 2048, 128],
    [64, 37, 257], [96, 130, 300], [130, 96, 513], [5, 300, 17], [2, 1000, 7], [1, 64, 100], [257, 3, 11],
  ];
  const transposes: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false]];

  for (const where of ['in the arena', 'in ordinary arrays'] as const) {
    it(`gives bit-identical results, operands ${where}, every shape and transpose`, () => {
      const arena = where === 'in the arena' ? createArena()! : null;
      for (const [M, N, K] of shapes) {
        for (const [transA, transB] of transposes) {
          for (const accumulate of [false, true]) {
            const run = makeCase(arena, transA, transB, M, N, K, accumulate);
            const one = withoutPool(run);
            const jobs = poolStats.jobs;
            const two = run();
            assert.deepEqual(bits(two), bits(one), `M=${M} N=${N} K=${K} transA=${transA} transB=${transB} acc=${accumulate}`);
            if (M >= 8 || N >= 16) assert.ok(poolStats.jobs > jobs, `M=${M} N=${N} K=${K} was not split`);
          }
        }
      }
    });
  }

  it('softmax rows and column sums split among the threads give one thread\'s bits', () => {
    const arena = createArena()!;
    for (const [R, N] of [[1, 7], [3, 5], [9, 130], [64, 1000], [2048, 96], [300, 513]]) {
      const logits = alloc(arena, R * N);
      const probs = arena.allocFloats(R * N);
      const run = (): { loss: number; probs: Uint32Array; sums: Uint32Array; both: Uint32Array } => {
        const targets = Int32Array.from({ length: R }, (_, r) => (r * 7) % N);
        const loss = softmaxCrossEntropyForward(probs, logits, targets, R, N);
        const d1 = arena.allocFloats(N), d2 = arena.allocFloats(N);
        d1.fill(0.5);
        addColumnSums(d1, logits, R, N, d2);
        return { loss, probs: bits(probs).slice(), sums: bits(d1).slice(), both: bits(d2).slice() };
      };
      const one = withoutPool(run);
      const jobs = poolStats.jobs;
      const two = run();
      assert.deepEqual(two, one, `R=${R} N=${N}`);
      if (R >= 2 && N >= 8) assert.ok(poolStats.jobs > jobs, `R=${R} N=${N} was not split`);
    }
  });

  it('serves many models\' memories in turn, and a memory that grew since the helper got it', () => {
    const arenas = Array.from({ length: 6 }, () => createArena()!);
    const runs = arenas.map((arena) => makeCase(arena, false, true, 64, 96, 80, true));
    for (let round = 0; round < 3; round++) {
      for (const run of runs) assert.deepEqual(bits(run()), bits(withoutPool(run)));
    }
    // Grow the first arena by a lot, then multiply in the new part.
    const grown = makeCase(arenas[0], true, false, 256, 200, 300, false);
    const before = poolStats.callerChunks, chunks = poolStats.chunks;
    for (let k = 0; k < 20; k++) assert.deepEqual(bits(grown()), bits(withoutPool(grown)));
    assert.ok(poolStats.chunks > chunks && poolStats.callerChunks - before <= poolStats.chunks - chunks);
  });

  it('trains exactly as one thread: the same 30 steps give the same losses', () => {
    const shape: ModelShape = { hidden_size: 24, num_layers: 2, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
    const settings: TrainingSettings = {
      tokens: 'char', max_vocab: 0, sequence_length: 16, batch_size: 8, steps: 30, optimizer: 'adam', learning_rate: 0.01,
      schedule: 'constant', clip: 1, init: 'pytorch', init_value: 0.1, seed: 3,
    };
    const text = 'The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n'.repeat(20);
    const losses = (): number[] => {
      const trainer = Trainer.create(text, 'text', shape, settings);
      const out: number[] = [];
      while (!trainer.done) out.push(trainer.trainStep().loss);
      return out;
    };
    const one = withoutPool(losses);
    const jobs = poolStats.jobs;
    const two = losses();
    assert.ok(poolStats.jobs > jobs, 'the training run split its multiplies');
    assert.equal(one.length, 30);
    assert.deepEqual(two, one);
  });
});

describe('without helper threads', () => {
  it('threads <= 1 starts no pool, and everything runs on one thread', () => {
    assert.equal(startMatmulPool(1, { script: HELPER }), false);
    assert.equal(matmulPool(), null);
    const run = makeCase(createArena(), false, true, 40, 50, 60, false);
    const jobs = poolStats.jobs;
    run();
    assert.equal(poolStats.jobs, jobs);
  });
});
