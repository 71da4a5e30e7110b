// The checks of a command's single option values: whole numbers, decimals, choices and the one
// positional argument, each refused in one line that names the rule.

import { InputError } from '../engine/config';
import { printable } from '../engine/format';

export class UsageError extends InputError {
  override name = 'UsageError';
}

export type Values = Record<string, string | boolean | undefined>;

/** A plain decimal whole number: digits only (no sign, no spaces, no 0x, no exponent). */
const WHOLE = /^\d+$/;
/** A plain decimal number: optional minus, digits with an optional fraction, an optional exponent (1e-3, 0.004, -2). */
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

const quoted = (raw: unknown): string => `"${printable(String(raw), 60)}"`;

/** A whole-number option from `min` to `max`; anything else (-1, 2.5, 0x10, ' 8 ', 1e3) is refused naming the range. */
export function intOption(values: Values, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, extra = ''): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const rule = max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
  if (typeof raw !== 'string' || !WHOLE.test(raw)) throw new UsageError(`--${name} must be ${rule}${extra}, got ${quoted(raw)}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be ${rule}${extra}, got ${quoted(raw)}`);
  return n;
}

/** A decimal number option that passes `check` (whose rule, e.g. "> 0", the message names). */
export function realOption(values: Values, name: string, fallback: number, check: (n: number) => boolean, rule: string): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && DECIMAL.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${rule}, got ${quoted(raw)}`);
  return n;
}

export { MAX_SEED } from '../engine/trainingOptions';

export function oneOf<T extends string>(values: Values, name: string, choices: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${quoted(raw)}`);
  return raw as T;
}

export function onePositional(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes one ${what}${positionals.length ? `, got ${positionals.length} arguments` : ''} (see lstm-lens ${command} --help)`);
  return positionals[0];
}
