// lstm-lens: the engine from the command line (CONTRACTS.md section 3). `train` runs the loop the
// workers run (src/worker/trainingLoop.ts) with its own I/O: the progress bar, atomic saves, signals.
// Exit status: 0 success; 2 bad usage or bad input (one line on stderr); 1 failure while running.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { TrainingSettings } from '../engine/checkpoint';
import { MAX_HOLDOUT, MAX_TOKENS_PER_STEP, validateSettings, type Checkpoint } from '../engine/checkpoint';
import { InputError, MODE_OPTIONS, modeFromOption, modeOption } from '../engine/config';
import { parseGradCase, runGradCase } from '../engine/grad-case';
import { evaluateLoss, inspectText } from '../engine/inspect';
import { parameterCount } from '../engine/model';
import { TextGenerator } from '../engine/sampling';
import { DivergenceError, modelFromCheckpoint, ShorterTextError, Trainer, type ModelShape } from '../engine/trainer';
import {
  checkWritable,
  readCheckpointFile,
  readJsonFile,
  readTextFile,
  removeStaleTemporaryFiles,
  sameFile,
  whatIsAt,
  writeCheckpointFile,
} from '../node/files';
import { startMatmulPool, stopMatmulPool } from '../node/matmulPool';
import { formatRate, printable } from '../engine/format';
import { ProgressReporter } from './progress';
import { bench } from './bench';
import { describeIndices, fitLine, outputWidth, parsePositions, parseUnits, wrapItems } from './layout';
import { nearest, unknownOptionMessage } from './options';
import { packageVersion } from './version';
import { runTraining } from '../worker/trainingLoop';

/** Positions whose predictions `inspect` prints as text (all of them go to --json). */
export const INSPECT_PRINTED_POSITIONS = 200;
/** Positions and units of the trace that `inspect` prints as text. */
export const INSPECT_TRACE_POSITIONS = 50;
export const INSPECT_TRACE_UNITS = 32;

/** Every command, in the order the usage lists them. */
const COMMANDS = ['train', 'generate', 'inspect', 'grad', 'bench'] as const;

const USAGE = `usage: lstm-lens <command> [options]

commands:
  train FILE      train a language model on FILE and write a checkpoint
  generate CKPT   continue a text with a trained model
  inspect CKPT    shapes, predictions and the trace of the model reading a text
  grad CASE.json  one forward and backward pass, as JSON (for checks against PyTorch)
  bench           training and generation speed on the benchmark workload

train FILE [--tokens char|word] [--hidden H] [--layers L] [--embedding E] [--seq T] [--batch B]
           [--steps N] [--lr X] [--seed S] [--out CKPT] [--json] [--holdout F]
           [--mode many-to-many|many-to-one] [--bidirectional] [--optimizer adam|sgd]
           [--clip X] [--schedule constant|cosine] [--init pytorch|constant] [--init-value X]
           [--max-vocab N] [--save-every N] [--resume [--restart-stream]] [--force] [--quiet]
generate CKPT [--prime TEXT] [--length N] [--temperature X] [--top-k K] [--seed S] [--with-prime|--no-prime]
inspect CKPT --text TEXT [--top N] [--units 0,3,5|0-7] [--positions A:B] [--no-trace] [--json]
grad CASE.json
bench [--json] [--hidden H] [--layers L] [--steps N] [--threads 1|2]

lstm-lens --help (or help) prints this and exits 0; lstm-lens with no command prints it and exits 2.
lstm-lens --version prints the version.
Exit status: 0 success; 2 bad usage or bad input (one line on stderr); 1 a failure while running
(training that diverged, a save that failed).

Run 'lstm-lens <command> --help' for the details of one command.`;

