// What the extension host needs to know about a saved model (its step, loss, vocabulary, the text
// it was trained on) read from the checkpoint's header alone: the first 8 bytes (the header's
// length) and the header, in one bounded read. The tensors are never read, so asking about a
// 342 MiB model costs what asking about a small one costs (decoding it whole froze the host for
// 0.8 s). The header is checked by the engine's rules (summarizeCheckpointHeader); what only the
// data can show (a non-finite weight) is left to the worker that loads the model to use it.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { summarizeCheckpointHeader, type CheckpointSummary as EngineSummary } from '../engine/checkpoint';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { CheckpointError, readHeaderLength } from '../engine/safetensors';

/** What the host shows of a saved model. */
export interface CheckpointSummary {
  step: number;
  loss: number | null;
  vocabSize: number;
  tokens: 'char' | 'word';
  hiddenSize: number;
  layers: number;
  learningRate: number;
  /** The name of the text it was trained on, its length in characters and its fingerprint. */
  source: { name: string; chars: number; hash: string } | null;
  /** The engine's whole summary (config, settings, vocabulary, the bounded history). */
  full: EngineSummary;
}

function readFully(fd: number, buffer: Uint8Array, position: number): void {
  let done = 0;
  while (done < buffer.length) {
    const n = readSync(fd, buffer, done, buffer.length - done, position + done);
    if (n === 0) throw new CheckpointError('not a checkpoint: the file ends inside its header');
    done += n;
  }
}

/**
 * The checkpoint's header (the bytes after its 8-byte length) and the file's size, read with one
 * bounded read (the engine's header limit) after the first 8 bytes. Throws an InputError naming the file.
 */
export function readCheckpointHeaderBytes(path: string): { header: Uint8Array; fileSize: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${printable(path)}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (e as Error).message})`}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CheckpointError('not a checkpoint: not a regular file');
    const first = new Uint8Array(Math.min(8, st.size));
    readFully(fd, first, 0);
    const length = readHeaderLength(first, st.size);
    const header = new Uint8Array(length);
    readFully(fd, header, 8);
    return { header, fileSize: st.size };
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${printable(path)}: ${e.message}`);
    throw new InputError(`${printable(path)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

/** A saved model's summary, from its header alone (never its tensors), by the engine's rules. Throws an InputError naming the file. */
export function readCheckpointSummary(path: string): CheckpointSummary {
  const { header, fileSize } = readCheckpointHeaderBytes(path);
  let full: EngineSummary;
  try {
    full = summarizeCheckpointHeader(header, fileSize);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${printable(path)}: ${e.message}`);
    throw e;
  }
  return {
    step: full.step,
    loss: full.loss,
    vocabSize: full.vocabSize,
    tokens: full.vocab.kind,
    hiddenSize: full.config.hidden_size,
    layers: full.config.num_layers,
    learningRate: full.settings.learning_rate,
    source: full.source,
    full,
  };
}
