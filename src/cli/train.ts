// `lstm-lens train`: the loop the workers run (src/run/trainingLoop.ts) with the command line's
// own I/O: the progress bar, atomic saves, signals; then the loss on the held-out part.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Checkpoint, TrainingSettings } from '../engine/checkpoint';
import { InputError, modeOption } from '../engine/config';
import { formatRate, printable } from '../engine/format';
import { evaluateLoss } from '../engine/inspect';
import { parameterCount } from '../engine/model';
import { DivergenceError, modelFromCheckpoint, ShorterTextError, Trainer, type ModelShape } from '../engine/trainer';
import { checkWritable, readCheckpointFile, readTextFile, removeStaleTemporaryFiles, sameFile, whatIsAt, writeCheckpointFile } from '../node/files';
import { defaultThreads, startMatmulPool, stopMatmulPool } from '../node/matmulPool';
import { threadCount } from '../engine/trainingOptions';
import { runTraining } from '../run/trainingLoop';
import { intOption, onePositional, parse, UsageError } from './args';
import { ProgressReporter } from './progress';
import { say, stderrIsOpen } from './stderr';
import { MODEL_FLAGS, readResumeOptions, readThreads, readTrainOptions, trainParseOptions } from './trainOptions';

/** Signals that stop a run after saving it, and the exit status each gives (128 + the signal's number). */
const STOP_SIGNALS: ReadonlyArray<[NodeJS.Signals, number]> = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
];

