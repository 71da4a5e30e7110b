// A training run: text → tokens → batches → forward, loss, backward, clipping, update. Everything
// a run depends on (weights, moments, sampler state, carried state) goes into the checkpoint, so a
// run resumed from one continues exactly as if it had never stopped.
//
// The run is generic over the backend (src/engine/backend.ts): on the CPU (the default) or another
// (the GPU's), the update is the backend's own (optimizer.ts), the moments kept there; the CPU's
// refuses a step that would overflow before writing it. The checkpoint is the same either way, so a
// run saved on one backend continues on the other.

import {
  carriedValues,
  checkHeaderFits,
  validateRun,
  type Checkpoint,
  type TrainingSettings,
  type TrainingState,
} from './checkpoint';
import type { Backend } from './backend';
import { float32ToBase64 } from './base64';
import { InputError, type FloatArray, type Mode } from './config';
import { TrainingHistory } from './history';
import { checkTrainingMemory } from './memory';
import { LSTMModel, tensorShape } from './model';
import { ADAM_DEFAULTS, learningRate, Optimizer, type OptimizerSettings } from './optimizer';
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

export type DivergenceReason = 'loss is not finite' | 'gradient is not finite' | 'update would overflow' | 'loss exploded';

/** What went wrong when a run diverged, as data: each face (command line, extension) words its own remedy. */
export interface Divergence {
  /** The step at which it was seen (1-based: the step being taken). */
  step: number;
  reason: DivergenceReason;
  /** The loss of that step (NaN or ±Infinity when not finite). */
  loss: number;
  /** The run's first recorded loss (what an exploded loss is measured against); null when none. */
  startingLoss: number | null;
  /** A learning rate worth trying: a tenth of this run's. */
  suggestedLearningRate: number;
  /** The step whose weights the trainer now holds (those from before the update that broke them). */
  keptStep: number;
}

/** A loss above this many times the run's starting loss counts as divergence. */
export const EXPLOSION_FACTOR = 10;

/** The facts of a divergence in words, without a remedy. */
export function describeDivergence(d: Divergence): string {
  const fmt = (x: number): string => (Number.isFinite(x) ? x.toPrecision(4).replace(/\.?0+$/, '') : String(x));
  const what =
    d.reason === 'loss is not finite' ? `the loss became ${d.loss} at step ${d.step}`
    : d.reason === 'gradient is not finite' ? `the gradient became non-finite at step ${d.step}`
    : d.reason === 'update would overflow' ? `the update of step ${d.step} would make the weights overflow`
    : `the loss exploded to ${fmt(d.loss)} at step ${d.step}, over ${EXPLOSION_FACTOR} times the starting loss ${fmt(d.startingLoss ?? NaN)}`;
  return `${what}; the weights of step ${d.keptStep} are kept`;
}

/**
 * Training diverged: a non-finite loss or gradient, an update that would overflow, or a loss above
 * EXPLOSION_FACTOR times the starting loss. The trainer is back at the state of `keptStep` (weights,
 * moments, sampler, carried state, history), from before the update that broke it, so that
 * checkpoint() gives weights that still compute a finite loss.
 */
export class DivergenceError extends Error implements Divergence {
  override name = 'DivergenceError';
  readonly step: number;
  readonly reason: DivergenceReason;
  readonly loss: number;
  readonly startingLoss: number | null;
  readonly suggestedLearningRate: number;
  readonly keptStep: number;

  /** From the facts (the message describes them, or is given); a bare message keeps `from`'s facts. */
  constructor(detail: Divergence | string, from?: Divergence | string) {
    const facts: Divergence =
      typeof detail !== 'string' ? detail
      : typeof from === 'object' ? from
      : { step: 0, reason: 'loss is not finite', loss: NaN, startingLoss: null, suggestedLearningRate: NaN, keptStep: 0 };
    super(typeof detail === 'string' ? detail : typeof from === 'string' ? from : describeDivergence(detail));
    this.step = facts.step;
    this.reason = facts.reason;
    this.loss = facts.loss;
    this.startingLoss = facts.startingLoss;
    this.suggestedLearningRate = facts.suggestedLearningRate;
    this.keptStep = facts.keptStep;
  }

  /** The facts alone (to send to another thread). */
  get detail(): Divergence {
    const { step, reason, loss, startingLoss, suggestedLearningRate, keptStep } = this;
    return { step, reason, loss, startingLoss, suggestedLearningRate, keptStep };
  }
}

