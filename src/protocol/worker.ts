// Messages between the extension host and its Node workers (training and generation). Each
// direction is a discriminated union on `type`; the schemas (valibot) are the types, and every
// message received is checked against them before it is acted on.

import * as v from 'valibot';
import { checkMessage, type Checked } from './check';
import { HostToPanelSchema, checkHostToPanel, historyProblem } from './panel';
import { ModelShapeSchema, ThreadsSchema, TrainingSettingsSchema } from './trainingSchema';
import { ClampSchema } from './units';
import { analyzedProblem, AnalyzedSchema, AnalyzeRequestSchema, type Analyzed } from './why';

export type { Checked };

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const finite = v.pipe(v.number(), v.finite());

// The run's shape and settings: generated from the table of training options.
export { ModelShapeSchema, TrainingSettingsSchema };

/** A text for the panel to trace: its tokens from the start or the end are kept when it is long. */
export const SequenceSchema = v.strictObject({
  text: v.string(),
  /** How the heading names the text when `span` does not say more (the hover's, older hosts'). */
  source: v.string(),
  keep: v.picklist(['first', 'last']),
  /** At most this many tokens are traced (lstmLens.traceLength; absent: the panel's limit). */
  maxTokens: v.optional(positiveInt),
  /** Where the text stands in its document, for naming exactly what is traced. */
  span: v.optional(
    v.strictObject({
      /** cursor: the text up to the cursor; noSelection: "Selection" asked with nothing selected, so the same. */
      kind: v.picklist(['cursor', 'noSelection', 'selection', 'start', 'startBeforeCursor']),
      /** The document's line (0-based) of the text's first character. */
      firstLine: nonNegativeInt,
      /** The document goes on before / after the text sent (so its first / last token may be cut). */
      clippedBefore: v.boolean(),
      clippedAfter: v.boolean(),
      /** The editor's cursor: its offset in the text and its place in the document (0-based). */
      cursor: v.nullable(v.strictObject({ offset: nonNegativeInt, line: nonNegativeInt, column: nonNegativeInt })),
    }),
  ),
  /**
   * The panel's Step tab: explain this step of the trace as well (a `step` panel message after the
   * `trace`). `t` is a token of the trace (past its end: the last), null: the token before the cursor.
   */
  explain: v.optional(v.strictObject({ t: v.nullable(nonNegativeInt), layer: nonNegativeInt, direction: v.picklist(['forward', 'backward']) })),
});

/** A training run: what to train, how, and how often to report and save. */
const trainFields = {
  /** The text to train on: a snapshot taken when training was asked for. */
  text: v.string(),
  sourceName: v.string(),
  shape: ModelShapeSchema,
  settings: TrainingSettingsSchema,
  saveEverySteps: positiveInt,
  /** Also save when this long has passed since the last save (0: by steps only). */
  saveEveryMs: nonNegativeInt,
  progressEveryMs: nonNegativeInt,
  /** Only time a few steps at this size (for lstmLens.backend "auto"): answer `timed`, save nothing. */
  timing: v.nullable(
    v.strictObject({
      steps: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)),
      /** Stop timing once this long has been spent on timed steps (at least one is timed). */
      budgetMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))),
    }),
  ),
  /** Continuing on a text shorter than the one trained on: read it from its start again (the engine's restartStream). */
  restartStream: v.optional(v.boolean()),
  /** Threads the CPU trains on (lstmLens.threads): 0 or absent, every core up to 8. Not part of the run: never saved. The GPU has no use for it. */
  threads: v.optional(ThreadsSchema),
};

export const StopSchema = v.strictObject({ type: v.literal('stop') });
/** During training: trace this text for the panel every `everyMs` (null: stop tracing). */
export const WatchSchema = v.strictObject({
  type: v.literal('watch'),
  sequence: v.nullable(SequenceSchema),
  everyMs: nonNegativeInt,
});