const HELP: Record<string, string> = {
  train: `lstm-lens train FILE [options]

Trains an LSTM language model on FILE and writes a checkpoint (safetensors).

  --tokens char|word     character or word tokens (default char)
  --hidden H             hidden units per layer (default 128)
  --layers L             stacked layers (default 1)
  --embedding E          embedding size; 0 for one-hot input, the article's choice (default 0)
  --mode M               many-to-many (every position predicts the next token; default) or
                         many-to-one (tokens 1..n predict token n+1, the article's setup)
  --bidirectional        read each window both ways (many-to-one only)
  --seq T                tokens per sequence (default 64 for char, 16 for word)
  --batch B              sequences per step (default 32)
  --steps N              total steps of the run (default 600)
  --lr X                 learning rate (default 0.004 for adam, 0.1 for sgd)
  --optimizer adam|sgd   (default adam)
  --clip X               clip gradients to this global norm; 0 for none (default 5)
  --schedule S           constant or cosine, decaying to a tenth (default constant)
  --init pytorch|constant  PyTorch's default initialization, or every weight --init-value
  --init-value X         the constant for --init constant (default 0.1, as the article)
  --max-vocab N          keep the N-1 most frequent tokens and <unk> (default 0: no cap)
  --seed S               seed for the weights and the batches (default 0)
  --holdout F            keep the last fraction F of the text out of training, and report the
                         loss there (default 0.1; 0 trains on all of it, and the loss is then
                         measured on the last tenth, which was trained on)
  --out CKPT             checkpoint path (default FILE.lstm.safetensors); never the text itself
  --force                replace a file at --out that is not an lstm-lens checkpoint
  --save-every N         also save every N steps (default 100)
  --resume               continue the run saved at --out, to --steps in total, with its own
                         settings (only --steps and --lr can change)
  --restart-stream       with --resume, on a text shorter than the one trained on: read it
                         from its start again (the carried state zeroed; weights, optimizer and
                         step kept)
  --json                 end stdout with one JSON line: steps, loss, tokens_per_s, checkpoint
                         (and, when training diverged, diverged: true and what happened)
  --quiet                no progress

At the end: the loss on the held-out part (or the last tenth), the uniform guess ln V to compare
it with, and the epochs seen (tokens read / tokens trained on).
Ctrl-C, SIGTERM and SIGHUP save the run and stop it. Training that diverges exits with status 1,
keeping the weights from before the step that broke them (the last step's update included).`,
  generate: `lstm-lens generate CKPT [options]

Prints the continuation of the prime text, token by token. On a terminal the prime is printed
first, dimmed (plain where NO_COLOR is set), so the continuation reads in its context; into a
pipe or a file only the continuation is written, unless --with-prime.

  --prime TEXT           the cue the model reads first (default: none)
  --with-prime           print the prime before the continuation, on a terminal or not
  --no-prime             print only the continuation, on a terminal too
  --length N             tokens to generate (default 200)
  --temperature X        0 is greedy; higher is more adventurous (default 0.8)
  --top-k K              sample among the K most likely tokens; 0 for all (default 0)
  --seed S               same seed, same output (default 0)`,
  inspect: `lstm-lens inspect CKPT --text TEXT [options]

The model reads TEXT as one sequence (batch 1), predicting each next token. Prints the model, the
tokens by position, the shape of every tensor, the top predictions at each position with the
actual next token's probability, and the trace: the gates i, f, g, o, the states c, h and the
gradients dL/dh, dL/dc of every layer and direction, one row per step, one column per unit.

  --top N                predictions shown at each position (default 5)
  --positions A:B        the positions [A, B) to show (default: the first ${INSPECT_PRINTED_POSITIONS} predictions,
                         the first ${INSPECT_TRACE_POSITIONS} steps of the trace); A: or :B leave one end open
  --units LIST           the units of the trace, by index from 0: 0,3,5 or 0-7 or 0-3,9
                         (default: the first ones that fit the width)
  --no-trace             leave the trace out (and skip the backward pass)
  --json                 one JSON object with every position (tokens, ids, logits, loss, shapes,
                         top, trace); --positions, --units and --no-trace shape only the text

Lines keep to the terminal's width (COLUMNS, or 100 when not a terminal).`,
  grad: `lstm-lens grad CASE.json

One forward and backward pass of the case (config, tokens, targets, weights, optional h0/c0) in
float32, printed as JSON: loss, logits, output, h_n, c_n, every gradient and the trace.`,
};

