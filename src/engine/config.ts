// The model's configuration, in the words of docs/model.md and docs/grad-case.md.
//
// Dimensions used throughout the engine (one legend, as in llm.c):
//   B = batch size            T = sequence length (time steps)
//   V = vocabulary size       E = embedding size (absent: one-hot input, I = V)
//   I = input size of a layer (V or E for layer 0, D*H above it)
//   H = hidden size           L = number of stacked layers
//   D = directions (1, or 2 when bidirectional)
//   G = 4*H, the gate rows i, f, g, o stacked as in PyTorch

export type Mode = 'many_to_many' | 'many_to_one';

/** The mode as people write it, on the command line and in the settings: with hyphens. */
export const MODE_OPTIONS = ['many-to-many', 'many-to-one'] as const;
export type ModeOption = (typeof MODE_OPTIONS)[number];

/** The mode from its option spelling (many-to-one → many_to_one): the one conversion at each boundary. */
export function modeFromOption(option: ModeOption): Mode {
  return option === 'many-to-one' ? 'many_to_one' : 'many_to_many';
}

/** The mode as people write it (many_to_one → many-to-one). */
export function modeOption(mode: Mode): ModeOption {
  return mode === 'many_to_one' ? 'many-to-one' : 'many-to-many';
}

export interface ModelConfig {
  vocab_size: number;
  /** null: one-hot input of size V (the article's choice); else an embedding of this size. */
  embedding_size: number | null;
  hidden_size: number;
  num_layers: number;
  bidirectional: boolean;
  mode: Mode;
}

export type DType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;
export type FloatArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

export function arrayConstructor(dtype: DType): FloatArrayConstructor {
  return dtype === 'float64' ? Float64Array : Float32Array;
}

/** Whether two configurations are the same model (every field: the same weights' shapes and the same reading of them). */
export function sameModel(a: ModelConfig, b: ModelConfig): boolean {
  return (
    a.vocab_size === b.vocab_size && a.hidden_size === b.hidden_size && a.num_layers === b.num_layers &&
    a.embedding_size === b.embedding_size && a.bidirectional === b.bidirectional && a.mode === b.mode
  );
}

/** Directions of the recurrent stack: 1, or 2 when bidirectional. */
export function directions(config: ModelConfig): 1 | 2 {
  return config.bidirectional ? 2 : 1;
}

/** Size of the input to layer `layer`. */
export function layerInputSize(config: ModelConfig, layer: number): number {
  if (layer > 0) return directions(config) * config.hidden_size;
  return config.embedding_size ?? config.vocab_size;
}

/** The largest vocabulary a model may have (and a vocabulary cap may ask for). */
export const MAX_VOCAB_SIZE = 1 << 20;
/** The largest hidden size and embedding size. */
export const MAX_WIDTH = 1 << 14;
/** The most stacked layers. */
export const MAX_LAYERS = 64;

/** An error in what the caller gave (bad usage or input): the command line exits with status 2. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Checks a configuration and returns it; throws an InputError that names the first bad field. */
export function validateConfig(value: unknown): ModelConfig {
  if (typeof value !== 'object' || value === null) throw new InputError('config must be an object');
  const c = value as Record<string, unknown>;
  const positiveInt = (name: string, max: number): number => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      throw new InputError(`config.${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const vocab_size = positiveInt('vocab_size', MAX_VOCAB_SIZE);
  const embedding_size = c.embedding_size === null || c.embedding_size === undefined ? null : positiveInt('embedding_size', MAX_WIDTH);
  const hidden_size = positiveInt('hidden_size', MAX_WIDTH);
  const num_layers = positiveInt('num_layers', MAX_LAYERS);
  const bidirectional = c.bidirectional ?? false;
  if (typeof bidirectional !== 'boolean') throw new InputError('config.bidirectional must be true or false');
  const mode = c.mode ?? 'many_to_many';
  if (mode !== 'many_to_many' && mode !== 'many_to_one') {
    throw new InputError(`config.mode must be "many_to_many" or "many_to_one", got ${JSON.stringify(mode)}`);
  }
  return { vocab_size, embedding_size, hidden_size, num_layers, bidirectional, mode };
}
