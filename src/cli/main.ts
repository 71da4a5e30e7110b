// lstm-lens: the engine from the command line (CONTRACTS.md section 3).
// Exit status: 0 success; 2 bad usage or bad input (one line on stderr); 1 failure while running.

import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { TrainingSettings } from '../engine/checkpoint';
import { validateSettings } from '../engine/checkpoint';
import { InputError, type Mode } from '../engine/config';
import { parseGradCase, runGradCase } from '../engine/grad-case';
import { inspectText } from '../engine/inspect';
import { parameterCount } from '../engine/model';
import { TextGenerator } from '../engine/sampling';
import { DivergenceError, modelFromCheckpoint, Trainer, type ModelShape } from '../engine/trainer';
import { readCheckpointFile, readTextFile, writeCheckpointFile } from '../node/files';
import { startMatmulPool, stopMatmulPool } from '../node/matmulPool';
import { formatRate } from '../engine/format';
import { ProgressReporter } from './progress';
import { bench } from './bench';

const USAGE = `usage: lstm-lens <command> [options]

commands:
  train FILE      train a language model on FILE and write a checkpoint
  generate CKPT   continue a text with a trained model
  inspect CKPT    shapes, predictions and the trace of the model reading a text
  grad CASE.json  one forward and backward pass, as JSON (for checks against PyTorch)
  bench           training and generation speed on the benchmark workload

train FILE [--tokens char|word] [--hidden H] [--layers L] [--embedding E] [--seq T] [--batch B]
           [--steps N] [--lr X] [--seed S] [--out CKPT] [--json]
           [--mode many-to-many|many-to-one] [--bidirectional] [--optimizer adam|sgd]
           [--clip X] [--schedule constant|cosine] [--init pytorch|constant] [--init-value X]
           [--max-vocab N] [--save-every N] [--resume] [--quiet]
generate CKPT [--prime TEXT] [--length N] [--temperature X] [--top-k K] [--seed S]
inspect CKPT --text TEXT [--top N] [--json]
grad CASE.json

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
  --out CKPT             checkpoint path (default FILE.lstm.safetensors)
  --save-every N         also save every N steps (default 100)
  --resume               continue the run saved at --out, to --steps in total
  --json                 end stdout with one JSON line: steps, loss, tokens_per_s, checkpoint
  --quiet                no progress`,
  generate: `lstm-lens generate CKPT [options]

Prints the continuation of the prime text, token by token.

  --prime TEXT           the cue the model reads first (default: none)
  --length N             tokens to generate (default 200)
  --temperature X        0 is greedy; higher is more adventurous (default 0.8)
  --top-k K              sample among the K most likely tokens; 0 for all (default 0)
  --seed S               same seed, same output (default 0)`,
  inspect: `lstm-lens inspect CKPT --text TEXT [--top N] [--json]

The model reads TEXT as one sequence (batch 1), predicting each next token. Prints the shape of
every tensor, the top N predictions at each position (default 5) and the trace: the gates i, f, g,
o, the states c, h and the gradients dL/dh, dL/dc of every layer, direction and step.`,
  grad: `lstm-lens grad CASE.json

One forward and backward pass of the case (config, tokens, targets, weights, optional h0/c0) in
float32, printed as JSON: loss, logits, output, h_n, c_n, every gradient and the trace.`,
};

class UsageError extends InputError {
  override name = 'UsageError';
}

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: ParseArgsConfig['options'], command: string): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (values.help) {
      process.stdout.write(`${HELP[command]}\n`);
      process.exit(0);
    }
    return { values: values as Values, positionals };
  } catch (e) {
    // parseArgs explains some mistakes over several lines; the contract wants one.
    throw new UsageError(`${command}: ${(e as Error).message.trim().replace(/\s*\n\s*/g, ' ')}`);
  }
}

