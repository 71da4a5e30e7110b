// The new editor commands used carelessly, in a real VS Code (code-server + headless Chromium):
// each asked in a file with no model says so in one line; Why This
// Prediction?'s colours, gone with a tab switched away, come back when asked again at the same
// place (they were toggled off unseen before); and Forget takes them away (they stayed, explaining
// a model that no longer exists). Nothing fails in the extension host's log.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, waitUntil, withVSCode } from './harness';
import { assertNothingFailed, editorColoured as coloured, SHORT_WORD_RUN } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FILE = 'fable.txt';
const OTHER = 'other.txt';
const TEXT = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
const SETTINGS = { ...SHORT_WORD_RUN, 'lstmLens.optimizer': 'adam', 'lstmLens.learningRate': 0.01, 'lstmLens.steps': 60 };
/** attribution.ts's violet. */
const ATTRIBUTION_COLOUR = /rgba\(94, 60, 200/;

test('in a file with no model the new commands say so; Why This Prediction? survives a tab switch and goes with Forget', { timeout: 500_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-hostile-'));
  fs.writeFileSync(path.join(workspace, FILE), TEXT);
  fs.writeFileSync(path.join(workspace, OTHER), 'another text, with no model.\n');
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-hostile' }, async (vscode) => {
      // A file with no model: a line each, not silence (with no editor the palette does not offer them).
      await vscode.openFile(OTHER);
      const asked: Array<[string, RegExp]> = [
        ['LSTM Lens: Show Surprise', /LSTM Lens: other\.txt has no model yet/],
        ['LSTM Lens: Show Gain over N-gram', /LSTM Lens: other\.txt has no model yet/],
        ['LSTM Lens: Why This Prediction?', /LSTM Lens: other\.txt has no model yet/],
        ['LSTM Lens: Export Training to PyTorch…', /LSTM Lens: other\.txt has no model to export/],
      ];
      for (const [command, answer] of asked) {
        const since = vscode.now();
        await vscode.focusEditor();
        await vscode.runCommand(command);
        await vscode.waitForNotification(answer, 60_000, since);
      }

      await vscode.openFile(FILE);
      let since = vscode.now();
      await vscode.runCommand('LSTM Lens: Train LSTM on This File');
      await vscode.waitForNotification(/Training finished/, 240_000, since);

      // Why This Prediction? at the end of the first line.
      await vscode.focusEditor();
      await vscode.page.keyboard.press('Control+Home');
      await vscode.page.keyboard.press('End');
      await vscode.runCommand('LSTM Lens: Why This Prediction?');
      const painted = (): Promise<number> => coloured(vscode, ATTRIBUTION_COLOUR);
      await waitUntil('earlier tokens coloured by attribution', async () => ((await painted()) >= 3 ? true : undefined), 90_000);

      // Another tab and back: VS Code dropped the colours with the hidden editor; asked again at the
      // same place (the cursor is kept), they come back instead of being toggled off unseen.
      await vscode.openFile(OTHER);
      await vscode.openFile(FILE);
      await waitUntil('the colours gone with the hidden editor', async () => ((await painted()) === 0 ? true : undefined), 30_000);
      await vscode.focusEditor();
      await vscode.runCommand('LSTM Lens: Why This Prediction?');
      await waitUntil('the colours back when asked again at the same place', async () => ((await painted()) >= 3 ? true : undefined), 90_000);

      // Forget: the colours of the forgotten model go.
      await vscode.focusEditor();
      since = vscode.now();
      await vscode.runCommand('LSTM Lens: Forget Model for This File');
      const dialog = vscode.page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 60_000 });
      await dialog.locator('.monaco-button', { hasText: 'Forget Model' }).first().click();
      await dialog.waitFor({ state: 'hidden', timeout: 30_000 });
      await waitUntil('the colours of the forgotten model gone', async () => ((await painted()) === 0 ? true : undefined), 30_000);
      // Asked again now: the file has no model, said in one line.
      await vscode.focusEditor();
      await vscode.runCommand('LSTM Lens: Why This Prediction?');
      await vscode.waitForNotification(/LSTM Lens: fable\.txt has no model yet/, 60_000, since);
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
