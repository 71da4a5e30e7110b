// What the extension's pieces share: the output channel, the model store, the worker's script, the
// runs of this window, and whether the extension is going away.

import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { InputError } from '../engine/config';
import type { ActiveRun } from './activeRun';
import { ModelStore } from './modelStore';
import { readSettings, SECTION, SettingsError, type SettingKey, type SettingsValues } from './settings';

export class Host {
  readonly output = vscode.window.createOutputChannel('LSTM Lens', { log: true });
  readonly store: ModelStore;
  /** dist/worker.js: every training, generation and inspection job runs it in a worker thread. */
  readonly workerScript: string;
  /** This window's runs, by document URI. */
  readonly runs = new Map<string, ActiveRun>();
  /** Files whose run is being prepared (asked about, timed): a second Train waits for the first. */
  readonly starting = new Set<string>();
  /** The run started last (the status bar shows it when the active file has none). */
  lastRun: ActiveRun | null = null;
  /** After dispose, late messages of runs that are ending are dropped (the output channel is closed). */
  disposed = false;

  constructor(readonly context: vscode.ExtensionContext) {
    this.workerScript = path.join(context.extensionPath, 'dist', 'worker.js');
    // Untitled documents are keyed by this activation (vscode.env.sessionId survives a reload of the
    // window, and Untitled-1 of the reloaded window is a new document): models of untitled
    // documents never outlive the extension host that trained them.
    this.store = new ModelStore(context.globalStorageUri.fsPath, { id: randomUUID() });
  }

  /** The settings, or null after saying in a notification which one is wrong. */
  readSettingsOrExplain(): SettingsValues | null {
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
}
