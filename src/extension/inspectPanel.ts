// The Inspect States panel, host side: the webview (webview/ → dist/webview.js) under a strict
// Content Security Policy, a ready handshake, every message from it checked, and the link back to
// the editor: a unit picked in the panel colours the text token by token.

import * as vscode from 'vscode';
import { checkWebviewGpuToHost, isGpuRelay, type GpuToHost, type HostToWebviewGpu } from '../protocol/gpu';
import { checkPanelToHost, STATE_NAMES, type ExplainStepRequest, type HostToPanel, type PanelToHost, type StepMessage, type TraceMessage } from '../protocol/panel';
import type { GpuChannel } from './gpuChannel';
import { makeNonce, panelHtml } from './panelHtml';
import { PanelTrainingCopy } from './panelHistory';
import { UNITS_HOST_TO_PANEL_TYPES, UNITS_PANEL_TO_HOST_TYPES, type UnitsPanelToHost } from '../protocol/units';
import { stepRequestProblem } from './stepChoice';
import { SPAN_SHADES, spanMarks } from './stepDecorations';
import type { TracePlacement } from './traceWindow';
import type { WhyPanelToHost } from '../protocol/why';

export type { TracePlacement } from './traceWindow';

/** What the panel asks of the rest of the extension. */
export interface PanelHost {
  chooseSequence(source: 'cursor' | 'selection' | 'start'): void;
  /** The Step tab asks for a step of the current trace (already checked against it). */
  explainStep(request: ExplainStepRequest): void;
  panelClosed(): void;
}

/** Shades of the diverging scale used in the editor: negative blues and positive reds. */
const SHADES = 5;

export class InspectPanel implements vscode.Disposable, GpuChannel {
  private readonly panel: vscode.WebviewPanel;
  private ready = false;
  private model: HostToPanel | null = null;
  /** The run's latest state and its bounded history, for a panel that becomes ready mid-run. */
  private readonly training = new PanelTrainingCopy();
  private trace: { message: TraceMessage; placement: TracePlacement } | null = null;
  /** The latest explained step (of the latest trace), and whether the Step tab is to be shown once ready. */
  private step: StepMessage | null = null;
  private showStepWhenReady = false;
  /** The unit the panel asked to see in the editor: its colours follow each new trace until Clear. */
  private selected: Extract<PanelToHost, { type: 'highlightUnit' }> | null = null;
  private readonly decorations: vscode.TextEditorDecorationType[] = [];
  /** The unit whose memory span the Step tab shows (null: the tab is not shown), and its colours: shades, then the chosen token. */
  private spanUnit: number | null = null;
  private readonly spanDecorations: vscode.TextEditorDecorationType[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private malformed = 0;
  private disposed = false;
  /** GPU messages posted before the webview was ready, in order. */
  private readonly gpuQueue: HostToWebviewGpu[] = [];
  /** The latest time line, baseline and attribution strip, for a panel that becomes ready later. */
  private readonly whyLatest = new Map<string, HostToPanel>();
  private readonly whyListeners = new Set<(message: WhyPanelToHost, trace: { message: TraceMessage; placement: TracePlacement } | null) => void>();
  private readonly gpuListeners = new Set<{ onMessage(message: GpuToHost): void; onClosed(): void }>();
  /** The Units tab's latest message of each kind, for a panel that becomes ready later; its listeners. */
  private readonly unitsLatest = new Map<string, HostToPanel>();
  private readonly unitsListeners = new Set<{ onMessage(message: UnitsPanelToHost): void; onClosed(): void }>();

  constructor(
    context: vscode.ExtensionContext,
    private readonly host: PanelHost,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const dist = vscode.Uri.joinPath(context.extensionUri, 'dist');
    this.panel = vscode.window.createWebviewPanel(
      'lstmLens.inspect',
      'LSTM Lens: States',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      // Kept alive when hidden: a GPU run trains in this webview's worker (src/gpuWorker/).
      { enableScripts: true, localResourceRoots: [dist], enableFindWidget: true, retainContextWhenHidden: true },
    );
    this.panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'icon.svg');
    const webview = this.panel.webview;
    webview.html = panelHtml({
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
      cspSource: webview.cspSource,
      nonce: makeNonce(),
    });
    for (let k = 0; k < 2 * SHADES; k++) {
      const negative = k < SHADES;
      const strength = ((k % SHADES) + 1) / SHADES;
      this.decorations.push(
        vscode.window.createTextEditorDecorationType({
          backgroundColor: negative ? `rgba(33, 102, 172, ${0.12 + 0.6 * strength})` : `rgba(178, 24, 43, ${0.12 + 0.6 * strength})`,
          borderRadius: '2px',
        }),
      );
    }
    // The memory span: teal, apart from the units' blue and red; the chosen token outlined.
    for (let k = 0; k < SPAN_SHADES; k++) this.spanDecorations.push(vscode.window.createTextEditorDecorationType({ backgroundColor: `rgba(0, 150, 136, ${0.08 + (0.6 * (k + 1)) / SPAN_SHADES})`, borderRadius: '2px' }));
    this.spanDecorations.push(vscode.window.createTextEditorDecorationType({ border: '2px solid rgba(0, 150, 136, 0.95)', borderRadius: '2px' }));
    this.disposables.push(
      ...this.decorations,
      ...this.spanDecorations,
      webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      this.panel.onDidDispose(() => this.dispose()),
    );
  }

