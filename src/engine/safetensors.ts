// The safetensors file format (https://github.com/huggingface/safetensors), F32 only.
//
//   bytes 0..8       N, the header length, unsigned 64-bit little-endian
//   bytes 8..8+N     the header: UTF-8 JSON object
//                      { "__metadata__": { string: string },
//                        "<name>": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] }, ... }
//                    offsets are relative to the first byte after the header
//   bytes 8+N..      the data region: each tensor's values, raw little-endian, row-major
//
// encodeSafetensors writes the tensors in the order given, contiguous from offset 0, and
// pads the header with spaces so that the data region starts at a multiple of 8 bytes
// (as the reference implementation does), so `safetensors.torch.load_file` reads it.
//
// decodeSafetensors is strict and total: on any input it either returns every tensor,
// copied into fresh Float32Arrays, or throws a CheckpointError with a one-line message.
// Like the reference implementation it requires the tensors to cover the data region
// exactly: no overlaps, no holes, no trailing bytes.

import { InputError } from './config';

export interface TensorEntry {
  shape: number[];
  data: Float32Array;
}

/** A file that is not a valid checkpoint (an InputError: the command line exits with status 2). */
export class CheckpointError extends InputError {
  override name = 'CheckpointError';
}

/** The reference implementation's limit on the header (100 MB there; 100 MiB here, slightly more lenient). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const METADATA_KEY = '__metadata__';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A short, single-line rendering of a value for error messages. */
export function brief(value: unknown, max = 80): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    // Nested deeper than the call stack: String() would recurse as deep, so say only what it is.
    s = Array.isArray(value) ? '[...]' : typeof value === 'object' && value !== null ? '{...}' : typeof value;
  }
  // JSON.stringify escapes \n and \r but not the Unicode line and paragraph separators.
  s = s.replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** A tensor name as it appears in messages: bare when it is plain, else quoted (never a line break). */
export function label(name: string): string {
  return /^[\w.\-]{1,80}$/.test(name) ? name : brief(name);
}

function isSafeNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function encodeSafetensors(tensors: ReadonlyArray<[string, TensorEntry]>, metadata: Record<string, string>): Uint8Array<ArrayBuffer> {
  const seen = new Set<string>();
  const headerParts: string[] = [];
  const metaParts: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new TypeError(`safetensors metadata ${brief(key)} must be a string, got ${typeof value}`);
    metaParts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  headerParts.push(`${JSON.stringify(METADATA_KEY)}:{${metaParts.join(',')}}`);
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    if (name === METADATA_KEY) throw new RangeError(`a tensor cannot be named ${METADATA_KEY}`);
    if (seen.has(name)) throw new RangeError(`tensor ${label(name)} appears twice`);
    seen.add(name);
    let count = 1;
    for (const d of shape) {
      if (!isSafeNonNegativeInt(d)) throw new RangeError(`tensor ${label(name)}: shape ${brief(shape)} is not a list of non-negative integers`);
      count *= d;
    }
    if (!(data instanceof Float32Array) || data.length !== count) {
      throw new RangeError(`tensor ${label(name)}: shape ${brief(shape)} needs ${count} values, got ${data.length}`);
    }
    const end = offset + 4 * count;
    headerParts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${headerParts.join(',')}}`);
  if (json.length > MAX_HEADER_BYTES) {
    throw new InputError(`a safetensors header of ${json.length} bytes is over the ${MAX_HEADER_BYTES} bytes a reader accepts; nothing was written`);
  }
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // space padding
  let at = 8 + headerLength;
  for (const [, { data }] of tensors) {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i], true);
    }
    at += data.byteLength;
  }
  return out;
}

interface Located {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A tensor as the header describes it (its data not read). */
export interface TensorHeaderEntry {
  shape: number[];
  /** Byte offsets in the data region, [begin, end). */
  begin: number;
  end: number;
}

/** What a safetensors header holds: every tensor's shape and place, and the metadata. */
export interface SafetensorsHeader {
  tensors: Map<string, TensorHeaderEntry>;
  metadata: Record<string, string>;
  /** The bytes of the data region the tensors cover (every byte, exactly once). */
  dataLength: number;
}

/** The header's length from a file's first 8 bytes, checked against the limit (and the file's size, when given). */
export function readHeaderLength(first8Bytes: Uint8Array, fileSize?: number): number {
  if (first8Bytes.length < 8) {
    throw new CheckpointError(`not a checkpoint: file is ${first8Bytes.length} bytes, shorter than a safetensors header`);
  }
  const view = new DataView(first8Bytes.buffer, first8Bytes.byteOffset, 8);
  const n64 = view.getBigUint64(0, true);
  if (fileSize !== undefined && n64 > BigInt(Math.max(0, fileSize - 8))) {
    throw new CheckpointError(`not a checkpoint: header length ${n64} exceeds the file (${Math.max(0, fileSize - 8)} bytes after the length)`);
  }
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(`not a checkpoint: header length ${n64} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const headerLength = Number(n64);
  if (headerLength === 0) throw new CheckpointError('not a checkpoint: the safetensors header does not start with "{"');
  return headerLength;
}

/**
 * Decodes and checks a header (the bytes after the length) without any tensor data: every entry F32
 * with a shape and offsets that agree, the tensors tiling the data region with no overlap and no
 * hole. With `dataLength` (the file's size less 8 and the header), the tensors must cover exactly
 * that many bytes.
 */
