// Turning the bytes of a training file into text, or refusing with one clear line.
//
// - UTF-8 is decoded leniently: each invalid sequence becomes U+FFFD and is counted.
// - A UTF-8 byte-order mark is removed.
// - CRLF and lone CR line endings become LF.
// - Refused (InputError): an empty file, a file of only white space, and a binary file:
//   a NUL byte in the first 64 KiB, or more than 10% of the decoded characters (code
//   points) being U+FFFD or control characters other than \t \n \v \f \r.

import { InputError } from './config';

export interface DecodedText {
  text: string;
  /** Human-readable things done to the text, e.g. "removed a byte-order mark". */
  notes: string[];
}

const NUL_SCAN_BYTES = 64 * 1024;
const MAX_BAD_FRACTION = 0.1;

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** Whether code point `c` is a control character (Unicode Cc) other than \t \n \v \f \r. */
function isBadControl(c: number): boolean {
  if (c < 0x20) return c < 0x09 || c > 0x0d;
  return c === 0x7f || (c >= 0x80 && c <= 0x9f);
}

export function decodeText(bytes: Uint8Array): DecodedText {
  if (bytes.length === 0) throw new InputError('the file is empty');

  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw new InputError('the file is UTF-16 encoded (it starts with a UTF-16 byte-order mark); save it as UTF-8');
  }
  const scan = Math.min(bytes.length, NUL_SCAN_BYTES);
  for (let i = 0; i < scan; i++) {
    if (bytes[i] === 0) throw new InputError(`the file looks binary, not text: it has a NUL byte at offset ${i}`);
  }

  const notes: string[] = [];
  const hasBom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  // ignoreBOM: false (the default) makes the decoder drop a leading BOM.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (hasBom) {
    notes.push('removed a byte-order mark');
    if (text.length === 0) throw new InputError('the file is empty (it holds only a byte-order mark)');
  }

  // A U+FFFD that was in the file (bytes EF BF BD) is not an invalid sequence: those
  // three bytes always decode to exactly one U+FFFD, so subtract their count.
  let literal = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) literal++;
  }

  return checkText(text, notes, literal);
}

/**
 * Checks text that is already a string (an editor's document): refuses empty, blank and binary
 * text with a one-line InputError, and normalizes line endings to LF.
 */
export function prepareText(text: string): DecodedText {
  if (text.length === 0) throw new InputError('the file is empty');
  return checkText(text, [], 0);
}

/** The checks shared by bytes and strings. `literalReplacements`: U+FFFD characters that were in the file itself. */
function checkText(text: string, notes: string[], literalReplacements: number): DecodedText {
  // One pass over the code points: replacement and control characters.
  let codePoints = 0, replacements = 0, controls = 0;
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    codePoints++;
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < text.length) {
      const v = text.charCodeAt(i + 1);
      if (v >= 0xdc00 && v <= 0xdfff) i++;
    } else if (u === 0xfffd) {
      replacements++;
    } else if (isBadControl(u)) {
      controls++;
    }
  }
  const invalid = replacements - literalReplacements;
  if (replacements + controls > MAX_BAD_FRACTION * codePoints) {
    const pct = Math.round((100 * (replacements + controls)) / codePoints);
    throw new InputError(
      `the file looks binary, not text: ${pct}% of its characters are invalid UTF-8 or control characters`,
    );
  }

  let crlf = 0, lone = 0;
  for (let i = text.indexOf('\r'); i !== -1; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) === 0x0a) crlf++;
    else lone++;
  }
  if (crlf + lone > 0) {
    text = text.replace(/\r\n?/g, '\n');
    if (crlf > 0) notes.push(`converted ${plural(crlf, 'CRLF line ending', 'CRLF line endings')} to LF`);
    if (lone > 0) notes.push(`converted ${plural(lone, 'lone CR line ending', 'lone CR line endings')} to LF`);
  }
  if (invalid > 0) {
    notes.push(`replaced ${plural(invalid, 'invalid UTF-8 sequence', 'invalid UTF-8 sequences')} with U+FFFD`);
  }

  if (!/\S/.test(text)) throw new InputError('the file contains only white space');
  return { text, notes };
}
