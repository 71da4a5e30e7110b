// The one base64 codec (src/engine/base64.ts), used by the checkpoint's carried state and the
// panel's saved state, against Node's own Buffer base64 as the reference.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64ToBytes, base64ToFloat32, float32ToBase64 } from '../../../src/engine/base64';
import { carriedValues } from '../../../src/engine/checkpoint';
import { CheckpointError } from '../../../src/engine/safetensors';
import { Random } from '../../../src/engine/random';

/** Float32 values of every kind: zeros, signs, subnormals, infinities, NaN, random bits. */
function samples(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  const bits = new Uint32Array(n);
  for (let k = 0; k < n; k++) bits[k] = r.nextUint32();
  const f = new Float32Array(bits.buffer);
  if (n > 6) f.set([0, -0, 1e-45, Infinity, -Infinity, NaN]);
  return f;
}

const reference = (f: Float32Array): string => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');

describe('base64 of float32 data', () => {
  it('writes what Node writes, for every length (all three paddings) and a view into a larger buffer', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 17, 4096, 10_000]) {
      const f = samples(n, n);
      assert.equal(float32ToBase64(f), reference(f), `${n} values`);
    }
    const whole = samples(40, 1);
    const part = whole.subarray(3, 20);
    assert.equal(float32ToBase64(part), reference(part));
  });

  it('reads back what Node wrote, bit for bit', () => {
    for (const n of [0, 1, 3, 1000]) {
      const f = samples(n, 7 + n);
      const back = base64ToFloat32(reference(f));
      assert.ok(back);
      assert.deepEqual(new Uint8Array(back.buffer, back.byteOffset, back.byteLength), new Uint8Array(f.buffer));
    }
    // Bytes that are not whole floats: as Node reads them.
    for (const text of ['AQID', 'AQIDBA==', 'AQIDBA', '']) assert.deepEqual(Array.from(base64ToBytes(text) as Uint8Array), Array.from(Buffer.from(text, 'base64')), text);
  });

  it('refuses what is not base64, or not whole float32 values', () => {
    assert.equal(base64ToFloat32('AAAA*AAA'), null);
    assert.equal(base64ToFloat32('AAAAé'), null);
    assert.equal(base64ToFloat32('AQID'), null, 'three bytes');
  });

  it('the checkpoint names the carried state that is wrong, in one line', () => {
    const f = samples(8, 3);
    assert.deepEqual(carriedValues(reference(f), 8, 'training.carry.h'), f);
    assert.throws(() => carriedValues('AA!A', 1, 'training.carry.h'), (e) => e instanceof CheckpointError && e.message === 'corrupt checkpoint: training.carry.h is not base64');
    assert.throws(() => carriedValues(reference(f), 9, 'training.carry.c'), (e) => e instanceof CheckpointError && e.message === 'corrupt checkpoint: training.carry.c holds 8 values, expected 9');
  });
});
