// What the extension host needs to know about a saved model (its step, loss, vocabulary, the text
// it was trained on) read from the checkpoint's header alone: the first 8 bytes (the header's
// length) and the header, in one bounded read. The tensors are never read, so asking about a
// 342 MiB model costs what asking about a small one costs (decoding it whole froze the host for
// 0.8 s). The full check stays where the model is used: the worker that trains or generates.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CheckpointError } from '../engine/safetensors';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';

/** The reader's limit on a header (src/engine/safetensors.ts): what one read here may take. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface CheckpointSummary {
  step: number;
  loss: number | null;
  vocabSize: number;
  tokens: 'char' | 'word';
  hiddenSize: number;
  layers: number;
  learningRate: number | null;
  /** The name of the text it was trained on, its length in characters and its fingerprint. */
  source: { name: string; chars: number; hash: string } | null;
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
 * The checkpoint's first 8 bytes and its header (a safetensors file cut after its header), read
 * with at most MAX_HEADER_BYTES + 8 bytes. Throws an InputError naming the file on anything wrong.
 */
export function readCheckpointHeaderBytes(path: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${printable(path)}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? (e as Error).message})`}`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new CheckpointError(`not a checkpoint: file is ${size} bytes, shorter than a safetensors header`);
    const head = new Uint8Array(8);
    readFully(fd, head, 0);
    const length = new DataView(head.buffer).getBigUint64(0, true);
    if (length > BigInt(size - 8)) throw new CheckpointError(`not a checkpoint: header length ${length} exceeds the file (${size - 8} bytes after the length)`);
    if (length > BigInt(MAX_HEADER_BYTES)) throw new CheckpointError(`not a checkpoint: header length ${length} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
    const bytes = new Uint8Array(8 + Number(length));
    bytes.set(head);
    readFully(fd, bytes.subarray(8), 8);
    return bytes;
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${printable(path)}: ${e.message}`);
    throw new InputError(`${printable(path)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function metadataJson(metadata: Record<string, unknown>, key: string): Record<string, unknown> {
  const text = metadata[key];
  if (typeof text !== 'string') throw new CheckpointError(`corrupt checkpoint: metadata "${key}" is missing`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CheckpointError(`corrupt checkpoint: metadata "${key}" is not valid JSON`);
  }
  if (!isObject(value)) throw new CheckpointError(`corrupt checkpoint: metadata "${key}" is not a JSON object`);
  return value;
}

/** The summary of a checkpoint from its header bytes (as readCheckpointHeaderBytes returns them). */
export function summarizeHeaderBytes(bytes: Uint8Array): CheckpointSummary {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8)));
  } catch {
    throw new CheckpointError('not a checkpoint: the safetensors header is not valid JSON');
  }
  if (!isObject(header) || !isObject(header.__metadata__)) throw new CheckpointError('not an lstm-lens checkpoint: it has no metadata');
  const metadata = header.__metadata__;
  if (metadata.format !== 'lstm-lens/1') throw new CheckpointError('not an lstm-lens checkpoint: its "format" metadata is not lstm-lens/1');
  const config = metadataJson(metadata, 'config');
  const vocab = metadataJson(metadata, 'vocab');
  const training = metadataJson(metadata, 'training');
  const bad = (what: string): never => {
    throw new CheckpointError(`corrupt checkpoint: ${what}`);
  };
  if (!isCount(training.step)) bad('training.step is not a step count');
  const loss = training.loss ?? null;
  if (loss !== null && !(typeof loss === 'number' && Number.isFinite(loss))) bad('training.loss is not a number');
  if (vocab.kind !== 'char' && vocab.kind !== 'word') bad('vocab.kind must be "char" or "word"');
  if (!isCount(config.vocab_size) || !isCount(config.hidden_size) || !isCount(config.num_layers)) bad('the config is malformed');
  const s = training.source;
  const source = isObject(s) && typeof s.name === 'string' && typeof s.hash === 'string' && isCount(s.chars) ? { name: s.name, chars: s.chars, hash: s.hash } : null;
  const lr = config.learning_rate;
  return {
    step: training.step as number,
    loss: loss as number | null,
    vocabSize: config.vocab_size as number,
    tokens: vocab.kind as 'char' | 'word',
    hiddenSize: config.hidden_size as number,
    layers: config.num_layers as number,
    learningRate: typeof lr === 'number' && Number.isFinite(lr) && lr > 0 ? lr : null,
    source,
  };
}

/** A saved model's summary, from its header alone (never its tensors). Throws an InputError naming the file. */
export function readCheckpointSummary(path: string): CheckpointSummary {
  const bytes = readCheckpointHeaderBytes(path);
  try {
    return summarizeHeaderBytes(bytes);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${printable(path)}: ${e.message}`);
    throw e;
  }
}
