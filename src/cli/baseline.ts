// `lstm-lens baseline FILE`: the n-gram model an LSTM trained on FILE has to beat (docs/cli.md):
// interpolated Kneser–Ney of every order 1..N over the same tokens, fitted on the first 90% of the
// text and measured on the last 10% (src/engine/ngram.ts).

import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { NGRAM_MAX_ORDER, ngramBaseline } from '../engine/ngram';
import { Tokenizer } from '../engine/tokenizer';
import { readTextFile } from '../node/files';
import { intOption, oneOf, onePositional, parse } from './args';
import { say } from './stderr';

export function baseline(args: string[]): number {
  const { values, positionals } = parse(
    args,
    { order: { type: 'string' }, tokens: { type: 'string' }, 'max-vocab': { type: 'string' }, json: { type: 'boolean' } },
    'baseline',
  );
  const file = onePositional(positionals, 'FILE', 'baseline');
  const order = intOption(values, 'order', NGRAM_MAX_ORDER, 1, NGRAM_MAX_ORDER);
  const kind = oneOf(values, 'tokens', ['char', 'word'] as const, 'char');
  const maxVocab = intOption(values, 'max-vocab', 0, 2);
  const { text, notes } = readTextFile(file);
  if (!values.json) for (const note of notes) say(`note: ${printable(note, 1000)}`);
  const tokenizer = Tokenizer.build(text, kind, maxVocab > 0 ? { maxVocab } : {});
  const { ids } = tokenizer.encode(text);
  let result: ReturnType<typeof ngramBaseline>;
  try {
    result = ngramBaseline(ids, tokenizer.size, order);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${printable(file, 200)}: ${e.message}`);
    throw e;
  }
  const orders = result.orders.map(({ order: k, loss }) => ({ order: k, loss }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ tokens: kind, train_tokens: result.train_tokens, heldout_tokens: result.heldout_tokens, orders })}\n`);
    return 0;
  }
  const V = tokenizer.size;
  const lines = [
    `n-gram baseline: interpolated Kneser–Ney over ${kind} tokens (vocabulary ${V}), fitted on the first ${result.train_tokens} tokens, ` +
      `measured on the last ${result.heldout_tokens} (10%)`,
    'order  held-out loss (nats per token, as the LSTM\'s loss)',
    ...orders.map(({ order: k, loss }) => `${String(k).padStart(5)}  ${loss.toFixed(4)}`),
    `best: order ${result.best}, ${orders[result.best - 1].loss.toFixed(4)}; a uniform guess scores ln ${V} = ${Math.log(V).toFixed(4)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
