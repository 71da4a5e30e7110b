// A training run: text → tokens → batches → forward, loss, backward, clipping, update. Everything
// a run depends on (weights, moments, sampler state, carried state) goes into the checkpoint, so a
// run resumed from one continues exactly as if it had never stopped.

import {
  base64ToFloat32,
  float32ToBase64,
  type Checkpoint,
  type TrainingSettings,
  type TrainingState,
} from './checkpoint';
import { InputError, type Mode, type ModelConfig } from './config';
import { LSTMModel } from './model';
import { ADAM_DEFAULTS, clipGradients, globalNorm, learningRate, Optimizer, type OptimizerSettings } from './optimizer';
import { Random } from './random';
import { StreamBatcher, WindowSampler, type Batcher, type BatcherState } from './batching';
import { Tokenizer } from './tokenizer';

/** The model's shape as a user chooses it; the vocabulary size comes from the text. */
export interface ModelShape {
  hidden_size: number;
  num_layers: number;
  embedding_size: number | null;
  bidirectional: boolean;
  mode: Mode;
}

export interface StepResult {
  step: number;
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  clipped: boolean;
  lr: number;
  tokens: number;
}

/** Training produced a non-finite loss or gradient; the model keeps its last good weights. */
export class DivergenceError extends Error {
  override name = 'DivergenceError';
}

/** A short, stable fingerprint of a text (two FNV-1a passes), to recognise what a model was trained on. */
export function textFingerprint(text: string): string {
  let a = 0x811c9dc5, b = 0x01000193 ^ 0x5bd1e995;
  for (let k = 0; k < text.length; k++) {
    const ch = text.charCodeAt(k);
    a = Math.imul(a ^ ch, 0x01000193);
    b = Math.imul(b ^ ch, 0x01000193 + 2);
  }
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  return `fnv1a:${hex(a)}${hex(b)}:${text.length}`;
}

export class Trainer {
  readonly model: LSTMModel;
  readonly optimizer: Optimizer;
  readonly tokenizer: Tokenizer;
  readonly ids: Int32Array;
  readonly settings: TrainingSettings;
  /** What was adjusted or noticed on the way (shown to the user). */
  readonly notes: string[] = [];
  private readonly rng: Random;
  private readonly batcher: Batcher;
  /** State carried from one contiguous chunk to the next (unidirectional many-to-many only). */
  private readonly carry: { h: Float32Array; c: Float32Array } | null;
  private readonly optimizerSettings: OptimizerSettings;
  private stepCount = 0;
  private lastLoss: number | null = null;
  private tokensSeen = 0;
  private readonly losses: number[] = [];
  private readonly source: TrainingState['source'];

  private constructor(
    tokenizer: Tokenizer,
    ids: Int32Array,
    shape: ModelShape,
    settings: TrainingSettings,
    source: TrainingState['source'],
    notes: string[],
  ) {
    this.tokenizer = tokenizer;
    this.ids = ids;
    this.source = source;
    this.notes.push(...notes);
    if (shape.bidirectional && shape.mode === 'many_to_many') {
      throw new InputError('a bidirectional model reads the very tokens it must predict; train it many-to-one, or make it unidirectional');
    }
    const T = settings.sequence_length;
    if (ids.length < T + 1) {
      throw new InputError(`the text is too short for one sequence: ${ids.length} tokens, and a sequence of ${T} needs ${T + 1} (try a shorter sequence length)`);
    }
    let B = settings.batch_size;
    const streams = shape.mode === 'many_to_many';
    // Contiguous streams should each span several sequences, or the carried state never matters.
    const CHUNKS_PER_STREAM = 4;
    if (streams && ids.length < B * T * CHUNKS_PER_STREAM + 1) {
      B = Math.max(1, Math.min(B, Math.floor((ids.length - 1) / (T * CHUNKS_PER_STREAM))));
      if (B !== settings.batch_size) {
        this.notes.push(
          `batch size lowered from ${settings.batch_size} to ${B}: the text has ${ids.length} tokens, too few for ${settings.batch_size} streams of ${CHUNKS_PER_STREAM} sequences of ${T}`,
        );
      }
    }
    this.settings = { ...settings, batch_size: B };
    const config: ModelConfig = { vocab_size: tokenizer.size, ...shape };
    this.model = new LSTMModel(config);
    this.optimizerSettings =
      settings.optimizer === 'adam' ? { kind: 'adam', lr: settings.learning_rate, ...ADAM_DEFAULTS } : { kind: 'sgd', lr: settings.learning_rate };
    this.optimizer = new Optimizer(this.optimizerSettings, this.model.params.length);
    this.rng = new Random(settings.seed);
    this.batcher = streams ? new StreamBatcher(ids, B, T) : new WindowSampler(ids, B, T, shape.mode, this.rng);
    const stateSize = config.num_layers * this.model.D * B * config.hidden_size;
    this.carry = streams ? { h: new Float32Array(stateSize), c: new Float32Array(stateSize) } : null;
  }

