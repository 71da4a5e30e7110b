import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeText } from '../../../src/engine/text';
import { InputError } from '../../../src/engine/config';

const bytes = (...parts: Array<string | number[]>): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') out.push(...new TextEncoder().encode(p));
    else out.push(...p);
  }
  return new Uint8Array(out);
};

const refuses = (input: Uint8Array, message: RegExp): void => {
  assert.throws(() => decodeText(input), (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.match(e.message, message);
    assert.ok(!e.message.includes('\n'), 'message is one line');
    return true;
  });
};

test('plain UTF-8 passes through unchanged with no notes', () => {
  const s = 'The mice — “bell” the cat, 🐈 naïve\n\tend\n';
  assert.deepEqual(decodeText(bytes(s)), { text: s, notes: [] });
});

test('a byte-order mark is removed and noted', () => {
  const r = decodeText(bytes([0xef, 0xbb, 0xbf], 'hello'));
  assert.equal(r.text, 'hello');
  assert.deepEqual(r.notes, ['removed a byte-order mark']);
});

test('CRLF and lone CR become LF, with counts in the notes', () => {
  const r = decodeText(bytes('a\r\nb\r\nc\rd\n\re'));
  // "\n\r" is an LF followed by a lone CR: two line breaks
  assert.equal(r.text, 'a\nb\nc\nd\n\ne');
  assert.deepEqual(r.notes, ['converted 2 CRLF line endings to LF', 'converted 2 lone CR line endings to LF']);
  const one = decodeText(bytes('x\r\ny'));
  assert.deepEqual(one, { text: 'x\ny', notes: ['converted 1 CRLF line ending to LF'] });
});

test('invalid UTF-8 sequences become U+FFFD and are counted; a literal U+FFFD is not', () => {
  // 0xff: invalid byte; 0xc3 then "x": truncated 2-byte sequence; f0 9f 98 at the end: truncated 4-byte sequence
  const r = decodeText(bytes('a', [0xff], 'b', [0xc3], 'x long enough text here to stay under ten percent ', [0xf0, 0x9f, 0x98]));
  assert.equal(r.text, 'a\ufffdb\ufffdx long enough text here to stay under ten percent \ufffd');
  assert.deepEqual(r.notes, ['replaced 3 invalid UTF-8 sequences with U+FFFD']);
  const literal = decodeText(bytes('a valid replacement character \ufffd in the file'));
  assert.deepEqual(literal.notes, []);
  const mixed = decodeText(bytes('\ufffd and one bad byte ', [0x80], ' in a longer line of text'));
  assert.deepEqual(mixed.notes, ['replaced 1 invalid UTF-8 sequence with U+FFFD']);
});

test('notes come in order: BOM, line endings, invalid sequences', () => {
  const r = decodeText(bytes([0xef, 0xbb, 0xbf], 'line one\r\nline two ', [0xfe], ' and more text'));
  assert.deepEqual(r.notes, [
    'removed a byte-order mark',
    'converted 1 CRLF line ending to LF',
    'replaced 1 invalid UTF-8 sequence with U+FFFD',
  ]);
  assert.equal(r.text, 'line one\nline two \ufffd and more text');
});

test('an empty file is refused', () => {
  refuses(new Uint8Array(0), /^the file is empty$/);
  refuses(bytes([0xef, 0xbb, 0xbf]), /the file is empty/);
});

test('a file of only white space is refused', () => {
  refuses(bytes('   \n\t\r\n  '), /only white space/);
  refuses(bytes('\u00a0\u2003\n'), /only white space/);
  refuses(bytes([0xef, 0xbb, 0xbf], '\n\n'), /only white space/);
});

test('a NUL byte in the first 64 KiB means binary; after it, it is a control character', () => {
  refuses(bytes('hello', [0], 'world'), /binary.*NUL byte at offset 5/);
  const late = new Uint8Array(64 * 1024 + 10).fill(0x61);
  late[64 * 1024 - 1] = 0;
  refuses(late, /NUL byte at offset 65535/);
  const beyond = new Uint8Array(64 * 1024 + 10).fill(0x61);
  beyond[64 * 1024] = 0; // outside the scanned prefix, and only one character in 65546
  const r = decodeText(beyond);
  assert.equal(r.text.length, 64 * 1024 + 10);
  assert.equal(r.text.charCodeAt(64 * 1024), 0);
});

test('more than 10% control or replacement characters means binary; exactly 10% does not', () => {
  // 100 characters, 10 of them \x01: exactly 10%, accepted
  const ten = bytes('a'.repeat(90), Array(10).fill(0x01));
  assert.equal(decodeText(ten).text.length, 100);
  // 100 characters, 11 of them bad: refused
  refuses(bytes('a'.repeat(89), Array(11).fill(0x01)), /binary.*11%/);
  // invalid UTF-8 counts too: 0xff decodes to one U+FFFD each
  refuses(bytes('abcdefgh', [0xff, 0xff]), /binary.*20%/);
  // DEL and C1 controls count; tab, LF, VT, FF, CR do not
  refuses(bytes('abcd', [0x7f], '\u0085'), /binary/);
  assert.equal(decodeText(bytes('a\t\n\u000b\f\r\n')).text, 'a\t\n\u000b\f\n');
  // characters, not UTF-16 units: 9 emoji (18 units) and one control = 10% of 10 code points, accepted
  assert.doesNotThrow(() => decodeText(bytes('🐈'.repeat(9), [0x01])));
});

test('a UTF-16 file is refused with advice', () => {
  refuses(bytes([0xff, 0xfe], [0x68, 0, 0x69, 0]), /UTF-16.*UTF-8/);
  refuses(bytes([0xfe, 0xff], [0, 0x68, 0, 0x69]), /UTF-16/);
});

test('random binary bytes are refused as binary', () => {
  // a fixed pseudo-random byte string (LCG) with no NUL: invalid UTF-8 dominates
  const b = new Uint8Array(4096);
  let x = 12345;
  for (let i = 0; i < b.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = ((x >>> 16) % 255) + 1;
  }
  refuses(b, /binary/);
});
