// `lstm-lens units CKPT FILE`: what a unit does, found from the text (docs/cli.md). The model
// reads FILE from a zero state; the units on across a selection and every other place they are on
// together (LSTMVis's rule), and the units that follow the text's annotation tracks most closely.
// The engine's functions (src/engine/units.ts) are those the editor uses.

import { clampSpec } from '../engine/clamp';
import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { modelFromCheckpoint } from '../engine/trainer';
import { charSpan, computeUnitStates, findMatches, TRACK_NAMES, trackLeaders, type MatchResult, type TrackLeader, type TrackName } from '../engine/units';
import { readCheckpointFile, readTextFile } from '../node/files';
import { intOption, oneOf, parse, realOption, UsageError } from './args';
import { CLAMP_OPTION, clampsOf } from './clampOption';
import { fitLine, outputWidth } from './layout';

/** `--select A:B`: token positions, A < B. */
function parseSelect(spec: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(spec);
  if (m === null) throw new UsageError(`--select must be A:B (token positions from 0, A < B), got "${printable(spec, 60)}"`);
  const a = Number(m[1]), b = Number(m[2]);
  if (!(Number.isSafeInteger(a) && Number.isSafeInteger(b) && a < b)) throw new UsageError(`--select must be A:B with A < B, got "${printable(spec, 60)}"`);
  return [a, b];
}

export function units(args: string[]): number {
  const { values, positionals } = parse(
    args,
    {
      state: { type: 'string' }, layer: { type: 'string' }, direction: { type: 'string' }, json: { type: 'boolean' },
      select: { type: 'string' }, threshold: { type: 'string' }, 'off-before': { type: 'string' }, 'off-after': { type: 'string' },
      tracks: { type: 'boolean' }, top: { type: 'string' }, ...CLAMP_OPTION,
    },
    'units',
  );
  if (positionals.length !== 2) throw new UsageError(`units takes CKPT and FILE${positionals.length ? `, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}` : ''} (see lstm-lens units --help)`);
  const [ckptPath, filePath] = positionals;
  const state = oneOf(values, 'state', ['h', 'c'] as const, 'h');
  const layer = intOption(values, 'layer', 0, 0);
  const direction = oneOf(values, 'direction', ['forward', 'backward'] as const, 'forward');
  const select = typeof values.select === 'string' ? parseSelect(values.select) : null;
  if (select === null) {
    for (const name of ['threshold', 'off-before', 'off-after'] as const) if (values[name] !== undefined) throw new UsageError(`--${name} goes with --select A:B`);
  } else if (values.threshold === undefined) {
    throw new UsageError('--select needs --threshold X (a unit is on where its state is >= X)');
  }
  const threshold = select ? realOption(values, 'threshold', 0, Number.isFinite, 'a number') : null;
  const offBefore = intOption(values, 'off-before', 0, 0);
  const offAfter = intOption(values, 'off-after', 0, 0);
  const withTracks = values.tracks === true;
  const top = intOption(values, 'top', 50, 0);
  const tracksTop = values.top === undefined ? 5 : top;

  const ckpt = readCheckpointFile(ckptPath);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const cfg = model.config;
  if (layer >= cfg.num_layers) throw new UsageError(`--layer ${layer}: the model has ${cfg.num_layers === 1 ? '1 layer (0)' : `${cfg.num_layers} layers (0 to ${cfg.num_layers - 1})`}`);
  if (direction === 'backward' && !cfg.bidirectional) throw new UsageError('--direction backward: the model reads forward only (it is not bidirectional)');
  const clamps = clampsOf(values, cfg);
  const { text } = readTextFile(filePath);
  const states = computeUnitStates(model, tokenizer, text, { state, layer, direction, clamps });
  if (select && select[1] > states.T) throw new InputError(`--select ${select[0]}:${select[1]} ends past the text's ${states.T} tokens (positions 0 to ${states.T - 1})`);
  const found: MatchResult = select && threshold !== null ? findMatches(states, { select, threshold, offBefore, offAfter, top }) : { units: [], matches: [], count: 0 };
  const tracks = withTracks ? trackLeaders(states, text, tracksTop) : null;
  const matches = found.matches.map((m) => {
    const chars = charSpan(states, m.start, m.end);
    return { start: m.start, end: m.end, chars, text: text.slice(chars[0], chars[1]) };
  });

  if (values.json) {
    const out = {
      state,
      layer,
      direction,
      tokens: states.T,
      select,
      threshold,
      units: found.units,
      matches,
      match_count: found.count,
      tracks,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  }
  const width = outputWidth(process.stdout, process.env);
  const lines: string[] = [];
  const clamped = clamps.length > 0 ? `, with ${clamps.map(clampSpec).join(', ')} clamped` : '';
  lines.push(`${state} of layer ${layer} (${direction}), ${cfg.hidden_size} units, over ${states.T} tokens of ${printable(filePath, 80)}${clamped}`);
  if (select && threshold !== null) {
    const [a, b] = select;
    const selChars = charSpan(states, a, b);
    const off = [offBefore > 0 ? `off for ${offBefore} before` : '', offAfter > 0 ? `off for ${offAfter} after` : ''].filter(Boolean).join(' and ');
    lines.push(`selection: tokens ${a}:${b} ${JSON.stringify(text.slice(selChars[0], selChars[1]).slice(0, 60))}, on where ${state} >= ${threshold}${off ? `, ${off}` : ''}`);
    if (found.units.length === 0) {
      lines.push('no unit is on across the whole selection: no matches');
    } else {
      lines.push(`units on: ${found.units.join(', ')}`);
      lines.push(`matches: ${found.count}${found.count > matches.length ? ` (the ${matches.length} longest shown)` : ''}, longest first`);
      for (const m of matches) lines.push(`  ${`${m.start}:${m.end}`.padEnd(14)} chars ${m.chars[0]}:${m.chars[1]}  ${JSON.stringify(m.text.length > 200 ? `${m.text.slice(0, 199)}…` : m.text)}`);
    }
  }
  if (tracks) {
    lines.push('tracks: the units that follow each most closely (Pearson r over all tokens)');
    const pad = Math.max(...TRACK_NAMES.map((n) => n.length));
    for (const name of TRACK_NAMES) {
      const leaders = (tracks as Record<TrackName, TrackLeader[]>)[name];
      lines.push(`  ${name.padEnd(pad)}  ${leaders.map((l) => `${l.unit} (r ${l.r >= 0 ? '+' : ''}${l.r.toFixed(3)})`).join(', ')}`);
    }
  }
  if (!select && !tracks) lines.push('nothing asked: give --select A:B --threshold X for the units on there and their matches, or --tracks');
  process.stdout.write(`${lines.flatMap((l) => fitLine(l, width)).join('\n')}\n`);
  return 0;
}
