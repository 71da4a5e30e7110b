// Text output that keeps to a width: the terminal's (or COLUMNS, or 100 when the output is not a
// terminal), long lines broken at a separator with their continuation indented, and the choices of
// `inspect` (which units, which positions) read from their options.

import { InputError } from '../engine/config';
import { printable } from '../engine/format';

export const DEFAULT_WIDTH = 100;
const MIN_WIDTH = 40;
const MAX_WIDTH = 250;

/** The width to keep to: a terminal's columns, else COLUMNS, else 100; within 40 to 250. */
export function outputWidth(stream: { isTTY?: boolean; columns?: number }, env: Record<string, string | undefined>): number {
  const fromEnv = env.COLUMNS !== undefined && /^\d+$/.test(env.COLUMNS) ? Number(env.COLUMNS) : null;
  const w = stream.isTTY && stream.columns ? stream.columns : (fromEnv ?? DEFAULT_WIDTH);
  return Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, w));
}

/**
 * The line as lines of at most `width` characters: broken after the last ", " or space that
 * leaves at least half a line, else cut; continuation lines are indented four spaces more than
 * the line itself.
 */
export function fitLine(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const indent = ' '.repeat(Math.min(width >> 1, (/^ */.exec(line)?.[0].length ?? 0) + 4));
  const out: string[] = [];
  let rest = line;
  let first = true;
  while (rest.length > 0) {
    const room = first ? width : width - indent.length;
    if (rest.length <= room) {
      out.push(first ? rest : indent + rest);
      break;
    }
    let at = rest.lastIndexOf(', ', room - 1);
    if (at >= room >> 1) at += 2;
    else {
      at = rest.lastIndexOf(' ', room);
      if (at < room >> 1) at = room;
    }
    const head = rest.slice(0, at).trimEnd();
    out.push(first ? head : indent + head);
    rest = rest.slice(at).trimStart();
    first = false;
  }
  return out;
}

/** Items joined by two spaces, as lines of at most `width` starting with `indent`. */
export function wrapItems(items: readonly string[], width: number, indent = '  '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line.length > 0 && line.length + 2 + item.length > width) {
      lines.push(line);
      line = '';
    }
    line = line.length === 0 ? indent + item : `${line}  ${item}`;
  }
  if (line.length > 0) lines.push(line);
  return lines.flatMap((l) => fitLine(l, width));
}

/** `--units`: "0,3,5", "0-7", "0-3,9" (indices from 0, below H), in the order given, each once. */
export function parseUnits(spec: string, H: number): number[] {
  const bad = (why: string): never => {
    throw new InputError(`--units ${why}, got "${printable(spec, 60)}" (unit indices from 0 to ${H - 1}: e.g. 0,3,5 or 0-7)`);
  };
  const units: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) return bad('must be indices and ranges separated by commas');
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) bad(`has a range that runs backwards (${part})`);
    if (b >= H) bad(`names unit ${b}, and the model has ${H} (0 to ${H - 1})`);
    for (let u = a; u <= b; u++) if (!units.includes(u)) units.push(u);
  }
  return units;
}

/** `--positions`: "A:B" (A < B ≤ T), "A:" (to the end) or ":B" (from 0). */
export function parsePositions(spec: string, T: number): { start: number; end: number } {
  const m = /^(\d*):(\d*)$/.exec(spec);
  const bad = (why: string): never => {
    throw new InputError(`--positions ${why}, got "${printable(spec, 60)}" (A:B with 0 ≤ A < B ≤ ${T}, the text's ${T} tokens)`);
  };
  if (!m || (m[1] === '' && m[2] === '')) bad('must be A:B, A: or :B');
  const [, a, b] = m as RegExpExecArray;
  const start = a === '' ? 0 : Number(a);
  const end = b === '' ? T : Number(b);
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end))) bad('must be whole numbers');
  if (end > T) bad(`ends past the text (${T} tokens)`);
  if (start >= end) bad('must name at least one position (A < B)');
  return { start, end };
}

/** Indices as short ranges: [0,1,2,3,7] → "0-3, 7". */
export function describeIndices(xs: readonly number[]): string {
  const parts: string[] = [];
  for (let k = 0; k < xs.length; ) {
    let j = k;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    parts.push(j > k ? `${xs[k]}-${xs[j]}` : `${xs[k]}`);
    k = j + 1;
  }
  return parts.join(', ');
}