/** What a resumed run may change: the total steps, the learning rate, and whether its streams start over. */
export interface ResumeOverrides {
  /** Total steps of the run (not more steps). */
  steps?: number;
  learning_rate?: number;
  /**
   * Read the text from its start again (contiguous streams from position 0, the carried state
   * zeroed); weights, moments, step and history are kept. For a text shorter than the one trained on.
   */
  restartStream?: boolean;
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

/**
 * Continuing on a text shorter than the one trained on, where the streams stood past its end. Each
 * face words the remedy (the command line's --restart-stream, the extension's question); the
 * engine's is ResumeOverrides.restartStream.
 */
export class ShorterTextError extends InputError {
  override name = 'ShorterTextError';
  /** Whether reading the text from its start (restartStream) would let the run continue. */
  readonly restartable: boolean;
  constructor(message: string, restartable: boolean) {
    super(message);
    this.restartable = restartable;
  }
}

/** The part of the text the summary of a run measures when nothing is held out: its last tenth. */
export const EVALUATION_FRACTION = 0.1;

/** The fewest tokens a loss can be measured on: a window and the token after it (many-to-one), else two. */
function fewestToEvaluate(mode: Mode, T: number): number {
  return mode === 'many_to_one' ? T + 1 : 2;
}

/**
 * How many tokens at the end of a text of `n` a run with `holdout` (a fraction, 0 for none) keeps
 * out of its batches: floor(n · holdout), or none when that would be too few to measure a loss on,
 * or leave too few to train on (T + 1).
 */
export function heldOutTokens(n: number, holdout: number, mode: Mode, T: number): number {
  if (!(holdout > 0)) return 0;
  const k = Math.floor(n * holdout);
  if (k < fewestToEvaluate(mode, T) || n - k < T + 1) return 0;
  return k;
}

/** The weights, moments and optimizer step a diverged run goes back to (copied aside, into tensors made once). */
interface Snapshot<Tensor> {
  params: Tensor;
  moments: Tensor[];
  step: number;
}

/** A step recorded but not yet in the history: it joins once the next step shows its weights sound. */
interface PendingStep {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
}

/** What a run is at the start of a step, besides weights and moments (small: copied every step). */
interface RunState {
  step: number;
  loss: number | null;
  tokensSeen: number;
  rng: number[];
  batcher: BatcherState;
  pending: PendingStep | null;
}

export class Trainer<Tensor = FloatArray, Ids = Int32Array> {
  readonly model: LSTMModel<Tensor, Ids>;
  readonly tokenizer: Tokenizer;
  /** The whole text's token ids. */
  readonly ids: Int32Array;
  /** What the batches read: the ids less the held-out tail (settings.holdout). */
  readonly trainingIds: Int32Array;
  /** Tokens at the end of the text that no batch reads (0 when nothing is held out). */
  readonly heldOut: number;
  readonly settings: TrainingSettings;
  /** What was adjusted or noticed on the way (shown to the user). */
  readonly notes: string[] = [];
  private readonly rng: Random;
  private readonly batcher: Batcher;
  /** State carried from one contiguous chunk to the next (unidirectional many-to-many only). */
  private readonly carry: { h: Tensor; c: Tensor } | null;
  /** The carried state at the start of the step being taken, and at the start of the last sound one (swapped, never reallocated). */
  private carryAtStart: { h: Tensor; c: Tensor } | null;
  private carryGood: { h: Tensor; c: Tensor } | null;
  private readonly optimizer: Optimizer<Tensor, Ids>;
  /** The weights and moments at the start of the last sound step (see `good`). */
  private readonly snapshot: Snapshot<Tensor>;
  private stepCount = 0;
  private lastLoss: number | null = null;
  private tokensSeen = 0;
  /** The step whose update checkLastUpdate() last found sound. */
  private checkedStep = -1;
  /** Every step whose weights proved sound; the last step taken waits in `pending`. */
  private readonly recorded = new TrainingHistory();
  private pending: PendingStep | null = null;
  /** The start of the last step whose forward pass was sound (its weights and moments in `snapshot`); null before the first. */
  private good: RunState | null = null;
  private readonly source: TrainingState['source'];

