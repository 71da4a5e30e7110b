// Tokenizers: text to token ids and back. The vocabulary is saved in a checkpoint's
// metadata as `vocab` = {"kind": "char" | "word", "tokens": [...]}; a token's id is its index.
//
// Rules
//
// char: one token per Unicode code point (an emoji outside the Basic Multilingual Plane
//   is one token, not two UTF-16 units). Nothing is normalized: case, white space and
//   punctuation are kept, so decode(encode(text)) === text when no token is unknown.
//   The vocabulary is sorted by code point.
//
// word: the article's way, extended for punctuation.
//   1. The text is lower-cased (String.prototype.toLowerCase).
//   2. A word is a maximal run of letters, digits and combining marks (\p{L} \p{N} \p{M}),
//      which may contain an apostrophe (' or ’) or a hyphen (- or U+2010) when a letter
//      (or a mark on one) comes right before it and a letter right after it:
//      "don't", "o'clock", "well-known" are one word each; "90's" and "3-4" are three tokens.
//   3. Every other character that is not white space is a token of its own:
//      "Cat." gives "cat", "."; "<unk>" in a text gives "<", "unk", ">".
//   4. White space separates tokens and is dropped.
//   The vocabulary is in order of first appearance. decode joins tokens with single
//   spaces, except no space before any of . , ; : ! ? ) ] } and no space after ( [ {.
//   So decode(encode(text)) is the text lower-cased with this spacing, and encoding that
//   again gives the same ids.
//
// maxVocab (optional, at least 2): when the distinct tokens number at most maxVocab, all
//   are kept and there is no <unk>. Otherwise the maxVocab - 1 most frequent are kept
//   (ties: the one that appears first wins), ordered by the rule of the kind above, and
//   the token "<unk>" is appended as the last id.
//   Without maxVocab, a text of more than MAX_UNCAPPED_VOCABULARY distinct tokens is refused
//   (an InputError that asks for a cap): a one-hot model and its logits grow with the
//   vocabulary, and a million distinct words would ask for tens of gigabytes.
//
// encode: a token missing from the vocabulary becomes <unk> when the vocabulary has one,
//   and is dropped otherwise; either way it is counted in `unknown`.
//   A text that contains the characters "<unk>" cannot produce the <unk> token: the word
//   rule splits it into "<", "unk", ">", and the char rule into five characters.

import { InputError } from './config';

export type TokenKind = 'char' | 'word';

/** A vocabulary as stored in checkpoint metadata `vocab`: the index of a token is its id. */
export interface Vocabulary {
  kind: TokenKind;
  tokens: string[];
}

export const UNKNOWN_TOKEN = '<unk>';

export interface Encoded {
  ids: Int32Array;
  /** How many tokens of the text the vocabulary lacked (mapped to <unk>, or dropped when there is none). */
  unknown: number;
}

/**
 * The distinct tokens a vocabulary may have when no cap is given. Above it, Tokenizer.build asks
 * for a cap rather than build a model of the whole vocabulary.
 */
export const MAX_UNCAPPED_VOCABULARY = 1 << 16;

/**
 * Rules 2 and 3 are the pattern
 *   /[\p{L}\p{N}\p{M}]+(?:(?<=[\p{L}\p{M}])['’\-\u2010](?=\p{L})[\p{L}\p{N}\p{M}]+)*|\S/gu
 * but that pattern keeps a backtracking entry for every joined part, and a line of millions of
 * parts ("a-a-a-…", 10 MB) overflows the regular-expression stack. So: a run of letters, digits
 * and marks, or one other non-space code point (RUN_PATTERN), then the joins found one at a time.
 */
