// Find Units Active in Selection and the panel's Units tab, host side: the units worker keeps the
// file's states (one layer's h or c over every token); the selection's units and their matches are
// decorated in the editor and listed in the tab; the tracks' leaders; the editor coloured by one
// unit; a clamp compared before and after, and held for Generate Text at Cursor. While the model
// trains, the states are read again from each newer checkpoint (at most every LIVE_EVERY_MS).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MatchQueryMessage, StatesChoice, UnitsClamp, UnitsHostToPanel, UnitsPanelToHost } from '../protocol/units';
import { COMMANDS } from './commands';
import type { Host } from './host';
import type { InspectPanel } from './inspectPanel';
import { offerTraining } from './generation';
import { displayName, messageText } from './names';
import type { PanelFollow } from './panelFollow';
import { clampName, colouringRange, COMPARE_LENGTH, COMPARE_PRIME_CHARS, DEFAULT_CHOICE, defaultQuery, liveRereadDue, sameChoice, selectionProblem, shadeOf, shiftSelection, UNIT_SHADES } from './unitsChoice';
import { UnitsError, UnitsJob, type Answers } from './unitsJob';

interface Session {
  uri: string;
  name: string;
  job: UnitsJob;
  choice: StatesChoice;
  query: MatchQueryMessage;
  /** The selection, in characters of the text read. */
  select: [number, number] | null;
  opened: Answers['open'] | null;
  /** The document's version and the checkpoint's time the states were read from. */
  version: number;
  savedAt: number | null;
  lastReadAt: number;
  matches: Answers['query'] | null;
}