  private constructor(
    tokenizer: Tokenizer,
    ids: Int32Array,
    shape: ModelShape,
    settings: TrainingSettings,
    source: NonNullable<TrainingState['source']>,
    notes: string[],
    backend: Backend<Tensor, Ids> | undefined,
  ) {
    this.tokenizer = tokenizer;
    this.ids = ids;
    this.source = source;
    this.notes.push(...notes);
    // The reader's own rules, so that every checkpoint of this run reads back.
    const { config, settings: checked } = validateRun({ vocab_size: tokenizer.size, ...shape }, settings);
    const T = settings.sequence_length;
    if (ids.length < T + 1) {
      throw new InputError(`the text is too short for one sequence: ${ids.length} tokens, and a sequence of ${T} needs ${T + 1} (try a shorter sequence length)`);
    }
    // The held-out tail: no batch reads it.
    const holdout = checked.holdout ?? 0;
    this.heldOut = heldOutTokens(ids.length, holdout, shape.mode, T);
    if (holdout > 0 && this.heldOut === 0) {
      this.notes.push(`nothing is held out: ${Math.round(holdout * 100)}% of the text's ${ids.length} tokens is too little to measure a loss on, or would leave too little to train on`);
    }
    this.trainingIds = ids.subarray(0, ids.length - this.heldOut);
    const n = this.trainingIds.length;
    let B = settings.batch_size;
    const streams = shape.mode === 'many_to_many';
    // Contiguous streams should each span several sequences, or the carried state never matters.
    const CHUNKS_PER_STREAM = 4;
    if (streams && n < B * T * CHUNKS_PER_STREAM + 1) {
      B = Math.max(1, Math.min(B, Math.floor((n - 1) / (T * CHUNKS_PER_STREAM))));
      if (B !== settings.batch_size) {
        this.notes.push(
          `batch size lowered from ${settings.batch_size} to ${B}: the text has ${n} tokens${this.heldOut > 0 ? ' to train on' : ''}, too few for ${settings.batch_size} streams of ${CHUNKS_PER_STREAM} sequences of ${T}`,
        );
      }
    }
    // holdout is stored only when it is set, so that a run without it writes what it always wrote.
    const { holdout: _holdout, ...rest } = settings;
    this.settings = { ...rest, ...(holdout > 0 ? { holdout } : {}), batch_size: B };
    checkTrainingMemory(config, B, T, undefined, settings.optimizer); // one line naming what to lower, before anything is allocated
    checkHeaderFits(config, this.settings, tokenizer.vocabulary(), source.name);
    this.model = new LSTMModel<Tensor, Ids>(config, 'float32', backend);
    const optimizerSettings: OptimizerSettings =
      settings.optimizer === 'adam' ? { kind: 'adam', lr: settings.learning_rate, ...ADAM_DEFAULTS } : { kind: 'sgd', lr: settings.learning_rate };
    const k0 = this.model.backend;
    const shapes = this.model.specs.map(tensorShape);
    this.optimizer = new Optimizer(optimizerSettings, k0, shapes);
    // Outside the CPU's arena (memory.ts counts it as `snapshot`).
    this.snapshot = { params: k0.allocGroup(shapes, { aside: true }).whole, moments: this.optimizer.moments().map(() => k0.allocGroup(shapes, { aside: true }).whole), step: 0 };
    this.rng = new Random(settings.seed);
    this.batcher = streams ? new StreamBatcher(this.trainingIds, B, T) : new WindowSampler(this.trainingIds, B, T, shape.mode, this.rng);
    const rows = config.num_layers * this.model.D * B;
    const k = this.model.backend;
    const pair = (): { h: Tensor; c: Tensor } => ({ h: k.alloc(rows, config.hidden_size), c: k.alloc(rows, config.hidden_size) });
    this.carry = streams ? pair() : null;
    this.carryAtStart = streams ? pair() : null;
    this.carryGood = streams ? pair() : null;
  }

  /** The backend the run computes on ('cpu', 'webgl'). */
  get backendName(): string {
    return this.model.backend.name;
  }

  /**
   * A fresh run on `text`, its weights initialized from the seed (on the CPU unless a backend is
   * given). The shape and settings are checked by the reader's rules first (an InputError, one line).
   */
  static create<Tensor = FloatArray, Ids = Int32Array>(text: string, sourceName: string, shape: ModelShape, settings: TrainingSettings, backend?: Backend<Tensor, Ids>): Trainer<Tensor, Ids> {
    // Before the text is read: the vocabulary size is not known yet, and does not matter here.
    validateRun({ vocab_size: 1, ...shape }, settings);
    const tokenizer = Tokenizer.build(text, settings.tokens, settings.max_vocab > 0 ? { maxVocab: settings.max_vocab } : {});
    const { ids, unknown } = tokenizer.encode(text);
    const notes: string[] = [];
    if (unknown > 0) notes.push(`${unknown} tokens fell outside the vocabulary of ${tokenizer.size} and read as ${tokenizer.unknownId >= 0 ? '<unk>' : 'nothing'}`);
    const trainer = new Trainer<Tensor, Ids>(tokenizer, ids, shape, settings, { name: sourceName, chars: text.length, hash: textFingerprint(text) }, notes, backend);
    const init = settings.init === 'constant' ? ({ kind: 'constant', value: settings.init_value } as const) : ({ kind: 'pytorch' } as const);
    trainer.model.initialize(init, trainer.rng);
    return trainer;
  }

