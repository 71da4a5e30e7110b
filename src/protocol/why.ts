// Messages of "Why this prediction?" (docs/protocols.md): the Node worker's analyses for the editor
// (surprise, gain over the n-gram, attribution at the cursor, the baseline table), and the panel's
// time line, baseline and attribution strip. Checked where received, sizes beyond the schema too.

import * as v from 'valibot';

const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const finite = v.pipe(v.number(), v.finite());
const probability = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
/** Tokens coloured at most in one message (the engine reads at most SURPRISE_MAX_TOKENS). */
export const WHY_MAX_TOKENS = 20_000;
/** Snapshots listed at most (engine/snapshots.ts keeps 12). */
export const WHY_MAX_SNAPSHOTS = 64;

// ---- host ↔ Node worker ----

/** The saved model (or a snapshot of it) reads `text`: one `analyzed` answers. */
export const AnalyzeRequestSchema = v.strictObject({
  type: v.literal('analyze'),
  checkpointPath: v.string(),
  text: v.string(),
  question: v.variant('kind', [
    /** −log p at every token; with `ngramText`, also the gain over the best n-gram fitted on it. */
    v.strictObject({ kind: v.literal('surprise'), ngramText: v.nullable(v.string()) }),
    /** Which tokens drive the prediction of the token at character `cursor` of `text`. */
    v.strictObject({ kind: v.literal('attribution'), cursor: nonNegativeInt }),
    /** The LSTM against n-gram orders 1..6 on the last tenth of `text`. */
    v.strictObject({ kind: v.literal('baseline') }),
  ]),
});

const guesses = v.array(v.strictObject({ token: v.string(), p: probability }));

export const BaselineSchema = v.strictObject({
  tokens: nonNegativeInt,
  trainTokens: nonNegativeInt,
  heldoutTokens: nonNegativeInt,
  orders: v.pipe(v.array(v.strictObject({ order: positiveInt, loss: finite })), v.maxLength(6)),
  best: positiveInt,
  lstm: v.nullable(finite),
});

export const AnalyzedSchema = v.strictObject({
  type: v.literal('analyzed'),
  answer: v.variant('kind', [
    v.strictObject({
      kind: v.literal('surprise'),
      spans: v.array(nonNegativeInt),
      values: v.array(finite),
      top: v.array(guesses),
      loss: finite,
      gain: v.nullable(v.array(finite)),
      order: v.nullable(positiveInt),
    }),
    v.strictObject({
      kind: v.literal('attribution'),
      spans: v.array(nonNegativeInt),
      gradNorm: v.array(finite),
      gradXInput: v.array(finite),
      position: nonNegativeInt,
      target: v.string(),
      p: probability,
    }),
    v.strictObject({ kind: v.literal('baseline'), baseline: BaselineSchema }),
  ]),
});

export type AnalyzeRequest = v.InferOutput<typeof AnalyzeRequestSchema>;
export type Analyzed = v.InferOutput<typeof AnalyzedSchema>;
export type AnalyzedAnswer = Analyzed['answer'];
export type Baseline = v.InferOutput<typeof BaselineSchema>;

/** The sizes an analysis must agree on (spans are 2 per token, every per-token array one per token). */
export function analyzedProblem(m: Analyzed): string | null {
  const a = m.answer;
  if (a.kind === 'baseline') return null;
  const T = a.spans.length / 2;
  if (!Number.isInteger(T) || T > WHY_MAX_TOKENS) return `answer.spans: ${a.spans.length} numbers are not 2 per token for at most ${WHY_MAX_TOKENS} tokens`;
  for (let t = 0; t < T; t++) if (a.spans[2 * t] > a.spans[2 * t + 1]) return `answer.spans: token ${t} ends before it starts`;
  const arrays: Array<[string, unknown[] | null]> =
    a.kind === 'surprise'
      ? [['values', a.values], ['top', a.top], ['gain', a.gain]]
      : [['gradNorm', a.gradNorm], ['gradXInput', a.gradXInput]];
  for (const [name, arr] of arrays) if (arr !== null && arr.length !== T) return `answer.${name}: ${arr.length} values for ${T} tokens`;
  return null;
}

// ---- host ↔ panel ----

const SnapshotRowSchema = v.strictObject({ step: nonNegativeInt, loss: v.nullable(finite), sample: v.pipe(v.string(), v.maxLength(10_000)) });

export const WhyHostToPanelSchema = [
  /** The time line of the model in view: its kept snapshots, the latest (the checkpoint) last; `chosen` null: the latest. */
  v.strictObject({
    type: v.literal('whyTimeline'),
    snapshots: v.pipe(v.array(SnapshotRowSchema), v.maxLength(WHY_MAX_SNAPSHOTS)),
    latest: v.nullable(v.strictObject({ step: nonNegativeInt, loss: v.nullable(finite) })),
    chosen: v.nullable(nonNegativeInt),
  }),
  /** The baseline table of the text in view (null: being computed, or none, with why). */
  v.strictObject({ type: v.literal('whyBaseline'), baseline: v.nullable(BaselineSchema), note: v.nullable(v.string()) }),
  /** The attribution at the cursor, for the strip: tokens up to the predicted one (its target last). */
  v.strictObject({
    type: v.literal('whyAttribution'),
    tokens: v.pipe(v.array(v.string()), v.maxLength(WHY_MAX_TOKENS)),
    gradNorm: v.array(finite),
    gradXInput: v.array(finite),
    target: v.string(),
    p: probability,
  }),
] as const;

export const WhyPanelToHostSchema = [
  /** The slider chose a snapshot (its step), or the latest (null). */
  v.strictObject({ type: v.literal('whyChooseSnapshot'), step: v.nullable(nonNegativeInt) }),
  /** A token of the trace was picked for attribution: the prediction of token t+1 at position t (t of the current trace). */
  v.strictObject({ type: v.literal('whyAttribute'), t: nonNegativeInt }),
] as const;

type Row<S extends readonly v.GenericSchema[]> = v.InferOutput<S[number]>;
export type WhyHostToPanel = Row<typeof WhyHostToPanelSchema>;
export type WhyPanelToHost = Row<typeof WhyPanelToHostSchema>;

/** Sizes the schema cannot say: per-token arrays of the strip agree; the chosen step is one of the snapshots. */
export function whyPanelProblem(m: WhyHostToPanel): string | null {
  if (m.type === 'whyAttribution') {
    const T = m.tokens.length;
    if (m.gradNorm.length !== T || m.gradXInput.length !== T) return `whyAttribution: ${m.gradNorm.length} norms and ${m.gradXInput.length} products for ${T} tokens`;
    if (m.gradNorm.some((x) => x < 0)) return 'whyAttribution: a negative gradient norm';
  }
  if (m.type === 'whyTimeline') {
    for (let k = 1; k < m.snapshots.length; k++) if (m.snapshots[k].step <= m.snapshots[k - 1].step) return 'whyTimeline: snapshots out of order';
    if (m.chosen !== null && !m.snapshots.some((s) => s.step === m.chosen)) return `whyTimeline: chosen step ${m.chosen} is not a snapshot`;
  }
  return null;
}
