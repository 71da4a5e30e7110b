// "Why this prediction?" in a real VS Code (code-server + headless Chromium): train a short run on
// a fable; Show Surprise colours the file's tokens (the legend in the status bar) and a second time
// clears every colour; Why This Prediction? at the cursor colours earlier tokens; the Inspect States
// panel's Training tab shows the time line with at least three snapshots and their samples, and
// choosing one on the slider (arrow keys) has the panel read that snapshot's weights; the baseline
// table arrives. Screenshots dark and light. Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, waitUntil, withVSCode } from './harness';
import { assertNothingFailed, editorColoured as coloured, SHORT_WORD_RUN } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FILE = 'fable.txt';
const TEXT = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');

/** A short word-level run: a few seconds on the CPU; 150 steps keep snapshots at 12 of the grid's 15 steps up to 128. */
const SETTINGS = { ...SHORT_WORD_RUN, 'lstmLens.optimizer': 'adam', 'lstmLens.learningRate': 0.01, 'lstmLens.steps': 150, 'editor.wordWrap': 'on' };

/** The colours of src/extension/surprise.ts (orange) and attribution.ts (violet). */
const SURPRISE_COLOUR = /rgba\(230, 110, 0/;
const ATTRIBUTION_COLOUR = /rgba\(94, 60, 200/;

test('Show Surprise colours and clears, Why This Prediction? colours earlier tokens, and the time line shows the snapshots with their samples', { timeout: 500_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-why-'));
  fs.writeFileSync(path.join(workspace, FILE), TEXT);
  fs.mkdirSync(path.join(workspace, '.vscode'));
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify({ ...SETTINGS, 'workbench.colorTheme': 'Default Dark Modern' }, null, 2));
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-why' }, async (vscode) => {
      await vscode.openFile(FILE);
      const since = vscode.now();
      await vscode.runCommand('LSTM Lens: Train LSTM on This File');
      await vscode.waitForNotification(/Training finished/, 240_000, since);

      // Show Surprise: tokens coloured, the legend in the status bar; again: every colour gone.
      await vscode.focusEditor();
      await vscode.runCommand('LSTM Lens: Show Surprise');
      await vscode.waitForStatusBar(/LSTM Lens: surprise \d+\.\d+ nats\/token/, 90_000);
      const painted = await waitUntil('the file coloured by surprise', async () => {
        const n = await coloured(vscode, SURPRISE_COLOUR);
        return n >= 20 ? n : undefined;
      }, 60_000);
      await vscode.screenshot('why-1-surprise-dark');
      await vscode.focusEditor();
      await vscode.runCommand('LSTM Lens: Show Surprise');
      await waitUntil('every surprise colour gone', async () => ((await coloured(vscode, SURPRISE_COLOUR)) === 0 ? true : undefined), 30_000);
      assert.ok(painted >= 20);

      // Why This Prediction? at the end of the first line: earlier tokens coloured.
      await vscode.focusEditor();
      await vscode.page.keyboard.press('Control+Home');
      await vscode.page.keyboard.press('End');
      await vscode.runCommand('LSTM Lens: Why This Prediction?');
      const earlier = await waitUntil('earlier tokens coloured by attribution', async () => {
        const n = await coloured(vscode, ATTRIBUTION_COLOUR);
        return n >= 3 ? n : undefined;
      }, 90_000);
      assert.ok(earlier >= 3);
      await vscode.screenshot('why-2-attribution-dark');

      // The panel's time line: at least three snapshots, each with its sample; the slider chooses one.
      await vscode.runCommand('LSTM Lens: Inspect States');
      const frame = await vscode.frameWith('#tab-training', 90_000);
      await frame.click('#tab-training');
      await frame.waitForSelector('#timeline-slider', { timeout: 90_000 });
      const ticks = await frame.locator('.timeline-tick').allTextContents();
      assert.ok(ticks.length >= 4, `snapshots and the latest: ${ticks.join(' ')}`);
      const samples = await frame.locator('#timeline-samples pre').allTextContents();
      assert.ok(samples.length >= 3 && samples.every((s) => s.length > 0), `${samples.length} samples`);
      assert.equal(ticks[0], '0');
      assert.equal(ticks[ticks.length - 1], '150');
      await frame.locator('#timeline-slider').focus();
      await vscode.page.keyboard.press('ArrowLeft');
      // The snapshot before the latest (128): the panel reads its weights (the heading's step says so).
      await waitUntil('the panel to show the snapshot at step 128', async () => ((await frame.locator('.status').textContent())?.includes('step 128') ? true : undefined), 90_000);
      assert.match((await frame.locator('#timeline-readout').textContent()) ?? '', /step 128/);
      assert.ok(((await frame.locator('#timeline-sample').textContent()) ?? '').length > 0);
      await waitUntil('the baseline table', async () => ((await frame.locator('.baseline-row').count()) >= 7 ? true : undefined), 120_000);
      await vscode.screenshot('why-3-timeline-dark');

      fs.writeFileSync(settingsFile, JSON.stringify({ ...SETTINGS, 'workbench.colorTheme': 'Default Light Modern' }, null, 2));
      await new Promise((r) => setTimeout(r, 1500));
      await vscode.screenshot('why-4-timeline-light');
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
