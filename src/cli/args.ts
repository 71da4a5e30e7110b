// Reading a command's arguments: parseArgs with one-line refusals and --help. The checks of
// single values (whole numbers, decimals, choices, the one positional) are in optionValues.ts,
// re-exported here; they do not need the help texts, so the options table can use them.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { printable } from '../engine/format';
import { HELP } from './help';
import { unknownOptionMessage } from './options';
import { UsageError, type Values } from './optionValues';

export * from './optionValues';

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

