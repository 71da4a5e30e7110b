// The command line's face of the table of training options (src/engine/trainingOptions.ts):
// train's options for parseArgs, their help lines, and the reading of their values into the
// engine's model shape and training settings, with the messages every option has always given.

import type { ParseArgsConfig } from 'node:util';
import { TRAINING_OPTIONS, trainingOptions, validateSettings, type TrainingOption, type TrainingOptionKey, type TrainingSettings } from '../engine/trainingOptions';
import type { ModelShape } from '../engine/trainer';
import { intOption, oneOf, realOption, UsageError, type Values } from './optionValues';

type Options = NonNullable<ParseArgsConfig['options']>;
const ROWS = trainingOptions();
/** The rows a run saves (its shape and settings); the machine's (threads) are read apart. */
const RUN_ROWS = ROWS.filter((o) => o.group !== 'machine');

/** The training options for parseArgs: a switch is a boolean, every other option takes a value. */
export function trainParseOptions(): Options {
  return Object.fromEntries(ROWS.map((o) => [o.flag, { type: o.kind === 'switch' ? 'boolean' : 'string' }])) as Options;
}

/** The flags a saved run keeps as it was (--resume refuses them). */
export const MODEL_FLAGS: readonly string[] = ROWS.filter((o) => !('resumable' in o && o.resumable)).map((o) => o.flag);

/** A help line (or lines): the flag and its value in a column, the text beside it. */
export function helpLine(label: string, text: string): string {
  const [first, ...rest] = text.split('\n');
  return [`  ${label.padEnd(21)}  ${first}`, ...rest.map((line) => `${' '.repeat(25)}${line}`)].join('\n');
}

/** The training options' help lines, in the table's order. */
export function trainHelpLines(): string {
  return ROWS.map((o) => {
    const value = 'metavar' in o && o.metavar ? ` ${o.metavar}` : o.kind === 'choice' ? ` ${o.values.join('|')}` : '';
    return helpLine(`--${o.flag}${value}`, o.help);
  }).join('\n');
}

/** The rule an option's value is held to on the command line ("a whole number from 1 to 64"), as the message says it. */
function cliRule(o: Extract<TrainingOption, { kind: 'int' | 'real' }>): string {
  const noun = o.fraction ? 'a fraction' : 'a number';
  const none = o.none ? ` (0: ${o.none.meaning})` : '';
  if (o.min === undefined) return noun;
  if (o.max === undefined) return `${noun} ${o.exclusiveMin ? '>' : '≥'} ${o.min}${none}`;
  return `${noun} from ${o.min} to ${o.max}${none}`;
}

/** One option's value from the command line, as the engine stores it (undefined: left out of the settings). */
function readOption(o: TrainingOption & { key: TrainingOptionKey }, values: Values, chosen: Readonly<Record<string, unknown>>): unknown {
  if (o.kind === 'switch') return values[o.flag] === true;
  if (o.kind === 'choice') {
    const value = oneOf(values, o.flag, o.values, o.default);
    return o.engine ? o.engine[o.values.indexOf(value)] : value;
  }
  const fallback = o.defaultBy ? o.defaultBy.values[chosen[o.defaultBy.option] as string] ?? o.default : o.default;
  let n: number;
  if (o.kind === 'int') {
    n = intOption(values, o.flag, fallback, o.min ?? 0, o.max, o.none ? ` (0: ${o.none.meaning})` : '');
    const least = o.none?.least;
    if (least && n !== 0 && n < least.value) {
      throw new UsageError(`--${o.flag} must be 0 (${o.none?.meaning}) or at least ${least.value} (${least.why}), got "${values[o.flag]}"`);
    }
  } else {
    const { min, max, exclusiveMin } = o;
    const check = (x: number): boolean => (min === undefined || (exclusiveMin ? x > min : x >= min)) && (max === undefined || x <= max);
    n = realOption(values, o.flag, fallback, check, cliRule(o));
  }
  if (n === 0 && o.none?.engine === 'null') return null;
  if (n === 0 && o.none?.engine === 'absent') return undefined;
  return n;
}

/**
 * A fresh run's model shape and settings from the command line: every option checked, its
 * refusal one line naming the option; the settings then by the checkpoint's rules.
 */
export function readTrainOptions(values: Values): { shape: ModelShape; settings: TrainingSettings } {
  const chosen: Record<string, unknown> = {};
  // The choices first: a default can depend on one (--seq on --tokens, --lr on --optimizer).
  for (const o of [...RUN_ROWS.filter((r) => r.kind === 'choice'), ...RUN_ROWS.filter((r) => r.kind !== 'choice')]) {
    const value = readOption(o, values, chosen);
    if (value !== undefined) chosen[o.key] = value;
  }
  const { hidden_size, num_layers, embedding_size, bidirectional, mode, ...settings } = chosen;
  return { shape: { hidden_size, num_layers, embedding_size, bidirectional, mode } as ModelShape, settings: validateSettings(settings) };
}

/** What `--resume` may change: the options given of those it takes (--steps, --lr), by their engine names. */
export function readResumeOptions(values: Values): Partial<Pick<TrainingSettings, 'steps' | 'learning_rate'>> {
  const out: Record<string, unknown> = {};
  for (const o of RUN_ROWS) if ('resumable' in o && o.resumable && values[o.flag] !== undefined) out[o.key] = readOption(o, values, {});
  return out;
}

/** --threads as given (0: every core, up to 8; the default), checked by the table's row: resolve it with threadCount. */
export function readThreads(values: Values): number {
  return readOption({ ...TRAINING_OPTIONS.threads, key: 'threads' }, values, {}) as number;
}
