import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../../src/engine/random';
import { InputError } from '../../../src/engine/config';

// Reference algorithms written independently with BigInt, from their published definitions.
const M32 = 0xffffffffn;
const rotlRef = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M32;

function xoshiro128ssRef(state: bigint[]): () => number {
  const s = state.slice();
  return () => {
    const result = (rotlRef((s[1] * 5n) & M32, 7n) * 9n) & M32;
    const t = (s[1] << 9n) & M32;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotlRef(s[3], 11n);
    return Number(result);
  };
}

function splitmix32Ref(seed: number): bigint[] {
  let x = BigInt(seed >>> 0);
  const out: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9n) & M32;
    let z = x;
    z = ((z ^ (z >> 16n)) * 0x21f0aaadn) & M32;
    z = ((z ^ (z >> 15n)) * 0x735a2d97n) & M32;
    z = z ^ (z >> 15n);
    out.push(z);
  }
  return out;
}

test('xoshiro128** from state [1, 2, 3, 4] gives the hand-computed first outputs', () => {
  // By hand: out1 = rotl(2*5, 7)*9 = 1280*9 = 11520; the step leaves s = [7, 0, 1026, 12288],
  // so out2 = 0; the next step leaves s1 = 1029, so out3 = rotl(5145, 7)*9 = 658560*9 = 5927040.
  const r = Random.fromState([1, 2, 3, 4]);
  assert.equal(r.nextUint32(), 11520);
  assert.equal(r.nextUint32(), 0);
  assert.equal(r.nextUint32(), 5927040);
  const ref = xoshiro128ssRef([1n, 2n, 3n, 4n]);
  const r2 = Random.fromState([1, 2, 3, 4]);
  for (let i = 0; i < 1000; i++) assert.equal(r2.nextUint32(), ref());
});

test('seeding matches the reference splitmix32 + xoshiro128**', () => {
  for (const seed of [0, 1, 42, 123456789, 0xffffffff, -1]) {
    const words = splitmix32Ref(seed);
    const r = new Random(seed);
    assert.deepEqual(r.getState(), words.map(Number), `state for seed ${seed}`);
    const ref = xoshiro128ssRef(words);
    for (let i = 0; i < 200; i++) assert.equal(r.nextUint32(), ref(), `seed ${seed}, output ${i}`);
  }
});

test('splitmix32 of seed 0 starts from the golden-ratio increment', () => {
  // First splitmix32 output for seed 0, by hand: x = 0x9e3779b9, then the finalizer.
  let z = 0x9e3779b9n;
  z = ((z ^ (z >> 16n)) * 0x21f0aaadn) & M32;
  z = ((z ^ (z >> 15n)) * 0x735a2d97n) & M32;
  z = z ^ (z >> 15n);
  assert.equal(new Random(0).getState()[0], Number(z));
});

test('same seed, same sequence; different seeds differ', () => {
  const a = new Random(7), b = new Random(7), c = new Random(8);
  const xa: number[] = [], xb: number[] = [], xc: number[] = [];
  for (let i = 0; i < 100; i++) {
    xa.push(a.nextUint32());
    xb.push(b.nextUint32());
    xc.push(c.nextUint32());
  }
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  for (const x of xa) assert.ok(Number.isInteger(x) && x >= 0 && x < 2 ** 32);
});

test('next() is in [0, 1) and uniform() in [lo, hi)', () => {
  const r = new Random(3);
  for (let i = 0; i < 10000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    const u = r.uniform(-0.5, 0.25);
    assert.ok(u >= -0.5 && u < 0.25);
  }
  // next() is nextUint32() / 2^32 exactly
  const p = new Random(5), q = new Random(5);
  assert.equal(p.next(), q.nextUint32() / 2 ** 32);
});

