// Generate Text at Cursor: the model primed with the text before the cursor streams its
// continuation into the editor as one undo step, marked for a moment; cancellable.

import * as vscode from 'vscode';
import type { UnitsClamp } from '../protocol/units';
import { COMMANDS } from './commands';
import type { Host } from './host';
import { displayName, messageText } from './names';
import { WorkerJob } from './workerJob';

/** Prime generation with at most this much of the text before the cursor. */
const MAX_PRIME_CHARS = 20000;
/** How long generated text stays marked in the editor after generation ends. */
const GENERATED_MARK_MS = 2500;

/** A command that needs the file's model, run on a file without one: says so, with a button that trains one. */
export async function offerTraining(name: string): Promise<void> {
  const choice = await vscode.window.showInformationMessage(`LSTM Lens: ${name} has no model yet. Train one on it first.`, 'Train LSTM on This File');
  if (choice) void vscode.commands.executeCommand(COMMANDS.train.id);
}

export class Generation implements vscode.Disposable {
  /** Generated text, marked briefly in the editor: until GENERATED_MARK_MS after the last token, or the next edit. */
  private readonly mark = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
    borderRadius: '2px',
  });
  private readonly jobs = new Set<WorkerJob>();

  /** clamps: the units Generate holds at a constant (the Units tab's clamp, while on). */
  constructor(private readonly host: Host, private readonly clamps: () => UnitsClamp[] = () => []) {}

  async generate(): Promise<void> {
    const { host } = this;
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('LSTM Lens: open a file and place the cursor where the text should continue.');
      return;
    }
    const document = editor.document;
    const uri = document.uri.toString();
    const name = displayName(document);
    if (!host.store.has(uri)) {
      await offerTraining(name);
      return;
    }
    const values = host.readSettingsOrExplain();
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
      host.workerScript,
      { type: 'generate', checkpointPath: host.store.checkpointPath(uri), prime, length: values.length, temperature: values.temperature, topK: values.topK, seed: (Date.now() >>> 0), clamps: this.clamps() },
      {
        onMessage: (message) => {
          if (message.type === 'primed' && message.unknown > 0) {
            host.output.info(`${name}: ${message.unknown} token(s) before the cursor are not in the model's vocabulary; they were ${message.read > 0 ? 'read as <unk> or skipped' : 'skipped'}`);
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
            editor.setDecorations(this.mark, [new vscode.Range(document.positionAt(startOffset), insertAt)]);
          });
        },
        onMalformed: (error) => host.output.warn(`ignored a malformed message from the generation worker: ${messageText(error)}`),
      },
    );
    this.jobs.add(job);
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `LSTM Lens: generating at the cursor`, cancellable: true },
      (_progress, token) => {
        token.onCancellationRequested(() => job.stop());
        return job.outcome;
      },
    );
    this.jobs.delete(job);
    await edits;
    // Close the undo step.
    if (!first && !broken) await editor.edit(() => undefined, { undoStopBefore: false, undoStopAfter: true });
    if (!first) this.fadeMark(editor);
    if (broken) void vscode.window.showWarningMessage('LSTM Lens: generation stopped because the editor changed.');
    if (outcome.kind !== 'finished') {
      host.output.error(`${name}: generation failed: ${messageText(outcome.message)}`);
      void vscode.window.showErrorMessage(`LSTM Lens: generation failed: ${messageText(outcome.message)}`);
    }
  }

  /** Removes the generated text's mark a couple of seconds after generation ends, or at the document's next edit. */
  private fadeMark(editor: vscode.TextEditor): void {
    let timer: NodeJS.Timeout | undefined;
    const clear = (): void => {
      clearTimeout(timer);
      listener.dispose();
      if (!this.host.disposed) editor.setDecorations(this.mark, []);
    };
    const listener = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === editor.document && e.contentChanges.length > 0) clear();
    });
    timer = setTimeout(clear, GENERATED_MARK_MS);
  }

  dispose(): void {
    for (const job of this.jobs) void job.kill();
    this.mark.dispose();
  }
}
