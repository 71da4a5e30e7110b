// `lstm-lens inspect`'s readable report: the model, the tokens, the shapes, the predictions and
// the trace, in lines that keep to the terminal's width.

import type { Attribution } from '../engine/attribution';
import type { Checkpoint } from '../engine/checkpoint';
import { modeOption } from '../engine/config';
import { printable } from '../engine/format';
import type { inspectText } from '../engine/inspect';
import { parameterCount } from '../engine/model';
import { describeIndices, fitLine, wrapItems } from './layout';

/** Positions whose predictions `inspect` prints as text (all of them go to --json). */
export const INSPECT_PRINTED_POSITIONS = 200;
/** Positions and units of the trace that `inspect` prints as text. */
export const INSPECT_TRACE_POSITIONS = 50;
export const INSPECT_TRACE_UNITS = 32;

/** A token as `inspect` prints it: quoted, control characters and terminal escapes escaped, long ones cut. */
const tokenText = (t: string): string => printable(JSON.stringify(t), 60);

/** The gates and states of the trace, with what each is. */
const TRACE_TENSORS = [
  ['i', 'input gate'],
  ['f', 'forget gate'],
  ['g', 'candidate cell values'],
  ['o', 'output gate'],
  ['c', 'cell state'],
  ['h', 'hidden state, the output'],
  ['dh', 'dL/dh: the loss gradient reaching h'],
  ['dc', 'dL/dc: the loss gradient reaching c'],
] as const;

/** `inspect`'s readable report: lines within `width`, the positions and units asked for (or the first ones, said so). */
export function inspectReport(
  ckpt: Checkpoint,
  result: ReturnType<typeof inspectText>,
  o: { width: number; chosenPositions: { start: number; end: number } | null; chosenUnits: number[] | null; withTrace: boolean; topN: number; attribution?: Attribution | null },
): string {
  const { width } = o;
  const cfg = ckpt.config;
  const { T } = result;
  const H = cfg.hidden_size;
  const V = cfg.vocab_size;
  const { start, end } = result.window;
  const lines: string[] = [];
  const add = (...more: string[]): void => {
    for (const line of more) lines.push(...fitLine(line, width));
  };
  const source = ckpt.training.source?.name;
  add(
    `model: ${ckpt.settings.tokens}-level, vocabulary ${V}, ${cfg.num_layers} layer${cfg.num_layers > 1 ? 's' : ''} of ${H} units${cfg.bidirectional ? ' ×2 directions' : ''}, ` +
      `${cfg.embedding_size === null ? 'one-hot input' : `embedding ${cfg.embedding_size}`}, ${modeOption(cfg.mode)}; ${parameterCount(cfg).toLocaleString('en-US')} parameters; ` +
      `trained ${ckpt.training.step} steps${source !== undefined ? ` on ${printable(source, 80)}` : ''}${ckpt.training.loss !== null ? `, loss ${ckpt.training.loss.toFixed(4)}` : ''}`,
  );
  add(
    `text: ${T} tokens, read as one sequence from a zero state (batch 1)${result.unknown > 0 ? `; ${result.unknown} not in the vocabulary` : ''}`,
    `loss (each position predicting the next): ${Number.isFinite(result.loss) ? result.loss.toFixed(4) : 'n/a (one token)'}; a uniform guess scores ln ${V} = ${Math.log(V).toFixed(4)}`,
  );
  const cut = (n: number, what: string): string => (n < T ? ` (the first ${n} of ${T} ${what}; --json has all)` : '');
  const shownCut = o.chosenPositions ? ` (positions ${start} to ${end - 1} of ${T})` : cut(end, 'positions');

  lines.push('', `tokens, by position${shownCut}:`);
  lines.push(...wrapItems(result.tokens.slice(start, end).map((t, k) => `${start + k} ${tokenText(t)}`), width));

  lines.push('', 'shapes:');
  const nameWidth = Math.max(...result.shapes.map(([n]) => n.length));
  for (const [name, shape] of result.shapes) add(`  ${name.padEnd(nameWidth)}  (${shape.join(', ')})`);

  lines.push('', `next-token predictions${shownCut}:`);
  add(`  (at each position: the top ${o.topN} guesses with their probabilities, then the actual next token's${o.chosenPositions || end >= T ? '' : '; --positions A:B shows others'})`);
  for (let t = start; t < end; t++) {
    const top = result.top[t - start].map((p) => `${tokenText(p.token)} ${p.p.toFixed(3)}`).join(', ');
    const actual = t + 1 < T ? `  (actual ${tokenText(result.tokens[t + 1])} ${Math.exp(-result.tokenLoss[t]).toFixed(3)})` : '';
    add(`  ${String(t).padStart(4)} ${printable(JSON.stringify(result.tokens[t]), 14).padEnd(14)} → ${top}${actual}`);
  }

  if (o.attribution) lines.push('', ...attributionLines(result.tokens, o.attribution, width));

  if (!o.withTrace) return `${lines.flatMap((l) => fitLine(l, width)).join('\n')}\n`;
  // Rows are steps, columns units: as many units as fit the width unless --units chose them.
  const stepEnd = o.chosenPositions ? end : Math.min(end, start + INSPECT_TRACE_POSITIONS);
  const label = (t: number): string => `      t=${String(t).padEnd(5)} ${printable(JSON.stringify(result.tokens[t]), 12).padEnd(12)}`;
  const prefix = label(0).length;
  const COLUMN = 8;
  const fit = Math.max(1, Math.floor((width - prefix) / COLUMN));
  const units = o.chosenUnits ?? Array.from({ length: Math.min(H, fit, INSPECT_TRACE_UNITS) }, (_, u) => u);
  const blocks: number[][] = [];
  for (let k = 0; k < units.length; k += fit) blocks.push(units.slice(k, k + fit));
  lines.push(
    '',
    `trace (batch 1): rows are steps ${start} to ${stepEnd - 1}${!o.chosenPositions && stepEnd < T ? ` (the first ${stepEnd} of ${T} steps; --json has all)` : ''}, ` +
      `columns units ${describeIndices(units)} of ${H} (0 to ${H - 1})`,
  );
  add(`  (choose with --units 0,3,5 or 0-7, and --positions A:B; --no-trace leaves the trace out)`);
  for (const e of result.trace) {
    lines.push(`  layer ${e.layer}, ${e.direction}:`);
    for (const [name, what] of TRACE_TENSORS) {
      const data = e[name];
      lines.push(`    ${name} (${what})`);
      if (!data) {
        lines.push('      (not computed)');
        continue;
      }
      for (const block of blocks) {
        lines.push(`${'      step'.padEnd(prefix)}${block.map((u) => `u${u}`.padStart(COLUMN - 1)).join(' ')}`);
        for (let t = start; t < stepEnd; t++) {
          lines.push(`${label(t)}${block.map((u) => data[(t - start) * H + u].toFixed(3).padStart(COLUMN - 1)).join(' ')}`);
        }
      }
    }
  }
  return `${lines.flatMap((l) => fitLine(l, width)).join('\n')}\n`;
}


