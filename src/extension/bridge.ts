// The bridge to PyTorch in VS Code: Export Training to PyTorch… (the current file's model and text
// become a folder that PyTorch continues the run in; its README opens) and Open PyTorch Model… (a
// state_dict and its vocabulary become a file's model, shown in the panel). The work runs in the
// bridge worker (bridgeJob.ts); the decisions and words are bridgeChoice.ts's.

import { copyFile, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { prepareText } from '../engine/text';
import { acquireModelLock } from '../node/modelLock';
import { BridgeError, runBridge } from './bridgeJob';
import { backupRefusal, bridgeMessage, exportFolderDecision, modelLine, replaceQuestion, textChoices } from './bridgeChoice';
import type { Host } from './host';
import { displayName, lockOwnerText, messageText } from './names';

export class Bridge {
  private readonly workerScript: string;

  constructor(private readonly host: Host, private readonly showModel: () => void, private readonly changed: () => void) {
    this.workerScript = path.join(host.context.extensionPath, 'dist', 'bridge-worker.js');
  }

  /** Export Training to PyTorch…: asks for a folder, writes it, opens its README. */
  async exportTraining(): Promise<void> {
    const { host } = this;
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lens: open the file whose model to export first.');
      return;
    }
    const document = editor.document;
    const uri = document.uri.toString();
    const name = displayName(document);
    let summary;
    try {
      summary = host.store.summary(uri);
    } catch (e) {
      void vscode.window.showErrorMessage(`LSTM Lens: the model of ${name} cannot be read: ${messageText((e as Error).message)}`);
      return;
    }
    if (!summary) {
      void vscode.window.showErrorMessage(`LSTM Lens: ${name} has no model to export. Train one first (LSTM Lens: Train LSTM on This File).`);
      return;
    }
    // The text as Train takes it: the selection, if any, else the whole file.
    const selection = editor.selection;
    let text: string;
    try {
      text = prepareText(selection.isEmpty ? document.getText() : document.getText(selection)).text;
    } catch (e) {
      void vscode.window.showErrorMessage(`LSTM Lens: cannot export ${name}${selection.isEmpty ? '' : ' (the selection)'}: ${messageText((e as Error).message)}.`);
      return;
    }
    const out = await this.askFolder(document, name);
    if (!out) return;
    const rawName = document.isUntitled ? document.uri.path : path.basename(document.uri.path);
    const answer = await this.work(`exporting ${name} to PyTorch`, `cannot export ${name}`, {
      type: 'export',
      checkpoint: host.store.checkpointPath(uri),
      checkpointName: `${rawName}.lstm.safetensors`,
      text,
      textName: rawName,
      out,
    });
    if (!answer || answer.type !== 'exported') return;
    for (const note of answer.notes) host.output.info(`${name}: ${messageText(note)}`);
    host.output.info(`${name}: exported step ${answer.step} of ${answer.totalSteps} (${answer.tokens} tokens, batch ${answer.batchSize}) to ${messageText(answer.dir)}: python3 train.py --steps N continues it there`);
    const readme = vscode.Uri.file(path.join(answer.dir, 'README.md'));
    try {
      await vscode.commands.executeCommand('markdown.showPreview', readme);
    } catch {
      await vscode.window.showTextDocument(readme);
    }
    void vscode.window.showInformationMessage(`LSTM Lens: exported ${name} at step ${answer.step} to ${messageText(answer.dir)}. Continue it there with python3 train.py --steps N (its README says how, on one GPU or many).`);
  }

  /** A folder for the export: an empty or new one, or a new folder inside a non-empty one (asked); undefined: cancelled. */
  private async askFolder(document: vscode.TextDocument, name: string): Promise<string | undefined> {
    const near = document.uri.scheme === 'file' ? vscode.Uri.file(path.dirname(document.uri.fsPath)) : vscode.workspace.workspaceFolders?.[0]?.uri;
    for (;;) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        canSelectMany: false,
        openLabel: 'Export Here',
        title: `LSTM Lens: a folder for ${name}'s training in PyTorch (an empty one, or one to make a new folder in)`,
        ...(near ? { defaultUri: near } : {}),
      });
      if (!picked || picked.length === 0) return undefined;
      const decision = exportFolderDecision(picked[0].fsPath, name);
      if (decision.kind === 'write') return decision.dir;
      const inside = decision.subfolder === null ? null : `Export into ${decision.subfolder}`;
      const another = 'Choose Another Folder';
      const choice = await vscode.window.showWarningMessage(`LSTM Lens: ${decision.message}`, { modal: true }, ...(inside ? [inside] : []), another);
      if (choice === undefined) return undefined;
      if (choice === inside && decision.subfolder !== null) return path.join(picked[0].fsPath, decision.subfolder);
    }
  }

  /** Open PyTorch Model…: a state_dict and its vocabulary become the model of the current file or of a text the user picks. */
  async openPyTorchModel(): Promise<void> {
    const { host } = this;
    const state = await this.pickFile('Open State', 'LSTM Lens: the PyTorch model: its state_dict, saved with safetensors', { 'PyTorch state_dict (safetensors)': ['safetensors'] });
    if (!state) return;
    const vocab = await this.pickFile('Open Vocabulary', 'LSTM Lens: its vocabulary, {"kind": "char" | "word", "tokens": [...]} (a token\'s id is its index)', { 'Vocabulary (JSON)': ['json'] }, vscode.Uri.file(path.dirname(state)));
    if (!vocab) return;
    const document = await this.pickDocument();
    if (!document) return;
    const uri = document.uri.toString();
    const name = displayName(document);
    if (host.runs.has(uri) || host.starting.has(uri)) {
      void vscode.window.showWarningMessage(`LSTM Lens: ${name} is training (or starting to); stop it first, then open the PyTorch model.`);
      return;
    }
    host.starting.add(uri);
    const checkpointPath = host.store.prepare(uri);
    const got = acquireModelLock(checkpointPath);
    if (!got.ok) {
      host.starting.delete(uri);
      void vscode.window.showWarningMessage(`LSTM Lens: ${name} is training in ${lockOwnerText(got.owner)}. Stop it there first.`);
      return;
    }
    try {
      if (host.store.has(uri) && !(await this.saveOldModel(document, name, checkpointPath, [state, vocab]))) return;
      const answer = await this.work(`opening the PyTorch model for ${name}`, `cannot open ${path.basename(state)} as a model`, { type: 'import', state, vocab, out: checkpointPath });
      if (!answer || answer.type !== 'imported') return;
      host.store.dropTimeLine(uri);
      const line = modelLine(answer.config, answer.parameters);
      host.output.info(`${name}: opened the PyTorch model ${messageText(state)} (vocabulary ${messageText(vocab)}): ${line}; step 0, no training history${answer.converted.length ? `; ${answer.converted.length} tensors converted to float32` : ''}`);
      void vscode.window.showInformationMessage(`LSTM Lens: ${name} now has the PyTorch model: ${line}. It has no training history; Train LSTM on This File continues it.`);
    } finally {
      got.lock.release();
      host.starting.delete(uri);
    }
    this.changed();
    await vscode.window.showTextDocument(document, { preview: false });
    this.showModel();
  }

  private async pickFile(openLabel: string, title: string, filters: Record<string, string[]>, defaultUri?: vscode.Uri): Promise<string | undefined> {
    const near = defaultUri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: false, canSelectMany: false, openLabel, title, filters, ...(near ? { defaultUri: near } : {}) });
    return picked && picked.length > 0 ? picked[0].fsPath : undefined;
  }

  /** The document the model goes with: the active file, or a text file the user picks (opened). */
  private async pickDocument(): Promise<vscode.TextDocument | undefined> {
    // The active editor's text; else, while the panel (a webview) is active, the one text in view.
    const visible = vscode.window.visibleTextEditors.filter((e) => e.document.uri.scheme !== 'output');
    const active = vscode.window.activeTextEditor?.document ?? (visible.length === 1 ? visible[0].document : undefined);
    const current = active && active.uri.scheme !== 'output' ? active : undefined;
    const choices = textChoices(current ? { name: displayName(current), hasModel: this.host.store.has(current.uri.toString()) } : null);
    const picked = choices.length === 1 ? choices[0] : await vscode.window.showQuickPick(choices, { title: 'LSTM Lens: which text does the PyTorch model read?', placeHolder: 'The model becomes the model of this file' });
    if (!picked) return undefined;
    if (picked.value === 'current') return current;
    const file = await this.pickFile('Open Text', 'LSTM Lens: a text for the PyTorch model to read', {});
    return file ? vscode.workspace.openTextDocument(vscode.Uri.file(file)) : undefined;
  }

  /** Asks before replacing a model, and saves the old one where the user says; false: cancelled (nothing changed). */
  private async saveOldModel(document: vscode.TextDocument, name: string, checkpointPath: string, reading: string[]): Promise<boolean> {
    let old;
    try {
      old = this.host.store.summary(document.uri.toString());
    } catch {
      old = null;
    }
    const q = replaceQuestion(name, old ?? { step: 0, loss: null });
    const save = 'Save Old Model and Replace';
    const choice = await vscode.window.showWarningMessage(q.message, { modal: true, detail: q.detail }, save);
    if (choice !== save) return false;
    const folder = document.uri.scheme === 'file' ? path.dirname(document.uri.fsPath) : (vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(reading[0]));
    for (;;) {
      const target = await vscode.window.showSaveDialog({ title: `LSTM Lens: save the old model of ${name}`, saveLabel: 'Save Old Model', defaultUri: vscode.Uri.file(path.join(folder, q.saveAs)), filters: { 'LSTM Lens checkpoint': ['safetensors'] } });
      if (!target) return false;
      const refusal = backupRefusal(target.fsPath, [checkpointPath, ...reading]);
      if (refusal) {
        void vscode.window.showWarningMessage(`LSTM Lens: ${refusal}.`);
        continue;
      }
      // Whole or not at all: a copy beside the target, then renamed onto it.
      const temporary = path.join(path.dirname(target.fsPath), `.${path.basename(target.fsPath)}.${process.pid}.tmp`);
      try {
        await copyFile(checkpointPath, temporary);
        await rename(temporary, target.fsPath);
      } catch (e) {
        await rm(temporary, { force: true });
        void vscode.window.showErrorMessage(`LSTM Lens: the old model could not be saved to ${messageText(target.fsPath)} (${messageText((e as Error).message)}); nothing was replaced.`);
        return false;
      }
      this.host.output.info(`${name}: the old model (step ${old?.step ?? '?'}) is saved as ${messageText(target.fsPath)}`);
      return true;
    }
  }

  /** One request in the bridge worker, with a notification while it works; a refusal is said in one line. */
  private async work(what: string, failure: string, request: Parameters<typeof runBridge>[1]): Promise<Awaited<ReturnType<typeof runBridge>> | undefined> {
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `LSTM Lens: ${what}…` }, () => runBridge(this.workerScript, request));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const input = e instanceof BridgeError && e.input;
      if (input) this.host.output.warn(`${failure}: ${messageText(message)}`);
      else this.host.output.error(`${failure}: ${messageText(e instanceof Error ? (e.stack ?? message) : message)}`);
      void vscode.window.showErrorMessage(`LSTM Lens: ${failure}: ${bridgeMessage(message)}`);
      return undefined;
    }
  }
}
