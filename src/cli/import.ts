// `lstm-lens import STATE.safetensors --vocab VOCAB.json --out CKPT [--mode ...]`: a PyTorch
// state_dict becomes a checkpoint (src/node/bridge.ts importState; docs/cli.md).

import { modeOption, type Mode } from '../engine/config';
import { printable } from '../engine/format';
import { parameterCount } from '../engine/model';
import { importState } from '../node/bridge';
import { MAX_TOKENS_PER_STEP } from '../engine/checkpoint';
import { intOption, oneOf, onePositional, parse, UsageError } from './args';
import { say } from './stderr';

/** Both spellings: the contract's many_to_one and the command line's many-to-one. */
const MODES = ['many_to_many', 'many_to_one', 'many-to-many', 'many-to-one'] as const;

export function importCommand(args: string[]): number {
  const { values, positionals } = parse(args, { vocab: { type: 'string' }, out: { type: 'string' }, mode: { type: 'string' }, seq: { type: 'string' }, batch: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } }, 'import');
  const state = onePositional(positionals, 'STATE.safetensors', 'import');
  if (typeof values.vocab !== 'string') throw new UsageError('import: --vocab VOCAB.json is required: {"kind": "char" | "word", "tokens": [...]}, a token\'s id its index');
  if (typeof values.out !== 'string') throw new UsageError('import: --out CKPT is required: the checkpoint to write');
  const mode: Mode | null = values.mode === undefined ? null : (oneOf(values, 'mode', MODES, 'many_to_many').replace(/-/g, '_') as Mode);
  const sequenceLength = values.seq === undefined ? undefined : intOption(values, 'seq', 0, 1, MAX_TOKENS_PER_STEP);
  const batchSize = values.batch === undefined ? undefined : intOption(values, 'batch', 0, 1, MAX_TOKENS_PER_STEP);
  const result = importState({ state, vocab: values.vocab, out: values.out, mode, force: values.force === true, sequenceLength, batchSize });
  const c = result.config;
  if (result.converted.length > 0) say(`note: ${result.converted.length} tensor${result.converted.length > 1 ? 's' : ''} converted to float32 (${result.converted.slice(0, 3).join(', ')}${result.converted.length > 3 ? ', ...' : ''})`);
  say(
    `imported ${c.num_layers} layer${c.num_layers > 1 ? 's' : ''} of ${c.hidden_size}${c.bidirectional ? ' ×2 directions' : ''}, ` +
      `${c.embedding_size === null ? 'one-hot input' : `embedding ${c.embedding_size}`}, ${modeOption(c.mode)}, vocabulary ${c.vocab_size}; ` +
      `${parameterCount(c).toLocaleString('en-US')} parameters; saved ${printable(result.checkpoint)} (step 0, no optimizer state)`,
  );
  if (values.json) process.stdout.write(`${JSON.stringify({ checkpoint: result.checkpoint, config: c, converted: result.converted })}\n`);
  return 0;
}
