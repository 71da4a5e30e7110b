// How much memory a training run takes, known before any of it is taken: every float buffer the
// engine allocates for a run, counted from the configuration, so that a configuration too big to
// train is refused in one line naming what to lower, rather than failing later with an allocation
// error ("Invalid typed array length", "Array buffer allocation failed").
//
// Dimensions as in config.ts: B batch, T steps, V vocabulary, E embedding, I layer input, H hidden,
// L layers, D directions, G = 4H, R = rows of the head (B*T many-to-many, B many-to-one).
//
// What is counted (float32 unless noted), buffer by buffer as model.ts, trainer.ts and
// optimizer.ts allocate them:
//   parameters and gradients   P each (model.ts: one group each)
//   Adam's moments m and v     P each (optimizer.ts; none for SGD)
//   the workspace of (B, T)    model.ts's Workspace: embedded and dEmbedded (B*T, E); for every
//                              layer and direction gates and dGates (B*T, G), c, h, tanhC, hPrev,
//                              cPrev, dh, dc (B*T, H); for every layer outputs and dOutputs
//                              (B*T, D*H); dhNext, dcNext (B, H); features, dFeatures (B, D*H);
//                              logits, probs, dLogits (R, V); and for one-hot input from 64 rows
//                              on, W_ih transposed (V, G)
//   the carried state          h and c (L*D*B, H), many-to-many (contiguous streams) only, three
//                              times (trainer.ts: the live state, its copy at the start of the step,
//                              and at the start of the last sound step, for rolling back a divergence)
//   the snapshot               a copy of the weights and of Adam's moments (trainer.ts: the state a
//                              diverged run goes back to), ordinary arrays outside the arena: given
//                              as `snapshot`, not in `total` nor held against the limit (like
//                              `saving`), since it never grows the arena
//   token ids (int32)          the workspace's tokens and ids (B*T each) and targets (R each),
//                              the batcher's inputs (B*T) and targets (R)
// Each float buffer in a model's WebAssembly arena takes a whole number of 64-byte blocks (the
// arena's alignment, wasm/simd.ts), counted here as well, so the arena's bytes in use are exact.
//
// Not counted: the text's token ids (4 bytes a token, bounded by the text size limit), the
// panel's traces (batch 1, a small workspace of their own), and the copies made while a
// checkpoint is written (`saving` below: the weights and moments, twice, for a moment).

// From ONE_HOT_TRANSPOSE_MIN_ROWS rows (B*T) on, one-hot input keeps W_ih transposed (the CPU backend's own).
import { ONE_HOT_TRANSPOSE_MIN_ROWS } from './backend-cpu';
import { directions, InputError, layerInputSize, type ModelConfig } from './config';

/** The arena's allocation unit (wasm/simd.ts ALIGN): a float buffer takes whole blocks of it. */
const ARENA_BLOCK = 64;


const GiB = 2 ** 30;

/**
 * The most a training run may take: 4 GiB, what one model's WebAssembly arena can hold (32-bit
 * memory, 65,536 pages: wasm/simd.ts MAX_PAGES_SHARED). Past it the arena cannot grow, buffers
 * fall back to ordinary arrays that the SIMD kernels must copy in and out, and the machine's
 * memory, not the engine, decides whether the run survives; writing a checkpoint then briefly
 * needs twice the weights and moments again.
 */
export const TRAINING_MEMORY_LIMIT_BYTES = 4 * GiB;

export type OptimizerKind = 'adam' | 'sgd';

/** The largest checkpoint that can be read back (one read of a file in Node: 2 GiB - 1). */
export const CHECKPOINT_LIMIT_BYTES = 2 ** 31 - 1;
/** Room left in a checkpoint for its metadata (vocabulary, the loss of every step, the sampler's state). */
const CHECKPOINT_METADATA_ROOM = 64 * 1024 * 1024;

/** The bytes of a run's checkpoint tensors: the weights, and Adam's two moments (F32). */
export function checkpointTensorBytes(config: ModelConfig, optimizer: OptimizerKind = 'adam'): number {
  return 4 * parameters(config) * (optimizer === 'adam' ? 3 : 1);
}

