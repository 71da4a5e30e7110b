import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSafetensors, decodeSafetensors, CheckpointError, type TensorEntry } from '../../../src/engine/safetensors';
import { InputError } from '../../../src/engine/config';
import { Random } from '../../../src/engine/random';

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const u64le = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  for (let i = 0; i < 8; i++) {
    out.push(v % 256);
    v = Math.floor(v / 256);
  }
  return out;
};
/** A file from a header (string, or an object to stringify) and raw data bytes, with no padding. */
const file = (header: string | object, data: number[] | Uint8Array = []): Uint8Array => {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  out.set(u64le(h.length), 0);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
};
const f32 = (shape: number[], offsets: [number, number]): object => ({ dtype: 'F32', shape, data_offsets: offsets });

const refuses = (bytes: Uint8Array, message: RegExp): void => {
  assert.throws(() => decodeSafetensors(bytes), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.ok(e instanceof InputError);
    assert.match(e.message, message);
    assert.ok(!/[\n\r]/.test(e.message), 'one line');
    return true;
  });
};

test('a file built byte by byte from the spec decodes to the right values', () => {
  // Float32 little-endian by hand: 1.0 = 0x3f800000, -2.0 = 0xc0000000, 0.5 = 0x3f000000, 3.0 = 0x40400000
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]},"__metadata__":{"format":"lstm-lens/1"}}';
  const bytes = new Uint8Array([
    ...u64le(header.length), ...ascii(header),
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
    0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x40, 0x40,
  ]);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual([...tensors.keys()], ['a', 'b']);
  assert.deepEqual(tensors.get('a'), { shape: [2], data: new Float32Array([1, -2]) });
  assert.deepEqual(tensors.get('b'), { shape: [1, 2], data: new Float32Array([0.5, 3]) });
  assert.deepEqual(metadata, { format: 'lstm-lens/1' });
  // the metadata is optional
  assert.deepEqual(decodeSafetensors(file({ x: f32([], [0, 4]) }, [0, 0, 0x80, 0x3f])).metadata, {});
  assert.deepEqual(decodeSafetensors(file({ x: f32([], [0, 4]) }, [0, 0, 0x80, 0x3f])).tensors.get('x')?.data, new Float32Array([1]));
});

test('encode writes exactly the spec layout: u64 length, space-padded JSON, little-endian data', () => {
  const out = encodeSafetensors([['w', { shape: [2], data: new Float32Array([1, -2]) }], ['e', { shape: [0, 3], data: new Float32Array(0) }]], { format: 'x' });
  const json = '{"__metadata__":{"format":"x"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"e":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]}}';
  const padded = Math.ceil(json.length / 8) * 8;
  const expected = new Uint8Array([
    ...u64le(padded), ...ascii(json), ...Array<number>(padded - json.length).fill(0x20),
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
  ]);
  assert.deepEqual(out, expected);
  assert.equal((8 + padded) % 8, 0);
});

test('round trip: names in order, shapes, values, metadata (unicode, __proto__, scalars, empty)', () => {
  const r = new Random(1);
  const entries: Array<[string, TensorEntry]> = [];
  const shapes = [[4, 3], [12], [], [0], [2, 0, 5], [1, 1, 7], [3, 2, 2]];
  shapes.forEach((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => r.normal());
    if (i === 1) data.set([0, -0, Infinity, -Infinity, NaN, 1e-45, 3.4028234663852886e38], 0);
    entries.push([[`lstm.weight_ih_l${i}`, 'ü-naïve 🐈', '__proto__', 'a"b\\c\n', '', 'head.bias', 'optimizer.m.head.weight'][i], { shape, data }]);
  });
  // fromEntries makes "__proto__" an own data key (a literal or an assignment would set the prototype)
  const meta: Record<string, string> = Object.fromEntries([
    ['format', 'lstm-lens/1'], ['vocab', JSON.stringify({ kind: 'char', tokens: ['\n', '"', '🐈'] })], ['empty', ''], ['__proto__', 'p'],
  ]);
  const bytes = encodeSafetensors(entries, meta);
  const back = decodeSafetensors(bytes);
  assert.deepEqual([...back.tensors.keys()], entries.map(([n]) => n));
  for (const [name, t] of entries) {
    const got = back.tensors.get(name);
    assert.ok(got);
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual(new Uint8Array(got.data.buffer), new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)));
  }
  assert.deepEqual(Object.entries(back.metadata), Object.entries(meta));
  assert.deepEqual(decodeSafetensors(encodeSafetensors([], {})), { tensors: new Map(), metadata: {} });
});

