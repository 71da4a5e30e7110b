// Checkpoints (docs/checkpoint.md): one safetensors file with every parameter under its
// PyTorch name, the optimizer's moments under optimizer.<slot>.<name>, and string metadata:
// format, config (model config plus training settings), vocab, training (step, loss, seed and
// what a resumed run needs to continue exactly). Reading is strict: a file that is not a whole,
// consistent checkpoint is refused with one clear line, never half-loaded.

import { base64ToBytes } from './base64';
import { oneLine } from './format';
import { directions, InputError, validateConfig, type ModelConfig } from './config';
import { TrainingHistory } from './history';
import { parameterSpecs } from './model';
import { learningRate } from './optimizer';
import { Random } from './random';
import {
  brief,
  CheckpointError,
  decodeSafetensors,
  decodeSafetensorsHeader,
  encodeSafetensors,
  label,
  MAX_HEADER_BYTES,
  type TensorEntry,
} from './safetensors';
import { validateSettings, type TrainingSettings } from './trainingOptions';
import { Tokenizer, type Vocabulary } from './tokenizer';

export const CHECKPOINT_FORMAT = 'lstm-lens/1';

// How a run is trained, its bounds and their check: the table of training options.
export { MAX_HOLDOUT, MAX_TOKENS_PER_STEP, validateSettings, type TrainingSettings } from './trainingOptions';

/** Everything a resumed run needs besides weights and moments. */
export interface TrainingState {
  step: number;
  loss: number | null;
  seed: number;
  /** The batch sampler's random state (Random.getState()). */
  rng: number[];
  /** The batcher's state (BatcherState). */
  batcher: unknown;
  /** The state carried between contiguous chunks, (L*D, B, H) each, base64 of float32; null when none. */
  carry: { h: string; c: string } | null;
  /**
   * The run's loss curve, gradient norms and learning rates, bounded (history.ts); stored as
   * `training.history`. An older checkpoint's `training.losses` (a loss per step) is read into it.
   */
  history: TrainingHistory;
  tokens_seen: number;
  /** What the model was trained on: a label (file name), its length and a hash of its text. */
  source: { name: string; chars: number; hash: string } | null;
}

export interface Checkpoint {
  config: ModelConfig;
  settings: TrainingSettings;
  vocab: Vocabulary;
  /** Parameters by name, in spec order. */
  params: Map<string, Float32Array>;
  /** Optimizer state: step count and slot name → parameter name → moments. */
  optimizer: { step: number; slots: Map<string, Map<string, Float32Array>> };
  training: TrainingState;
}

/** Bytes of a string in UTF-8, without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && k + 1 < s.length) {
      n += 4;
      k++;
    } else n += 3;
  }
  return n;
}

/** The most a history takes in a header: every point's four numbers (at most 24 characters each) and separators. */
const HISTORY_HEADER_BOUND = 4 * 26 * 1000 + 256;

/**
 * Refuses (an InputError, one line) a run whose checkpoint header would exceed what the reader
 * accepts (MAX_HEADER_BYTES): the vocabulary, the carried state (base64 in the header) and a
 * bound for everything else, known before the run trains.
 */
export function checkHeaderFits(config: ModelConfig, settings: TrainingSettings, vocab: Vocabulary, sourceName: string): void {
  const vocabBytes = utf8Length(JSON.stringify(vocab));
  const carryFloats = config.mode === 'many_to_many' ? config.num_layers * directions(config) * settings.batch_size * config.hidden_size : 0;
  const carryBytes = 2 * 4 * Math.ceil((4 * carryFloats) / 3);
  const tensors = parameterSpecs(config).length * (settings.optimizer === 'adam' ? 3 : 1);
  const rest = 4096 + tensors * 160 + HISTORY_HEADER_BOUND + 2 * utf8Length(JSON.stringify(sourceName));
  const total = vocabBytes + carryBytes + rest;
  if (total <= MAX_HEADER_BYTES) return;
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  let longest = 0;
  for (const t of vocab.tokens) longest = Math.max(longest, t.length);
  const why = vocabBytes >= carryBytes
    ? `the vocabulary takes ${mib(vocabBytes)} (${vocab.tokens.length} tokens, the longest ${longest} characters): cap the vocabulary (--max-vocab) or use character tokens`
    : `the carried state takes ${mib(carryBytes)} (${config.num_layers} layer(s) × batch ${settings.batch_size} × hidden ${config.hidden_size}): lower the batch size, the hidden size or the layers`;
  throw new InputError(`this run's checkpoint header would be about ${mib(total)}, more than the ${mib(MAX_HEADER_BYTES)} a checkpoint header may be: ${why}`);
}

