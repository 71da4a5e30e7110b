// The schemas of a run's model shape, training settings and thread count in the worker messages, generated from
// the table of training options (src/engine/trainingOptions.ts) with the engine's own bounds for
// each value (the rules between values are the trainer's, validateRun). The types the schemas infer are
// checked, at compile time, to be the engine's ModelShape and TrainingSettings, both ways.

import * as v from 'valibot';
import { engineRule, FLOAT32_MAX, TRAINING_OPTIONS, type TrainingOption, type TrainingSettings } from '../engine/trainingOptions';
import type { ModelShape } from '../engine/trainer';

type Table = typeof TRAINING_OPTIONS;

/** The value the engine stores for a row: a choice's engine spelling, a boolean, a number (or null where 0 is none). */
type EngineValue<R> = R extends { kind: 'choice'; engine: readonly (infer E)[] }
  ? E
  : R extends { kind: 'choice'; values: readonly (infer E)[] }
    ? E
    : R extends { kind: 'switch' }
      ? boolean
      : R extends { none: { engine: 'null' } }
        ? number | null
        : number;
type Absent<R> = R extends { none: { engine: 'absent' } } ? true : false;
type Keys<G, Optional extends boolean> = { [K in keyof Table]: Table[K]['group'] extends G ? (Absent<Table[K]> extends Optional ? K : never) : never }[keyof Table];
/** The object a group of rows makes: a key per row, optional where 0 is stored as no key at all. */
type Group<G> = { [K in Keys<G, false>]: EngineValue<Table[K]> } & { [K in Keys<G, true>]?: EngineValue<Table[K]> };
type Flat<T> = { [K in keyof T]: T[K] };

/**
 * One row's schema, in valibot's own actions (integer, minValue, maxValue, gtValue) so that tools
 * that read a schema see its bounds; the engine's rule (engineRule) is the message.
 */
function rowSchema(key: string, o: TrainingOption): v.GenericSchema {
  const message = `${key} must be ${engineRule(o)}`;
  if (o.kind === 'choice') return v.picklist([...(o.engine ?? o.values)], message);
  if (o.kind === 'switch') return v.boolean(message);
  const actions: Array<v.PipeItem<number, number, v.BaseIssue<unknown>>> = [v.finite(message)];
  if (o.kind === 'int') actions.push(v.integer(message));
  if (o.float32) actions.push(v.minValue(-FLOAT32_MAX, message), v.maxValue(FLOAT32_MAX, message));
  if (o.none?.engine === 'null') actions.push(v.gtValue(0, message)); // 0 is none: stored as null
  else if (o.min !== undefined) actions.push(o.exclusiveMin ? v.gtValue(o.min, message) : v.minValue(o.min, message));
  if (o.max !== undefined || o.kind === 'int') actions.push(v.maxValue(o.max ?? Number.MAX_SAFE_INTEGER, message));
  if (o.none?.least) actions.push(v.check((n: number) => n === 0 || n >= (o.none?.least?.value ?? 0), message));
  const checked = v.pipe(v.number(message), ...actions);
  return o.none?.engine === 'null' ? v.nullable(checked) : o.none?.engine === 'absent' ? v.optional(checked) : checked;
}

function groupSchema<G extends 'shape' | 'settings'>(group: G): v.GenericSchema<Flat<Group<G>>> {
  const entries: Record<string, v.GenericSchema> = {};
  for (const [key, o] of Object.entries(TRAINING_OPTIONS) as Array<[string, TrainingOption]>) {
    if (o.group === group) entries[key] = rowSchema(key, o);
  }
  return v.strictObject(entries) as unknown as v.GenericSchema<Flat<Group<G>>>;
}

export const ModelShapeSchema = groupSchema('shape');

/** Each setting within the engine's bounds; the rules between settings (B × T at most MAX_TOKENS_PER_STEP) are the trainer's (validateRun). */
export const TrainingSettingsSchema = groupSchema('settings');

/** The threads a run takes (lstmLens.threads: 0 for every core up to 8, else 1 to 8): the machine's, never saved. */
export const ThreadsSchema = rowSchema('threads', TRAINING_OPTIONS.threads) as v.GenericSchema<number>;

/** True when A and B are the same type (each assignable to the other, exactly). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertTrue<T extends true>(): T | undefined {
  return undefined;
}
// Compile-time: the schemas' types are the engine's, both ways (tsc fails here when they drift).
assertTrue<Equal<v.InferOutput<typeof TrainingSettingsSchema>, TrainingSettings>>();
assertTrue<Equal<v.InferOutput<typeof ModelShapeSchema>, ModelShape>>();
