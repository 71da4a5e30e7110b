// The extension's settings (lstmLens.*): one table gives each setting's type, bounds, default and
// description; a run's settings are the rows of the table of training options
// (src/engine/trainingOptions.ts) that have one. package.json's contributes.configuration is
// generated from it (npm run sync:settings; a test checks they agree), and the same table validates what the user set, so a
// setting out of range is refused with a message that names it. No `vscode` import: unit-tested in
// plain Node.

import { ARTICLE, TRAINING_OPTIONS, trainingOptions, type TrainingSettings } from '../engine/trainingOptions';
import { modeFromOption } from '../engine/config';
import type { ModelShape } from '../engine/trainer';
import { MAX_TRACE_TOKENS } from '../run/panelData';

export { ARTICLE };

interface NumberSetting {
  kind: 'integer' | 'number';
  default: number;
  minimum: number;
  maximum: number;
  /** The value must be above the minimum, not equal to it. */
  exclusiveMinimum?: boolean;
  description: string;
}
interface EnumSetting {
  kind: 'enum';
  default: string;
  values: readonly string[];
  descriptions: readonly string[];
  description: string;
}
interface BooleanSetting {
  kind: 'boolean';
  default: boolean;
  description: string;
}
type Setting = NumberSetting | EnumSetting | BooleanSetting;

type Table = typeof TRAINING_OPTIONS;
/** The setting a row of the table of training options makes. */
type SettingOf<R> = R extends { kind: 'choice'; values: infer V extends readonly string[] }
  ? { kind: 'enum'; default: V[number]; values: V; descriptions: readonly string[]; description: string }
  : R extends { kind: 'switch' }
    ? BooleanSetting
    : R extends { kind: 'int' }
      ? NumberSetting & { kind: 'integer' }
      : NumberSetting & { kind: 'number' };
type TrainingSettingsTable = { [K in keyof Table as Table[K] extends { setting: { name: infer N extends string } } ? N : never]: SettingOf<Table[K]> };

/** The settings of a run, from the table of training options (src/engine/trainingOptions.ts): its rows that have a setting. */
function trainingSettings(): TrainingSettingsTable {
  const out: Record<string, Setting> = {};
  for (const o of trainingOptions()) {
    const face = o.setting;
    if (face === null) continue;
    if (o.kind === 'choice') out[face.name] = { kind: 'enum', default: o.default, values: o.values, descriptions: face.descriptions ?? [], description: face.description };
    else if (o.kind === 'switch') out[face.name] = { kind: 'boolean', default: o.default, description: face.description };
    else {
      out[face.name] = {
        kind: o.kind === 'int' ? 'integer' : 'number',
        default: o.default,
        minimum: o.min ?? 0,
        maximum: face.max ?? o.max ?? Number.MAX_SAFE_INTEGER,
        ...(o.exclusiveMin ? { exclusiveMinimum: true } : {}),
        description: face.description,
      };
    }
  }
  return out as TrainingSettingsTable;
}

export const SETTINGS = {
  ...trainingSettings(),
  backend: {
    kind: 'enum', default: 'auto', values: ['auto', 'cpu', 'webgl'],
    descriptions: [
      'When the Inspect States panel is open, a few steps are timed on each and the faster trains (the choice is remembered for the session); otherwise the CPU.',
      'The CPU, in a worker thread.',
      'The GPU through WebGL2, in a worker of the Inspect States panel (which opens for it); falls back to the CPU, from the last checkpoint, where WebGL2 is missing or fails.',
    ],
    description: 'Where training runs.',
  },
  length: { kind: 'integer', default: 200, minimum: 1, maximum: 10000, description: 'Tokens to generate at the cursor.' },
  temperature: { kind: 'number', default: 0.8, minimum: 0, maximum: 5, description: 'Sampling temperature: 0 always takes the most likely token; higher is more adventurous.' },
  topK: { kind: 'integer', default: 0, minimum: 0, maximum: 10000, description: 'Sample only among the K most likely tokens; 0 for all.' },
  traceLength: {
    kind: 'integer', default: MAX_TRACE_TOKENS, minimum: 2, maximum: MAX_TRACE_TOKENS,
    description: 'Tokens the Inspect States panel traces: the last ones before the cursor, or the first ones of the selection or of the file. The panel says when a text is longer and is cut.',
  },
  diagnostics: { kind: 'boolean', default: false, description: "Log diagnostics of the extension itself to the LSTM Lens output channel (the extension host's event-loop delay during each run)." },
} as const satisfies Record<string, Setting>;

export type SettingKey = keyof typeof SETTINGS;
export const SECTION = 'lstmLens';

