// File access shared by the command line, the training worker and the extension host: text in,
// checkpoints in and out (atomically). This file reads; writeFiles.ts writes; fileFacts.ts holds
// the limits and the words both use. Everything is exported from here.
//
// Reading: only regular files, opened without blocking and checked on the same descriptor (a
// device such as /dev/zero, a FIFO or a terminal is refused at once instead of being read without
// end or waited on), and never more than the size the descriptor reported, within a limit.

import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { decodeCheckpoint, type Checkpoint } from '../engine/checkpoint';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { decodeText, type DecodedText } from '../engine/text';
import { kindOf, MAX_CHECKPOINT_BYTES, MAX_HEADER_BYTES, MAX_TEXT_BYTES, OPEN_FOR_READING, reason, shown } from './fileFacts';

export { checkTextSize, MAX_CHECKPOINT_BYTES, MAX_HEADER_BYTES, MAX_TEXT_BYTES, shown } from './fileFacts';
export { checkWritable, encodeReadableCheckpoint, removeStaleTemporaryFiles, writeCheckpointFile, WriteError, writeFileAtomic, writeTarget } from './writeFiles';

/**
 * The bytes of a regular file, at most `limit` of them; anything else (a folder, a device, a
 * FIFO, a socket, a terminal, /dev/stdin on a pipe) is refused in one line without reading it.
 * The kind and the size are those of the descriptor that is read, so nothing can be swapped in
 * between; a file that grows while it is read is read up to the size it had when opened.
 */
function readBytes(path: string, what: string, limit: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FOR_READING);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${shown(path)}: no such file` : `${shown(path)}: cannot read it (${reason(e)})`);
  }
  try {
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw new InputError(`${shown(path)}: cannot read it (${reason(e)})`);
    }
    if (st.isDirectory()) throw new InputError(`${shown(path)} is a folder, not a ${what}`);
    if (!st.isFile()) throw new InputError(`${shown(path)} is ${kindOf(st)}, not a ${what}: only regular files are read`);
    const size = st.size;
    if (size > limit) throw new InputError(`${shown(path)} is ${(size / 2 ** 20).toFixed(0)} MiB; the limit for a ${what} is ${(limit / 2 ** 20).toFixed(0)} MiB`);
    const bytes = new Uint8Array(size);
    let got = 0;
    try {
      while (got < size) {
        const n = readSync(fd, bytes, got, size - got, null);
        if (n === 0) break; // the file shrank while it was read
        got += n;
      }
    } catch (e) {
      throw new InputError(`${shown(path)}: cannot read it (${reason(e)})`);
    }
    return got === size ? bytes : bytes.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Reads a file and decodes it; a decoding refusal names the file. */
function readAndDecode<T>(path: string, what: string, limit: number, decode: (bytes: Uint8Array) => T): T {
  const bytes = readBytes(path, what, limit);
  try {
    return decode(bytes);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${shown(path)}: ${e.message}`);
    throw e;
  }
}

export function readTextFile(path: string): DecodedText {
  return readAndDecode(path, 'text file', MAX_TEXT_BYTES, decodeText);
}

/** A checkpoint's bytes as they are on disk (within the size limit), not yet decoded. */
export function readCheckpointBytes(path: string): Uint8Array {
  return readBytes(path, 'checkpoint', MAX_CHECKPOINT_BYTES);
}

export function readCheckpointFile(path: string): Checkpoint {
  const bytes = readBytes(path, 'checkpoint', MAX_CHECKPOINT_BYTES);
  try {
    return decodeCheckpoint(bytes);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    // A text given where its model was meant: say so, and name the model when there is one.
    if (looksLikeText(bytes)) {
      const model = `${path}.lstm.safetensors`;
      throw new InputError(
        whatIsAt(model).kind === 'checkpoint' ? `${shown(path)} is a text file; did you mean ${shown(model)}?` : `${shown(path)} is a text file, not a checkpoint`,
      );
    }
    throw new InputError(`${shown(path)}: ${e.message}`);
  }
}

/** Whether bytes that are not a checkpoint are a text the trainer would read (UTF-8, not binary, not blank). */
function looksLikeText(bytes: Uint8Array): boolean {
  try {
    decodeText(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A JSON file (a grad case), read as text files are (regular files only, within `limit`), then parsed. */
export function readJsonFile(path: string, what = 'JSON file', limit = MAX_TEXT_BYTES): unknown {
  const bytes = readBytes(path, what, limit);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${shown(path)}: not valid JSON (it is not UTF-8 text)`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${shown(path)}: not valid JSON (${printable((e as Error).message, 160)})`);
  }
}

// ------------------------------------------------------------------------------------ what a path is

/** Whether two paths name the same file (the same device and inode: ./a, /x/a, a link or a hard link to a). */
export function sameFile(a: string, b: string): boolean {
  let sa: Stats, sb: Stats;
  try {
    sa = statSync(a);
    sb = statSync(b);
  } catch {
    return false;
  }
  return sa.dev === sb.dev && sa.ino === sb.ino;
}

/** What an existing checkpoint says about itself, from its header alone. */
export interface CheckpointSummary {
  step: number | null;
  loss: number | null;
  source: string | null;
}

export type PathKind =
  | { kind: 'missing' }
  | { kind: 'folder' }
  | { kind: 'special'; what: string }
  | { kind: 'checkpoint'; summary: CheckpointSummary }
  | { kind: 'other' };

/**
 * What is at `path` now: nothing, a folder, something that is not a regular file, an lstm-lens
 * checkpoint (its format read from the header only: the first bytes, never the tensors), or
 * another file. Used before anything is written there, so that a text or any other file is never
 * replaced by a checkpoint by mistake.
 */
export function whatIsAt(path: string): PathKind {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Nothing there, or a link to nothing yet (a save creates its target): nothing is replaced.
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ENOTDIR') return { kind: 'missing' }; // the folder is a file: found by checkWritable
    return { kind: 'other' };
  }
  if (st.isDirectory()) return { kind: 'folder' };
  if (!st.isFile()) return { kind: 'special', what: kindOf(st) };
  let fd: number;
  try {
    fd = openSync(path, OPEN_FOR_READING);
  } catch {
    return { kind: 'other' };
  }
  try {
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) < 8) return { kind: 'other' };
    const n = head.readBigUInt64LE(0);
    if (n < 2n || n > BigInt(Math.min(MAX_HEADER_BYTES, st.size - 8))) return { kind: 'other' };
    const header = Buffer.alloc(Number(n));
    let got = 0;
    while (got < header.length) {
      const k = readSync(fd, header, got, header.length - got, 8 + got);
      if (k === 0) return { kind: 'other' };
      got += k;
    }
    if (header[0] !== 0x7b) return { kind: 'other' };
    const parsed = JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, unknown> };
    const meta = parsed?.__metadata__;
    if (typeof meta !== 'object' || meta === null || meta.format !== 'lstm-lens/1') return { kind: 'other' };
    const summary: CheckpointSummary = { step: null, loss: null, source: null };
    try {
      const training = JSON.parse(String(meta.training)) as Record<string, unknown>;
      if (typeof training.step === 'number') summary.step = training.step;
      if (typeof training.loss === 'number') summary.loss = training.loss;
      const source = training.source as Record<string, unknown> | null;
      if (source && typeof source.name === 'string') summary.source = source.name;
    } catch {
      /* a checkpoint whose training state is unreadable: still a checkpoint */
    }
    return { kind: 'checkpoint', summary };
  } catch {
    return { kind: 'other' };
  } finally {
    closeSync(fd);
  }
}

