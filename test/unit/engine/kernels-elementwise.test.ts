// The SIMD element-wise kernels (src/engine/wasm/kernels.wat) against the plain loops of
// kernels.ts and Math: exp, the sigmoid and tanh over a dense range, measured in units in the last
// place of float32 against the float64 value rounded to float32; the LSTM cell forward and
// backward on odd sizes (H = 1, 3, 17, 33, 130: the last H % 4 values read and written lane by
// lane), strided rows as the model makes them, initial state given or zero, traces kept or not.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rows, view } from '../../../src/engine/backend';
import {
  addColumnSums, lstmCellBackward, lstmCellBackwardReference, lstmCellForward, lstmCellForwardReference, scatterAddRows, useFastKernels,
} from '../../../src/engine/kernels';
import { Random } from '../../../src/engine/random';
import { createArena, simdMap, type Arena } from '../../../src/engine/wasm/simd';
import '../../support/kernelPaths';

/** |a - b| in units in the last place of float32 at b (b itself a float32). */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  const exp = Math.max(Math.floor(Math.log2(Math.abs(b))), -126);
  return Math.abs(a - b) / 2 ** (exp - 23);
}

function range(lo: number, hi: number, step: number): Float32Array {
  const out: number[] = [];
  for (let x = lo; x <= hi; x += step) out.push(x);
  for (let e = -30; e < 0; e++) out.push(2 ** e, -(2 ** e)); // small values, where tanh(x) ~ x
  return Float32Array.from(out);
}

function worst(x: Float32Array, got: Float32Array, f: (v: number) => number): { ulp: number; at: number } {
  let ulp = 0, at = 0;
  for (let k = 0; k < x.length; k++) {
    const u = ulps(got[k], Math.fround(f(x[k])));
    if (u > ulp) [ulp, at] = [u, x[k]];
  }
  return { ulp, at };
}

describe('vectorised exp, sigmoid and tanh', () => {
  it('exp within 2 ulp of Math.exp over [-87, 88] every 1/512', () => {
    const x = range(-87, 88, 1 / 512);
    const w = worst(x, simdMap(x, 0), Math.exp);
    assert.ok(w.ulp <= 2, `exp: ${w.ulp} ulp at ${w.at}`);
  });

  it('tanh within 3 ulp of Math.tanh over [-20, 20] every 1/1024 and at powers of two down to 2^-30', () => {
    const x = range(-20, 20, 1 / 1024);
    const w = worst(x, simdMap(x, 2), Math.tanh);
    assert.ok(w.ulp <= 3, `tanh: ${w.ulp} ulp at ${w.at}`);
    const big = Float32Array.from([30, -30, 100, -100, 1e30, -1e30]);
    assert.deepEqual(Array.from(simdMap(big, 2)), [1, -1, 1, -1, 1, -1]);
  });

  it('sigmoid within 3 ulp of 1 / (1 + e^-x) over [-80, 20] every 1/1024', () => {
    const x = range(-80, 20, 1 / 1024);
    const w = worst(x, simdMap(x, 1), (v) => 1 / (1 + Math.exp(-v)));
    assert.ok(w.ulp <= 3, `sigmoid: ${w.ulp} ulp at ${w.at}`);
    const far = simdMap(Float32Array.from([-200, 200, 1e30, -1e30]), 1);
    assert.ok(far[0] >= 0 && far[0] < 1e-37 && far[1] === 1 && far[2] === 1 && far[3] >= 0 && far[3] < 1e-37, `${Array.from(far)}`);
  });

  it('a wrong approximation is caught: the measure sees 1 ulp', () => {
    assert.equal(ulps(Math.fround(1 + 2 ** -23), 1), 1);
    assert.equal(ulps(Math.fround(0.75 + 2 ** -24), 0.75), 1);
  });
});