type ValueOf<S> = S extends EnumSetting ? S['values'][number] : S extends BooleanSetting ? boolean : number;
export type SettingsValues = { -readonly [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

/** A setting the user set out of range: the message names it. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

function describeRange(s: NumberSetting): string {
  const low = s.exclusiveMinimum ? `above ${s.minimum}` : `from ${s.minimum}`;
  return `${s.kind === 'integer' ? 'a whole number' : 'a number'} ${low} to ${s.maximum}`;
}

/** Reads every setting through `get` (undefined: the default) and checks it. */
export function readSettings(get: (key: SettingKey) => unknown): SettingsValues {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const spec: Setting = SETTINGS[key];
    const raw = get(key);
    const value = raw === undefined || raw === null ? spec.default : raw;
    const name = `${SECTION}.${key}`;
    if (spec.kind === 'boolean') {
      if (typeof value !== 'boolean') throw new SettingsError(`${name} must be true or false (it is ${JSON.stringify(value)})`);
    } else if (spec.kind === 'enum') {
      if (typeof value !== 'string' || !spec.values.includes(value)) throw new SettingsError(`${name} must be one of ${spec.values.map((x) => `"${x}"`).join(', ')} (it is ${JSON.stringify(value)})`);
    } else {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (spec.kind === 'number' || Number.isInteger(value)) &&
        (spec.exclusiveMinimum ? value > spec.minimum : value >= spec.minimum) &&
        value <= spec.maximum;
      if (!ok) throw new SettingsError(`${name} must be ${describeRange(spec)} (it is ${JSON.stringify(value)})`);
    }
    out[key] = value;
  }
  const values = out as SettingsValues;
  if (values.bidirectional && values.mode === 'many-to-many') {
    throw new SettingsError(`${SECTION}.bidirectional needs ${SECTION}.mode "many-to-one": a bidirectional model would see the tokens it must predict`);
  }
  return values;
}

/** The model shape and training settings the engine takes, from the extension's settings, and the threads the worker trains on (0: every core, up to 8; not saved with the run). */
export function trainingPlan(values: SettingsValues): { shape: ModelShape; settings: TrainingSettings; threads: number } {
  return {
    threads: values.threads,
    shape: {
      hidden_size: values.hiddenSize,
      num_layers: values.layers,
      embedding_size: values.embeddingSize === 0 ? null : values.embeddingSize,
      bidirectional: values.bidirectional,
      mode: modeFromOption(values.mode),
    },
    settings: {
      tokens: values.tokens,
      // Caps keep the head small for texts with a huge alphabet or lexicon; the rest reads as <unk>.
      max_vocab: values.tokens === 'word' ? 10000 : 4096,
      sequence_length: values.sequenceLength,
      batch_size: values.batchSize,
      steps: values.steps,
      optimizer: values.optimizer,
      learning_rate: values.learningRate,
      schedule: 'constant',
      clip: values.gradientClip === 0 ? null : values.gradientClip,
      init: values.initialization,
      init_value: 0.1,
      seed: values.seed,
    },
  };
}

/**
 * The Settings editor's groups, in order, under the extension's display name, "LSTM Lens": its
 * table of contents reads LSTM Lens › Model, Training, Generation, Inspect States and the log.
 */
export const SETTING_SECTIONS: ReadonlyArray<{ id: string; title: string; keys: readonly SettingKey[] }> = [
  { id: 'lstmLens.model', title: 'Model', keys: ['tokens', 'mode', 'hiddenSize', 'layers', 'embeddingSize', 'bidirectional'] },
  { id: 'lstmLens.training', title: 'Training', keys: ['sequenceLength', 'batchSize', 'steps', 'learningRate', 'optimizer', 'gradientClip', 'initialization', 'seed', 'backend', 'threads'] },
  { id: 'lstmLens.generation', title: 'Generation', keys: ['length', 'temperature', 'topK'] },
  { id: 'lstmLens.panel', title: 'Inspect States and the log', keys: ['traceLength', 'diagnostics'] },
];

/** The settings that make a run, for the log: one line of name=value, in the table's order. */
export function settingsLine(values: SettingsValues, keys: readonly SettingKey[] = [...SETTING_SECTIONS[0].keys, ...SETTING_SECTIONS[1].keys]): string {
  return keys.map((k) => `${k}=${String(values[k])}`).join(' ');
}

/** contributes.configuration for package.json, generated from the table: one titled section per group. */
export function contributedConfiguration(): Array<Record<string, unknown>> {
  let order = 0;
  return SETTING_SECTIONS.map((section) => {
    const properties: Record<string, unknown> = {};
    for (const key of section.keys) {
      const spec: Setting = SETTINGS[key];
      const base = { order: order++, default: spec.default, markdownDescription: spec.description };
      if (spec.kind === 'boolean') properties[`${SECTION}.${key}`] = { type: 'boolean', ...base };
      else if (spec.kind === 'enum') properties[`${SECTION}.${key}`] = { type: 'string', enum: spec.values, enumDescriptions: spec.descriptions, ...base };
      else {
        properties[`${SECTION}.${key}`] = {
          type: spec.kind,
          ...base,
          ...(spec.exclusiveMinimum ? { exclusiveMinimum: spec.minimum } : { minimum: spec.minimum }),
          maximum: spec.maximum,
        };
      }
    }
    return { id: section.id, title: section.title, properties };
  });
}
