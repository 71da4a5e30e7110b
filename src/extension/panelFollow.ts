// The Inspect States panel following the editor: it opens on Inspect States, shows the model of the
// file in view (a run's live state, or a short job on the saved model) and traces the text that
// traceWindow.ts chooses from the cursor and the selection.

import * as vscode from 'vscode';
import { messageText, displayName } from './names';
import type { Host } from './host';
import { InspectPanel } from './inspectPanel';
import { nextStepChoice, withStep, type StepRequest } from './stepChoice';
import { runModelMessage } from './runPanel';
import { readSettings, SECTION, SETTINGS } from './settings';
import { traceSequence, type DocumentText, type SequenceSource } from './traceWindow';
import { WorkerJob } from './workerJob';

/** How often a training worker traces the panel's sequence (a trace costs about one short forward and backward). */
const TRACE_EVERY_MS = 1000;

export class PanelFollow implements vscode.Disposable {
  /** The panel, while it is open. */
  panel: InspectPanel | null = null;
  /** The document the panel shows: the active editor's, or the one it showed before. */
  documentUri: string | null = null;
  private sequenceSource: SequenceSource = 'cursor';
  /** The step the Step tab explains (t null: the token before the cursor); null until it asks. */
  private step: StepRequest | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inspectJob: WorkerJob | null = null;
  /** The weights the panel reads for a document: its checkpoint, or the time line's chosen snapshot (snapshots.ts). */
  checkpointFor: (documentUri: string) => string = (uri) => this.host.store.checkpointPath(uri);
  /** Whether the time line shows a snapshot of the document (then a run's live trace does not replace it). */
  pinned: (documentUri: string) => boolean = () => false;
  /** After each update of the panel for a document with a model (the time line and baseline follow it). */
  afterUpdate: ((documentUri: string, panel: InspectPanel) => void) | null = null;

  constructor(private readonly host: Host) {}

  /** Inspect States: opens the panel (or reveals it) and shows the file in view. */
  open(): void {
    if (!this.panel) {
      this.panel = new InspectPanel(this.host.context, {
        chooseSequence: (source) => {
          this.sequenceSource = source;
          this.schedule(0);
        },
        explainStep: (request) => {
          this.step = nextStepChoice(this.step, { kind: 'panel', request });
          this.schedule(0);
        },
        panelClosed: () => {
          this.panel = null;
          this.step = nextStepChoice(this.step, { kind: 'closed' });
          // Nothing to trace for a closed panel: the training worker stops tracing.
          for (const run of this.host.runs.values()) run.job.send({ type: 'watch', sequence: null, everyMs: 0 });
        },
      }, this.host.output);
    }
    this.panel.reveal();
    this.schedule(0);
  }

  /** Explain Step at Cursor: the panel opens (or shows) its Step tab at the token before the cursor. */
  explainAtCursor(): void {
    this.step = nextStepChoice(this.step, { kind: 'cursor' });
    this.sequenceSource = 'cursor';
    this.open();
    this.panel?.show({ type: 'showStep' });
  }

  document(): vscode.TextDocument | null {
    const active = vscode.window.activeTextEditor?.document;
    if (active && active.uri.scheme !== 'output') {
      this.documentUri = active.uri.toString();
      return active;
    }
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.documentUri) ?? null;
  }

  /** Whether the panel is open on the run's file. */
  follows(run: { documentUri: string }): boolean {
    return this.panel !== null && this.documentUri === run.documentUri;
  }

  schedule(delayMs = 400): void {
    if (!this.panel) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.update();
    }, delayMs);
  }

  /** lstmLens.traceLength, or its default while it is out of range (Train says what is wrong with it). */
  private traceLength(): number {
    const config = vscode.workspace.getConfiguration(SECTION);
    try {
      return readSettings((k) => (k === 'traceLength' ? config.get(k) : undefined)).traceLength;
    } catch {
      return SETTINGS.traceLength.default;
    }
  }

  private sequenceFor(editor: vscode.TextEditor | undefined, document: vscode.TextDocument): ReturnType<typeof traceSequence> {
    const text: DocumentText = {
      length: document.offsetAt(document.lineAt(document.lineCount - 1).range.end),
      slice: (start, end) => document.getText(new vscode.Range(document.positionAt(start), document.positionAt(end))),
      lineOf: (offset) => document.positionAt(offset).line,
    };
    const active = editor?.selection.active;
    return traceSequence(text, {
      source: this.sequenceSource,
      cursor: editor && active ? { offset: document.offsetAt(active), line: active.line, column: active.character } : null,
      selection: editor && !editor.selection.isEmpty ? [document.offsetAt(editor.selection.start), document.offsetAt(editor.selection.end)] : null,
      maxTokens: this.traceLength(),
    });
  }

  private update(): void {
    const panel = this.panel;
    if (!panel) return;
    const document = this.document();
    if (!document) {
      panel.setTitle(null);
      panel.show({ type: 'noModel', file: null, reason: 'Open a file to see the model trained on it.' });
      return;
    }
    const uri = document.uri.toString();
    const name = displayName(document);
    panel.setTitle(name);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const chosen = this.sequenceFor(editor, document);
    const sequence = withStep(chosen.sequence, this.step);
    const offset = chosen.offset;
    const placement = { documentUri: uri, documentVersion: document.version, offset };
    const run = this.host.runs.get(uri);
    if (this.host.store.has(uri) || run) this.afterUpdate?.(uri, panel);
    if (run && this.pinned(uri)) run.job.send({ type: 'watch', sequence: null, everyMs: 0 });
    else if (run) {
      if (run.started) panel.show(runModelMessage(run, run.started, name));
      run.watchPlacement = placement;
      run.job.send({ type: 'watch', sequence, everyMs: TRACE_EVERY_MS });
      return;
    }
    const store = this.host.store;
    if (!store.has(uri)) {
      panel.show({ type: 'noModel', file: name, reason: `${name} has no model yet. Run “LSTM Lens: Train LSTM on This File” to train one and watch it learn here.` });
      return;
    }
    // A short job on the saved model; a newer request replaces an older one.
    void this.inspectJob?.kill();
    let traced = false;
    const job = new WorkerJob(
      this.host.workerScript,
      { type: 'inspect', checkpointPath: this.checkpointFor(uri), file: name, sequence, withModel: true },
      {
        onMessage: (m) => {
          if (m.type !== 'panel' || this.inspectJob !== job) return;
          if (m.message.type === 'trace') traced = true;
          else if (m.message.type === 'note' && !traced) panel.traceGone();
          panel.show(m.message, placement);
        },
        onMalformed: (error) => this.host.output.warn(`ignored a malformed message from the inspect worker: ${messageText(error)}`),
      },
    );
    this.inspectJob = job;
    void job.outcome.then((outcome) => {
      if (this.inspectJob === job) this.inspectJob = null;
      if (outcome.kind === 'failed') panel.show({ type: 'note', level: 'error', text: messageText(outcome.message) });
    });
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.panel?.dispose();
  }
}