describe('the SIMD cell against the plain loops', () => {
  const rng = new Random(5);
  const fill = (arena: Arena, n: number, scale = 2): Float32Array => {
    const a = arena.allocFloats(n);
    for (let k = 0; k < n; k++) a[k] = rng.uniform(-scale, scale);
    return a;
  };

  for (const H of [1, 3, 4, 17, 33, 130]) {
    for (const given of [true, false]) {
      it(`H=${H}, B=3, T=4 at step t=2, initial state ${given ? 'given' : 'zero'}: forward then backward, traces kept`, () => {
        const arena = createArena() as Arena;
        const B = 3, T = 4, G = 4 * H, t = 2;
        const gates0 = fill(arena, B * T * G, 3);
        const prevH = fill(arena, B * T * H), prevC = fill(arena, B * T * H);
        const made = () => ({ gates: arena.allocFloats(B * T * G), c: arena.allocFloats(B * T * H), h: arena.allocFloats(B * T * H), tanhC: arena.allocFloats(B * T * H), hPrev: arena.allocFloats(B * T * H), cPrev: arena.allocFloats(B * T * H) });
        const fast = made(), ref = made();
        fast.gates.set(gates0);
        ref.gates.set(gates0);
        const step = (m: ReturnType<typeof made>) => ({
          B, H, gates: view(m.gates, t * G, T * G), state: rows(t * H, T * H), c: m.c, h: m.h, tanhC: m.tanhC, hPrev: m.hPrev, cPrev: m.cPrev,
          prev: rows((t - 1) * H, T * H), hPrevIn: given ? prevH : null, cPrevIn: given ? prevC : null,
        });
        lstmCellForward(step(fast));
        lstmCellForwardReference(step(ref));
        for (const key of ['gates', 'c', 'h', 'tanhC', 'hPrev', 'cPrev'] as const) {
          for (let k = 0; k < fast[key].length; k++) {
            const tol = 4e-7 * Math.max(1, Math.abs(ref[key][k]));
            assert.ok(Math.abs(fast[key][k] - ref[key][k]) <= tol, `forward ${key}[${k}]: ${fast[key][k]} vs ${ref[key][k]}`);
          }
        }
        // Backward from the reference's forward, on both.
        const dOut = fill(arena, B * T * H);
        const dh0 = fill(arena, B * H), dc0 = fill(arena, B * H);
        const back = (): Record<'dGates' | 'dhNext' | 'dcNext' | 'dh' | 'dc', Float32Array<ArrayBufferLike>> => ({ dGates: arena.allocFloats(B * T * G), dhNext: Float32Array.from(dh0), dcNext: Float32Array.from(dc0), dh: arena.allocFloats(B * T * H), dc: arena.allocFloats(B * T * H) });
        const fb = back(), rb = back();
        const inArena = (x: Float32Array): Float32Array => {
          const y = arena.allocFloats(x.length);
          y.set(x);
          return y;
        };
        fb.dhNext = inArena(fb.dhNext);
        fb.dcNext = inArena(fb.dcNext);
        const bstep = (b: ReturnType<typeof back>) => ({
          B, H, gate: rows(t * G, T * G), gates: ref.gates, dGates: b.dGates, state: rows(t * H, T * H), tanhC: ref.tanhC, cPrev: ref.cPrev,
          dhTrace: b.dh, dcTrace: b.dc, dOut: view(dOut, t * H, T * H), dhNext: b.dhNext, dcNext: b.dcNext,
        });
        lstmCellBackward(bstep(fb));
        lstmCellBackwardReference(bstep(rb));
        for (const key of ['dGates', 'dcNext', 'dh', 'dc'] as const) {
          for (let k = 0; k < fb[key].length; k++) {
            const tol = 1e-6 * Math.max(1, Math.abs(rb[key][k]));
            assert.ok(Math.abs(fb[key][k] - rb[key][k]) <= tol, `backward ${key}[${k}]: ${fb[key][k]} vs ${rb[key][k]}`);
          }
        }
      });
    }
  }
});