/** Host → worker. */
export const HostToWorkerSchema = v.variant('type', [
  v.strictObject({
    type: v.literal('train'),
    ...trainFields,
    /** Continue the run saved here (its shape and settings win; `steps` more steps). */
    resumeFrom: v.nullable(v.string()),
    checkpointPath: v.string(),
  }),
  StopSchema,
  WatchSchema,
  /**
   * A checkpoint made elsewhere (the GPU worker's bytes): decoded in full, matched against the run
   * it claims to be, and written atomically here, off the host's thread; answered with `stored`.
   */
  v.strictObject({
    type: v.literal('store'),
    bytes: v.instance(Uint8Array),
    checkpointPath: v.string(),
    expect: v.strictObject({ vocabSize: positiveInt, shape: ModelShapeSchema, step: nonNegativeInt, notBefore: nonNegativeInt }),
  }),
  /** The saved model reading a text: a `model` and a `trace` panel message, then `inspected`. */
  v.strictObject({
    type: v.literal('inspect'),
    checkpointPath: v.string(),
    file: v.string(),
    sequence: SequenceSchema,
    withModel: v.boolean(),
  }),
  v.strictObject({
    type: v.literal('generate'),
    checkpointPath: v.string(),
    prime: v.string(),
    length: nonNegativeInt,
    temperature: v.pipe(v.number(), v.finite(), v.minValue(0)),
    topK: nonNegativeInt,
    seed: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
    /** Units held at a constant while the model reads and generates (the Units tab's clamp). */
    clamps: v.optional(v.array(ClampSchema)),
  }),
  /** Surprise, attribution or the baseline for the editor and the panel (src/protocol/why.ts): answered with `analyzed`. */
  AnalyzeRequestSchema,
]);

/** The same run for the webview's GPU worker, which reads and writes no files: a run to continue travels as its checkpoint's bytes. */
export const GpuTrainSchema = v.strictObject({
  type: v.literal('train'),
  ...trainFields,
  resume: v.nullable(v.instance(Uint8Array)),
});

const rate = v.pipe(v.number(), v.finite(), v.minValue(0));

export const StartedSchema = v.strictObject({
  type: v.literal('started'),
  step: nonNegativeInt,
  totalSteps: positiveInt,
  vocabSize: positiveInt,
  tokens: nonNegativeInt,
  parameters: positiveInt,
  batchSize: positiveInt,
  shape: ModelShapeSchema,
  settings: TrainingSettingsSchema,
  notes: v.array(v.string()),
  /** What runs the arithmetic, for the log: "CPU, kernels wasm relaxed-simd fma, 2 threads". */
  engine: v.optional(v.pipe(v.string(), v.maxLength(200))),
});

export const ProgressSchema = v.strictObject({
  type: v.literal('progress'),
  step: positiveInt,
  totalSteps: positiveInt,
  loss: finite,
  tokensPerSecond: rate,
  learningRate: finite,
  gradNorm: finite,
  /** Every step since the last progress message. */
  history: v.strictObject({
    step: v.array(positiveInt),
    loss: v.array(finite),
    gradNorm: v.array(finite),
    learningRate: v.array(finite),
  }),
  clip: v.nullable(finite),
});

/** A message for the Inspect States panel, made in the worker. */
export const PanelRelaySchema = v.strictObject({ type: v.literal('panel'), message: HostToPanelSchema });

const finishedFields = {
  type: v.literal('finished'),
  reason: v.picklist(['done', 'stopped']),
  step: nonNegativeInt,
  loss: v.nullable(finite),
  tokensPerSecond: rate,
};
export const GpuFinishedSchema = v.strictObject(finishedFields);

/** The answer to a timing request. */
export const TimedSchema = v.strictObject({
  type: v.literal('timed'),
  firstStepMs: rate,
  msPerStep: rate,
  tokensPerSecond: rate,
  /** Steps timed after the first (fewer than asked when the budget ran out; 0: the first step is the estimate). */
  timedSteps: v.optional(nonNegativeInt),
});

