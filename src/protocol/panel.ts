// Messages between the extension host and the Inspect States webview. Each direction is a
// discriminated union on `type`; the schemas (valibot) are the types, and both sides check every
// message they receive. Large tensors travel as Float32Array (structured clone), not JSON arrays.
//
// Layouts: a trace entry's `states` is (6, T, H): i, f, g, o, c, h of one layer and direction for
// the T tokens of the sequence (batch 1); `gradients` is (2, T, H): dL/dh_t and dL/dc_t. A
// parameter gradient block is (rows, cols) row-major.

import * as v from 'valibot';
import { checkMessage, type Checked } from './check';
import { whyPanelProblem, WhyHostToPanelSchema, WhyPanelToHostSchema, type WhyHostToPanel } from './why';
import { unitsPanelProblem, UnitsHostToPanelSchema, UnitsPanelToHostSchema, type UnitsHostToPanel } from './units';

export type { Checked };

const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const finite = v.pipe(v.number(), v.finite());
const floats = v.instance(Float32Array);
const shape = v.array(nonNegativeInt);

export const STATE_NAMES = ['i', 'f', 'g', 'o', 'c', 'h'] as const;
export const GRADIENT_NAMES = ['dh', 'dc'] as const;
export type StateName = (typeof STATE_NAMES)[number];
export type GradientName = (typeof GRADIENT_NAMES)[number];
export type TensorName = StateName | GradientName;

const PanelModelSummarySchema = v.strictObject({
  file: v.string(),
  tokens: v.picklist(['char', 'word']),
  vocabSize: positiveInt,
  hiddenSize: positiveInt,
  layers: positiveInt,
  directions: v.picklist([1, 2]),
  embeddingSize: v.nullable(positiveInt),
  mode: v.picklist(['many_to_many', 'many_to_one']),
  sequenceLength: positiveInt,
  batchSize: positiveInt,
  step: nonNegativeInt,
  loss: v.nullable(finite),
  parameters: positiveInt,
  /** The run's gradient clipping threshold (null: none; absent in older messages). */
  clip: v.optional(v.nullable(finite)),
});

const TraceEntrySchema = v.pipe(
  v.strictObject({
    layer: nonNegativeInt,
    direction: v.picklist(['forward', 'backward']),
    states: floats,
    gradients: v.nullable(floats),
    /** (2, T, H): dL/dh_t and dL/dc_t of the last position's loss alone (absent in older messages). */
    lastGradients: v.optional(v.nullable(floats)),
  }),
);

const ParameterGradientSchema = v.strictObject({
  name: v.string(),
  rows: positiveInt,
  cols: positiveInt,
  data: floats,
});

/**
 * A run's history as the checkpoint keeps it: points of (step, loss), with the gradient norm and
 * the learning rate where they were kept (null where not), and the loss of the first step. A point
 * may stand for several steps (the means of a bucket's loss, gradient norm and learning rate). Points, not
 * columns, so that no two lists can disagree in length.
 */
const CurveSchema = v.strictObject({
  points: v.array(v.strictObject({ step: positiveInt, loss: finite, gradNorm: v.nullable(finite), learningRate: v.nullable(finite) })),
  firstLoss: v.nullable(finite),
});

/** One of the most likely next tokens; `actual` marks the token that really comes next (added
 *  after the top k, with its probability, when it is not among them). */
const GuessSchema = v.strictObject({ token: v.string(), p: finite, actual: v.optional(v.literal(true)) });

const vector = v.array(finite);
const direction = v.picklist(['forward', 'backward']);

/**
 * One step of one cell, forward and backward (src/engine/explain.ts, CONTRACTS section 5): vectors
 * as float64 arrays (one step is small: a few (H), (4H) and (I) vectors), so the numbers shown are
 * the engine's. Gate rows of (4H) vectors in PyTorch's order i, f, g, o.
 */