/** Refuses a tensor value the reader would refuse: non-finite, or a negative second moment. */
function checkTensorValues(name: string, data: Float32Array, slot: string | null, fail: (message: string) => never): void {
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) fail(`tensor ${name} holds a non-finite value (${data[k]}) at index ${k}`);
  }
  // Adam's v is a running mean of squares: a negative one would make the update NaN.
  if (slot === 'v') {
    for (let k = 0; k < data.length; k++) if (data[k] < 0) fail(`tensor ${name} holds a negative value`);
  }
}

/**
 * The checkpoint as safetensors bytes. What is written must read back: the metadata is checked by
 * the reader's own rules, every value must be finite, and the header must be within the reader's
 * limit; anything else is refused (an InputError, one line) before any byte is produced.
 */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array<ArrayBuffer> {
  const refuse = (why: string): never => {
    throw new InputError(`this checkpoint would not read back, so it is not written: ${oneLine(why, QUOTED_ERROR_LENGTH)}`);
  };
  const tensors: Array<[string, TensorEntry]> = [];
  for (const spec of parameterSpecs(ckpt.config)) {
    const data = ckpt.params.get(spec.name);
    if (!data) throw new Error(`encodeCheckpoint: missing parameter ${spec.name}`);
    tensors.push([spec.name, { shape: spec.shape, data }]);
  }
  for (const [slot, byName] of ckpt.optimizer.slots) {
    for (const spec of parameterSpecs(ckpt.config)) {
      const data = byName.get(spec.name);
      if (!data) throw new Error(`encodeCheckpoint: missing optimizer.${slot}.${spec.name}`);
      tensors.push([`optimizer.${slot}.${spec.name}`, { shape: spec.shape, data }]);
    }
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify({ ...ckpt.config, ...ckpt.settings }),
    vocab: JSON.stringify(ckpt.vocab),
    training: JSON.stringify({ ...ckpt.training, optimizer_step: ckpt.optimizer.step }),
  };
  let metadataLength = 0;
  for (const value of Object.values(metadata)) metadataLength += value.length;
  if (metadataLength > MAX_HEADER_BYTES) refuse(`its header would be over ${MAX_HEADER_BYTES} bytes, the most a reader accepts`);
  try {
    decodeMetadata(metadata);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    refuse(e.message.replace(/^corrupt checkpoint: /, ''));
  }
  for (const [name, { data }] of tensors) checkTensorValues(name, data, name.startsWith('optimizer.v.') ? 'v' : null, refuse);
  return encodeSafetensors(tensors, metadata);
}

