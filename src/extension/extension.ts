// The extension host side: commands, the status bar item, the output channel, and the training
// and generation jobs (each in its own worker thread; nothing heavy runs on this thread).

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { InputError } from '../engine/config';
import { formatRate, printable } from '../engine/format';
import { prepareText } from '../engine/text';
import { textFingerprint } from '../engine/trainer';
import type { TraceMessage } from '../protocol/panel';
import type { DivergenceData, Sequence, TrainRequest, WorkerToHost } from '../protocol/worker';
import { modelMessage } from '../worker/panelData';
import { acquireModelLock, lockOwner, type ModelLock } from '../node/modelLock';
import { ModelStore } from './modelStore';
import { displayName, divergenceRemedy, lockOwnerText, messageText, tokenText } from './names';
import { InspectPanel, type TracePlacement } from './inspectPanel';
import { readSettings, SECTION, SETTINGS, SettingsError, settingsLine, trainingPlan, type SettingKey, type SettingsValues } from './settings';
import { traceWindow, type SequenceSource } from './traceWindow';
import { GpuTrainingJob, timeOnGpu, type BackendEvent, type TrainingJob } from './gpuJob';
import { WorkerJob, type JobOutcome } from './workerJob';
import { runEnd } from './runEnd';
import { autoKey, CPU_PROBE_MS, gpuWaitMs, PROBE_MS, TIMING_STEPS } from './autoChoice';

const COMMANDS = {
  train: 'lstmLens.train',
  stop: 'lstmLens.stop',
  generate: 'lstmLens.generate',
  inspect: 'lstmLens.inspect',
  forget: 'lstmLens.forget',
  forgetMissing: 'lstmLens.forgetMissing',
} as const;

/** Prime generation with at most this much of the text before the cursor. */
const MAX_PRIME_CHARS = 20000;
/** How long generated text stays marked in the editor after generation ends. */
const GENERATED_MARK_MS = 2500;
/** How often a training worker traces the panel's sequence (a trace costs about one short forward and backward). */
const TRACE_EVERY_MS = 1000;


/** Where a run trains, and why there. */
type Placement = { backend: 'cpu'; why: string } | { backend: 'webgl'; why: string; panel: InspectPanel; workerSource: string };

interface ActiveRun {
  job: TrainingJob;
  documentUri: string;
  name: string;
  step: number;
  totalSteps: number;
  loss: number | null;
  /** The 'started' message: what the panel's model summary is made of while training. */
  started: Extract<WorkerToHost, { type: 'started' }> | null;
  /** Where the sequence the worker traces for the panel stands in the document. */
  watchPlacement: TracePlacement | null;
  /** 'CPU' or 'GPU', and why, for the status bar. */
  backend: string;
  backendWhy: string;
}

/** What activate() returns to other extensions and to the integration tests. */
export interface LstmLensApi {
  /** Whether the document has a saved model. */
  hasModel(documentUri: vscode.Uri): boolean;
  /** Resolves when no training run is active. */
  whenIdle(): Promise<void>;
}

/** The running extension, for deactivate(). */
let active: LstmLens | null = null;

export function activate(context: vscode.ExtensionContext): LstmLensApi {
  const lens = new LstmLens(context);
  active = lens;
  context.subscriptions.push(lens);
  return {
    hasModel: (uri) => lens.hasModel(uri.toString()),
    whenIdle: () => lens.whenIdle(),
  };
}

/**
 * Stops every run and waits for their final saves, so that a reload or a closed window keeps the
 * steps since the last periodic save. VS Code waits about 5 s for deactivate before the extension
 * host exits; a run that has not saved within 4 s keeps its last periodic checkpoint.
 */
export async function deactivate(): Promise<void> {
  await active?.stopAll(4_000);
  active = null;
}

