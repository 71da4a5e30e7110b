// The status bar item: the run of the file in view (or the last run), else the file's saved model;
// its words come from statusText.ts.

import * as vscode from 'vscode';
import type { RunState } from './activeRun';
import { COMMANDS } from './commands';
import type { Host } from './host';
import { modelStatus, progressShown, runStatus, shownRun, timingStatus, type StatusContent } from './statusText';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('lstmLens.status', vscode.StatusBarAlignment.Left, 100);

  /** panelDocumentUri: the file the panel is about, shown while the panel (no text editor) has focus. */
  constructor(private readonly host: Host, private readonly panelDocumentUri: () => string | null) {
    this.item.name = 'LSTM Lens';
    this.item.command = COMMANDS.inspect.id;
  }

  private set(content: StatusContent): void {
    this.item.text = content.text;
    this.item.tooltip = content.tooltip;
    this.item.show();
  }

  /** A run's progress, with its speed (unless the active editor shows another file that trains). */
  progress(run: RunState, tokensPerSecond: number): void {
    if (progressShown(vscode.window.activeTextEditor?.document.uri.toString(), run, this.host.runs)) this.set(runStatus(run, tokensPerSecond));
  }

  timing(name: string, probeMs: number): void {
    this.set(timingStatus(name, probeMs));
  }

  refresh(): void {
    const { runs, store, lastRun } = this.host;
    // Focus on the panel (no text editor): show the file the panel or the last run is about.
    const uri = vscode.window.activeTextEditor?.document.uri.toString() ?? this.panelDocumentUri() ?? lastRun?.documentUri;
    const run = shownRun(uri, runs, lastRun);
    if (run) return this.set(runStatus(run));
    if (uri && store.has(uri)) {
      let summary = null;
      try {
        summary = store.summary(uri);
      } catch {
        // unreadable: said so
      }
      return this.set(modelStatus(summary));
    }
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