const RUN_PATTERN = /([\p{L}\p{N}\p{M}]+)|\S/gu;
const WORD_RUN = /[\p{L}\p{N}\p{M}]+/uy;
/** ' ’ - and U+2010, the characters that may join two parts of a word. */
const isJoiner = (c: number): boolean => c === 0x27 || c === 0x2019 || c === 0x2d || c === 0x2010;
const ENDS_IN_LETTER_OR_MARK = /[\p{L}\p{M}]$/u;
const STARTS_WITH_LETTER = /^\p{L}/u;
const NO_SPACE_BEFORE = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
const NO_SPACE_AFTER = new Set(['(', '[', '{']);
const WHITE_SPACE = /\s/u;

/** Calls `visit` with each code point of `text`, in order (a lone surrogate is its own code point). */
function forEachCodePoint(text: string, visit: (cp: number) => void): void {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    visit(cp);
  }
}

function countCodePoints(text: string): number {
  let count = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const u = text.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < n) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** Calls `visit` with each word-rule token of `text` (already lower-cased) and where it starts. */
function forEachWord(lowered: string, visit: (token: string, start: number) => void): void {
  const runs = new RegExp(RUN_PATTERN.source, RUN_PATTERN.flags);
  const wordRun = new RegExp(WORD_RUN.source, WORD_RUN.flags);
  for (let m = runs.exec(lowered); m !== null; m = runs.exec(lowered)) {
    const start = m.index;
    let end = start + m[0].length;
    if (m[1] !== undefined) {
      // A word may continue: a joiner with a letter or mark before it and a letter after it, then another run.
      while (
        isJoiner(lowered.charCodeAt(end)) &&
        ENDS_IN_LETTER_OR_MARK.test(lowered.slice(Math.max(start, end - 2), end)) &&
        STARTS_WITH_LETTER.test(lowered.slice(end + 1, end + 3))
      ) {
        wordRun.lastIndex = end + 1;
        const next = wordRun.exec(lowered);
        if (next === null) break;
        end = wordRun.lastIndex;
      }
      runs.lastIndex = end;
    }
    visit(end === start + m[0].length ? m[0] : lowered.slice(start, end), start);
  }
}

/**
 * Which of the distinct tokens (given in order of first appearance, with their counts)
 * to keep under `maxVocab`: the indices, in order of first appearance, and whether
 * <unk> is needed.
 */
function selectTokens(counts: ArrayLike<number>, maxVocab: number, kind: TokenKind): { keep: number[]; needUnknown: boolean } {
  if (maxVocab === Infinity && counts.length > MAX_UNCAPPED_VOCABULARY) {
    throw new InputError(
      `the text has ${counts.length} distinct ${kind === 'word' ? 'words' : 'characters'}, more than ${MAX_UNCAPPED_VOCABULARY} without a vocabulary cap: ` +
        'set one (max_vocab; lstm-lens train --max-vocab N keeps the N-1 most frequent and reads the rest as <unk>)',
    );
  }
  const all = Array.from({ length: counts.length }, (_, i) => i);
  if (counts.length <= maxVocab) return { keep: all, needUnknown: false };
  // Array.prototype.sort is stable: equal counts keep first-appearance order.
  all.sort((a, b) => counts[b] - counts[a]);
  const keep = all.slice(0, maxVocab - 1).sort((a, b) => a - b);
  return { keep, needUnknown: true };
}

export class Tokenizer {
  readonly kind: TokenKind;
  readonly tokens: readonly string[];
  /** Id of <unk>, or -1 when the vocabulary has none. */
  readonly unknownId: number;
  /** word: token → id. */
  private readonly wordIds = new Map<string, number>();
  /** char: code point → id for the Basic Multilingual Plane (-1: none), and a map above it. */
  private readonly bmpIds: Int32Array | null = null;
  private readonly astralIds = new Map<number, number>();

  private constructor(kind: TokenKind, tokens: string[]) {
    this.kind = kind;
    this.tokens = Object.freeze(tokens.slice());
    this.unknownId = tokens.indexOf(UNKNOWN_TOKEN);
    if (kind === 'word') {
      tokens.forEach((t, id) => this.wordIds.set(t, id));
    } else {
      const bmp = new Int32Array(0x10000).fill(-1);
      tokens.forEach((t, id) => {
        if (t === UNKNOWN_TOKEN) return;
        const cp = t.codePointAt(0) ?? 0;
        if (cp < 0x10000) bmp[cp] = id;
        else this.astralIds.set(cp, id);
      });
      this.bmpIds = bmp;
    }
  }

