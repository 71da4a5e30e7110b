// A training run from its placement to its outcome: the job on the CPU or the GPU, its messages
// (log, status bar, progress notification, the panel), and Stop.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { printable } from '../engine/format';
import type { TrainRequest, WorkerToHost } from '../protocol/worker';
import { lockOwner, type ModelLock } from '../node/modelLock';
import type { ActiveRun, RunState } from './activeRun';
import { TRAINING_CONTEXT } from './commands';
import { GpuTrainingJob, type BackendEvent } from './gpuJob';
import type { Host } from './host';
import { lockOwnerText, messageText } from './names';
import type { PanelFollow } from './panelFollow';
import type { Placer } from './placement';
import { runEnd } from './runEnd';
import { reportOutcome } from './runOutcome';
import { NO_HISTORY, trainingMessage } from './runPanel';
import { openingLine, progressLine, startedLine } from './runText';
import { settingsLine, type SettingsValues } from './settings';
import type { StatusBar } from './statusBar';
import { WorkerJob, type JobOutcome } from './workerJob';

export class Runs {
  constructor(private readonly host: Host, private readonly placer: Placer, private readonly follow: PanelFollow, private readonly statusBar: StatusBar) {}

  /** Places and runs one training job, reporting its progress and outcome; undefined when cancelled before it started. */
  async execute(uri: string, name: string, request: TrainRequest, values: SettingsValues, selectionNote: string, lock: ModelLock): Promise<JobOutcome | undefined> {
    const { host } = this;
    const { text, settings, resumeFrom } = request;
    const placement = await this.placer.place(values.backend, request, name);
    if (!placement) return undefined;
    if (!lock.held()) {
      void vscode.window.showWarningMessage(`LSTM Lens: ${name} is now training in ${lockOwnerText(lockOwner(request.checkpointPath))}; nothing was started here.`);
      return undefined;
    }
    host.output.info(openingLine({
      name, selectionNote, backend: placement.backend, why: placement.why, chars: text.length, steps: settings.steps, learningRate: settings.learning_rate,
      resume: resumeFrom !== null, restartStream: request.restartStream === true, settingsLine: settingsLine(values),
    }));

    // A diagnostic of the extension itself, logged only when asked for (lstmLens.diagnostics).
    const delay = values.diagnostics ? monitorEventLoopDelay({ resolution: 10 }) : null;
    delay?.enable();
    const state: RunState = {
      documentUri: uri, name, step: 0, totalSteps: settings.steps, loss: null, started: null, watchPlacement: null,
      backend: placement.backend === 'webgl' ? 'GPU' : 'CPU', backendWhy: placement.why,
    };
    let reportProgress: (message: WorkerToHost) => void = () => undefined;
    // The handlers see the run's state (the job is added to it once made: the same object).
    const handlers = {
      onMessage: (message: WorkerToHost) => {
        if (host.disposed) return;
        this.onMessage(state, message);
        reportProgress(message);
      },
      onMalformed: (error: string) => {
        if (!host.disposed) host.output.warn(`ignored a malformed message from the training worker: ${messageText(error)}`);
      },
      onBackend: (event: BackendEvent) => {
        if (!host.disposed) this.onBackend(state, event);
      },
    };
    const job =
      placement.backend === 'webgl'
        ? new GpuTrainingJob(placement.panel, request, handlers, { workerSource: placement.workerSource, startOnCpu: (r, h) => new WorkerJob(host.workerScript, r, h), store: (r) => new WorkerJob(host.workerScript, r) })
        : new WorkerJob(host.workerScript, request, handlers);
    const run: ActiveRun = Object.assign(state, { job });
    host.runs.set(uri, run);
    host.lastRun = run;
    void vscode.commands.executeCommand('setContext', TRAINING_CONTEXT, true);
    this.statusBar.refresh();
    this.follow.schedule(0);

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
    host.runs.delete(uri);
    if (host.disposed) return outcome;
    void vscode.commands.executeCommand('setContext', TRAINING_CONTEXT, host.runs.size > 0);
    if (delay) {
      const ms = (ns: number): string => (ns / 1e6).toFixed(1);
      host.output.info(`diagnostics: the extension host's event loop delay during the run: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms`);
    }
    if (outcome.kind !== 'failed' || outcome.reason !== 'textShorter') reportOutcome(host, run, outcome);
    this.statusBar.refresh();
    const panel = this.follow.panel;
    if (panel && this.follow.document()?.uri.toString() === uri) {
      // The run's end: not running, at the step it ended on, with its average speed (the panel
      // reads "finished" when every step ran, "stopped" otherwise).
      if (run.started) panel.show({ ...trainingMessage(run, run.started, false, 0, NO_HISTORY), ...runEnd(run, outcome) });
      this.follow.schedule(0);
    }
    return outcome;
  }

