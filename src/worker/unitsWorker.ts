// The units worker (worker_threads): the Units tab's states, kept between questions. `open` reads a
// text with a saved model and keeps one layer's h or c over every token (src/engine/units.ts, in
// pieces, in bounded memory); `query`, `tracks` and `values` then only read what is kept, so a
// changed threshold answers at once. `compare` reads and generates before and after a clamp.
// Every message in is checked (src/protocol/units.ts); one question at a time, in order.

import { parentPort } from 'node:worker_threads';
import { InputError } from '../engine/config';
import { inspectText } from '../engine/inspect';
import type { LSTMModel } from '../engine/model';
import { TextGenerator } from '../engine/sampling';
import type { Tokenizer } from '../engine/tokenizer';
import { modelFromCheckpoint } from '../engine/trainer';
import { charSpan, computeUnitStates, stateAt, findMatches, TRACK_NAMES, trackLeaders, tokensOfChars, unitStatesBytes, unitValuesIn, type UnitStates } from '../engine/units';
import { checkTextSize, readCheckpointFile } from '../node/files';
import { checkHostToUnitsWorker, UNITS_MAX_VALUES, type CompareOutcome, type HostToUnitsWorker, type UnitsClamp, type UnitsWorkerToHost } from '../protocol/units';

if (!parentPort) throw new Error('this module runs as a worker thread');
const port = parentPort;

function post(message: UnitsWorkerToHost, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

interface Session {
  model: LSTMModel;
  tokenizer: Tokenizer;
  sequenceLength: number;
  text: string;
  states: UnitStates;
}
let session: Session | null = null;

port.on('message', (raw: unknown) => {
  const checked = checkHostToUnitsWorker(raw);
  if (!checked.ok) {
    post({ type: 'failed', id: null, message: `the units worker received a malformed message (${checked.error})` });
    return;
  }
  const m = checked.message;
  try {
    answer(m);
  } catch (e) {
    const message = e instanceof InputError ? e.message : `the units worker failed: ${e instanceof Error ? e.message : String(e)}`;
    post({ type: 'failed', id: m.id, message });
  }
});

function opened(): Session {
  if (!session) throw new InputError('no states are kept yet');
  return session;
}

function answer(m: HostToUnitsWorker): void {
  switch (m.type) {
    case 'open': {
      checkTextSize(m.text.length);
      session = null; // the old states go before the new ones are made
      const ckpt = readCheckpointFile(m.checkpointPath);
      const { model, tokenizer } = modelFromCheckpoint(ckpt);
      const started = performance.now();
      let last = 0;
      const states = computeUnitStates(model, tokenizer, m.text, {
        ...m.choice,
        onProgress: (done, total) => {
          const now = performance.now();
          if (now - last > 100 || done === total) {
            last = now;
            post({ type: 'progress', id: m.id, done, total });
          }
        },
      });
      session = { model, tokenizer, sequenceLength: ckpt.settings.sequence_length, text: m.text, states };
      const cfg = model.config;
      post({ type: 'opened', id: m.id, T: states.T, H: states.H, layers: cfg.num_layers, directions: cfg.bidirectional ? 2 : 1, bytes: unitStatesBytes(states), exact: states.scales === null, ms: performance.now() - started, step: ckpt.training.step });
      return;
    }
    case 'query': {
      const { states, tokenizer } = opened();
      const started = performance.now();
      const select = tokensOfChars(states, m.select[0], m.select[1]);
      if (!select) throw new InputError(`the selection holds no token the model reads${tokenizer.kind === 'word' ? ' (a word model drops white space): select a word or a sign' : ''}`);
      const found = findMatches(states, { select, threshold: m.query.threshold, offBefore: m.query.offBefore, offAfter: m.query.offAfter, top: m.top });
      const matches = found.matches.map((x) => ({ start: x.start, end: x.end, chars: charSpan(states, x.start, x.end) }));
      post({ type: 'matches', id: m.id, select, units: found.units, matches, count: found.count, ms: performance.now() - started });
      return;
    }
    case 'tracks': {
      const { states, text } = opened();
      const started = performance.now();
      const leaders = trackLeaders(states, text, m.top);
      post({ type: 'leaders', id: m.id, tracks: TRACK_NAMES.map((name) => ({ name, leaders: leaders[name] })), ms: performance.now() - started });
      return;
    }
    case 'values': {
      const { states } = opened();
      const { first, values } = unitValuesIn(states, m.unit, m.range[0], m.range[1], UNITS_MAX_VALUES);
      const spans = states.spans.slice(2 * first, 2 * (first + values.length));
      let max = 0;
      for (let t = 0; t < states.T; t++) {
        // The scale is the unit's over the whole text, so that colours mean the same when scrolled.
        const x = Math.abs(stateAt(states, t, m.unit));
        if (x > max) max = x;
      }
      post({ type: 'values', id: m.id, unit: m.unit, spans, values, max }, [spans.buffer as ArrayBuffer, values.buffer as ArrayBuffer]);
      return;
    }
    case 'compare': {
      const s = opened();
      const before = outcome(s, m.prime, [], m);
      const after = outcome(s, m.prime, [m.clamp], m);
      post({ type: 'compared', id: m.id, before, after });
      return;
    }
  }
}

/** What the model does after `prime` with these clamps: its top next tokens, its loss on `prime`, and a continuation. */
function outcome(s: Session, prime: string, clamps: UnitsClamp[], m: Extract<HostToUnitsWorker, { type: 'compare' }>): CompareOutcome {
  let top: CompareOutcome['top'] = [];
  let loss: number | null = null;
  const T = s.tokenizer.encode(prime).ids.length;
  if (T > 0) {
    const inspected = inspectText(s.model, s.tokenizer, prime, { topK: 5, window: { start: T - 1, end: T }, gradients: false, clamps });
    top = (inspected.top[0] ?? []).map((g) => ({ token: g.token, p: Math.min(1, Math.max(0, g.p)) }));
    loss = Number.isFinite(inspected.loss) ? inspected.loss : null;
  }
  const generator = new TextGenerator(s.model, s.tokenizer, { temperature: m.temperature, topK: m.topK }, m.seed, s.sequenceLength, clamps);
  generator.prime(prime);
  let generated = '';
  for (let k = 0; k < m.length; k++) generated += generator.next().text;
  return { top, loss, generated };
}
