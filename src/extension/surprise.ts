// Show Surprise (a toggle): every token of the file coloured by the model's −log p of it, with a
// legend in the status bar and p, the surprise and the top guesses on hover; or, with Show Gain
// over N-gram, by how much better the LSTM predicts it than the best n-gram (src/run/why.ts). A
// file of at most SURPRISE_WHOLE_CHARS characters is read whole; a longer one from
// SURPRISE_CONTEXT_CHARS before its visible part to the end of that part. The colours follow
// saves, edits (after a pause), a new checkpoint (training saves it) and the panel's chosen
// snapshot, recomputed at most every few seconds.

import * as vscode from 'vscode';
import type { AnalyzedAnswer } from '../protocol/why';
import type { Host } from './host';
import { displayName } from './names';
import type { TimeLine } from './snapshots';
import type { Analyses } from './surpriseAnalysis';
import { GAIN_EDGES, legendText, SURPRISE_CONTEXT_CHARS, SURPRISE_EDGES, SURPRISE_WHOLE_CHARS, surpriseMarks, type SurpriseMode } from './surpriseMarks';

/** How often the checkpoint is looked at for a newer one while the colours are on. */
const WATCH_EVERY_MS = 3000;
/** The pause after an edit or a scroll before the colours are recomputed. */
const SETTLE_MS = 1200;

export class Surprise implements vscode.Disposable {
  /** Documents whose colours are on, and how. */
  private readonly on = new Map<string, { mode: SurpriseMode; identity: string | null; checkpoint: string }>();
  private readonly surpriseTypes: vscode.TextEditorDecorationType[];
  /** Gain: index GAIN_EDGES.length + k for shade k (negative: the n-gram's side). */
  private readonly gainTypes: vscode.TextEditorDecorationType[];
  private readonly legend = vscode.window.createStatusBarItem('lstmLens.surprise', vscode.StatusBarAlignment.Right, 99);
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Documents being read now, and whether another reading was asked for meanwhile (it follows when this one ends, so a run that saves often never starves the colours). */
  private readonly busy = new Map<string, boolean>();
  private readonly watch: NodeJS.Timeout;