/** Bytes of a training run, by what they hold. */
export interface TrainingMemory {
  /** The weights (P floats). */
  parameters: number;
  /** Their gradients (P floats). */
  gradients: number;
  /** Adam's m and v (2P floats); 0 for SGD. */
  optimizer: number;
  /** The workspace of (B, T) but for the head's buffers: states, gates, layer outputs and their gradients. */
  activations: number;
  /** logits, probabilities and their gradient (R, V) each. */
  head: number;
  /** One-hot input's W_ih transposed (V, G); 0 with an embedding or fewer than 64 rows. */
  oneHot: number;
  /** The state carried from one chunk to the next (many-to-many), with its two copies for rolling back. */
  carry: number;
  /** The copy of the weights and moments a diverged run goes back to (ordinary arrays outside the arena). Not in `total`. */
  snapshot: number;
  /** Token ids and targets (int32). */
  indices: number;
  /** Everything above. */
  total: number;
  /** What lives in the model's arena (parameters, gradients, workspace, carry). */
  arena: number;
  /** Extra bytes, for a moment, while a checkpoint is written (a copy of weights and moments, then the encoded file). Not in `total`. */
  saving: number;
}

/** Bytes of a float32 arena buffer of n values (whole 64-byte blocks; an empty one takes none). */
function arenaBytes(n: number): number {
  if (n === 0) return 0;
  return Math.max(ARENA_BLOCK, Math.ceil((4 * n) / ARENA_BLOCK) * ARENA_BLOCK);
}

/** Number of parameters of a configuration (model.ts parameterSpecs, summed). */
function parameters(config: ModelConfig): number {
  const { vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L } = config;
  const D = directions(config);
  let P = E === null ? 0 : V * E;
  for (let l = 0; l < L; l++) P += D * (4 * H * layerInputSize(config, l) + 4 * H * H + 8 * H);
  return P + V * D * H + V;
}

/** The bytes a training run at batch B and sequence length T allocates, by what they hold. */
export function trainingMemory(config: ModelConfig, B: number, T: number, optimizer: OptimizerKind = 'adam'): TrainingMemory {
  const { vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L } = config;
  const D = directions(config);
  const G = 4 * H;
  const BT = B * T;
  const manyToMany = config.mode === 'many_to_many';
  const R = manyToMany ? BT : B;
  const P = parameters(config);

  const parameterBytes = arenaBytes(P);
  let activations = 0;
  if (E !== null) activations += 2 * arenaBytes(BT * E); // embedded, dEmbedded
  // Every layer and direction: gates, dGates (BT, G); c, h, tanhC, hPrev, cPrev, dh, dc (BT, H).
  activations += L * D * (2 * arenaBytes(BT * G) + 7 * arenaBytes(BT * H));
  activations += L * 2 * arenaBytes(BT * D * H); // outputs, dOutputs
  activations += 2 * arenaBytes(B * H) + 2 * arenaBytes(B * D * H); // dhNext, dcNext, features, dFeatures
  const head = 3 * arenaBytes(R * V);
  const oneHot = E === null && BT >= ONE_HOT_TRANSPOSE_MIN_ROWS ? arenaBytes(V * G) : 0;
  const carry = manyToMany ? 3 * 2 * arenaBytes(L * D * B * H) : 0;
  const indices = 4 * (3 * BT + 3 * R);
  const optimizerBytes = optimizer === 'adam' ? 2 * 4 * P : 0;
  const arena = 2 * parameterBytes + activations + head + oneHot + carry;
  const slots = optimizer === 'adam' ? 2 : 0;
  const snapshot = 4 * P * (1 + slots);
  return {
    parameters: parameterBytes,
    gradients: parameterBytes,
    optimizer: optimizerBytes,
    activations,
    head,
    oneHot,
    carry,
    snapshot,
    indices,
    total: arena + optimizerBytes + indices,
    arena,
    saving: 2 * 4 * P * (1 + slots),
  };
}

/** The bytes a training run at batch B and sequence length T allocates (steady state, every buffer counted). */
export function trainingMemoryBytes(config: ModelConfig, B: number, T: number, optimizer: OptimizerKind = 'adam'): number {
  return trainingMemory(config, B, T, optimizer).total;
}

