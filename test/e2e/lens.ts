// What the end-to-end tests read of LSTM Lens itself, once: its id, its output channel's lines
// (from the extension host's log files), and the check that a test ends with nothing failed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, type VSCode } from './harness';

/** "publisher.name", from the manifest. */
export function extensionId(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher?: string; name: string };
  return `${manifest.publisher ?? 'undefined_publisher'}.${manifest.name}`;
}

/**
 * The lines of the extension's output channel ("LSTM Lens"), every window's in order (by session,
 * then extension host), or only the current window's.
 */
export function lensLog(vscode: VSCode, currentWindow = false): string[] {
  const sections: Array<{ order: number[]; lines: string[] }> = [];
  for (const line of vscode.extensionHostLog().split('\n')) {
    if (line.startsWith('=== ')) {
      const ours = /LSTM Lens\.log$/.test(line);
      // logs/<session time>/exthost<N>/...: order by session, then extension host number.
      const m = line.match(/(\d{8}T\d{6}).*exthost(\d+)/);
      if (ours) sections.push({ order: m ? [Number(m[1].replace('T', '')), Number(m[2])] : [0, 0], lines: [] });
      else sections.push({ order: [-1, -1], lines: [] });
    } else if (line.trim() && sections.length) sections[sections.length - 1].lines.push(line);
  }
  const ours = sections.filter((sec) => sec.order[0] >= 0).sort((a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1]);
  return currentWindow ? (ours.at(-1)?.lines ?? []) : ours.flatMap((sec) => sec.lines);
}

/** A notification of LSTM Lens that says something went wrong. */
export const FAILURE = /^LSTM Lens: .*(failed|cannot|unreadable|stopped unexpectedly|ran out of memory|error)/i;

/** No failure notification, and no error from the extension in the extension host's log. */
export function assertNothingFailed(vscode: VSCode): void {
  const failures = vscode.notificationHistory().filter((n) => FAILURE.test(n.text));
  assert.deepEqual(failures, [], `the extension reported failures: ${JSON.stringify(failures)}`);
  const errors = vscode.extensionHostErrors(extensionId());
  assert.deepEqual(errors, [], `the extension host logged errors:\n${errors.join('\n')}`);
}

/** How many of the editor's elements are painted with a background colour matching `colour` (decorations). */
export async function editorColoured(vscode: VSCode, colour: RegExp): Promise<number> {
  return vscode.page.evaluate((source) => {
    const re = new RegExp(source);
    return Array.from(document.querySelectorAll<HTMLElement>('.monaco-editor .view-overlays div, .monaco-editor .view-line span span')).filter((e) => re.test(getComputedStyle(e).backgroundColor)).length;
  }, colour.source);
}

/** A short word-level run on the CPU (a few seconds on the fable): the settings several tests train with; `steps` and others are added over it. */
export const SHORT_WORD_RUN: Record<string, unknown> = {
  'lstmLens.tokens': 'word',
  'lstmLens.mode': 'many-to-many',
  'lstmLens.embeddingSize': 0,
  'lstmLens.sequenceLength': 8,
  'lstmLens.batchSize': 4,
  'lstmLens.hiddenSize': 8,
  'lstmLens.backend': 'cpu',
};
