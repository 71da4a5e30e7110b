// A per-model lock, so that two VS Code windows (two extension hosts sharing one global storage)
// never train one file's model at once: the second would overwrite the first's saves, and both
// would say "saved". The lock is `<checkpoint>.lock`, created exclusively (O_EXCL), holding the
// owner's pid, host name, start time and a nonce. It is refreshed (its mtime touched) while the
// owner trains and removed at the end. A lock is stale, and may be taken over, when its owner's
// pid is dead on this host, or when it has not been refreshed for STALE_AFTER_MS (an owner on
// another host, or one whose pid was reused). No `vscode` import: unit-tested in plain Node, with
// real processes racing.

import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';

/** How often an owner refreshes its lock. */
export const REFRESH_EVERY_MS = 10_000;
/** A lock not refreshed for this long is stale (twelve missed refreshes). */
export const STALE_AFTER_MS = 120_000;

export interface LockOwner {
  pid: number;
  host: string;
  /** When the owner took the lock (ms since the epoch). */
  started: number;
  /** Unique to one taking of the lock: tells the owner's lock from a later one at the same path. */
  nonce: string;
}

export type LockResult = { ok: true; lock: ModelLock } | { ok: false; owner: LockOwner | null; reason: string };

export function lockPathFor(checkpointPath: string): string {
  return `${checkpointPath}.lock`;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === 'string' && typeof o.started === 'number' && typeof o.nonce === 'string') {
      return { pid: o.pid, host: o.host, started: o.started, nonce: o.nonce };
    }
  } catch {
    // not JSON: a lock half-written by an owner that died in between
  }
  return null;
}

/** Whether a process is alive on this machine (EPERM: alive, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Why the lock whose content is `text` (mtime `mtimeMs`) is stale, or null when it is held.
 * An unreadable lock counts as held until it is STALE_AFTER_MS old (its writer may be writing it).
 */
export function staleReason(text: string, mtimeMs: number, now = Date.now(), thisHost = hostname()): string | null {
  const owner = parseOwner(text);
  if (owner && owner.host === thisHost && !processAlive(owner.pid)) return `its owner (process ${owner.pid}) is gone`;
  if (now - mtimeMs > STALE_AFTER_MS) return `it was last refreshed ${Math.round((now - mtimeMs) / 1000)} s ago`;
  return null;
}

/** The lock's current owner, or null when there is no lock (or it cannot be read). */
export function lockOwner(checkpointPath: string): LockOwner | null {
  try {
    return parseOwner(readFileSync(lockPathFor(checkpointPath), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The owner of a live lock on the model held by another process (another window), or null when
 * there is none (no lock, a stale one, or this process's own). A live lock that cannot be read yet
 * (being written) has an owner of pid 0.
 */
export function lockedElsewhere(checkpointPath: string, now = Date.now()): LockOwner | null {
  const path = lockPathFor(checkpointPath);
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(path, 'utf8');
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return null;
  }
  if (staleReason(text, mtimeMs, now) !== null) return null;
  const owner = parseOwner(text) ?? { pid: 0, host: '', started: mtimeMs, nonce: '' };
  return owner.pid === process.pid && owner.host === hostname() ? null : owner;
}

/** A held lock: refresh it while training; release it at the end. */
export class ModelLock {
  private timer: ReturnType<typeof setInterval> | null = null;
  private released = false;

  constructor(
    readonly path: string,
    readonly owner: LockOwner,
  ) {}

  /** Whether the lock file is still this lock (a stale takeover by another window, or a deletion, ends it). */
  held(): boolean {
    if (this.released) return false;
    try {
      return parseOwner(readFileSync(this.path, 'utf8'))?.nonce === this.owner.nonce;
    } catch {
      return false;
    }
  }

  /** Touches the lock's mtime (the heartbeat); false when the lock is no longer this one. */
  refresh(now = new Date()): boolean {
    if (!this.held()) return false;
    try {
      utimesSync(this.path, now, now);
      return true;
    } catch {
      return false;
    }
  }

  /** Refreshes every `everyMs` until released; `onLost` is called once if the lock is found gone. */
  keepAlive(onLost: () => void = () => undefined, everyMs = REFRESH_EVERY_MS): void {
    if (this.timer || this.released) return;
    this.timer = setInterval(() => {
      if (!this.refresh()) {
        this.stopTimer();
        if (!this.released) onLost();
      }
    }, everyMs);
    this.timer.unref?.();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Removes the lock if it is still this one. Never throws. */
  release(): void {
    if (this.released) return;
    this.stopTimer();
    try {
      if (this.held()) rmSync(this.path, { force: true });
    } catch {
      // the folder went away or became read-only: the lock goes stale by its pid
    }
    this.released = true;
  }
}

/** Creates the lock file exclusively with `owner`'s content; false if it exists. Other errors throw. */
function createExclusive(path: string, owner: LockOwner): boolean {
  // Written in full to a private file first, then linked into place (link fails if the name exists):
  // a reader never sees a half-written lock, and only one of several racing creators wins.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${threadId}.${owner.nonce}.tmp`);
  const fd = openSync(tmp, 'wx');
  try {
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Takes the model's lock, taking over a stale one. Fails (ok: false) when another owner holds it,
 * naming that owner. Errors other than "it exists" (a read-only folder) throw.
 */
export function acquireModelLock(checkpointPath: string, now = Date.now()): LockResult {
  const path = lockPathFor(checkpointPath);
  const owner: LockOwner = { pid: process.pid, host: hostname(), started: now, nonce: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(path, owner)) return { ok: true, lock: new ModelLock(path, owner) };
    let text: string;
    let mtimeMs: number;
    try {
      text = readFileSync(path, 'utf8');
      mtimeMs = statSync(path).mtimeMs;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
      throw e;
    }
    const stale = staleReason(text, mtimeMs, Date.now());
    if (stale === null) return { ok: false, owner: parseOwner(text), reason: 'held' };
    // Take the stale lock aside under a name of our own, and check that what was moved is the
    // stale lock we judged (a racing taker may have replaced it by a fresh one meanwhile).
    const aside = join(dirname(path), `.${basename(path)}.stale.${process.pid}.${threadId}.${owner.nonce}.${attempt}.tmp`);
    try {
      renameSync(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else moved it first
      throw e;
    }
    let moved = '';
    try {
      moved = readFileSync(aside, 'utf8');
    } catch {
      // gone: nothing to put back
    }
    if (moved !== text) {
      // A live lock taken by a racer: put it back where it was (unless yet another one is there now).
      try {
        linkSync(aside, path);
      } catch {
        // another lock is in place: the racer finds its lock gone at its next refresh
      }
    }
    rmSync(aside, { force: true });
  }
  return { ok: false, owner: lockOwner(checkpointPath), reason: 'contended' };
}