const StepExplanationSchema = v.strictObject({
  token: v.string(),
  t: nonNegativeInt,
  layer: nonNegativeInt,
  direction,
  T: positiveInt,
  /** The direction's last step (no next step sends gradient back) and its first (zero state in). */
  is_last: v.boolean(),
  is_first: v.boolean(),
  forward: v.strictObject({
    x: vector, h_prev: vector, c_prev: vector, Wx: vector, Uh: vector, b: vector, z: vector,
    i: vector, f: vector, g: vector, o: vector, c: vector, tanh_c: vector, h: vector,
  }),
  backward: v.strictObject({
    dh: vector, dh_up: vector, dh_next: vector, dc: vector, dc_via_h: vector, dc_next: vector,
    di: vector, df: vector, dg: vector, do: vector, dz: vector, dc_prev: vector, dh_prev: vector, dx: vector,
  }),
});

/**
 * What the cell wrote at step k, seen later: `steps` are the steps from k on in the direction's
 * reading order (k first); `memory` (n, H) the running product of forget gates f_{k+1} ⋯ f_t (1 at
 * k); `lastDh` (n) ‖dL_last/dh_t‖ and `lastDc` (n, H) dL_last/dc_t of the last position's loss
 * alone at those steps (null when T < 2): the gradient's decay toward k.
 */
const MemorySpanSchema = v.strictObject({
  steps: v.array(nonNegativeInt),
  memory: floats,
  lastDh: v.nullable(vector),
  lastDc: v.nullable(floats),
});

export const HostToPanelSchema = v.variant('type', [
  v.strictObject({
    type: v.literal('model'),
    summary: PanelModelSummarySchema,
    /** Tensors of one forward pass on (batch B, sequence T), then every parameter. */
    shapes: v.array(v.strictObject({ name: v.string(), shape, kind: v.picklist(['tensor', 'parameter']) })),
    /** The training history stored in the checkpoint (absent or null when there is none). */
    curve: v.optional(v.nullable(CurveSchema)),
  }),
  v.strictObject({ type: v.literal('noModel'), file: v.nullable(v.string()), reason: v.string() }),
  v.strictObject({
    type: v.literal('training'),
    running: v.boolean(),
    step: nonNegativeInt,
    totalSteps: nonNegativeInt,
    tokensPerSecond: v.pipe(v.number(), v.finite(), v.minValue(0)),
    /** The run's average tokens per second so far (a finished run shows it; absent when not known). */
    averageTokensPerSecond: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))),
    clip: v.nullable(finite),
    /** Where the run trains (absent in messages of older recordings). */
    backend: v.optional(v.picklist(['CPU', 'GPU'])),
    /** Steps since the last message (or the whole history when `reset`). */
    reset: v.boolean(),
    history: v.strictObject({
      step: v.array(positiveInt),
      loss: v.array(finite),
      gradNorm: v.array(finite),
      learningRate: v.array(finite),
    }),
  }),
  v.strictObject({
    type: v.literal('trace'),
    step: nonNegativeInt,
    /** Where the sequence came from, for the heading. */
    source: v.string(),
    tokens: v.array(v.string()),
    /** Where each token stands in the sequence's text: start, end (UTF-16 offsets) per token, 2·T numbers. */
    spans: v.array(nonNegativeInt),
    T: positiveInt,
    H: positiveInt,
    /** Mean cross-entropy of each position predicting the next (NaN-free: null when T < 2). */
    loss: v.nullable(finite),
    entries: v.array(TraceEntrySchema),
    /** For each position, the top next tokens, and the actual next token marked (older recordings: unmarked). */
    predictions: v.array(v.array(GuessSchema)),
    /** Where the editor's cursor stands, in the coordinates of `spans` (null or absent: not in this text). */
    cursor: v.optional(v.nullable(nonNegativeInt)),
    /** dL/dW of the sequence's loss, per layer, direction and block (W_ih, W_hh, biases). */
    parameterGradients: v.array(ParameterGradientSchema),
  }),
  v.strictObject({ type: v.literal('note'), level: v.picklist(['info', 'warning', 'error']), text: v.string() }),
  /** One step explained, with the trace it belongs to (same weights, same text): `step` is the model's training step. */
  v.strictObject({ type: v.literal('step'), step: nonNegativeInt, explanation: StepExplanationSchema, span: MemorySpanSchema }),
  /** Explain Step at Cursor: show the Step tab (its step comes as a `step` message). */
  v.strictObject({ type: v.literal('showStep') }),
  // The Units tab (src/protocol/units.ts).
  ...UnitsHostToPanelSchema,
  // The time line, the baseline and the attribution strip (src/protocol/why.ts).
  ...WhyHostToPanelSchema,
]);

