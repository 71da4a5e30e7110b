// The packaged LSTM Lens extension in a real VS Code (code-server + headless Chromium), driven like a
// person: train on a file from the command palette, watch the loss fall in the status bar, generate text
// at the cursor, reload the window, generate again. Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed, lensLog } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const SAMPLE = path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt');
const FILE = 'belling_the_cat.txt';

const TRAIN = 'LSTM Lens: Train LSTM on This File';
const GENERATE = 'LSTM Lens: Generate Text at Cursor';
/** The status bar while training: "LSTM 40/150 · loss 2.345 · 1.2k tok/s" (icons are not text). */
const TRAINING_STATUS = /LSTM (\d+)\/(\d+) .*loss (\d+\.\d+)/;
/** Any status bar text with a loss in it. */
const LOSS_STATUS = /LSTM .*loss (\d+\.\d+)/;
/** The status bar once the file has a model: "LSTM loss 1.234", no step counter. */
const TRAINED_STATUS = /LSTM.*loss \d+\.\d+/;
const FINISHED_NOTIFICATION = /Training finished/;

/** Small settings, so that training takes seconds. */
const WORKSPACE_SETTINGS = {
  'lstmLens.diagnostics': true, // the extension host's event-loop delay during the run, logged
  'lstmLens.hiddenSize': 32,
  'lstmLens.steps': 2000, // a few seconds: long enough for the status bar to report several steps
  'lstmLens.sequenceLength': 32,
  'lstmLens.batchSize': 8,
  'lstmLens.tokens': 'char',
  'lstmLens.length': 40,
  'lstmLens.temperature': 0.5,
};

function makeWorkspace(): string {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-workspace-'));
  // A few KB of prose: the fable, four times over.
  const fable = fs.readFileSync(SAMPLE, 'utf8').trim();
  fs.writeFileSync(path.join(workspace, FILE), `${Array(4).fill(fable).join('\n\n')}\n`);
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(WORKSPACE_SETTINGS, null, 2));
  return workspace;
}

/** Whether the progress notification of a generation is on screen. */
async function generating(vscode: VSCode): Promise<boolean> {
  return (await vscode.notifications()).some((n) => /generating/i.test(n));
}

/**
 * Puts the cursor at the end of the file, runs "Generate Text at Cursor" and waits until the text has
 * grown and stopped growing; returns what was added.
 */
async function generateAtEnd(vscode: VSCode, label: string): Promise<string> {
  await vscode.setCursorToEnd();
  const before = await vscode.editorText(FILE);
  const since = vscode.now();
  await vscode.runCommand(GENERATE);
  let previous = before;
  const after = await waitUntil(
    `${label}: the file to grow by generated text and then stop changing`,
    async () => {
      const text = await vscode.editorText(FILE);
      const settled = text.length > before.length && text === previous && !(await generating(vscode));
      previous = text;
      if (settled) return text;
      await new Promise((resolve) => setTimeout(resolve, 400));
      return undefined;
    },
    60_000,
    async () =>
      `the file has ${previous.length - before.length} more characters; notifications since: ${JSON.stringify(vscode.notificationHistory(since).map((n) => n.text))}; status bar: ${JSON.stringify(await vscode.statusBarText())}`,
  );
  assert.ok(after.startsWith(before), `${label}: the text before the cursor changed:\n${after}`);
  const added = after.slice(before.length);
  assert.ok(added.length > 0, `${label}: nothing was generated`);
  return added;
}

test('LSTM Lens trains on the open file, generates at the cursor, and still generates after a window reload', { timeout: 300_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\` (npm run test:e2e does so first)`);
  const workspace = makeWorkspace();
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens' }, async (vscode) => {
      assert.match(vscode.installOutput, /successfully installed/i);
      await vscode.openFile(FILE);

      // Train, and watch the loss in the status bar.
      const trainingSince = vscode.now();
      await vscode.runCommand(TRAIN);
      await vscode.waitForStatusBar(LOSS_STATUS, 60_000);
      const finished = await waitUntil(
        'training to end (a status bar "LSTM loss N" without a step counter, or a "Training finished" notification)',
        async () => {
          const done = (await vscode.statusBarText()).find((t) => TRAINED_STATUS.test(t) && !TRAINING_STATUS.test(t));
          if (done) return done;
          return vscode.notificationHistory(trainingSince).find((n) => FINISHED_NOTIFICATION.test(n.text))?.text;
        },
        180_000,
        async () => JSON.stringify(await vscode.statusBarText()),
      );
      const readings = vscode
        .statusBarHistory(trainingSince)
        .map((s) => s.text.match(TRAINING_STATUS))
        .filter((m): m is RegExpMatchArray => m !== null)
        .map((m) => ({ step: Number(m[1]), loss: Number(m[3]) }));
      const steps = new Set(readings.map((r) => r.step));
      assert.ok(
        readings.length >= 2 && steps.size >= 2,
        `expected the status bar to report the loss at two steps or more while training; saw: ${JSON.stringify(vscode.statusBarHistory(trainingSince).map((s) => s.text))}`,
      );
      const first = readings[0]!;
      const last = readings[readings.length - 1]!;
      assert.ok(last.step > first.step, `the step counter did not advance: ${JSON.stringify(readings)}`);
      assert.ok(last.loss < first.loss, `the loss did not fall while training: ${JSON.stringify(readings)}`);
      console.log(`training: ${readings.length} readings, loss ${first.loss} at step ${first.step} → ${last.loss} at step ${last.step}; ended with ${JSON.stringify(finished)}`);

      // How responsive the extension host stayed while the worker trained (logged by the extension; reported, not asserted).
      const delay = await waitUntil('the run\'s event loop delay in the LSTM Lens log', () => vscode.extensionHostLog().split('\n').find((l) => /event loop delay during the run/.test(l)), 30_000);
      console.log(`extension host while training: ${delay.replace(/^.*event loop delay during the run: /, '')}`);
      // The training worker runs the FMA kernels (relaxed SIMD, on in this runtime or turned on by the worker) on its threads.
      const engine = lensLog(vscode).map((l) => l.match(/: training on (CPU, kernels .*)$/)?.[1]).find((e) => e !== undefined);
      assert.match(engine ?? '', /^CPU, kernels wasm relaxed-simd fma, [1-8] threads?$/, `the run's log names the kernels and threads: ${lensLog(vscode).slice(0, 5).join(' | ')}`);
      console.log(`training engine: ${engine}`);

      // Generate at the end of the file.
      const firstAdded = await generateAtEnd(vscode, 'first generation');
      console.log(`generated: ${JSON.stringify(firstAdded)}`);
      await vscode.screenshot('lstm-lens-1-generated');

      // The whole generation is one undo step.
      const withGenerated = await vscode.editorText(FILE);
      await vscode.focusEditor();
      await vscode.page.keyboard.press('Control+Z');
      const undone = await vscode.editorText(FILE);
      assert.equal(undone, withGenerated.slice(0, withGenerated.length - firstAdded.length), 'one undo removes exactly the generated text');
      await vscode.focusEditor();
      await vscode.page.keyboard.press('Control+Shift+Z');
      assert.equal(await vscode.editorText(FILE), withGenerated, 'redo brings it back');

      // The model survives a window reload.
      await vscode.reloadWindow();
      await vscode.openFile(FILE);
      const secondAdded = await generateAtEnd(vscode, 'generation after the reload');
      console.log(`generated after the reload: ${JSON.stringify(secondAdded)}`);
      await vscode.screenshot('lstm-lens-2-after-reload');

      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