export function decodeSafetensorsHeader(headerBytes: Uint8Array, dataLength?: number): SafetensorsHeader {
  if (headerBytes.length > MAX_HEADER_BYTES) {
    throw new CheckpointError(`not a checkpoint: header length ${headerBytes.length} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (headerBytes.length === 0 || headerBytes[0] !== 0x7b) {
    throw new CheckpointError('not a checkpoint: the safetensors header does not start with "{"');
  }
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new CheckpointError('not a checkpoint: the safetensors header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    throw new CheckpointError('not a checkpoint: the safetensors header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError('not a checkpoint: the safetensors header is not a JSON object');
  }

  // Without the file's size, offsets are bounded only by what a file can hold.
  const limit = dataLength ?? Number.MAX_SAFE_INTEGER;
  const region = dataLength === undefined ? 'the data region' : `the data region of ${dataLength} bytes`;
  const located: Located[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      metadata = readMetadata(entry);
      continue;
    }
    const where = `corrupt checkpoint: tensor ${label(name)}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new CheckpointError(`${where}: its header entry is not an object`);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') throw new CheckpointError(`${where}: dtype is missing or not a string`);
    if (dtype !== 'F32') throw new CheckpointError(`${where}: dtype ${label(dtype)} is not supported (lstm-lens writes F32)`);
    if (!Array.isArray(shape) || !shape.every(isSafeNonNegativeInt)) {
      throw new CheckpointError(`${where}: shape ${brief(shape)} is not a list of non-negative integers`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 || !isSafeNonNegativeInt(offsets[0]) || !isSafeNonNegativeInt(offsets[1]) ||
      offsets[0] > offsets[1] || offsets[1] > limit
    ) {
      throw new CheckpointError(
        `${where}: data_offsets ${brief(offsets)} are not two ordered integers inside ${region}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    // The number of values; past the limit it is only known to be too big (and stays exact below).
    let count = (shape as number[]).includes(0) ? 0 : 1;
    for (const d of shape as number[]) {
      if (count === 0 || count > limit) break;
      count *= d;
    }
    if (4 * count !== end - begin) {
      throw new CheckpointError(
        `${where}: data_offsets [${begin}, ${end}] (${end - begin} bytes) do not match shape ${brief(shape)} of F32 ` +
          `(${count > limit ? `more than ${limit}` : 4 * count} bytes expected)`,
      );
    }
    located.push({ name, shape: (shape as number[]).slice(), begin, end });
  }

  const cursor = checkTiling(located, dataLength);
  const tensors = new Map<string, TensorHeaderEntry>();
  for (const t of located) tensors.set(t.name, { shape: t.shape, begin: t.begin, end: t.end });
  return { tensors, metadata, dataLength: cursor };
}

/**
 * Refuses tensors that do not tile the data region exactly, as the reference implementation
 * does: an overlap, a byte that belongs to no tensor, and (with `dataLength`) bytes after the
 * last (`what` begins the message). Returns the bytes they cover.
 */
export function checkTiling(located: ReadonlyArray<{ name: string; begin: number; end: number }>, dataLength?: number, what = 'corrupt checkpoint'): number {
  const byPosition = located.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: { name: string; begin: number; end: number } | null = null;
  for (const t of byPosition) {
    if (t.begin < cursor && previous !== null) {
      throw new CheckpointError(
        `${what}: tensors ${label(previous.name)} [${previous.begin}, ${previous.end}] and ${label(t.name)} [${t.begin}, ${t.end}] overlap`,
      );
    }
    if (t.begin > cursor) {
      throw new CheckpointError(
        `${what}: bytes ${cursor} to ${t.begin} of the data region belong to no tensor (the format requires every byte to be indexed)`,
      );
    }
    cursor = t.end;
    previous = t;
  }
  if (dataLength !== undefined && cursor !== dataLength) {
    throw new CheckpointError(
      `${what}: ${dataLength - cursor} trailing bytes after the last tensor in the data region (the format requires every byte to be indexed)`,
    );
  }
  return cursor;
}

export function decodeSafetensors(bytes: Uint8Array): { tensors: Map<string, TensorEntry>; metadata: Record<string, string> } {
  const headerLength = readHeaderLength(bytes.subarray(0, 8), bytes.length);
  const dataStart = 8 + headerLength;
  const header = decodeSafetensorsHeader(bytes.subarray(8, dataStart), bytes.length - dataStart);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = new Map<string, TensorEntry>();
  for (const [name, t] of header.tensors) {
    const data = new Float32Array((t.end - t.begin) / 4);
    const from = dataStart + t.begin;
    if (LITTLE_ENDIAN) {
      new Uint8Array(data.buffer).set(bytes.subarray(from, dataStart + t.end));
    } else {
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(from + 4 * i, true);
    }
    tensors.set(name, { shape: t.shape, data });
  }
  return { tensors, metadata: header.metadata };
}

function readMetadata(entry: unknown): Record<string, string> {
  if (entry === null) return {};
  if (typeof entry !== 'object' || Array.isArray(entry)) {
    throw new CheckpointError(`corrupt checkpoint: ${METADATA_KEY} is not an object of strings`);
  }
  const pairs = Object.entries(entry as Record<string, unknown>);
  for (const [key, value] of pairs) {
    if (typeof value !== 'string') {
      throw new CheckpointError(`corrupt checkpoint: metadata ${brief(key)} is not a string (got ${brief(value, 40)})`);
    }
  }
  // fromEntries defines own properties, so even a key "__proto__" stays plain data.
  return Object.fromEntries(pairs) as Record<string, string>;
}
