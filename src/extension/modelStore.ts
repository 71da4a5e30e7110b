// Where each file's model lives: one checkpoint per document, under the extension's global
// storage, named by a hash of the document's URI, with a small index file beside it saying which
// document it belongs to (so models of files that no longer exist can be found and forgotten).
// Untitled documents are keyed by this session too: `Untitled-1` of a later session, or of another
// window, is another document and never sees this one's model. No `vscode` import: unit-tested in
// plain Node.

import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Checkpoint } from '../engine/checkpoint';
import { readCheckpointSummary, type CheckpointSummary } from '../node/checkpointHeader';
import { readCheckpointFile, writeFileAtomic } from '../node/files';
import { lockedElsewhere, lockPathFor, processAlive, type LockOwner } from '../node/modelLock';
import { removeSnapshots } from '../node/snapshots';

export type ModelSummary = CheckpointSummary;

/** Who uses the store: a session of one window, in one process on one host. */
export interface StoreSession {
  id: string;
  pid: number;
  host: string;
}

/** What the index file beside a checkpoint says. */
export interface ModelIndexEntry {
  uri: string;
  /** For an untitled document: the session (and its process) whose document it was. */
  session?: StoreSession;
}

/** A stored model and the document it belongs to (null: an older model without an index entry). */
export interface StoredModel {
  key: string;
  checkpointPath: string;
  entry: ModelIndexEntry | null;
}

/** One thing cleanup could not do, for the log. */
export interface CleanupFailure {
  name: string;
  error: string;
}

const CHECKPOINT_SUFFIX = '.lstm.safetensors';
const INDEX_SUFFIX = '.uri.json';

function errorText(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);
}

export class ModelStore {
  readonly folder: string;
  readonly session: StoreSession;

  constructor(storageFolder: string, session: Partial<StoreSession> = {}) {
    this.folder = join(storageFolder, 'models');
    this.session = { id: session.id ?? 'default', pid: session.pid ?? process.pid, host: session.host ?? hostname() };
  }

  /** A stable file name for a document URI (for an untitled document, stable within this session only). */
  keyFor(documentUri: string): string {
    const keyed = documentUri.startsWith('untitled:') ? `${documentUri}\u0000${this.session.id}` : documentUri;
    return createHash('sha256').update(keyed).digest('hex').slice(0, 32);
  }

  checkpointPath(documentUri: string): string {
    return join(this.folder, `${this.keyFor(documentUri)}${CHECKPOINT_SUFFIX}`);
  }

  private indexPath(key: string): string {
    return join(this.folder, `${key}${INDEX_SUFFIX}`);
  }

  /** Makes the folder and records which document the model is for; returns the path to write its checkpoint to. */
  prepare(documentUri: string): string {
    mkdirSync(this.folder, { recursive: true });
    const entry: ModelIndexEntry = documentUri.startsWith('untitled:') ? { uri: documentUri, session: this.session } : { uri: documentUri };
    writeFileAtomic(this.indexPath(this.keyFor(documentUri)), new TextEncoder().encode(JSON.stringify(entry)));
    return this.checkpointPath(documentUri);
  }

  has(documentUri: string): boolean {
    return existsSync(this.checkpointPath(documentUri));
  }

  /**
   * The stored checkpoint, whole and checked; throws an InputError (with a clear message) if it is
   * corrupt. Never on the extension host's thread (a big model takes seconds): workers load models,
   * the host reads summaries (summary()).
   */
  load(documentUri: string): Checkpoint {
    return readCheckpointFile(this.checkpointPath(documentUri));
  }

  private readonly summaries = new Map<string, { stamp: string; summary: ModelSummary }>();

  /**
   * The summary of the document's model from its header alone (the tensors are not read), read
   * again only when the file changed; null when there is none. Throws an InputError if the header is corrupt.
   */
  summary(documentUri: string): ModelSummary | null {
    const path = this.checkpointPath(documentUri);
    let st;
    try {
      st = statSync(path);
    } catch {
      return null;
    }
    const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    const cached = this.summaries.get(path);
    if (cached && cached.stamp === stamp) return cached.summary;
    const summary = readCheckpointSummary(path);
    this.summaries.set(path, { stamp, summary });
    return summary;
  }