test('decode copies out of an unaligned view, and does not alias the input', () => {
  const bytes = encodeSafetensors([['x', { shape: [3], data: new Float32Array([1.5, -2.25, 1e-3]) }]], {});
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 1);
  const view = shifted.subarray(1, 1 + bytes.length);
  const got = decodeSafetensors(view).tensors.get('x');
  assert.deepEqual(got?.data, new Float32Array([1.5, -2.25, 1e-3]));
  view.fill(0);
  assert.deepEqual(got?.data, new Float32Array([1.5, -2.25, 1e-3]));
  // a subarray of a data region that is not a multiple of 4 from the buffer start
  const sub = encodeSafetensors([['a', { shape: [1], data: new Float32Array([7]) }], ['b', { shape: [2], data: new Float32Array([8, 9]) }]], {});
  assert.deepEqual(decodeSafetensors(sub).tensors.get('b')?.data, new Float32Array([8, 9]));
});

test('encode refuses what it cannot write', () => {
  const t = (shape: number[], n: number): TensorEntry => ({ shape, data: new Float32Array(n) });
  assert.throws(() => encodeSafetensors([['a', t([2], 3)]], {}), RangeError);
  assert.throws(() => encodeSafetensors([['a', t([-1], 0)]], {}), RangeError);
  assert.throws(() => encodeSafetensors([['a', t([1], 1)], ['a', t([1], 1)]], {}), RangeError);
  assert.throws(() => encodeSafetensors([['__metadata__', t([1], 1)]], {}), RangeError);
  assert.throws(() => encodeSafetensors([], { a: 1 } as unknown as Record<string, string>), TypeError);
});

test('too short, or a header length beyond the file or the limit', () => {
  refuses(new Uint8Array(0), /file is 0 bytes, shorter than a safetensors header/);
  refuses(new Uint8Array(5), /not a checkpoint: file is 5 bytes, shorter than a safetensors header/);
  refuses(new Uint8Array([...u64le(100), ...ascii('{"a":1}')]), /header length 100 exceeds the file \(7 bytes/);
  refuses(new Uint8Array([...u64le(2 ** 40), ...ascii('{}')]), /header length 1099511627776 exceeds the file/);
  refuses(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7b]), /header length 18446744073709551615 exceeds/);
  // a text file: its first 8 bytes read as an enormous length
  refuses(new TextEncoder().encode('long ago the mice had a general council'), /exceeds the file/);
  const big = new Uint8Array(100 * 1024 * 1024 + 16);
  big.set(u64le(100 * 1024 * 1024 + 1), 0);
  big[8] = 0x7b;
  refuses(big, /header length 104857601 exceeds the limit/);
});

test('a header that is not a UTF-8 JSON object', () => {
  refuses(new Uint8Array([...u64le(0)]), /does not start with "\{"/);
  refuses(file('[1,2]'), /does not start with "\{"/);
  refuses(file(' {}'), /does not start with "\{"/);
  refuses(new Uint8Array([...u64le(4), 0x7b, 0x22, 0xff, 0x7d]), /not valid UTF-8/);
  refuses(file('{"a":'), /not valid JSON/);
  refuses(file('{"a":1}x'), /not valid JSON/);
  refuses(file('{' + '"a":['.repeat(100000)), /not valid JSON/);
});