export const PanelToHostSchema = v.variant('type', [
  v.strictObject({ type: v.literal('ready') }),
  v.strictObject({
    type: v.literal('highlightUnit'),
    layer: nonNegativeInt,
    direction: v.picklist(['forward', 'backward']),
    tensor: v.picklist([...STATE_NAMES, ...GRADIENT_NAMES]),
    unit: nonNegativeInt,
  }),
  v.strictObject({ type: v.literal('clearHighlight') }),
  v.strictObject({ type: v.literal('chooseSequence'), source: v.picklist(['cursor', 'selection', 'start']) }),
  /** The Step tab: explain step t (0-based token of the current trace) of this layer and direction. */
  v.strictObject({ type: v.literal('explainStep'), t: nonNegativeInt, layer: nonNegativeInt, direction }),
  /** The Step tab shows this unit's memory span (null: the tab is not shown): the editor colours the later tokens. */
  v.strictObject({ type: v.literal('stepSpan'), unit: v.nullable(nonNegativeInt) }),
  // The Units tab (src/protocol/units.ts).
  ...UnitsPanelToHostSchema,
  // The time line's slider and the attribution strip (src/protocol/why.ts).
  ...WhyPanelToHostSchema,
]);

export type HostToPanel = v.InferOutput<typeof HostToPanelSchema>;
export type PanelToHost = v.InferOutput<typeof PanelToHostSchema>;
export type TraceMessage = Extract<HostToPanel, { type: 'trace' }>;
export type TrainingMessage = Extract<HostToPanel, { type: 'training' }>;
export type ModelMessage = Extract<HostToPanel, { type: 'model' }>;
export type StepMessage = Extract<HostToPanel, { type: 'step' }>;
export type ExplainStepRequest = Extract<PanelToHost, { type: 'explainStep' }>;
/** What the panel shows of a model (its header and tabs); not the host's summary of a stored checkpoint. */
export type PanelModelSummary = v.InferOutput<typeof PanelModelSummarySchema>;


/** The four columns of a training history must be as long as each other; null when they are. */
export function historyProblem(h: { step: unknown[]; loss: unknown[]; gradNorm: unknown[]; learningRate: unknown[] }): string | null {
  const n = h.step.length;
  if (h.loss.length !== n || h.gradNorm.length !== n || h.learningRate.length !== n) {
    return `history: ${n} steps with ${h.loss.length} losses, ${h.gradNorm.length} gradient norms and ${h.learningRate.length} learning rates`;
  }
  return null;
}

export type Curve = v.InferOutput<typeof CurveSchema>;
export type Guess = v.InferOutput<typeof GuessSchema>;

/** Checks sizes that the schema alone cannot: every array agrees with T, H and the blocks' shapes. */
function checkTraceSizes(m: TraceMessage): string | null {
  if (m.tokens.length !== m.T) return `trace: ${m.tokens.length} tokens for T = ${m.T}`;
  if (m.spans.length !== 2 * m.T) return `trace: ${m.spans.length} span offsets for T = ${m.T}`;
  if (m.predictions.length !== m.T) return `trace: ${m.predictions.length} prediction rows for T = ${m.T}`;
  for (let t = 0; t < m.T; t++) {
    const actual = m.predictions[t].filter((g) => g.actual);
    if (actual.length > 1) return `trace: ${actual.length} tokens marked as the next one at position ${t}`;
    if (actual.length === 1 && (t + 1 >= m.T || actual[0].token !== m.tokens[t + 1])) return `trace: position ${t} marks a next token that does not follow it`;
    if (m.predictions[t].some((g) => g.p < 0 || g.p > 1)) return `trace: a probability outside [0, 1] at position ${t}`;
  }
  for (const e of m.entries) {
    if (e.states.length !== 6 * m.T * m.H) return `trace: states of layer ${e.layer} ${e.direction} hold ${e.states.length} values, expected 6·T·H = ${6 * m.T * m.H}`;
    if (e.gradients && e.gradients.length !== 2 * m.T * m.H) return `trace: gradients of layer ${e.layer} ${e.direction} hold ${e.gradients.length} values, expected 2·T·H`;
    if (e.lastGradients && e.lastGradients.length !== 2 * m.T * m.H) return `trace: last-position gradients of layer ${e.layer} ${e.direction} hold ${e.lastGradients.length} values, expected 2·T·H`;
  }
  for (const g of m.parameterGradients) {
    if (g.data.length !== g.rows * g.cols) return `trace: ${g.name} holds ${g.data.length} values for (${g.rows}, ${g.cols})`;
  }
  return null;
}

