// The extension host's composition root: activate makes the pieces and wires them to VS Code's
// commands and events; deactivate stops the runs. Each piece has one concern:
//   host.ts         what they share (output channel, model store, runs, the worker's script)
//   runStart.ts     Train: lock, text snapshot, continue or start afresh   runs.ts  a run: job, messages, Stop
//   placement.ts    CPU or GPU (decided in autoChoice.ts)                  runOutcome.ts  how a run's end is told
//   generation.ts   Generate Text at Cursor                                hover.ts  the next-token hover
//   panelFollow.ts  the Inspect States panel following the editor (what to trace: traceWindow.ts)
//   statusBar.ts    the status bar item (its words: statusText.ts)       forget.ts  the model folder's housekeeping
//   units.ts        Find Units Active in Selection and the panel's Units tab (its worker: unitsJob.ts)
//   bridge.ts       Export Training to PyTorch… and Open PyTorch Model… (its worker: bridgeJob.ts)
//   surprise.ts     Show Surprise and Show Gain over N-gram      attribution.ts  Why This Prediction?
//   snapshots.ts    the time line's chosen snapshot             surprisePanel.ts  the panel's time line and baseline

import * as vscode from 'vscode';
import { Bridge } from './bridge';
import { COMMANDS, type CommandKey } from './commands';
import { Forget } from './forget';
import { Generation } from './generation';
import { Host } from './host';
import { hoverProvider } from './hover';
import { PanelFollow } from './panelFollow';
import { Placer } from './placement';
import { Runs } from './runs';
import { RunStart } from './runStart';
import { StatusBar } from './statusBar';
import { Units } from './units';
import { Attribution } from './attribution';
import { TimeLine } from './snapshots';
import { Surprise } from './surprise';
import { Analyses } from './surpriseAnalysis';
import { SurprisePanel } from './surprisePanel';

/** What activate() returns to other extensions and to the integration tests. */
export interface LstmLensApi {
  /** Whether the document has a saved model. */
  hasModel(documentUri: vscode.Uri): boolean;
  /** Resolves when no training run is active. */
  whenIdle(): Promise<void>;
}

/** The running extension's runs, for deactivate(). */
let active: Runs | null = null;

export function activate(context: vscode.ExtensionContext): LstmLensApi {
  const host = new Host(context);
  const follow = new PanelFollow(host);
  const statusBar = new StatusBar(host, () => follow.documentUri);
  const runs = new Runs(host, new Placer(host, follow, statusBar), follow, statusBar);
  const start = new RunStart(host, runs);
  const units = new Units(host, follow);
  const generation = new Generation(host, () => units.generationClamps());
  const forget = new Forget(host, () => statusBar.refresh());
  forget.housekeeping();
  const bridge = new Bridge(host, () => follow.open(), () => statusBar.refresh());
  const timeLine = new TimeLine(host.store);
  const analyses = new Analyses(host);
  const surprise = new Surprise(host, analyses, timeLine);
  const attribution = new Attribution(host, analyses, timeLine, (message) => follow.panel?.show(message));
  new SurprisePanel(host, follow, timeLine, analyses, attribution);

  const commands: Record<CommandKey, () => unknown> = {
    train: () => start.train(),
    stop: () => runs.stop(),
    generate: () => generation.generate(),
    inspect: () => follow.open(),
    explainStep: () => follow.explainAtCursor(),
    findUnits: () => units.find(),
    showSurprise: () => surprise.toggle('surprise'),
    showGain: () => surprise.toggle('gain'),
    whyPrediction: () => attribution.atCursor(),
    exportTraining: () => bridge.exportTraining(),
    openPyTorchModel: () => bridge.openPyTorchModel(),
    forget: () => forget.forget(),
    forgetMissing: () => forget.forgetMissing(),
  };
  const disposables: vscode.Disposable[] = [
    host.output,
    statusBar,
    generation,
    units,
    surprise,
    attribution,
    analyses,
    ...Object.entries(commands).map(([key, run]) => vscode.commands.registerCommand(COMMANDS[key as CommandKey].id, run)),
    vscode.window.onDidChangeActiveTextEditor(() => {
      statusBar.refresh();
      follow.schedule();
    }),
    vscode.window.onDidChangeTextEditorSelection((e) => {
      if (e.textEditor === vscode.window.activeTextEditor) follow.schedule();
    }),
    vscode.languages.registerHoverProvider({ pattern: '**' }, hoverProvider(host)),
  ];
  statusBar.refresh();
  context.subscriptions.push({
    dispose() {
      host.disposed = true;
      // Runs first: a GPU run whose panel closes after it was asked to stop ends there, rather than
      // continuing on the CPU while the window goes away.
      for (const run of host.runs.values()) run.job.stop();
      follow.dispose();
      for (const d of disposables) d.dispose();
    },
  });
  active = runs;
  return {
    hasModel: (uri) => host.store.has(uri.toString()),
    whenIdle: () => runs.whenIdle(),
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