  /** A fresh run on `text`, its weights initialized from the seed. */
  static create(text: string, sourceName: string, shape: ModelShape, settings: TrainingSettings): Trainer {
    const tokenizer = Tokenizer.build(text, settings.tokens, settings.max_vocab > 0 ? { maxVocab: settings.max_vocab } : {});
    const { ids, unknown } = tokenizer.encode(text);
    const notes: string[] = [];
    if (unknown > 0) notes.push(`${unknown} tokens fell outside the vocabulary of ${tokenizer.size} and read as ${tokenizer.unknownId >= 0 ? '<unk>' : 'nothing'}`);
    const trainer = new Trainer(tokenizer, ids, shape, settings, { name: sourceName, chars: text.length, hash: textFingerprint(text) }, notes);
    const init = settings.init === 'constant' ? ({ kind: 'constant', value: settings.init_value } as const) : ({ kind: 'pytorch' } as const);
    trainer.model.initialize(init, trainer.rng);
    return trainer;
  }

  /** Continues the run saved in `ckpt` on `text` (normally the same text; a different one is noted). */
  static resume(ckpt: Checkpoint, text: string, sourceName: string): Trainer {
    const tokenizer = Tokenizer.fromVocabulary(ckpt.vocab);
    const { ids, unknown } = tokenizer.encode(text);
    const notes: string[] = [];
    const hash = textFingerprint(text);
    if (ckpt.training.source && ckpt.training.source.hash !== hash) notes.push(`the text differs from the one this model was trained on (${ckpt.training.source.name})`);
    if (unknown > 0) notes.push(`${unknown} tokens of the text are not in the model's vocabulary of ${tokenizer.size}`);
    const { vocab_size: _v, ...shape } = ckpt.config;
    const trainer = new Trainer(tokenizer, ids, shape, ckpt.settings, { name: sourceName, chars: text.length, hash }, notes);
    if (trainer.settings.batch_size !== ckpt.settings.batch_size) {
      throw new InputError(`this text is too short to continue with batch size ${ckpt.settings.batch_size}`);
    }
    for (const spec of trainer.model.specs) trainer.model.parameter(spec.name).set(ckpt.params.get(spec.name) as Float32Array);
    const moments = new Map(trainer.optimizer.slots());
    for (const [slot, byName] of ckpt.optimizer.slots) {
      const target = moments.get(slot);
      if (!target) throw new InputError(`the checkpoint has optimizer state "${slot}" that ${trainer.settings.optimizer} does not use`);
      for (const spec of trainer.model.specs) target.set(byName.get(spec.name) as Float32Array, spec.offset);
    }
    trainer.optimizer.step = ckpt.optimizer.step;
    trainer.rng.setState(ckpt.training.rng);
    trainer.batcher.setState(ckpt.training.batcher as BatcherState);
    if (trainer.carry && ckpt.training.carry) {
      trainer.carry.h.set(base64ToFloat32(ckpt.training.carry.h, trainer.carry.h.length, 'training.carry.h'));
      trainer.carry.c.set(base64ToFloat32(ckpt.training.carry.c, trainer.carry.c.length, 'training.carry.c'));
    }
    trainer.stepCount = ckpt.training.step;
    trainer.lastLoss = ckpt.training.loss;
    trainer.tokensSeen = ckpt.training.tokens_seen;
    trainer.losses.push(...ckpt.training.losses);
    return trainer;
  }