/** "37.2 GiB", "512 MiB", "1.5 TiB": three significant digits at most. */
export function formatBytes(bytes: number): string {
  const units: Array<[string, number]> = [['TiB', 2 ** 40], ['GiB', GiB], ['MiB', 2 ** 20], ['KiB', 2 ** 10]];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      const x = bytes / size;
      return `${x >= 100 ? Math.round(x).toString() : x >= 10 ? x.toFixed(1).replace(/\.0$/, '') : x.toFixed(2).replace(/\.?0+$/, '')} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

/**
 * Refuses (an InputError, one line) a training run that would need more than `limitBytes`: the
 * message says how much it would need, what takes most of it, and which setting or option to
 * lower. Pure arithmetic: nothing is allocated.
 */
export function checkTrainingMemory(
  config: ModelConfig,
  B: number,
  T: number,
  limitBytes: number = TRAINING_MEMORY_LIMIT_BYTES,
  optimizer: OptimizerKind = 'adam',
): void {
  const m = trainingMemory(config, B, T, optimizer);
  if (m.total <= limitBytes) {
    // It fits in memory; its checkpoint must also be one that can be read back.
    const file = checkpointTensorBytes(config, optimizer);
    if (file + CHECKPOINT_METADATA_ROOM > CHECKPOINT_LIMIT_BYTES) {
      throw new InputError(
        `this model's checkpoint would be about ${formatBytes(file)} (hidden ${config.hidden_size}, vocabulary ${config.vocab_size}, ${config.num_layers} layer(s); weights${optimizer === 'adam' ? " and Adam's moments" : ''}), ` +
          `more than the ${formatBytes(CHECKPOINT_LIMIT_BYTES + 1)} a checkpoint can be to be read back: lower the hidden size (--hidden / lstmLens.hiddenSize) or the layers (--layers / lstmLens.layers)`,
      );
    }
    return;
  }
  const { vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L } = config;
  const R = config.mode === 'many_to_many' ? B * T : B;
  const HIDDEN = 'the hidden size (--hidden / lstmLens.hiddenSize)';
  const LAYERS = 'the layers (--layers / lstmLens.layers)';
  const BATCH = 'the batch size (--batch / lstmLens.batchSize)';
  const SEQ = 'the sequence length (--seq / lstmLens.sequenceLength)';
  const VOCAB = 'the vocabulary (--max-vocab, or character tokens)';
  const shape = [
    `hidden ${H}`,
    ...(L > 1 ? [`${L} layers`] : []),
    ...(config.bidirectional ? ['both directions'] : []),
    `vocabulary ${V}`,
    ...(E !== null ? [`embedding ${E}`] : []),
  ].join(', ');
  const parts: Array<{ bytes: number; text: string; lower: string[] }> = [
    {
      bytes: m.parameters + m.gradients + m.optimizer + m.oneHot,
      text: `weights ${formatBytes(m.parameters + m.gradients + m.optimizer + m.oneHot)} (${shape}; with gradients${optimizer === 'adam' ? " and Adam's moments" : ''})`,
      lower: [HIDDEN, ...(L > 1 ? [LAYERS] : []), ...(V > H ? [VOCAB] : [])],
    },
    {
      bytes: m.activations + m.carry + m.indices,
      text: `activations ${formatBytes(m.activations + m.carry + m.indices)} (batch ${B} × ${T} steps × hidden ${H}${L > 1 ? ` × ${L} layers` : ''})`,
      lower: [BATCH, SEQ, HIDDEN],
    },
    {
      bytes: m.head,
      text: `predictions ${formatBytes(m.head)} (${R} × vocabulary ${V})`,
      lower: [VOCAB, ...(R > 1 ? [BATCH] : []), ...(config.mode === 'many_to_many' ? [SEQ] : [])],
    },
  ];
  parts.sort((a, b) => b.bytes - a.bytes);
  // What takes most of it: the largest part, and any other of at least a quarter of the total.
  const shown = parts.filter((p, k) => k === 0 || p.bytes >= m.total / 4);
  const lower = [...new Set(shown.flatMap((p) => p.lower))];
  const advice = lower.length > 1 ? `${lower.slice(0, -1).join(', ')} or ${lower[lower.length - 1]}` : lower[0];
  throw new InputError(
    `this model would need about ${formatBytes(m.total)} of memory to train: ${shown.map((p) => p.text).join('; ')}; ` +
      `the limit is ${formatBytes(limitBytes)}: lower ${advice}`,
  );
}
