// The Units tab's decisions, as pure functions (no `vscode` import: unit-tested in plain Node):
// default thresholds, when the states are read again while a model trains, the shades of the
// editor's colouring, and how a clamp is named.

import type { MatchQueryMessage, StatesChoice, UnitsClamp } from '../protocol/units';

/**
 * A unit is "on" at this value by default. h = o · tanh(c) lies in (-1, 1), and a unit that is
 * clearly on sits above 0.5; c is unbounded (it sums what the input gate lets in), and a cell that
 * holds something is usually above 1.
 */
export const DEFAULT_THRESHOLD: Readonly<Record<'h' | 'c', number>> = { h: 0.5, c: 1 };

export function defaultQuery(state: 'h' | 'c'): MatchQueryMessage {
  return { threshold: DEFAULT_THRESHOLD[state], offBefore: 0, offAfter: 0 };
}

export const DEFAULT_CHOICE: StatesChoice = { state: 'h', layer: 0, direction: 'forward' };

/** While the model trains, its states are read again at most this often (when a newer checkpoint was saved). */
export const LIVE_EVERY_MS = 3000;

export function sameChoice(a: StatesChoice, b: StatesChoice): boolean {
  return a.state === b.state && a.layer === b.layer && a.direction === b.direction;
}

/**
 * Whether to read the states again now: a newer checkpoint than the states were read from, nothing
 * asked of the worker still, and LIVE_EVERY_MS since the last reading began.
 */
export function liveRereadDue(o: { now: number; lastReadAt: number; busy: boolean; savedAt: number | null; readFromSavedAt: number | null }): boolean {
  if (o.busy || o.savedAt === null) return false;
  if (o.readFromSavedAt !== null && o.savedAt <= o.readFromSavedAt) return false;
  return o.now - o.lastReadAt >= LIVE_EVERY_MS;
}

/** Shades of each sign in the editor's colouring by a unit. */
export const UNIT_SHADES = 5;

/**
 * The decoration bucket of a value: 0 .. UNIT_SHADES-1 negative (weak to strong), UNIT_SHADES ..
 * 2·UNIT_SHADES-1 positive, by |v| / max (max: the unit's largest |s| over the whole text).
 */
export function shadeOf(v: number, max: number): number {
  const strength = Math.min(UNIT_SHADES - 1, Math.floor((Math.abs(v) / Math.max(1e-12, max)) * UNIT_SHADES));
  return (v < 0 ? 0 : UNIT_SHADES) + strength;
}

/** A clamp as the command line writes it (`c:0:12=1.5`), and as the status bar shows it. */
export function clampName(c: UnitsClamp): string {
  return `${c.state}:${c.layer}:${c.unit}=${c.value}`;
}

/** Characters of the text before the cursor that the before/after comparison reads. */
export const COMPARE_PRIME_CHARS = 20_000;
/** Tokens the before/after comparison generates: the Generation settings' length, at most this. */
export const COMPARE_LENGTH = 120;

/** The range of characters to colour: the visible ranges, with a screen's worth around them, within the text. */
export function colouringRange(visible: ReadonlyArray<readonly [number, number]>, textLength: number, margin = 4000): [number, number] {
  if (visible.length === 0) return [0, Math.min(textLength, margin)];
  const a = Math.min(...visible.map((r) => r[0]));
  const b = Math.max(...visible.map((r) => r[1]));
  return [Math.max(0, a - margin), Math.min(textLength, b + margin)];
}

/** Why Find Units Active in Selection cannot run on this selection (null: it can). */
export function selectionProblem(start: number, end: number): string | null {
  if (end <= start) return 'select the stretch of text whose units you want to find first';
  return null;
}

/** One change of a text, in offsets of the text before it: `length` characters at `offset` replaced by `inserted` characters. */
export interface TextChange {
  offset: number;
  length: number;
  inserted: number;
}

/**
 * The selection [a, b) after the changes (all in offsets of the text before them, none overlapping,
 * as one edit reports them): a change that ends at or before a moves it, one that starts at or after
 * b leaves it, one that touches its inside clears it (null: the selected text is no longer the one
 * whose units were found).
 */
export function shiftSelection(select: readonly [number, number] | null, changes: readonly TextChange[]): [number, number] | null {
  if (!select) return null;
  const [a, b] = select;
  let shift = 0;
  for (const c of changes) {
    const end = c.offset + c.length;
    if (end <= a) shift += c.inserted - c.length;
    else if (c.offset >= b) continue;
    else return null;
  }
  return [a + shift, b + shift];
}