export async function train(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...trainParseOptions(),
      out: { type: 'string' },
      'save-every': { type: 'string' },
      resume: { type: 'boolean' },
      'restart-stream': { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    'train',
  );
  const file = onePositional(positionals, 'FILE', 'train');
  const out = typeof values.out === 'string' ? values.out : `${file}.lstm.safetensors`;
  const saveEvery = intOption(values, 'save-every', 100, 1);
  const threads = threadCount(readThreads(values), defaultThreads());
  const resume = values.resume === true;
  const restartStream = values['restart-stream'] === true;
  if (restartStream && !resume) throw new UsageError('--restart-stream goes with --resume: it reads a shorter text from its start when continuing a saved run');
  if (resume) {
    // Each of these would be silently ignored: the saved run has its own.
    const ignored = MODEL_FLAGS.filter((name) => values[name] !== undefined);
    if (ignored.length > 0) {
      throw new UsageError(
        `--resume continues the run saved at ${printable(out)} with its own settings: ${ignored.map((n) => `--${n}`).join(', ')} cannot change (leave ${ignored.length > 1 ? 'them' : 'it'} out; --steps, --lr and --restart-stream can)`,
      );
    }
  }
  // The text is never the output: same path, another spelling of it, a link or a hard link.
  if (sameFile(file, out)) throw new UsageError(`${values.out === undefined ? 'the checkpoint path' : '--out'} ${printable(out)} is the training text ${printable(file)}; writing the checkpoint there would replace it (choose another --out)`);

  // Every option is checked before anything is read: bad usage costs nothing.
  let fresh: { shape: ModelShape; settings: TrainingSettings } | null = null;
  let overrides: { steps?: number; lr?: number } = {};
  if (resume) {
    const given = readResumeOptions(values);
    overrides = { steps: given.steps, lr: given.learning_rate };
  } else {
    fresh = readTrainOptions(values);
  }

  const log = (line: string): void => {
    if (!values.quiet) say(line);
  };
  const { text, notes: textNotes } = readTextFile(file);
  for (const note of textNotes) log(`note: ${printable(note, 1000)}`);

  // Where the checkpoint goes must take it, found before the run rather than after it.
  const outOption = values.out === undefined ? 'the checkpoint path' : '--out';
  checkWritable(out, outOption);
  const existing = whatIsAt(out);
  if (existing.kind === 'other' && !resume && values.force !== true) {
    throw new UsageError(`${outOption} ${printable(out)} exists and is not an lstm-lens checkpoint; it would be replaced (choose another --out, or add --force to replace it)`);
  }

  let trainer: Trainer;
  if (fresh === null) {
    if (existing.kind === 'missing') throw new UsageError(`--resume: there is no checkpoint at ${printable(out)} to continue`);
    const ckpt = readCheckpointFile(out);
    const steps = overrides.steps ?? ckpt.settings.steps;
    const lr = overrides.lr ?? ckpt.settings.learning_rate;
    // The engine checks the new steps and rate by the reader's rules before anything else.
    try {
      trainer = Trainer.resume(ckpt, text, file, undefined, { steps, learning_rate: lr, restartStream });
    } catch (e) {
      // The engine's words are shared with the extension; the remedy here is an option.
      if (e instanceof ShorterTextError && e.restartable) throw new InputError(`${e.message} (add --restart-stream to continue from the start of the text)`);
      throw e;
    }
    log(`resuming ${printable(out)} at step ${trainer.step} of ${steps}${overrides.lr !== undefined ? `, learning rate ${lr} (was ${ckpt.settings.learning_rate})` : ''}`);
    if (trainer.done) log(`note: the run is already at step ${trainer.step}; raise --steps to train further`);
  } else {
    trainer = Trainer.create(text, file, fresh.shape, fresh.settings);
    if (existing.kind === 'checkpoint') {
      const { step, loss, source } = existing.summary;
      const facts = [step !== null ? `step ${step}` : null, loss !== null ? `loss ${loss.toFixed(4)}` : null, source !== null ? `trained on ${printable(source)}` : null].filter((f) => f !== null);
      log(`note: replacing the checkpoint at ${printable(out)}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}; add --resume to continue it instead`);
    } else if (existing.kind === 'other') {
      log(`note: --force: replacing ${printable(out)}, which is not a checkpoint`);
    }
  }
  const staleRemoved = removeStaleTemporaryFiles(out);
  if (staleRemoved > 0) log(`note: removed ${staleRemoved} temporary file${staleRemoved > 1 ? 's' : ''} that killed runs left beside ${printable(out)}`);
  for (const note of trainer.notes) log(`note: ${printable(note, 1000)}`);
  const cfg = trainer.model.config;
  const s = trainer.settings;
  log(
    `${s.tokens}-level, vocabulary ${cfg.vocab_size}, ${trainer.ids.length} tokens; ` +
      `${cfg.num_layers} layer${cfg.num_layers > 1 ? 's' : ''} of ${cfg.hidden_size}${cfg.bidirectional ? ' ×2 directions' : ''}, ` +
      `${cfg.embedding_size === null ? 'one-hot input' : `embedding ${cfg.embedding_size}`}, ${modeOption(cfg.mode)}; ` +
      `${parameterCount(cfg).toLocaleString('en-US')} parameters; batch ${s.batch_size} × ${s.sequence_length}, ${s.optimizer} lr ${s.learning_rate}`,
  );

  const progress = values.quiet || !stderrIsOpen() ? null : new ProgressReporter(process.stderr);
  let stoppedBy: [NodeJS.Signals, number] | null = null;
  const handlers = STOP_SIGNALS.map(([signal, status]) => {
    const handler = (): void => {
      stoppedBy ??= [signal, status];
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  // Helper threads take a share of the batch's sequences through each recurrence and part of each
  // large multiply where there are more cores (the same results; one thread wherever they cannot start).
  const pooled = startMatmulPool(threads);
  const started = performance.now();
  /** When the run ended (the measuring of the loss after it is not training time). */
  let ended: number | null = null;
  /** tokens/s as the loop measures it: its last progress, then its result. */
  let tokensPerSecond = 0;
  const summary = (): Record<string, unknown> => ({
    steps: trainer.step,
    loss: trainer.loss,
    tokens_per_s: tokensPerSecond,
    seconds: ((ended ?? performance.now()) - started) / 1000,
    checkpoint: out,
    vocab_size: cfg.vocab_size,
    parameters: parameterCount(cfg),
    notes: [...textNotes, ...trainer.notes],
  });
  let diverged: DivergenceError | null = null;
  /** The checkpoint last written (the final one once the run has ended). */
  const last: { saved: Checkpoint | null } = { saved: null };
  try {
    const result = await runTraining(
      trainer,
      {
        post: (message) => {
          if (message.type !== 'progress') return;
          tokensPerSecond = message.tokensPerSecond;
          if (stderrIsOpen()) progress?.update({ step: message.step, total: message.totalSteps, loss: message.loss, tokensPerSecond }, message.step >= message.totalSteps);
        },
        save: () => {
          // The last good weights, when the run diverged (the trainer keeps those from before the update that broke them).
          last.saved = trainer.checkpoint();
          writeCheckpointFile(out, last.saved);
        },
        yieldNow: () => yieldToEventLoop(), // lets Ctrl-C, SIGTERM and SIGHUP through
        stopRequested: () => stoppedBy !== null,
        watched: () => null,
      },
      { saveEverySteps: saveEvery, saveEveryMs: 0, progressEveryMs: 0, yieldEveryMs: 50 },
    );
    tokensPerSecond = result.tokensPerSecond;
  } catch (e) {
    if (!(e instanceof DivergenceError)) throw e;
    diverged = e;
  } finally {
    ended = performance.now();
    if (pooled) stopMatmulPool();
    if (stderrIsOpen()) progress?.finish();
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
  if (diverged !== null) {
    const d = diverged.detail;
    const lr = Number((Number.isFinite(d.suggestedLearningRate) && d.suggestedLearningRate > 0 ? d.suggestedLearningRate : s.learning_rate / 10).toPrecision(3));
    say(
      `lstm-lens: training diverged: ${printable(diverged.message, 400)}, saved in ${printable(out)}. ` +
        `Continue with a lower learning rate: lstm-lens train ${shellWord(file)} --resume --out ${shellWord(out)} --lr ${lr}` +
        `${s.clip === null ? ' (or start afresh with clipping, --clip 1)' : ''}`,
    );
    process.exitCode = 1;
    if (values.json) {
      const finite = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);
      process.stdout.write(
        `${JSON.stringify({
          ...summary(),
          diverged: true,
          divergence: { step: d.step, reason: d.reason, loss: finite(d.loss), starting_loss: finite(d.startingLoss), kept_step: d.keptStep, suggested_learning_rate: lr },
        })}\n`,
      );
    }
    return 1;
  }
  const done = summary();
  const stopped = stoppedBy as [NodeJS.Signals, number] | null;
  log(`${stopped ? `stopped by ${stopped[0]}` : 'done'}: step ${trainer.step}, loss ${trainer.loss?.toFixed(4)}, ${formatRate(done.tokens_per_s as number)} tokens/s; saved ${printable(out)}`);
  const status = stopped ? stopped[1] : 0;
  process.exitCode = status;
  // What a good loss is here: the loss where the model did not train (or the last tenth), against
  // the uniform guess, and how often the batches went through the text.
  // runTraining ends every run it returns from with a save.
  const measured = measureRun(trainer, last.saved ?? trainer.checkpoint(), resume);
  for (const line of measured.lines) log(line);
  if (values.json) process.stdout.write(`${JSON.stringify({ ...done, ...measured.json, diverged: false })}\n`);
  return status;
}

/** The most tokens the summary's loss is measured on (the end of a longer part): a second or two. */
export const MAX_EVALUATION_TOKENS = 200_000;

/** The end of a run's summary: the loss on the held-out part (or the last tenth), ln V, epochs. */
function measureRun(trainer: Trainer, saved: Checkpoint, resumed: boolean): { lines: string[]; json: Record<string, unknown> } {
  const { ids: part, heldOut } = trainer.evaluationIds;
  const ids = part.length > MAX_EVALUATION_TOKENS ? part.subarray(part.length - MAX_EVALUATION_TOKENS) : part;
  const { model } = modelFromCheckpoint(saved);
  const { loss, predictions } = evaluateLoss(model, ids, trainer.settings.sequence_length);
  const V = model.config.vocab_size;
  const uniform = Math.log(V);
  const trainingTokens = trainer.trainingIds.length;
  const epochs = trainer.tokensRead / trainingTokens;
  const share = Math.round((part.length / trainer.ids.length) * 100);
  const measured = ids.length < part.length ? `its last ${ids.length.toLocaleString('en-US')} of ${part.length.toLocaleString('en-US')} tokens` : `${ids.length.toLocaleString('en-US')} tokens`;
  const where = `the last ${share}% of the text (${measured}, ${heldOut ? 'held out: not trained on' : `trained on${resumed ? '' : '; --holdout 0.1 keeps it out'}`})`;
  const lossText = Number.isFinite(loss) ? loss.toFixed(4) : 'n/a';
  const lines = [
    `loss on ${where}: ${lossText}; a uniform guess over the ${V} tokens scores ln ${V} = ${uniform.toFixed(4)}`,
    `${epochs < 0.1 ? epochs.toPrecision(2) : epochs < 10 ? epochs.toFixed(2) : epochs.toFixed(1)} epochs: ${trainer.tokensRead.toLocaleString('en-US')} tokens read of the ${trainingTokens.toLocaleString('en-US')} trained on`,
  ];
  return {
    lines,
    json: {
      eval_loss: Number.isFinite(loss) ? loss : null,
      eval_tokens: ids.length,
      eval_predictions: predictions,
      held_out: heldOut,
      uniform_loss: uniform,
      training_tokens: trainingTokens,
      tokens_read: trainer.tokensRead,
      epochs,
    },
  };
}

/** A path as one shell word in a suggested command (quoted when it needs to be, control characters escaped). */
function shellWord(path: string): string {
  const p = printable(path);
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}