function numberOption(values: Values, name: string, fallback: number, check: (n: number) => boolean, rule: string): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${rule}, got "${raw}"`);
  return n;
}

const wholeAtLeast = (min: number) => (n: number) => Number.isInteger(n) && n >= min;
const positive = (n: number) => n > 0;

function oneOf<T extends string>(values: Values, name: string, choices: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}

function onePositional(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes one ${what}${positionals.length ? `, got ${positionals.length} arguments` : ''} (see lstm-lens ${command} --help)`);
  return positionals[0];
}

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
      out: { type: 'string' },
      'save-every': { type: 'string' },
      resume: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    'train',
  );
  const file = onePositional(positionals, 'FILE', 'train');
  const out = typeof values.out === 'string' ? values.out : `${file}.lstm.safetensors`;
  const saveEvery = numberOption(values, 'save-every', 100, wholeAtLeast(1), 'a whole number >= 1');
  const { text, notes: textNotes } = readTextFile(file);
  const log = (line: string): void => {
    if (!values.quiet) process.stderr.write(`${line}\n`);
  };
  for (const note of textNotes) log(`note: ${note}`);

  let trainer: Trainer;
  if (values.resume) {
    if (!existsSync(out)) throw new UsageError(`--resume: there is no checkpoint at ${out} to continue`);
    const ckpt = readCheckpointFile(out);
    const steps = numberOption(values, 'steps', ckpt.settings.steps, wholeAtLeast(1), 'a whole number >= 1');
    trainer = Trainer.resume({ ...ckpt, settings: { ...ckpt.settings, steps } }, text, file);
    log(`resuming ${out} at step ${trainer.step} of ${steps}`);
  } else {
    const tokens = oneOf(values, 'tokens', ['char', 'word'] as const, 'char');
    const optimizer = oneOf(values, 'optimizer', ['adam', 'sgd'] as const, 'adam');
    const mode = oneOf(values, 'mode', ['many-to-many', 'many-to-one'] as const, 'many-to-many').replace(/-/g, '_') as Mode;
    const embedding = numberOption(values, 'embedding', 0, wholeAtLeast(0), 'a whole number >= 0 (0: one-hot)');
    const clip = numberOption(values, 'clip', 5, (n) => n >= 0, 'a number >= 0 (0: no clipping)');
    const shape: ModelShape = {
      hidden_size: numberOption(values, 'hidden', 128, wholeAtLeast(1), 'a whole number >= 1'),
      num_layers: numberOption(values, 'layers', 1, wholeAtLeast(1), 'a whole number >= 1'),
      embedding_size: embedding === 0 ? null : embedding,
      bidirectional: values.bidirectional === true,
      mode,
    };
    const settings: TrainingSettings = validateSettings({
      tokens,
      max_vocab: numberOption(values, 'max-vocab', 0, (n) => n === 0 || wholeAtLeast(2)(n), '0 or a whole number >= 2'),
      sequence_length: numberOption(values, 'seq', tokens === 'char' ? 64 : 16, wholeAtLeast(1), 'a whole number >= 1'),
      batch_size: numberOption(values, 'batch', 32, wholeAtLeast(1), 'a whole number >= 1'),
      steps: numberOption(values, 'steps', 600, wholeAtLeast(1), 'a whole number >= 1'),
      optimizer,
      learning_rate: numberOption(values, 'lr', optimizer === 'adam' ? 0.004 : 0.1, positive, 'a positive number'),
      schedule: oneOf(values, 'schedule', ['constant', 'cosine'] as const, 'constant'),
      clip: clip === 0 ? null : clip,
      init: oneOf(values, 'init', ['pytorch', 'constant'] as const, 'pytorch'),
      init_value: numberOption(values, 'init-value', 0.1, Number.isFinite, 'a number'),
      seed: numberOption(values, 'seed', 0, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'a whole number from 0 to 4294967295'),
    });
    trainer = Trainer.create(text, file, shape, settings);
  }
  for (const note of trainer.notes) log(`note: ${note}`);
  const cfg = trainer.model.config;
  const s = trainer.settings;
  log(
    `${s.tokens}-level, vocabulary ${cfg.vocab_size}, ${trainer.ids.length} tokens; ` +
      `${cfg.num_layers} layer${cfg.num_layers > 1 ? 's' : ''} of ${cfg.hidden_size}${cfg.bidirectional ? ' ×2 directions' : ''}, ` +
      `${cfg.embedding_size === null ? 'one-hot input' : `embedding ${cfg.embedding_size}`}, ${cfg.mode.replace(/_/g, '-')}; ` +
      `${parameterCount(cfg).toLocaleString('en-US')} parameters; batch ${s.batch_size} × ${s.sequence_length}, ${s.optimizer} lr ${s.learning_rate}`,
  );

  const progress = values.quiet ? null : new ProgressReporter(process.stderr);
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onInterrupt);
  // A helper thread takes part of each large multiply where there is a second core (same results;
  // one thread wherever it cannot start).
  const pooled = startMatmulPool(2);
  const started = performance.now();
  const firstStep = trainer.step;
  let windowStart = started;
  let windowTokens = 0;
  let rate = 0;
  let lastYield = started;
  try {
    while (!trainer.done && !interrupted) {
      try {
        trainer.trainStep();
      } catch (e) {
        if (e instanceof DivergenceError) {
          progress?.finish();
          writeCheckpointFile(out, trainer.checkpoint());
          process.stderr.write(`lstm-lens: training diverged: ${e.message}. Try a lower learning rate (--lr ${(s.learning_rate / 10).toPrecision(2)}) or clipping (--clip 1). The last good weights are saved in ${out}.\n`);
          return 1;
        }
        throw e;
      }
      // tokens/s over the last second or two: a window restarts every 2 s; a young window
      // (under half a second) shows the previous one's rate.
      const now = performance.now();
      windowTokens += trainer.tokensPerStep;
      const windowAge = now - windowStart;
      if (windowAge >= 500 || rate === 0) rate = (windowTokens * 1000) / Math.max(windowAge, 1e-3);
      if (windowAge >= 2000) {
        windowStart = now;
        windowTokens = 0;
      }
      progress?.update({ step: trainer.step, total: s.steps, loss: trainer.loss ?? NaN, tokensPerSecond: rate }, trainer.done);
      if (trainer.step % saveEvery === 0 && !trainer.done) writeCheckpointFile(out, trainer.checkpoint());
      if (now - lastYield > 50) {
        await yieldToEventLoop(); // lets Ctrl-C through
        lastYield = performance.now();
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    if (pooled) stopMatmulPool();
    progress?.finish();
  }
  writeCheckpointFile(out, trainer.checkpoint());
  const seconds = (performance.now() - started) / 1000;
  const stepsRun = trainer.step - firstStep;
  const tokensPerSecond = (stepsRun * trainer.tokensPerStep) / Math.max(seconds, 1e-9);
  log(`${interrupted ? 'interrupted' : 'done'}: step ${trainer.step}, loss ${trainer.loss?.toFixed(4)}, ${formatRate(tokensPerSecond)} tokens/s; saved ${out}`);
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ steps: trainer.step, loss: trainer.loss, tokens_per_s: tokensPerSecond, seconds, checkpoint: out, vocab_size: cfg.vocab_size, parameters: parameterCount(cfg), notes: [...textNotes, ...trainer.notes] })}\n`,
    );
  }
  return interrupted ? 130 : 0;
}

function generate(args: string[]): number {
  const { values, positionals } = parse(
    args,
    { prime: { type: 'string' }, length: { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, seed: { type: 'string' } },
    'generate',
  );
  const ckpt = readCheckpointFile(onePositional(positionals, 'CKPT', 'generate'));
  const length = numberOption(values, 'length', 200, wholeAtLeast(0), 'a whole number >= 0');
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const generator = new TextGenerator(
    model,
    tokenizer,
    {
      temperature: numberOption(values, 'temperature', 0.8, (n) => n >= 0, 'a number >= 0 (0: greedy)'),
      topK: numberOption(values, 'top-k', 0, wholeAtLeast(0), 'a whole number >= 0 (0: all)'),
    },
    numberOption(values, 'seed', 0, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'a whole number from 0 to 4294967295'),
    ckpt.settings.sequence_length,
  );
  const primed = generator.prime(typeof values.prime === 'string' ? values.prime : '');
  if (primed.unknown > 0) {
    process.stderr.write(`note: ${primed.unknown} token${primed.unknown > 1 ? 's' : ''} of the prime ${tokenizer.unknownId >= 0 ? 'read as <unk>' : `${primed.unknown > 1 ? 'are' : 'is'} not in the vocabulary and ${primed.unknown > 1 ? 'were' : 'was'} skipped`}\n`);
  }
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

function inspect(args: string[]): number {
  const { values, positionals } = parse(args, { text: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' } }, 'inspect');
  const ckpt = readCheckpointFile(onePositional(positionals, 'CKPT', 'inspect'));
  if (typeof values.text !== 'string') throw new UsageError('inspect needs --text TEXT');
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const topN = numberOption(values, 'top', 5, wholeAtLeast(1), 'a whole number >= 1');
  const result = inspectText(model, tokenizer, values.text, topN);
  if (result.T === 0) throw new InputError('the text has no tokens the model knows');
  const H = model.config.hidden_size;
  const nest3 = (data: ArrayLike<number> | null): number[][][] => {
    const out: number[][][] = [[]];
    if (!data) return out;
    for (let t = 0; t < result.T; t++) out[0].push(Array.from({ length: H }, (_, j) => data[t * H + j]));
    return out;
  };
  if (values.json) {
    const V = model.config.vocab_size;
    process.stdout.write(
      `${JSON.stringify({
        tokens: result.tokens,
        ids: Array.from(result.ids),
        unknown: result.unknown,
        logits: Array.from({ length: result.T }, (_, t) => Array.from(result.logits.subarray(t * V, t * V + V))),
        loss: Number.isFinite(result.loss) ? result.loss : null,
        shapes: Object.fromEntries(result.shapes),
        top: result.top,
        trace: result.trace.map((e) => ({
          layer: e.layer,
          direction: e.direction,
          i: nest3(e.i),
          f: nest3(e.f),
          g: nest3(e.g),
          o: nest3(e.o),
          c: nest3(e.c),
          h: nest3(e.h),
          dh: nest3(e.dh),
          dc: nest3(e.dc),
        })),
      })}\n`,
    );
    return 0;
  }
  const lines: string[] = [];
  lines.push(`tokens (${result.T}): ${result.tokens.map((t) => JSON.stringify(t)).join(' ')}`);
  if (result.unknown > 0) lines.push(`(${result.unknown} tokens not in the vocabulary)`);
  lines.push('', 'shapes:');
  const width = Math.max(...result.shapes.map(([n]) => n.length));
  for (const [name, shape] of result.shapes) lines.push(`  ${name.padEnd(width)}  (${shape.join(', ')})`);
  lines.push('', `loss (each position predicting the next): ${Number.isFinite(result.loss) ? result.loss.toFixed(4) : 'n/a (one token)'}`);
  lines.push('', 'next-token predictions:');
  for (let t = 0; t < result.T; t++) {
    const next = t + 1 < result.T ? `  (actual ${JSON.stringify(result.tokens[t + 1])})` : '';
    lines.push(`  ${String(t).padStart(3)} ${JSON.stringify(result.tokens[t]).padEnd(14)} → ${result.top[t].map((p) => `${JSON.stringify(p.token)} ${p.p.toFixed(3)}`).join(', ')}${next}`);
  }
  lines.push('', 'trace (batch 1; one row per step, H values each):');
  const fmt = (data: ArrayLike<number> | null, t: number): string =>
    data ? Array.from({ length: H }, (_, j) => data[t * H + j].toFixed(3).padStart(7)).join(' ') : '(not computed)';
  for (const e of result.trace) {
    lines.push(`  layer ${e.layer}, ${e.direction}:`);
    for (const name of ['i', 'f', 'g', 'o', 'c', 'h', 'dh', 'dc'] as const) {
      lines.push(`    ${name}`);
      for (let t = 0; t < result.T; t++) lines.push(`      t=${String(t).padEnd(3)} ${fmt(e[name], t)}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function grad(args: string[]): number {
  const { positionals } = parse(args, {}, 'grad');
  const path = onePositional(positionals, 'CASE.json', 'grad');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${path}: no such file`);
    throw new InputError(`${path}: ${code ? `cannot read it (${code})` : `not valid JSON (${(e as Error).message})`}`);
  }
  process.stdout.write(`${JSON.stringify(runGradCase(parseGradCase(json)))}\n`);
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
        process.stdout.write(`${USAGE}\n`);
        throw new UsageError('no command given (commands: train, generate, inspect, grad)');
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}" (commands: train, generate, inspect, grad; see lstm-lens --help)`);
    }
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`lstm-lens: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`lstm-lens: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.LSTM_LENS_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}


if (require.main === module) {
  // A closed pipe (lstm-lens inspect ... | head) ends the output quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
