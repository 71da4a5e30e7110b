// The bridge to PyTorch in a real VS Code (code-server + headless Chromium), through the packaged
// extension: train a short run, Export Training to PyTorch… into the workspace (not empty: a new
// folder inside it is offered) and find the folder on disk with the training script the package
// carries, its README opened; then Open PyTorch Model… with a model saved by PyTorch
// (test/fixtures/bridge, made by test/pytorch/make_import_states.py) for a text picked in a file
// dialog, and see its shapes (PyTorch's H = 7, V = 13) in the panel and the Training tab say it has
// no training history; open it again for the same text, and the old model is saved first where the
// dialog says. code-server's file dialogs are its own quick inputs, typed into like a person would.
// Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed, extensionId, SHORT_WORD_RUN } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'bridge');
const TEXT = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');

const SETTINGS = { ...SHORT_WORD_RUN, 'lstmLens.steps': 30 };

/** The bytes of every model LSTM Lens keeps (one per file). */
function storedModels(vscode: VSCode): Buffer[] {
  const models = path.join(vscode.globalStorageDir(extensionId()), 'models');
  return fs.readdirSync(models).filter((f) => f.endsWith('.lstm.safetensors') && !f.startsWith('.')).map((f) => fs.readFileSync(path.join(models, f)));
}

// Both commands open code-server's file dialog, a quick input: pressed by a key, not through the
// palette (whose quick input the dialog reuses).
const EXPORT_KEY = { press: 'Control+Alt+Shift+F8', key: 'ctrl+alt+shift+f8' };
const OPEN_KEY = { press: 'Control+Alt+Shift+F9', key: 'ctrl+alt+shift+f9' };

const QUICK_BOX = '.quick-input-widget .quick-input-box input';

/** Types a path into code-server's file dialog (a quick input) and accepts it. */
async function answerFileDialog(vscode: VSCode, target: string, title: RegExp): Promise<void> {
  const { page } = vscode;
  await waitUntil(`the file dialog "${title.source}"`, async () => {
    const shown = await page.locator('.quick-input-widget .quick-input-title').textContent({ timeout: 1_000 }).catch(() => null);
    return shown && title.test(shown) ? true : undefined;
  }, 60_000);
  const box = page.locator(QUICK_BOX);
  // The dialog fills its box with the folder it starts in, once it has read it: type until the path stays.
  await waitUntil('the dialog to take the path', async () => {
    await box.fill(target);
    await page.waitForTimeout(300);
    return (await box.inputValue()) === target ? true : undefined;
  }, 30_000, async () => box.inputValue());
  // The dialog lists what the typed path matches; it accepts once the list has caught up with it.
  for (let k = 0; k < 20; k++) {
    await page.keyboard.press('Enter');
    const gone = await waitUntil('the dialog to close', async () => {
      const visible = await page.locator('.quick-input-widget').isVisible().catch(() => false);
      if (!visible) return true;
      const title2 = await page.locator('.quick-input-widget .quick-input-title').textContent({ timeout: 500 }).catch(() => null);
      return title2 && !title.test(title2) ? true : undefined;
    }, 1_500).catch(() => false);
    if (gone) return;
    // Navigated into a folder (the box now ends with a separator): type the path again.
    if ((await box.inputValue()) !== target) await box.fill(target);
  }
  assert.fail(`the file dialog did not accept ${target}`);
}

async function clickDialogButton(vscode: VSCode, text: RegExp | string, label: string): Promise<string> {
  const dialog = vscode.page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 60_000 });
  const body = (await dialog.textContent()) ?? '';
  await dialog.locator('.monaco-button', { hasText: text }).first().click();
  await dialog.waitFor({ state: 'hidden', timeout: 30_000 });
  assert.ok(body.length > 0, label);
  return body;
}