class UsageError extends InputError {
  override name = 'UsageError';
}

type Values = Record<string, string | boolean | undefined>;

/**
 * parseArgs reads `--lr -1` as two options and calls it ambiguous; a value that begins with a dash
 * but is not one of this command's options (a negative number, a text) is joined to its option as
 * `--lr=-1`, so the option's own check answers ("must be > 0").
 */
function joinDashValues(args: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const known = new Set<string>(['--help', '-h']);
  for (const [name, o] of Object.entries(options)) {
    known.add(`--${name}`);
    if (o.short) known.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (a === '--') {
      out.push(...args.slice(k));
      break;
    }
    const next = args[k + 1];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    if (name !== null && options[name]?.type === 'string' && next !== undefined && next.startsWith('-') && next !== '-' && !known.has(next.split('=')[0])) {
      out.push(`${a}=${next}`);
      k++;
      continue;
    }
    out.push(a);
  }
  return out;
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, command: string): { values: Values; positionals: string[] } {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as const;
  const joined = joinDashValues(args, options);
  // A mistyped option is named with the nearest one ("--step": did you mean --steps?).
  const unknown = unknownOptionMessage(joined, all);
  if (unknown !== null) throw new UsageError(`${command}: ${unknown} (see lstm-lens ${command} --help)`);
  try {
    const { values, positionals } = parseArgs({ args: joined, options: all, allowPositionals: true, strict: true });
    if (values.help) {
      process.stdout.write(`${HELP[command]}\n`);
      process.exit(0);
    }
    return { values: values as Values, positionals };
  } catch (e) {
    // parseArgs explains some mistakes over several lines; the contract wants one.
    throw new UsageError(`${command}: ${printable((e as Error).message.trim().replace(/\s*\n\s*/g, ' '), 400)}`);
  }
}

/** A plain decimal whole number: digits only (no sign, no spaces, no 0x, no exponent). */
const WHOLE = /^\d+$/;
/** A plain decimal number: optional minus, digits with an optional fraction, an optional exponent (1e-3, 0.004, -2). */
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

const quoted = (raw: unknown): string => `"${printable(String(raw), 60)}"`;

/** A whole-number option from `min` to `max`; anything else (-1, 2.5, 0x10, ' 8 ', 1e3) is refused naming the range. */
function intOption(values: Values, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, extra = ''): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const rule = max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
  if (typeof raw !== 'string' || !WHOLE.test(raw)) throw new UsageError(`--${name} must be ${rule}${extra}, got ${quoted(raw)}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be ${rule}${extra}, got ${quoted(raw)}`);
  return n;
}

/** A decimal number option that passes `check` (whose rule, e.g. "> 0", the message names). */
function realOption(values: Values, name: string, fallback: number, check: (n: number) => boolean, rule: string): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && DECIMAL.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${rule}, got ${quoted(raw)}`);
  return n;
}

const MAX_SEED = 0xffffffff;

function oneOf<T extends string>(values: Values, name: string, choices: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${quoted(raw)}`);
  return raw as T;
}

