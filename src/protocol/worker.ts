// Messages between the extension host and its Node workers (training and generation). Each
// direction is a discriminated union on `type`; the schemas (valibot) are the types, and every
// message received is checked against them before it is acted on.

import * as v from 'valibot';
import { checkMessage, type Checked } from './check';
import { HostToPanelSchema, checkHostToPanel, historyProblem } from './panel';

export type { Checked };

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const finite = v.pipe(v.number(), v.finite());

export const ModelShapeSchema = v.strictObject({
  hidden_size: positiveInt,
  num_layers: positiveInt,
  embedding_size: v.nullable(positiveInt),
  bidirectional: v.boolean(),
  mode: v.picklist(['many_to_many', 'many_to_one']),
});

export const TrainingSettingsSchema = v.strictObject({
  tokens: v.picklist(['char', 'word']),
  max_vocab: nonNegativeInt,
  sequence_length: positiveInt,
  batch_size: positiveInt,
  steps: positiveInt,
  optimizer: v.picklist(['adam', 'sgd']),
  learning_rate: v.pipe(v.number(), v.finite(), v.gtValue(0)),
  schedule: v.picklist(['constant', 'cosine']),
  clip: v.nullable(v.pipe(v.number(), v.finite(), v.gtValue(0))),
  init: v.picklist(['pytorch', 'constant']),
  init_value: finite,
  seed: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
});

/** A text for the panel to trace: its tokens from the start or the end are kept when it is long. */
export const SequenceSchema = v.strictObject({
  text: v.string(),
  source: v.string(),
  keep: v.picklist(['first', 'last']),
});

/** Host → worker. */
export const HostToWorkerSchema = v.variant('type', [
  v.strictObject({
    type: v.literal('train'),
    /** The text to train on: a snapshot taken when training was asked for. */
    text: v.string(),
    sourceName: v.string(),
    shape: ModelShapeSchema,
    settings: TrainingSettingsSchema,
    /** Continue the run saved here (its shape and settings win; `steps` more steps). */
    resumeFrom: v.nullable(v.string()),
    checkpointPath: v.string(),
    saveEverySteps: positiveInt,
    progressEveryMs: nonNegativeInt,
  }),
  v.strictObject({ type: v.literal('stop') }),
  /** During training: trace this text for the panel every `everyMs` (null: stop tracing). */
  v.strictObject({
    type: v.literal('watch'),
    sequence: v.nullable(SequenceSchema),
    everyMs: nonNegativeInt,
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
  }),
]);

/** Worker → host. */
export const WorkerToHostSchema = v.variant('type', [
  v.strictObject({
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
  }),
  v.strictObject({
    type: v.literal('progress'),
    step: positiveInt,
    totalSteps: positiveInt,
    loss: finite,
    tokensPerSecond: v.pipe(v.number(), v.finite(), v.minValue(0)),
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
  }),
  /** A message for the Inspect States panel, made in the worker. */
  v.strictObject({ type: v.literal('panel'), message: HostToPanelSchema }),
  v.strictObject({ type: v.literal('inspected') }),
  v.strictObject({ type: v.literal('saved'), step: nonNegativeInt, path: v.string() }),
  v.strictObject({
    type: v.literal('finished'),
    reason: v.picklist(['done', 'stopped']),
    step: nonNegativeInt,
    loss: v.nullable(finite),
    tokensPerSecond: v.pipe(v.number(), v.finite(), v.minValue(0)),
    path: v.string(),
  }),
  v.strictObject({
    type: v.literal('failed'),
    /** input: bad text or checkpoint; diverged: the run blew up (last good weights kept); internal: a bug. */
    kind: v.picklist(['input', 'diverged', 'internal']),
    message: v.string(),
  }),
  v.strictObject({ type: v.literal('primed'), unknown: nonNegativeInt, read: nonNegativeInt }),
  v.strictObject({ type: v.literal('text'), text: v.string() }),
  v.strictObject({ type: v.literal('generated'), tokens: nonNegativeInt }),
]);

export type ModelShapeMessage = v.InferOutput<typeof ModelShapeSchema>;
export type HostToWorker = v.InferOutput<typeof HostToWorkerSchema>;
export type WorkerToHost = v.InferOutput<typeof WorkerToHostSchema>;
export type TrainRequest = Extract<HostToWorker, { type: 'train' }>;
export type GenerateRequest = Extract<HostToWorker, { type: 'generate' }>;
export type InspectRequest = Extract<HostToWorker, { type: 'inspect' }>;
export type Sequence = v.InferOutput<typeof SequenceSchema>;


export const checkHostToWorker = (value: unknown): Checked<HostToWorker> => checkMessage(HostToWorkerSchema, value);
export function checkWorkerToHost(value: unknown): Checked<WorkerToHost> {
  const checked = checkMessage(WorkerToHostSchema, value);
  // A panel message also gets the panel's own size checks.
  if (checked.ok && checked.message.type === 'panel') {
    const inner = checkHostToPanel(checked.message.message);
    if (!inner.ok) return { ok: false, error: `message.${inner.error}` };
  }
  if (checked.ok && checked.message.type === 'progress') {
    const problem = historyProblem(checked.message.history);
    if (problem) return { ok: false, error: problem };
  }
  return checked;
}
