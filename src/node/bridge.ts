// The bridge to PyTorch (docs/cli.md, export and import), for the command line and the extension:
//
// exportRun: a checkpoint and its text become a folder that PyTorch continues the run in:
//   train.py (src/node/pytorch/train.py: one script, PyTorch only), model.safetensors (the
//   checkpoint, copied), text.txt (the text as the engine decoded it), tokens.bin (its token ids as
//   the engine read them, int32 little-endian: the script trains on exactly these) and README.md.
// importState (bridgeImport.ts, re-exported here): a PyTorch state_dict saved as safetensors (the names of docs/model.md) and a
//   vocabulary become a checkpoint at step 0, without optimizer state, that every command opens.

import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type TrainingSettings } from '../engine/checkpoint';
import { InputError, modeOption, type ModelConfig } from '../engine/config';
import { Tokenizer } from '../engine/tokenizer';
import { ShorterTextError, Trainer } from '../engine/trainer';
import { checkWritable, readCheckpointBytes, readCheckpointFile, readTextFile, shown, whatIsAt, writeFileAtomic, WriteError } from './files';
import { reason } from './fileFacts';

/** The files an export writes, in the order it writes them. */
export const EXPORT_FILES = ['model.safetensors', 'tokens.bin', 'text.txt', 'train.py', 'README.md'] as const;

/** The training script's text, as committed (beside this file; the build copies it beside the bundle). */
export function trainScript(): string {
  const path = join(__dirname, 'pytorch', 'train.py');
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new Error(`the PyTorch training script is missing (${shown(path)}): the installation is incomplete`);
  }
}

export interface ExportResult {
  dir: string;
  files: string[];
  /** What was noticed on the way (the text differs from the one trained on, unknown tokens). */
  notes: string[];
  step: number;
  totalSteps: number;
  tokens: number;
  batchSize: number;
}

/** A text given as content rather than as a file: `name` stands for it in messages and the README. */
export interface ExportText {
  text: string;
  name: string;
}

/**
 * Writes the folder `out` (created when missing; refused when it holds anything, unless `force`)
 * from which `python3 train.py --steps N` continues the run saved at `checkpoint` on the text at
 * `textPath`. The text is held to the rules of resuming (the same vocabulary, long enough for the
 * streams where they stand): an InputError in one line otherwise, before anything is written.
 */