test('state round trip continues identically, including a pending normal value', () => {
  const r = new Random(99);
  for (let i = 0; i < 17; i++) r.nextUint32();
  r.normal(); // leaves the second Box-Muller value pending
  const saved = JSON.parse(JSON.stringify(r.getState())) as number[];
  assert.equal(saved.length, 5);
  const expected = [r.normal(), r.normal(), r.nextUint32(), r.int(1000), r.next()];
  const restored = Random.fromState(saved);
  assert.deepEqual([restored.normal(), restored.normal(), restored.nextUint32(), restored.int(1000), restored.next()], expected);
  const other = new Random(1);
  other.setState(saved);
  assert.equal(other.normal(), expected[0]);
});

test('setState rejects malformed states with InputError', () => {
  const r = new Random(1);
  const bad: unknown[] = [
    [], [1, 2, 3], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0], [1, 2, 3, -1], [1, 2, 3, 2 ** 32], [1.5, 2, 3, 4],
    [1, 2, 3, 4, NaN], [1, 2, 3, 4, Infinity], ['1', 2, 3, 4], null, 'abc', { 0: 1 },
  ];
  for (const s of bad) {
    assert.throws(() => r.setState(s as number[]), InputError, JSON.stringify(s));
  }
  // a failed setState leaves the generator as it was
  const before = r.getState();
  assert.throws(() => r.setState([1, 2, 3, 4, NaN]), InputError);
  assert.deepEqual(r.getState(), before);
});

test('int(n) is within range and roughly uniform (chi-square)', () => {
  const r = new Random(2024);
  for (const n of [1, 2, 7, 10, 1000, 2 ** 31 + 1, 2 ** 32]) {
    for (let i = 0; i < 200; i++) {
      const x = r.int(n);
      assert.ok(Number.isInteger(x) && x >= 0 && x < n, `int(${n}) gave ${x}`);
    }
  }
  const k = 10, draws = 100000;
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < draws; i++) counts[r.int(k)]++;
  const e = draws / k;
  const chi2 = counts.reduce((acc, c) => acc + (c - e) ** 2 / e, 0);
  // 9 degrees of freedom: P(chi2 > 27.88) = 0.001
  assert.ok(chi2 < 27.88, `chi-square ${chi2} for counts ${counts}`);
  assert.throws(() => r.int(0), RangeError);
  assert.throws(() => r.int(2.5), RangeError);
});

test('int(n) rejects the biased tail, matching a reference rejection sampler', () => {
  // n = 3 * 2^30: 2^32 mod n = 2^30, so draws >= 3 * 2^30 (a quarter of them) must be skipped.
  for (const n of [3 * 2 ** 30, 3, 1000]) {
    const limit = 2 ** 32 - (2 ** 32 % n);
    const s = Random.fromState([1, 2, 3, 4]);
    const ref = xoshiro128ssRef([1n, 2n, 3n, 4n]);
    let rejected = 0;
    for (let i = 0; i < 1000; i++) {
      let x = ref();
      while (x >= limit) {
        rejected++;
        x = ref();
      }
      assert.equal(s.int(n), x % n, `n = ${n}, draw ${i}`);
    }
    if (n === 3 * 2 ** 30) assert.ok(rejected > 150, `only ${rejected} rejections`);
  }
});

test('normal() has mean 0 and variance 1', () => {
  const r = new Random(11);
  const n = 200000;
  let sum = 0, sumSq = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    assert.ok(Number.isFinite(z));
    sum += z;
    sumSq += z * z;
  }
  const mean = sum / n, variance = sumSq / n - mean * mean;
  // standard error of the mean is 1/sqrt(n) ~ 0.0022; of the variance ~ sqrt(2/n) ~ 0.0032
  assert.ok(Math.abs(mean) < 0.012, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.016, `variance ${variance}`);
});

test('normal() is Box-Muller of two next() draws, cos value first, sin value second', () => {
  const r = new Random(77), u = new Random(77);
  const u1 = 1 - u.next(), u2 = u.next();
  const rad = Math.sqrt(-2 * Math.log(u1));
  assert.equal(r.normal(), rad * Math.cos(2 * Math.PI * u2));
  assert.equal(r.normal(), rad * Math.sin(2 * Math.PI * u2));
});
