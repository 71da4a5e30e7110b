// Train LSTM on This File: the model's lock, a snapshot of the text, continue or start afresh when
// the file has a model, and on a text shorter than the one trained on, read it from its start or
// start afresh. The run itself is runs.ts's.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { prepareText } from '../engine/text';
import type { TrainRequest } from '../protocol/worker';
import { acquireModelLock, type ModelLock } from '../node/modelLock';
import type { Host } from './host';
import { displayName, lockOwnerText, messageText } from './names';
import type { Runs } from './runs';
import { continueDetail } from './runText';
import { trainingPlan } from './settings';

export class RunStart {
  constructor(private readonly host: Host, private readonly runs: Runs) {}

  async train(): Promise<void> {
    const { host } = this;
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lens: open a file to train on first.');
      return;
    }
    const document = editor.document;
    const uri = document.uri.toString();
    const name = displayName(document);
    const running = host.runs.get(uri);
    if (running) {
      const choice = await vscode.window.showInformationMessage(`LSTM Lens is already training on ${name} (step ${running.step}/${running.totalSteps}).`, 'Stop Training');
      if (choice) running.job.stop();
      return;
    }
    if (host.starting.has(uri)) {
      void vscode.window.showInformationMessage(`LSTM Lens is already starting a run on ${name}.`);
      return;
    }
    host.starting.add(uri);
    let lock: ModelLock | null = null;
    try {
      lock = this.lockModel(uri, name);
      if (lock) {
        // Refreshed from now on (a question left open for minutes must not let the lock go stale).
        lock.keepAlive(() => {
          if (host.disposed) return;
          const run = host.runs.get(uri);
          host.output.warn(`${name}: another window took over this model's lock (this window did not refresh it for minutes)${run ? '; this run stops so that the two do not overwrite each other' : ''}`);
          run?.job.stop();
        });
        await this.start(editor, document, uri, name, lock);
      }
    } catch (e) {
      if (host.disposed) return;
      host.output.error(`${name}: training could not start: ${messageText(e instanceof Error ? (e.stack ?? e.message) : String(e))}`);
      void vscode.window.showErrorMessage(`LSTM Lens: training on ${name} could not start: ${messageText(e instanceof Error ? e.message : String(e))}`);
    } finally {
      lock?.release();
      host.starting.delete(uri);
    }
  }

  /**
   * Takes the model's lock for a run (held while asking, training and saving): another window that
   * trains the same file has it, and this one says so and does not start. Null: not taken (said).
   */
  private lockModel(uri: string, name: string): ModelLock | null {
    const checkpointPath = this.host.store.prepare(uri);
    const got = acquireModelLock(checkpointPath);
    if (got.ok) return got.lock;
    const who = lockOwnerText(got.owner);
    this.host.output.info(`${name}: not started: its model is being trained in ${who}`);
    void vscode.window.showWarningMessage(`LSTM Lens: ${name} is training in ${who}. Stop it there first, or wait for it to finish.`);
    return null;
  }

  private async start(editor: vscode.TextEditor, document: vscode.TextDocument, uri: string, name: string, lock: ModelLock): Promise<void> {
    const { host } = this;
    const { store } = host;
    const values = host.readSettingsOrExplain();
    if (!values) return;

    // A snapshot of the text (the selection, if any), taken now: later edits do not disturb the run.
    const selection = editor.selection;
    const raw = selection.isEmpty ? document.getText() : document.getText(selection);
    let text: string;
    try {
      const prepared = prepareText(raw);
      text = prepared.text;
      for (const note of prepared.notes) host.output.info(`${name}: ${note}`);
    } catch (e) {
      void vscode.window.showErrorMessage(`LSTM Lens: cannot train on ${name}${selection.isEmpty ? '' : ' (the selection)'}: ${(e as Error).message}.`);
      return;
    }

    let resumeFrom: string | null = null;
    if (store.has(uri)) {
      const asked = store.identity(uri);
      const decision = await this.askContinueOrRestart(uri, name, text, values.learningRate);
      if (decision === undefined || host.disposed) return;
      // The model asked about must be the one continued: never a deleted or replaced one.
      if (store.identity(uri) !== asked) {
        void vscode.window.showWarningMessage(`LSTM Lens: the saved model of ${name} was ${store.has(uri) ? 'replaced' : 'deleted'} while LSTM Lens was asking; nothing was started. Train again to choose anew.`);
        return;
      }
      if (decision === 'continue') resumeFrom = store.checkpointPath(uri);
    }
    const { shape, settings, threads } = trainingPlan(values);
    const checkpointPath = store.prepare(uri);
    let request: TrainRequest = { type: 'train', text, sourceName: rawName(document), shape, settings, threads, resumeFrom, checkpointPath, saveEverySteps: 50, saveEveryMs: 30_000, progressEveryMs: 200, timing: null };
    for (;;) {
      const outcome = await this.runs.execute(uri, name, request, values, selection.isEmpty ? '' : ' (selection)', lock);
      if (!outcome || outcome.kind !== 'failed' || outcome.reason !== 'textShorter' || host.disposed) return;
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
      if (store.identity(uri) === null && request.resumeFrom) return; // deleted meanwhile (Forget refuses while starting; another program may not)
    }
  }

  private async askContinueOrRestart(uri: string, name: string, text: string, learningRate: number): Promise<'continue' | 'restart' | undefined> {
    let detail: string;
    try {
      // The header alone (a big model's tensors are never read on this thread).
      const summary = this.host.store.summary(uri);
      if (!summary) throw new Error('it was deleted');
      detail = continueDetail(summary, text, learningRate);
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
}

/** The document's name as it is stored in its checkpoint (messages use displayName, which escapes it). */
function rawName(document: vscode.TextDocument): string {
  return document.isUntitled ? document.uri.path : path.basename(document.uri.path);
}
