// The training loop's Step tab (src/run/trainingLoop.ts runTraining with a real small Trainer): a
// watched sequence that names a step is traced and then explained, the `step` message right after
// its `trace`, both of the same weights. The references: the cell's equations in float64 from the
// trained weights (z = W_ih x + W_hh h_prev + b_ih + b_hh, the gates, c, h), the trace's own states
// and total gradients at that step, and the running product of the trace's forget gates.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrainingSettings } from '../../../src/engine/checkpoint';
import { Trainer, type ModelShape } from '../../../src/engine/trainer';
import type { StepMessage, TraceMessage } from '../../../src/protocol/panel';
import type { Sequence } from '../../../src/protocol/worker';
import { runTraining, type LoopMessage } from '../../../src/run/trainingLoop';
import { SETTINGS, STREAMS, TEXT, WINDOWS } from '../engine/trainer-support';

const SEQUENCE_TEXT = 'First Citizen:\nSpeak, speak.';

type Panel = TraceMessage | StepMessage;

/** Runs `steps` steps watching `sequence`; the panel messages in the order posted. */
async function train(shape: ModelShape, settings: TrainingSettings, sequence: Sequence, everyMs: number): Promise<{ trainer: Trainer<unknown, unknown>; panel: Panel[] }> {
  const trainer = Trainer.create(TEXT, 'citizens.txt', shape, settings) as unknown as Trainer<unknown, unknown>;
  const panel: Panel[] = [];
  // One watch for the whole run (a new object is a new watch, traced at once).
  const watch = { sequence, everyMs };
  await runTraining(
    trainer,
    {
      post: (m: LoopMessage) => {
        if (m.type === 'panel' && (m.message.type === 'trace' || m.message.type === 'step')) panel.push(m.message);
      },
      save: () => undefined,
      yieldNow: () => Promise.resolve(),
      stopRequested: () => false,
      watched: () => watch,
    },
    { saveEverySteps: 1000, saveEveryMs: 0, progressEveryMs: 0 },
  );
  return { trainer, panel };
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Value (T, H) block k of a trace entry's (6, T, H) states or (2, T, H) gradients, at step t, unit u. */
const at = (data: Float32Array, block: number, T: number, H: number, t: number, u: number): number => data[(block * T + t) * H + u];

describe('the training loop explains the watched step', { timeout: 120_000 }, () => {
  it('posts a step after each trace, of the same step and text, whose numbers are the cell equations of the trained weights', async () => {
    const settings = { ...SETTINGS, steps: 4 };
    const request = { t: 5, layer: 1, direction: 'forward' as const };
    // everyMs far away: traced at the first step (a new watch) and at the last (the run done).
    const { trainer, panel } = await train(STREAMS, settings, { text: SEQUENCE_TEXT, source: 'sample', keep: 'last', explain: request }, 1e9);
    assert.deepEqual(panel.map((m) => m.type), ['trace', 'step', 'trace', 'step']);
    assert.deepEqual(panel.map((m) => m.step), [1, 1, 4, 4]);
    const trace = panel[2] as TraceMessage;
    const step = panel[3] as StepMessage;
    const e = step.explanation;
    assert.deepEqual([e.t, e.layer, e.direction, e.T, e.token], [5, 1, 'forward', trace.T, trace.tokens[5]]);

    // The cell's equations in float64 from the weights the run ended with (those the last trace read).
    const { T, H } = trace;
    const params = trainer.checkpoint().params;
    const W = (name: string): Float32Array => {
      const p = params.get(name);
      assert.ok(p, name);
      return p;
    };
    const layer0 = trace.entries.find((x) => x.layer === 0 && x.direction === 'forward');
    const layer1 = trace.entries.find((x) => x.layer === 1 && x.direction === 'forward');
    assert.ok(layer0 && layer1 && layer1.gradients);
    const I = H; // layer 1 reads layer 0's h
    const x = Array.from({ length: I }, (_, j) => at(layer0.states, 5, T, H, 5, j));
    const hPrev = Array.from({ length: H }, (_, j) => at(layer1.states, 5, T, H, 4, j));
    const cPrev = Array.from({ length: H }, (_, j) => at(layer1.states, 4, T, H, 4, j));
    const [wih, whh, bih, bhh] = [W('lstm.weight_ih_l1'), W('lstm.weight_hh_l1'), W('lstm.bias_ih_l1'), W('lstm.bias_hh_l1')];
    const tol = 1e-5;
    for (let u = 0; u < H; u++) {
      const z = [0, 1, 2, 3].map((g) => {
        const r = g * H + u;
        let s = bih[r] + bhh[r];
        for (let j = 0; j < I; j++) s += wih[r * I + j] * x[j];
        for (let j = 0; j < H; j++) s += whh[r * H + j] * hPrev[j];
        return s;
      });
      z.forEach((zg, g) => assert.ok(Math.abs(e.forward.z[g * H + u] - zg) < tol, `z[${g}][${u}]: ${e.forward.z[g * H + u]} vs ${zg}`));
      const [i, f, g, o] = [sigmoid(z[0]), sigmoid(z[1]), Math.tanh(z[2]), sigmoid(z[3])];
      const c = f * cPrev[u] + i * g;
      const h = o * Math.tanh(c);
      for (const [name, got, want] of [['i', e.forward.i[u], i], ['f', e.forward.f[u], f], ['g', e.forward.g[u], g], ['o', e.forward.o[u], o], ['c', e.forward.c[u], c], ['h', e.forward.h[u], h]] as const) {
        assert.ok(Math.abs(got - want) < tol, `${name}[${u}]: ${got} vs ${want}`);
      }
      // The trace's own numbers at t: the same state, and dh and dc, the total derivatives, as the sum of their parts.
      assert.ok(Math.abs(e.forward.h[u] - at(layer1.states, 5, T, H, 5, u)) < tol);
      assert.ok(Math.abs(e.backward.dh_up[u] + e.backward.dh_next[u] - at(layer1.gradients, 0, T, H, 5, u)) < tol);
      assert.ok(Math.abs(e.backward.dc_via_h[u] + e.backward.dc_next[u] - at(layer1.gradients, 1, T, H, 5, u)) < tol);
    }

    // The memory span: steps 5 … T−1, the running product of the trace's forget gates from step 6 on.
    assert.deepEqual(step.span.steps, Array.from({ length: T - 5 }, (_, s) => 5 + s));
    for (let u = 0; u < H; u++) {
      let product = 1;
      for (let s = 0; s < T - 5; s++) {
        if (s > 0) product *= at(layer1.states, 1, T, H, 5 + s, u);
        assert.ok(Math.abs(step.span.memory[s * H + u] - product) < 1e-6, `memory at ${5 + s}, unit ${u}`);
      }
    }
    // The earlier pair kept its own numbers while training went on (copies, not the model's buffers).
    const early = panel[1] as StepMessage;
    const earlyTrace = panel[0] as TraceMessage;
    const early1 = earlyTrace.entries.find((x) => x.layer === 1 && x.direction === 'forward');
    assert.ok(early1);
    for (let u = 0; u < H; u++) assert.ok(Math.abs(early.explanation.forward.h[u] - at(early1.states, 5, T, H, 5, u)) < tol);
    assert.notDeepEqual(early.explanation.forward.h, e.forward.h, 'the weights moved between the two traces');
  });

  it('explains the token before the cursor when the step is not named, and nothing when no step is asked for', async () => {
    const settings = { ...SETTINGS, steps: 2 };
    const cursor = SEQUENCE_TEXT.indexOf(',') + 1; // just after "Speak,"
    const { panel } = await train(STREAMS, settings, {
      text: SEQUENCE_TEXT, source: 'sample', keep: 'first', explain: { t: null, layer: 0, direction: 'forward' },
      span: { kind: 'start', firstLine: 0, clippedBefore: false, clippedAfter: false, cursor: { offset: cursor, line: 1, column: 6 } },
    }, 1e9);
    const steps = panel.filter((m): m is StepMessage => m.type === 'step');
    const trace = panel.find((m): m is TraceMessage => m.type === 'trace');
    assert.ok(steps.length > 0 && trace);
    // Char tokens: the token before the cursor is the comma.
    for (const s of steps) assert.equal(trace.tokens[s.explanation.t], ',');
    const none = await train(STREAMS, settings, { text: SEQUENCE_TEXT, source: 'sample', keep: 'last' }, 0);
    assert.ok(none.panel.length >= 2 && none.panel.every((m) => m.type === 'trace'), 'no step without a request');
  });

  it('explains the backward direction of a bidirectional model, its span toward the start', async () => {
    const { panel } = await train(WINDOWS, { ...SETTINGS, steps: 2 }, { text: SEQUENCE_TEXT, source: 'sample', keep: 'last', explain: { t: 3, layer: 0, direction: 'backward' } }, 1e9);
    const step = panel.at(-1) as StepMessage;
    assert.equal(step.type, 'step');
    assert.deepEqual([step.explanation.t, step.explanation.direction], [3, 'backward']);
    assert.deepEqual(step.span.steps, [3, 2, 1, 0]);
  });
});