  /**
   * Continues the run saved in `ckpt` on `text` (normally the same text; a different one is noted).
   * `overrides` may set the total steps and the learning rate (checked as create checks them), or
   * start the streams over on a text shorter than the one trained on.
   */
  static resume<Tensor = FloatArray, Ids = Int32Array>(ckpt: Checkpoint, text: string, sourceName: string, backend?: Backend<Tensor, Ids>, overrides: ResumeOverrides = {}): Trainer<Tensor, Ids> {
    const settings: TrainingSettings = {
      ...ckpt.settings,
      ...(overrides.steps !== undefined ? { steps: overrides.steps } : {}),
      ...(overrides.learning_rate !== undefined ? { learning_rate: overrides.learning_rate } : {}),
    };
    validateRun(ckpt.config, settings);
    const tokenizer = Tokenizer.fromVocabulary(ckpt.vocab);
    const { ids, unknown } = tokenizer.encode(text);
    const notes: string[] = [];
    const hash = textFingerprint(text);
    if (ckpt.training.source && ckpt.training.source.hash !== hash) notes.push(`the text differs from the one this model was trained on (${ckpt.training.source.name})`);
    if (unknown > 0) notes.push(`${unknown} tokens of the text are not in the model's vocabulary of ${tokenizer.size}`);
    const { vocab_size: _v, ...shape } = ckpt.config;
    const trainer = new Trainer<Tensor, Ids>(tokenizer, ids, shape, settings, { name: sourceName, chars: text.length, hash }, notes, backend);
    if (trainer.settings.batch_size !== ckpt.settings.batch_size) {
      throw new ShorterTextError(
        `the text is shorter than the one this model was trained on: ${trainer.trainingIds.length} tokens${trainer.heldOut > 0 ? ' to train on' : ''}, too few to continue its ${ckpt.settings.batch_size} streams (batch size ${ckpt.settings.batch_size})`,
        false,
      );
    }
    for (const spec of trainer.model.specs) trainer.model.setParameter(spec.name, ckpt.params.get(spec.name) as Float32Array);
    const moments = trainer.optimizer.moments();
    for (const [slot, byName] of ckpt.optimizer.slots) {
      const target = moments.find(([name]) => name === slot)?.[1];
      if (target === undefined) throw new InputError(`the checkpoint has optimizer state "${slot}" that ${trainer.settings.optimizer} does not use`);
      for (const spec of trainer.model.specs) trainer.model.backend.write(target, byName.get(spec.name) as Float32Array, spec.offset);
    }
    trainer.optimizer.step = ckpt.optimizer.step;
    trainer.rng.setState(ckpt.training.rng);
    const saved = ckpt.training.batcher as BatcherState;
    if (!overrides.restartStream) {
      if (trainer.batcher instanceof StreamBatcher && saved.kind === 'streams' && saved.position > trainer.batcher.streamLength) {
        const B = trainer.settings.batch_size;
        throw new ShorterTextError(
          `the text is shorter than the one this model was trained on: ${trainer.trainingIds.length} tokens${trainer.heldOut > 0 ? ' to train on' : ''} now, and its ${B} stream${B === 1 ? '' : 's'} stood at token ${saved.position} of each ` +
            `(${B * saved.position + 1} tokens needed); continue on the text it was trained on, or start the stream over`,
          true,
        );
      }
      trainer.batcher.setState(saved);
      if (trainer.carry && ckpt.training.carry) {
        const k = trainer.model.backend;
        const { h, c } = trainer.carry;
        k.write(h, carriedValues(ckpt.training.carry.h, k.size(h), 'training.carry.h'));
        k.write(c, carriedValues(ckpt.training.carry.c, k.size(c), 'training.carry.c'));
      }
    } else if (trainer.batcher instanceof StreamBatcher) {
      trainer.notes.push(`the text is read from its start again (step ${ckpt.training.step}), the carried state zeroed`);
    }
    trainer.stepCount = ckpt.training.step;
    trainer.lastLoss = ckpt.training.loss;
    trainer.tokensSeen = ckpt.training.tokens_seen;
    trainer.recorded.copyFrom(ckpt.training.history);
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

  /** Tokens the batches have read since the run began (resumed runs included). */
  get tokensRead(): number {
    return this.tokensSeen;
  }

  /**
   * What a run's loss is measured on: the held-out tail, or when nothing is held out the text's
   * last tenth (which it trained on); at least what one prediction needs.
   */
  get evaluationIds(): { ids: Int32Array; heldOut: boolean } {
    if (this.heldOut > 0) return { ids: this.ids.subarray(this.ids.length - this.heldOut), heldOut: true };
    const n = this.ids.length;
    const k = Math.min(n, Math.max(fewestToEvaluate(this.model.config.mode, this.settings.sequence_length), Math.floor(n * EVALUATION_FRACTION)));
    return { ids: this.ids.subarray(n - k), heldOut: false };
  }

  get tokensPerStep(): number {
    return this.settings.batch_size * this.settings.sequence_length;
  }

  /** The run's first recorded loss (against which an exploded loss is judged); null before the first step. */
  get startingLoss(): number | null {
    return this.recorded.firstLoss ?? this.pending?.loss ?? null;
  }

  /** The run's history up to this step (loss, gradient norm, learning rate; bounded, see history.ts): a copy. */
  get history(): TrainingHistory {
    const h = this.recorded.clone();
    const p = this.pending;
    if (p) h.append(p.step, p.loss, p.gradNorm, p.lr);
    return h;
  }

  private runState(): RunState {
    return { step: this.stepCount, loss: this.lastLoss, tokensSeen: this.tokensSeen, rng: this.rng.getState(), batcher: this.batcher.getState(), pending: this.pending };
  }

  /** Copies the weights, moments and optimizer step aside (the start of a sound step). */
  private keepSnapshot(): void {
    const k = this.model.backend;
    k.copy(this.snapshot.params, this.model.params);
    this.optimizer.moments().forEach(([, t], n) => k.copy(this.snapshot.moments[n], t));
    this.snapshot.step = this.optimizer.step;
  }

  /** Goes back to `state`, where the weights and moments are those of the snapshot (or, with restoreWeights false, are still). */
  private rollBack(state: RunState, carry: { h: Tensor; c: Tensor } | null, restoreWeights: boolean): void {
    if (restoreWeights) {
      const k = this.model.backend;
      k.copy(this.model.params, this.snapshot.params);
      this.optimizer.moments().forEach(([, t], n) => k.copy(t, this.snapshot.moments[n]));
      this.optimizer.step = this.snapshot.step;
    }
    this.stepCount = state.step;
    this.lastLoss = state.loss;
    this.tokensSeen = state.tokensSeen;
    this.rng.setState(state.rng);
    this.batcher.setState(state.batcher);
    this.pending = state.pending;
    if (this.carry && carry) {
      const k = this.model.backend;
      k.copy(this.carry.h, carry.h);
      k.copy(this.carry.c, carry.c);
    }
  }

  private diverged(reason: DivergenceReason, loss: number, atStart: RunState, weightsBroken: boolean): DivergenceError {
    const step = atStart.step + 1;
    const startingLoss = this.startingLoss;
    if (!weightsBroken) {
      // Seen after this step's start became the state to come back to (its carry now in carryGood); the weights are still those.
      this.rollBack(this.good as RunState, this.carryGood, false);
    } else if (this.good) {
      // The last update gave these weights: back to before it.
      this.rollBack(this.good, this.carryGood, true);
    } else {
      // The first step of this trainer: its weights are those it was given; back to this step's start.
      this.rollBack(atStart, this.carryAtStart, false);
    }
    return new DivergenceError({ step, reason, loss, startingLoss, suggestedLearningRate: this.settings.learning_rate / 10, keptStep: this.stepCount });
  }

  /**
   * One step: a batch, forward, backward, clipping, update. Throws DivergenceError, the trainer
   * back at the state from before the update that broke the weights, when the loss is not finite
   * or exploded, the gradient is not finite, or the update would overflow.
   */
  trainStep(options: { recordTrace?: boolean } = {}): StepResult {
    const k = this.model.backend;
    const atStart = this.runState();
    if (this.carry && this.carryAtStart) {
      k.copy(this.carryAtStart.h, this.carry.h);
      k.copy(this.carryAtStart.c, this.carry.c);
    }
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
    // The loss judges the weights the last update made.
    if (!Number.isFinite(loss)) throw this.diverged('loss is not finite', loss, atStart, true);
    const startingLoss = this.startingLoss;
    if (startingLoss !== null && loss > EXPLOSION_FACTOR * startingLoss) throw this.diverged('loss exploded', loss, atStart, true);
    // They are sound: this step's start becomes the state to come back to.
    this.keepSnapshot();
    if (this.carryAtStart && this.carryGood) [this.carryAtStart, this.carryGood] = [this.carryGood, this.carryAtStart];
    this.good = atStart;
    const p = this.pending;
    if (p) this.recorded.append(p.step, p.loss, p.gradNorm, p.lr);
    this.pending = null;
    atStart.pending = null;

    model.backward();
    const { norm, clipped } = this.optimizer.clip(model.grads, this.settings.clip);
    if (!Number.isFinite(norm)) throw this.diverged('gradient is not finite', loss, atStart, false);
    const schedule = this.settings.schedule === 'cosine' ? ({ kind: 'cosine', total_steps: this.settings.steps, min_lr_ratio: 0.1 } as const) : ({ kind: 'constant' } as const);
    const lr = learningRate(this.settings.learning_rate, schedule, this.stepCount);
    if (!this.optimizer.update(model.params, model.grads, lr)) throw this.diverged('update would overflow', loss, atStart, false);
    if (this.carry) model.finalState(this.carry.h, this.carry.c);
    this.stepCount += 1;
    this.lastLoss = loss;
    this.pending = { step: this.stepCount, loss, gradNorm: norm, lr };
    this.tokensSeen += B * T;
    return { step: this.stepCount, loss, gradNorm: norm, clipped, lr, tokens: B * T };
  }

  /**
   * Judges the weights the last update made as the next step would (every weight finite, and the
   * loss of the next batch finite and within EXPLOSION_FACTOR of the starting loss), without
   * taking that batch: the sampler, the carried state and the weights are left as they are. When
   * they are broken, the run goes back to the state from before that update and a DivergenceError
   * is thrown, as for any divergence. Call it before the final save of a run (finished or stopped):
   * the last update has no next step to judge it. Does nothing when no update of this trainer is
   * unjudged (or it was judged already).
   */
  checkLastUpdate(): void {
    if (this.pending === null || this.checkedStep === this.stepCount) return;
    const atStart = this.runState();
    let loss = NaN;
    let reason: DivergenceReason | null = null;
    if (!this.weightsAreFinite()) reason = 'update would overflow';
    else {
      const batch = this.batcher.next();
      const carry = this.carry && !batch.resetState ? this.carry : null;
      loss = this.model.forward(batch.inputs, batch.B, batch.T, batch.targets, { h0: carry?.h ?? null, c0: carry?.c ?? null });
      // Nothing of that batch is kept: the next step takes it again.
      this.rng.setState(atStart.rng);
      this.batcher.setState(atStart.batcher);
      const startingLoss = this.startingLoss;
      if (!Number.isFinite(loss)) reason = 'loss is not finite';
      else if (startingLoss !== null && loss > EXPLOSION_FACTOR * startingLoss) reason = 'loss exploded';
    }
    if (reason === null) {
      this.checkedStep = this.stepCount;
      return;
    }
    const last = this.stepCount;
    const error = this.diverged(reason, loss, atStart, true);
    const fmt = (x: number): string => (Number.isFinite(x) ? x.toPrecision(4).replace(/\.?0+$/, '') : String(x));
    const what =
      reason === 'update would overflow' ? 'made a weight overflow'
      : reason === 'loss is not finite' ? `broke the weights: the loss of the next batch is ${loss}`
      : `made the loss explode: ${fmt(loss)} on the next batch, over ${EXPLOSION_FACTOR} times the starting loss ${fmt(error.startingLoss ?? NaN)}`;
    throw new DivergenceError(error.detail, `the last update (step ${last}) ${what}; the weights of step ${error.keptStep} are kept`);
  }

  /** Whether every weight is finite (on the CPU always, as its update refuses to overflow; elsewhere worth asking before saving a diverged run). */
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
    for (const [slot, tensor] of this.optimizer.moments()) {
      const data = k.read(tensor);
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
        carry: this.carry ? { h: float32ToBase64(Float32Array.from(k.read(this.carry.h))), c: float32ToBase64(Float32Array.from(k.read(this.carry.c))) } : null,
        history: this.history,
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