export class Units implements vscode.Disposable {
  private session: Session | null = null;
  private readonly matchMark = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.findMatchHighlightBackground'),
    border: '1px solid',
    borderColor: new vscode.ThemeColor('editor.findMatchHighlightBorder'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.findMatchForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });
  private readonly selectionMark = vscode.window.createTextEditorDecorationType({
    border: '2px solid',
    borderColor: new vscode.ThemeColor('focusBorder'),
    overviewRulerColor: new vscode.ThemeColor('focusBorder'),
    overviewRulerLane: vscode.OverviewRulerLane.Full,
  });
  private readonly shades: vscode.TextEditorDecorationType[] = [];
  private colourUnit: number | null = null;
  /** The clamp Generate Text at Cursor holds, and the file whose model it was set for. */
  private clamp: { uri: string; clamp: UnitsClamp } | null = null;
  private readonly clampItem = vscode.window.createStatusBarItem('lstmLens.clamp', vscode.StatusBarAlignment.Left, 99);
  private listening: { panel: InspectPanel; listener: { dispose(): void } } | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private liveTimer: NodeJS.Timeout | null = null;
  private scrollTimer: NodeJS.Timeout | null = null;

  constructor(private readonly host: Host, private readonly follow: PanelFollow) {
    for (let k = 0; k < 2 * UNIT_SHADES; k++) {
      const strength = ((k % UNIT_SHADES) + 1) / UNIT_SHADES;
      this.shades.push(vscode.window.createTextEditorDecorationType({ backgroundColor: k < UNIT_SHADES ? `rgba(33, 102, 172, ${0.08 + 0.42 * strength})` : `rgba(178, 24, 43, ${0.08 + 0.42 * strength})` }));
    }
    this.clampItem.name = 'LSTM Lens clamp';
    this.clampItem.command = COMMANDS.inspect.id;
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.session && e.document.uri.toString() === this.session.uri && e.contentChanges.length > 0) this.textChanged(e.contentChanges);
      }),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
        if (this.colourUnit !== null && this.session && e.textEditor.document.uri.toString() === this.session.uri) this.scheduleColouring();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.decorate()),
    );
  }

  /** The clamp Generate Text at Cursor holds (none while off, and none in another file than the one it was set for). */
  generationClamps(): UnitsClamp[] {
    return this.clamp && vscode.window.activeTextEditor?.document.uri.toString() === this.clamp.uri ? [this.clamp.clamp] : [];
  }

  /** LSTM Lens: Find Units Active in Selection. */
  async find(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lens: open a file and select the stretch of text whose units you want to find.');
      return;
    }
    const document = editor.document;
    const uri = document.uri.toString();
    const name = displayName(document);
    if (!this.host.store.has(uri)) {
      await offerTraining(name);
      return;
    }
    const select: [number, number] = [document.offsetAt(editor.selection.start), document.offsetAt(editor.selection.end)];
    const problem = selectionProblem(select[0], select[1]);
    if (problem) {
      void vscode.window.showInformationMessage(`LSTM Lens: ${problem}.`);
      return;
    }
    this.follow.open();
    this.listenToPanel();
    const previous = this.session?.uri === uri ? this.session : null;
    const choice = previous?.choice ?? DEFAULT_CHOICE;
    const query = previous?.query ?? defaultQuery(choice.state);
    const session = previous && previous.job.alive ? previous : this.newSession(uri, name, choice, query);
    session.select = select;
    await this.read(session, previous === null || previous.version !== document.version || !previous.opened, true);
  }

  private newSession(uri: string, name: string, choice: StatesChoice, query: MatchQueryMessage): Session {
    // Another file: the clamp set for the last one's model goes.
    if (this.clamp) this.setClamp(null);
    this.end();
    const job = new UnitsJob(path.join(this.host.context.extensionPath, 'dist', 'units-worker.js'), {
      onProgress: (done, total) => this.show({ type: 'unitsProgress', file: name, done, total }),
      onMalformed: (error) => this.host.output.warn(`ignored a malformed message from the units worker: ${messageText(error)}`),
    });
    const session: Session = { uri, name, job, choice, query, select: null, opened: null, version: -1, savedAt: null, lastReadAt: 0, matches: null };
    this.session = session;
    this.liveTimer = setInterval(() => this.liveTick(), 1000);
    return session;
  }

  /**
   * Reads the states (when `fresh`) and answers the query; every failure is told in the tab and the
   * log, and, when the command asked (`byCommand`: the tab may be hidden), in a notification too.
   */
  private async read(session: Session, fresh: boolean, byCommand = false): Promise<void> {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === session.uri);
    if (!document) return;
    try {
      if (fresh) {
        session.lastReadAt = Date.now();
        session.savedAt = this.savedAt(session.uri);
        session.version = document.version;
        this.show({ type: 'unitsProgress', file: session.name, done: 0, total: 1 });
        session.opened = await session.job.ask('open', { checkpointPath: this.host.store.checkpointPath(session.uri), text: document.getText(), choice: session.choice });
        this.host.output.info(`${session.name}: ${session.choice.state} of layer ${session.choice.layer} (${session.choice.direction}) over ${session.opened.T} tokens read in ${session.opened.ms.toFixed(0)} ms, kept in ${(session.opened.bytes / 2 ** 20).toFixed(1)} MiB`);
      }
      await this.query(session);
      if (fresh) await this.leaders(session);
      if (fresh && this.colourUnit !== null) await this.colour(this.colourUnit);
    } catch (e) {
      if (this.session !== session) return;
      const text = messageText(e instanceof Error ? e.message : String(e));
      if (!(e instanceof UnitsError)) this.host.output.error(`${session.name}: ${text}`);
      this.show({ type: 'unitsError', text });
      if (byCommand) void (e instanceof UnitsError ? vscode.window.showInformationMessage(`LSTM Lens: ${text}.`) : vscode.window.showErrorMessage(`LSTM Lens: Find Units Active in Selection failed: ${text}`));
    }
  }

  private async query(session: Session): Promise<void> {
    if (!session.opened) return;
    const select = session.select;
    session.matches = select ? await session.job.ask('query', { select, query: session.query, top: 500 }) : null;
    if (this.session !== session) return;
    this.decorate();
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === session.uri);
    if (!document) return;
    const o = session.opened;
    const m = session.matches;
    const lineOf = (c: number): number => document.positionAt(c).line;
    this.show({
      type: 'units',
      file: session.name,
      step: o.step,
      T: o.T,
      H: o.H,
      layers: o.layers,
      directions: o.directions,
      choice: session.choice,
      query: session.query,
      selection: select && m ? { text: document.getText().slice(select[0], select[1]).slice(0, 200), tokens: m.select, line: lineOf(select[0]) } : null,
      units: m?.units ?? [],
      matches: (m?.matches ?? []).map((x) => ({ start: x.chars[0], end: x.chars[1], line: lineOf(x.chars[0]), text: document.getText(new vscode.Range(document.positionAt(x.chars[0]), document.positionAt(Math.min(x.chars[1], x.chars[0] + 120)))) })),
      count: m?.count ?? 0,
      queryMs: m?.ms ?? 0,
      statesMs: o.ms,
      bytes: o.bytes,
      live: this.host.runs.has(session.uri),
    });
  }

  private async leaders(session: Session): Promise<void> {
    const answer = await session.job.ask('tracks', { top: 5 });
    if (this.session === session) this.show({ type: 'unitsLeaders', tracks: answer.tracks });
  }

  /** The matches in every editor of the file (the selection outlined), none elsewhere. */
  private decorate(): void {
    const s = this.session;
    for (const editor of vscode.window.visibleTextEditors) {
      const mine = s !== null && s.matches !== null && editor.document.uri.toString() === s.uri && editor.document.version === s.version;
      const doc = editor.document;
      const range = (a: number, b: number): vscode.Range => new vscode.Range(doc.positionAt(a), doc.positionAt(b));
      editor.setDecorations(this.matchMark, mine && s.matches ? s.matches.matches.map((x) => ({ range: range(x.chars[0], x.chars[1]), hoverMessage: `LSTM Lens: units ${s.matches?.units.join(', ')} on (${s.choice.state} ≥ ${s.query.threshold})` })) : []);
      editor.setDecorations(this.selectionMark, mine && s.select ? [range(s.select[0], s.select[1])] : []);
    }
  }

  /** The editor coloured by one unit's states over the visible text (null: no colouring). */
  private async colour(unit: number | null): Promise<void> {
    this.colourUnit = unit;
    const s = this.session;
    const editor = s ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri) : undefined;
    if (unit === null || !s || !s.opened || !editor || editor.document.version !== s.version) {
      this.clearColouring();
      this.show({ type: 'unitsColour', unit: null });
      if (unit !== null && s && editor === undefined) void vscode.window.showInformationMessage(`LSTM Lens: show ${s.name} in an editor to see the unit over its text.`);
      return;
    }
    const doc = editor.document;
    const range = colouringRange(editor.visibleRanges.map((r) => [doc.offsetAt(r.start), doc.offsetAt(r.end)] as const), doc.getText().length);
    const answer = await s.job.ask('values', { unit, range });
    if (this.session !== s || this.colourUnit !== unit) return;
    const buckets: vscode.DecorationOptions[][] = this.shades.map(() => []);
    for (let k = 0; k < answer.values.length; k++) {
      const v = answer.values[k];
      buckets[shadeOf(v, answer.max)].push({
        range: new vscode.Range(doc.positionAt(answer.spans[2 * k]), doc.positionAt(answer.spans[2 * k + 1])),
        hoverMessage: `LSTM Lens · ${s.choice.state} of layer ${s.choice.layer} ${s.choice.direction}, unit ${unit} = ${v.toPrecision(3)}`,
      });
    }
    this.shades.forEach((d, k) => editor.setDecorations(d, buckets[k]));
    this.show({ type: 'unitsColour', unit });
  }

  private scheduleColouring(): void {
    if (this.scrollTimer) clearTimeout(this.scrollTimer);
    this.scrollTimer = setTimeout(() => {
      this.scrollTimer = null;
      void this.colour(this.colourUnit).catch(() => undefined);
    }, 150);
  }

  private clearColouring(): void {
    for (const editor of vscode.window.visibleTextEditors) for (const d of this.shades) editor.setDecorations(d, []);
  }

  /** Before and after the clamp, at the cursor of the file's editor. */
  private async compare(clamp: UnitsClamp): Promise<void> {
    const s = this.session;
    const editor = s ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri) : undefined;
    if (!s || !editor) {
      this.show({ type: 'unitsError', text: 'Run Find Units Active in Selection on a file shown in an editor first.' });
      return;
    }
    const values = this.host.readSettingsOrExplain();
    if (!values) return;
    const doc = editor.document;
    const cursor = doc.offsetAt(editor.selection.active);
    const prime = doc.getText().slice(Math.max(0, cursor - COMPARE_PRIME_CHARS), cursor);
    const seed = values.seed;
    try {
      const answer = await s.job.ask('compare', { prime, clamp, length: Math.min(values.length, COMPARE_LENGTH), temperature: values.temperature, topK: values.topK, seed });
      const at = `line ${editor.selection.active.line + 1}, column ${editor.selection.active.character + 1} (${prime.length} characters before it read; seed ${seed})`;
      this.show({ type: 'unitsCompare', clamp, at, before: answer.before, after: answer.after });
    } catch (e) {
      this.show({ type: 'unitsError', text: messageText(e instanceof Error ? e.message : String(e)) });
    }
  }

  private setClamp(clamp: UnitsClamp | null): void {
    this.clamp = clamp && this.session ? { uri: this.session.uri, clamp } : null;
    if (clamp && this.session) {
      this.clampItem.text = `$(pinned) clamp ${clampName(clamp)}`;
      this.clampItem.tooltip = `LSTM Lens: Generate Text at Cursor in ${this.session.name} holds ${clamp.state}[${clamp.unit}] of layer ${clamp.layer} at ${clamp.value} (turn it off in the Units tab)`;
      this.clampItem.show();
    } else this.clampItem.hide();
    this.show({ type: 'unitsClampOn', clamp: this.clamp?.clamp ?? null });
  }

  private receive(m: UnitsPanelToHost): void {
    const s = this.session;
    switch (m.type) {
      case 'unitsQuery':
        if (!s) return;
        if (!sameChoice(s.choice, m.choice)) {
          s.choice = m.choice;
          s.query = m.query;
          void this.read(s, true);
        } else {
          s.query = m.query;
          void this.read(s, false);
        }
        break;
      case 'unitsJump': {
        const editor = s ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.uri) : undefined;
        const doc = editor?.document ?? (s ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === s.uri) : undefined);
        if (!doc) return;
        const range = new vscode.Range(doc.positionAt(m.start), doc.positionAt(m.end));
        void vscode.window.showTextDocument(doc, { viewColumn: editor?.viewColumn, preserveFocus: false, selection: range });
        break;
      }
      case 'unitsTracks':
        if (s?.opened) void this.leaders(s).catch(() => undefined);
        break;
      case 'unitsColour':
        void this.colour(m.unit).catch((e: unknown) => this.show({ type: 'unitsError', text: messageText(e instanceof Error ? e.message : String(e)) }));
        break;
      case 'unitsCompare':
        void this.compare(m.clamp);
        break;
      case 'unitsClampOn':
        this.setClamp(m.clamp);
        break;
    }
  }

  private listenToPanel(): void {
    const panel = this.follow.panel;
    if (!panel || this.listening?.panel === panel) return;
    this.listening?.listener.dispose();
    this.listening = { panel, listener: panel.listenUnits((m) => this.receive(m), () => this.panelClosed()) };
  }

  private show(message: UnitsHostToPanel): void {
    this.follow.panel?.show(message);
  }

  /** The checkpoint's modification time (null: none saved). */
  private savedAt(uri: string): number | null {
    try {
      return fs.statSync(this.host.store.checkpointPath(uri)).mtimeMs;
    } catch {
      return null;
    }
  }

  /** While the model trains: the states read again from a newer checkpoint, bounded by LIVE_EVERY_MS. */
  private liveTick(): void {
    const s = this.session;
    if (s && !this.host.store.has(s.uri)) {
      // The model was forgotten (here or in another window): its states, matches and clamp go with it.
      this.show({ type: 'unitsError', text: `The model of ${s.name} was forgotten: train one and run Find Units Active in Selection again.` });
      this.setClamp(null);
      this.end();
      return;
    }
    if (!s || !s.opened || !this.host.store.has(s.uri)) return;
    const savedAt = this.savedAt(s.uri);
    if (liveRereadDue({ now: Date.now(), lastReadAt: s.lastReadAt, busy: s.job.busy, savedAt, readFromSavedAt: s.savedAt })) void this.read(s, true);
  }

  private textChanged(changes: readonly vscode.TextDocumentContentChangeEvent[]): void {
    // The decorations' offsets no longer hold: they go until the text is read again. The selection
    // moves with an edit before it; an edit inside it clears it (its units were those of other text).
    const s = this.session;
    if (!s) return;
    const had = s.select;
    s.select = shiftSelection(s.select, changes.map((c) => ({ offset: c.rangeOffset, length: c.rangeLength, inserted: c.text.length })));
    if (had && !s.select) this.show({ type: 'unitsError', text: `The selection in ${s.name} was edited: select the text again and run Find Units Active in Selection.` });
    s.matches = null;
    this.decorate();
    this.clearColouring();
    s.lastReadAt = 0;
    s.savedAt = -1; // read again at the next tick
  }

  /** The model was forgotten or the panel closed: no colouring, no matches, no states kept. */
  private panelClosed(): void {
    this.listening = null;
    this.end();
  }

  private end(): void {
    if (this.liveTimer) clearInterval(this.liveTimer);
    this.liveTimer = null;
    const s = this.session;
    this.session = null;
    if (s) void s.job.kill();
    if (this.clamp) {
      this.clamp = null;
      this.clampItem.hide();
    }
    this.colourUnit = null;
    this.clearColouring();
    this.decorate();
  }

  dispose(): void {
    this.end();
    if (this.scrollTimer) clearTimeout(this.scrollTimer);
    this.listening?.listener.dispose();
    for (const d of [...this.disposables, ...this.shades, this.matchMark, this.selectionMark, this.clampItem]) d.dispose();
  }
}
