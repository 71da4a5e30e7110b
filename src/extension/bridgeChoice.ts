// The decisions and words of the bridge to PyTorch in VS Code (bridge.ts asks and shows them):
// where an export goes, what is refused and how, and how an imported model is described. No
// `vscode` import: unit-tested in plain Node.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../engine/config';
import { printable } from '../engine/format';
import { whatIsAt } from '../node/files';

/** What is at the folder chosen for an export. */
export type FolderState = 'missing' | 'empty' | 'notEmpty' | 'notFolder';

export function folderState(path: string): FolderState {
  const at = whatIsAt(path);
  if (at.kind === 'missing') return 'missing';
  if (at.kind !== 'folder') return 'notFolder';
  try {
    return readdirSync(path).length === 0 ? 'empty' : 'notEmpty';
  } catch {
    return 'notEmpty'; // unreadable: never written into unasked
  }
}

/** The name of a new folder for an export of a document's model: "story.txt" → "story-pytorch". */
export function exportFolderName(documentName: string): string {
  const stem = documentName.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  const safe = stem.replace(/[^\p{L}\p{N}_-]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  return `${safe || 'model'}-pytorch`;
}

/** `base`, or `base-2`, `base-3`, … : the first name inside `parent` that is free. */
export function freeFolderName(parent: string, base: string, state: (path: string) => FolderState = folderState): string {
  for (let k = 1; ; k++) {
    const name = k === 1 ? base : `${base}-${k}`;
    if (state(join(parent, name)) === 'missing') return name;
  }
}

/**
 * Where an export goes once a folder is chosen: into it when it is empty or new; otherwise the user
 * is asked, with a new folder inside it offered (or, for a file, another choice only).
 */
export type FolderDecision = { kind: 'write'; dir: string } | { kind: 'ask'; message: string; subfolder: string | null };

export function exportFolderDecision(chosen: string, documentName: string, state: (path: string) => FolderState = folderState): FolderDecision {
  const s = state(chosen);
  if (s === 'missing' || s === 'empty') return { kind: 'write', dir: chosen };
  if (s === 'notFolder') return { kind: 'ask', message: `${printable(chosen)} is not a folder: choose a folder for the export.`, subfolder: null };
  const subfolder = freeFolderName(chosen, exportFolderName(documentName), state);
  return { kind: 'ask', message: `${printable(chosen)} is not empty, and an export is a folder of its own (train.py, model.safetensors, tokens.bin, text.txt, README.md).`, subfolder };
}

/** A refusal of the bridge (said for the command line) in the extension's words: no "--out". */
export function bridgeMessage(message: string): string {
  return printable(message.replace(/--out /g, 'the folder ').replace(/, or add --force[^;:.]*/g, ''), 2000);
}

/** What an import made, in one line. */
export function modelLine(config: ModelConfig, parameters: number): string {
  return (
    `${config.num_layers} layer${config.num_layers > 1 ? 's' : ''} of ${config.hidden_size}${config.bidirectional ? ' ×2 directions' : ''}, ` +
    `${config.embedding_size === null ? 'one-hot input' : `embedding ${config.embedding_size}`}, ${config.mode.replace(/_/g, '-')}, vocabulary ${config.vocab_size}; ` +
    `${parameters.toLocaleString('en-US')} parameters`
  );
}

/** The question before an imported model replaces a document's model, and the name offered for saving the old one. */
export function replaceQuestion(name: string, old: { step: number; loss: number | null }): { message: string; detail: string; saveAs: string } {
  return {
    message: `LSTM Lens: ${name} already has a model (step ${old.step}, loss ${old.loss === null ? 'n/a' : old.loss.toFixed(3)}). Replace it with the PyTorch model?`,
    detail: 'The old model is saved first, to a file you choose (every lstm-lens command opens it); cancel the file dialog to keep everything as it is.',
    saveAs: `${name.replace(/^.*[\\/]/, '')}.step${old.step}.lstm.safetensors`,
  };
}

/** Whether the old model may be saved at `target`: never onto the model it is a copy of (nor onto the state or vocabulary being read). */
export function backupRefusal(target: string, keep: readonly string[]): string | null {
  return keep.includes(target) ? `${printable(target)} is the file being read or replaced: choose another name for the old model` : null;
}

/** Which text an imported model goes with: the active file's, or another the user picks. */
export interface TextChoice {
  label: string;
  description: string;
  value: 'current' | 'other';
}

export function textChoices(current: { name: string; hasModel: boolean } | null): TextChoice[] {
  const other: TextChoice = { label: 'With Another Text File…', description: 'pick a text; the model becomes its model', value: 'other' };
  if (!current) return [other];
  return [{ label: `With ${current.name}`, description: current.hasModel ? 'the current file; it has a model, which is saved first (you are asked)' : 'the current file', value: 'current' }, other];
}
