// The options of a training run, in one table: each row is one option, under its name in the
// checkpoint's `config` (the key; a machine option, as the thread count, is never stored), with its command-line flag, its VS Code setting (or none), its
// default, its bounds and its doc. Everything else is generated from it: the command line's
// options and their help (src/cli/trainOptions.ts), the extension's settings and so package.json's
// contributes.configuration (src/extension/settings.ts), the worker messages' schema
// (src/protocol/trainingSchema.ts) and the checkpoint's validation of the settings
// (validateSettings, below). Pure: no valibot, no Node, no DOM.

import { InputError, MAX_LAYERS, MAX_VOCAB_SIZE, MAX_WIDTH, MODE_OPTIONS } from './config';
import { brief } from './safetensors';
import type { TokenKind } from './tokenizer';

/**
 * Tokens in one training step (B·T) at most: the batcher and the model allocate buffers of B·T
 * (times 4H for the gates), so a batch beyond any real run's is refused here, as bad input,
 * rather than failing later as an allocation error. The extension allows 256 × 512.
 */
export const MAX_TOKENS_PER_STEP = 1 << 22;
/** The largest fraction of a text a run may hold out. */
export const MAX_HOLDOUT = 0.5;
/** The largest seed (the seeds are 32-bit). */
export const MAX_SEED = 0xffffffff;
/** The largest finite float32: every weight starts at init_value, in float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** The most threads a run takes (the most chunks a job is split into); 0 asks for every core up to this. */
export const MAX_THREADS = 8;

/** How a run is trained: stored beside the model config in the checkpoint's `config`. */
export interface TrainingSettings {
  tokens: TokenKind;
  /** Vocabulary cap, counting <unk>; 0 for none. */
  max_vocab: number;
  sequence_length: number;
  batch_size: number;
  /** Total steps of the run (a resumed run continues up to this). */
  steps: number;
  optimizer: 'adam' | 'sgd';
  learning_rate: number;
  schedule: 'constant' | 'cosine';
  /** Clip gradients to this global norm; null: no clipping. */
  clip: number | null;
  init: 'pytorch' | 'constant';
  /** The value every weight starts at with init 'constant' (the article: 0.1). */
  init_value: number;
  seed: number;
  /**
   * The fraction of the text, at its end, that no batch reads: the run's loss is measured there.
   * Optional (absent: 0, nothing held out), and stored only when set, so that runs without it and
   * older checkpoints are what they always were.
   */
  holdout?: number;
}

/** The VS Code setting of an option (lstmLens.<name>): its description, and a narrower range where the Settings editor offers one. */
export interface SettingFace {
  name: string;
  description: string;
  /** One description per choice, for a choice. */
  descriptions?: readonly string[];
  /** The largest value the setting takes (default: the option's own bound). */
  max?: number;
}

interface Row {
  /**
   * Where the engine keeps the value: the model's shape (ModelShape) or the run's settings
   * (TrainingSettings), both saved in the checkpoint; or 'machine', how this machine runs it (the
   * same results whatever the value), never saved and never compared with a saved run's.
   */
  group: 'shape' | 'settings' | 'machine';
  /** The command-line flag, without its dashes. */
  flag: string;
  /** How the help names the value (H in --hidden H); absent for a switch or a choice spelled out. */
  metavar?: string;
  /** The flag's help: one line, or several joined by newlines. */
  help: string;
  /** The VS Code setting, or null where the extension chooses the value itself. */
  setting: SettingFace | null;
  /** `--resume` takes it (the others are the saved run's own). */
  resumable?: boolean;
}
interface ChoiceRow extends Row {
  kind: 'choice';
  /** As people write them (on the command line and in the settings). */
  values: readonly string[];
  /** As the engine stores them, one for each of `values` (default: the same). */
  engine?: readonly string[];
  default: string;
}
interface SwitchRow extends Row {
  kind: 'switch';
  default: false;
}
/** 0 as "none", and what the engine stores for it: null, nothing (the key is left out) or 0 itself. */
interface None {
  meaning: string;
  engine: 'null' | 'absent' | 'zero';
  /** The least value besides 0, with why (a cap of one token is no vocabulary). */
  least?: { value: number; why: string };
}
interface NumberRow extends Row {
  kind: 'int' | 'real';
  default: number;
  /** A default that depends on a choice made before it (--seq by --tokens, --lr by --optimizer). */
  defaultBy?: { option: 'tokens' | 'optimizer'; values: Readonly<Record<string, number>> };
  /** The least value (above it, not equal to it, when exclusive); absent: any. */
  min?: number;
  exclusiveMin?: boolean;
  /** The largest value; absent: none (a whole number then stops at 2^53 - 1). */
  max?: number;
  none?: None;
  /** A fraction of the text: said so in the messages. */
  fraction?: boolean;
  /** Any number as an option; the engine asks it to be a finite float32. */
  float32?: boolean;
}
export type TrainingOption = ChoiceRow | SwitchRow | NumberRow;