test('Export Training to PyTorch writes the folder; Open PyTorch Model shows the imported model in the panel and keeps the old one', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-bridge-'));
  fs.writeFileSync(path.join(workspace, 'story.txt'), TEXT);
  fs.mkdirSync(path.join(workspace, 'torch'));
  for (const f of ['onehot.safetensors', 'vocab.json']) fs.copyFileSync(path.join(FIXTURES, f), path.join(workspace, 'torch', f));
  fs.copyFileSync(path.join(FIXTURES, 'text.txt'), path.join(workspace, 'cat.txt'));
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-bridge', keybindings: [{ key: EXPORT_KEY.key, command: 'lstmLens.exportTraining' }, { key: OPEN_KEY.key, command: 'lstmLens.openPyTorchModel' }] }, async (vscode) => {
      await vscode.openFile('story.txt');
      let since = vscode.now();
      await vscode.runCommand('LSTM Lens: Train LSTM on This File');
      await vscode.waitForNotification(/Training finished/, 180_000, since);

      // Export into the workspace: it is not empty, so a folder of its own is offered inside it.
      since = vscode.now();
      await vscode.page.keyboard.press(EXPORT_KEY.press);
      await answerFileDialog(vscode, workspace, /a folder for story\.txt's training/);
      const asked = await clickDialogButton(vscode, 'Export into story-pytorch', 'the question about a full folder');
      assert.match(asked, /is not empty/);
      const dir = path.join(workspace, 'story-pytorch');
      await vscode.waitForNotification(/exported story\.txt at step 30 to /, 120_000, since);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['README.md', 'model.safetensors', 'text.txt', 'tokens.bin', 'train.py']);
      // The script comes from the package (dist/pytorch/train.py): the one committed.
      assert.equal(fs.readFileSync(path.join(dir, 'train.py'), 'utf8'), fs.readFileSync(path.join(REPO_ROOT, 'src', 'node', 'pytorch', 'train.py'), 'utf8'));
      assert.equal(fs.readFileSync(path.join(dir, 'text.txt'), 'utf8'), TEXT.replace(/\r\n?/g, '\n'));
      // The checkpoint is the file's model as stored, byte for byte.
      const exported = fs.readFileSync(path.join(dir, 'model.safetensors'));
      assert.ok(storedModels(vscode).some((bytes) => bytes.equals(exported)), 'model.safetensors is the stored model of story.txt');
      assert.match(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), /^# story\.txt\.lstm\.safetensors, continued in PyTorch\n\nExported by `lstm-lens export` at step 30 of 30/);
      await waitUntil('the README to open', async () => ((await vscode.page.locator('.tab', { hasText: 'README.md' }).count()) > 0 ? true : undefined), 60_000);
      await vscode.screenshot('bridge-1-exported');

      // Open PyTorch Model… for another text, picked in the dialog (the README's preview is active:
      // there is no current text to offer, so the text is asked for at once).
      since = vscode.now();
      await vscode.page.keyboard.press(OPEN_KEY.press);
      await answerFileDialog(vscode, path.join(workspace, 'torch', 'onehot.safetensors'), /state_dict, saved with safetensors/);
      await answerFileDialog(vscode, path.join(workspace, 'torch', 'vocab.json'), /its vocabulary/);
      await answerFileDialog(vscode, path.join(workspace, 'cat.txt'), /a text for the PyTorch model to read/);
      await vscode.waitForNotification(/cat\.txt now has the PyTorch model: 1 layer of 7, one-hot input, many-to-many, vocabulary 13; 720 parameters/, 120_000, since);
      const frame = await vscode.frameWith('#parameter-table', 90_000);
      await waitUntil('the panel to show the imported shapes', async () => {
        const rows = await frame.locator('#parameter-table tbody tr').allTextContents();
        const hh = rows.find((r) => r.includes('lstm.weight_hh_l0'));
        return hh && /28\s*[×x,]\s*7/.test(hh) && rows.some((r) => r.includes('head.weight') && /13\s*[×x,]\s*7/.test(r)) ? true : undefined;
      }, 90_000, async () => JSON.stringify(await frame.locator('#parameter-table tbody tr').allTextContents()));
      assert.match((await frame.locator('#parameter-table caption').textContent()) ?? '', /Parameters: 720/);
      await frame.click('#tab-shapes');
      await vscode.screenshot('bridge-2-imported-shapes');
      await frame.click('#tab-training');
      await waitUntil('the Training tab to say there is no history', async () => {
        const t = await frame.locator('#training-none').textContent({ timeout: 1_000 }).catch(() => null);
        return t && /no training history/.test(t) ? true : undefined;
      }, 30_000);
      await vscode.screenshot('bridge-3-imported-training');

      // Again for cat.txt, which has a model now: asked first, and the old model saved where the dialog says.
      const before = storedModels(vscode);
      since = vscode.now();
      await vscode.page.keyboard.press(OPEN_KEY.press);
      await answerFileDialog(vscode, path.join(workspace, 'torch', 'onehot.safetensors'), /state_dict, saved with safetensors/);
      await answerFileDialog(vscode, path.join(workspace, 'torch', 'vocab.json'), /its vocabulary/);
      await vscode.pickQuickItem('With cat.txt');
      const question = await clickDialogButton(vscode, 'Save Old Model and Replace', 'the question before replacing');
      assert.match(question, /cat\.txt already has a model \(step 0, loss n\/a\)/);
      const backup = path.join(workspace, 'old-cat.lstm.safetensors');
      await answerFileDialog(vscode, backup, /save the old model of cat\.txt/);
      await vscode.waitForNotification(/cat\.txt now has the PyTorch model/, 120_000, since);
      assert.ok(before.some((bytes) => bytes.equals(fs.readFileSync(backup))), 'the saved old model is the model cat.txt had');
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
