// The GPU path in a real VS Code (code-server + headless Chromium with software WebGL2): with
// lstmLens.backend "webgl", Train opens the Inspect States panel and trains in its Web Worker,
// says so (output channel, status bar), and saves checkpoints like a CPU run; the model then
// continues on the CPU; and when the panel that holds the GPU is closed mid-run, the run continues
// on the CPU from its last checkpoint, saying so in one line; and "auto", with the panel open, times
// both backends in about 2 s (the status bar says so meanwhile), says which it chose and why, and
// trains another file of the same size where it chose, untimed. Run by `npm run test:e2e` after
// `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { decodeCheckpoint } from '../../src/engine/checkpoint';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed, lensLog } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FILE = 'fable.txt';
/** Train by a key (a user keybinding): the palette's quick input would be the one the "Continue training" question reuses. */
const TRAIN_KEY = { press: 'Control+Alt+Shift+F10', key: 'ctrl+alt+shift+f10', command: 'lstmLens.train' };
const SMALL = { 'lstmLens.hiddenSize': 16, 'lstmLens.sequenceLength': 16, 'lstmLens.batchSize': 4 };

async function waitForLog(vscode: VSCode, what: string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return waitUntil(what, () => lensLog(vscode).map((l) => l.match(pattern)).find((m) => m) ?? undefined, timeoutMs, () => lensLog(vscode).slice(-15).join('\n'));
}

function savedCheckpoint(vscode: VSCode): ReturnType<typeof decodeCheckpoint> {
  const dir = path.join(vscode.globalStorageDir('lstm-lens.lstm-lens'), 'models');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.lstm.safetensors'));
  assert.equal(files.length, 1, `one model file: ${files.join(', ')}`);
  return decodeCheckpoint(fs.readFileSync(path.join(dir, files[0])));
}

function writeSettings(workspace: string, settings: Record<string, unknown>): void {
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ ...SMALL, ...settings }, null, 2));
}

