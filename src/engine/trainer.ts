// A training run: text → tokens → batches → forward, loss, backward, clipping, update. Everything
// a run depends on (weights, moments, sampler state, carried state) goes into the checkpoint, so a
// run resumed from one continues exactly as if it had never stopped.
//
// The run is generic over the backend (src/engine/backend.ts): on the CPU (the default) the update
// is Optimizer's, which refuses a step that would overflow before writing it; on another backend
// (the GPU's) it is BackendOptimizer's, the moments kept there. The checkpoint is the same either
// way, so a run saved on one backend continues on the other.

import {
  base64ToFloat32,
  float32ToBase64,
  type Checkpoint,
  type TrainingSettings,
  type TrainingState,
} from './checkpoint';
import type { Backend } from './backend';
import { InputError, type FloatArray, type Mode, type ModelConfig } from './config';
import { checkTrainingMemory } from './memory';
import { LSTMModel, tensorShape } from './model';
import { ADAM_DEFAULTS, BackendOptimizer, clipGradients, globalNorm, learningRate, Optimizer, type OptimizerSettings } from './optimizer';
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

/** How a step's gradients become an update: on the CPU arrays, or as the backend's primitives. */
interface Updater {
  readonly step: number;
  /** clip_grad_norm_ (when maxNorm is given); the norm before clipping. */
  clip(maxNorm: number | null): { norm: number; clipped: boolean };
  /** False, with nothing changed, when the CPU sees the update overflow; other backends cannot tell. */
  update(lr: number): boolean;
  /** Moments by slot name, each laid out as the parameters (copies off the CPU). */
  slots(): Array<[string, FloatArray]>;
  setSlot(slot: string, values: Float32Array, offset: number): boolean;
  setStep(step: number): void;
}

function cpuUpdater(model: LSTMModel, settings: OptimizerSettings): Updater {
  const optimizer = new Optimizer(settings, model.specs.reduce((n, s) => n + s.size, 0));
  return {
    get step() {
      return optimizer.step;
    },
    clip: (maxNorm) => (maxNorm !== null ? clipGradients(model.grads, maxNorm) : { norm: globalNorm(model.grads), clipped: false }),
    update: (lr) => optimizer.update(model.params, model.grads, lr),
    slots: () => optimizer.slots(),
    setSlot(slot, values, offset) {
      const target = optimizer.slots().find(([name]) => name === slot)?.[1];
      if (!target) return false;
      target.set(values, offset);
      return true;
    },
    setStep: (step) => {
      optimizer.step = step;
    },
  };
}

function backendUpdater<T, I>(model: LSTMModel<T, I>, settings: OptimizerSettings): Updater {
  const k = model.backend;
  const optimizer = new BackendOptimizer(settings, k, model.specs.map(tensorShape));
  const moments = (): Array<[string, T]> => (optimizer.m !== null && optimizer.v !== null ? [['m', optimizer.m], ['v', optimizer.v]] : []);
  return {
    get step() {
      return optimizer.step;
    },
    clip: (maxNorm) => optimizer.clip(model.grads, maxNorm),
    update: (lr) => {
      optimizer.update(model.params, model.grads, lr);
      return true;
    },
    slots: () => moments().map(([name, t]) => [name, k.read(t)]),
    setSlot(slot, values, offset) {
      const target = moments().find(([name]) => name === slot)?.[1];
      if (target === undefined) return false;
      k.write(target, values, offset);
      return true;
    },
    setStep: (step) => {
      optimizer.step = step;
    },
  };
}

