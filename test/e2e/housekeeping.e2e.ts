// The model store's housekeeping in a real VS Code (code-server + headless Chromium):
// - Activation with a leftover temporary file it cannot delete (here a folder with something in
//   it, as undeletable as another user's file even for root): the extension activates, logs it,
//   and trains.
// - Forget pressed while Train asks "Continue training / Start afresh" is refused, and Continue
//   then continues the very model it asked about.
// - "Forget Models of Missing Files" deletes the model of a file deleted from disk, and only it.
// - An untitled document of a later session (after a window reload) does not inherit the model of
//   the earlier session's Untitled-1: it trains afresh, unasked.
// Commands are bound to keys, as in interruptions.e2e.ts. Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed, extensionId, lensLog } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const KEYS = {
  train: { press: 'Control+Alt+Shift+F10', key: 'ctrl+alt+shift+f10', command: 'lstmLens.train' },
  forget: { press: 'Control+Alt+Shift+F6', key: 'ctrl+alt+shift+f6', command: 'lstmLens.forget' },
  reload: { press: 'Control+Alt+Shift+F8', key: 'ctrl+alt+shift+f8', command: 'workbench.action.reloadWindow' },
} as const;
const KEYBINDINGS = Object.values(KEYS).map(({ key, command }) => ({ key, command }));
const SETTINGS = { 'lstmLens.backend': 'cpu', 'lstmLens.hiddenSize': 16, 'lstmLens.steps': 60, 'lstmLens.sequenceLength': 16, 'lstmLens.batchSize': 4 };
const FABLE = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');

function makeWorkspace(files: Record<string, string>): string {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-housekeeping-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(workspace, name), text);
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
  return workspace;
}

const press = (vscode: VSCode, what: keyof typeof KEYS): Promise<void> => vscode.page.keyboard.press(KEYS[what].press);
const questionOpen = async (vscode: VSCode): Promise<boolean> => ((await vscode.quickInputRows()) ?? []).includes('Continue training');
const checkpoints = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.lstm.safetensors') && !f.startsWith('.')) : []);

test('activation survives an undeletable leftover; Forget while asking is refused; models of deleted files are forgotten', { timeout: 400_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = makeWorkspace({ 'fable.txt': FABLE.repeat(2), 'gone.txt': FABLE });
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-housekeeping', keybindings: KEYBINDINGS }, async (vscode) => {
      // Before LSTM Lens activates (on its first command): a leftover it cannot delete.
      const models = path.join(vscode.globalStorageDir(extensionId()), 'models');
      const stuck = path.join(models, '.0123456789abcdef0123456789abcdef.lstm.safetensors.1.2.3.tmp');
      fs.mkdirSync(path.join(stuck, 'inside'), { recursive: true });
      const hourAgo = new Date(Date.now() - 3_600_000);
      fs.utimesSync(stuck, hourAgo, hourAgo);

      await vscode.openFile('fable.txt');
      await press(vscode, 'train');
      await vscode.waitForNotification(/Training finished on fable\.txt: step 60\b/, 120_000);
      assert.ok(lensLog(vscode).some((l) => /could not remove 1 unfinished checkpoint file\(s\).*EISDIR|could not remove 1 unfinished checkpoint file\(s\)/.test(l)), lensLog(vscode).join('\n'));
      assert.ok(fs.existsSync(stuck), 'what cannot be removed is left');

      // Train asks; Forget, pressed while it asks, is refused; Continue continues the same model.
      await press(vscode, 'train');
      await waitUntil('Train to ask whether to continue', async () => ((await questionOpen(vscode)) ? true : undefined), 60_000);
      const before = checkpoints(models);
      assert.equal(before.length, 1);
      const since = vscode.now();
      await press(vscode, 'forget');
      await vscode.waitForNotification(/a run on fable\.txt is starting .*its model was not forgotten/, 30_000, since);
      assert.deepEqual(checkpoints(models), before, 'the model is still there');
      await vscode.pickQuickItem('Continue training');
      await vscode.waitForNotification(/Training finished on fable\.txt: step 120\b/, 120_000, since);

      // A second file's model; the file is deleted from disk; the command forgets that model only.
      await vscode.openFile('gone.txt');
      const since2 = vscode.now();
      await press(vscode, 'train');
      await vscode.waitForNotification(/Training finished on gone\.txt: step 60\b/, 120_000, since2);
      assert.equal(checkpoints(models).length, 2);
      fs.rmSync(path.join(workspace, 'gone.txt'));
      await vscode.runCommand('LSTM Lens: Forget Models of Missing Files');
      const button = vscode.page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Forget Models' });
      await button.first().click({ timeout: 30_000 });
      await vscode.waitForNotification(/forgot 1 model\(s\) of missing files/, 30_000, since2);
      assert.deepEqual(checkpoints(models), before, "only the deleted file's model went");
      await vscode.screenshot('housekeeping-1-forgot-missing');
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});

test("an untitled document of a later session does not inherit the earlier Untitled-1's model", { timeout: 400_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = makeWorkspace({});
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-untitled', keybindings: KEYBINDINGS }, async (vscode) => {
      await vscode.runCommand('File: New Untitled Text File');
      await waitUntil('an untitled editor', async () => ((await vscode.page.locator('.tab', { hasText: 'Untitled-1' }).count()) > 0 ? true : undefined), 30_000);
      await vscode.typeInEditor(FABLE);
      await press(vscode, 'train');
      await vscode.waitForNotification(/Training finished on Untitled-1: step 60\b/, 120_000);

      await vscode.reloadWindow(KEYS.reload.press);
      // The untitled document comes back (hot exit) or a new one is made: either way Untitled-1 of a new session.
      if ((await vscode.page.locator('.tab', { hasText: 'Untitled-1' }).count()) === 0) {
        await vscode.runCommand('File: New Untitled Text File');
        await waitUntil('an untitled editor', async () => ((await vscode.page.locator('.tab', { hasText: 'Untitled-1' }).count()) > 0 ? true : undefined), 30_000);
        await vscode.typeInEditor(FABLE);
      } else await vscode.page.locator(".tab", { hasText: "Untitled-1" }).first().click();
      await vscode.focusEditor();
      // Hot exit may show the tab before its text is back: wait for the text, and type it if it never comes.
      const restored = await waitUntil('the untitled text to be restored', async () => ((await vscode.visibleEditorText()).trim().length > 0 ? true : undefined), 10_000).catch(() => false);
      if (!restored) await vscode.typeInEditor(FABLE);
      const since = vscode.now();
      let asked = false;
      await press(vscode, 'train');
      await waitUntil('Untitled-1 to train afresh', async () => {
        if (await questionOpen(vscode)) {
          asked = true;
          return true;
        }
        return vscode.notificationHistory(since).some((n) => /Training finished on Untitled-1: step \d+/.test(n.text)) ? true : undefined;
      }, 120_000, async () => JSON.stringify(vscode.notificationHistory(since)));
      assert.equal(asked, false, 'it asked whether to continue a model of another session');
      assert.ok(vscode.notificationHistory(since).some((n) => /Training finished on Untitled-1: step 60\b/.test(n.text)), 'a fresh run of 60 steps');
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