test('lstmLens.backend "webgl": trains on the GPU in the panel, continues on the CPU, falls back when the panel closes; "auto" times both', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-gpu-'));
  const fable = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
  fs.writeFileSync(path.join(workspace, FILE), fable.repeat(4));
  fs.mkdirSync(path.join(workspace, '.vscode'));
  writeSettings(workspace, { 'lstmLens.backend': 'webgl', 'lstmLens.steps': 60 });
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-gpu', keybindings: [{ key: TRAIN_KEY.key, command: TRAIN_KEY.command }] }, async (vscode) => {
      const train = async (): Promise<void> => {
        await vscode.focusEditor();
        await vscode.page.keyboard.press(TRAIN_KEY.press);
      };
      await vscode.openFile(FILE);

      // 1. On the GPU: the panel opens for it, the log and the status bar say so, it finishes and saves.
      let since = vscode.now();
      await vscode.runCommand('LSTM Lens: Train LSTM on This File');
      const gpu = await waitForLog(vscode, 'the run to say it trains on the GPU', /fable\.txt: training on the GPU: WebGL2 on (.+), in the panel's (Web Worker|main thread)/, 180_000);
      console.log(`GPU: ${gpu[1]} (${gpu[2]})`);
      assert.equal(gpu[2], 'Web Worker');
      await vscode.frameWith('#shapes [data-tensor="input"]', 60_000);
      const onGpu = await vscode.waitForStatusBar(/LSTM \d+\/60 .*tok\/s · GPU/, 120_000);
      await vscode.screenshot('gpu-1-training');
      const done = await vscode.waitForNotification(/Training finished on fable\.txt: step 60, loss (\d+\.\d+), ([\d.]+[kM]?) tokens\/s on average/, 300_000, since);
      console.log(`GPU run: ${onGpu[0]}; finished: loss ${done[1]}, ${done[2]} tokens/s`);
      const afterGpu = savedCheckpoint(vscode);
      assert.equal(afterGpu.training.step, 60);
      assert.equal(afterGpu.config.hidden_size, 16);
      const gpuLosses = afterGpu.training.history.columns();
      assert.ok(gpuLosses.step.length === 60 && gpuLosses.loss.every(Number.isFinite)); // 60 steps: one point each

      // 2. The GPU's model continues on the CPU.
      writeSettings(workspace, { 'lstmLens.backend': 'cpu', 'lstmLens.steps': 20 });
      await new Promise((r) => setTimeout(r, 2000)); // the settings file is read by VS Code's watcher
      since = vscode.now();
      await train();
      await vscode.pickQuickItem(/^Continue training/, 30_000);
      await waitForLog(vscode, 'the run to say it trains on the CPU', /training on fable\.txt on the CPU \(lstmLens\.backend is "cpu"\)/, 60_000);
      await vscode.waitForNotification(/Training finished on fable\.txt: step 80/, 180_000, since);
      const afterCpu = savedCheckpoint(vscode);
      assert.equal(afterCpu.training.step, 80);
      assert.deepEqual(afterCpu.training.history.columns().loss.slice(0, 60), gpuLosses.loss, 'the CPU run continued the GPU run');

      // 3. Back on the GPU, a long run; the panel holding it is closed: the run goes on on the CPU.
      writeSettings(workspace, { 'lstmLens.backend': 'webgl', 'lstmLens.steps': 100000 });
      await new Promise((r) => setTimeout(r, 2000));
      since = vscode.now();
      await train();
      await vscode.pickQuickItem(/^Continue training/, 30_000);
      // Past step 100, where the GPU run saved its first checkpoint (every 50 steps).
      await vscode.waitForStatusBar(/LSTM (10[5-9]|1[1-9]\d|[2-9]\d\d|\d{4,})\/100080 .*· GPU/, 240_000);
      await vscode.page.locator('.tab', { hasText: 'LSTM Lens:' }).locator('.codicon-close').first().click({ force: true });
      const fallback = await vscode.waitForNotification(/the Inspect States panel, where the GPU trained, was closed; training on fable\.txt continues on the CPU from step (\d+)/, 60_000, since);
      const from = Number(fallback[1]);
      assert.ok(from >= 80, `continues from step ${from}`);
      await vscode.waitForStatusBar(/LSTM \d+\/100080 .*· CPU/, 60_000);
      await vscode.screenshot('gpu-2-fallback');
      since = vscode.now();
      await vscode.runCommand('LSTM Lens: Stop Training');
      const stopped = await vscode.waitForNotification(/Training stopped on fable\.txt: step (\d+)/, 120_000, since);
      assert.ok(Number(stopped[1]) > from, `the CPU trained on from step ${from} to ${stopped[1]}`);
      assert.equal(savedCheckpoint(vscode).training.step, Number(stopped[1]));

      // 4. "auto" with the panel open: a few steps timed on each, the faster chosen, and why.
      writeSettings(workspace, { 'lstmLens.backend': 'auto', 'lstmLens.steps': 10 });
      await new Promise((r) => setTimeout(r, 2000));
      await vscode.runCommand('LSTM Lens: Inspect States');
      await vscode.frameWith('#shapes [data-tensor="input"]', 60_000);
      since = vscode.now();
      await train();
      await vscode.pickQuickItem(/^Continue training/, 30_000);
      // Either one is faster, or the GPU did not answer within the probe's budget (about 2 s in all).
      const auto = await waitForLog(vscode, 'auto to time both backends and choose', /fable\.txt: auto: (CPU|GPU) ([\d.]+[kM]?) tokens\/s(?: \(.*?\))?(?: faster than (CPU|GPU) ([\d.]+[kM]?) tokens\/s|; GPU not usable: .+)/, 180_000);
      const took = await waitForLog(vscode, 'the probe to say how long it took', /fable\.txt: timing the CPU against the GPU took ([\d.]+) s/, 10_000);
      console.log(`auto: ${auto[0]} (the probe took ${took[1]} s)`);
      assert.ok(
        vscode.statusBarHistory(since).some((s) => /LSTM Lens: timing CPU vs GPU…/.test(s.text)),
        `the status bar said it was timing: ${JSON.stringify(vscode.statusBarHistory(since).map((s) => s.text))}`,
      );
      await vscode.waitForNotification(/Training finished on fable\.txt: step (\d+)/, 180_000, since);

      // 5. Another file of the same model size: the session's choice, not timed again.
      const other = 'other.txt';
      fs.writeFileSync(path.join(workspace, other), fable.split('').reverse().join('').repeat(3));
      await vscode.openFile(other);
      since = vscode.now();
      await train();
      await waitForLog(vscode, 'the second file to reuse the choice', /training on other\.txt on the (CPU|GPU) \(auto: .*, timed earlier this session\)/, 60_000);
      await vscode.waitForNotification(/Training finished on other\.txt/, 180_000, since);
      assert.equal(lensLog(vscode).filter((l) => /timing the CPU against the GPU took/.test(l)).length, 1, 'timed once in the session');

      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
