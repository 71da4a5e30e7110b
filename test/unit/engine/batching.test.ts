import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowSampler, StreamBatcher, minimumTokens, type Batch, type BatcherState } from '../../../src/engine/batching';
import { Random } from '../../../src/engine/random';
import { InputError } from '../../../src/engine/config';

/** ids 0, 10, 20, ...: a token's value tells its position. */
const tens = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => 10 * i);
const snap = (b: Batch): { inputs: number[]; targets: number[]; resetState: boolean } => ({
  inputs: Array.from(b.inputs),
  targets: Array.from(b.targets),
  resetState: b.resetState,
});

test('minimumTokens', () => {
  assert.equal(minimumTokens(4, 16, 'windows'), 17);
  assert.equal(minimumTokens(4, 16, 'streams'), 65);
});

test('WindowSampler: exact rows from a known generator state', () => {
  // Random state [1, 2, 3, 4] draws 11520, 0, 5927040 (see random.test.ts). With N = 14, T = 3
  // there are 11 starts; 2^32 mod 11 = 4 so these draws are accepted, and the starts are
  // 11520 mod 11 = 3, 0 mod 11 = 0, 5927040 mod 11 = 9.
  const m2m = new WindowSampler(tens(14), 3, 3, 'many_to_many', Random.fromState([1, 2, 3, 4]));
  assert.deepEqual(snap(m2m.next()), {
    inputs: [30, 40, 50, 0, 10, 20, 90, 100, 110],
    targets: [40, 50, 60, 10, 20, 30, 100, 110, 120],
    resetState: true,
  });
  const m2o = new WindowSampler(tens(14), 3, 3, 'many_to_one', Random.fromState([1, 2, 3, 4]));
  const b = m2o.next();
  assert.deepEqual(snap(b), { inputs: [30, 40, 50, 0, 10, 20, 90, 100, 110], targets: [60, 30, 120], resetState: true });
  assert.equal(b.B, 3);
  assert.equal(b.T, 3);
});

test('WindowSampler with exactly T + 1 tokens always takes the one window', () => {
  const s = new WindowSampler(tens(4), 2, 3, 'many_to_many', new Random(1));
  for (let i = 0; i < 5; i++) assert.deepEqual(snap(s.next()), { inputs: [0, 10, 20, 0, 10, 20], targets: [10, 20, 30, 10, 20, 30], resetState: true });
});

test('WindowSampler rows are windows of the stream, targets shifted by one, covering every start', () => {
  const N = 50, T = 7, B = 8;
  const s = new WindowSampler(tens(N), B, T, 'many_to_many', new Random(3));
  const seen = new Set<number>();
  for (let k = 0; k < 200; k++) {
    const batch = s.next();
    for (let b = 0; b < B; b++) {
      const start = batch.inputs[b * T] / 10;
      seen.add(start);
      assert.ok(start >= 0 && start <= N - T - 1);
      for (let t = 0; t < T; t++) {
        assert.equal(batch.inputs[b * T + t], 10 * (start + t));
        assert.equal(batch.targets[b * T + t], 10 * (start + t + 1));
      }
    }
  }
  assert.equal(seen.size, N - T); // all 43 starts drawn in 1600 rows
});

test('WindowSampler: same seed, same batches; it draws from the given rng only', () => {
  const ids = Int32Array.from({ length: 300 }, (_, i) => (i * 7919) % 101);
  const a = new WindowSampler(ids, 4, 5, 'many_to_one', new Random(42));
  const b = new WindowSampler(ids, 4, 5, 'many_to_one', new Random(42));
  for (let i = 0; i < 20; i++) assert.deepEqual(snap(a.next()), snap(b.next()));
  // exactly B draws of int(N - T) per batch, row by row
  const rng = new Random(9), ref = new Random(9);
  const w = new WindowSampler(tens(40), 3, 4, 'many_to_one', rng);
  w.next();
  w.next();
  for (let i = 0; i < 6; i++) ref.int(36);
  assert.deepEqual(rng.getState(), ref.getState());
});

test('WindowSampler resumes identically from saved rng and batcher state', () => {
  const ids = Int32Array.from({ length: 500 }, (_, i) => (i * 31) % 97);
  const rng = new Random(2024);
  const straight = new WindowSampler(ids, 5, 8, 'many_to_many', rng);
  for (let i = 0; i < 13; i++) straight.next();
  const saved = JSON.parse(JSON.stringify({ rng: rng.getState(), batcher: straight.getState() })) as { rng: number[]; batcher: BatcherState };
  const expected = Array.from({ length: 10 }, () => snap(straight.next()));
  const resumed = new WindowSampler(ids, 5, 8, 'many_to_many', Random.fromState(saved.rng));
  resumed.setState(saved.batcher);
  assert.deepEqual(Array.from({ length: 10 }, () => snap(resumed.next())), expected);
  assert.throws(() => resumed.setState({ kind: 'streams', position: 0, started: false }), InputError);
});

