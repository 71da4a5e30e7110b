// A seeded, reproducible pseudo-random number generator whose whole state can be
// saved in a checkpoint and restored, so that a resumed training run draws exactly
// the numbers an uninterrupted one would have drawn.
//
// Generator: xoshiro128** 1.1 (Blackman and Vigna, https://prng.di.unimi.it/xoshiro128starstar.c),
// 128 bits of state as four unsigned 32-bit words s0..s3.
// Seeding: the four words are the first four outputs of splitmix32 started from the
// 32-bit seed, the 32-bit variant of Vigna's splitmix64 with the finalizer constants of
// Chris Wellons' hash prospector:
//   x = x + 0x9e3779b9
//   z = x; z = (z ^ z >>> 16) * 0x21f0aaad; z = (z ^ z >>> 15) * 0x735a2d97; z = z ^ z >>> 15
// All arithmetic is modulo 2^32 (Math.imul and >>> 0), so every JavaScript engine
// gives the same integers. `normal()` uses Math.log, Math.cos and Math.sin, which are
// deterministic within one engine.

import { InputError } from './config';

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** splitmix32 step: advances `state[0]` and returns the next 32-bit output. */
function splitmix32(state: Uint32Array): number {
  state[0] = (state[0] + 0x9e3779b9) >>> 0;
  let z = state[0];
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

export class Random {
  /** xoshiro128** state, s0..s3. */
  private readonly s = new Uint32Array(4);
  /** The second value of the last Box-Muller pair, not yet returned (part of the state). */
  private spare: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`Random: seed must be an integer, got ${seed}`);
    const sm = new Uint32Array([seed >>> 0]);
    for (let i = 0; i < 4; i++) this.s[i] = splitmix32(sm);
    // splitmix32 is a bijection of its counter, so four zero outputs cannot happen in
    // practice; guard anyway, since the all-zero state is xoshiro's one fixed point.
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n), unbiased: draws outside the largest multiple of n below 2^32 are rejected. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Random.int: n must be an integer from 1 to 2^32, got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n); // accept x < limit
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller). Values come in pairs; the second is kept for the next call. */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    const u1 = 1 - this.next(); // (0, 1]: log stays finite
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /**
   * The whole state, JSON-serializable: [s0, s1, s2, s3] as unsigned 32-bit integers,
   * followed by the pending Box-Muller value when there is one (5 numbers then).
   */
  getState(): number[] {
    const state = [this.s[0], this.s[1], this.s[2], this.s[3]];
    if (this.spare !== null) state.push(this.spare);
    return state;
  }

  /** Restores a state from getState(); throws InputError when it is malformed. */
  setState(state: number[]): void {
    const value: unknown = state;
    if (!Array.isArray(value) || (value.length !== 4 && value.length !== 5)) {
      throw new InputError('random state must be an array of 4 or 5 numbers');
    }
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const w: unknown = value[i];
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w >= TWO_POW_32) {
        throw new InputError(`random state[${i}] must be an integer from 0 to 2^32-1, got ${JSON.stringify(w)}`);
      }
      words.push(w);
    }
    if (words.every((w) => w === 0)) throw new InputError('random state must not be all zeros');
    let spare: number | null = null;
    if (value.length === 5) {
      const z: unknown = value[4];
      if (typeof z !== 'number' || !Number.isFinite(z)) {
        throw new InputError(`random state[4] must be a finite number, got ${JSON.stringify(z)}`);
      }
      spare = z;
    }
    this.s.set(words);
    this.spare = spare;
  }

  static fromState(state: number[]): Random {
    const r = new Random(0);
    r.setState(state);
    return r;
  }
}
