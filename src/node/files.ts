// File access shared by the command line, the training worker and the extension host: text in,
// checkpoints in and out (atomically).
//
// Reading: only regular files, opened without blocking and checked on the same descriptor (a
// device such as /dev/zero, a FIFO or a terminal is refused at once instead of being read without
// end or waited on), and never more than the size the descriptor reported, within a limit.
// Writing: a temporary file beside the target (a name that fits in NAME_MAX), flushed, given the
// existing file's permissions, then renamed over it; a symbolic link stays a link (the write goes
// to the file it points to, atomically beside that file).

import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../engine/checkpoint';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';
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

/** The safetensors reader's limit on a header (safetensors.ts); a checkpoint written with more could not be read back. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** The longest file name (bytes) most file systems take (NAME_MAX). */
const NAME_MAX = 255;

/** Refuses a text too large to train on (an InputError naming the limit). */
export function checkTextSize(length: number, what = 'the text'): void {
  if (length > MAX_TEXT_BYTES) {
    throw new InputError(`${what} is ${(length / 2 ** 20).toFixed(0)} MiB; the limit is ${MAX_TEXT_BYTES / 2 ** 20} MiB (train on a part of it)`);
  }
}

/** A file name as it appears in a message: control characters escaped, never two lines. */
export const shown = (path: string): string => printable(path);

/** What an errno means, in words (for one-line messages). */
function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'the disk quota is exhausted';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'EISDIR':
      return 'it is a folder';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'EIO':
      return 'input/output error';
    case 'ENXIO':
      return 'it is not a regular file (a socket or a device that cannot be opened)';
    case undefined:
      return printable(String((e as Error)?.message ?? e), 120);
    default:
      return code;
  }
}

/** What kind of thing a non-regular file is, for a message. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

// O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer (POSIX;
// Windows has neither the flag nor FIFOs).
const OPEN_FOR_READING = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

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

// ------------------------------------------------------------------------------------ writing

let temporaryFiles = 0;

/**
 * The beginning of the temporary names of writes to `target` (`.<name>`), cut and completed with
 * a hash of the whole name when the temporary name would not fit in NAME_MAX bytes.
 */
function temporaryPrefix(target: string): string {
  const name = basename(target);
  const prefix = `.${name}`;
  // The longest suffix: `.<pid>.<thread>.<count>.tmp`, each at most 10 digits (+ a little slack).
  const room = NAME_MAX - 40;
  if (Buffer.byteLength(prefix) <= room) return prefix;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  let cut = prefix;
  while (Buffer.byteLength(cut) > room - hash.length - 1) cut = cut.slice(0, -1);
  // Never leave half of a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}~${hash}`;
}

/** A temporary name for one write to `target`, beside it, unique to this process, thread and write. */
function temporaryPath(target: string): string {
  return join(dirname(target), `${temporaryPrefix(target)}.${process.pid}.${threadId}.${++temporaryFiles}.tmp`);
}

/**
 * Where a write to `path` goes: the path itself, or, when it is a symbolic link, the file the link
 * points to (resolved link by link, so a dangling link's target is created), so the link stays.
 */
export function writeTarget(path: string): string {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    let st: Stats;
    try {
      st = lstatSync(current);
    } catch {
      return current; // nothing there (or not reachable: the write says why)
    }
    if (!st.isSymbolicLink()) return current;
    const link = readlinkSync(current);
    current = isAbsolute(link) ? link : resolve(dirname(current), link);
  }
  return current; // a loop: the write fails with ELOOP-like errors and says so
}

/** A failed write, in one line naming the file (exit 1 in the command line: it happened while running). */
export class WriteError extends Error {
  override name = 'WriteError';
  /** The errno code of the failure (EACCES, ENOSPC, ...), as on the error it wraps. */
  readonly code: string | undefined;

  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.code = (cause as NodeJS.ErrnoException)?.code;
  }
}

/**
 * Writes the whole file or nothing: a temporary file beside it, flushed, then renamed over it.
 * The temporary name is unique to this write (process, thread, count): two worker threads of one
 * process saving the same checkpoint must not share one, or one renames the other's half-written
 * file and the other's rename fails. A symbolic link at `path` stays a link (its target is
 * replaced), and an existing file's permissions (and, when root saves it, its owner) are kept. A failure removes the temporary file
 * and reports the write's own error, even when the removal fails too.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const target = writeTarget(path);
  let kept: { mode: number; uid: number; gid: number } | null = null;
  try {
    const st = statSync(target);
    if (st.isFile()) kept = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    /* a new file: the default mode */
  }
  const tmp = temporaryPath(target);
  let created = false;
  try {
    const fd = openSync(tmp, 'wx');
    created = true;
    try {
      if (kept !== null) {
        // Root saving someone's checkpoint gives it back to its owner (only root may; others keep their own).
        if (process.getuid?.() === 0 && (kept.uid !== 0 || kept.gid !== 0)) {
          try {
            fchownSync(fd, kept.uid, kept.gid);
          } catch {
            /* a file system without owners */
          }
        }
        fchmodSync(fd, kept.mode);
      }
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (e) {
    if (created) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        /* the write's own error is the one that matters */
      }
    }
    const shownPath = path === target ? shown(path) : `${shown(path)} (a link to ${shown(target)})`;
    throw new WriteError(`cannot save ${shownPath}: ${reason(e)}`, e);
  }
}

