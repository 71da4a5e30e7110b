// File access shared by the command line, the training worker and the extension host: text in,
// checkpoints in and out (atomically).

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../engine/checkpoint';
import { InputError } from '../engine/config';
import { CHECKPOINT_LIMIT_BYTES } from '../engine/memory';
import { decodeText, type DecodedText } from '../engine/text';

/**
 * Texts larger than this are refused for training (a file of more bytes, a text of more UTF-16
 * units): tokenizing 256 MiB takes seconds, but its token ids alone take 1 GiB at char level.
 */
export const MAX_TEXT_BYTES = 256 * 1024 * 1024;

/**
 * Checkpoints may be larger than texts: a model the extension's settings allow (hidden 1024,
 * 4 layers, bidirectional, Adam) writes over a gigabyte. This is what one read can hold (2 GiB).
 */
export const MAX_CHECKPOINT_BYTES = CHECKPOINT_LIMIT_BYTES;

/** Refuses a text too large to train on (an InputError naming the limit). */
export function checkTextSize(length: number, what = 'the text'): void {
  if (length > MAX_TEXT_BYTES) {
    throw new InputError(`${what} is ${(length / 2 ** 20).toFixed(0)} MiB; the limit is ${MAX_TEXT_BYTES / 2 ** 20} MiB (train on a part of it)`);
  }
}

function readBytes(path: string, what: string, limit: number): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new InputError(`${path} is a folder, not a ${what}`);
    size = st.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read it (${code ?? (e as Error).message})`);
  }
  if (size > limit) throw new InputError(`${path} is ${(size / 2 ** 20).toFixed(0)} MiB; the limit for a ${what} is ${(limit / 2 ** 20).toFixed(0)} MiB`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Reads a file and decodes it; a decoding refusal names the file. */
function readAndDecode<T>(path: string, what: string, limit: number, decode: (bytes: Uint8Array) => T): T {
  const bytes = readBytes(path, what, limit);
  try {
    return decode(bytes);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${path}: ${e.message}`);
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
  return readAndDecode(path, 'checkpoint', MAX_CHECKPOINT_BYTES, decodeCheckpoint);
}

let temporaryFiles = 0;

/**
 * Writes the whole file or nothing: a temporary file beside it, flushed, then renamed over it.
 * The temporary name is unique to this write (process, thread, count): two worker threads of one
 * process saving the same checkpoint must not share one, or one renames the other's half-written
 * file and the other's rename fails.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${threadId}.${++temporaryFiles}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeCheckpointFile(path: string, ckpt: Checkpoint): void {
  writeFileAtomic(path, encodeCheckpoint(ckpt));
}
