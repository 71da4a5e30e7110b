// The recurrence as one call (src/engine/wasm/simd.ts simdRecurrenceForward/Backward): without
// helper threads the caller runs every time step of a layer in one call, with them each thread
// runs its share of the batch's sequences through every step. The results must be BIT-IDENTICAL
// to the model's own step-by-step loop on one thread: every output, state, trace and gradient, for
// each shape of model the engine has (layers, both directions, embedding, many-to-one), an initial
// state given and its gradient taken, batches that split unevenly, batches below the packed
// kernel's rows and above, and a full training run.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelConfig } from '../../../src/engine/config';
import { fastKernelsActive } from '../../../src/engine/kernels';
import { LSTMModel } from '../../../src/engine/model';
import { Random } from '../../../src/engine/random';
import { fastKernelsAvailable, matmulPool, poolStats, setMatmulSplitThreshold, useRecurrenceCalls } from '../../../src/engine/wasm/simd';
import { startMatmulPool, stopMatmulPool, waitForMatmulPool } from '../../../src/node/matmulPool';
import { withoutPool } from '../../support/kernelPaths'; // also: relaxed SIMD on, the FMA build, as the CLI runs it

const HELPER = join(__dirname, 'matmul-helper.cjs');
const shared = fastKernelsAvailable().shared && fastKernelsActive();

function stepByStep<T>(f: () => T): T {
  const before = useRecurrenceCalls(false);
  try {
    return withoutPool(f);
  } finally {
    useRecurrenceCalls(before);
  }
}

function bits(x: ArrayLike<number>): number[] {
  const f = Float32Array.from(x);
  return Array.from(new Uint32Array(f.buffer));
}

interface Case {
  name: string;
  config: ModelConfig;
  B: number;
  T: number;
  /** Give h0/c0 and dhN/dcN, and take dh0/dc0 (unidirectional only, as inspect does). */
  states?: boolean;
  trace?: boolean;
}

const base: ModelConfig = { vocab_size: 13, hidden_size: 20, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
const cases: Case[] = [
  { name: 'one layer, one-hot, B = 2', config: base, B: 2, T: 5 },
  { name: 'two layers, B = 5 (chunks of 3 and 2, below the packed kernel)', config: { ...base, num_layers: 2 }, B: 5, T: 7, trace: true },
  { name: 'two layers, B = 19 (packed kernel, uneven chunks)', config: { ...base, num_layers: 2, hidden_size: 33 }, B: 19, T: 6 },
  { name: 'bidirectional, embedding, many-to-one', config: { ...base, bidirectional: true, embedding_size: 7, mode: 'many_to_one' }, B: 9, T: 4, trace: true },
  { name: 'bidirectional, two layers, T = 1', config: { ...base, bidirectional: true, num_layers: 2 }, B: 4, T: 1 },
  { name: 'initial states in and their gradients out', config: { ...base, num_layers: 2 }, B: 10, T: 5, states: true, trace: true },
];

/** Everything a forward and backward produce, as bits, with the pool as it is now installed (or not). */
function runCase(c: Case): number[][] {
  const rng = new Random(7);
  const model = new LSTMModel(c.config);
  model.initialize({ kind: 'pytorch' }, new Random(3));
  const { B, T } = c;
  const V = c.config.vocab_size;
  const inputs = Int32Array.from({ length: B * T }, () => rng.int(V));
  const R = c.config.mode === 'many_to_many' ? B * T : B;
  const targets = Int32Array.from({ length: R }, () => rng.int(V));
  const D = c.config.bidirectional ? 2 : 1;
  const n = c.config.num_layers * D * B * c.config.hidden_size;
  const state = (): Float32Array | null => {
    if (!c.states) return null;
    const x = model.backend.alloc(1, n) as Float32Array;
    for (let k = 0; k < n; k++) x[k] = rng.uniform(-1, 1);
    return x;
  };
  const h0 = state(), c0 = state(), dhN = state(), dcN = state();
  const dh0 = c.states ? (model.backend.alloc(1, n) as Float32Array) : null;
  const dc0 = c.states ? (model.backend.alloc(1, n) as Float32Array) : null;
  model.zeroGrad();
  const loss = model.forward(inputs, B, T, targets, { h0, c0, recordTrace: c.trace });
  model.backward({ dhN, dcN, dh0, dc0 });
  const out: number[][] = [bits([loss]), bits(model.logits())];
  for (const spec of model.specs) out.push(bits(model.gradient(spec.name)));
  for (let l = 0; l < c.config.num_layers; l++) {
    for (let d = 0; d < D; d++) for (const kind of ['h', 'c'] as const) out.push(bits(model.states(kind, l, d)));
  }
  if (c.trace) for (const e of model.trace()) out.push(bits(e.dh ?? []), bits(e.dc ?? []), bits(e.i), bits(e.f), bits(e.o));
  if (dh0 && dc0) out.push(bits(dh0), bits(dc0));
  return out;
}

describe('threads over the batch', { skip: !shared && 'no shared WebAssembly memory here' }, () => {
  let threshold = 0;
  before(() => {
    assert.ok(startMatmulPool(2, { script: HELPER }), 'the pool starts');
    threshold = setMatmulSplitThreshold(0); // split everything that can be split
    assert.ok(waitForMatmulPool(20000), 'the helper thread starts');
  });
  after(() => {
    setMatmulSplitThreshold(threshold);
    stopMatmulPool();
    assert.equal(matmulPool(), null);
  });

  for (const c of cases) {
    it(`gives the step-by-step loop's bits, as one call and split over the batch: ${c.name}`, () => {
      const steps = stepByStep(() => runCase(c));
      const one = withoutPool(() => runCase(c));
      const recurrences = poolStats.recurrences;
      const two = runCase(c);
      const D = c.config.bidirectional ? 2 : 1;
      assert.equal(poolStats.recurrences - recurrences, 2 * c.config.num_layers * D, 'every layer and direction ran over the batch, forward and back');
      assert.equal(one.length, steps.length);
      assert.equal(two.length, steps.length);
      for (let k = 0; k < steps.length; k++) {
        assert.deepEqual(one[k], steps[k], `output ${k} differs, one call against step by step`);
        assert.deepEqual(two[k], steps[k], `output ${k} differs, split against step by step`);
      }
    });
  }

  it('a helper thread takes a share (not only the caller)', () => {
    const c: Case = { name: 'big', config: { ...base, hidden_size: 64 }, B: 32, T: 32 };
    const t0 = Date.now();
    const callerBefore = poolStats.callerChunks, chunksBefore = poolStats.chunks;
    while (poolStats.callerChunks - callerBefore === poolStats.chunks - chunksBefore && Date.now() - t0 < 20000) runCase(c);
    assert.ok(poolStats.callerChunks - callerBefore < poolStats.chunks - chunksBefore, 'the helper thread never took a chunk');
  });

  it('a batch of one is not split (nothing to share), and gives the step-by-step bits', () => {
    const c: Case = { name: 'B = 1', config: { ...base, num_layers: 2 }, B: 1, T: 4, trace: true };
    const steps = stepByStep(() => runCase(c));
    const recurrences = poolStats.recurrences;
    assert.deepEqual(runCase(c), steps);
    assert.equal(poolStats.recurrences, recurrences);
  });
});