function parseJson(text: string | undefined, what: string): Record<string, unknown> {
  if (text === undefined) throw new CheckpointError(`not an lstm-lens checkpoint: metadata "${what}" is missing`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CheckpointError(`corrupt checkpoint: metadata "${what}" is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CheckpointError(`corrupt checkpoint: metadata "${what}" is not a JSON object`);
  return value as Record<string, unknown>;
}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckpointError(`corrupt checkpoint: ${message}`);
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStep = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The rules every run is held to, by the trainer before it trains and by the reader when it loads:
 * the config (validateConfig), the settings (validateSettings) and how they go together. A run
 * that passes writes checkpoints that read back. Throws an InputError naming the first fault.
 */
export function validateRun(config: unknown, settings: unknown): { config: ModelConfig; settings: TrainingSettings } {
  const c = validateConfig(config);
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new InputError('settings must be an object');
  const s = validateSettings(settings as Record<string, unknown>);
  if (c.bidirectional && c.mode === 'many_to_many') {
    throw new InputError('a bidirectional model reads the very tokens it must predict; train it many-to-one, or make it unidirectional');
  }
  return { config: c, settings: s };
}

/** How long an error message from elsewhere may be, as one line, inside a checkpoint's refusal (it may quote the file). */
const QUOTED_ERROR_LENGTH = 240;

/** What a checkpoint's metadata says, checked: everything but the tensors' values. */
interface CheckpointMetadata {
  config: ModelConfig;
  settings: TrainingSettings;
  vocab: Vocabulary;
  training: TrainingState;
  optimizerStep: number;
}

/** The config and settings of the metadata, checked by the rules a trainer is held to (validateRun). */
function decodeConfig(metadata: Record<string, string>): { config: ModelConfig; settings: TrainingSettings } {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      metadata.format === undefined
        ? 'not an lstm-lens checkpoint: it has no "format" metadata'
        : `unsupported checkpoint format ${brief(metadata.format, 40)} (this version reads ${CHECKPOINT_FORMAT})`,
    );
  }
  const configJson = parseJson(metadata.config, 'config');
  try {
    return validateRun(configJson, configJson);
  } catch (e) {
    // validateConfig quotes the bad value; one nested deeper than the stack makes quoting it throw.
    throw new CheckpointError(`corrupt checkpoint: ${e instanceof InputError ? oneLine(e.message, QUOTED_ERROR_LENGTH) : 'metadata "config" is malformed'}`);
  }
}

/** Checks every metadata entry (config, vocab, training) by the rules of decodeCheckpoint. */
function decodeMetadata(metadata: Record<string, string>): CheckpointMetadata {
  const { config, settings } = decodeConfig(metadata);
  const vocabJson = parseJson(metadata.vocab, 'vocab');
  const kind = vocabJson.kind;
  const tokens = vocabJson.tokens;
  expect(kind === 'char' || kind === 'word', 'vocab.kind must be "char" or "word"');
  expect(Array.isArray(tokens) && tokens.every((t) => typeof t === 'string'), 'vocab.tokens must be a list of strings');
  expect(new Set(tokens).size === tokens.length, 'vocab.tokens has duplicates');
  expect(tokens.length === config.vocab_size, `the vocabulary has ${tokens.length} tokens but config.vocab_size is ${config.vocab_size}`);
  expect(kind === settings.tokens, `vocab.kind "${kind}" disagrees with the setting tokens "${settings.tokens}"`);
  expect(settings.max_vocab === 0 || tokens.length <= settings.max_vocab, `the vocabulary has ${tokens.length} tokens, more than max_vocab ${settings.max_vocab}`);
  const vocab: Vocabulary = { kind, tokens: tokens as string[] };
  // What the tokenizer will require of it (non-empty tokens, one character each for char, no white space in a word).
  try {
    Tokenizer.fromVocabulary(vocab);
  } catch (e) {
    throw new CheckpointError(`corrupt checkpoint: ${oneLine((e as Error).message, QUOTED_ERROR_LENGTH)}`);
  }

  // The training state: everything Trainer.resume restores, checked here so that a checkpoint that
  // loads also resumes (only the text it resumes on can still be refused).
  const t = parseJson(metadata.training, 'training');
  expect(isStep(t.step), 'training.step must be a whole number from 0 to 2^53 - 1');
  expect(t.loss === null || isFiniteNumber(t.loss), 'training.loss must be a finite number or null');
  expect(Number.isInteger(t.seed), 'training.seed must be a whole number');
  try {
    Random.fromState(t.rng as number[]);
  } catch (e) {
    throw new CheckpointError(`corrupt checkpoint: training.rng: ${e instanceof InputError ? oneLine(e.message, QUOTED_ERROR_LENGTH) : 'malformed'}`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const b = t.batcher;
  expect(
    config.mode === 'many_to_many'
      ? isObject(b) && b.kind === 'streams' && isStep(b.position) && typeof b.started === 'boolean'
      : isObject(b) && b.kind === 'windows',
    `training.batcher must be the state of ${config.mode === 'many_to_many' ? 'contiguous streams' : 'random windows'}, got ${brief(b, 60)}`,
  );
  const carry = t.carry;
  expect(carry === null || carry === undefined || (isObject(carry) && typeof carry.h === 'string' && typeof carry.c === 'string'), 'training.carry is malformed');
  if (isObject(carry)) {
    // (L*D, B, H) each, finite.
    const size = config.num_layers * directions(config) * settings.batch_size * config.hidden_size;
    for (const key of ['h', 'c'] as const) {
      const values = carriedValues(carry[key] as string, size, `training.carry.${key}`);
      expect(values.every(Number.isFinite), `training.carry.${key} holds a non-finite value`);
    }
  }
  const step = t.step as number;
  let history: TrainingHistory;
  if (t.history !== undefined) {
    try {
      history = TrainingHistory.fromJSON(t.history, step);
    } catch (e) {
      throw new CheckpointError(`corrupt checkpoint: ${e instanceof InputError ? oneLine(e.message, QUOTED_ERROR_LENGTH) : 'training.history is malformed'}`);
    }
  } else {
    // An older checkpoint: the loss of every step.
    expect(t.losses === undefined || Array.isArray(t.losses), 'training.losses must be a list of numbers');
    const losses = (t.losses as unknown[] | undefined) ?? [];
    expect(losses.every(isFiniteNumber), 'training.losses must be numbers');
    const schedule = settings.schedule === 'cosine' ? ({ kind: 'cosine', total_steps: settings.steps, min_lr_ratio: 0.1 } as const) : ({ kind: 'constant' } as const);
    history = TrainingHistory.fromLosses(losses as number[], step, (s) => learningRate(settings.learning_rate, schedule, s - 1));
  }
  const optimizerStep = t.optimizer_step ?? t.step;
  expect(isStep(optimizerStep), 'training.optimizer_step must be a whole number from 0 to 2^53 - 1');
  const source = t.source;
  expect(
    source === null || source === undefined ||
      (isObject(source) && typeof source.name === 'string' && typeof source.hash === 'string' && isStep(source.chars)),
    'training.source must be null or {name, chars, hash}',
  );
  const training: TrainingState = {
    step,
    loss: (t.loss as number | null) ?? null,
    seed: t.seed as number,
    rng: t.rng as number[],
    batcher: t.batcher,
    carry: (t.carry as { h: string; c: string } | null | undefined) ?? null,
    history,
    tokens_seen: isFiniteNumber(t.tokens_seen) ? t.tokens_seen : 0,
    source: (source as TrainingState['source'] | undefined) ?? null,
  };
  return { config, settings, vocab, training, optimizerStep: optimizerStep as number };
}

/**
 * Whether the checkpoint holds the optimizer's moments. A model that has not trained (an imported
 * one: step 0) may have none: a run continued from it starts Adam's moments at zero, as any fresh
 * Adam does. A run that has taken optimizer steps must have them.
 */
function holdsMoments(names: Iterable<string>, settings: TrainingSettings, optimizerStep: number): boolean {
  for (const name of names) if (name.startsWith('optimizer.')) return true;
  expect(settings.optimizer !== 'adam' || optimizerStep === 0, `tensor optimizer.m.* is missing: Adam's moments are needed to continue at optimizer step ${optimizerStep}`);
  return false;
}

/** The tensors a checkpoint of this config and optimizer holds, by name, with their shapes (without the moments when `moments` is false). */
function expectedTensors(config: ModelConfig, settings: TrainingSettings, moments = true): Array<{ name: string; shape: number[]; param: string; slot: string | null }> {
  const specs = parameterSpecs(config);
  const out = specs.map((s) => ({ name: s.name, shape: s.shape, param: s.name, slot: null as string | null }));
  for (const slot of settings.optimizer === 'adam' && moments ? ['m', 'v'] : []) {
    for (const s of specs) out.push({ name: `optimizer.${slot}.${s.name}`, shape: s.shape, param: s.name, slot });
  }
  return out;
}

/** Every tensor present with its shape, and none other. */
function checkTensorShapes(shapes: Map<string, { shape: number[] }>, config: ModelConfig, settings: TrainingSettings, moments = true): void {
  const expected = expectedTensors(config, settings, moments);
  for (const { name, shape } of expected) {
    const t = shapes.get(name);
    expect(t !== undefined, `tensor ${name} is missing`);
    expect(t.shape.length === shape.length && t.shape.every((n, k) => n === shape[k]), `tensor ${name} has shape [${t.shape.join(', ')}], the config needs [${shape.join(', ')}]`);
  }
  const known = new Set(expected.map((e) => e.name));
  const extra = [...shapes.keys()].filter((n) => !known.has(n));
  expect(extra.length === 0, `unexpected tensor ${label(extra[0] ?? '')}`);
}

/** Reads and checks a whole checkpoint; throws CheckpointError (an InputError) on anything wrong. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const { config, settings, vocab, training, optimizerStep } = decodeMetadata(metadata);
  const moments = holdsMoments(tensors.keys(), settings, optimizerStep);
  checkTensorShapes(tensors, config, settings, moments);
  const params = new Map<string, Float32Array>();
  const slots = new Map<string, Map<string, Float32Array>>();
  for (const { name, param, slot } of expectedTensors(config, settings, moments)) {
    const data = (tensors.get(name) as TensorEntry).data;
    checkTensorValues(name, data, slot, (message) => {
      throw new CheckpointError(`corrupt checkpoint: ${message}`);
    });
    if (slot === null) params.set(param, data);
    else {
      let byName = slots.get(slot);
      if (!byName) slots.set(slot, (byName = new Map()));
      byName.set(param, data);
    }
  }
  return { config, settings, vocab, params, optimizer: { step: optimizerStep, slots }, training };
}

/** What a checkpoint is, read from its header alone (no tensor data): enough to name, describe and draw it. */
export interface CheckpointSummary {
  config: ModelConfig;
  settings: TrainingSettings;
  vocabSize: number;
  vocab: Vocabulary;
  step: number;
  loss: number | null;
  tokensSeen: number;
  source: TrainingState['source'];
  history: TrainingHistory;
}

/**
 * Summarizes a checkpoint from its safetensors header (the `headerLength` bytes after the first 8,
 * see readHeaderLength), with the rules of decodeCheckpoint for everything the header holds:
 * metadata, tensor names and shapes, offsets (and, given the file's size, that the tensors fill
 * it). What only the data can show (a non-finite weight) is left to decodeCheckpoint.
 */
export function summarizeCheckpointHeader(headerBytes: Uint8Array, fileSize?: number): CheckpointSummary {
  const dataLength = fileSize === undefined ? undefined : fileSize - 8 - headerBytes.length;
  if (dataLength !== undefined && dataLength < 0) throw new CheckpointError(`not a checkpoint: the header (${headerBytes.length} bytes) exceeds the file (${fileSize} bytes)`);
  const header = decodeSafetensorsHeader(headerBytes, dataLength);
  const { config, settings, vocab, training, optimizerStep } = decodeMetadata(header.metadata);
  checkTensorShapes(header.tensors, config, settings, holdsMoments(header.tensors.keys(), settings, optimizerStep));
  return {
    config,
    settings,
    vocabSize: config.vocab_size,
    vocab,
    step: training.step,
    loss: training.loss,
    tokensSeen: training.tokens_seen,
    source: training.source,
    history: training.history,
  };
}

/** The `expectedLength` float32 values base64 `text` holds (the carried state in the metadata), or a CheckpointError naming `what`. */
export function carriedValues(text: string, expectedLength: number, what: string): Float32Array {
  const bytes = base64ToBytes(text);
  if (bytes === null) throw new CheckpointError(`corrupt checkpoint: ${what} is not base64`);
  if (bytes.length !== expectedLength * 4) throw new CheckpointError(`corrupt checkpoint: ${what} holds ${bytes.length / 4} values, expected ${expectedLength}`);
  const out = new Float32Array(expectedLength);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