/** How the descriptions name the article series this extension grew from. */
export const ARTICLE = "the article series 'RNN Series: LSTM internals' (Deep-Breathe)";
const Article = ARTICLE.charAt(0).toUpperCase() + ARTICLE.slice(1);

/** The table, in the order of the command line's help. */
export const TRAINING_OPTIONS = {
  tokens: {
    group: 'settings', kind: 'choice', flag: 'tokens', values: ['char', 'word'], default: 'char',
    help: 'character or word tokens (default char)',
    setting: {
      name: 'tokens', description: 'What the model reads and writes: characters or words.',
      descriptions: ['One token per character.', `One token per word (lower-cased; punctuation marks are tokens of their own), as in ${ARTICLE}.`],
    },
  },
  hidden_size: {
    group: 'shape', kind: 'int', flag: 'hidden', metavar: 'H', default: 128, min: 1, max: MAX_WIDTH,
    help: 'hidden units per layer (default 128)',
    setting: { name: 'hiddenSize', max: 1024, description: `Hidden units per layer (H). ${Article} uses 5.` },
  },
  num_layers: {
    group: 'shape', kind: 'int', flag: 'layers', metavar: 'L', default: 1, min: 1, max: MAX_LAYERS,
    help: 'stacked layers (default 1)',
    setting: { name: 'layers', max: 4, description: 'Stacked LSTM layers (L).' },
  },
  embedding_size: {
    group: 'shape', kind: 'int', flag: 'embedding', metavar: 'E', default: 0, min: 0, max: MAX_WIDTH, none: { meaning: 'one-hot', engine: 'null' },
    help: "embedding size; 0 for one-hot input, the article's choice (default 0)",
    setting: { name: 'embeddingSize', max: 512, description: `Size of a learned embedding of the input; 0 for one-hot input, as in ${ARTICLE}.` },
  },
  mode: {
    group: 'shape', kind: 'choice', flag: 'mode', metavar: 'M', values: MODE_OPTIONS, engine: ['many_to_many', 'many_to_one'], default: 'many-to-many',
    help: 'many-to-many (every position predicts the next token; default) or\nmany-to-one (tokens 1..n predict token n+1, the article\'s setup)',
    setting: {
      name: 'mode', description: 'What the model predicts from a sequence.',
      descriptions: ['Every position predicts the next token (a language model, trained on contiguous streams).', `Tokens 1..n predict token n+1 (the setup of ${ARTICLE}, trained on random windows).`],
    },
  },
  bidirectional: {
    group: 'shape', kind: 'switch', flag: 'bidirectional', default: false,
    help: 'read each window both ways (many-to-one only)',
    setting: { name: 'bidirectional', description: 'Read each window in both directions (many-to-one only: a bidirectional model would otherwise see the tokens it must predict).' },
  },
  sequence_length: {
    group: 'settings', kind: 'int', flag: 'seq', metavar: 'T', default: 64, defaultBy: { option: 'tokens', values: { char: 64, word: 16 } }, min: 1, max: MAX_TOKENS_PER_STEP,
    help: 'tokens per sequence (default 64 for char, 16 for word)',
    setting: { name: 'sequenceLength', max: 512, description: `Tokens per training sequence (T). ${Article} uses 3.` },
  },
  batch_size: {
    group: 'settings', kind: 'int', flag: 'batch', metavar: 'B', default: 32, min: 1, max: MAX_TOKENS_PER_STEP,
    help: 'sequences per step (default 32)',
    setting: { name: 'batchSize', max: 256, description: 'Sequences per training step (B). Lowered automatically for a short text.' },
  },
  steps: {
    group: 'settings', kind: 'int', flag: 'steps', metavar: 'N', default: 600, min: 1, resumable: true,
    help: 'total steps of the run (default 600)',
    setting: { name: 'steps', max: 1000000, description: 'Training steps of a run (a continued run adds this many).' },
  },
  learning_rate: {
    group: 'settings', kind: 'real', flag: 'lr', metavar: 'X', default: 0.004, defaultBy: { option: 'optimizer', values: { adam: 0.004, sgd: 0.1 } }, min: 0, exclusiveMin: true, resumable: true,
    help: 'learning rate (default 0.004 for adam, 0.1 for sgd)',
    setting: { name: 'learningRate', max: 10, description: 'Learning rate of the optimizer.' },
  },
  optimizer: {
    group: 'settings', kind: 'choice', flag: 'optimizer', values: ['adam', 'sgd'], default: 'adam',
    help: '(default adam)',
    setting: {
      name: 'optimizer', description: 'The optimizer.',
      descriptions: ['Adam, as torch.optim.Adam with its default betas.', `Plain stochastic gradient descent, as in ${ARTICLE}.`],
    },
  },
  clip: {
    group: 'settings', kind: 'real', flag: 'clip', metavar: 'X', default: 5, min: 0, none: { meaning: 'no clipping', engine: 'null' },
    help: 'clip gradients to this global norm; 0 for none (default 5)',
    setting: { name: 'gradientClip', max: 1000, description: 'Clip gradients to this global norm; 0 for no clipping.' },
  },
  schedule: {
    group: 'settings', kind: 'choice', flag: 'schedule', metavar: 'S', values: ['constant', 'cosine'], default: 'constant',
    help: 'constant or cosine, decaying to a tenth (default constant)',
    setting: null,
  },
  init: {
    group: 'settings', kind: 'choice', flag: 'init', values: ['pytorch', 'constant'], default: 'pytorch',
    help: "PyTorch's default initialization, or every weight --init-value",
    setting: {
      name: 'initialization', description: 'How the weights start.',
      descriptions: ['PyTorch\'s default: uniform in ±1/√H.', `Every weight 0.1, as in ${ARTICLE}.`],
    },
  },
  init_value: {
    group: 'settings', kind: 'real', flag: 'init-value', metavar: 'X', default: 0.1, float32: true,
    help: 'the constant for --init constant (default 0.1, as the article)',
    setting: null,
  },
  max_vocab: {
    group: 'settings', kind: 'int', flag: 'max-vocab', metavar: 'N', default: 0, min: 0, max: MAX_VOCAB_SIZE,
    none: { meaning: 'no cap', engine: 'zero', least: { value: 2, why: 'one token and <unk>' } },
    help: 'keep the N-1 most frequent tokens and <unk> (default 0: no cap)',
    setting: null,
  },
  seed: {
    group: 'settings', kind: 'int', flag: 'seed', metavar: 'S', default: 0, min: 0, max: MAX_SEED,
    help: 'seed for the weights and the batches (default 0)',
    setting: { name: 'seed', description: 'Seed of the weights and the batches: the same seed gives the same run.' },
  },
  holdout: {
    group: 'settings', kind: 'real', flag: 'holdout', metavar: 'F', default: 0.1, min: 0, max: MAX_HOLDOUT, fraction: true, none: { meaning: 'hold nothing out', engine: 'absent' },
    help: 'keep the last fraction F of the text out of training, and report the\nloss there (default 0.1; 0 trains on all of it, and the loss is then\nmeasured on the last tenth, which was trained on)',
    setting: null,
  },
  threads: {
    group: 'machine', kind: 'int', flag: 'threads', metavar: 'N', default: 0, min: 0, max: MAX_THREADS, none: { meaning: `every core, up to ${MAX_THREADS}`, engine: 'zero' }, resumable: true,
    help: `threads, 1 to ${MAX_THREADS}; 0 for every core, up to ${MAX_THREADS} (default 0); the same\nresults whatever N`,
    setting: {
      name: 'threads',
      description: `Threads a run trains on: 0 for every core, up to ${MAX_THREADS}; 1 to ${MAX_THREADS} for that many. The results are the same whatever the count; each run (one per file) takes its own.`,
    },
  },
} as const satisfies Record<string, TrainingOption>;