describe('column sums and row scatter-adds on the SIMD kernels', () => {
  const rng = new Random(9);
  /** f on the SIMD kernels (arrays in an arena) and on the plain loops: the same bits. */
  const both = (n: number, f: (arena: Arena | null) => Float32Array): void => {
    const fast = f(createArena());
    const before = useFastKernels(false);
    try {
      const plain = f(null);
      assert.deepEqual(new Uint32Array(fast.buffer, fast.byteOffset, fast.length), new Uint32Array(plain.buffer, plain.byteOffset, plain.length), `n=${n}`);
    } finally {
      useFastKernels(before);
    }
  };
  const data = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1, 1) * 10 ** rng.int(6));

  for (const [R, N] of [[1, 1], [3, 5], [17, 33], [130, 3], [2048, 17]]) {
    it(`column sums of ${R} x ${N}, into one bias and into two: bit for bit the plain loop's`, () => {
      const src = data(R * N), b1 = data(N), b2 = data(N);
      const put = (arena: Arena | null, x: Float32Array): Float32Array => {
        const y = arena ? arena.allocFloats(x.length) : new Float32Array(x.length);
        y.set(x);
        return y;
      };
      both(N, (arena) => {
        const d1 = put(arena, b1), d2 = put(arena, b2), s0 = put(arena, src);
        addColumnSums(d1, s0, R, N, d2);
        addColumnSums(d2, s0, R, N);
        return Float32Array.from([...d1, ...d2]);
      });
    });

    it(`scatter-add of ${R} rows of ${N}: bit for bit the plain loop's`, () => {
      const src = data(R * N), dst = data(7 * N);
      const ids = Int32Array.from({ length: R }, () => rng.int(7));
      both(N, (arena) => {
        const d = arena ? arena.allocFloats(dst.length) : new Float32Array(dst.length);
        d.set(dst);
        const x = arena ? arena.allocFloats(src.length) : new Float32Array(src.length);
        x.set(src);
        scatterAddRows(d, x, ids, R, N);
        return d.slice();
      });
    });
  }
});

describe('the SIMD cell on arrays outside an arena', () => {
  it('copies the rows it touches: the same bits as in the arena, an initial state from outside included', () => {
    const rng = new Random(12);
    const B = 3, T = 2, H = 5, G = 4 * H, t = 1;
    const gates0 = Float32Array.from({ length: B * T * G }, () => rng.uniform(-3, 3));
    const h0 = Float32Array.from({ length: B * H }, () => rng.uniform(-1, 1));
    const c0 = Float32Array.from({ length: B * H }, () => rng.uniform(-1, 1));
    const run = (arena: Arena | null): Float32Array => {
      const alloc = (n: number): Float32Array => (arena ? arena.allocFloats(n) : new Float32Array(n));
      const gates = alloc(B * T * G);
      gates.set(gates0);
      const [c, h, tanhC, hPrev, cPrev] = [0, 1, 2, 3, 4].map(() => alloc(B * T * H));
      lstmCellForward({ B, H, gates: view(gates, t * G, T * G), state: rows(t * H, T * H), c, h, tanhC, hPrev, cPrev, prev: rows(0, H), hPrevIn: h0, cPrevIn: c0 });
      return Float32Array.from([...gates, ...c, ...h, ...tanhC, ...hPrev, ...cPrev]);
    };
    const inArena = run(createArena());
    const outside = run(null);
    assert.deepEqual(new Uint32Array(outside.buffer), new Uint32Array(inArena.buffer));
    // And it is the SIMD kernel's result, not the plain loop's (which rounds otherwise somewhere).
    const before = useFastKernels(false);
    try {
      assert.notDeepEqual(new Uint32Array(run(null).buffer), new Uint32Array(inArena.buffer));
    } finally {
      useFastKernels(before);
    }
  });
});
