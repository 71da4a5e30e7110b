// The CPU backend's Adam and SGD updates. The values: torch.optim.Adam's single-tensor arithmetic
// (written out below op by op, in float64, stored in the parameters' precision; the training
// fixtures check the same against PyTorch itself), whichever way the backend takes to write them.
// The refusals: an update that would overflow at one element in the middle of the tensor (where an
// update writing as it goes would already have written the elements before it) is refused, with
// params, m and v bit-identical to before.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CpuBackend } from '../../../src/engine/backend-cpu';
import { arrayConstructor, type DType, type FloatArray } from '../../../src/engine/config';
import { Random } from '../../../src/engine/random';

const F32_MAX = 3.4028234663852886e38;
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;
const N = 1000;
const MIDDLE = 600;

/**
 * torch.optim.Adam (amsgrad off, no weight decay) on one tensor: exp_avg.mul_(beta1).add_(grad,
 * alpha=1-beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2); denom =
 * (exp_avg_sq.sqrt() / sqrt(1-beta2^t)).add_(eps); param.addcdiv_(exp_avg, denom,
 * value=-lr/(1-beta1^t)); each element in float64, stored once.
 */
function torchAdam(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, lr: number, t: number): void {
  const stepSize = lr / (1 - B1 ** t);
  const bc2Sqrt = Math.sqrt(1 - B2 ** t);
  for (let k = 0; k < p.length; k++) {
    const expAvg = m[k] * B1 + g[k] * (1 - B1);
    const expAvgSq = v[k] * B2 + (1 - B2) * g[k] * g[k];
    const denom = Math.sqrt(expAvgSq) / bc2Sqrt + EPS;
    p[k] = p[k] + (-stepSize * expAvg) / denom;
    m[k] = expAvg;
    v[k] = expAvgSq;
  }
}

interface State {
  p: FloatArray;
  g: FloatArray;
  m: FloatArray;
  v: FloatArray;
}

function state(dtype: DType, seed: number): State {
  const rng = new Random(seed);
  const make = (f: () => number): FloatArray => new (arrayConstructor(dtype))(Float64Array.from({ length: N }, f));
  return { p: make(() => rng.uniform(-1, 1)), g: make(() => rng.uniform(-0.5, 0.5)), m: make(() => rng.uniform(-0.1, 0.1)), v: make(() => rng.uniform(0, 0.01)) };
}

function copy(s: State): State {
  return { p: s.p.slice(), g: s.g.slice(), m: s.m.slice(), v: s.v.slice() };
}

/** Bit-identical, NaN and -0 included. */
function assertSameBits(got: FloatArray, want: FloatArray, what: string): void {
  const a = new Uint8Array(got.buffer, got.byteOffset, got.byteLength);
  const b = new Uint8Array(want.buffer, want.byteOffset, want.byteLength);
  const k = a.findIndex((x, i) => x !== b[i]);
  assert.equal(k, -1, `${what}: first difference at element ${Math.floor(k / got.BYTES_PER_ELEMENT)}: ${got[Math.floor(k / got.BYTES_PER_ELEMENT)]}, expected ${want[Math.floor(k / got.BYTES_PER_ELEMENT)]}`);
}