test('StreamBatcher: exact contents, advancing by T, wrapping with resetState', () => {
  // N = 11, B = 2, T = 2: S = floor(10 / 2) = 5; stream 0 is ids[0..5], stream 1 ids[5..10] (+1 for targets)
  const s = new StreamBatcher(tens(11), 2, 2);
  assert.equal(s.streamLength, 5);
  const first = { inputs: [0, 10, 50, 60], targets: [10, 20, 60, 70], resetState: true };
  const second = { inputs: [20, 30, 70, 80], targets: [30, 40, 80, 90], resetState: false };
  assert.deepEqual(snap(s.next()), first);
  assert.deepEqual(snap(s.next()), second);
  // p = 4: 4 + 2 > 5, wrap to 0
  assert.deepEqual(snap(s.next()), first);
  assert.deepEqual(snap(s.next()), second);
  assert.deepEqual(snap(s.next()), first);
});

test('StreamBatcher: streams that fit exactly wrap right after the last full batch', () => {
  // N = 13, B = 3, T = 2: S = 4 ; p = 0, 2, then 4 + 2 > 4 wraps
  const s = new StreamBatcher(tens(13), 3, 2);
  const b1 = snap(s.next());
  assert.deepEqual(b1, { inputs: [0, 10, 40, 50, 80, 90], targets: [10, 20, 50, 60, 90, 100], resetState: true });
  assert.deepEqual(snap(s.next()), { inputs: [20, 30, 60, 70, 100, 110], targets: [30, 40, 70, 80, 110, 120], resetState: false });
  assert.deepEqual(snap(s.next()), b1);
  // the minimum, B*T + 1 tokens: S = T, every batch is the first, every one resets
  const m = new StreamBatcher(tens(7), 3, 2);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(snap(m.next()), { inputs: [0, 10, 20, 30, 40, 50], targets: [10, 20, 30, 40, 50, 60], resetState: true });
  }
});

test('StreamBatcher: each row continues where it left off (carried state sees a contiguous stream)', () => {
  const N = 1001, B = 4, T = 7;
  const s = new StreamBatcher(tens(N), B, T);
  const S = Math.floor((N - 1) / B);
  let expectedP = 0;
  for (let k = 0; k < 100; k++) {
    const b = s.next();
    if (expectedP + T > S) expectedP = 0;
    assert.equal(b.resetState, k === 0 || expectedP === 0);
    for (let r = 0; r < B; r++) {
      for (let t = 0; t < T; t++) {
        assert.equal(b.inputs[r * T + t], 10 * (r * S + expectedP + t));
        assert.equal(b.targets[r * T + t], 10 * (r * S + expectedP + t + 1));
      }
    }
    expectedP += T;
  }
});

test('StreamBatcher resumes identically from its saved state', () => {
  const ids = Int32Array.from({ length: 400 }, (_, i) => (i * 13) % 61);
  const straight = new StreamBatcher(ids, 3, 9);
  for (let i = 0; i < 16; i++) straight.next(); // S = 133: wraps after 14 batches
  const saved = JSON.parse(JSON.stringify(straight.getState())) as BatcherState;
  const expected = Array.from({ length: 20 }, () => snap(straight.next()));
  const resumed = new StreamBatcher(ids, 3, 9);
  resumed.setState(saved);
  assert.deepEqual(Array.from({ length: 20 }, () => snap(resumed.next())), expected);
  // a fresh state resets on its first batch
  const fresh = new StreamBatcher(ids, 3, 9);
  assert.deepEqual(fresh.getState(), { kind: 'streams', position: 0, started: false });
  assert.equal(fresh.next().resetState, true);
  // malformed states
  const bad: unknown[] = [
    null, { kind: 'windows' }, { kind: 'streams', position: -1, started: true }, { kind: 'streams', position: 134, started: true },
    { kind: 'streams', position: 1.5, started: true }, { kind: 'streams', position: 3, started: 'yes' }, { kind: 'streams', started: true },
  ];
  for (const b of bad) assert.throws(() => resumed.setState(b as BatcherState), InputError, JSON.stringify(b));
});

test('batch arrays are allocated once and reused', () => {
  const s = new StreamBatcher(tens(100), 2, 3);
  const a = s.next(), b = s.next();
  assert.equal(a.inputs, b.inputs);
  assert.equal(a.targets, b.targets);
  const w = new WindowSampler(tens(100), 2, 3, 'many_to_one', new Random(1));
  const c = w.next(), d = w.next();
  assert.equal(c.inputs, d.inputs);
  assert.equal(c.targets.length, 2);
});

test('too few tokens: InputError naming the numbers', () => {
  assert.throws(() => new WindowSampler(tens(16), 4, 16, 'many_to_many', new Random(1)), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /16 tokens.*at least 17/);
    return true;
  });
  assert.doesNotThrow(() => new WindowSampler(tens(17), 4, 16, 'many_to_many', new Random(1)));
  assert.throws(() => new StreamBatcher(tens(64), 4, 16), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /64 tokens.*4 streams of 16.*at least 65/);
    return true;
  });
  assert.doesNotThrow(() => new StreamBatcher(tens(65), 4, 16));
  assert.throws(() => new StreamBatcher(tens(0), 1, 1), InputError);
  assert.throws(() => new StreamBatcher(tens(10), 0, 1), InputError);
  assert.throws(() => new WindowSampler(tens(10), 1, 0, 'many_to_one', new Random(1)), InputError);
  assert.throws(() => new WindowSampler(tens(10), 1.5, 2, 'many_to_one', new Random(1)), InputError);
});