/** A step's vectors agree in size: (H) states and gates, (4H) gate rows, (I) input; its span with T and H. */
function checkStepSizes(m: StepMessage): string | null {
  const e = m.explanation;
  const H = e.forward.h.length;
  const I = e.forward.x.length;
  if (H < 1 || I < 1) return 'step: empty h or x';
  if (e.t >= e.T) return `step: t = ${e.t} for T = ${e.T}`;
  const first = e.direction === 'forward' ? 0 : e.T - 1;
  const last = e.direction === 'forward' ? e.T - 1 : 0;
  if (e.is_first !== (e.t === first) || e.is_last !== (e.t === last)) return `step: is_first/is_last disagree with t = ${e.t} of ${e.T} (${e.direction})`;
  const sizes: Array<[string, number[], number]> = [];
  for (const [k, x] of Object.entries(e.forward)) sizes.push([k, x, k === 'x' ? I : ['Wx', 'Uh', 'b', 'z'].includes(k) ? 4 * H : H]);
  for (const [k, x] of Object.entries(e.backward)) sizes.push([k, x, k === 'dx' ? I : k === 'dz' ? 4 * H : H]);
  for (const [k, x, n] of sizes) if (x.length !== n) return `step: ${k} holds ${x.length} values, expected ${n}`;
  const s = m.span;
  const n = s.steps.length;
  if (n < 1 || s.steps[0] !== e.t) return 'step: the memory span does not start at t';
  if (s.steps.some((t) => t >= e.T)) return 'step: a memory-span step beyond T';
  if (s.memory.length !== n * H) return `step: memory holds ${s.memory.length} values, expected ${n}·H = ${n * H}`;
  if (s.lastDh && s.lastDh.length !== n) return `step: lastDh holds ${s.lastDh.length} values for ${n} steps`;
  if (s.lastDc && s.lastDc.length !== n * H) return `step: lastDc holds ${s.lastDc.length} values, expected ${n * H}`;
  return null;
}

export function checkHostToPanel(value: unknown): Checked<HostToPanel> {
  const checked = checkMessage(HostToPanelSchema, value);
  if (checked.ok && checked.message.type === 'trace') {
    const problem = checkTraceSizes(checked.message);
    if (problem) return { ok: false, error: problem };
  }
  if (checked.ok && checked.message.type === 'step') {
    const problem = checkStepSizes(checked.message);
    if (problem) return { ok: false, error: problem };
  }
  if (checked.ok && checked.message.type === 'training') {
    const problem = historyProblem(checked.message.history);
    if (problem) return { ok: false, error: problem };
  }
  if (checked.ok && checked.message.type.startsWith('why')) {
    const problem = whyPanelProblem(checked.message as WhyHostToPanel);
    if (problem) return { ok: false, error: problem };
  }
  if (checked.ok && checked.message.type.startsWith('units')) {
    const problem = unitsPanelProblem(checked.message as UnitsHostToPanel);
    if (problem) return { ok: false, error: problem };
  }
  return checked;
}

export const checkPanelToHost = (value: unknown): Checked<PanelToHost> => checkMessage(PanelToHostSchema, value);

/** Index of (tensor k, step t, unit j) in a (K, T, H) block. */
export function at(k: number, t: number, j: number, T: number, H: number): number {
  return (k * T + t) * H + j;
}