  /** What identifies the file now (to notice that it was deleted or replaced meanwhile); null when there is none. */
  identity(documentUri: string): string | null {
    try {
      const st = statSync(this.checkpointPath(documentUri));
      return `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      return null;
    }
  }

  /** Another window's live lock on the document's model (it is training there), or null. */
  lockedElsewhere(documentUri: string): LockOwner | null {
    return lockedElsewhere(this.checkpointPath(documentUri));
  }

  /** Deletes the document's model and its index entry; true if there was one. */
  forget(documentUri: string): boolean {
    return this.remove(this.keyFor(documentUri));
  }

  private remove(key: string): boolean {
    const path = join(this.folder, `${key}${CHECKPOINT_SUFFIX}`);
    const had = existsSync(path);
    rmSync(path, { force: true });
    rmSync(this.indexPath(key), { force: true });
    removeSnapshots(path); // the time line goes with its model
    this.summaries.delete(path);
    return had;
  }

  /** After another model replaced the document's checkpoint (an import): the time line was the old model's. */
  dropTimeLine(documentUri: string): void {
    removeSnapshots(this.checkpointPath(documentUri));
  }

  /** Every stored model, with the document it belongs to where the index knows it. */
  list(): StoredModel[] {
    let names: string[];
    try {
      names = readdirSync(this.folder);
    } catch {
      return [];
    }
    const models: StoredModel[] = [];
    for (const name of names) {
      if (!name.endsWith(CHECKPOINT_SUFFIX) || name.startsWith('.')) continue;
      const key = name.slice(0, -CHECKPOINT_SUFFIX.length);
      models.push({ key, checkpointPath: join(this.folder, name), entry: this.readIndex(key) });
    }
    return models;
  }

  private readIndex(key: string): ModelIndexEntry | null {
    try {
      const value = JSON.parse(readFileSync(this.indexPath(key), 'utf8')) as Partial<ModelIndexEntry>;
      if (typeof value.uri !== 'string') return null;
      const s = value.session;
      const session = s && typeof s.id === 'string' && typeof s.pid === 'number' && typeof s.host === 'string' ? { id: s.id, pid: s.pid, host: s.host } : undefined;
      return session ? { uri: value.uri, session } : { uri: value.uri };
    } catch {
      return null;
    }
  }

  /**
   * Why a stored model's document is gone, or null when it exists or cannot be checked: a file:
   * URI whose file does not exist, or an untitled document of a session that has ended (its window's
   * process is no longer running on this host). Other schemes (remote, virtual) are never judged.
   */
  missingReason(entry: ModelIndexEntry): string | null {
    if (entry.uri.startsWith('untitled:')) {
      const s = entry.session;
      if (!s || s.id === this.session.id) return null;
      return s.host === this.session.host && !processAlive(s.pid) ? 'an untitled document of a window that was closed' : null;
    }
    if (!entry.uri.startsWith('file:')) return null;
    let path: string;
    try {
      path = fileURLToPath(entry.uri);
    } catch {
      return null;
    }
    try {
      lstatSync(path);
      return null;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'the file no longer exists' : null;
    }
  }

  /** Stored models whose document is gone (see missingReason), except those another window is training. */
  missingModels(): Array<StoredModel & { entry: ModelIndexEntry; reason: string }> {
    const found: Array<StoredModel & { entry: ModelIndexEntry; reason: string }> = [];
    for (const model of this.list()) {
      if (!model.entry) continue;
      const reason = this.missingReason(model.entry);
      if (reason && !lockedElsewhere(model.checkpointPath)) found.push({ ...model, entry: model.entry, reason });
    }
    return found;
  }

  /** Deletes the given stored models (and their index entries); what could not be deleted is returned. */
  removeModels(models: StoredModel[]): { removed: number; failed: CleanupFailure[] } {
    let removed = 0;
    const failed: CleanupFailure[] = [];
    for (const model of models) {
      try {
        if (this.remove(model.key)) removed++;
      } catch (e) {
        failed.push({ name: `${model.key}${CHECKPOINT_SUFFIX}`, error: errorText(e) });
      }
    }
    return { removed, failed };
  }

  /**
   * Removes temporary files left by a write that was interrupted (a reload mid-save). Only files
   * untouched for `olderThanMs`: another VS Code window shares this folder and may be writing now.
   * Never throws: a file that cannot be removed (a read-only folder, another user's file) is listed
   * in `failed` and left where it is.
   */
  removeTemporaryFiles(olderThanMs = 10 * 60 * 1000, now = Date.now()): { removed: number; failed: CleanupFailure[] } {
    const failed: CleanupFailure[] = [];
    let names: string[];
    try {
      names = readdirSync(this.folder);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') failed.push({ name: 'models', error: errorText(e) });
      return { removed: 0, failed };
    }
    let removed = 0;
    for (const f of names) {
      if (!f.startsWith('.') || !f.endsWith('.tmp')) continue;
      const path = join(this.folder, f);
      try {
        if (now - statSync(path).mtimeMs < olderThanMs) continue;
        rmSync(path, { force: true });
        removed++;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed.push({ name: f, error: errorText(e) });
      }
    }
    return { removed, failed };
  }

  /** The lock file of a document's model (for messages and tests). */
  lockPath(documentUri: string): string {
    return lockPathFor(this.checkpointPath(documentUri));
  }
}
