// Interruptions in a real VS Code (code-server + headless Chromium): the panel closed and reopened
// while a run trains, then the run stopped with the panel open. Nothing is lost, nothing errs. Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FILE = 'fable.txt';
const TRAINING_STATUS = /LSTM (\d+)\/(\d+) .*loss (\d+\.\d+)/;

async function currentStep(vscode: VSCode): Promise<number | undefined> {
  const m = (await vscode.statusBarText()).map((t) => t.match(TRAINING_STATUS)).find((x) => x);
  return m ? Number(m[1]) : undefined;
}

async function stepPasses(vscode: VSCode, what: string, after: number): Promise<number> {
  return waitUntil(what, async () => {
    const step = await currentStep(vscode);
    return step !== undefined && step > after ? step : undefined;
  }, 60_000, async () => JSON.stringify(await vscode.statusBarText()));
}

test('closing and reopening the panel mid-run, then stopping, loses nothing', { timeout: 300_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-faults-'));
  const fable = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
  fs.writeFileSync(path.join(workspace, FILE), fable.repeat(4));
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(
    path.join(workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'lstmLens.hiddenSize': 24, 'lstmLens.steps': 100000, 'lstmLens.sequenceLength': 32, 'lstmLens.batchSize': 4 }, null, 2),
  );
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-faults' }, async (vscode) => {
      await vscode.openFile(FILE);
      // The panel traces the text before the cursor: at the end of the file there is text to trace
      // (at 1:1 there is none, and the States tab rightly waits for a sequence).
      await vscode.setCursorToEnd();
      await vscode.runCommand('LSTM Lens: Train LSTM on This File');
      const first = await stepPasses(vscode, 'training to start', 0);

      // The panel, opened and closed while the run trains: the run goes on.
      await vscode.runCommand('LSTM Lens: Inspect States');
      await vscode.frameWith('#shapes [data-tensor="input"]', 60_000);
      await vscode.page.locator('.tab', { hasText: 'LSTM Lens:' }).locator('.codicon-close').first().click({ force: true });
      await waitUntil('the panel to close', async () => ((await vscode.page.locator('.tab', { hasText: 'LSTM Lens:' }).count()) === 0 ? true : undefined), 30_000);
      const afterClose = await stepPasses(vscode, 'training to go on after the panel closed', first);

      // Reopened: it shows the live run again, heatmaps and all.
      await vscode.runCommand('LSTM Lens: Inspect States');
      const frame = await vscode.frameWith('#shapes [data-tensor="input"]', 60_000);
      await frame.click('#tab-states');
      await waitUntil('the reopened panel to draw the live states', async () => ((await frame.locator('#states canvas.hm-canvas').count()) >= 6 ? true : undefined), 60_000);
      await vscode.screenshot('faults-1-panel-reopened');

      // Stopped with the panel open: the run saves and says so; the panel keeps showing the model.
      const since = vscode.now();
      await vscode.runCommand('LSTM Lens: Stop Training'); // the only run stops, whatever has focus
      const stopped = await vscode.waitForNotification(/Training stopped on fable\.txt: step (\d+)/, 60_000, since);
      assert.ok(Number(stopped[1]) >= afterClose, `stopped at step ${stopped[1]}, after step ${afterClose}`);
      await waitUntil('the status bar to show the saved model', async () => ((await vscode.statusBarText()).some((t) => /LSTM loss \d/.test(t)) ? true : undefined), 30_000);
      await vscode.screenshot('faults-2-stopped');

      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
