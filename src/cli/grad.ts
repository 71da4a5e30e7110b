// `lstm-lens grad`: one forward and backward pass of a case, as JSON (for checks against PyTorch).

import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { parseGradCase, runGradCase } from '../engine/grad-case';
import { readJsonFile } from '../node/files';
import { onePositional, parse } from './args';

/** The largest grad case read (its weights are JSON numbers: about ten bytes each). */
const MAX_GRAD_CASE_BYTES = 64 * 2 ** 20;

export function grad(args: string[]): number {
  const { positionals } = parse(args, {}, 'grad');
  const path = onePositional(positionals, 'CASE.json', 'grad');
  const json = readJsonFile(path, 'grad case', MAX_GRAD_CASE_BYTES);
  let theCase;
  try {
    theCase = parseGradCase(json);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${printable(path)}: ${e.message}`);
    throw e;
  }
  process.stdout.write(`${JSON.stringify(runGradCase(theCase))}\n`);
  return 0;
}
