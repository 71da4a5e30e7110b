import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer, UNKNOWN_TOKEN, type Vocabulary } from '../../../src/engine/tokenizer';
import { InputError } from '../../../src/engine/config';
import { Random } from '../../../src/engine/random';

const ids = (a: Int32Array): number[] => Array.from(a);

test('the article check: 11 word tokens, a vocabulary of 10 in first-appearance order', () => {
  const text = 'long ago the mice had a general council to consider the';
  const tok = Tokenizer.build(text, 'word');
  assert.deepEqual(tok.tokens, ['long', 'ago', 'the', 'mice', 'had', 'a', 'general', 'council', 'to', 'consider']);
  assert.equal(tok.size, 10);
  assert.equal(tok.unknownId, -1);
  const enc = tok.encode(text);
  assert.deepEqual(ids(enc.ids), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2]);
  assert.equal(enc.unknown, 0);
  assert.equal(tok.decode(enc.ids), text);
});

test('word rule: lower case, punctuation as tokens, apostrophes and hyphens inside words', () => {
  const tok = Tokenizer.build('x', 'word');
  assert.deepEqual(tok.split('Cat.'), ['cat', '.']);
  assert.deepEqual(tok.split("Don't stop, WELL-known mice!"), ["don't", 'stop', ',', 'well-known', 'mice', '!']);
  assert.deepEqual(tok.split('It’s o’clock'), ['it’s', 'o’clock']);
  // a joiner needs a letter on both sides
  assert.deepEqual(tok.split("'tis the mice' end- -start a--b"), ["'", 'tis', 'the', 'mice', "'", 'end', '-', '-', 'start', 'a', '-', '-', 'b']);
  assert.deepEqual(tok.split("90's 3-4 covid-19 b2b-x"), ['90', "'", 's', '3', '-', '4', 'covid', '-', '19', 'b2b-x']);
  // runs of letters, digits and marks; other symbols one code point each
  assert.deepEqual(tok.split('abc123 "quoted" (x) [y] {z} a+b=c'), [
    'abc123', '"', 'quoted', '"', '(', 'x', ')', '[', 'y', ']', '{', 'z', '}', 'a', '+', 'b', '=', 'c',
  ]);
  assert.deepEqual(tok.split('...!?'), ['.', '.', '.', '!', '?']);
  // white space of every kind separates and is dropped
  assert.deepEqual(tok.split(' a\tb\nc\u00a0d\u2003e  '), ['a', 'b', 'c', 'd', 'e']);
  // Unicode letters and combining marks (e + U+0301) stay in the word
  assert.deepEqual(tok.split('Naïve CAFE\u0301 Ωμέγα 東京'), ['naïve', 'cafe\u0301', 'ωμέγα', '東京']);
  // an emoji is one symbol token
  assert.deepEqual(tok.split('hi🐈!'), ['hi', '🐈', '!']);
  // the literal text <unk> is three tokens
  assert.deepEqual(tok.split('<unk>'), ['<', 'unk', '>']);
});

test('word decode spacing: none before . , ; : ! ? ) ] } and none after ( [ {', () => {
  const text = 'Hello , world ! (A test) [of] {spacing} : yes ; no ? ok . end';
  const tok = Tokenizer.build(text, 'word');
  assert.equal(tok.decode(tok.encode(text).ids), 'hello, world! (a test) [of] {spacing}: yes; no? ok. end');
});

test('word decode(encode(x)) is the documented normalization, and encoding it again is stable', () => {
  const text = 'The Mice said:\n  "Well-known  cats (and DOGS) don\'t sleep!"\r\n— Æsop, 6th c.';
  const tok = Tokenizer.build(text, 'word');
  const once = tok.decode(tok.encode(text).ids);
  assert.equal(once, 'the mice said: " well-known cats (and dogs) don\'t sleep! " — æsop, 6th c.');
  assert.deepEqual(ids(tok.encode(once).ids), ids(tok.encode(text).ids));
  // property: on random texts over a tricky alphabet, encode(decode(encode(x))) === encode(x)
  const alphabet = ['a', 'B', 'é', '1', "'", '’', '-', '.', ',', '(', ')', '[', '{', '}', '!', ' ', ' ', '\n', '🐈', 'Σ', '<', '>'];
  const r = new Random(5);
  for (let k = 0; k < 300; k++) {
    let s = '';
    const len = 1 + r.int(40);
    for (let i = 0; i < len; i++) s += alphabet[r.int(alphabet.length)];
    const t = Tokenizer.build(s + ' x', 'word');
    const e1 = t.encode(s);
    const back = t.decode(e1.ids);
    assert.deepEqual(ids(t.encode(back).ids), ids(e1.ids), JSON.stringify(s));
    assert.equal(e1.unknown, 0);
  }
});