function onePositional(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes one ${what}${positionals.length ? `, got ${positionals.length} arguments` : ''} (see lstm-lens ${command} --help)`);
  return positionals[0];
}

// ------------------------------------------------------------------------------------ stderr

/** False once stderr is a closed pipe (`lstm-lens train ... 2>&1 | head -2`): the run goes on, silently. */
let stderrOpen = true;

function say(line: string): void {
  if (stderrOpen) process.stderr.write(`${line}\n`);
}

// ------------------------------------------------------------------------------------ train

/** What a fresh run sets; `--resume` continues the run as it was saved, so it takes none of these. */
const MODEL_OPTIONS = [
  'tokens', 'hidden', 'layers', 'embedding', 'mode', 'bidirectional', 'seq', 'batch', 'optimizer', 'clip', 'schedule', 'init', 'init-value', 'max-vocab', 'seed', 'holdout',
] as const;

/** What a fresh run from the command line holds out of its text by default (a fraction, at its end). */
export const DEFAULT_HOLDOUT = 0.1;

/** The limits of the checkpoint reader (validateConfig, validateSettings), so that every run it starts can be read back. */
const LIMITS = { hidden: 1 << 14, layers: 64, embedding: 1 << 14, vocab: 1 << 20 } as const;

/** Signals that stop a run after saving it, and the exit status each gives (128 + the signal's number). */
const STOP_SIGNALS: ReadonlyArray<[NodeJS.Signals, number]> = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
];

async function train(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      tokens: { type: 'string' },
      hidden: { type: 'string' },
      layers: { type: 'string' },
      embedding: { type: 'string' },
      mode: { type: 'string' },
      bidirectional: { type: 'boolean' },
      seq: { type: 'string' },
      batch: { type: 'string' },
      steps: { type: 'string' },
      lr: { type: 'string' },
      optimizer: { type: 'string' },
      clip: { type: 'string' },
      schedule: { type: 'string' },
      init: { type: 'string' },
      'init-value': { type: 'string' },
      'max-vocab': { type: 'string' },
      seed: { type: 'string' },
      holdout: { type: 'string' },
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
  const resume = values.resume === true;
  const restartStream = values['restart-stream'] === true;
  if (restartStream && !resume) throw new UsageError('--restart-stream goes with --resume: it reads a shorter text from its start when continuing a saved run');
  if (resume) {
    // Each of these would be silently ignored: the saved run has its own.
    const ignored = MODEL_OPTIONS.filter((name) => values[name] !== undefined);
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
    overrides = {
      steps: values.steps === undefined ? undefined : intOption(values, 'steps', 0, 1),
      lr: values.lr === undefined ? undefined : realOption(values, 'lr', 0, (n) => n > 0, 'a number > 0'),
    };
  } else {
    const tokens = oneOf(values, 'tokens', ['char', 'word'] as const, 'char');
    const optimizer = oneOf(values, 'optimizer', ['adam', 'sgd'] as const, 'adam');
    const mode = modeFromOption(oneOf(values, 'mode', MODE_OPTIONS, 'many-to-many'));
    const embedding = intOption(values, 'embedding', 0, 0, LIMITS.embedding, ' (0: one-hot)');
    const clip = realOption(values, 'clip', 5, (n) => n >= 0, 'a number ≥ 0 (0: no clipping)');
    const maxVocab = intOption(values, 'max-vocab', 0, 0, LIMITS.vocab, ' (0: no cap)');
    if (maxVocab === 1) throw new UsageError('--max-vocab must be 0 (no cap) or at least 2 (one token and <unk>), got "1"');
    fresh = {
      shape: {
        hidden_size: intOption(values, 'hidden', 128, 1, LIMITS.hidden),
        num_layers: intOption(values, 'layers', 1, 1, LIMITS.layers),
        embedding_size: embedding === 0 ? null : embedding,
        bidirectional: values.bidirectional === true,
        mode,
      },
      settings: validateSettings({
        tokens,
        max_vocab: maxVocab,
        sequence_length: intOption(values, 'seq', tokens === 'char' ? 64 : 16, 1, MAX_TOKENS_PER_STEP),
        batch_size: intOption(values, 'batch', 32, 1, MAX_TOKENS_PER_STEP),
        steps: intOption(values, 'steps', 600, 1),
        optimizer,
        learning_rate: realOption(values, 'lr', optimizer === 'adam' ? 0.004 : 0.1, (n) => n > 0, 'a number > 0'),
        schedule: oneOf(values, 'schedule', ['constant', 'cosine'] as const, 'constant'),
        clip: clip === 0 ? null : clip,
        init: oneOf(values, 'init', ['pytorch', 'constant'] as const, 'pytorch'),
        init_value: realOption(values, 'init-value', 0.1, () => true, 'a number'),
        seed: intOption(values, 'seed', 0, 0, MAX_SEED),
        holdout: realOption(values, 'holdout', DEFAULT_HOLDOUT, (n) => n >= 0 && n <= MAX_HOLDOUT, `a fraction from 0 to ${MAX_HOLDOUT} (0: hold nothing out)`),
      }),
    };
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

  const progress = values.quiet || !stderrOpen ? null : new ProgressReporter(process.stderr);
  let stoppedBy: [NodeJS.Signals, number] | null = null;
  const handlers = STOP_SIGNALS.map(([signal, status]) => {
    const handler = (): void => {
      stoppedBy ??= [signal, status];
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  // A helper thread takes part of each large multiply where there is a second core (same results;
  // one thread wherever it cannot start).
  const pooled = startMatmulPool(2);
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
          if (stderrOpen) progress?.update({ step: message.step, total: message.totalSteps, loss: message.loss, tokensPerSecond }, message.step >= message.totalSteps);
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
    if (stderrOpen) progress?.finish();
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

/** SGR dim on and off (normal intensity). */
const DIM = '\x1b[2m';
const UNDIM = '\x1b[22m';

/** Whether to colour what goes to `stream`: a terminal, and no NO_COLOR in the environment (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined;
}

function generate(args: string[]): number {
  const { values, positionals } = parse(
    args,
    { prime: { type: 'string' }, 'with-prime': { type: 'boolean' }, 'no-prime': { type: 'boolean' }, length: { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, seed: { type: 'string' } },
    'generate',
  );
  const path = onePositional(positionals, 'CKPT', 'generate');
  const length = intOption(values, 'length', 200, 0);
  const temperature = realOption(values, 'temperature', 0.8, (n) => n >= 0, 'a number ≥ 0 (0: greedy)');
  const topK = intOption(values, 'top-k', 0, 0, Number.MAX_SAFE_INTEGER, ' (0: all)');
  const seed = intOption(values, 'seed', 0, 0, MAX_SEED);
  const ckpt = readCheckpointFile(path);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const generator = new TextGenerator(model, tokenizer, { temperature, topK }, seed, ckpt.settings.sequence_length);
  const prime = typeof values.prime === 'string' ? values.prime : '';
  const primed = generator.prime(prime);
  if (primed.unknown > 0) {
    say(`note: ${primed.unknown} token${primed.unknown > 1 ? 's' : ''} of the prime ${tokenizer.unknownId >= 0 ? 'read as <unk>' : `${primed.unknown > 1 ? 'are' : 'is'} not in the vocabulary and ${primed.unknown > 1 ? 'were' : 'was'} skipped`}`);
  }
  // The prime first, so the continuation reads in its context: dimmed on a terminal.
  // Into a pipe or a file, only the continuation (what scripts read); --with-prime or --no-prime decide.
  if (values['with-prime'] === true && values['no-prime'] === true) throw new UsageError('generate: --with-prime and --no-prime contradict each other');
  const showPrime = values['no-prime'] !== true && (values['with-prime'] === true || process.stdout.isTTY === true);
  if (showPrime && prime.length > 0) process.stdout.write(useColor(process.stdout, process.env) ? `${DIM}${prime}${UNDIM}` : prime);
  let pending = '';
  for (let k = 0; k < length; k++) {
    pending += generator.next().text;
    if (pending.length >= 64) {
      process.stdout.write(pending);
      pending = '';
    }
  }
  process.stdout.write(`${pending}\n`);
  return 0;
}


/** A token as `inspect` prints it: quoted, control characters and terminal escapes escaped, long ones cut. */
const tokenText = (t: string): string => printable(JSON.stringify(t), 60);

function inspect(args: string[]): number {
  const { values, positionals } = parse(
    args,
    { text: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' }, units: { type: 'string' }, positions: { type: 'string' }, 'no-trace': { type: 'boolean' } },
    'inspect',
  );
  const path = onePositional(positionals, 'CKPT', 'inspect');
  if (typeof values.text !== 'string') throw new UsageError('inspect needs --text TEXT');
  const topN = intOption(values, 'top', 5, 1);
  if (values.json) {
    const shaping = (['units', 'positions', 'no-trace'] as const).filter((n) => values[n] !== undefined);
    if (shaping.length > 0) throw new UsageError(`${shaping.map((n) => `--${n}`).join(', ')} shape${shaping.length === 1 ? 's' : ''} the text output; --json has every position, unit and tensor (leave ${shaping.length === 1 ? 'it' : 'them'} out, or leave out --json)`);
  }
  const ckpt = readCheckpointFile(path);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const T = tokenizer.encode(values.text).ids.length;
  if (T === 0) throw new InputError('the text has no tokens the model knows');
  const H = model.config.hidden_size;
  const chosenPositions = typeof values.positions === 'string' ? parsePositions(values.positions, T) : null;
  const chosenUnits = typeof values.units === 'string' ? parseUnits(values.units, H) : null;
  const withTrace = values['no-trace'] !== true;
  // The engine reads a long text in pieces; as text only the positions shown are computed (the
  // first ones unless --positions says), with --json every position (or a refusal, in one line,
  // of what cannot fit).
  const window = values.json ? { start: 0, end: T } : (chosenPositions ?? { start: 0, end: Math.min(T, INSPECT_PRINTED_POSITIONS) });
  let result: ReturnType<typeof inspectText>;
  try {
    result = inspectText(model, tokenizer, values.text, { topK: topN, window, gradients: values.json === true || withTrace });
  } catch (e) {
    if (e instanceof InputError && values.json) {
      throw new InputError(`${e.message} (with --json every position is returned: give a shorter --text, or leave out --json for the first ${INSPECT_PRINTED_POSITIONS})`);
    }
    throw e;
  }
  const write = (chunk: string): void => {
    process.stdout.write(chunk);
  };
  if (values.json) {
    // Written piece by piece: the whole object as one string would not fit for a long text.
    const V = model.config.vocab_size;
    const rows = (data: ArrayLike<number> | null, width: number): void => {
      write('[');
      if (data) {
        for (let t = 0; t < T; t++) {
          let row = t > 0 ? ',[' : '[';
          for (let j = 0; j < width; j++) row += (j > 0 ? ',' : '') + JSON.stringify(data[t * width + j]);
          write(`${row}]`);
        }
      }
      write(']');
    };
    write(`{"tokens":${JSON.stringify(result.tokens)},"ids":${JSON.stringify(Array.from(result.ids))},"unknown":${result.unknown},"logits":`);
    rows(result.logits, V);
    write(`,"loss":${JSON.stringify(Number.isFinite(result.loss) ? result.loss : null)},"shapes":${JSON.stringify(Object.fromEntries(result.shapes))},"top":[`);
    for (let t = 0; t < T; t++) write((t > 0 ? ',' : '') + JSON.stringify(result.top[t]));
    write('],"trace":[');
    result.trace.forEach((e, k) => {
      write(`${k > 0 ? ',' : ''}{"layer":${e.layer},"direction":${JSON.stringify(e.direction)}`);
      for (const name of ['i', 'f', 'g', 'o', 'c', 'h', 'dh', 'dc'] as const) {
        write(`,"${name}":[`);
        rows(e[name], H);
        write(']');
      }
      write('}');
    });
    write(']}\n');
    return 0;
  }
  write(inspectReport(ckpt, result, { width: outputWidth(process.stdout, process.env), chosenPositions, chosenUnits, withTrace, topN }));
  return 0;
}

/** The gates and states of the trace, with what each is. */
const TRACE_TENSORS = [
  ['i', 'input gate'],
  ['f', 'forget gate'],
  ['g', 'candidate cell values'],
  ['o', 'output gate'],
  ['c', 'cell state'],
  ['h', 'hidden state, the output'],
  ['dh', 'dL/dh: the loss gradient reaching h'],
  ['dc', 'dL/dc: the loss gradient reaching c'],
] as const;

/** `inspect`'s readable report: lines within `width`, the positions and units asked for (or the first ones, said so). */
export function inspectReport(
  ckpt: Checkpoint,
  result: ReturnType<typeof inspectText>,
  o: { width: number; chosenPositions: { start: number; end: number } | null; chosenUnits: number[] | null; withTrace: boolean; topN: number },
): string {
  const { width } = o;
  const cfg = ckpt.config;
  const { T } = result;
  const H = cfg.hidden_size;
  const V = cfg.vocab_size;
  const { start, end } = result.window;
  const lines: string[] = [];
  const add = (...more: string[]): void => {
    for (const line of more) lines.push(...fitLine(line, width));
  };
  const source = ckpt.training.source?.name;
  add(
    `model: ${ckpt.settings.tokens}-level, vocabulary ${V}, ${cfg.num_layers} layer${cfg.num_layers > 1 ? 's' : ''} of ${H} units${cfg.bidirectional ? ' ×2 directions' : ''}, ` +
      `${cfg.embedding_size === null ? 'one-hot input' : `embedding ${cfg.embedding_size}`}, ${modeOption(cfg.mode)}; ${parameterCount(cfg).toLocaleString('en-US')} parameters; ` +
      `trained ${ckpt.training.step} steps${source !== undefined ? ` on ${printable(source, 80)}` : ''}${ckpt.training.loss !== null ? `, loss ${ckpt.training.loss.toFixed(4)}` : ''}`,
  );
  add(
    `text: ${T} tokens, read as one sequence from a zero state (batch 1)${result.unknown > 0 ? `; ${result.unknown} not in the vocabulary` : ''}`,
    `loss (each position predicting the next): ${Number.isFinite(result.loss) ? result.loss.toFixed(4) : 'n/a (one token)'}; a uniform guess scores ln ${V} = ${Math.log(V).toFixed(4)}`,
  );
  const cut = (n: number, what: string): string => (n < T ? ` (the first ${n} of ${T} ${what}; --json has all)` : '');
  const shownCut = o.chosenPositions ? ` (positions ${start} to ${end - 1} of ${T})` : cut(end, 'positions');

  lines.push('', `tokens, by position${shownCut}:`);
  lines.push(...wrapItems(result.tokens.slice(start, end).map((t, k) => `${start + k} ${tokenText(t)}`), width));

  lines.push('', 'shapes:');
  const nameWidth = Math.max(...result.shapes.map(([n]) => n.length));
  for (const [name, shape] of result.shapes) add(`  ${name.padEnd(nameWidth)}  (${shape.join(', ')})`);

  lines.push('', `next-token predictions${shownCut}:`);
  add(`  (at each position: the top ${o.topN} guesses with their probabilities, then the actual next token's${o.chosenPositions || end >= T ? '' : '; --positions A:B shows others'})`);
  for (let t = start; t < end; t++) {
    const top = result.top[t - start].map((p) => `${tokenText(p.token)} ${p.p.toFixed(3)}`).join(', ');
    const actual = t + 1 < T ? `  (actual ${tokenText(result.tokens[t + 1])} ${Math.exp(-result.tokenLoss[t]).toFixed(3)})` : '';
    add(`  ${String(t).padStart(4)} ${printable(JSON.stringify(result.tokens[t]), 14).padEnd(14)} → ${top}${actual}`);
  }

  if (!o.withTrace) return `${lines.flatMap((l) => fitLine(l, width)).join('\n')}\n`;
  // Rows are steps, columns units: as many units as fit the width unless --units chose them.
  const stepEnd = o.chosenPositions ? end : Math.min(end, start + INSPECT_TRACE_POSITIONS);
  const label = (t: number): string => `      t=${String(t).padEnd(5)} ${printable(JSON.stringify(result.tokens[t]), 12).padEnd(12)}`;
  const prefix = label(0).length;
  const COLUMN = 8;
  const fit = Math.max(1, Math.floor((width - prefix) / COLUMN));
  const units = o.chosenUnits ?? Array.from({ length: Math.min(H, fit, INSPECT_TRACE_UNITS) }, (_, u) => u);
  const blocks: number[][] = [];
  for (let k = 0; k < units.length; k += fit) blocks.push(units.slice(k, k + fit));
  lines.push(
    '',
    `trace (batch 1): rows are steps ${start} to ${stepEnd - 1}${!o.chosenPositions && stepEnd < T ? ` (the first ${stepEnd} of ${T} steps; --json has all)` : ''}, ` +
      `columns units ${describeIndices(units)} of ${H} (0 to ${H - 1})`,
  );
  add(`  (choose with --units 0,3,5 or 0-7, and --positions A:B; --no-trace leaves the trace out)`);
  for (const e of result.trace) {
    lines.push(`  layer ${e.layer}, ${e.direction}:`);
    for (const [name, what] of TRACE_TENSORS) {
      const data = e[name];
      lines.push(`    ${name} (${what})`);
      if (!data) {
        lines.push('      (not computed)');
        continue;
      }
      for (const block of blocks) {
        lines.push(`${'      step'.padEnd(prefix)}${block.map((u) => `u${u}`.padStart(COLUMN - 1)).join(' ')}`);
        for (let t = start; t < stepEnd; t++) {
          lines.push(`${label(t)}${block.map((u) => data[(t - start) * H + u].toFixed(3).padStart(COLUMN - 1)).join(' ')}`);
        }
      }
    }
  }
  return `${lines.flatMap((l) => fitLine(l, width)).join('\n')}\n`;
}

/** The largest grad case read (its weights are JSON numbers: about ten bytes each). */
const MAX_GRAD_CASE_BYTES = 64 * 2 ** 20;

function grad(args: string[]): number {
  const { positionals } = parse(args, {}, 'grad');
  const path = onePositional(positionals, 'CASE.json', 'grad');
  const json = readJsonFile(path, 'grad case', MAX_GRAD_CASE_BYTES);
  let theCase;
  try {
    theCase = parseGradCase(json);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${printable(path)}: ${e.message}`);
    throw e;
  }
  process.stdout.write(`${JSON.stringify(runGradCase(theCase))}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train':
        return await train(rest);
      case 'generate':
        return generate(rest);
      case 'inspect':
        return inspect(rest);
      case 'grad':
        return grad(rest);
      case 'bench':
        return await bench(rest);
      case undefined:
        // The usage on stdout, and bad usage said on stderr (status 2), as the usage itself says.
        process.stdout.write(`${USAGE}\n`);
        throw new UsageError(`no command given (commands: ${COMMANDS.join(', ')})`);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      case 'version':
      case '--version':
      case '-V':
      case '-v':
        process.stdout.write(`lstm-lens ${packageVersion() ?? '(version unknown: package.json not found)'}\n`);
        return 0;
      default: {
        const guess = nearest(command, COMMANDS);
        throw new UsageError(
          `unknown ${command.startsWith('-') ? 'option' : 'command'} "${printable(command, 60)}"${guess ? `; did you mean ${guess}?` : ''} (commands: ${COMMANDS.join(', ')}; see lstm-lens --help)`,
        );
      }
    }
  } catch (e) {
    // One line whatever the message quotes (a file name with a line break, a terminal escape).
    const message = printable(String((e as Error)?.message ?? e), 2000);
    if (e instanceof InputError) {
      say(`lstm-lens: ${message}`);
      return 2;
    }
    say(`lstm-lens: ${message}`);
    if (process.env.LSTM_LENS_DEBUG) say(`${(e as Error).stack}`);
    return 1;
  }
}

if (require.main === module) {
  // A closed pipe (lstm-lens inspect ... | head) ends the output quietly.
  // (With the status the command has set by then: train sets it before its last line.)
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit();
    throw e;
  });
  // A closed stderr (... 2>&1 | head -2) silences the progress and the notes; the run goes on,
  // saves, and ends with the status it would have had.
  // Any error of stderr: there is nowhere left to report it.
  process.stderr.on('error', () => {
    stderrOpen = false;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
