// Writing files (exported through files.ts): a temporary file beside the target (a name that fits
// in NAME_MAX), flushed, given the existing file's permissions, then renamed over it; a symbolic
// link stays a link (the write goes to the file it points to, atomically beside that file). Also
// the probe of --out before a run, and the removal of temporary files that killed runs left.

import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fsyncSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { encodeCheckpoint, type Checkpoint } from '../engine/checkpoint';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { kindOf, MAX_CHECKPOINT_BYTES, MAX_HEADER_BYTES, NAME_MAX, reason, shown } from './fileFacts';

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