/**
 * input: bad text or checkpoint; diverged: the run blew up (the weights from before the update that
 * broke them kept); internal: a bug or a write that failed; textShorter: a run to continue whose text
 * is shorter than the one it was trained on (it can go on from the start of the text: restartStream).
 */
export const FAILURE_KINDS = ['input', 'diverged', 'internal', 'textShorter'] as const;

/** A divergence as data, for the host to word its remedy: the step it was seen at, the step whose weights are kept, a learning rate to try. */
export const DivergenceSchema = v.strictObject({
  step: positiveInt,
  keptStep: nonNegativeInt,
  suggestedLearningRate: v.pipe(v.number(), v.finite(), v.gtValue(0)),
});

/** Worker → host. */
export const WorkerToHostSchema = v.variant('type', [
  StartedSchema,
  ProgressSchema,
  PanelRelaySchema,
  v.strictObject({ type: v.literal('inspected') }),
  v.strictObject({ type: v.literal('stored'), step: nonNegativeInt, path: v.string() }),
  v.strictObject({ type: v.literal('saved'), step: nonNegativeInt, path: v.string() }),
  v.strictObject({ ...finishedFields, path: v.string() }),
  v.strictObject({
    type: v.literal('failed'),
    kind: v.picklist(FAILURE_KINDS),
    message: v.string(),
    divergence: v.optional(DivergenceSchema),
  }),
  TimedSchema,
  v.strictObject({ type: v.literal('primed'), unknown: nonNegativeInt, read: nonNegativeInt }),
  v.strictObject({ type: v.literal('text'), text: v.string() }),
  v.strictObject({ type: v.literal('generated'), tokens: nonNegativeInt }),
  AnalyzedSchema,
]);

export type ModelShapeMessage = v.InferOutput<typeof ModelShapeSchema>;
export type HostToWorker = v.InferOutput<typeof HostToWorkerSchema>;
export type WorkerToHost = v.InferOutput<typeof WorkerToHostSchema>;
export type TrainRequest = Extract<HostToWorker, { type: 'train' }>;
export type WatchRequest = Extract<HostToWorker, { type: 'watch' }>;
export type GenerateRequest = Extract<HostToWorker, { type: 'generate' }>;
export type InspectRequest = Extract<HostToWorker, { type: 'inspect' }>;
export type StoreRequest = Extract<HostToWorker, { type: 'store' }>;
export type AnalyzeRequest = Extract<HostToWorker, { type: 'analyze' }>;
export type Sequence = v.InferOutput<typeof SequenceSchema>;
export type DivergenceData = v.InferOutput<typeof DivergenceSchema>;
export type FailureKind = (typeof FAILURE_KINDS)[number];


export const checkHostToWorker = (value: unknown): Checked<HostToWorker> => checkMessage(HostToWorkerSchema, value);
export function checkWorkerToHost(value: unknown): Checked<WorkerToHost> {
  return checkRelayed(checkMessage(WorkerToHostSchema, value));
}

/** The checks beyond the schema for a training worker's messages (shared with the GPU worker's). */
export function checkRelayed<M extends { type: string }>(checked: Checked<M>): Checked<M> {
  // A panel message also gets the panel's own size checks.
  if (checked.ok && checked.message.type === 'panel') {
    const inner = checkHostToPanel((checked.message as unknown as { message: unknown }).message);
    if (!inner.ok) return { ok: false, error: `message.${inner.error}` };
  }
  if (checked.ok && checked.message.type === 'analyzed') {
    const problem = analyzedProblem(checked.message as unknown as Analyzed);
    if (problem) return { ok: false, error: problem };
  }
  if (checked.ok && checked.message.type === 'progress') {
    const problem = historyProblem((checked.message as unknown as Extract<WorkerToHost, { type: 'progress' }>).history);
    if (problem) return { ok: false, error: problem };
  }
  return checked;
}