for (const dtype of ['float32', 'float64'] as const) {
  const largest = dtype === 'float32' ? F32_MAX : Number.MAX_VALUE;
  describe(`adamUpdate (${dtype})`, () => {
    it('writes what torch.optim.Adam computes, step after step', () => {
      const backend = new CpuBackend(dtype);
      const s = state(dtype, 1);
      const want = copy(s);
      for (let t = 1; t <= 5; t++) {
        assert.equal(backend.adamUpdate(s.p, s.g, s.m, s.v, 0.004, B1, B2, EPS, t), true);
        torchAdam(want.p, want.g, want.m, want.v, 0.004, t);
        for (let k = 0; k < N; k++) s.g[k] = want.g[k] = Math.sin(k * t);
      }
      assertSameBits(s.p, want.p, 'params');
      assertSameBits(s.m, want.m, 'm');
      assertSameBits(s.v, want.v, 'v');
    });

    it('writes the same values where a weight is too near the limit for the quick proof that nothing overflows', () => {
      // |p| + stepSize·|m|/eps passes the limit, though the step itself (its denominator far above eps) does not.
      const backend = new CpuBackend(dtype);
      const s = state(dtype, 2);
      s.p[MIDDLE] = largest;
      s.m[MIDDLE] = dtype === 'float32' ? 1e20 : 1e290;
      s.v[MIDDLE] = dtype === 'float32' ? 1e30 : 1e300;
      const want = copy(s);
      const mk = B1 * s.m[MIDDLE] + (1 - B1) * s.g[MIDDLE];
      assert.ok(Math.abs(s.p[MIDDLE]) + ((0.004 / (1 - B1)) * Math.abs(mk)) / EPS > largest, 'the quick bound fails here');
      assert.equal(backend.adamUpdate(s.p, s.g, s.m, s.v, 0.004, B1, B2, EPS, 1), true);
      torchAdam(want.p, want.g, want.m, want.v, 0.004, 1);
      assertSameBits(s.p, want.p, 'params');
      assertSameBits(s.m, want.m, 'm');
      assertSameBits(s.v, want.v, 'v');
    });

    const overflows: Array<[string, (s: State) => void]> = [
      ['the weight (a step past the largest value)', (s) => {
        s.p[MIDDLE] = -0.999 * largest;
        s.m[MIDDLE] = dtype === 'float32' ? 1e32 : 1e300; // v = g = 0: the denominator is eps
        s.v[MIDDLE] = 0;
        s.g[MIDDLE] = 0;
      }],
      ['the second moment (a huge gradient)', (s) => {
        s.g[MIDDLE] = dtype === 'float32' ? 1e30 : 1e160;
      }],
      ['NaN (a NaN gradient)', (s) => {
        s.g[MIDDLE] = NaN;
      }],
      ['NaN (a negative second moment)', (s) => {
        s.v[MIDDLE] = -1;
      }],
    ];
    for (const [name, breakIt] of overflows) {
      it(`is refused when ${name} would not be finite at element ${MIDDLE} of ${N}: params, m and v bit-identical`, () => {
        const backend = new CpuBackend(dtype);
        const s = state(dtype, 3);
        breakIt(s);
        // The values before it are sound: an update that wrote as it went would have changed them.
        const written = copy(s);
        torchAdam(written.p.subarray(0, MIDDLE), written.g, written.m, written.v, 0.004, 1);
        assert.notDeepEqual(written.p.subarray(0, MIDDLE), s.p.subarray(0, MIDDLE));
        const before = copy(s);
        assert.equal(backend.adamUpdate(s.p, s.g, s.m, s.v, 0.004, B1, B2, EPS, 1), false);
        assertSameBits(s.p, before.p, 'params');
        assertSameBits(s.m, before.m, 'm');
        assertSameBits(s.v, before.v, 'v');
        assertSameBits(s.g, before.g, 'grads');
      });
    }

    it('is refused at the last element too, and at the first', () => {
      for (const at of [0, N - 1]) {
        const backend = new CpuBackend(dtype);
        const s = state(dtype, 4);
        s.g[at] = NaN;
        const before = copy(s);
        assert.equal(backend.adamUpdate(s.p, s.g, s.m, s.v, 0.004, B1, B2, EPS, 3), false);
        assertSameBits(s.p, before.p, `params (NaN at ${at})`);
        assertSameBits(s.m, before.m, `m (NaN at ${at})`);
        assertSameBits(s.v, before.v, `v (NaN at ${at})`);
      }
    });
  });

  describe(`sgdUpdate (${dtype})`, () => {
    it('writes params - lr·grads, and refuses an overflow in the middle with params bit-identical', () => {
      const backend = new CpuBackend(dtype);
      const s = state(dtype, 5);
      const want = s.p.map((p, k) => p - 0.1 * s.g[k]);
      assert.equal(backend.sgdUpdate(s.p, s.g, 0.1), true);
      assertSameBits(s.p, want, 'params');
      s.p[MIDDLE] = largest;
      s.g[MIDDLE] = -largest;
      const before = s.p.slice();
      assert.equal(backend.sgdUpdate(s.p, s.g, 0.1), false);
      assertSameBits(s.p, before, 'params after a refusal');
    });
  });
}
