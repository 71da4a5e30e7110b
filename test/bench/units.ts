// The units benchmark: a text of about 1 MB (char-level, the corpus repeated) read by a
// one-layer model of hidden 256 (random weights: the time does not depend on training), the
// states of layer 0 kept; then match queries and the tracks. Prints one JSON line:
// tokens, hidden, states_s (the pass), states_mb (what is kept), rss_mb, match_ms (median of
// queries), tracks_s. Run: npm run bench:units [-- --bytes N --hidden H]

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LSTMModel } from '../../src/engine/model';
import { Random } from '../../src/engine/random';
import { Tokenizer } from '../../src/engine/tokenizer';
import { computeUnitStates, findMatches, stateAt, trackLeaders, unitStatesBytes } from '../../src/engine/units';

const { values } = parseArgs({ options: { bytes: { type: 'string' }, hidden: { type: 'string' } } });
const bytes = Number(values.bytes ?? 1_000_000);
const H = Number(values.hidden ?? 256);
const samples = join(__dirname, '..', '..', 'media', 'samples');
const source = readdirSync(samples).filter((f) => f.endsWith('.txt')).map((f) => readFileSync(join(samples, f), 'utf8')).join('\n');
let text = '';
while (text.length < bytes) text += source;
text = text.slice(0, bytes);
const tokenizer = Tokenizer.build(text, 'char');
const model = new LSTMModel({ vocab_size: tokenizer.size, embedding_size: null, hidden_size: H, num_layers: 1, bidirectional: false, mode: 'many_to_many' });
model.initialize({ kind: 'pytorch' }, new Random(1));

const t0 = performance.now();
const states = computeUnitStates(model, tokenizer, text);
const statesS = (performance.now() - t0) / 1000;
// Queries that select units: the threshold is unit k's lowest value over the selection (so unit k
// and any other as high are selected); and the worst case, every unit selected (threshold -1).
const times: number[] = [];
let found = 0;
let selected = 0;
for (let k = 0; k < 9; k++) {
  const a = Math.floor(((k + 0.5) * (states.T - 4)) / 9);
  const threshold = Math.min(stateAt(states, a, k), stateAt(states, a + 1, k), stateAt(states, a + 2, k));
  const q0 = performance.now();
  const r = findMatches(states, { select: [a, a + 3], threshold });
  times.push(performance.now() - q0);
  found += r.count;
  selected += r.units.length;
}
times.sort((x, y) => x - y);
const w0 = performance.now();
const every = findMatches(states, { select: [0, 3], threshold: -1 });
const worstMs = performance.now() - w0;
const t1 = performance.now();
trackLeaders(states, text, 5);
const tracksS = (performance.now() - t1) / 1000;
process.stdout.write(`${JSON.stringify({
  tokens: states.T, hidden: H, precision: states.scales === null ? 'float32' : 'int8',
  states_s: +statesS.toFixed(2), states_mb: +(unitStatesBytes(states) / 2 ** 20).toFixed(1),
  rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20), match_ms: +times[4].toFixed(1), match_max_ms: +times[8].toFixed(1),
  units_selected_mean: +(selected / 9).toFixed(1), matches_found: found,
  all_units_match_ms: +worstMs.toFixed(1), all_units: every.units.length, tracks_s: +tracksS.toFixed(2),
})}\n`);