test('char rule: one token per code point, sorted by code point, exact round trip', () => {
  const text = 'ba\u00e9\nA 🐈b\uff01😀';
  const tok = Tokenizer.build(text, 'char');
  // code points: \n=0x0a ' '=0x20 'A'=0x41 'a'=0x61 'b'=0x62 'é'=0xe9 '！'=0xff01 '🐈'=0x1f408 '😀'=0x1f600
  assert.deepEqual(tok.tokens, ['\n', ' ', 'A', 'a', 'b', '\u00e9', '\uff01', '🐈', '😀']);
  const enc = tok.encode(text);
  assert.deepEqual(ids(enc.ids), [4, 3, 5, 0, 2, 1, 7, 4, 6, 8]);
  assert.equal(enc.unknown, 0);
  assert.equal(tok.decode(enc.ids), text);
  assert.deepEqual(tok.split('a🐈'), ['a', '🐈']);
  // an emoji is one token, not two UTF-16 units
  assert.equal(Tokenizer.build('🐈🐈🐈', 'char').size, 1);
  assert.equal(Tokenizer.build('🐈🐈🐈', 'char').encode('🐈🐈').ids.length, 2);
});

test('char round trip on random text, including astral characters and white space', () => {
  const r = new Random(8);
  const pool = ['a', 'Z', ' ', '\n', '\t', 'é', '中', '🐈', '😀', '𝔸', '.', '<', '>'];
  let s = '';
  for (let i = 0; i < 2000; i++) s += pool[r.int(pool.length)];
  const tok = Tokenizer.build(s, 'char');
  assert.equal(tok.size, pool.length);
  assert.equal(tok.decode(tok.encode(s).ids), s);
  assert.equal(tok.encode(s).ids.length, Array.from(s).length);
});

test('maxVocab: the most frequent kept, ties to first appearance, ordered by kind, <unk> last', () => {
  // words: c x3, a x2, b x2, d x1, e x1 ; first appearance a, b, c, d, e
  const text = 'a b c d c e c a b';
  const tok = Tokenizer.build(text, 'word', { maxVocab: 3 });
  // keep 2: c (3), then a (2, appears before b) ; ordered by first appearance: a, c
  assert.deepEqual(tok.tokens, ['a', 'c', UNKNOWN_TOKEN]);
  assert.equal(tok.unknownId, 2);
  const enc = tok.encode(text);
  assert.deepEqual(ids(enc.ids), [0, 2, 1, 2, 1, 2, 1, 0, 2]);
  assert.equal(enc.unknown, 4);
  assert.equal(tok.decode(enc.ids), 'a <unk> c <unk> c <unk> c a <unk>');
  // the cap exactly fitting: no <unk>
  assert.deepEqual(Tokenizer.build(text, 'word', { maxVocab: 5 }).tokens, ['a', 'b', 'c', 'd', 'e']);
  // char: counts z x3, y x2, x x2, w x1 ; keep 3 -> z, y, x (y before x) ; sorted by code point
  const chars = Tokenizer.build('zyxwzyxz', 'char', { maxVocab: 4 });
  assert.deepEqual(chars.tokens, ['w', 'x', 'y', 'z']); // 4 distinct fit: no <unk>
  // ties at the cut: y and x both twice, y first -> y kept
  assert.deepEqual(Tokenizer.build('yxxyz', 'char', { maxVocab: 2 }).tokens, ['y', UNKNOWN_TOKEN]);
  assert.deepEqual(Tokenizer.build('xyyxz', 'char', { maxVocab: 2 }).tokens, ['x', UNKNOWN_TOKEN]);
  assert.deepEqual(Tokenizer.build('b a a b c', 'word', { maxVocab: 2 }).tokens, ['b', UNKNOWN_TOKEN]);
  const chars2 = Tokenizer.build('zyxwzyxz', 'char', { maxVocab: 3 });
  assert.deepEqual(chars2.tokens, ['y', 'z', UNKNOWN_TOKEN]);
  assert.deepEqual(ids(chars2.encode('wxyz').ids), [2, 2, 0, 1]);
  for (const bad of [1, 0, -3, 2.5, NaN]) {
    assert.throws(() => Tokenizer.build(text, 'word', { maxVocab: bad }), InputError);
  }
});

test('a literal "<unk>" in the text does not become the unknown token', () => {
  const text = 'the <unk> cat <unk> the the';
  const tok = Tokenizer.build(text, 'word', { maxVocab: 4 });
  // counts: the 3, < 2, unk 2, > 2, cat 1 ; keep the, <, unk (ties by first appearance)
  assert.deepEqual(tok.tokens, ['the', '<', 'unk', UNKNOWN_TOKEN]);
  assert.deepEqual(ids(tok.encode('<unk>').ids), [1, 2, 3]);
  assert.equal(tok.encode('<unk>').unknown, 1);
  const chars = Tokenizer.build('<unk>', 'char');
  assert.deepEqual(chars.tokens, ['<', '>', 'k', 'n', 'u']);
  assert.equal(chars.unknownId, -1);
});

