// Reading a command's arguments: parseArgs with one-line refusals, and the checks of whole
// numbers, decimals, choices and the one positional argument.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { HELP } from './help';
import { unknownOptionMessage } from './options';

export class UsageError extends InputError {
  override name = 'UsageError';
}

export type Values = Record<string, string | boolean | undefined>;

/**
 * parseArgs reads `--lr -1` as two options and calls it ambiguous; a value that begins with a dash
 * but is not one of this command's options (a negative number, a text) is joined to its option as
 * `--lr=-1`, so the option's own check answers ("must be > 0").
 */
function joinDashValues(args: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const known = new Set<string>(['--help', '-h']);
  for (const [name, o] of Object.entries(options)) {
    known.add(`--${name}`);
    if (o.short) known.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (a === '--') {
      out.push(...args.slice(k));
      break;
    }
    const next = args[k + 1];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    if (name !== null && options[name]?.type === 'string' && next !== undefined && next.startsWith('-') && next !== '-' && !known.has(next.split('=')[0])) {
      out.push(`${a}=${next}`);
      k++;
      continue;
    }
    out.push(a);
  }
  return out;
}

export function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, command: string): { values: Values; positionals: string[] } {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as const;
  const joined = joinDashValues(args, options);
  // A mistyped option is named with the nearest one ("--step": did you mean --steps?).
  const unknown = unknownOptionMessage(joined, all);
  if (unknown !== null) throw new UsageError(`${command}: ${unknown} (see lstm-lens ${command} --help)`);
  try {
    const { values, positionals } = parseArgs({ args: joined, options: all, allowPositionals: true, strict: true });
    if (values.help) {
      process.stdout.write(`${HELP[command]}\n`);
      process.exit(0);
    }
    return { values: values as Values, positionals };
  } catch (e) {
    // parseArgs explains some mistakes over several lines; the contract wants one.
    throw new UsageError(`${command}: ${printable((e as Error).message.trim().replace(/\s*\n\s*/g, ' '), 400)}`);
  }
}

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