  /** Builds the vocabulary of `text` by the rules at the top of this file. */
  static build(text: string, kind: TokenKind, options?: { maxVocab?: number }): Tokenizer {
    if (kind !== 'char' && kind !== 'word') throw new InputError(`token kind must be "char" or "word", got ${JSON.stringify(kind)}`);
    const maxVocab = options?.maxVocab ?? Infinity;
    if (maxVocab !== Infinity && (!Number.isInteger(maxVocab) || maxVocab < 2)) {
      throw new InputError(`the vocabulary cap must be an integer of at least 2, got ${maxVocab}`);
    }
    let tokens: string[];
    let counts: number[];
    if (kind === 'char') {
      // One pass, counting code points without making a string per character.
      const bmpCount = new Float64Array(0x10000);
      const astralCount = new Map<number, number>();
      const order: number[] = []; // distinct code points in order of first appearance
      forEachCodePoint(text, (cp) => {
        if (cp < 0x10000) {
          if (bmpCount[cp]++ === 0) order.push(cp);
        } else {
          const c = astralCount.get(cp);
          if (c === undefined) order.push(cp);
          astralCount.set(cp, (c ?? 0) + 1);
        }
      });
      counts = order.map((cp) => (cp < 0x10000 ? bmpCount[cp] : (astralCount.get(cp) ?? 0)));
      const { keep, needUnknown } = selectTokens(counts, maxVocab, kind);
      const codePoints = keep.map((i) => order[i]).sort((a, b) => a - b);
      tokens = codePoints.map((cp) => String.fromCodePoint(cp));
      if (needUnknown) tokens.push(UNKNOWN_TOKEN);
    } else {
      const wordCount = new Map<string, number>(); // insertion order = first appearance
      forEachWord(text.toLowerCase(), (w) => wordCount.set(w, (wordCount.get(w) ?? 0) + 1));
      const words = Array.from(wordCount.keys());
      counts = Array.from(wordCount.values());
      const { keep, needUnknown } = selectTokens(counts, maxVocab, kind);
      tokens = keep.map((i) => words[i]);
      if (needUnknown) tokens.push(UNKNOWN_TOKEN);
    }
    if (tokens.length === 0) throw new InputError('the text has no tokens');
    return new Tokenizer(kind, tokens);
  }