  get step(): number {
    return this.stepCount;
  }

  get loss(): number | null {
    return this.lastLoss;
  }

  get done(): boolean {
    return this.stepCount >= this.settings.steps;
  }

  get tokensPerStep(): number {
    return this.settings.batch_size * this.settings.sequence_length;
  }

  /** Loss of every step so far. */
  get lossHistory(): readonly number[] {
    return this.losses;
  }

  /** One step: a batch, forward, backward, clipping, update. Throws DivergenceError before updating when anything is not finite. */
  trainStep(options: { recordTrace?: boolean } = {}): StepResult {
    const batch = this.batcher.next();
    const { B, T } = batch;
    const carry = this.carry && !batch.resetState ? this.carry : null;
    const model = this.model;
    model.zeroGrad();
    const loss = model.forward(batch.inputs, B, T, batch.targets, {
      h0: carry?.h ?? null,
      c0: carry?.c ?? null,
      recordTrace: options.recordTrace ?? false,
    });
    if (!Number.isFinite(loss)) throw new DivergenceError(`the loss became ${loss} at step ${this.stepCount + 1}`);
    model.backward();
    const { norm, clipped } = this.settings.clip !== null ? clipGradients(model.grads, this.settings.clip) : { norm: globalNorm(model.grads), clipped: false };
    if (!Number.isFinite(norm)) throw new DivergenceError(`the gradient norm became ${norm} at step ${this.stepCount + 1}`);
    const schedule = this.settings.schedule === 'cosine' ? ({ kind: 'cosine', total_steps: this.settings.steps, min_lr_ratio: 0.1 } as const) : ({ kind: 'constant' } as const);
    const lr = learningRate(this.settings.learning_rate, schedule, this.stepCount);
    if (!this.optimizer.update(model.params, model.grads, lr)) {
      throw new DivergenceError(`the update of step ${this.stepCount + 1} would make the weights overflow`);
    }
    if (this.carry) model.finalState(this.carry.h, this.carry.c);
    this.stepCount += 1;
    this.lastLoss = loss;
    this.losses.push(loss);
    this.tokensSeen += B * T;
    return { step: this.stepCount, loss, gradNorm: norm, clipped, lr, tokens: B * T };
  }

  /** Everything needed to reload the model or continue the run. */
  checkpoint(): Checkpoint {
    const model = this.model;
    const copy = (data: Float32Array | Float64Array, offset: number, size: number): Float32Array => Float32Array.from(data.subarray(offset, offset + size));
    const params = new Map<string, Float32Array>();
    for (const spec of model.specs) params.set(spec.name, copy(model.params, spec.offset, spec.size));
    const slots = new Map<string, Map<string, Float32Array>>();
    for (const [slot, data] of this.optimizer.slots()) {
      const byName = new Map<string, Float32Array>();
      for (const spec of model.specs) byName.set(spec.name, copy(data, spec.offset, spec.size));
      slots.set(slot, byName);
    }
    return {
      config: model.config,
      settings: this.settings,
      vocab: this.tokenizer.vocabulary(),
      params,
      optimizer: { step: this.optimizer.step, slots },
      training: {
        step: this.stepCount,
        loss: this.lastLoss,
        seed: this.settings.seed,
        rng: this.rng.getState(),
        batcher: this.batcher.getState(),
        carry: this.carry ? { h: float32ToBase64(this.carry.h), c: float32ToBase64(this.carry.c) } : null,
        losses: [...this.losses],
        tokens_seen: this.tokensSeen,
        source: this.source,
      },
    };
  }
}

/** The model of a checkpoint, ready to run (no optimizer). */
export function modelFromCheckpoint(ckpt: Checkpoint): { model: LSTMModel; tokenizer: Tokenizer } {
  const model = new LSTMModel(ckpt.config);
  for (const spec of model.specs) model.parameter(spec.name).set(ckpt.params.get(spec.name) as Float32Array);
  return { model, tokenizer: Tokenizer.fromVocabulary(ckpt.vocab) };
}
