// importState (docs/cli.md, import): a PyTorch state_dict saved as safetensors (the names of
// docs/model.md) and a vocabulary become a checkpoint at step 0, without optimizer state, that
// every command opens. The export side is bridge.ts.

import { validateRun, type Checkpoint, type TrainingSettings } from '../engine/checkpoint';
import { InputError, MAX_LAYERS, type Mode, type ModelConfig } from '../engine/config';
import { TrainingHistory } from '../engine/history';
import { parameterSpecs } from '../engine/model';
import { Random } from '../engine/random';
import { brief, checkTiling, label, readHeaderLength } from '../engine/safetensors';
import { Tokenizer, type Vocabulary } from '../engine/tokenizer';
import { TRAINING_OPTIONS } from '../engine/trainingOptions';
import { checkWritable, readCheckpointBytes, readJsonFile, sameFile, shown, whatIsAt, writeCheckpointFile } from './files';


/** The batches a run continued from an imported model takes (default: those of `lstm-lens train`). */
export interface ImportRun {
  sequenceLength?: number;
  batchSize?: number;
}

/** What `lstm-lens train` starts a run with (the table of training options): an imported model continued by --resume uses them. */
function importedSettings(kind: Vocabulary['kind'], run: ImportRun): TrainingSettings {
  const o = TRAINING_OPTIONS;
  return {
    tokens: kind,
    max_vocab: 0,
    sequence_length: run.sequenceLength ?? o.sequence_length.defaultBy.values[kind],
    batch_size: run.batchSize ?? o.batch_size.default,
    steps: o.steps.default,
    optimizer: o.optimizer.default,
    learning_rate: o.learning_rate.defaultBy.values[o.optimizer.default],
    schedule: o.schedule.default,
    clip: o.clip.default,
    init: o.init.default,
    init_value: o.init_value.default,
    seed: o.seed.default,
  };
}

