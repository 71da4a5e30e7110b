// Hovering a token of a file with a model: the model's top predictions for what comes next (a
// short inspect job on the saved model; the words are hoverText.ts's).

import * as vscode from 'vscode';
import type { TraceMessage } from '../protocol/panel';
import type { Host } from './host';
import { HOVER_CONTEXT_CHARS, hoverMarkdown } from './hoverText';
import { displayName } from './names';
import { WorkerJob } from './workerJob';

export function hoverProvider(host: Host): vscode.HoverProvider {
  return {
    async provideHover(document, position, token) {
      const uri = document.uri.toString();
      if (!host.store.has(uri)) return null;
      const range = document.getWordRangeAtPosition(position) ?? new vscode.Range(position, position.translate(0, 1));
      const end = document.offsetAt(range.end);
      const text = document.getText().slice(Math.max(0, end - HOVER_CONTEXT_CHARS), end);
      let trace: TraceMessage | null = null;
      const job = new WorkerJob(
        host.workerScript,
        { type: 'inspect', checkpointPath: host.store.checkpointPath(uri), file: displayName(document), sequence: { text, source: 'the hover', keep: 'last' }, withModel: false },
        {
          onMessage: (m) => {
            if (m.type === 'panel' && m.message.type === 'trace') trace = m.message;
          },
        },
      );
      token.onCancellationRequested(() => void job.kill());
      await job.outcome;
      const t = trace as TraceMessage | null;
      if (!t || token.isCancellationRequested) return null;
      return new vscode.Hover(new vscode.MarkdownString(hoverMarkdown(t)), range);
    },
  };
}
