// Why This Prediction? At the cursor (or a token picked in the panel): which earlier tokens drive
// the model's prediction of the token there, as the gradient of log p with respect to each earlier
// token's input (its norm shades the token; the hover gives the norm and gradient × input), the
// predicted token outlined, and the same numbers as a strip in the panel. The colours go on an
// edit of the file, when asked again at the same place, when the model they were read from is
// forgotten (replaced: they are read again), and with the editor (VS Code drops a hidden editor's colours).

import * as vscode from 'vscode';
import type { WhyHostToPanel } from '../protocol/why';
import type { Host } from './host';
import { displayName } from './names';
import type { TimeLine } from './snapshots';
import type { Analyses } from './surpriseAnalysis';
import { ATTRIBUTION_SHADES, attributionMarks } from './surpriseMarks';

/** How often the model of the colours shown is looked at for a change (as Show Surprise does). */
const WATCH_EVERY_MS = 3000;

/** Characters before the cursor read (the engine reads at most ATTRIBUTION_MAX_TOKENS tokens of them), and after it (the token at the cursor). */
const BEFORE_CHARS = 4000;
const AFTER_CHARS = 200;

export class Attribution implements vscode.Disposable {
  private readonly types: vscode.TextEditorDecorationType[];
  /** Where colours are shown, and the identity of the model file they were read from. */
  private shown: { uri: string; offset: number; identity: string | null } | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly watch: NodeJS.Timeout;
  private refreshing = false;

  constructor(
    private readonly host: Host,
    private readonly analyses: Analyses,
    private readonly timeLine: TimeLine,
    /** The panel's strip, when the panel is open. */
    private readonly toPanel: (message: WhyHostToPanel) => void,
  ) {
    // Blue-violet shades for the earlier tokens (apart from surprise's orange), then the predicted token outlined.
    this.types = Array.from({ length: ATTRIBUTION_SHADES }, (_, k) => vscode.window.createTextEditorDecorationType({ backgroundColor: `rgba(94, 60, 200, ${(0.1 + (0.6 * (k + 1)) / ATTRIBUTION_SHADES).toFixed(3)})`, borderRadius: '2px' }));
    this.types.push(vscode.window.createTextEditorDecorationType({ border: '2px solid rgba(94, 60, 200, 0.95)', borderRadius: '2px' }));
    this.disposables.push(
      ...this.types,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.shown && e.document.uri.toString() === this.shown.uri && e.contentChanges.length > 0) this.clear();
      }),
      // A hidden editor loses its colours: asked again at the same place, they are shown, not toggled off.
      vscode.window.onDidChangeVisibleTextEditors((editors) => {
        if (this.shown && !editors.some((e) => e.document.uri.toString() === this.shown?.uri)) this.shown = null;
      }),
    );
    // The model changed under the colours: forgotten (here or in another window), they go; replaced
    // (Open PyTorch Model…, a run's end), they are read again from it. A run's saves while it trains
    // leave them as they are (asked during the run, they say so in the log).
    this.watch = setInterval(() => {
      const shown = this.shown;
      if (!shown || this.refreshing) return;
      const identity = this.host.store.identity(shown.uri);
      if (identity === shown.identity || this.host.runs.has(shown.uri)) return;
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === shown.uri);
      if (identity === null || !document) {
        this.clear();
        return;
      }
      this.refreshing = true;
      void this.at(document, shown.offset, true).finally(() => (this.refreshing = false));
    }, WATCH_EVERY_MS);
  }

  /** Why This Prediction? at the active editor's cursor (again at the same place: the colours go). */
  atCursor(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lens: put the cursor in a file with a model, at the token whose prediction to explain, then ask again.');
      return Promise.resolve();
    }
    const offset = editor.document.offsetAt(editor.selection.active);
    const uri = editor.document.uri.toString();
    if (this.shown && this.shown.uri === uri && this.shown.offset === offset) {
      this.clear();
      return Promise.resolve();
    }
    return this.at(editor.document, offset);
  }

  /** The prediction of the token that starts at `offset` of the document. */
  async at(document: vscode.TextDocument, offset: number, again = false): Promise<void> {
    const uri = document.uri.toString();
    const name = displayName(document);
    if (!this.host.store.has(uri)) {
      if (again) return this.clear();
      void vscode.window.showInformationMessage(`LSTM Lens: ${name} has no model yet. Train one first (“LSTM Lens: Train LSTM on This File”).`);
      return;
    }
    const whole = document.getText();
    const start = Math.max(0, offset - BEFORE_CHARS);
    const text = whole.slice(start, Math.min(whole.length, offset + AFTER_CHARS));
    const version = document.version;
    const identity = this.host.store.identity(uri);
    let answer;
    try {
      answer = await this.analyses.run('attribution', this.timeLine.checkpointFor(uri), text, { kind: 'attribution', cursor: offset - start });
    } catch (e) {
      if (again) {
        this.clear();
        this.host.output.warn(`${name}: why at offset ${offset} read again from the changed model: ${(e as Error).message}`);
      } else void vscode.window.showWarningMessage(`LSTM Lens: ${(e as Error).message}.`);
      return;
    }
    if (!answer || answer.kind !== 'attribution' || document.version !== version) return;
    this.clear();
    const marks = attributionMarks(text, answer);
    const byType: vscode.DecorationOptions[][] = this.types.map(() => []);
    for (const m of marks) {
      const range = new vscode.Range(document.positionAt(start + m.start), document.positionAt(start + m.end));
      byType[m.shade < 0 ? ATTRIBUTION_SHADES : m.shade].push({ range, hoverMessage: new vscode.MarkdownString(m.hover) });
    }
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document !== document) continue;
      this.types.forEach((t, k) => editor.setDecorations(t, byType[k]));
    }
    this.shown = { uri, offset, identity };
    const T = answer.spans.length / 2;
    this.toPanel({
      type: 'whyAttribution',
      tokens: Array.from({ length: T }, (_, t) => text.slice(answer.spans[2 * t], answer.spans[2 * t + 1])),
      gradNorm: answer.gradNorm,
      gradXInput: answer.gradXInput,
      target: answer.target,
      p: answer.p,
    });
    this.host.output.info(`${name}: why ${JSON.stringify(answer.target)} at offset ${offset}: p = ${answer.p.toPrecision(3)}, ${T - 1} earlier tokens read`);
  }

  /** Whether colours are shown, and where (for the tests). */
  get showing(): { uri: string; offset: number } | null {
    return this.shown && { uri: this.shown.uri, offset: this.shown.offset };
  }

  clear(): void {
    this.shown = null;
    for (const editor of vscode.window.visibleTextEditors) for (const t of this.types) editor.setDecorations(t, []);
  }

  dispose(): void {
    clearInterval(this.watch);
    for (const d of this.disposables) d.dispose();
  }
}