test('unknown tokens without <unk> are dropped and counted', () => {
  const tok = Tokenizer.build('the cat sat', 'word');
  const enc = tok.encode('The dog sat on the cat.');
  assert.deepEqual(ids(enc.ids), [0, 2, 0, 1]);
  assert.equal(enc.unknown, 3); // dog, on, .
  const chars = Tokenizer.build('abc', 'char');
  const e2 = chars.encode('a🐈bxc');
  assert.deepEqual(ids(e2.ids), [0, 1, 2]);
  assert.equal(e2.unknown, 2);
  // with <unk>: mapped, counted
  const withUnk = Tokenizer.fromVocabulary({ kind: 'char', tokens: ['a', 'b', 'c', UNKNOWN_TOKEN] });
  const e3 = withUnk.encode('a🐈bxc');
  assert.deepEqual(ids(e3.ids), [0, 3, 1, 3, 2]);
  assert.equal(e3.unknown, 2);
});

test('fromVocabulary accepts a stored vocabulary and validates it', () => {
  const v: Vocabulary = { kind: 'word', tokens: ['long', 'ago', '.', UNKNOWN_TOKEN] };
  const tok = Tokenizer.fromVocabulary(v);
  assert.equal(tok.unknownId, 3);
  assert.deepEqual(tok.vocabulary(), v);
  assert.deepEqual(ids(tok.encode('Long ago, long.').ids), [0, 1, 3, 0, 2]);
  // vocabulary() is a copy
  tok.vocabulary().tokens.push('x');
  assert.equal(tok.size, 4);
  const bad: unknown[] = [
    null, 'char', [], { kind: 'bytes', tokens: ['a'] }, { kind: 'char', tokens: [] }, { kind: 'char' },
    { kind: 'char', tokens: ['a', 'a'] }, { kind: 'char', tokens: ['a', 1] }, { kind: 'char', tokens: ['ab'] },
    { kind: 'char', tokens: [''] }, { kind: 'word', tokens: ['two words'] }, { kind: 'word', tokens: ['x', UNKNOWN_TOKEN, UNKNOWN_TOKEN] },
  ];
  for (const b of bad) assert.throws(() => Tokenizer.fromVocabulary(b as Vocabulary), InputError, JSON.stringify(b));
  // a char vocabulary may hold astral characters and white space
  assert.equal(Tokenizer.fromVocabulary({ kind: 'char', tokens: ['🐈', ' ', '\n'] }).size, 3);
});

test('tokenString and decode reject ids outside the vocabulary', () => {
  const tok = Tokenizer.build('ab', 'char');
  assert.equal(tok.tokenString(1), 'b');
  assert.throws(() => tok.tokenString(2), RangeError);
  assert.throws(() => tok.decode([0, -1]), RangeError);
  assert.throws(() => tok.decode([0.5]), RangeError);
});

test('a text without tokens is refused', () => {
  assert.throws(() => Tokenizer.build(' \n\t ', 'word'), InputError);
  assert.throws(() => Tokenizer.build('', 'char'), InputError);
});

test('a large text is tokenized in one pass in bounded time', () => {
  const line = 'The quick brown fox jumps over the lazy dog, again and again! 🐈\n';
  const text = line.repeat(200_000); // ~13 M characters
  const t0 = performance.now();
  const chars = Tokenizer.build(text, 'char');
  const enc = chars.encode(text);
  const words = Tokenizer.build(text, 'word');
  const wenc = words.encode(text);
  const ms = performance.now() - t0;
  assert.equal(enc.ids.length, (Array.from(line).length) * 200_000);
  assert.equal(wenc.ids.length, 15 * 200_000);
  assert.ok(ms < 20000, `took ${ms} ms`);
});

describe('encodeWithSpans', () => {
  const text = 'Long ago, the Mice had a 🐭 council; don\'t bell-the-cat!\nThe end.';
  for (const kind of ['char', 'word'] as const) {
    it(`${kind}: the same ids as encode, each span holding its token`, () => {
      const tok = Tokenizer.build(text.slice(0, 40), kind); // a vocabulary that lacks some tokens
      const plain = tok.encode(text);
      const withSpans = tok.encodeWithSpans(text);
      assert.deepEqual(Array.from(withSpans.ids), Array.from(plain.ids));
      assert.equal(withSpans.unknown, plain.unknown);
      assert.equal(withSpans.spans.length, 2 * withSpans.ids.length);
      for (let k = 0; k < withSpans.ids.length; k++) {
        const piece = text.slice(withSpans.spans[2 * k], withSpans.spans[2 * k + 1]);
        const token = tok.tokenString(withSpans.ids[k]);
        if (token !== UNKNOWN_TOKEN) assert.equal(kind === 'word' ? piece.toLowerCase() : piece, token);
        if (k > 0) assert.ok(withSpans.spans[2 * k] >= withSpans.spans[2 * k - 1], 'spans in order, not overlapping');
      }
    });
  }
});
