// `lstm-lens generate`: the continuation of a prime text, token by token.

import { modelFromCheckpoint } from '../engine/trainer';
import { TextGenerator } from '../engine/sampling';
import { readCheckpointFile } from '../node/files';
import { intOption, MAX_SEED, onePositional, parse, realOption, UsageError } from './args';
import { CLAMP_OPTION, clampsOf } from './clampOption';
import { say } from './stderr';

/** SGR dim on and off (normal intensity). */
const DIM = '\x1b[2m';
const UNDIM = '\x1b[22m';

/** Whether to colour what goes to `stream`: a terminal, and no NO_COLOR in the environment (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined;
}

export function generate(args: string[]): number {
  const { values, positionals } = parse(
    args,
    { prime: { type: 'string' }, 'with-prime': { type: 'boolean' }, 'no-prime': { type: 'boolean' }, length: { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, seed: { type: 'string' }, ...CLAMP_OPTION },
    'generate',
  );
  const path = onePositional(positionals, 'CKPT', 'generate');
  const length = intOption(values, 'length', 200, 0);
  const temperature = realOption(values, 'temperature', 0.8, (n) => n >= 0, 'a number ≥ 0 (0: greedy)');
  const topK = intOption(values, 'top-k', 0, 0, Number.MAX_SAFE_INTEGER, ' (0: all)');
  const seed = intOption(values, 'seed', 0, 0, MAX_SEED);
  const ckpt = readCheckpointFile(path);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const generator = new TextGenerator(model, tokenizer, { temperature, topK }, seed, ckpt.settings.sequence_length, clampsOf(values, model.config));
  const prime = typeof values.prime === 'string' ? values.prime : '';
  const primed = generator.prime(prime);
  if (primed.unknown > 0) {
    say(`note: ${primed.unknown} token${primed.unknown > 1 ? 's' : ''} of the prime ${tokenizer.unknownId >= 0 ? 'read as <unk>' : `${primed.unknown > 1 ? 'are' : 'is'} not in the vocabulary and ${primed.unknown > 1 ? 'were' : 'was'} skipped`}`);
  }
  // The prime first, so the continuation reads in its context: dimmed on a terminal.
  // Into a pipe or a file, only the continuation (what scripts read); --with-prime or --no-prime decide.
  if (values['with-prime'] === true && values['no-prime'] === true) throw new UsageError('generate: --with-prime and --no-prime contradict each other');
  const showPrime = values['no-prime'] !== true && (values['with-prime'] === true || process.stdout.isTTY === true);
  if (showPrime && prime.length > 0) process.stdout.write(useColor(process.stdout, process.env) ? `${DIM}${prime}${UNDIM}` : prime);
  let pending = '';
  for (let k = 0; k < length; k++) {
    pending += generator.next().text;
    if (pending.length >= 64) {
      process.stdout.write(pending);
      pending = '';
    }
  }
  process.stdout.write(`${pending}\n`);
  return 0;
}