export function exportRun(options: { checkpoint: string; text: string | ExportText; out: string; force?: boolean; checkpointName?: string }): ExportResult {
  const { checkpoint, out } = options;
  // A text given as content (an editor's text, already decoded) is named by its name; a path is read.
  const given = typeof options.text === 'string' ? null : options.text;
  const textPath = given ? given.name : (options.text as string);
  const at = whatIsAt(out);
  if (at.kind !== 'missing' && at.kind !== 'folder') throw new InputError(`--out ${shown(out)} is a file; give a folder for the exported run`);
  const full = at.kind === 'folder' && readdirSync(out).length > 0;
  if (full && !options.force) {
    throw new InputError(`--out ${shown(out)} exists and is not empty; choose a new folder, or add --force to write the export into it`);
  }
  // Read whole and checked (a text given for the checkpoint is named as such); the bytes are what is copied.
  const ckpt = readCheckpointFile(checkpoint);
  const bytes = readCheckpointBytes(checkpoint);
  const { text, notes: textNotes } = given ? { text: given.text, notes: [] } : readTextFile(textPath);
  // Tokens the vocabulary lacks would be dropped: the batches would read another text.
  const vocabulary = ckpt.vocab;
  const tokenizer = Tokenizer.fromVocabulary(vocabulary);
  const { unknown } = tokenizer.encode(text);
  if (unknown > 0 && tokenizer.unknownId < 0) {
    throw new InputError(
      `${shown(textPath)} has ${unknown} ${vocabulary.kind === 'word' ? 'words' : 'characters'} that are not in the model's vocabulary of ${vocabulary.tokens.length} (it has no <unk>): export it with the text it was trained on`,
    );
  }
  let trainer: Trainer;
  try {
    trainer = Trainer.resume(ckpt, text, basename(textPath));
  } catch (e) {
    if (e instanceof ShorterTextError) throw new InputError(`${e.message.replace(/; continue on the text.*$/, '')}: export it with the text it was trained on`);
    throw e;
  }
  const ids = trainer.ids;
  const idBytes = new Uint8Array(ids.length * 4);
  const view = new DataView(idBytes.buffer);
  for (let k = 0; k < ids.length; k++) view.setInt32(4 * k, ids[k], true);
  const s = trainer.settings;
  const contents: Record<(typeof EXPORT_FILES)[number], Uint8Array> = {
    'model.safetensors': bytes,
    'tokens.bin': idBytes,
    'text.txt': Buffer.from(text, 'utf8'),
    'train.py': Buffer.from(trainScript(), 'utf8'),
    'README.md': Buffer.from(exportReadme({ checkpoint: options.checkpointName ?? basename(checkpoint), text: basename(textPath), config: ckpt.config, settings: s, step: trainer.step, tokens: ids.length }), 'utf8'),
  };
  const files = EXPORT_FILES.map((name) => join(out, name));
  if (full) {
    // --force into a folder that holds other files: each file replaced whole, one by one.
    for (const name of EXPORT_FILES) checkWritable(join(out, name), `--out ${shown(out)}:`);
    for (const name of EXPORT_FILES) writeFileAtomic(join(out, name), contents[name]);
  } else {
    writeFolderAtomic(out, contents, at.kind === 'folder');
  }
  return {
    dir: out,
    files,
    notes: [...textNotes, ...trainer.notes],
    step: trainer.step,
    totalSteps: s.steps,
    tokens: ids.length,
    batchSize: s.batch_size,
  };
}

/** The beginning of the name of an export's folder while it is written, beside the folder it becomes. */
const STAGING_PREFIX = '.lstm-lens-export.';

/**
 * The folders of `dir` that are missing, made one by one from the top (mkdirSync's recursive mode
 * never returns on Node 20 for a path whose parent exists but cannot hold it, such as /proc/x).
 */
function makeFolders(dir: string, option: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); ; ) {
    try {
      statSync(at);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') break; // mkdir below says why
    }
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue; // made meanwhile
      throw new InputError(`${option} cannot be made: ${reason(e)} (making ${shown(folder)})`);
    }
  }
}

/**
 * Writes the folder `out` (missing or empty) so that it is never seen half written: the files go
 * into a new hidden folder first (beside `out` when it is missing, inside it when it is an empty
 * folder), flushed, then that folder is renamed to `out`, or its files are linked into `out` one
 * by one, model.safetensors first as a claim (a link never replaces a file), train.py and
 * README.md last. An export killed on the way leaves the hidden folder, never an export without
 * its script; of two exports to one place at once, the second is refused rather than mixing its
 * files with the first's.
 */