class LstmLens implements vscode.Disposable {
  private readonly output = vscode.window.createOutputChannel('LSTM Lens', { log: true });
  private readonly statusBar = vscode.window.createStatusBarItem('lstmLens.status', vscode.StatusBarAlignment.Left, 100);
  /** Generated text, marked briefly in the editor: until GENERATED_MARK_MS after the last token, or the next edit. */
  private readonly generatedMark = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
    borderRadius: '2px',
  });
  private readonly store: ModelStore;
  private readonly runs = new Map<string, ActiveRun>();
  private readonly generations = new Set<WorkerJob>();
  private readonly workerScript: string;
  private readonly disposables: vscode.Disposable[] = [];
  private lastRun: ActiveRun | null = null;
  private panel: InspectPanel | null = null;
  private sequenceSource: SequenceSource = 'cursor';
  private followTimer: NodeJS.Timeout | null = null;
  private inspectJob: WorkerJob | null = null;
  /** Files whose run is being prepared (asked about, timed): a second Train waits for the first. */
  private readonly starting = new Set<string>();
  /** lstmLens.backend "auto": the choice made for each model and batch size this session. */
  private readonly autoChoices = new Map<string, Placement>();
  private gpuWorkerSource: string | null = null;
  /** After dispose, late messages of runs that are ending are dropped (the output channel is closed). */
  private disposed = false;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.workerScript = path.join(context.extensionPath, 'dist', 'worker.js');
    // Untitled documents are keyed by this activation (vscode.env.sessionId survives a reload of the
    // window, and Untitled-1 of the reloaded window is a new document): models of untitled
    // documents never outlive the extension host that trained them.
    this.store = new ModelStore(context.globalStorageUri.fsPath, { id: randomUUID() });
    this.housekeeping();
    this.statusBar.name = 'LSTM Lens';
    this.statusBar.command = COMMANDS.inspect;
    this.disposables.push(
      this.output,
      this.statusBar,
      this.generatedMark,
      vscode.commands.registerCommand(COMMANDS.train, () => this.train()),
      vscode.commands.registerCommand(COMMANDS.stop, () => this.stop()),
      vscode.commands.registerCommand(COMMANDS.generate, () => this.generate()),
      vscode.commands.registerCommand(COMMANDS.inspect, () => this.inspect()),
      vscode.commands.registerCommand(COMMANDS.forget, () => this.forget()),
      vscode.commands.registerCommand(COMMANDS.forgetMissing, () => this.forgetMissing()),
      vscode.window.onDidChangeActiveTextEditor(() => {
        this.refreshStatusBar();
        this.schedulePanelUpdate();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor === vscode.window.activeTextEditor) this.schedulePanelUpdate();
      }),
      vscode.languages.registerHoverProvider({ pattern: '**' }, { provideHover: (document, position, token) => this.hover(document, position, token) }),
    );
    this.refreshStatusBar();
  }

  /**
   * Cleanup at activation: temporary files left by interrupted saves, and the models of untitled
   * documents of windows that have closed (a later Untitled-1 is another document). It never fails
   * activation: what cannot be removed (read-only storage, another user's files) is logged and left.
   */
  private housekeeping(): void {
    try {
      const { removed, failed } = this.store.removeTemporaryFiles();
      if (removed > 0) this.output.info(`removed ${removed} unfinished checkpoint file(s) left by an interrupted save`);
      if (failed.length > 0) {
        this.output.warn(`could not remove ${failed.length} unfinished checkpoint file(s) left by an interrupted save (${failed.slice(0, 3).map((f) => `${printable(f.name)}: ${printable(f.error)}`).join('; ')}${failed.length > 3 ? '; …' : ''}); they are left in ${printable(this.store.folder)}`);
      }
      const untitled = this.store.missingModels().filter((m) => m.entry.uri.startsWith('untitled:'));
      if (untitled.length > 0) {
        const gone = this.store.removeModels(untitled);
        if (gone.removed > 0) this.output.info(`removed ${gone.removed} model(s) of untitled documents of closed windows`);
        if (gone.failed.length > 0) this.output.warn(`could not remove ${gone.failed.length} model(s) of untitled documents of closed windows (${printable(gone.failed[0].error)})`);
      }
    } catch (e) {
      this.output.warn(`cleanup of the model folder failed and was skipped: ${messageText(e instanceof Error ? e.message : String(e))}`);
    }
  }

  hasModel(documentUri: string): boolean {
    return this.store.has(documentUri);
  }

  async whenIdle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs.values()].map((r) => r.job.outcome));
  }

  /** Asks every run to stop and waits (at most timeoutMs) for them to save and end. */
  async stopAll(timeoutMs: number): Promise<void> {
    const outcomes = [...this.runs.values()].map((run) => {
      run.job.stop();
      return run.job.outcome;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(outcomes), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  dispose(): void {
    this.disposed = true;
    if (this.followTimer) clearTimeout(this.followTimer);
    // Runs first: a GPU run whose panel closes after it was asked to stop ends there, rather than
    // continuing on the CPU while the window goes away.
    for (const run of this.runs.values()) run.job.stop();
    this.panel?.dispose();
    for (const job of this.generations) void job.kill();
    for (const d of this.disposables) d.dispose();
  }

  // ---- training -------------------------------------------------------------------------------

  private async train(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lens: open a file to train on first.');
      return;
    }
    const document = editor.document;
    const uri = document.uri.toString();
    const name = displayName(document);
    const running = this.runs.get(uri);
    if (running) {
      const choice = await vscode.window.showInformationMessage(`LSTM Lens is already training on ${name} (step ${running.step}/${running.totalSteps}).`, 'Stop Training');
      if (choice) running.job.stop();
      return;
    }
    if (this.starting.has(uri)) {
      void vscode.window.showInformationMessage(`LSTM Lens is already starting a run on ${name}.`);
      return;
    }
    this.starting.add(uri);
    let lock: ModelLock | null = null;
    try {
      lock = this.lockModel(uri, name);
      if (lock) {
        // Refreshed from now on (a question left open for minutes must not let the lock go stale).
        lock.keepAlive(() => {
          if (this.disposed) return;
          const run = this.runs.get(uri);
          this.output.warn(`${name}: another window took over this model's lock (this window did not refresh it for minutes)${run ? '; this run stops so that the two do not overwrite each other' : ''}`);
          run?.job.stop();
        });
        await this.startRun(editor, document, uri, name, lock);
      }
    } catch (e) {
      if (this.disposed) return;
      this.output.error(`${name}: training could not start: ${messageText(e instanceof Error ? (e.stack ?? e.message) : String(e))}`);
      void vscode.window.showErrorMessage(`LSTM Lens: training on ${name} could not start: ${messageText(e instanceof Error ? e.message : String(e))}`);
    } finally {
      lock?.release();
      this.starting.delete(uri);
    }
  }

  /**
   * Takes the model's lock for a run (held while asking, training and saving): another window that
   * trains the same file has it, and this one says so and does not start. Null: not taken (said).
   */
  private lockModel(uri: string, name: string): ModelLock | null {
    const checkpointPath = this.store.prepare(uri);
    const got = acquireModelLock(checkpointPath);
    if (got.ok) return got.lock;
    const who = lockOwnerText(got.owner);
    this.output.info(`${name}: not started: its model is being trained in ${who}`);
    void vscode.window.showWarningMessage(`LSTM Lens: ${name} is training in ${who}. Stop it there first, or wait for it to finish.`);
    return null;
  }

  private async startRun(editor: vscode.TextEditor, document: vscode.TextDocument, uri: string, name: string, lock: ModelLock): Promise<void> {
    const values = this.readSettingsOrExplain();
    if (!values) return;

    // A snapshot of the text (the selection, if any), taken now: later edits do not disturb the run.
    const selection = editor.selection;
    const raw = selection.isEmpty ? document.getText() : document.getText(selection);
    let text: string;
    try {
      const prepared = prepareText(raw);
      text = prepared.text;
      for (const note of prepared.notes) this.output.info(`${name}: ${note}`);
    } catch (e) {
      void vscode.window.showErrorMessage(`LSTM Lens: cannot train on ${name}${selection.isEmpty ? '' : ' (the selection)'}: ${(e as Error).message}.`);
      return;
    }

    let resumeFrom: string | null = null;
    if (this.store.has(uri)) {
      const asked = this.store.identity(uri);
      const decision = await this.askContinueOrRestart(uri, name, text, values.learningRate);
      if (decision === undefined || this.disposed) return;
      // The model asked about must be the one continued: never a deleted or replaced one.
      if (this.store.identity(uri) !== asked) {
        void vscode.window.showWarningMessage(`LSTM Lens: the saved model of ${name} was ${this.store.has(uri) ? 'replaced' : 'deleted'} while LSTM Lens was asking; nothing was started. Train again to choose anew.`);
        return;
      }
      if (decision === 'continue') resumeFrom = this.store.checkpointPath(uri);
    }
    const { shape, settings } = trainingPlan(values);
    const checkpointPath = this.store.prepare(uri);
    let request: TrainRequest = { type: 'train', text, sourceName: rawName(document), shape, settings, resumeFrom, checkpointPath, saveEverySteps: 50, saveEveryMs: 30_000, progressEveryMs: 200, timing: null };
    for (;;) {
      const outcome = await this.executeRun(uri, name, request, values, selection.isEmpty ? '' : ' (selection)', lock);
      if (!outcome || outcome.kind !== 'failed' || outcome.reason !== 'textShorter' || this.disposed) return;
      // Continuing on a text shorter than the one the model was trained on: its streams stood
      // past the new text's end. Offer to read the text from its start again, or to start afresh.
      const fromStart = 'Continue from the Start of the Text';
      const afresh = 'Start Afresh';
      const choice = await vscode.window.showWarningMessage(
        `LSTM Lens: ${name} is shorter than the text its model was trained on, so the run cannot go on where it stopped.`,
        { modal: true, detail: `${messageText(outcome.message)}.\n\n${fromStart}: keep the model and read the text from its start again. ${afresh}: replace the model with a new one.` },
        fromStart,
        afresh,
      );
      if (choice === fromStart) request = { ...request, restartStream: true };
      else if (choice === afresh) request = { ...request, resumeFrom: null, restartStream: false };
      else return;
      if (this.store.identity(uri) === null && request.resumeFrom) return; // deleted meanwhile (Forget refuses while starting; another program may not)
    }
  }

  /** Places and runs one training job, reporting its progress and outcome; undefined when cancelled before it started. */
  private async executeRun(uri: string, name: string, request: TrainRequest, values: SettingsValues, selectionNote: string, lock: ModelLock): Promise<JobOutcome | undefined> {
    const { text, settings, resumeFrom } = request;
    const backendSetting = values.backend;
    const placement = await this.placeRun(backendSetting, request, name);
    if (!placement) return undefined;
    if (!lock.held()) {
      void vscode.window.showWarningMessage(`LSTM Lens: ${name} is now training in ${lockOwnerText(lockOwner(request.checkpointPath))}; nothing was started here.`);
      return undefined;
    }
    const how = resumeFrom
      ? `continuing the saved model for ${settings.steps} more steps at learning rate ${settings.learning_rate}${request.restartStream ? ', reading the text from its start again' : ''}`
      : `settings ${settingsLine(values)}`;
    this.output.info(`training on ${name}${selectionNote} on the ${placement.backend === 'webgl' ? 'GPU' : 'CPU'} (${placement.why}): ${text.length} characters; ${how}`);

    // A diagnostic of the extension itself, logged only when asked for (lstmLens.diagnostics).
    const delay = values.diagnostics ? monitorEventLoopDelay({ resolution: 10 }) : null;
    delay?.enable();
    const run: ActiveRun = {
      job: undefined as unknown as TrainingJob, documentUri: uri, name, step: 0, totalSteps: settings.steps, loss: null, started: null, watchPlacement: null,
      backend: placement.backend === 'webgl' ? 'GPU' : 'CPU', backendWhy: placement.why,
    };
    let reportProgress: (message: WorkerToHost) => void = () => undefined;
    const handlers = {
      onMessage: (message: WorkerToHost) => {
        if (this.disposed) return;
        this.onTrainingMessage(run, message);
        reportProgress(message);
      },
      onMalformed: (error: string) => {
        if (!this.disposed) this.output.warn(`ignored a malformed message from the training worker: ${messageText(error)}`);
      },
      onBackend: (event: BackendEvent) => {
        if (!this.disposed) this.onBackend(run, event);
      },
    };
    run.job =
      placement.backend === 'webgl'
        ? new GpuTrainingJob(placement.panel, request, handlers, { workerSource: placement.workerSource, startOnCpu: (r, h) => new WorkerJob(this.workerScript, r, h), store: (r) => new WorkerJob(this.workerScript, r) })
        : new WorkerJob(this.workerScript, request, handlers);
    this.runs.set(uri, run);
    this.lastRun = run;
    void vscode.commands.executeCommand('setContext', 'lstmLens.training', true);
    this.refreshStatusBar();
    this.schedulePanelUpdate(0);

    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `LSTM Lens: training on ${name}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => run.job.stop());
        let reported = 0;
        reportProgress = (message) => {
          if (message.type !== 'progress') return;
          const fraction = (100 * message.step) / message.totalSteps;
          progress.report({ message: `step ${message.step}/${message.totalSteps} · loss ${message.loss.toFixed(3)}`, increment: fraction - reported });
          reported = fraction;
        };
        return run.job.outcome;
      },
    );
    delay?.disable();
    this.runs.delete(uri);
    if (this.disposed) return outcome;
    void vscode.commands.executeCommand('setContext', 'lstmLens.training', this.runs.size > 0);
    if (delay) {
      const ms = (ns: number): string => (ns / 1e6).toFixed(1);
      this.output.info(`diagnostics: the extension host's event loop delay during the run: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms`);
    }
    if (outcome.kind !== 'failed' || outcome.reason !== 'textShorter') this.onTrainingOutcome(run, outcome);
    this.refreshStatusBar();
    if (this.panel && this.panelDocument()?.uri.toString() === uri) {
      // The run's end: not running, at the step it ended on, with its average speed (the panel
      // reads "finished" when every step ran, "stopped" otherwise).
      const end = runEnd(run, outcome);
      if (run.started) this.panel.show({ ...this.trainingMessage(run, run.started, false, 0, { step: [], loss: [], gradNorm: [], learningRate: [] }), ...end });
      this.schedulePanelUpdate(0);
    }
    return outcome;
  }

  /** The GPU worker's script, sent to the webview that runs it; null (and logged) when it cannot be read. */
  private gpuSource(): string | null {
    try {
      this.gpuWorkerSource ??= readFileSync(path.join(this.context.extensionPath, 'dist', 'gpu-worker.js'), 'utf8');
    } catch (e) {
      this.output.error(`the GPU worker's script cannot be read: ${(e as Error).message}`);
    }
    return this.gpuWorkerSource;
  }

  /**
   * Where a run trains. "cpu" and "webgl" say so (the GPU trains in the Inspect States panel, which
   * opens for it). "auto" uses the GPU only where the panel is already open, and then only if a few
   * timed steps at this size are faster there than on the CPU; the choice is remembered for the
   * session. Undefined: the user cancelled.
   */
  private async placeRun(setting: 'auto' | 'cpu' | 'webgl', request: TrainRequest, name: string): Promise<Placement | undefined> {
    if (setting === 'cpu') return { backend: 'cpu', why: 'lstmLens.backend is "cpu"' };
    const source = this.gpuSource();
    if (source === null) return { backend: 'cpu', why: "the GPU worker's script is missing from the extension" };
    if (setting === 'webgl') {
      this.inspect();
      return this.panel ? { backend: 'webgl', why: 'lstmLens.backend is "webgl"', panel: this.panel, workerSource: source } : { backend: 'cpu', why: 'the Inspect States panel, where the GPU trains, could not open' };
    }
    const panel = this.panel;
    if (!panel) return { backend: 'cpu', why: 'auto: the GPU trains in the Inspect States panel, which is not open' };
    const key = autoKey(request);
    const known = this.autoChoices.get(key);
    if (known) return known.backend === 'webgl' ? { ...known, panel, workerSource: source, why: `${known.why}, timed earlier this session` } : { ...known, why: `${known.why}, timed earlier this session` };
    // About two seconds in all, shown in the status bar: a few steps on the CPU (or as many as
    // fit in its share), then on the GPU for the rest.
    this.statusBar.text = '$(sync~spin) LSTM Lens: timing CPU vs GPU…';
    this.statusBar.tooltip = `LSTM Lens is timing a few training steps of ${name} on the CPU and on the GPU (about ${PROBE_MS / 1000} s) to train on the faster (lstmLens.backend "auto"; remembered for this model size for the session).`;
    this.statusBar.show();
    const began = performance.now();
    const timed = await (async () => {
      const cpuJob = new WorkerJob(this.workerScript, { ...request, timing: { steps: TIMING_STEPS, budgetMs: CPU_PROBE_MS } });
      const cpu = await cpuJob.outcome;
      if (this.disposed) return undefined;
      if (cpu.kind !== 'finished' || cpu.message.type !== 'timed') return { cpu: null, gpu: null };
      const gpu = await timeOnGpu(panel, source, request, TIMING_STEPS, gpuWaitMs(performance.now() - began), CPU_PROBE_MS);
      return this.disposed ? undefined : { cpu: cpu.message, gpu };
    })();
    this.output.info(`${name}: timing the CPU against the GPU took ${((performance.now() - began) / 1000).toFixed(1)} s`);
    this.refreshStatusBar();
    if (!timed) return undefined;
    let choice: Placement;
    const rate = (r: number): string => `${formatRate(r)} tokens/s`;
    if (!timed.cpu) choice = { backend: 'cpu', why: 'auto: the CPU could not be timed' };
    else if (!timed.gpu?.ok) choice = { backend: 'cpu', why: `auto: CPU ${rate(timed.cpu.tokensPerSecond)}; GPU not usable: ${messageText(timed.gpu?.reason ?? 'not timed')}` };
    else if (timed.gpu.tokensPerSecond > timed.cpu.tokensPerSecond) {
      choice = { backend: 'webgl', panel, workerSource: source, why: `auto: GPU ${rate(timed.gpu.tokensPerSecond)} (${printable(timed.gpu.renderer)}) faster than CPU ${rate(timed.cpu.tokensPerSecond)}` };
    } else choice = { backend: 'cpu', why: `auto: CPU ${rate(timed.cpu.tokensPerSecond)} faster than GPU ${rate(timed.gpu.tokensPerSecond)} (${printable(timed.gpu.renderer)})` };
    this.output.info(`${name}: ${choice.why}`);
    this.autoChoices.set(key, choice);
    return choice;
  }

  /** A run's backend was settled, or the GPU gave up and the run continues on the CPU. */
  private onBackend(run: ActiveRun, event: BackendEvent): void {
    if (event.backend === 'webgl') {
      run.backend = 'GPU';
      this.output.info(`${run.name}: training on the GPU: WebGL2 on ${printable(event.renderer)}, in the panel's ${event.thread === 'worker' ? 'Web Worker' : 'main thread (no OffscreenCanvas in its workers)'}`);
    } else {
      run.backend = 'CPU';
      run.backendWhy = `the GPU stopped: ${messageText(event.reason)}`;
      this.output.warn(`${run.name}: ${messageText(event.reason)}: training continues on the CPU from step ${event.fromStep}`);
      void vscode.window.showWarningMessage(`LSTM Lens: ${messageText(event.reason)}; training on ${run.name} continues on the CPU from step ${event.fromStep}.`);
    }
    this.refreshStatusBar();
  }

  private async askContinueOrRestart(uri: string, name: string, text: string, learningRate: number): Promise<'continue' | 'restart' | undefined> {
    let detail: string;
    try {
      // The header alone (a big model's tensors are never read on this thread).
      const summary = this.store.summary(uri);
      if (!summary) throw new Error('it was deleted');
      const sameText = summary.source?.hash === textFingerprint(text);
      const shorter = summary.source !== null && text.length < summary.source.chars;
      // lstmLens.learningRate applies to a continued run too: said when it differs from the model's.
      const rate = learningRate !== summary.learningRate ? `; learning rate ${learningRate} (lstmLens.learningRate; it was ${summary.learningRate})` : '';
      detail = `step ${summary.step}, loss ${summary.loss?.toFixed(3) ?? 'n/a'}, ${summary.tokens}-level, vocabulary ${summary.vocabSize}${sameText ? '' : shorter ? '; the text is shorter than the one it was trained on' : '; trained on a different version of the text'}${rate}`;
    } catch (e) {
      const choice = await vscode.window.showWarningMessage(`LSTM Lens: the saved model for ${name} cannot be read (${messageText((e as Error).message)}). Start afresh?`, { modal: true }, 'Start Afresh');
      return choice ? 'restart' : undefined;
    }
    const picked = await vscode.window.showQuickPick(
      [
        { label: 'Continue training', description: detail, value: 'continue' as const },
        { label: 'Start afresh', description: 'replace the saved model with a new one from the current settings', value: 'restart' as const },
      ],
      { title: `LSTM Lens: ${name} already has a model`, placeHolder: 'Continue the saved model, or start afresh?' },
    );
    return picked?.value;
  }

  private onTrainingMessage(run: ActiveRun, message: WorkerToHost): void {
    switch (message.type) {
      case 'started':
        run.step = message.step;
        run.totalSteps = message.totalSteps;
        run.started = message;
        if (this.panelFollows(run)) this.schedulePanelUpdate(0);
        this.output.info(
          `${run.name}: ${message.settings.tokens}-level, vocabulary ${message.vocabSize}, ${message.tokens} tokens; ` +
            `${message.shape.num_layers} layer(s) of ${message.shape.hidden_size}, ${message.shape.embedding_size === null ? 'one-hot input' : `embedding ${message.shape.embedding_size}`}, ` +
            `${message.shape.mode.replace(/_/g, '-')}${message.shape.bidirectional ? ', bidirectional' : ''}; ${message.parameters.toLocaleString('en-US')} parameters; ` +
            `batch ${message.batchSize} × ${message.settings.sequence_length}, ${message.settings.optimizer} lr ${message.settings.learning_rate}; steps ${message.step} → ${message.totalSteps}`,
        );
        for (const note of message.notes) this.output.info(`${run.name}: ${messageText(note)}`);
        break;
      case 'progress':
        run.step = message.step;
        run.loss = message.loss;
        this.statusText(run, message.tokensPerSecond);
        if (this.panel && this.panelFollows(run) && run.started) {
          this.panel.show(this.trainingMessage(run, run.started, true, message.tokensPerSecond, message.history));
        }
        if (message.step % 50 === 0 || message.step === message.totalSteps) {
          this.output.info(`${run.name}: step ${message.step}/${message.totalSteps} loss ${message.loss.toFixed(4)} lr ${message.learningRate.toPrecision(3)} grad norm ${message.gradNorm.toFixed(3)} ${formatRate(message.tokensPerSecond)} tokens/s`);
        }
        break;
      case 'saved':
        this.output.debug(`${run.name}: checkpoint saved at step ${message.step}`);
        break;
      case 'panel':
        if (this.panel && this.panelFollows(run) && run.watchPlacement) this.panel.show(message.message, run.watchPlacement);
        break;
      default:
        break;
    }
  }

  private onTrainingOutcome(run: ActiveRun, outcome: JobOutcome): void {
    if (outcome.kind === 'finished' && outcome.message.type === 'finished') {
      const m = outcome.message;
      const summary = `step ${m.step}, loss ${m.loss?.toFixed(4) ?? 'n/a'}, ${formatRate(m.tokensPerSecond)} tokens/s on average`;
      this.output.info(`${run.name}: training ${m.reason === 'done' ? 'finished' : 'stopped'}: ${summary}; saved`);
      void vscode.window
        .showInformationMessage(`LSTM Lens: Training ${m.reason === 'done' ? 'finished' : 'stopped'} on ${run.name}: ${summary}.`, 'Generate Text at Cursor', 'Inspect States')
        .then((choice) => {
          if (choice === 'Generate Text at Cursor') void vscode.commands.executeCommand(COMMANDS.generate);
          if (choice === 'Inspect States') void vscode.commands.executeCommand(COMMANDS.inspect);
        });
      return;
    }
    if (outcome.kind === 'failed' && outcome.reason === 'diverged') {
      this.onDivergence(run, outcome.message, outcome.divergence);
      return;
    }
    const kept = this.store.has(run.documentUri) ? ' The last saved checkpoint is kept.' : '';
    const message =
      outcome.kind === 'crashed'
        ? `the training worker stopped: ${messageText(outcome.message)}.${kept}`
        : outcome.kind === 'failed'
          ? `${messageText(outcome.message)}${outcome.reason === 'diverged' ? '' : kept}`
          : 'unexpected outcome';
    this.output.error(`${run.name}: ${message}`);
    void vscode.window.showErrorMessage(`LSTM Lens: ${run.name}: ${message}`, 'Show Log').then((choice) => {
      if (choice) this.output.show();
    });
  }

  /**
   * A run that diverged: what happened and which step's weights were kept (the engine's words), and
   * the remedy in VS Code's terms: lstmLens.learningRate at the suggested value, then Continue
   * (the setting applies to a continued run). One button sets it.
   */
  private onDivergence(run: ActiveRun, what: string, d: DivergenceData | undefined): void {
    const facts = messageText(what);
    if (!d) {
      this.output.error(`${run.name}: training diverged: ${facts}`);
      void vscode.window.showErrorMessage(`LSTM Lens: training on ${run.name} diverged: ${facts}. Lower lstmLens.learningRate, then train again.`, 'Open Settings').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.learningRate`);
      });
      return;
    }
    const { learningRate: lr, text: remedy } = divergenceRemedy(d);
    this.output.error(`${run.name}: training diverged: ${facts}. ${remedy}`);
    const setIt = `Set Learning Rate to ${lr}`;
    void vscode.window.showErrorMessage(`LSTM Lens: training on ${run.name} diverged: ${facts}. ${remedy}`, setIt, 'Show Log').then(async (choice) => {
      if (choice === 'Show Log') this.output.show();
      if (choice !== setIt) return;
      // Where the setting is defined now (a folder, the workspace, or the user's settings) is where it changes.
      const config = vscode.workspace.getConfiguration(SECTION);
      const where = config.inspect('learningRate');
      const target = where?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder : where?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      try {
        await config.update('learningRate', lr, target);
      } catch (e) {
        void vscode.window.showErrorMessage(`LSTM Lens: lstmLens.learningRate could not be set: ${messageText((e as Error).message)}`);
        return;
      }
      this.output.info(`lstmLens.learningRate set to ${lr}`);
      const again = await vscode.window.showInformationMessage(`LSTM Lens: lstmLens.learningRate is now ${lr}. Train ${run.name} again and choose Continue training to go on from step ${d.keptStep}.`, 'Train LSTM on This File');
      if (again) void vscode.commands.executeCommand(COMMANDS.train);
    });
  }

  private stop(): void {
    const editor = vscode.window.activeTextEditor;
    const run = (editor && this.runs.get(editor.document.uri.toString())) ?? (this.runs.size === 1 ? [...this.runs.values()][0] : undefined);
    if (!run) {
      void vscode.window.showInformationMessage(this.runs.size === 0 ? 'LSTM Lens: nothing is training.' : 'LSTM Lens: switch to the file whose training you want to stop.');
      return;
    }
    run.job.stop();
  }

  // ---- generation -----------------------------------------------------------------------------

  private async generate(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lens: open a file and place the cursor where the text should continue.');
      return;
    }
    const document = editor.document;
    const uri = document.uri.toString();
    const name = displayName(document);
    if (!this.store.has(uri)) {
      const choice = await vscode.window.showInformationMessage(`LSTM Lens: ${name} has no model yet. Train one on it first.`, 'Train LSTM on This File');
      if (choice) void vscode.commands.executeCommand(COMMANDS.train);
      return;
    }
    const values = this.readSettingsOrExplain();
    if (!values) return;
    const start = editor.selection.active;
    const before = document.getText(new vscode.Range(new vscode.Position(0, 0), start));
    const prime = before.slice(-MAX_PRIME_CHARS);
    let insertAt = start;
    const startOffset = document.offsetAt(start);
    let edits: Promise<unknown> = Promise.resolve();
    let first = true;
    let broken = false;
    const job = new WorkerJob(
      this.workerScript,
      { type: 'generate', checkpointPath: this.store.checkpointPath(uri), prime, length: values.length, temperature: values.temperature, topK: values.topK, seed: (Date.now() >>> 0) },
      {
        onMessage: (message) => {
          if (message.type === 'primed' && message.unknown > 0) {
            this.output.info(`${name}: ${message.unknown} token(s) before the cursor are not in the model's vocabulary; they were ${message.read > 0 ? 'read as <unk> or skipped' : 'skipped'}`);
          }
          if (message.type !== 'text' || broken) return;
          // Consecutive edits without undo stops between them form one undo step.
          const piece = message.text;
          const undoStopBefore = first;
          first = false;
          edits = edits.then(async () => {
            if (broken) return;
            const at = insertAt;
            const ok = await editor.edit((b) => b.insert(at, piece), { undoStopBefore, undoStopAfter: false });
            if (!ok) {
              broken = true;
              job.stop();
              return;
            }
            insertAt = document.positionAt(document.offsetAt(at) + piece.length);
            editor.setDecorations(this.generatedMark, [new vscode.Range(document.positionAt(startOffset), insertAt)]);
          });
        },
        onMalformed: (error) => this.output.warn(`ignored a malformed message from the generation worker: ${messageText(error)}`),
      },
    );
    this.generations.add(job);
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `LSTM Lens: generating at the cursor`, cancellable: true },
      (_progress, token) => {
        token.onCancellationRequested(() => job.stop());
        return job.outcome;
      },
    );
    this.generations.delete(job);
    await edits;
    // Close the undo step.
    if (!first && !broken) await editor.edit(() => undefined, { undoStopBefore: false, undoStopAfter: true });
    if (!first) this.fadeGeneratedMark(editor);
    if (broken) void vscode.window.showWarningMessage('LSTM Lens: generation stopped because the editor changed.');
    if (outcome.kind !== 'finished') {
      this.output.error(`${name}: generation failed: ${messageText(outcome.message)}`);
      void vscode.window.showErrorMessage(`LSTM Lens: generation failed: ${messageText(outcome.message)}`);
    }
  }

  /** Removes the generated text's mark a couple of seconds after generation ends, or at the document's next edit. */
  private fadeGeneratedMark(editor: vscode.TextEditor): void {
    let timer: NodeJS.Timeout | undefined;
    const clear = (): void => {
      clearTimeout(timer);
      listener.dispose();
      if (!this.disposed) editor.setDecorations(this.generatedMark, []);
    };
    const listener = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === editor.document && e.contentChanges.length > 0) clear();
    });
    timer = setTimeout(clear, GENERATED_MARK_MS);
  }

  // ---- inspection and housekeeping ------------------------------------------------------------

  private inspect(): void {
    if (!this.panel) {
      this.panel = new InspectPanel(this.context, {
        chooseSequence: (source) => {
          this.sequenceSource = source;
          this.schedulePanelUpdate(0);
        },
        panelClosed: () => {
          this.panel = null;
          // Nothing to trace for a closed panel: the training worker stops tracing.
          for (const run of this.runs.values()) run.job.send({ type: 'watch', sequence: null, everyMs: 0 });
        },
      }, this.output);
    }
    this.panel.reveal();
    this.schedulePanelUpdate(0);
  }

  /** The document the panel shows: the active editor's, or the one it showed before. */
  private panelDocumentUri: string | null = null;

  private panelDocument(): vscode.TextDocument | null {
    const active = vscode.window.activeTextEditor?.document;
    if (active && active.uri.scheme !== 'output') {
      this.panelDocumentUri = active.uri.toString();
      return active;
    }
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.panelDocumentUri) ?? null;
  }

  private panelFollows(run: ActiveRun): boolean {
    return this.panel !== null && this.panelDocumentUri === run.documentUri;
  }

  private schedulePanelUpdate(delayMs = 400): void {
    if (!this.panel) return;
    if (this.followTimer) clearTimeout(this.followTimer);
    this.followTimer = setTimeout(() => {
      this.followTimer = null;
      this.updatePanel();
    }, delayMs);
  }

  /**
   * The text the panel traces: the text up to the cursor (never after it), the selection, or the
   * start of the file, with where it stands in the document so that the trace's heading names it
   * exactly; at most lstmLens.traceLength tokens of it are traced. "Selection" with nothing
   * selected traces up to the cursor and says so.
   */
  private sequenceFor(editor: vscode.TextEditor | undefined, document: vscode.TextDocument): { sequence: Sequence; placement: TracePlacement } {
    const maxTokens = this.traceLength();
    const length = document.offsetAt(document.lineAt(document.lineCount - 1).range.end);
    const plan = traceWindow({
      source: this.sequenceSource,
      length,
      cursor: editor ? document.offsetAt(editor.selection.active) : null,
      selection: editor && !editor.selection.isEmpty ? [document.offsetAt(editor.selection.start), document.offsetAt(editor.selection.end)] : null,
      maxTokens,
    });
    const text = document.getText(new vscode.Range(document.positionAt(plan.start), document.positionAt(plan.end)));
    const active = editor?.selection.active;
    const cursorOffset = active ? document.offsetAt(active) - plan.start : -1;
    return {
      sequence: {
        text,
        source: plan.fallbackName,
        keep: plan.keep,
        maxTokens,
        span: {
          kind: plan.kind,
          firstLine: document.positionAt(plan.start).line,
          clippedBefore: plan.clippedBefore,
          clippedAfter: plan.clippedAfter,
          cursor: active && cursorOffset >= 0 && cursorOffset <= text.length ? { offset: cursorOffset, line: active.line, column: active.character } : null,
        },
      },
      placement: { documentUri: document.uri.toString(), documentVersion: document.version, offset: plan.start },
    };
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

  private updatePanel(): void {
    const panel = this.panel;
    if (!panel) return;
    const document = this.panelDocument();
    if (!document) {
      panel.setTitle(null);
      panel.show({ type: 'noModel', file: null, reason: 'Open a file to see the model trained on it.' });
      return;
    }
    const uri = document.uri.toString();
    const name = displayName(document);
    panel.setTitle(name);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const { sequence, placement } = this.sequenceFor(editor, document);
    const run = this.runs.get(uri);
    if (run) {
      if (run.started) panel.show(modelMessage({ config: { vocab_size: run.started.vocabSize, ...run.started.shape }, settings: run.started.settings, vocab: { kind: run.started.settings.tokens, tokens: [] }, training: { step: run.step, loss: run.loss } }, name));
      run.watchPlacement = placement;
      run.job.send({ type: 'watch', sequence, everyMs: TRACE_EVERY_MS });
      return;
    }
    if (!this.store.has(uri)) {
      panel.show({ type: 'noModel', file: name, reason: `${name} has no model yet. Run “LSTM Lens: Train LSTM on This File” to train one and watch it learn here.` });
      return;
    }
    // A short job on the saved model; a newer request replaces an older one.
    void this.inspectJob?.kill();
    let traced = false;
    const job = new WorkerJob(
      this.workerScript,
      { type: 'inspect', checkpointPath: this.store.checkpointPath(uri), file: name, sequence, withModel: true },
      {
        onMessage: (m) => {
          if (m.type !== 'panel' || this.inspectJob !== job) return;
          if (m.message.type === 'trace') traced = true;
          else if (m.message.type === 'note' && !traced) panel.traceGone();
          panel.show(m.message, placement);
        },
        onMalformed: (error) => this.output.warn(`ignored a malformed message from the inspect worker: ${messageText(error)}`),
      },
    );
    this.inspectJob = job;
    void job.outcome.then((outcome) => {
      if (this.inspectJob === job) this.inspectJob = null;
      if (outcome.kind === 'failed' || (outcome.kind === 'crashed' && this.inspectJob === null)) {
        if (outcome.kind === 'failed') panel.show({ type: 'note', level: 'error', text: messageText(outcome.message) });
      }
    });
  }

  private trainingMessage(
    run: ActiveRun,
    started: Extract<WorkerToHost, { type: 'started' }>,
    running: boolean,
    tokensPerSecond: number | null,
    history: Extract<WorkerToHost, { type: 'progress' }>['history'],
  ): Extract<Parameters<InspectPanel['show']>[0], { type: 'training' }> {
    return {
      type: 'training',
      running,
      step: run.step,
      totalSteps: run.totalSteps,
      tokensPerSecond: tokensPerSecond ?? 0,
      clip: started.settings.clip,
      backend: run.backend === 'GPU' ? 'GPU' : 'CPU',
      reset: false,
      history,
    };
  }

  /** Hovering a token of a file with a model: the model's top predictions for what comes next. */
  private async hover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | null> {
    const uri = document.uri.toString();
    if (!this.store.has(uri)) return null;
    const range = document.getWordRangeAtPosition(position) ?? new vscode.Range(position, position.translate(0, 1));
    const end = document.offsetAt(range.end);
    const text = document.getText().slice(Math.max(0, end - 2000), end);
    let trace: TraceMessage | null = null;
    const job = new WorkerJob(
      this.workerScript,
      { type: 'inspect', checkpointPath: this.store.checkpointPath(uri), file: displayName(document), sequence: { text, source: 'the hover', keep: 'last' }, withModel: false },
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
    const last = t.predictions[t.T - 1];
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**LSTM Lens** · after \`${escapeMarkdown(tokenText(t.tokens[t.T - 1]))}\` the model expects:\n\n`);
    for (const p of last) md.appendMarkdown(`- \`${escapeMarkdown(tokenText(p.token))}\` ${(100 * p.p).toFixed(1)}%\n`);
    if ([t.tokens[t.T - 1], ...last.map((p) => p.token)].some((x) => /[ \n\t]/.test(x))) md.appendMarkdown('\n␣ a space, ↵ a new line, ⇥ a tab');
    return new vscode.Hover(md, range);
  }

  private async forget(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const uri = editor.document.uri.toString();
    const name = displayName(editor.document);
    if (!this.store.has(uri)) {
      void vscode.window.showInformationMessage(`LSTM Lens: ${name} has no saved model.`);
      return;
    }
    if (this.refuseForgetWhileInUse(uri, name)) return;
    const choice = await vscode.window.showWarningMessage(`Forget the model trained on ${name}? Its checkpoint is deleted.`, { modal: true }, 'Forget Model');
    if (choice !== 'Forget Model') return;
    // Asked again after the question: a run may have started meanwhile, here or in another window.
    if (this.refuseForgetWhileInUse(uri, name)) return;
    const got = acquireModelLock(this.store.checkpointPath(uri));
    if (!got.ok) {
      void vscode.window.showWarningMessage(`LSTM Lens: ${name} is training in ${lockOwnerText(got.owner)}; its model was not forgotten.`);
      return;
    }
    try {
      this.store.forget(uri);
    } catch (e) {
      void vscode.window.showErrorMessage(`LSTM Lens: the model of ${name} could not be deleted: ${messageText((e as Error).message)}`);
      return;
    } finally {
      got.lock.release();
    }
    this.output.info(`${name}: model forgotten`);
    this.refreshStatusBar();
  }

  /** A model that a run uses or is about to use (here: training, or asking whether to continue; or in another window) is not forgotten. */
  private refuseForgetWhileInUse(uri: string, name: string): boolean {
    let why: string | null = null;
    if (this.runs.has(uri)) why = `${name} is training; stop it first`;
    else if (this.starting.has(uri)) why = `a run on ${name} is starting (answer or dismiss its question first)`;
    else {
      const owner = this.store.lockedElsewhere(uri);
      if (owner) why = `${name} is training in ${lockOwnerText(owner)}`;
    }
    if (why) void vscode.window.showWarningMessage(`LSTM Lens: ${why}; its model was not forgotten.`);
    return why !== null;
  }

  /** "Forget Models of Missing Files": the models of files that no longer exist (and of untitled documents of closed windows). */
  private async forgetMissing(): Promise<void> {
    const missing = this.store.missingModels().filter((m) => !this.runs.has(m.entry.uri) && !this.starting.has(m.entry.uri));
    const unknown = this.store.list().filter((m) => m.entry === null).length;
    const unknownNote = unknown > 0 ? ` ${unknown} older model(s) do not record their file and are kept.` : '';
    if (missing.length === 0) {
      void vscode.window.showInformationMessage(`LSTM Lens: every saved model's file still exists.${unknownNote}`);
      return;
    }
    const names = missing.slice(0, 5).map((m) => printable(decodeURIComponent(m.entry.uri.replace(/^[a-z]+:(\/\/)?/, '')), 80));
    const choice = await vscode.window.showWarningMessage(
      `Forget ${missing.length} model(s) whose file no longer exists? ${names.join(', ')}${missing.length > 5 ? ', …' : ''}`,
      { modal: true, detail: `Their checkpoints are deleted.${unknownNote}` },
      'Forget Models',
    );
    if (choice !== 'Forget Models') return;
    // Checked again: a file may have come back, or a run started, while asking.
    const still = this.store.missingModels().filter((m) => missing.some((x) => x.key === m.key) && !this.runs.has(m.entry.uri) && !this.starting.has(m.entry.uri));
    const { removed, failed } = this.store.removeModels(still);
    this.output.info(`forgot ${removed} model(s) of missing files${failed.length > 0 ? `; ${failed.length} could not be deleted (${printable(failed[0].error)})` : ''}`);
    void vscode.window.showInformationMessage(`LSTM Lens: forgot ${removed} model(s) of missing files.${failed.length > 0 ? ` ${failed.length} could not be deleted (see the log).` : ''}`);
    this.refreshStatusBar();
  }

  private readSettingsOrExplain() {
    const config = vscode.workspace.getConfiguration(SECTION);
    try {
      return readSettings((key: SettingKey) => config.get(key));
    } catch (e) {
      if (!(e instanceof SettingsError || e instanceof InputError)) throw e;
      void vscode.window.showErrorMessage(`LSTM Lens: ${e.message}.`, 'Open Settings').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', SECTION);
      });
      return null;
    }
  }

  private statusText(run: ActiveRun, tokensPerSecond: number): void {
    const active = vscode.window.activeTextEditor?.document.uri.toString();
    if (active !== undefined && active !== run.documentUri && this.runs.has(active)) return;
    this.statusBar.text = `$(pulse) LSTM ${run.step}/${run.totalSteps} · loss ${run.loss?.toFixed(3) ?? '…'} · ${formatRate(tokensPerSecond)} tok/s · ${run.backend}`;
    this.statusBar.tooltip = `LSTM Lens is training on ${run.name} on the ${run.backend} (${run.backendWhy}). Click to inspect its states.`;
    this.statusBar.show();
  }

  private refreshStatusBar(): void {
    const editor = vscode.window.activeTextEditor;
    // Focus on the panel (no text editor): show the file the panel or the last run is about.
    const uri = editor?.document.uri.toString() ?? this.panelDocumentUri ?? this.lastRun?.documentUri;
    const run = (uri && this.runs.get(uri)) || (this.runs.size > 0 ? this.lastRun : null);
    if (run && this.runs.has(run.documentUri)) {
      this.statusBar.text = `$(pulse) LSTM ${run.step}/${run.totalSteps} · loss ${run.loss?.toFixed(3) ?? '…'} · ${run.backend}`;
      this.statusBar.tooltip = `LSTM Lens is training on ${run.name} on the ${run.backend} (${run.backendWhy}). Click to inspect its states.`;
      this.statusBar.show();
      return;
    }
    if (uri && this.store.has(uri)) {
      try {
        const summary = this.store.summary(uri);
        if (!summary) throw new Error('gone');
        this.statusBar.text = `$(check) LSTM loss ${summary.loss?.toFixed(3) ?? 'n/a'}`;
        this.statusBar.tooltip = `This file has a model: step ${summary.step}, ${summary.tokens}-level, vocabulary ${summary.vocabSize}. Click to inspect its states.`;
      } catch {
        this.statusBar.text = '$(warning) LSTM model unreadable';
        this.statusBar.tooltip = 'The saved model for this file cannot be read; train again to replace it.';
      }
      this.statusBar.show();
      return;
    }
    this.statusBar.hide();
  }
}

function escapeMarkdown(text: string): string {
  return text.replace(/[`\\]/g, (c) => `\\${c}`);
}

/** The document's name as it is stored in its checkpoint (messages use displayName, which escapes it). */
function rawName(document: vscode.TextDocument): string {
  return document.isUntitled ? document.uri.path : path.basename(document.uri.path);
}