export class Trainer<T = FloatArray, I = Int32Array> {
  readonly model: LSTMModel<T, I>;
  readonly tokenizer: Tokenizer;
  readonly ids: Int32Array;
  readonly settings: TrainingSettings;
  /** What was adjusted or noticed on the way (shown to the user). */
  readonly notes: string[] = [];
  private readonly rng: Random;
  private readonly batcher: Batcher;
  /** State carried from one contiguous chunk to the next (unidirectional many-to-many only). */
  private readonly carry: { h: T; c: T } | null;
  private readonly updater: Updater;
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
    backend: Backend<T, I> | undefined,
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
    checkTrainingMemory(config, B, T, undefined, settings.optimizer); // one line naming what to lower, before anything is allocated
    this.model = new LSTMModel<T, I>(config, 'float32', backend);
    const optimizerSettings: OptimizerSettings =
      settings.optimizer === 'adam' ? { kind: 'adam', lr: settings.learning_rate, ...ADAM_DEFAULTS } : { kind: 'sgd', lr: settings.learning_rate };
    this.updater = backend === undefined ? cpuUpdater(this.model as unknown as LSTMModel, optimizerSettings) : backendUpdater(this.model, optimizerSettings);
    this.rng = new Random(settings.seed);
    this.batcher = streams ? new StreamBatcher(ids, B, T) : new WindowSampler(ids, B, T, shape.mode, this.rng);
    const rows = config.num_layers * this.model.D * B;
    const k = this.model.backend;
    this.carry = streams ? { h: k.alloc(rows, config.hidden_size), c: k.alloc(rows, config.hidden_size) } : null;
  }

  /** The backend the run computes on ('cpu', 'webgl'). */
  get backendName(): string {
    return this.model.backend.name;
  }

  /** A fresh run on `text`, its weights initialized from the seed (on the CPU unless a backend is given). */
  static create<T = FloatArray, I = Int32Array>(text: string, sourceName: string, shape: ModelShape, settings: TrainingSettings, backend?: Backend<T, I>): Trainer<T, I> {
    const tokenizer = Tokenizer.build(text, settings.tokens, settings.max_vocab > 0 ? { maxVocab: settings.max_vocab } : {});
    const { ids, unknown } = tokenizer.encode(text);
    const notes: string[] = [];
    if (unknown > 0) notes.push(`${unknown} tokens fell outside the vocabulary of ${tokenizer.size} and read as ${tokenizer.unknownId >= 0 ? '<unk>' : 'nothing'}`);
    const trainer = new Trainer<T, I>(tokenizer, ids, shape, settings, { name: sourceName, chars: text.length, hash: textFingerprint(text) }, notes, backend);
    const init = settings.init === 'constant' ? ({ kind: 'constant', value: settings.init_value } as const) : ({ kind: 'pytorch' } as const);
    trainer.model.initialize(init, trainer.rng);
    return trainer;
  }

  /** Continues the run saved in `ckpt` on `text` (normally the same text; a different one is noted). */
  static resume<T = FloatArray, I = Int32Array>(ckpt: Checkpoint, text: string, sourceName: string, backend?: Backend<T, I>): Trainer<T, I> {
    const tokenizer = Tokenizer.fromVocabulary(ckpt.vocab);
    const { ids, unknown } = tokenizer.encode(text);
    const notes: string[] = [];
    const hash = textFingerprint(text);
    if (ckpt.training.source && ckpt.training.source.hash !== hash) notes.push(`the text differs from the one this model was trained on (${ckpt.training.source.name})`);
    if (unknown > 0) notes.push(`${unknown} tokens of the text are not in the model's vocabulary of ${tokenizer.size}`);
    const { vocab_size: _v, ...shape } = ckpt.config;
    const trainer = new Trainer<T, I>(tokenizer, ids, shape, ckpt.settings, { name: sourceName, chars: text.length, hash }, notes, backend);
    if (trainer.settings.batch_size !== ckpt.settings.batch_size) {
      throw new InputError(`this text is too short to continue with batch size ${ckpt.settings.batch_size}`);
    }
    for (const spec of trainer.model.specs) trainer.model.setParameter(spec.name, ckpt.params.get(spec.name) as Float32Array);
    for (const [slot, byName] of ckpt.optimizer.slots) {
      for (const spec of trainer.model.specs) {
        if (!trainer.updater.setSlot(slot, byName.get(spec.name) as Float32Array, spec.offset)) {
          throw new InputError(`the checkpoint has optimizer state "${slot}" that ${trainer.settings.optimizer} does not use`);
        }
      }
    }
    trainer.updater.setStep(ckpt.optimizer.step);
    trainer.rng.setState(ckpt.training.rng);
    trainer.batcher.setState(ckpt.training.batcher as BatcherState);
    if (trainer.carry && ckpt.training.carry) {
      const k = trainer.model.backend;
      const { h, c } = trainer.carry;
      k.write(h, base64ToFloat32(ckpt.training.carry.h, k.size(h), 'training.carry.h'));
      k.write(c, base64ToFloat32(ckpt.training.carry.c, k.size(c), 'training.carry.c'));
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
    const { norm, clipped } = this.updater.clip(this.settings.clip);
    if (!Number.isFinite(norm)) throw new DivergenceError(`the gradient norm became ${norm} at step ${this.stepCount + 1}`);
    const schedule = this.settings.schedule === 'cosine' ? ({ kind: 'cosine', total_steps: this.settings.steps, min_lr_ratio: 0.1 } as const) : ({ kind: 'constant' } as const);
    const lr = learningRate(this.settings.learning_rate, schedule, this.stepCount);
    if (!this.updater.update(lr)) {
      throw new DivergenceError(`the update of step ${this.stepCount + 1} would make the weights overflow`);
    }
    if (this.carry) model.finalState(this.carry.h, this.carry.c);
    this.stepCount += 1;
    this.lastLoss = loss;
    this.losses.push(loss);
    this.tokensSeen += B * T;
    return { step: this.stepCount, loss, gradNorm: norm, clipped, lr, tokens: B * T };
  }

  /** Whether every weight is finite (on the CPU always, as Optimizer refuses an overflowing update; elsewhere worth asking before saving a diverged run). */
  weightsAreFinite(): boolean {
    return Number.isFinite(this.model.backend.sumOfSquares(this.model.params));
  }

  /** Everything needed to reload the model or continue the run. */
  checkpoint(): Checkpoint {
    const model = this.model;
    const k = model.backend;
    const copy = (data: FloatArray, offset: number, size: number): Float32Array => Float32Array.from(data.subarray(offset, offset + size));
    const params = new Map<string, Float32Array>();
    const values = k.read(model.params);
    for (const spec of model.specs) params.set(spec.name, copy(values, spec.offset, spec.size));
    const slots = new Map<string, Map<string, Float32Array>>();
    for (const [slot, data] of this.updater.slots()) {
      const byName = new Map<string, Float32Array>();
      for (const spec of model.specs) byName.set(spec.name, copy(data, spec.offset, spec.size));
      slots.set(slot, byName);
    }
    return {
      config: model.config,
      settings: this.settings,
      vocab: this.tokenizer.vocabulary(),
      params,
      optimizer: { step: this.updater.step, slots },
      training: {
        step: this.stepCount,
        loss: this.lastLoss,
        seed: this.settings.seed,
        rng: this.rng.getState(),
        batcher: this.batcher.getState(),
        carry: this.carry ? { h: float32ToBase64(Float32Array.from(k.read(this.carry.h))), c: float32ToBase64(Float32Array.from(k.read(this.carry.c))) } : null,
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