/**
 * Checks, before a long run, that `path` can be written as writeFileAtomic will write it: creates
 * and removes a temporary file beside it, and refuses a folder, a device or a name too long, in
 * one line (an InputError: bad usage, found before any work is done).
 */
export function checkWritable(path: string, option = '--out'): void {
  const target = writeTarget(path);
  const name = basename(target);
  if (name === '' || name === '.' || name === '..') throw new InputError(`${option} ${shown(path)} is a folder; give a file name`);
  if (Buffer.byteLength(name) > NAME_MAX) {
    throw new InputError(`${option} ${shown(path)}: the file name is ${Buffer.byteLength(name)} bytes; the limit is ${NAME_MAX}`);
  }
  try {
    const st = statSync(target);
    if (st.isDirectory()) throw new InputError(`${option} ${shown(path)} is a folder; give a file name`);
    if (!st.isFile()) throw new InputError(`${option} ${shown(path)} is ${kindOf(st)}; give a regular file`);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new InputError(`${option} ${shown(path)} cannot be written: ${reason(e)}`);
  }
  const folder = dirname(target);
  try {
    const st = statSync(folder);
    if (!st.isDirectory()) throw new InputError(`${option} ${shown(path)} cannot be written: ${shown(folder)} is not a folder`);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${option} ${shown(path)} cannot be written: the folder ${shown(folder)} does not exist`);
    if (code === 'ENOTDIR') throw new InputError(`${option} ${shown(path)} cannot be written: a part of ${shown(folder)} is a file, not a folder`);
    throw new InputError(`${option} ${shown(path)} cannot be written: ${reason(e)}`);
  }
  // As a save does it: create a temporary file, then rename it (to a second temporary name, so
  // nothing at `path` is touched), then remove it.
  const tmp = temporaryPath(target);
  const renamed = temporaryPath(target);
  let at: string | null = null;
  try {
    closeSync(openSync(tmp, 'wx'));
    at = tmp;
    renameSync(tmp, renamed);
    at = renamed;
  } catch (e) {
    throw new InputError(`${option} ${shown(path)} cannot be written: ${reason(e)} in ${shown(folder)}`);
  } finally {
    try {
      if (at !== null) rmSync(at, { force: true });
    } catch {
      /* left for removeStaleTemporaryFiles: this process will be gone */
    }
  }
}

/** Whether process `pid` is alive on this machine (a process of another user is). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temporary files that writes to `path` left behind when their process was killed
 * (`.<name>.<pid>.<thread>.<n>.tmp` beside the file, whose process no longer exists); files of
 * live processes stay, as they may be writing now. Returns how many were removed; never throws.
 */
export function removeStaleTemporaryFiles(path: string): number {
  const target = writeTarget(path);
  const prefix = temporaryPrefix(target);
  const folder = dirname(target);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^\.(\d+)\.(\d+)\.(\d+)\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || alive(pid)) continue;
    try {
      rmSync(join(folder, name), { force: true });
      removed++;
    } catch {
      /* not ours to remove, or gone */
    }
  }
  return removed;
}

/**
 * Encodes a checkpoint and writes it atomically. Nothing is written when encoding fails, or when
 * what it encodes could not be read back (the engine's encoder holds the metadata and values to
 * the reader's rules; here the header's and the file's sizes are held to the reader's limits): a
 * file its own reader refuses is never left behind.
 */
export function writeCheckpointFile(path: string, ckpt: Checkpoint): void {
  writeFileAtomic(path, encodeReadableCheckpoint(ckpt));
}

/**
 * The bytes of a checkpoint that its reader will accept, or an Error in one line. Not an
 * InputError: by the time a run saves, its settings have been checked, so a refusal here is a
 * failure while running (exit 1 in the command line), not bad usage.
 */
export function encodeReadableCheckpoint(ckpt: Checkpoint): Uint8Array {
  const refuse = (why: string): never => {
    throw new Error(`this checkpoint would not read back, so it is not written: ${printable(why, 400)}`);
  };
  let bytes: Uint8Array;
  try {
    bytes = encodeCheckpoint(ckpt);
  } catch (e) {
    if (e instanceof InputError) throw new Error(printable(e.message, 600), { cause: e });
    throw e;
  }
  // The header in bytes (the encoder counts characters; UTF-8 may take up to three bytes for one).
  const header = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (header > MAX_HEADER_BYTES) refuse(`its header would be ${(header / 2 ** 20).toFixed(1)} MiB, over the reader's limit of ${MAX_HEADER_BYTES / 2 ** 20} MiB`);
  if (bytes.length > MAX_CHECKPOINT_BYTES) refuse(`it would be ${(bytes.length / 2 ** 20).toFixed(0)} MiB, over the limit of ${(MAX_CHECKPOINT_BYTES / 2 ** 20).toFixed(0)} MiB`);
  return bytes;
}
