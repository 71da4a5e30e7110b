// What the file readers and writers of src/node/ share: the limits on what is read and written,
// a file name as a message shows it, an errno and a file's kind in words.

import { constants, type Stats } from 'node:fs';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { CHECKPOINT_LIMIT_BYTES } from '../engine/memory';

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
export const NAME_MAX = 255;

/** Refuses a text too large to train on (an InputError naming the limit). */
export function checkTextSize(length: number, what = 'the text'): void {
  if (length > MAX_TEXT_BYTES) {
    throw new InputError(`${what} is ${(length / 2 ** 20).toFixed(0)} MiB; the limit is ${MAX_TEXT_BYTES / 2 ** 20} MiB (train on a part of it)`);
  }
}

/** A file name as it appears in a message: control characters escaped, never two lines. */
export const shown = (path: string): string => printable(path);

/** What an errno means, in words (for one-line messages). */
export function reason(e: unknown): string {
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
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

// O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer (POSIX;
// Windows has neither the flag nor FIFOs).
export const OPEN_FOR_READING = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

