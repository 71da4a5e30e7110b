// `lstm-lens explain`: one step of one cell, forward then backward, with its numbers
// (docs/cli.md), as JSON or as a readable report (explainReport.ts). The model reads the text as
// `inspect` does; the engine's explainStep (src/engine/explain.ts) gives the numbers, the same the
// panel's Step tab shows.

import { InputError } from '../engine/config';
import { explainStep, type StepExplanation } from '../engine/explain';
import { inspectText } from '../engine/inspect';
import { modelFromCheckpoint } from '../engine/trainer';
import { readCheckpointFile } from '../node/files';
import { intOption, oneOf, onePositional, parse, UsageError } from './args';
import { CLAMP_OPTION, clampsOf } from './clampOption';
import { explainReport } from './explainReport';
import { outputWidth } from './layout';

export function explain(args: string[]): number {
  const { values, positionals } = parse(
    args,
    { text: { type: 'string' }, at: { type: 'string' }, layer: { type: 'string' }, direction: { type: 'string' }, json: { type: 'boolean' }, ...CLAMP_OPTION },
    'explain',
  );
  const path = onePositional(positionals, 'CKPT', 'explain');
  if (typeof values.text !== 'string') throw new UsageError('explain needs --text TEXT');
  if (values.at === undefined) throw new UsageError('explain needs --at t, the step to explain (a token position from 0)');
  const t = intOption(values, 'at', 0, 0);
  const layer = intOption(values, 'layer', 0, 0);
  const direction = oneOf(values, 'direction', ['forward', 'backward'] as const, 'forward');
  const ckpt = readCheckpointFile(path);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const cfg = model.config;
  if (layer >= cfg.num_layers) {
    throw new UsageError(`--layer ${layer}: the model has ${cfg.num_layers === 1 ? '1 layer (0)' : `${cfg.num_layers} layers (0 to ${cfg.num_layers - 1})`}`);
  }
  if (direction === 'backward' && !cfg.bidirectional) throw new UsageError('--direction backward: the model reads forward only (it is not bidirectional)');
  const T = tokenizer.encode(values.text).ids.length;
  if (T === 0) throw new InputError('the text has no tokens the model knows');
  if (t >= T) throw new UsageError(`--at ${t} is outside the text: its ${T} token${T === 1 ? ' is step 0' : `s are steps 0 to ${T - 1}`}`);
  // Only the step and its neighbours are kept of the trace.
  const window = { start: Math.max(0, t - 1), end: Math.min(T, t + 2) };
  // Clamps on any layer: the text is read with them, and the step's equations hold them too.
  const clamps = clampsOf(values, cfg);
  const inspection = inspectText(model, tokenizer, values.text, { topK: 0, window, clamps });
  const e = explainStep(model, inspection, { t, layer, direction }, { clamps });
  if (values.json) {
    const { token, forward, backward } = e;
    process.stdout.write(`${JSON.stringify({ token, t, layer, direction, forward, backward })}\n`);
    return 0;
  }
  const tokenNames = (id: number): string => JSON.stringify(tokenizer.tokenString(id));
  process.stdout.write(explainReport(e, { width: outputWidth(process.stdout, process.env), loss: inspection.loss, inputOf: describeInput(e, cfg, inspection.ids[t], tokenNames), above: layer === cfg.num_layers - 1 ? 'the head' : `layer ${layer + 1}`, clamps }));
  return 0;
}

/** What x is, in words. */
function describeInput(e: StepExplanation, cfg: { embedding_size: number | null; vocab_size: number; bidirectional: boolean }, id: number, name: (id: number) => string): string {
  if (e.layer > 0) return `layer ${e.layer - 1}'s h at step ${e.t}${cfg.bidirectional ? ' (forward half, then backward half)' : ''}`;
  if (cfg.embedding_size === null) return `one-hot: 1 at id ${id} (${name(id)}) of ${cfg.vocab_size}`;
  return `the embedding row of id ${id} (${name(id)})`;
}