  constructor(
    private readonly host: Host,
    private readonly analyses: Analyses,
    private readonly timeLine: TimeLine,
  ) {
    const n = SURPRISE_EDGES.length + 1;
    // Orange, from nearly clear (expected) to strong (surprised).
    this.surpriseTypes = Array.from({ length: n }, (_, k) => vscode.window.createTextEditorDecorationType({ backgroundColor: `rgba(230, 110, 0, ${(0.04 + (0.66 * k) / (n - 1)).toFixed(3)})`, borderRadius: '2px' }));
    const g = GAIN_EDGES.length;
    this.gainTypes = Array.from({ length: 2 * g + 1 }, (_, i) => {
      const k = i - g;
      const alpha = (0.08 + (0.62 * Math.abs(k)) / g).toFixed(3);
      return vscode.window.createTextEditorDecorationType({ backgroundColor: k === 0 ? 'rgba(128, 128, 128, 0.06)' : k > 0 ? `rgba(27, 158, 119, ${alpha})` : `rgba(117, 112, 179, ${alpha})`, borderRadius: '2px' });
    });
    this.legend.name = 'LSTM Lens: Surprise';
    this.legend.command = 'lstmLens.showSurprise';
    this.disposables.push(
      ...this.surpriseTypes,
      ...this.gainTypes,
      this.legend,
      vscode.workspace.onDidSaveTextDocument((d) => this.soon(d.uri.toString(), 0)),
      vscode.workspace.onDidChangeTextDocument((e) => this.soon(e.document.uri.toString(), SETTLE_MS)),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
        if (e.textEditor.document.getText().length > SURPRISE_WHOLE_CHARS) this.soon(e.textEditor.document.uri.toString(), SETTLE_MS);
      }),
      vscode.window.onDidChangeActiveTextEditor(() => this.showLegend()),
      vscode.window.onDidChangeVisibleTextEditors(() => {
        for (const uri of this.on.keys()) this.soon(uri, 0);
      }),
      timeLine.onChange((uri) => this.soon(uri, 0)),
    );
    // A newer checkpoint (a run saved, or finished) recolours; at most every WATCH_EVERY_MS.
    this.watch = setInterval(() => {
      for (const [uri, state] of this.on) {
        const identity = this.host.store.identity(uri);
        if (identity !== state.identity || this.timeLine.checkpointFor(uri) !== state.checkpoint) this.soon(uri, 0);
      }
    }, WATCH_EVERY_MS);
  }

  /** Show Surprise / Show Gain over N-gram: on for the active file in that mode, or off when it already is. */
  toggle(mode: SurpriseMode): void {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage(`LSTM Lens: open a file with a model first; ${mode === 'gain' ? 'Show Gain over N-gram' : 'Show Surprise'} colours the file in the active editor.`);
      return;
    }
    const uri = editor.document.uri.toString();
    if (this.on.get(uri)?.mode === mode) {
      this.off(uri);
      return;
    }
    if (!this.host.store.has(uri)) {
      void vscode.window.showInformationMessage(`LSTM Lens: ${displayName(editor.document)} has no model yet. Train one first (“LSTM Lens: Train LSTM on This File”).`);
      return;
    }
    this.on.set(uri, { mode, identity: null, checkpoint: '' });
    this.legend.text = '$(loading~spin) LSTM Lens: reading…';
    this.showLegend();
    this.soon(uri, 0);
  }

  /** Whether the document's colours are on (for the tests and the context key). */
  isOn(documentUri: string): boolean {
    return this.on.has(documentUri);
  }

  private off(uri: string): void {
    this.on.delete(uri);
    const timer = this.timers.get(uri);
    if (timer) clearTimeout(timer);
    this.timers.delete(uri);
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() !== uri) continue;
      for (const t of [...this.surpriseTypes, ...this.gainTypes]) editor.setDecorations(t, []);
    }
    this.showLegend();
  }

  private soon(uri: string, delayMs: number): void {
    if (!this.on.has(uri)) return;
    const old = this.timers.get(uri);
    if (old) clearTimeout(old);
    this.timers.set(
      uri,
      setTimeout(() => {
        this.timers.delete(uri);
        void this.update(uri);
      }, delayMs),
    );
  }

  private async update(uri: string): Promise<void> {
    if (this.busy.has(uri)) {
      this.busy.set(uri, true);
      return;
    }
    this.busy.set(uri, false);
    try {
      await this.read(uri);
    } finally {
      const again = this.busy.get(uri) === true;
      this.busy.delete(uri);
      if (again) this.soon(uri, 0);
    }
  }

  private async read(uri: string): Promise<void> {
    const state = this.on.get(uri);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
    if (!state || !editor) return;
    if (!this.host.store.has(uri)) {
      this.off(uri);
      return;
    }
    const document = editor.document;
    const whole = document.getText();
    let start = 0;
    let end = whole.length;
    if (whole.length > SURPRISE_WHOLE_CHARS) {
      // The visible part, with some context before it, at most SURPRISE_WHOLE_CHARS in all.
      const ranges = editor.visibleRanges;
      const first = ranges.length > 0 ? document.offsetAt(ranges[0].start) : 0;
      end = ranges.length > 0 ? document.offsetAt(ranges[ranges.length - 1].end) : Math.min(whole.length, SURPRISE_WHOLE_CHARS);
      start = Math.max(0, first - SURPRISE_CONTEXT_CHARS, end - SURPRISE_WHOLE_CHARS);
    }
    const text = whole.slice(start, end);
    const version = document.version;
    state.identity = this.host.store.identity(uri);
    state.checkpoint = this.timeLine.checkpointFor(uri);
    let answer: AnalyzedAnswer | null;
    try {
      answer = await this.analyses.run(`surprise ${uri}`, state.checkpoint, text, { kind: 'surprise', ngramText: state.mode === 'gain' ? whole.slice(0, 2_000_000) : null });
    } catch (e) {
      this.host.output.warn(`Show Surprise on ${displayName(document)}: ${(e as Error).message}`);
      this.legend.text = '$(warning) LSTM Lens: surprise failed (see the log)';
      return;
    }
    if (!answer || answer.kind !== 'surprise' || this.on.get(uri) !== state) return;
    if (document.version !== version) {
      this.soon(uri, SETTLE_MS); // edited meanwhile: the offsets are stale
      return;
    }
    const from = start > 0 ? Math.max(0, document.offsetAt(editor.visibleRanges[0]?.start ?? document.positionAt(start)) - start) : 0;
    const marks = surpriseMarks(text, answer, state.mode, from);
    const gain = state.mode === 'gain';
    const types = gain ? this.gainTypes : this.surpriseTypes;
    const byType: vscode.DecorationOptions[][] = types.map(() => []);
    for (const m of marks) {
      const range = new vscode.Range(document.positionAt(start + m.start), document.positionAt(start + m.end));
      byType[gain ? m.shade + GAIN_EDGES.length : m.shade].push({ range, hoverMessage: new vscode.MarkdownString(m.hover) });
    }
    for (const other of gain ? this.surpriseTypes : this.gainTypes) editor.setDecorations(other, []);
    types.forEach((t, k) => editor.setDecorations(t, byType[k]));
    const step = this.timeLine.chosenStep(uri);
    const where = start > 0 ? 'the visible part' : 'the file';
    this.legend.text = `$(eye) LSTM Lens: ${gain ? `gain over the ${answer.order}-gram` : `surprise ${answer.loss.toFixed(2)} nats/token`}${step !== null ? ` · snapshot ${step}` : ''}`;
    this.legend.tooltip = `${legendText(state.mode, answer.order)}. ${marks.length} tokens of ${where} coloured${step !== null ? ` with the weights of step ${step} (the panel's time line)` : ''}. Click to turn the colours off.`;
    this.legend.command = gain ? 'lstmLens.showGain' : 'lstmLens.showSurprise';
    this.showLegend();
  }

  private showLegend(): void {
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    if (uri !== undefined && this.on.has(uri)) this.legend.show();
    else this.legend.hide();
  }

  dispose(): void {
    clearInterval(this.watch);
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