  /** A tokenizer for a stored vocabulary; throws InputError when it is malformed. */
  static fromVocabulary(vocab: Vocabulary): Tokenizer {
    const v: unknown = vocab;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError('vocabulary must be an object with "kind" and "tokens"');
    const { kind, tokens } = v as Record<string, unknown>;
    if (kind !== 'char' && kind !== 'word') throw new InputError(`vocabulary kind must be "char" or "word", got ${JSON.stringify(kind)}`);
    if (!Array.isArray(tokens) || tokens.length === 0) throw new InputError('vocabulary tokens must be a non-empty array of strings');
    const seen = new Set<string>();
    const list: string[] = [];
    for (let id = 0; id < tokens.length; id++) {
      const t: unknown = tokens[id];
      if (typeof t !== 'string' || t.length === 0) {
        throw new InputError(`vocabulary token ${id} must be a non-empty string, got ${JSON.stringify(t)}`);
      }
      if (seen.has(t)) throw new InputError(`vocabulary token ${id} (${JSON.stringify(t)}) appears more than once`);
      if (t !== UNKNOWN_TOKEN) {
        if (kind === 'char' && countCodePoints(t) !== 1) {
          throw new InputError(`char vocabulary token ${id} (${JSON.stringify(t)}) must be a single character`);
        }
        if (kind === 'word' && WHITE_SPACE.test(t)) {
          throw new InputError(`word vocabulary token ${id} (${JSON.stringify(t)}) contains white space`);
        }
      }
      seen.add(t);
      list.push(t);
    }
    return new Tokenizer(kind, list);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The token strings of `text` by the kind's rule, before mapping to ids. */
  split(text: string): string[] {
    const out: string[] = [];
    if (this.kind === 'char') forEachCodePoint(text, (cp) => out.push(String.fromCodePoint(cp)));
    else forEachWord(text.toLowerCase(), (w) => out.push(w));
    return out;
  }

  /**
   * Like encode, and where each token read stands in `text`: spans[2k], spans[2k+1] are the
   * start and end (UTF-16 offsets) of the token with ids[k]. For showing values over the text.
   */
  encodeWithSpans(text: string): Encoded & { spans: Int32Array } {
    const ids: number[] = [];
    const spans: number[] = [];
    let unknown = 0;
    const add = (id: number, start: number, end: number): void => {
      if (id < 0) {
        unknown++;
        if (this.unknownId < 0) return;
        id = this.unknownId;
      }
      ids.push(id);
      spans.push(start, end);
    };
    if (this.kind === 'char') {
      for (let i = 0; i < text.length; i++) {
        const start = i;
        let cp = text.charCodeAt(i);
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
          const lo = text.charCodeAt(i + 1);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i++;
          }
        }
        add(cp < 0x10000 ? (this.bmpIds as Int32Array)[cp] : (this.astralIds.get(cp) ?? -1), start, i + 1);
      }
    } else {
      forEachWord(text.toLowerCase(), (w, start) => add(this.wordIds.get(w) ?? -1, start, start + w.length));
    }
    return { ids: Int32Array.from(ids), spans: Int32Array.from(spans), unknown };
  }

  encode(text: string): Encoded {
    let unknown = 0;
    const unk = this.unknownId;
    if (this.kind === 'char') {
      const bmp = this.bmpIds as Int32Array;
      const astral = this.astralIds;
      const ids = new Int32Array(countCodePoints(text));
      let n = 0;
      const len = text.length;
      // The code-point loop of forEachCodePoint, inlined: this is the hot path for large texts.
      for (let i = 0; i < len; i++) {
        let cp = text.charCodeAt(i);
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < len) {
          const lo = text.charCodeAt(i + 1);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i++;
          }
        }
        const id = cp < 0x10000 ? bmp[cp] : (astral.get(cp) ?? -1);
        if (id >= 0) ids[n++] = id;
        else {
          unknown++;
          if (unk >= 0) ids[n++] = unk;
        }
      }
      return { ids: n === ids.length ? ids : ids.slice(0, n), unknown };
    }
    let ids = new Int32Array(1024);
    let n = 0;
    forEachWord(text.toLowerCase(), (w) => {
      let id = this.wordIds.get(w) ?? -1;
      if (id < 0) {
        unknown++;
        if (unk < 0) return;
        id = unk;
      }
      if (n === ids.length) {
        const grown = new Int32Array(ids.length * 2);
        grown.set(ids);
        ids = grown;
      }
      ids[n++] = id;
    });
    return { ids: ids.slice(0, n), unknown };
  }

  /** The text of `ids`: concatenated for char, spaced by the word rule for word. */
  decode(ids: ArrayLike<number>): string {
    const parts: string[] = [];
    let prev = '';
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokenString(ids[i]);
      if (this.kind === 'word' && i > 0 && !NO_SPACE_BEFORE.has(t) && !NO_SPACE_AFTER.has(prev)) parts.push(' ');
      parts.push(t);
      prev = t;
    }
    return parts.join('');
  }

  tokenString(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
      throw new RangeError(`token id ${id} is outside the vocabulary of ${this.tokens.length}`);
    }
    return this.tokens[id];
  }

  vocabulary(): Vocabulary {
    return { kind: this.kind, tokens: this.tokens.slice() };
  }
}