function writeFolderAtomic(out: string, contents: Record<(typeof EXPORT_FILES)[number], Uint8Array>, exists: boolean): void {
  const option = `--out ${shown(out)}`;
  const parent = exists ? out : dirname(resolve(out));
  if (!exists) makeFolders(parent, option);
  const staging = join(parent, `${STAGING_PREFIX}${process.pid}.${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(staging);
  } catch (e) {
    throw new InputError(`${option} cannot be written: ${reason(e)} in ${shown(parent)}`);
  }
  const filled = (): InputError => new InputError(`${option} was filled while this export was written (another export to the same folder?); nothing of this one was written there`);
  try {
    for (const name of EXPORT_FILES) writeFileAtomic(join(staging, name), contents[name]);
    if (!exists) {
      try {
        renameSync(staging, out);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'ENOTEMPTY') throw filled();
        throw new WriteError(`cannot save ${option}: ${reason(e)}`, e);
      }
    }
    EXPORT_FILES.forEach((name, k) => {
      const from = join(staging, name);
      const to = join(out, name);
      try {
        linkSync(from, to);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          if (k === 0) throw filled();
          throw new WriteError(`cannot save ${shown(to)}: another file appeared there while the export was written`, e);
        }
        // A file system without hard links: moved instead.
        try {
          renameSync(from, to);
        } catch (e2) {
          throw new WriteError(`cannot save ${shown(to)}: ${reason(e2)}`, e2);
        }
      }
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The exported folder's README: what is there, how to run it on one machine or many, how to bring it back. */
function exportReadme(r: { checkpoint: string; text: string; config: ModelConfig; settings: TrainingSettings; step: number; tokens: number }): string {
  const c = r.config;
  const s = r.settings;
  const model = `${c.num_layers} layer${c.num_layers > 1 ? 's' : ''} of ${c.hidden_size}${c.bidirectional ? ' ×2 directions' : ''}, ${c.embedding_size === null ? 'one-hot input' : `embedding ${c.embedding_size}`}, ${modeOption(c.mode)}, vocabulary ${c.vocab_size} (${s.tokens})`;
  return `# ${r.checkpoint}, continued in PyTorch

Exported by \`lstm-lens export\` at step ${r.step} of ${s.steps}: ${model}; batch ${s.batch_size} × ${s.sequence_length}, ${s.optimizer} at ${s.learning_rate} (${s.schedule}), clipping ${s.clip ?? 'off'}; ${r.tokens.toLocaleString('en-US')} tokens of ${r.text}.

| file | what it is |
|---|---|
| \`train.py\` | the run, rebuilt in PyTorch: the same model, batches, optimizer state, clipping and schedule; needs nothing but PyTorch |
| \`model.safetensors\` | the checkpoint it continues, and the one it writes (unless \`--out\`) |
| \`tokens.bin\` | the text's token ids as lstm-lens read them (int32, little-endian): what the batches are cut from |
| \`text.txt\` | the text as lstm-lens decoded it (UTF-8, LF line ends) |

Each step prints one JSON line, \`{"step": s, "loss": x}\`. The losses follow \`lstm-lens train --resume\` over the same steps (within 1e-3 relative).

## One machine

\`\`\`sh
python3 train.py --steps 1000                  # on the GPU when PyTorch sees one, else the CPU
python3 train.py --steps 1000 --device cpu     # the CPU
python3 train.py --steps 1000 --out next.safetensors   # keep this checkpoint, write another
\`\`\`

It saves every 100 steps (\`--save-every N\`) and at the end. Options that change the run say so in one line ("no longer a continuation"): \`--batch B\`, \`--text FILE\` (character vocabularies only).

## Several GPUs, several machines

Data parallel: each process takes its share of every batch's ${s.batch_size} sequences, so the global batch and the losses are those of one process; only the first process writes the checkpoint.

\`\`\`sh
torchrun --nproc_per_node 4 train.py --steps 1000                 # 4 GPUs of one machine (NCCL)
torchrun --nproc_per_node 2 train.py --steps 1000 --device cpu    # 2 CPU processes (gloo)
# two machines, 4 GPUs each; run on both, HOST:PORT one of them:
torchrun --nnodes 2 --nproc_per_node 4 --rdzv-backend c10d --rdzv-endpoint HOST:29500 train.py --steps 1000
\`\`\`

(Where \`torchrun\` is not on the PATH: \`python3 -m torch.distributed.run\`. Debian's PyTorch 1.13 under Python 3.11 fails on its own defaults with \`'NoneType' object has no attribute 'get'\`: add \`--redirects 0:1 --tee 0:1\`.) At most ${s.batch_size} processes in all, one sequence each at least.

## Bring it back

\`\`\`sh
lstm-lens inspect model.safetensors --text "a text to read"    # every gate and state
lstm-lens generate model.safetensors --prime "Once"
lstm-lens train ${r.text} --resume --out model.safetensors --steps 2000   # continue on this machine
\`\`\`

The checkpoint is an ordinary lstm-lens checkpoint: the VS Code extension opens it as it opens its own.
`;
}

export { checkpointFromState, configFromState, decodeStateDict, importState, type ImportResult, type ImportRun, type StateTensor } from './bridgeImport';
