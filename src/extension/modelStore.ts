// Where each file's model lives: one checkpoint per document, under the extension's global
// storage, named by a hash of the document's URI. No `vscode` import: unit-tested in plain Node.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint } from '../engine/checkpoint';
import { readCheckpointFile } from '../node/files';

export interface ModelSummary {
  step: number;
  loss: number | null;
  vocabSize: number;
  tokens: 'char' | 'word';
  hiddenSize: number;
  layers: number;
  /** The name of the text it was trained on, and its fingerprint. */
  source: { name: string; hash: string } | null;
}

export class ModelStore {
  readonly folder: string;

  constructor(storageFolder: string) {
    this.folder = join(storageFolder, 'models');
  }

  /** A stable file name for a document URI. */
  keyFor(documentUri: string): string {
    return createHash('sha256').update(documentUri).digest('hex').slice(0, 32);
  }

  checkpointPath(documentUri: string): string {
    return join(this.folder, `${this.keyFor(documentUri)}.lstm.safetensors`);
  }

  /** Makes the folder; returns the path to write this document's checkpoint to. */
  prepare(documentUri: string): string {
    mkdirSync(this.folder, { recursive: true });
    return this.checkpointPath(documentUri);
  }

  has(documentUri: string): boolean {
    return existsSync(this.checkpointPath(documentUri));
  }

  /** The stored checkpoint, whole and checked; throws an InputError (with a clear message) if it is corrupt. */
  load(documentUri: string): Checkpoint {
    return readCheckpointFile(this.checkpointPath(documentUri));
  }

  summarize(ckpt: Checkpoint): ModelSummary {
    return {
      step: ckpt.training.step,
      loss: ckpt.training.loss,
      vocabSize: ckpt.config.vocab_size,
      tokens: ckpt.vocab.kind,
      hiddenSize: ckpt.config.hidden_size,
      layers: ckpt.config.num_layers,
      source: ckpt.training.source ? { name: ckpt.training.source.name, hash: ckpt.training.source.hash } : null,
    };
  }

  private readonly summaries = new Map<string, { stamp: string; summary: ModelSummary }>();

  /** The summary of the document's model, read again only when the file changed; null when there is none. Throws if it is corrupt. */
  summary(documentUri: string): ModelSummary | null {
    const path = this.checkpointPath(documentUri);
    if (!existsSync(path)) return null;
    const st = statSync(path);
    const stamp = `${st.mtimeMs}:${st.size}`;
    const cached = this.summaries.get(path);
    if (cached && cached.stamp === stamp) return cached.summary;
    const summary = this.summarize(readCheckpointFile(path));
    this.summaries.set(path, { stamp, summary });
    return summary;
  }

  /** Deletes the document's model; true if there was one. */
  forget(documentUri: string): boolean {
    const path = this.checkpointPath(documentUri);
    const had = existsSync(path);
    rmSync(path, { force: true });
    return had;
  }

  /**
   * Removes temporary files left by a write that was interrupted (a reload mid-save). Only files
   * untouched for `olderThanMs`: another VS Code window shares this folder and may be writing now.
   */
  removeTemporaryFiles(olderThanMs = 10 * 60 * 1000, now = Date.now()): number {
    if (!existsSync(this.folder)) return 0;
    const stale = readdirSync(this.folder).filter((f) => {
      if (!f.startsWith('.') || !f.endsWith('.tmp')) return false;
      try {
        return now - statSync(join(this.folder, f)).mtimeMs >= olderThanMs;
      } catch {
        return false; // gone already
      }
    });
    for (const f of stale) rmSync(join(this.folder, f), { force: true });
    return stale.length;
  }
}
