// Continuing a model in a real VS Code (code-server + headless Chromium), where only VS Code shows it:
// - A run that diverges says at which step and which step's weights are kept, and words the remedy
//   for VS Code; its button sets lstmLens.learningRate (in the settings file where it is set), and
//   Continue then trains at that rate from the kept step (the question says so).
// - Continuing on a text shorter than the one trained on asks whether to continue from the start
//   of the text, start afresh or cancel (not a batcher message); continuing from the start goes on
//   from the saved step.
// Commands are bound to keys, as in interruptions.e2e.ts. Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { decodeCheckpoint } from '../../src/engine/checkpoint';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed, extensionId, lensLog } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const KEYS = { train: { press: 'Control+Alt+Shift+F10', key: 'ctrl+alt+shift+f10', command: 'lstmLens.train' } } as const;
const KEYBINDINGS = Object.values(KEYS).map(({ key, command }) => ({ key, command }));
const FABLE = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');

function makeWorkspace(text: string, settings: Record<string, unknown>): string {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-resume-'));
  fs.writeFileSync(path.join(workspace, 'fable.txt'), text);
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'lstmLens.backend': 'cpu', 'lstmLens.hiddenSize': 16, 'lstmLens.sequenceLength': 16, 'lstmLens.batchSize': 4, ...settings }, null, 2));
  return workspace;
}

const press = (vscode: VSCode): Promise<void> => vscode.page.keyboard.press(KEYS.train.press);
const questionRow = (vscode: VSCode) => vscode.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Continue training' }).first();
const modelFile = (vscode: VSCode): string => {
  const dir = path.join(vscode.globalStorageDir(extensionId()), 'models');
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.lstm.safetensors') && !f.startsWith('.'));
  assert.equal(names.length, 1, names.join(', '));
  return path.join(dir, names[0]);
};

test('a diverged run: the kept step, the remedy in VS Code terms, one button to set lstmLens.learningRate, and Continue at that rate', { timeout: 400_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = makeWorkspace(FABLE.repeat(4), { 'lstmLens.optimizer': 'adam', 'lstmLens.learningRate': 10, 'lstmLens.gradientClip': 0, 'lstmLens.steps': 20 });
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-diverged', keybindings: KEYBINDINGS }, async (vscode) => {
      await vscode.openFile('fable.txt');
      await press(vscode);
      const diverged = await vscode.waitForNotification(/training on fable\.txt diverged: (.*) the weights of step (\d+) are kept\. Set lstmLens\.learningRate to ([\d.e-]+) and choose Continue training to go on from step (\d+)\./, 120_000);
      const [kept, lr, from] = [Number(diverged[2]), Number(diverged[3]), Number(diverged[4])];
      assert.equal(from, kept);
      assert.equal(lr, 1);
      assert.equal(decodeCheckpoint(fs.readFileSync(modelFile(vscode))).training.step, kept, 'the checkpoint holds the kept step');
      await vscode.screenshot('resume-1-diverged');

      const toast = vscode.page.locator('.notifications-toasts .notification-list-item', { hasText: 'diverged' }).first();
      await toast.locator('.monaco-button', { hasText: `Set Learning Rate to ${lr}` }).click({ timeout: 30_000 });
      await vscode.waitForNotification(/lstmLens\.learningRate is now 1\b/, 30_000);
      await waitUntil('the workspace settings to hold the new rate', () => (JSON.parse(fs.readFileSync(path.join(workspace, '.vscode', 'settings.json'), 'utf8'))['lstmLens.learningRate'] === 1 ? true : undefined), 30_000);

      const since = vscode.now();
      await press(vscode);
      const row = questionRow(vscode);
      const text = (await row.textContent({ timeout: 60_000 })) ?? '';
      assert.match(text, /learning rate 1 \(lstmLens\.learningRate; it was 10\)/);
      await vscode.pickQuickItem('Continue training');
      await vscode.waitForNotification(new RegExp(`Training finished on fable\\.txt: step ${kept + 20}\\b`), 120_000, since);
      const after = decodeCheckpoint(fs.readFileSync(modelFile(vscode)));
      assert.equal(after.settings.learning_rate, 1);
      assert.equal(after.training.step, kept + 20);
      assert.ok(lensLog(vscode).some((l) => /continuing the saved model for 20 more steps at learning rate 1\b/.test(l)));
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});

test('continuing on a shorter text offers to start the stream over, and goes on from the saved step', { timeout: 400_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const long = FABLE.repeat(8);
  const workspace = makeWorkspace(long, { 'lstmLens.steps': 40 });
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-shorter', keybindings: KEYBINDINGS }, async (vscode) => {
      await vscode.openFile('fable.txt');
      await press(vscode);
      await vscode.waitForNotification(/Training finished on fable\.txt: step 40\b/, 120_000);
      // The text shrinks to a sixth (the streams stood past its end). The editor is told to read the file
      // again (File: Revert File), and the test waits until its last line is the shorter text's: never by
      // saving the editor, which could write the long text back before VS Code has noticed the change.
      const shorter = long.slice(0, Math.floor(long.length / 6));
      fs.writeFileSync(path.join(workspace, 'fable.txt'), shorter);
      const lastLine = shorter.split(/\r\n|\r|\n/).length;
      await waitUntil('the editor to show the shorter text', async () => {
        await vscode.runCommand('File: Revert File');
        await vscode.setCursorToEnd();
        const position = (await vscode.statusBarText()).map((t) => /^Ln (\d+), Col \d+/.exec(t)).find((m) => m !== null);
        return position && Number(position[1]) === lastLine ? true : undefined;
      }, 60_000);
      const since = vscode.now();
      await press(vscode);
      const row = questionRow(vscode);
      assert.match((await row.textContent({ timeout: 60_000 })) ?? '', /the text is shorter than the one it was trained on/);
      await vscode.pickQuickItem('Continue training');
      const dialog = vscode.page.locator('.monaco-dialog-box', { hasText: 'is shorter than the text its model was trained on' });
      await dialog.waitFor({ timeout: 60_000 });
      const body = (await dialog.textContent()) ?? '';
      assert.doesNotMatch(body, /batcher|position must be/);
      await vscode.screenshot('resume-2-shorter');
      await dialog.locator('.monaco-button', { hasText: 'Continue from the Start of the Text' }).click();
      await vscode.waitForNotification(/Training finished on fable\.txt: step 80\b/, 120_000, since);
      assert.ok(lensLog(vscode).some((l) => /read from its start again/.test(l)), lensLog(vscode).slice(-8).join('\n'));
      assert.equal(decodeCheckpoint(fs.readFileSync(modelFile(vscode))).training.step, 80);
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
