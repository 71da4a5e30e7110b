// What the command-line suites share: the built CLI (dist/cli.js, so `npm run build` first) run
// as a user runs it, in a folder of its own under the system's temporary folder, and a reader of
// checkpoint headers that is independent of the engine's.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
export const SAMPLE = join(ROOT, 'media', 'samples', 'belling_the_cat.txt');

/** Small and fast: word-level, one-hot, H = 8, a few sequences a step. */
export const TINY = ['--tokens', 'word', '--hidden', '8', '--seq', '6', '--batch', '4', '--quiet'];

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh folder with the sample text in it as story.txt; removed by the returned cleanup. */
export function workspace(name: string): { dir: string; story: string; cleanup: () => void } {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  const dir = mkdtempSync(join(tmpdir(), `lstm-lens-${name}-`));
  const story = join(dir, 'story.txt');
  copyFileSync(SAMPLE, story);
  return { dir, story, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function cliIn(dir: string, args: string[], options: { input?: string; timeout?: number } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: options.timeout ?? 60_000, input: options.input });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI without waiting (for signals and pipes). */
export function startCli(dir: string, args: string[], stdio: SpawnOptions['stdio'] = ['ignore', 'pipe', 'pipe']) {
  return spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio });
}

export const show = (r: Run): string => `status ${r.status} signal ${r.signal}\n--- stdout\n${r.stdout.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`;

export function ok(r: Run): Run {
  assert.equal(r.status, 0, show(r));
  return r;
}

/** Exit `status` (2 unless given), and stderr is exactly one line "lstm-lens: ..." without a stack; returns that line. */
export function refused(r: Run, message?: RegExp, status = 2): string {
  assert.equal(r.status, status, show(r));
  assert.ok(r.stderr.endsWith('\n'), `stderr ends with a newline: ${JSON.stringify(r.stderr)}`);
  const lines = r.stderr.slice(0, -1).split('\n');
  assert.equal(lines.length, 1, `stderr is one line:\n${r.stderr}`);
  const line = lines[0];
  assert.ok(line.startsWith('lstm-lens: '), line);
  assert.doesNotMatch(line, /\bat .+:\d+:\d+|^\s+at /, 'no stack frame');
  assert.doesNotMatch(line, /\b(TypeError|RangeError|SyntaxError|ReferenceError|ERR_[A-Z_]+)\b/, 'no raw JS error');
  assert.doesNotMatch(line, /\b(ENOENT|EACCES|EISDIR|ENOTDIR|ENAMETOOLONG|EROFS|ENOSPC):/, 'no raw errno message');
  if (message) assert.match(line, message);
  return line;
}

export function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trimEnd().split('\n');
  const value: unknown = JSON.parse(lines[lines.length - 1]);
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), 'the last line is a JSON object');
  return value as Record<string, unknown>;
}

/** A checkpoint's safetensors header and its metadata, read without the engine. */
export function readHeader(path: string): { metadata: Record<string, string>; config: Record<string, unknown>; training: Record<string, unknown> } {
  const file = readFileSync(path);
  assert.ok(file.length >= 8, `${path}: at least the 8-byte header length`);
  const n = Number(file.readBigUInt64LE(0));
  assert.ok(n > 0 && 8 + n <= file.length, `${path}: header length ${n} fits in the file`);
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as { __metadata__: Record<string, string> };
  const metadata = header.__metadata__;
  assert.equal(metadata.format, 'lstm-lens/1');
  return { metadata, config: JSON.parse(metadata.config) as Record<string, unknown>, training: JSON.parse(metadata.training) as Record<string, unknown> };
}

/** The step a checkpoint was saved at. */
export const savedStep = (path: string): number => readHeader(path).training.step as number;

/** No control character (C0 but \n, DEL, C1) and no bidirectional override in `s`: nothing a terminal would act on. */
export function assertNoControl(s: string, what: string): void {
  // eslint-disable-next-line no-control-regex
  const m = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.exec(s);
  assert.equal(m, null, `${what} holds a raw control character ${m ? JSON.stringify(m[0]) : ''} at ${m?.index}: ${JSON.stringify(s.slice(Math.max(0, (m?.index ?? 0) - 40), (m?.index ?? 0) + 40))}`);
}

/** A checkpoint's parameters (not its optimizer state), read straight from its safetensors bytes. */
export function tensors(path: string): Map<string, Float32Array> {
  const file = readFileSync(path);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const out = new Map<string, Float32Array>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__' || name.startsWith('optimizer.')) continue;
    const [b, e] = entry.data_offsets;
    const bytes = file.subarray(8 + n + b, 8 + n + e);
    out.set(name, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  }
  return out;
}

/** The predictions of inspect's readable report, one entry each: a prediction too wide for the line
 * continues on the lines below it, indented, and is joined back here. */
export function predictionEntries(lines: string[]): string[] {
  const isPrediction = (l: string): boolean => /^\s+\d+ .* → /.test(l);
  const predictions: string[] = [];
  lines.forEach((l, k) => {
    if (!isPrediction(l)) return;
    let entry = l;
    for (let j = k + 1; j < lines.length && /^ {6,}\S/.test(lines[j]) && !isPrediction(lines[j]); j++) entry += ` ${lines[j].trim()}`;
    predictions.push(entry);
  });
  return predictions;
}