  private onMessage(run: RunState, message: WorkerToHost): void {
    const { output } = this.host;
    const panel = this.follow.panel;
    switch (message.type) {
      case 'started':
        run.step = message.step;
        run.totalSteps = message.totalSteps;
        run.started = message;
        if (this.follow.follows(run)) this.follow.schedule(0);
        output.info(startedLine(run.name, message));
        if (message.engine) output.info(`${run.name}: training on ${message.engine}`);
        for (const note of message.notes) output.info(`${run.name}: ${messageText(note)}`);
        break;
      case 'progress': {
        run.step = message.step;
        run.loss = message.loss;
        this.statusBar.progress(run, message.tokensPerSecond);
        if (panel && this.follow.follows(run) && run.started) panel.show(trainingMessage(run, run.started, true, message.tokensPerSecond, message.history));
        const line = progressLine(run.name, message);
        if (line) output.info(line);
        break;
      }
      case 'saved':
        output.debug(`${run.name}: checkpoint saved at step ${message.step}`);
        break;
      case 'panel':
        if (panel && this.follow.follows(run) && run.watchPlacement) panel.show(message.message, run.watchPlacement);
        break;
      default:
        break;
    }
  }

  /** A run's backend was settled, or the GPU gave up and the run continues on the CPU. */
  private onBackend(run: RunState, event: BackendEvent): void {
    const { output } = this.host;
    if (event.backend === 'webgl') {
      run.backend = 'GPU';
      output.info(`${run.name}: training on the GPU: WebGL2 on ${printable(event.renderer)}, in the panel's ${event.thread === 'worker' ? 'Web Worker' : 'main thread (no OffscreenCanvas in its workers)'}`);
    } else {
      run.backend = 'CPU';
      run.backendWhy = `the GPU stopped: ${messageText(event.reason)}`;
      output.warn(`${run.name}: ${messageText(event.reason)}: training continues on the CPU from step ${event.fromStep}`);
      void vscode.window.showWarningMessage(`LSTM Lens: ${messageText(event.reason)}; training on ${run.name} continues on the CPU from step ${event.fromStep}.`);
    }
    this.statusBar.refresh();
  }

  /** Stop Training: the active file's run, or the only one. */
  stop(): void {
    const { runs } = this.host;
    const editor = vscode.window.activeTextEditor;
    const run = (editor && runs.get(editor.document.uri.toString())) ?? (runs.size === 1 ? [...runs.values()][0] : undefined);
    if (!run) {
      void vscode.window.showInformationMessage(runs.size === 0 ? 'LSTM Lens: nothing is training.' : 'LSTM Lens: switch to the file whose training you want to stop.');
      return;
    }
    run.job.stop();
  }

  /** Resolves when no training run is active. */
  async whenIdle(): Promise<void> {
    const { runs } = this.host;
    while (runs.size > 0) await Promise.all([...runs.values()].map((r) => r.job.outcome));
  }

  /** Asks every run to stop and waits (at most timeoutMs) for them to save and end. */
  async stopAll(timeoutMs: number): Promise<void> {
    const outcomes = [...this.host.runs.values()].map((run) => {
      run.job.stop();
      return run.job.outcome;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(outcomes), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }
}