test('entries that are not objects, or bad dtype, shape, data_offsets', () => {
  const four = [0, 0, 0x80, 0x3f];
  refuses(file({ a: 5 }, four), /tensor a: its header entry is not an object/);
  refuses(file({ a: null }, four), /tensor a: its header entry is not an object/);
  refuses(file({ a: [1] }, four), /tensor a: its header entry is not an object/);
  refuses(file({ 'bad\nname': 5 }, four), /tensor "bad\\nname"/);
  refuses(file({ a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, four), /tensor a: dtype F16 is not supported \(lstm-lens writes F32\)/);
  refuses(file({ a: { dtype: 'F64', shape: [], data_offsets: [0, 8] } }, [...four, ...four]), /dtype F64 is not supported/);
  refuses(file({ a: { shape: [1], data_offsets: [0, 4] } }, four), /dtype is missing/);
  refuses(file({ a: { dtype: 32, shape: [1], data_offsets: [0, 4] } }, four), /dtype is missing or not a string/);
  for (const shape of [null, 4, '1', [-1], [1.5], ['1'], [2 ** 53], [null], { 0: 1 }]) {
    refuses(file({ a: { dtype: 'F32', shape, data_offsets: [0, 4] } }, four), /tensor a: shape .* is not a list of non-negative integers/);
  }
  refuses(file({ a: { dtype: 'F32', data_offsets: [0, 4] } }, four), /shape undefined is not a list/);
  for (const offsets of [null, [0], [0, 4, 8], [4, 0], [0, 8], [-4, 0], [0.5, 4.5], ['0', '4'], [0, 2 ** 53]]) {
    refuses(file({ a: { dtype: 'F32', shape: [1], data_offsets: offsets } }, four), /tensor a: data_offsets .* are not two ordered integers inside the data region of 4 bytes/);
  }
});

test('a byte size that does not match the shape', () => {
  const data = new Uint8Array(80);
  refuses(file({ 'lstm.weight_ih_l0': f32([4, 6], [0, 80]) }, data),
    /^corrupt checkpoint: tensor lstm\.weight_ih_l0: data_offsets \[0, 80\] \(80 bytes\) do not match shape \[4,6\] of F32 \(96 bytes expected\)$/);
  refuses(file({ a: f32([4, 5], [0, 40]), b: f32([10], [40, 80]) }, data), /tensor a: .*\(80 bytes expected\)/);
  // a huge shape is reported, not multiplied out
  refuses(file({ a: f32([2 ** 40, 2 ** 40, 2 ** 40], [0, 80]) }, data), /more than 80 bytes expected/);
  // zero anywhere makes it empty, even after a huge dimension
  assert.deepEqual(decodeSafetensors(file({ a: f32([2 ** 40, 0], [0, 0]) })).tensors.get('a')?.shape, [2 ** 40, 0]);
});

test('overlapping tensors, holes and trailing bytes in the data region', () => {
  const d = (n: number): Uint8Array => new Uint8Array(n);
  refuses(file({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, d(12)), /tensors a \[0, 8\] and b \[4, 12\] overlap/);
  refuses(file({ a: f32([2], [0, 8]), b: f32([2], [0, 8]) }, d(8)), /overlap/);
  refuses(file({ a: f32([4], [0, 16]), z: f32([0], [8, 8]) }, d(16)), /overlap/);
  refuses(file({ a: f32([2], [0, 8]), b: f32([2], [12, 20]) }, d(20)), /bytes 8 to 12 of the data region belong to no tensor/);
  refuses(file({ a: f32([2], [4, 12]) }, d(12)), /bytes 0 to 4 of the data region belong to no tensor/);
  refuses(file({ a: f32([2], [0, 8]) }, d(12)), /4 trailing bytes after the last tensor/);
  refuses(file({}, d(4)), /4 trailing bytes/);
  refuses(file({ __metadata__: { a: 'b' } }, d(1)), /1 trailing bytes/);
  // a name given twice: JSON keeps the last, leaving the first one's bytes unindexed
  refuses(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', d(8)), /bytes 0 to 4 .* belong to no tensor/);
  // tensors in any order, and empty tensors at a boundary, are fine
  const ok = decodeSafetensors(file({ b: f32([1], [4, 8]), e: f32([0], [4, 4]), a: f32([1], [0, 4]), z: f32([0], [8, 8]) }, [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]));
  assert.deepEqual([...ok.tensors.keys()], ['b', 'e', 'a', 'z']);
  assert.deepEqual(ok.tensors.get('b')?.data, new Float32Array([-2]));
  assert.deepEqual(ok.tensors.get('a')?.data, new Float32Array([1]));
});

test('metadata that is not string to string', () => {
  refuses(file({ __metadata__: { step: 1 } }), /metadata "step" is not a string \(got 1\)/);
  refuses(file({ __metadata__: { a: { b: 'c' } } }), /metadata "a" is not a string/);
  refuses(file({ __metadata__: 'x' }), /__metadata__ is not an object of strings/);
  refuses(file({ __metadata__: ['x'] }), /__metadata__ is not an object of strings/);
  assert.deepEqual(decodeSafetensors(file({ __metadata__: null })).metadata, {});
  // a "__proto__" key stays data
  const m = decodeSafetensors(file('{"__metadata__":{"__proto__":"x","a":"b"}}')).metadata;
  assert.equal(Object.getPrototypeOf(m), Object.prototype);
  assert.deepEqual(Object.keys(m), ['__proto__', 'a']);
});

test('property: 2,000 truncations and bit flips either decode the same tensors or throw CheckpointError', () => {
  const r = new Random(20240607);
  const entries: Array<[string, TensorEntry]> = [
    ['lstm.weight_ih_l0', { shape: [8, 5], data: Float32Array.from({ length: 40 }, () => r.normal()) }],
    ['lstm.bias_ih_l0', { shape: [8], data: Float32Array.from({ length: 8 }, () => r.normal()) }],
    ['head.weight', { shape: [3, 2, 2], data: Float32Array.from({ length: 12 }, () => r.normal()) }],
  ];
  const valid = encodeSafetensors(entries, { format: 'lstm-lens/1', vocab: '{"kind":"char","tokens":["a","b","c"]}' });
  const headerLength = valid[0] + 256 * valid[1];
  const headerText = new TextDecoder().decode(valid.subarray(8, 8 + headerLength));
  // byte spans of the tensor names in the file: a flip there may rename a tensor and still be valid
  const nameSpans = entries.map(([name]) => {
    const at = headerText.indexOf(`"${name}"`);
    return [8 + at + 1, 8 + at + 1 + name.length] as const;
  });
  let decoded = 0, refused = 0;
  for (let trial = 0; trial < 2000; trial++) {
    const bytes = valid.slice();
    let input: Uint8Array;
    const flipped: number[] = [];
    if (trial % 4 === 0) {
      input = bytes.subarray(0, r.int(valid.length)); // always shorter than the valid file
    } else {
      const flips = 1 + r.int(3);
      for (let k = 0; k < flips; k++) {
        // half the flips in the header, where they matter most
        const pos = r.next() < 0.5 ? r.int(8 + headerLength) : r.int(valid.length);
        bytes[pos] ^= 1 << r.int(8);
        flipped.push(pos);
      }
      input = bytes;
    }
    let result: ReturnType<typeof decodeSafetensors>;
    try {
      result = decodeSafetensors(input);
    } catch (e) {
      assert.ok(e instanceof CheckpointError, `trial ${trial}: ${String(e)}`);
      assert.ok(!/[\n\r]/.test(e.message));
      refused++;
      continue;
    }
    decoded++;
    assert.ok(trial % 4 !== 0, 'a truncated file never decodes');
    const names = [...result.tensors.keys()];
    assert.equal(names.length, entries.length, `trial ${trial}`);
    entries.forEach(([name, t], i) => {
      const inName = flipped.some((p) => p >= nameSpans[i][0] && p < nameSpans[i][1]);
      if (!inName) assert.equal(names[i], name, `trial ${trial}`);
      const got = result.tensors.get(names[i]);
      assert.ok(got);
      assert.deepEqual(got.shape, t.shape, `trial ${trial}`);
      assert.equal(got.data.length, t.data.length);
    });
  }
  assert.ok(decoded > 100 && refused > 500, `decoded ${decoded}, refused ${refused}`);
});

test('a checkpoint summarized from its header alone (the first bytes of a file): what the whole decode says, by its rules', async () => {
  const { decodeCheckpoint, encodeCheckpoint, summarizeCheckpointHeader } = await import('../../../src/engine/checkpoint');
  const { readHeaderLength } = await import('../../../src/engine/safetensors');
  const { Trainer } = await import('../../../src/engine/trainer');
  const trainer = Trainer.create('the mice held a council about the cat. '.repeat(30), 'fable.txt', { hidden_size: 6, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, {
    tokens: 'char', max_vocab: 0, sequence_length: 8, batch_size: 2, steps: 5, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 1, init: 'pytorch', init_value: 0.1, seed: 1,
  });
  while (!trainer.done) trainer.trainStep();
  const bytes = encodeCheckpoint(trainer.checkpoint());
  const n = readHeaderLength(bytes.subarray(0, 8));
  const header = bytes.slice(8, 8 + n); // the header only: no tensor data
  const whole = decodeCheckpoint(bytes);
  for (const summary of [summarizeCheckpointHeader(header), summarizeCheckpointHeader(header, bytes.length)]) {
    assert.deepEqual(summary.config, whole.config);
    assert.deepEqual(summary.settings, whole.settings);
    assert.equal(summary.vocabSize, whole.vocab.tokens.length);
    assert.equal(summary.step, 5);
    assert.equal(summary.loss, whole.training.loss);
    assert.deepEqual(summary.source, whole.training.source);
    assert.deepEqual(summary.history.toJSON(), whole.training.history.toJSON());
  }
  // The same refusals, in one line: a file whose size disagrees with the header, a header that is not a checkpoint's.
  assert.throws(() => summarizeCheckpointHeader(header, bytes.length + 4), (e) => e instanceof CheckpointError && /trailing bytes/.test(e.message));
  const text = new TextDecoder().decode(header);
  const reshaped = new TextEncoder().encode(text.replace(/"head\.bias":\{"dtype":"F32","shape":\[(\d+)\]/, (_, v) => `"head.bias":{"dtype":"F32","shape":[${v}]`).replace('"lstm-lens/1"', '"other/2"'));
  assert.throws(() => summarizeCheckpointHeader(reshaped), (e) => e instanceof CheckpointError && /unsupported checkpoint format/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => readHeaderLength(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1])), (e) => e instanceof CheckpointError && /exceeds the limit/.test(e.message));
  assert.throws(() => readHeaderLength(bytes.subarray(0, 8), 100), (e) => e instanceof CheckpointError && /exceeds the file/.test(e.message));
});
