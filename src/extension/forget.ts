// The model folder's housekeeping: Forget Model for This File, Forget Models of Missing Files, and
// the cleanup at activation. A model that a run uses, here or in another window, is not forgotten.

import * as vscode from 'vscode';
import { printable } from '../engine/format';
import { acquireModelLock } from '../node/modelLock';
import type { Host } from './host';
import { displayName, lockOwnerText, messageText } from './names';

export class Forget {
  /** changed: the file's model went away (the status bar is refreshed). */
  constructor(private readonly host: Host, private readonly changed: () => void) {}

  /**
   * Cleanup at activation: temporary files left by interrupted saves, and the models of untitled
   * documents of windows that have closed (a later Untitled-1 is another document). It never fails
   * activation: what cannot be removed (read-only storage, another user's files) is logged and left.
   */
  housekeeping(): void {
    const { output, store } = this.host;
    try {
      const { removed, failed } = store.removeTemporaryFiles();
      if (removed > 0) output.info(`removed ${removed} unfinished checkpoint file(s) left by an interrupted save`);
      if (failed.length > 0) {
        output.warn(`could not remove ${failed.length} unfinished checkpoint file(s) left by an interrupted save (${failed.slice(0, 3).map((f) => `${printable(f.name)}: ${printable(f.error)}`).join('; ')}${failed.length > 3 ? '; …' : ''}); they are left in ${printable(store.folder)}`);
      }
      const untitled = store.missingModels().filter((m) => m.entry.uri.startsWith('untitled:'));
      if (untitled.length > 0) {
        const gone = store.removeModels(untitled);
        if (gone.removed > 0) output.info(`removed ${gone.removed} model(s) of untitled documents of closed windows`);
        if (gone.failed.length > 0) output.warn(`could not remove ${gone.failed.length} model(s) of untitled documents of closed windows (${printable(gone.failed[0].error)})`);
      }
    } catch (e) {
      output.warn(`cleanup of the model folder failed and was skipped: ${messageText(e instanceof Error ? e.message : String(e))}`);
    }
  }

  async forget(): Promise<void> {
    const { store } = this.host;
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    const uri = editor.document.uri.toString();
    const name = displayName(editor.document);
    if (!store.has(uri)) {
      void vscode.window.showInformationMessage(`LSTM Lens: ${name} has no saved model.`);
      return;
    }
    if (this.refuseWhileInUse(uri, name)) return;
    const choice = await vscode.window.showWarningMessage(`Forget the model trained on ${name}? Its checkpoint is deleted.`, { modal: true }, 'Forget Model');
    if (choice !== 'Forget Model') return;
    // Asked again after the question: a run may have started meanwhile, here or in another window.
    if (this.refuseWhileInUse(uri, name)) return;
    const got = acquireModelLock(store.checkpointPath(uri));
    if (!got.ok) {
      void vscode.window.showWarningMessage(`LSTM Lens: ${name} is training in ${lockOwnerText(got.owner)}; its model was not forgotten.`);
      return;
    }
    try {
      store.forget(uri);
    } catch (e) {
      void vscode.window.showErrorMessage(`LSTM Lens: the model of ${name} could not be deleted: ${messageText((e as Error).message)}`);
      return;
    } finally {
      got.lock.release();
    }
    this.host.output.info(`${name}: model forgotten`);
    this.changed();
  }

  /** A model that a run uses or is about to use (here: training, or asking whether to continue; or in another window) is not forgotten. */
  private refuseWhileInUse(uri: string, name: string): boolean {
    const { runs, starting, store } = this.host;
    let why: string | null = null;
    if (runs.has(uri)) why = `${name} is training; stop it first`;
    else if (starting.has(uri)) why = `a run on ${name} is starting (answer or dismiss its question first)`;
    else {
      const owner = store.lockedElsewhere(uri);
      if (owner) why = `${name} is training in ${lockOwnerText(owner)}`;
    }
    if (why) void vscode.window.showWarningMessage(`LSTM Lens: ${why}; its model was not forgotten.`);
    return why !== null;
  }

  /** "Forget Models of Missing Files": the models of files that no longer exist (and of untitled documents of closed windows). */
  async forgetMissing(): Promise<void> {
    const { runs, starting, store, output } = this.host;
    const missing = store.missingModels().filter((m) => !runs.has(m.entry.uri) && !starting.has(m.entry.uri));
    const unknown = store.list().filter((m) => m.entry === null).length;
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
    const still = store.missingModels().filter((m) => missing.some((x) => x.key === m.key) && !runs.has(m.entry.uri) && !starting.has(m.entry.uri));
    const { removed, failed } = store.removeModels(still);
    output.info(`forgot ${removed} model(s) of missing files${failed.length > 0 ? `; ${failed.length} could not be deleted (${printable(failed[0].error)})` : ''}`);
    void vscode.window.showInformationMessage(`LSTM Lens: forgot ${removed} model(s) of missing files.${failed.length > 0 ? ` ${failed.length} could not be deleted (see the log).` : ''}`);
    this.changed();
  }
}
