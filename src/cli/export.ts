// `lstm-lens export CKPT --text FILE --out DIR`: the run as a folder PyTorch continues it in
// (src/node/bridge.ts exportRun; docs/cli.md).

import { printable } from '../engine/format';
import { exportRun } from '../node/bridge';
import { onePositional, parse, UsageError } from './args';
import { say } from './stderr';

export function exportCommand(args: string[]): number {
  const { values, positionals } = parse(args, { text: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } }, 'export');
  const checkpoint = onePositional(positionals, 'CKPT', 'export');
  if (typeof values.text !== 'string') throw new UsageError('export: --text FILE is required: the text the run trains on (see lstm-lens export --help)');
  if (typeof values.out !== 'string') throw new UsageError('export: --out DIR is required: the folder to write (see lstm-lens export --help)');
  const result = exportRun({ checkpoint, text: values.text, out: values.out, force: values.force === true });
  for (const note of result.notes) say(`note: ${printable(note, 1000)}`);
  const dir = printable(result.dir);
  say(`exported step ${result.step} of ${result.totalSteps} (${result.tokens.toLocaleString('en-US')} tokens, batch ${result.batchSize}) to ${dir}: ${result.files.map((f) => printable(f.slice(result.dir.length).replace(/^[\\/]/, ''))).join(', ')}`);
  say(`continue it: python3 ${dir}/train.py --steps N   (or torchrun --nproc_per_node P ${dir}/train.py --steps N; see ${dir}/README.md)`);
  if (values.json) process.stdout.write(`${JSON.stringify({ dir: result.dir, files: result.files, step: result.step, steps: result.totalSteps, tokens: result.tokens, batch_size: result.batchSize, notes: result.notes })}\n`);
  return 0;
}