export type TrainingOptionKey = keyof typeof TRAINING_OPTIONS;

/** Every row, with its key, in the table's order. */
export function trainingOptions(): Array<TrainingOption & { key: TrainingOptionKey }> {
  return (Object.keys(TRAINING_OPTIONS) as TrainingOptionKey[]).map((key) => ({ ...(TRAINING_OPTIONS[key] as TrainingOption), key }));
}

/** The threads a run takes: the option's count, or with 0 (or none given) `auto`, every core up to MAX_THREADS. */
export function threadCount(option: number | undefined, auto: number): number {
  return option !== undefined && option > 0 ? option : auto;
}

const wholeBound = (n: number): string => (n === Number.MAX_SAFE_INTEGER ? '2^53 - 1' : String(n));

/**
 * What the engine holds a stored value to, in words ("a whole number from 1 to 64"): the rule of
 * the checkpoint's message. For an option that is 0 for none, the rule of the stored value.
 */
export function engineRule(o: TrainingOption): string {
  if (o.kind === 'choice') return (o.engine ?? o.values).map((v) => `"${v}"`).join(' or ');
  if (o.kind === 'switch') return 'true or false';
  if (o.float32) return 'a number within float32 range (±3.4e38)';
  const none = o.none;
  if (o.kind === 'int') {
    const max = wholeBound(o.max ?? Number.MAX_SAFE_INTEGER);
    if (none?.least) return `0 (${none.meaning}) or a whole number from ${none.least.value} to ${max}`;
    return `a whole number from ${none?.engine === 'null' ? 1 : o.min ?? 0} to ${max}`;
  }
  const nullable = none?.engine === 'null' ? ' or null' : '';
  if (o.max === undefined && (o.exclusiveMin || none?.engine === 'null')) return `a positive number${nullable}`;
  return `a number from ${o.min} to ${o.max}${o.fraction ? ' (a fraction of the text)' : ''}${nullable}`;
}