  get visible(): boolean {
    return this.panel.visible;
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  setTitle(file: string | null): void {
    this.panel.title = file ? `LSTM Lens: ${file}` : 'LSTM Lens: States';
  }

  /** Posts to the webview once it is ready; until then keeps the latest of each kind for it. */
  show(message: HostToPanel, placement?: TracePlacement): void {
    if (message.type === 'model' || message.type === 'noModel') {
      this.model = message;
      if (message.type === 'noModel') {
        this.training.clear();
        this.trace = null;
        this.step = null;
        this.clearHighlight();
        this.removeSpan();
      }
    } else if (message.type === 'training') {
      this.training.add(message);
    } else if (message.type === 'step') {
      this.step = message;
      this.paintSpan();
    } else if (message.type === 'showStep' && !this.ready) {
      this.showStepWhenReady = true;
    } else if (UNITS_HOST_TO_PANEL_TYPES.has(message.type)) {
      this.unitsLatest.set(message.type, message);
    } else if (message.type.startsWith('why')) {
      this.whyLatest.set(message.type, message);
    } else if (message.type === 'trace' && placement) {
      this.trace = { message, placement };
      // The cursor moved (or the run went on): the unit's colours move to the new trace's tokens.
      if (this.selected) this.paint(this.selected, false);
    }
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  /** GpuChannel: a message for the GPU worker, relayed by the webview (queued until it is ready). */
  post(message: HostToWebviewGpu): boolean {
    if (this.disposed) return false;
    if (this.ready) void this.panel.webview.postMessage(message);
    else this.gpuQueue.push(message);
    return true;
  }

  /** GpuChannel: the GPU worker's messages, checked, and the panel's closing. */
  listen(onMessage: (message: GpuToHost) => void, onClosed: () => void): { dispose(): void } {
    const listener = { onMessage, onClosed };
    this.gpuListeners.add(listener);
    return { dispose: () => this.gpuListeners.delete(listener) };
  }

  /** The time line's and the attribution strip's requests, checked, with the trace they refer to. */
  listenWhy(listener: (message: WhyPanelToHost, trace: { message: TraceMessage; placement: TracePlacement } | null) => void): { dispose(): void } {
    this.whyListeners.add(listener);
    return { dispose: () => this.whyListeners.delete(listener) };
  }

  /** The Units tab's messages, checked, and the panel's closing. */
  listenUnits(onMessage: (message: UnitsPanelToHost) => void, onClosed: () => void): { dispose(): void } {
    const listener = { onMessage, onClosed };
    this.unitsListeners.add(listener);
    return { dispose: () => this.unitsListeners.delete(listener) };
  }

  private receive(raw: unknown): void {
    if (isGpuRelay(raw)) {
      const gpu = checkWebviewGpuToHost(raw);
      if (!gpu.ok) {
        this.malformed++;
        this.log.warn(`ignored a malformed GPU message from the panel (${gpu.error})`);
        return;
      }
      for (const l of [...this.gpuListeners]) l.onMessage(gpu.message.message);
      return;
    }
    const checked = checkPanelToHost(raw);
    if (!checked.ok) {
      this.malformed++;
      this.log.warn(`ignored a malformed message from the panel (${checked.error})`);
      return;
    }
    this.handle(checked.message);
  }

  private handle(message: PanelToHost): void {
    if (message.type === 'whyChooseSnapshot' || message.type === 'whyAttribute') {
      for (const l of [...this.whyListeners]) l(message, this.trace);
      return;
    }
    if (UNITS_PANEL_TO_HOST_TYPES.has(message.type)) {
      for (const l of [...this.unitsListeners]) l.onMessage(message as UnitsPanelToHost);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.ready = true;
        // Everything the panel needs to draw, latest first-class state only.
        if (this.model) void this.panel.webview.postMessage(this.model);
        const training = this.training.message();
        if (training) void this.panel.webview.postMessage(training);
        if (this.trace) void this.panel.webview.postMessage(this.trace.message);
        if (this.step) void this.panel.webview.postMessage(this.step);
        if (this.showStepWhenReady) void this.panel.webview.postMessage({ type: 'showStep' } satisfies HostToPanel);
        this.showStepWhenReady = false;
        for (const m of this.unitsLatest.values()) void this.panel.webview.postMessage(m);
        for (const m of this.whyLatest.values()) void this.panel.webview.postMessage(m);
        for (const m of this.gpuQueue.splice(0)) void this.panel.webview.postMessage(m);
        break;
      case 'highlightUnit':
        this.selected = message;
        this.paint(message, true);
        break;
      case 'clearHighlight':
        this.clearHighlight();
        break;
      case 'chooseSequence':
        this.host.chooseSequence(message.source);
        break;
      case 'explainStep': {
        // Checked against the trace the panel was sent (the worker clamps t to the next trace too).
        const problem = stepRequestProblem(message, this.trace?.message ?? null);
        if (problem) {
          this.malformed++;
          this.log.warn(`ignored a step the panel asked for (${problem})`);
        } else {
          // Another step: its colours come with its explanation.
          this.removeSpan();
          this.host.explainStep(message);
        }
        break;
      }
      case 'stepSpan':
        this.spanUnit = message.unit;
        this.paintSpan();
        break;
    }
  }

  /**
   * Colours the traced tokens in the editor by one unit's values (Karpathy's cell pictures), on the
   * current trace only: every earlier colouring is removed first, in every visible editor. When the
   * current trace cannot show the unit (the text changed since it was traced, no editor shows it,
   * the model has no such unit), the editor is left uncoloured; `explain` says why (a click does,
   * a new trace does not).
   */
  private paint(m: Extract<PanelToHost, { type: 'highlightUnit' }>, explain: boolean): void {
    this.removeDecorations();
    const trace = this.trace;
    if (!trace) return;
    const { message: t, placement } = trace;
    const entry = t.entries.find((e) => e.layer === m.layer && e.direction === m.direction);
    if (!entry || m.unit >= t.H) {
      this.selected = null;
      return;
    }
    const stateIndex = (STATE_NAMES as readonly string[]).indexOf(m.tensor);
    const source = stateIndex >= 0 ? entry.states : entry.gradients;
    if (!source) return;
    const block = stateIndex >= 0 ? stateIndex : m.tensor === 'dh' ? 0 : 1;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === placement.documentUri);
    if (!editor) {
      if (explain) void vscode.window.showInformationMessage('LSTM Lens: show the traced file in an editor to see the unit over its text.');
      return;
    }
    if (editor.document.version !== placement.documentVersion) {
      if (explain) void vscode.window.showInformationMessage('LSTM Lens: the text changed since it was traced; trace it again to colour it.');
      return;
    }
    const values: number[] = [];
    for (let s = 0; s < t.T; s++) values.push(source[(block * t.T + s) * t.H + m.unit]);
    const scale = Math.max(1e-12, ...values.map(Math.abs));
    const buckets: vscode.DecorationOptions[][] = this.decorations.map(() => []);
    const doc = editor.document;
    for (let s = 0; s < t.T; s++) {
      const v = values[s];
      const strength = Math.min(SHADES - 1, Math.floor((Math.abs(v) / scale) * SHADES));
      const bucket = (v < 0 ? 0 : SHADES) + strength;
      const range = new vscode.Range(doc.positionAt(placement.offset + t.spans[2 * s]), doc.positionAt(placement.offset + t.spans[2 * s + 1]));
      buckets[bucket].push({ range, hoverMessage: new vscode.MarkdownString(`LSTM Lens · layer ${m.layer} ${m.direction} · \`${m.tensor}\` unit ${m.unit} = **${v.toPrecision(4)}**`) });
    }
    this.decorations.forEach((d, k) => editor.setDecorations(d, buckets[k]));
  }

  /**
   * A new trace was asked for and there is none (the text before the cursor has no token the model
   * knows): the editor's colours go with the old trace; the unit stays chosen for the next one.
   */
  traceGone(): void {
    this.trace = null;
    this.removeDecorations();
    this.removeSpan();
  }

  /**
   * The Step tab's memory span over the editor's text: the tokens after the explained step coloured
   * by how much of what the chosen unit wrote there survives (stepDecorations.ts), while the tab shows
   * it, on the trace the step was explained with; otherwise none.
   */
  private paintSpan(): void {
    const trace = this.trace;
    const step = this.step;
    if (this.spanUnit === null || !trace || !step || step.explanation.T !== trace.message.T) {
      this.removeSpan();
      return;
    }
    const { message: t, placement } = trace;
    const marks = spanMarks(step, this.spanUnit, t.spans, (k) => t.tokens[k] ?? '');
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === placement.documentUri);
    if (!marks || !editor || editor.document.version !== placement.documentVersion) {
      this.removeSpan();
      return;
    }
    const doc = editor.document;
    const range = (start: number, end: number): vscode.Range => new vscode.Range(doc.positionAt(placement.offset + start), doc.positionAt(placement.offset + end));
    const buckets: vscode.DecorationOptions[][] = this.spanDecorations.map(() => []);
    for (const m of marks.later) buckets[m.shade].push({ range: range(m.start, m.end), hoverMessage: new vscode.MarkdownString(m.hover) });
    buckets[SPAN_SHADES].push({ range: range(marks.chosen.start, marks.chosen.end), hoverMessage: new vscode.MarkdownString(marks.chosen.hover) });
    this.removeSpan(editor);
    this.spanDecorations.forEach((d, k) => editor.setDecorations(d, buckets[k]));
  }

  private removeSpan(except?: vscode.TextEditor): void {
    for (const editor of vscode.window.visibleTextEditors) if (editor !== except) for (const d of this.spanDecorations) editor.setDecorations(d, []);
  }

  /** The panel's Clear (and a file with no model): no unit is followed, and no editor keeps its colours. */
  clearHighlight(): void {
    this.selected = null;
    this.removeDecorations();
  }

  private removeDecorations(): void {
    for (const editor of vscode.window.visibleTextEditors) for (const d of this.decorations) editor.setDecorations(d, []);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.panel.dispose();
    this.clearHighlight();
    this.removeSpan();
    if (this.malformed > 0) this.log.info(`the panel sent ${this.malformed} malformed message(s), all ignored`);
    for (const d of this.disposables) d.dispose();
    for (const l of [...this.gpuListeners]) l.onClosed();
    this.gpuListeners.clear();
    for (const l of [...this.unitsListeners]) l.onClosed();
    this.unitsListeners.clear();
    this.host.panelClosed();
  }
}
