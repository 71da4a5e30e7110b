// How the extension host names things in its messages (notifications, the output channel, status
// bar tooltips): every name that comes from outside (a file name, a stored source name, a token)
// goes through printable(), so a name with a newline or a terminal escape stays one harmless line.
// No `vscode` import: unit-tested in plain Node.

import { printable } from '../engine/format';
import type { LockOwner } from '../node/modelLock';
import type { DivergenceData } from '../protocol/worker';

/** A document's name in messages: its file name, or an untitled document's whole name. */
export function displayName(document: { isUntitled: boolean; uri: { path: string } }): string {
  const path = document.uri.path;
  return printable(document.isUntitled ? path : path.slice(path.lastIndexOf('/') + 1));
}

/** A message from a worker or the engine, as one line for a notification or the log. */
export function messageText(text: string): string {
  return printable(text, 2000);
}

/** Who holds a model's lock, for "is training in another window" (the host's name is escaped too). */
export function lockOwnerText(owner: LockOwner | null, now = Date.now()): string {
  if (!owner || owner.pid === 0) return 'another VS Code window';
  const minutes = Math.max(0, Math.round((now - owner.started) / 60_000));
  const since = minutes < 1 ? 'less than a minute ago' : minutes === 1 ? 'a minute ago' : `${minutes} minutes ago`;
  return `another VS Code window (process ${owner.pid} on ${printable(owner.host, 80)}, since ${since})`;
}

/**
 * The remedy for a run that diverged, in VS Code's terms: the learning rate to set (the suggested
 * one, to two significant digits) and what to do with it.
 */
export function divergenceRemedy(d: DivergenceData): { learningRate: number; text: string } {
  const learningRate = Number(d.suggestedLearningRate.toPrecision(2));
  return { learningRate, text: `Set lstmLens.learningRate to ${learningRate} and choose Continue training to go on from step ${d.keptStep}.` };
}

/**
 * A token as the hover shows it: whitespace made visible as the panel shows it (␣ a space, ↵ a
 * newline, ⇥ a tab, ␍ a carriage return, ∅ the empty token), anything else unprintable escaped.
 */
export function tokenText(token: string): string {
  if (token === '') return '∅';
  return printable(token.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥').replace(/\r/g, '␍'), 80);
}
