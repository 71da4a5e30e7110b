// `lstm-lens explain`'s readable report: the forward equations of one step, then the backward
// ones, one column per unit, in lines that keep to the terminal's width.

import { clampSpec, type Clamp } from '../engine/clamp';
import type { StepExplanation } from '../engine/explain';
import { printable } from '../engine/format';
import { fitLine } from './layout';

/** Units printed as text at most (every one with --json). */
export const EXPLAIN_PRINTED_UNITS = 8;

/** A number in 9 characters: 4 decimals, or 3 significant digits with an exponent when small or large. */
function num(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? v.toFixed(4) : v.toExponential(2);
}

/** The readable rendering: the forward equations, then the backward ones, one column per unit. */
export function explainReport(e: StepExplanation, o: { width: number; loss: number; inputOf: string; above: string; clamps?: readonly Clamp[] }): string {
  const H = e.forward.h.length;
  const I = e.forward.x.length;
  const LABEL = 28;
  const COLUMN = 9;
  const shown = Math.max(1, Math.min(H, EXPLAIN_PRINTED_UNITS, Math.floor((o.width - LABEL) / COLUMN)));
  const lines: string[] = [];
  const row = (label: string, values: ArrayLike<number>, from = 0): void => {
    let line = `  ${label}`.padEnd(LABEL);
    for (let j = 0; j < shown; j++) line += num(values[from + j]).padStart(COLUMN);
    lines.push(line.trimEnd());
  };
  const list = (label: string, values: number[]): void => {
    const n = Math.min(values.length, EXPLAIN_PRINTED_UNITS);
    const more = values.length > n ? `, … (the first ${n} of ${values.length})` : '';
    lines.push(`  ${label}`.padEnd(LABEL) + `[${values.slice(0, n).map(num).join(', ')}${more}]`);
  };
  const dir = e.direction;
  const prevStep = dir === 'forward' ? e.t - 1 : e.t + 1;
  const nextStep = dir === 'forward' ? e.t + 1 : e.t - 1;
  lines.push(
    `step ${e.t} (${printable(JSON.stringify(e.token), 60)}) of the text's steps 0 to ${e.T - 1}, layer ${e.layer}, ${dir}: H = ${H}, input I = ${I}`,
    `loss ${Number.isFinite(o.loss) ? o.loss.toFixed(4) : 'n/a (one token)'}: the mean over the positions predicting the next token, read from a zero state`,
  );
  if (shown < H) lines.push(`units 0 to ${shown - 1} of ${H} shown (--json has every unit)`);
  const clamps = o.clamps ?? [];
  if (clamps.length > 0) lines.push(`clamped while the model reads: ${clamps.map(clampSpec).join(', ')} (no gradient flows through a clamped value)`);
  const here = e.direction === 'forward' ? clamps.filter((c) => c.layer === e.layer) : [];
  const held = (state: 'c' | 'h'): string => here.filter((c) => c.state === state).map((c) => `${state}[${c.unit}] = ${c.value}`).join(', ');
  lines.push('', `forward    z = W_ih·x + W_hh·h_prev + b_ih + b_hh, gate rows i, f, g, o`);
  lines.push(`  ${'unit'.padEnd(LABEL - 2)}${Array.from({ length: shown }, (_, j) => String(j).padStart(COLUMN)).join('')}`);
  lines.push(`  x = ${o.inputOf}`);
  if (e.layer > 0 || I <= EXPLAIN_PRINTED_UNITS || !e.forward.x.every((v) => v === 0 || v === 1)) list('x', e.forward.x);
  const first = e.is_first ? ' (first step: zeros)' : ` (step ${prevStep})`;
  row(`h_prev${first}`, e.forward.h_prev);
  row(`c_prev${first}`, e.forward.c_prev);
  const gates = [
    ['i', 'σ'],
    ['f', 'σ'],
    ['g', 'tanh'],
    ['o', 'σ'],
  ] as const;
  gates.forEach(([gate, fn], k) => {
    row(`W_ih·x  [${gate}]`, e.forward.Wx, k * H);
    row(`W_hh·h_prev  [${gate}]`, e.forward.Uh, k * H);
    row(`b_ih + b_hh  [${gate}]`, e.forward.b, k * H);
    row(`z_${gate} = sum of the three`, e.forward.z, k * H);
    row(`${gate} = ${fn}(z_${gate})`, e.forward[gate]);
  });
  row('c = f⊙c_prev + i⊙g', e.forward.c);
  row('tanh(c)', e.forward.tanh_c);
  row('h = o⊙tanh(c)', e.forward.h);
  if (held('c')) lines.push(`  clamped here: ${held('c')} as soon as c is computed; tanh(c) and h read it`);
  if (held('h')) lines.push(`  clamped here: ${held('h')} as soon as h is computed`);

  const b = e.backward;
  lines.push('', `backward   dL/d· of the loss; ${e.is_last ? `step ${e.t} is this direction's last: nothing comes back from a next step` : `the next step this direction reads is ${nextStep}`}`);
  row(`dh_up (from ${o.above})`, b.dh_up);
  row(e.is_last ? 'dh_next (last step: 0)' : 'dh_next = W_hhᵀ dz(next)', b.dh_next);
  row('dh = dh_up + dh_next', b.dh);
  row('dc_via_h = dh⊙o⊙(1-tanh²c)', b.dc_via_h);
  row(e.is_last ? 'dc_next (last step: 0)' : 'dc_next = dc(next)⊙f(next)', b.dc_next);
  row('dc = dc_via_h + dc_next', b.dc);
  if (held('h')) lines.push(`  clamped ${held('h')}: its dh goes no further (do and dc_via_h are 0 there)`);
  if (held('c')) lines.push(`  clamped ${held('c')}: its dc goes no further (di, df, dg, dc_prev and dc_next are 0 there)`);
  row('di = dc⊙g', b.di);
  row('df = dc⊙c_prev', b.df);
  row('dg = dc⊙i', b.dg);
  row('do = dh⊙tanh(c)', b.do);
  row('dz_i = di⊙i⊙(1-i)', b.dz, 0);
  row('dz_f = df⊙f⊙(1-f)', b.dz, H);
  row('dz_g = dg⊙(1-g²)', b.dz, 2 * H);
  row('dz_o = do⊙o⊙(1-o)', b.dz, 3 * H);
  const back = e.is_first ? 'the initial state' : `step ${prevStep}`;
  lines.push(`  sent back to ${back} and to the input:`);
  row('dc_prev = dc⊙f', b.dc_prev);
  row('dh_prev = W_hhᵀ dz', b.dh_prev);
  list('dx = W_ihᵀ dz', b.dx);
  return `${lines.flatMap((line) => fitLine(line, o.width)).join('\n')}\n`;
}