/** Positions the report lists for an attribution, the strongest first. */
export const INSPECT_ATTRIBUTION_POSITIONS = 12;

/** The attribution of one prediction: the positions whose input moves log p most, by gradient norm. */
function attributionLines(tokens: string[], a: Attribution, width: number): string[] {
  const lines: string[] = [];
  const add = (line: string): void => {
    lines.push(...fitLine(line, width));
  };
  add(`attribution of the prediction at position ${a.position} ${tokenText(tokens[a.position])} of the next token ${tokenText(a.target)}:`);
  add('  (at each position k: |d log p / d x_k|, the gradient at token k\'s input, and gradient × input; the strongest first)');
  // A unidirectional model's prediction does not see the positions after it: they are all 0.
  const unseen = a.grad_norm.every((g, k) => k <= a.position || g === 0);
  const order = a.grad_norm.map((_, k) => k).filter((k) => !unseen || k <= a.position).sort((x, y) => a.grad_norm[y] - a.grad_norm[x] || x - y);
  for (const k of order.slice(0, INSPECT_ATTRIBUTION_POSITIONS)) {
    add(`  ${String(k).padStart(4)} ${printable(JSON.stringify(tokens[k]), 14).padEnd(14)} norm ${a.grad_norm[k].toFixed(4)}  grad×input ${a.grad_x_input[k] >= 0 ? ' ' : ''}${a.grad_x_input[k].toFixed(4)}`);
  }
  if (order.length > INSPECT_ATTRIBUTION_POSITIONS) add(`  (the ${INSPECT_ATTRIBUTION_POSITIONS} strongest of ${order.length} positions; --json has all)`);
  if (unseen && a.position + 1 < tokens.length) add(`  (positions ${a.position + 1} to ${tokens.length - 1} come after the prediction, which reads forward only: 0)`);
  return lines;
}
