// Two VS Code windows on one file, in a real VS Code (code-server + headless Chromium): two browser
// pages of one code-server are two windows, each with its own extension host, sharing one global
// storage. While the first trains fable.txt, Train in the second says the file is training in
// another window and starts nothing; once the first run has ended (its lock removed), the second
// window can train it. Before the per-model lock, both trained and one run was silently lost.
// Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { REPO_ROOT, waitUntil, withVSCode } from './harness';
import { extensionId, lensLog } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const KEYS = {
  train: { press: 'Control+Alt+Shift+F10', key: 'ctrl+alt+shift+f10', command: 'lstmLens.train' },
  stop: { press: 'Control+Alt+Shift+F9', key: 'ctrl+alt+shift+f9', command: 'lstmLens.stop' },
} as const;
const KEYBINDINGS = Object.values(KEYS).map(({ key, command }) => ({ key, command }));
const TOASTS = '.notifications-toasts .notification-list-item-message';

const toasts = (page: Page): Promise<string[]> => page.evaluate<string[]>(`[...document.querySelectorAll(${JSON.stringify(TOASTS)})].map((el) => (el.textContent || '').trim())`);

/** Opens a file in a window by quick open (Ctrl+P), as a person would. */
async function openIn(page: Page, name: string): Promise<void> {
  await waitUntil(`quick open to list ${name} in the second window`, async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await page.keyboard.type(name);
    const found = await page.locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name', { hasText: name }).first().isVisible().catch(() => false);
    return found ? true : undefined;
  }, 60_000);
  await page.keyboard.press('Enter');
  await waitUntil(`${name} to be the active editor of the second window`, async () => (((await page.locator('.editor-group-container.active .tabs-container .tab.active').getAttribute('aria-label', { timeout: 1_000 }).catch(() => '')) ?? '').includes(name) ? true : undefined), 30_000);
}

test('two windows, one file: the second says it is training in the other window and starts nothing', { timeout: 400_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-windows-'));
  fs.writeFileSync(path.join(workspace, 'fable.txt'), fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8').repeat(4));
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'lstmLens.backend': 'cpu', 'lstmLens.hiddenSize': 64, 'lstmLens.sequenceLength': 32, 'lstmLens.batchSize': 16, 'lstmLens.steps': 100000 }, null, 2));
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-windows', keybindings: KEYBINDINGS }, async (vscode) => {
      // Window 1 trains a long run (minutes: a small model's 100,000 steps ended before the second window was up).
      await vscode.openFile('fable.txt');
      await vscode.page.keyboard.press(KEYS.train.press);
      await vscode.waitForStatusBar(/LSTM \d+\/100000/, 120_000);

      // Window 2: the same workspace in another page of the same code-server.
      const second = await vscode.page.context().newPage();
      try {
        await second.goto(vscode.url, { timeout: 60_000 });
        await second.locator('.monaco-workbench').first().waitFor({ state: 'visible', timeout: 120_000 });
        await openIn(second, 'fable.txt');
        await second.keyboard.press(KEYS.train.press);
        const said = await waitUntil('the second window to say the file trains in another window', async () => (await toasts(second)).find((t) => /fable\.txt is training in another VS Code window \(process \d+ on .+, since .+\)/.test(t)), 120_000, async () => JSON.stringify(await toasts(second)));
        console.log(`second window: ${said}`);
        const models = path.join(vscode.globalStorageDir(extensionId()), 'models');
        const lock = fs.readdirSync(models).find((f) => f.endsWith('.lstm.safetensors.lock'));
        assert.ok(lock, 'the first window holds the lock');
        // Only one run was ever started: one "training on fable.txt" line in all windows' logs.
        const starts = lensLog(vscode).filter((l) => /training on fable\.txt on the (CPU|GPU)/.test(l));
        assert.equal(starts.length, 1, starts.join('\n'));

        // Window 1 stops; its lock goes; now window 2 may train (and asks whether to continue).
        await vscode.page.bringToFront();
        await vscode.page.keyboard.press(KEYS.stop.press);
        await vscode.waitForNotification(/Training stopped on fable\.txt: step \d+/, 60_000);
        await waitUntil('the lock to be removed', () => (fs.readdirSync(models).some((f) => f.endsWith('.lock')) ? undefined : true), 30_000);
        await second.bringToFront();
        await second.keyboard.press(KEYS.train.press);
        await second.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Continue training' }).first().waitFor({ timeout: 60_000 });
        await second.keyboard.press('Escape');
      } finally {
        await second.close();
      }
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