/** A tensor of a state file, as float32, with its shape and the dtype it was stored in. */
export interface StateTensor {
  shape: number[];
  data: Float32Array;
  dtype: string;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** float16 bits to a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

/**
 * The tensors of a safetensors file (a PyTorch state_dict), each converted to float32: F32 as it
 * is, F64 rounded, F16 and BF16 widened. Any other dtype, a shape that disagrees with its bytes, or
 * offsets outside the file is refused in one line naming the tensor.
 */
export function decodeStateDict(bytes: Uint8Array): Map<string, StateTensor> {
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new InputError('not a safetensors file: its header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new InputError('not a safetensors file: its header is not a JSON object');
  const start = 8 + n;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, StateTensor>();
  const located: Array<{ name: string; begin: number; end: number }> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const bad = (why: string): never => {
      throw new InputError(`tensor ${label(name)}: ${why}`);
    };
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string') bad('its dtype is missing');
    const size = DTYPE_BYTES[dtype as string];
    if (size === undefined) bad(`dtype ${brief(dtype, 20)} is not a floating-point type lstm-lens reads (F32, F64, F16, BF16)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`shape ${brief(shape, 40)} is not a list of sizes`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) bad(`data_offsets ${brief(offsets, 40)} are malformed`);
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * size || start + end > bytes.length) bad(`data_offsets [${begin}, ${end}] do not hold shape [${(shape as number[]).join(', ')}] of ${dtype}`);
    located.push({ name, begin, end });
    const data = new Float32Array(count);
    const at = start + begin;
    for (let k = 0; k < count; k++) {
      const x =
        dtype === 'F32' ? view.getFloat32(at + 4 * k, true)
        : dtype === 'F64' ? view.getFloat64(at + 8 * k, true)
        : dtype === 'F16' ? halfToNumber(view.getUint16(at + 2 * k, true))
        : new Float32Array(new Uint32Array([view.getUint16(at + 2 * k, true) << 16]).buffer)[0];
      if (!Number.isFinite(x)) bad(`holds a non-finite value (${x}) at index ${k}`);
      if (Math.abs(x) > FLOAT32_MAX) bad(`holds ${x} at index ${k}, beyond float32's range`);
      data[k] = x;
    }
    out.set(name, { shape: (shape as number[]).slice(), data, dtype: dtype as string });
  }
  // As safetensors itself: no two tensors share bytes, and every byte belongs to one.
  checkTiling(located, bytes.length - start, 'not a valid safetensors file');
  return out;
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * The model of docs/model.md that a state_dict holds, read from its shapes: vocabulary V from
 * head.weight, hidden size H from lstm.weight_hh_l0, layers L and directions D from the names,
 * embedding E from embedding.weight (absent: one-hot). Anything that does not fit is refused in one
 * line naming the tensor (a GRU's 3H gate rows, a missing head, a shape that disagrees, an extra
 * tensor), as is a vocabulary whose size is not V.
 */
export function configFromState(tensors: Map<string, StateTensor>, vocabSize: number, mode: Mode | null): ModelConfig {
  const need = (name: string, what: string): StateTensor => {
    const t = tensors.get(name);
    if (t === undefined) {
      const others = [...tensors.keys()].slice(0, 4).map(label).join(', ');
      throw new InputError(`tensor ${name} is missing: the state must hold ${what} under the names of nn.LSTM as "lstm", nn.Linear as "head" (and nn.Embedding as "embedding")${others ? `; it holds ${others}${tensors.size > 4 ? ', ...' : ''}` : ''}`);
    }
    return t;
  };
  const head = need('head.weight', 'the output layer nn.Linear(D·H, V)');
  if (head.shape.length !== 2) throw new InputError(`tensor head.weight has shape ${shapeText(head.shape)}, not (V, D·H)`);
  const V = head.shape[0];
  if (V !== vocabSize) throw new InputError(`tensor head.weight has ${V} rows, one per token, but the vocabulary has ${vocabSize} tokens`);
  const hh = need('lstm.weight_hh_l0', 'the recurrent weights of nn.LSTM');
  if (hh.shape.length !== 2) throw new InputError(`tensor lstm.weight_hh_l0 has shape ${shapeText(hh.shape)}, not (4H, H)`);
  const H = hh.shape[1];
  if (hh.shape[0] === 3 * H) throw new InputError(`tensor lstm.weight_hh_l0 has ${hh.shape[0]} = 3·${H} gate rows: a GRU's; lstm-lens reads an LSTM's 4·H (i, f, g, o)`);
  if (hh.shape[0] !== 4 * H) throw new InputError(`tensor lstm.weight_hh_l0 has shape ${shapeText(hh.shape)}: an LSTM's is (4H, H) with gate rows i, f, g, o`);
  let L = 0;
  while (L < MAX_LAYERS && tensors.has(`lstm.weight_ih_l${L}`)) L++;
  if (L === 0) need('lstm.weight_ih_l0', 'the input weights of nn.LSTM');
  const bidirectional = tensors.has('lstm.weight_ih_l0_reverse');
  const embedding = tensors.get('embedding.weight');
  if (embedding !== undefined && (embedding.shape.length !== 2 || embedding.shape[0] !== V)) {
    throw new InputError(`tensor embedding.weight has shape ${shapeText(embedding.shape)}; with ${V} tokens it must be (${V}, E)`);
  }
  const chosen: Mode = mode ?? (bidirectional ? 'many_to_one' : 'many_to_many');
  if (bidirectional && chosen === 'many_to_many') {
    throw new InputError('a bidirectional model reads the very tokens it must predict: import it with --mode many_to_one');
  }
  const config: ModelConfig = { vocab_size: V, embedding_size: embedding ? embedding.shape[1] : null, hidden_size: H, num_layers: L, bidirectional, mode: chosen };
  const specs = parameterSpecs(config);
  for (const spec of specs) {
    const t = tensors.get(spec.name);
    if (t === undefined) {
      const why = /bias/.test(spec.name) ? ' (nn.LSTM(bias=False) is not the model lstm-lens reads)' : '';
      throw new InputError(`tensor ${spec.name} is missing: a ${L}-layer${bidirectional ? ' bidirectional' : ''} LSTM of hidden size ${H} needs it, shape ${shapeText(spec.shape)}${why}`);
    }
    if (t.shape.length !== spec.shape.length || t.shape.some((d, k) => d !== spec.shape[k])) {
      const input = spec.name === 'lstm.weight_ih_l0' ? (config.embedding_size === null ? ` (one-hot input: I = V = ${V})` : ` (I = E = ${config.embedding_size})`) : '';
      throw new InputError(`tensor ${spec.name} has shape ${shapeText(t.shape)}, the model read from the others needs ${shapeText(spec.shape)}${input}`);
    }
  }
  const known = new Set(specs.map((s) => s.name));
  for (const name of tensors.keys()) {
    if (known.has(name)) continue;
    const why = /weight_hr/.test(name) ? ' (nn.LSTM(proj_size=...) is not the model lstm-lens reads)' : ` (lstm-lens reads a ${L}-layer${bidirectional ? ' bidirectional' : ''} LSTM: ${specs[0].name}, ..., head.bias)`;
    throw new InputError(`tensor ${label(name)} does not belong to the model${why}`);
  }
  return config;
}

/** A checkpoint at step 0, without optimizer state or history, of the model a state_dict holds. */
export function checkpointFromState(tensors: Map<string, StateTensor>, vocab: Vocabulary, mode: Mode | null, run: ImportRun = {}): Checkpoint {
  const config = configFromState(tensors, vocab.tokens.length, mode);
  // The reader's own rules (B × T within bounds), so that what is written reads back.
  const settings = validateRun(config, importedSettings(vocab.kind, run)).settings;
  const params = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(config)) params.set(spec.name, (tensors.get(spec.name) as StateTensor).data);
  return {
    config,
    settings,
    vocab,
    params,
    optimizer: { step: 0, slots: new Map() },
    training: {
      step: 0,
      loss: null,
      seed: settings.seed,
      rng: new Random(settings.seed).getState(),
      batcher: config.mode === 'many_to_many' ? { kind: 'streams', position: 0, started: false } : { kind: 'windows' },
      carry: null,
      history: new TrainingHistory(),
      tokens_seen: 0,
      source: null,
    },
  };
}

export interface ImportResult {
  config: ModelConfig;
  checkpoint: string;
  /** Tensors converted to float32 from another dtype, by name. */
  converted: string[];
}

/**
 * Reads a state_dict (`state`, safetensors) and a vocabulary (`vocab`, JSON {"kind", "tokens"}),
 * and writes the checkpoint `out` atomically. Refused in one line (an InputError) before anything
 * is written: a file that is not a state of docs/model.md's module, a vocabulary that is malformed
 * or of another size, an `out` that is there and not an lstm-lens checkpoint (unless `force`).
 */
export function importState(options: { state: string; vocab: string; out: string; mode?: Mode | null; force?: boolean } & ImportRun): ImportResult {
  const { state, out } = options;
  const existing = whatIsAt(out);
  if (existing.kind === 'folder') throw new InputError(`--out ${shown(out)} is a folder; give a file name`);
  // Never the files it reads, even with --force: the state or the vocabulary would be lost.
  for (const [input, what] of [[state, 'the state it reads'], [options.vocab, 'the vocabulary it reads']] as const) {
    if (sameFile(out, input)) throw new InputError(`--out ${shown(out)} is ${what}; give another file name`);
  }
  if (existing.kind === 'other' && !options.force) {
    throw new InputError(`--out ${shown(out)} exists and is not an lstm-lens checkpoint; it would be replaced (choose another --out, or add --force)`);
  }
  checkWritable(out, '--out');
  const raw = readJsonFile(options.vocab, 'vocabulary');
  let vocab: Vocabulary;
  try {
    vocab = Tokenizer.fromVocabulary(raw as Vocabulary).vocabulary();
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${shown(options.vocab)}: ${e.message} (a vocabulary is {"kind": "char" | "word", "tokens": [...]}, a token's id its index)`);
    throw e;
  }
  let ckpt: Checkpoint;
  const converted: string[] = [];
  try {
    const tensors = decodeStateDict(readCheckpointBytes(state));
    for (const [name, t] of tensors) if (t.dtype !== 'F32') converted.push(name);
    ckpt = checkpointFromState(tensors, vocab, options.mode ?? null, options);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${shown(state)}: ${e.message}`);
    throw e;
  }
  writeCheckpointFile(out, ckpt);
  return { config: ckpt.config, checkpoint: out, converted };
}