/** Whether a stored value meets the engine's rule (engineRule). */
export function engineAccepts(o: TrainingOption, value: unknown): boolean {
  if (o.kind === 'choice') return (o.engine ?? o.values).includes(value as string);
  if (o.kind === 'switch') return typeof value === 'boolean';
  if (value === null) return o.none?.engine === 'null';
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (o.float32) return Math.abs(value) <= FLOAT32_MAX;
  if (o.kind === 'int' && !Number.isSafeInteger(value)) return false;
  if (o.none?.least && value !== 0 && value < o.none.least.value) return false;
  const min = o.none?.engine === 'null' ? 0 : o.min;
  const exclusive = o.exclusiveMin || o.none?.engine === 'null';
  if (min !== undefined && (exclusive ? value <= min : value < min)) return false;
  return o.max === undefined || value <= o.max;
}

/** The settings' rows (the `settings` group), in the table's order. */
const SETTINGS_ROWS = trainingOptions().filter((o) => o.group === 'settings');

/** Checks stored training settings by the table's rules; throws an InputError that names the first bad one. */
export function validateSettings(s: Record<string, unknown>): TrainingSettings {
  for (const o of SETTINGS_ROWS) {
    const value = s[o.key];
    if (o.kind === 'real' && o.none?.engine === 'absent' && value === undefined) continue;
    if (!engineAccepts(o, value)) throw new InputError(`setting ${o.key} must be ${engineRule(o)}, got ${brief(value, 60)}`);
    if (o.key === 'batch_size' && (s.batch_size as number) * (s.sequence_length as number) > MAX_TOKENS_PER_STEP) {
      throw new InputError(`settings batch_size × sequence_length must be at most ${MAX_TOKENS_PER_STEP} tokens a step, got ${s.batch_size} × ${s.sequence_length}`);
    }
  }
  const holdout = (s.holdout as number | undefined) ?? 0;
  // The checkpoint's key order (its header's bytes) as it always was.
  return {
    tokens: s.tokens as TokenKind,
    max_vocab: s.max_vocab as number,
    sequence_length: s.sequence_length as number,
    batch_size: s.batch_size as number,
    steps: s.steps as number,
    optimizer: s.optimizer as 'adam' | 'sgd',
    learning_rate: s.learning_rate as number,
    schedule: s.schedule as 'constant' | 'cosine',
    clip: s.clip as number | null,
    init: s.init as 'pytorch' | 'constant',
    init_value: s.init_value as number,
    seed: s.seed as number,
    ...(holdout > 0 ? { holdout } : {}),
  };
}
