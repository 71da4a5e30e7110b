// What the command line says about a mistyped command or option: the nearest known name, by edit
// distance, so that "--step" is answered "did you mean --steps?".

import { printable } from '../engine/format';

/** Edit distance (insertions, deletions, substitutions, and swaps of two neighbours: "trian" is one from "train"), with a cut-off: anything over `max` is max + 1. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], before[j - 2] + 1);
      best = Math.min(best, row[j]);
    }
    if (best > max) return max + 1;
    before = previous;
    previous = row;
  }
  return previous[b.length];
}

/**
 * The known name closest to `name`: one that `name` begins (or that begins `name`) when only one
 * does, else the nearest within a third of its length (at least 1, at most 3) edits; null when
 * none is near. Ties go to the first in `known`.
 */
export function nearest(name: string, known: readonly string[]): string | null {
  if (name.length === 0) return null;
  const prefixed = known.filter((k) => k.startsWith(name) || (name.startsWith(k) && k.length >= 3));
  if (prefixed.length === 1) return prefixed[0];
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase(), limit);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * The first argument that is an option this command does not know, worded with the nearest known
 * one ("unknown option --step; did you mean --steps?"); null when every option is known. `args`
 * are as parseArgs will read them (a value that begins with a dash already joined to its option,
 * `--lr=-1`); everything after `--` is positional.
 */
export function unknownOptionMessage(args: readonly string[], options: Readonly<Record<string, { short?: string; type?: string }>>): string | null {
  const long = Object.keys(options);
  const shorts = new Set(Object.values(options).flatMap((o) => (o.short ? [o.short] : [])));
  for (const a of args) {
    if (a === '--') return null;
    if (!a.startsWith('-') || a === '-') continue;
    if (a.startsWith('--')) {
      const name = a.slice(2).split('=')[0];
      if (long.includes(name)) continue;
      const guess = nearest(name, long);
      return `unknown option --${printable(name, 60)}${guess ? `; did you mean --${guess}?` : ''}`;
    }
    // Short options, possibly grouped (-h).
    const letters = a.slice(1);
    if (/^\d/.test(letters)) continue; // a negative number: the option before it says what it needs
    for (const letter of letters) {
      if (!shorts.has(letter)) {
        const guess = nearest(letters, long);
        return `unknown option -${printable(letters, 60)}${guess ? `; did you mean --${guess}?` : ''}`;
      }
    }
  }
  return null;
}
