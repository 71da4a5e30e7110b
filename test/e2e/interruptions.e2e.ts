// Interruptions in a real VS Code (code-server + headless Chromium), as a person causes them:
// - Stop and Train pressed rapidly, alternating, sometimes twice in a row: never two runs of one
//   file at once, each run continues exactly where the last one stopped, nothing errs, and a last
//   run trains to its end and leaves a whole checkpoint.
// - The window reloaded while a run writes its checkpoint: the checkpoint on disk is whole (the
//   old one or the new one), the extension works after the reload and continues from the saved
//   step, and temporary files left by an interrupted save are removed at activation once they are
//   ten minutes old (a fresh one, which another window may be writing, is left alone).
// Commands are bound to keys (user keybindings), so that pressing one never depends on the command
// palette, whose quick input the "Continue training / Start afresh" question shares; what a press
// led to is read from the screen and the extension's log (the question, a toast, a run's end),
// never waited for by time.
// Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { decodeCheckpoint, type Checkpoint } from '../../src/engine/checkpoint';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed, extensionId, lensLog } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FILE = 'fable.txt';

/** One key for each command the tests press (keys nothing else in the workbench uses). */
const KEYS = {
  train: { press: 'Control+Alt+Shift+F10', key: 'ctrl+alt+shift+f10', command: 'lstmLens.train' },
  stop: { press: 'Control+Alt+Shift+F9', key: 'ctrl+alt+shift+f9', command: 'lstmLens.stop' },
  reload: { press: 'Control+Alt+Shift+F8', key: 'ctrl+alt+shift+f8', command: 'workbench.action.reloadWindow' },
} as const;
const KEYBINDINGS = Object.values(KEYS).map(({ key, command }) => ({ key, command }));

/** The status bar while training: "LSTM 40/150 · loss 2.345 · 1.2k tok/s" (icons are not text). */
const TRAINING_STATUS = /LSTM (\d+)\/(\d+) .*loss (\d+\.\d+)/;
/** What Train says when the file's run is running or stopping, or a Train of it is asking or starting it. */
const BUSY = /LSTM Lens is already (training|starting a run) on fable\.txt/;

function makeWorkspace(settings: Record<string, unknown>): string {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-interruptions-'));
  const fable = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
  fs.writeFileSync(path.join(workspace, FILE), fable.repeat(4));
  fs.mkdirSync(path.join(workspace, '.vscode'));
  writeSettings(workspace, settings);
  return workspace;
}

function writeSettings(workspace: string, settings: Record<string, unknown>): void {
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'lstmLens.backend': 'cpu', 'lstmLens.diagnostics': true, ...settings }, null, 2)); // diagnostics: the event-loop line marks each run's end
}

async function press(vscode: VSCode, what: keyof typeof KEYS): Promise<void> {
  await vscode.page.keyboard.press(KEYS[what].press);
}

const TOAST_MESSAGES = '.notifications-toasts .notification-list-item-message';

/** Marks the toasts on screen as seen: a toast that comes later, even with the same text (VS Code replaces a duplicate with a new one), tells itself apart. */
async function markToastsSeen(vscode: VSCode): Promise<void> {
  await vscode.page.evaluate(`document.querySelectorAll(${JSON.stringify(TOAST_MESSAGES)}).forEach((el) => { el.dataset.e2eSeen = '1'; })`);
}

/** Texts of the toasts that came since the last markToastsSeen(). */
async function newToasts(vscode: VSCode): Promise<string[]> {
  return vscode.page.evaluate<string[]>(
    `[...document.querySelectorAll(${JSON.stringify(TOAST_MESSAGES)})].filter((el) => el.dataset.e2eSeen !== '1').map((el) => (el.textContent || '').trim())`,
  );
}

/**
 * Waits until no new toast has come for a second, and marks every toast seen. VS Code shows at
 * most three new toasts in 800 ms (the rest go to the notification center unseen): after a quiet
 * second, the next toast is shown.
 */
async function toastsQuiet(vscode: VSCode): Promise<void> {
  await markToastsSeen(vscode);
  let last = Date.now();
  await waitUntil('a second without a new toast', async () => {
    if ((await newToasts(vscode)).length > 0) {
      await markToastsSeen(vscode);
      last = Date.now();
    }
    return Date.now() - last >= 1_000 ? true : undefined;
  }, 60_000);
}

interface Run {
  /** The step it started from and the total it aims for (the worker's 'started'); null if it never started. */
  from: number | null;
  to: number | null;
  /** How it ended: "stopped" or "finished" at a step, or another outcome's log line; null while it runs. */
  ended: { how: 'stopped' | 'finished'; step: number } | { how: 'other'; line: string } | null;
}

/**
 * The runs of the file in the log, in order, and the most that were ever active at once. A run
 * begins with "training on fable.txt" (logged as its job is created) and ends with the event loop
 * line the extension logs once its job has settled, whatever the outcome; its 'started' line and
 * its outcome line belong to the earliest run that has not had one yet.
 */
function runsInLog(lines: string[]): { runs: Run[]; mostAtOnce: number; active: number } {
  const runs: Run[] = [];
  let active = 0;
  let mostAtOnce = 0;
  for (const line of lines) {
    if (/\[info\] training on fable\.txt\b/.test(line)) {
      runs.push({ from: null, to: null, ended: null });
      active += 1;
      mostAtOnce = Math.max(mostAtOnce, active);
      continue;
    }
    if (/event loop delay during the run/.test(line)) {
      active -= 1;
      continue;
    }
    const started = line.match(/fable\.txt: .*; steps (\d+) → (\d+)$/);
    const notStarted = runs.find((r) => r.from === null);
    if (started && notStarted) {
      notStarted.from = Number(started[1]);
      notStarted.to = Number(started[2]);
    }
    const unended = runs.find((r) => r.ended === null);
    const ended = line.match(/fable\.txt: training (stopped|finished): step (\d+)/);
    if (ended && unended) unended.ended = { how: ended[1] as 'stopped' | 'finished', step: Number(ended[2]) };
    else if (/\[error\] fable\.txt: /.test(line) && unended) unended.ended = { how: 'other', line };
  }
  return { runs, mostAtOnce, active };
}

function modelsFolder(vscode: VSCode): string {
  return path.join(vscode.globalStorageDir(extensionId()), 'models');
}

function listModels(folder: string): { checkpoints: string[]; temporary: string[] } {
  const names = fs.existsSync(folder) ? fs.readdirSync(folder) : [];
  return {
    checkpoints: names.filter((n) => /^[0-9a-f]{32}\.lstm\.safetensors$/.test(n)).map((n) => path.join(folder, n)),
    temporary: names.filter((n) => n.startsWith('.') && n.endsWith('.tmp')).map((n) => path.join(folder, n)),
  };
}

/** Waits until nothing in the folder has changed (names, sizes, times) for 5 s. */
async function folderQuiet(folder: string): Promise<void> {
  let snapshot = '';
  let changedAt = Date.now();
  await waitUntil(`${path.basename(folder)} to stay the same for 5 s`, () => {
    const now = fs.readdirSync(folder).sort().map((n) => {
      const st = fs.statSync(path.join(folder, n), { throwIfNoEntry: false });
      return `${n}:${st?.size}:${st?.mtimeMs}`;
    }).join('|');
    if (now !== snapshot) {
      snapshot = now;
      changedAt = Date.now();
    }
    return Date.now() - changedAt >= 5_000 ? true : undefined;
  }, 120_000, () => snapshot);
}

/** Reads a checkpoint with the engine's own reader and checks that it is whole: every weight present and finite. */
function readWhole(file: string): Checkpoint {
  const ckpt = decodeCheckpoint(fs.readFileSync(file));
  assert.ok(ckpt.params.size > 0, `${file}: no parameters`);
  for (const [name, values] of ckpt.params) assert.ok(values.every(Number.isFinite), `${file}: ${name} holds a non-finite value`);
  return ckpt;
}

/** The "Continue training" row of the open question, with its description ("step 2248, loss 1.019, …"). */
async function continueRow(vscode: VSCode): Promise<string> {
  return ((await vscode.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Continue training' }).first().textContent({ timeout: 5_000 })) ?? '').trim();
}

/** Whether the "Continue training / Start afresh" question is open. */
async function questionOpen(vscode: VSCode): Promise<boolean> {
  return ((await vscode.quickInputRows()) ?? []).includes('Continue training');
}

async function answerQuestion(vscode: VSCode, answer: 'continue' | 'dismiss'): Promise<void> {
  if (answer === 'continue') {
    await vscode.pickQuickItem('Continue training');
    return;
  }
  await vscode.page.keyboard.press('Escape');
  await waitUntil('the question to close', async () => ((await vscode.quickInputRows()) === null ? true : undefined), 10_000);
}

/**
 * Waits for what a Stop and Train pressed together lead to, and returns it once the question
 * ("Continue training / Start afresh") is open. Train asks when it finds no run; when it finds the
 * run still stopping, it says the file is busy (a toast, which VS Code may not show when others
 * come at once) and nothing more. So: the question, or else the run's end in the log, then Train
 * once more, which asks (or, if the first Train was still on its way and asks, says so).
 */
async function settleStopAndTrain(vscode: VSCode): Promise<string> {
  const what = async (): Promise<string> =>
    `quick input ${JSON.stringify(await vscode.quickInputRows())}; new toasts ${JSON.stringify(await newToasts(vscode))}; ` +
    `status bar ${JSON.stringify(await vscode.statusBarText())}; log: ${JSON.stringify(lensLog(vscode, true).slice(-3))}`;
  const first = await waitUntil(
    'Train to ask whether to continue, or the run to end',
    async () => ((await questionOpen(vscode)) ? 'question' : runsInLog(lensLog(vscode, true)).active === 0 ? 'ended' : undefined),
    120_000,
    what,
  );
  const busy = (await newToasts(vscode)).some((n) => BUSY.test(n)) ? 'busy, ' : '';
  if (first === 'question') return `${busy}question`;
  await press(vscode, 'train');
  await waitUntil('Train, pressed again, to ask whether to continue', async () => ((await questionOpen(vscode)) ? true : undefined), 120_000, what);
  return `${busy}ended, train again, question`;
}

/** Waits until every run in the log has ended and no question is open. */
async function idle(vscode: VSCode, what: string): Promise<void> {
  await waitUntil(
    what,
    async () => {
      if (await questionOpen(vscode)) await answerQuestion(vscode, 'dismiss');
      return runsInLog(lensLog(vscode, true)).active === 0 && (await vscode.quickInputRows()) === null ? true : undefined;
    },
    180_000,
    async () => `log: ${JSON.stringify(lensLog(vscode, true).slice(-4))}; status bar ${JSON.stringify(await vscode.statusBarText())}`,
  );
}

async function trainingStep(vscode: VSCode): Promise<{ step: number; total: number } | undefined> {
  const m = (await vscode.statusBarText()).map((t) => t.match(TRAINING_STATUS)).find((x) => x);
  return m ? { step: Number(m[1]), total: Number(m[2]) } : undefined;
}

test('Stop and Train pressed rapidly: one run at a time, each continuing where the last stopped, and a last run that finishes', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const settings = { 'lstmLens.hiddenSize': 24, 'lstmLens.steps': 100000, 'lstmLens.sequenceLength': 32, 'lstmLens.batchSize': 4 };
  const workspace = makeWorkspace(settings);
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-rapid', keybindings: KEYBINDINGS }, async (vscode) => {
      await vscode.openFile(FILE);
      await vscode.focusEditor();
      await press(vscode, 'train'); // no model yet: it trains at once
      await waitUntil('the first run to train', async () => ((await trainingStep(vscode))?.step ?? 0) > 0 ? true : undefined, 120_000, async () => JSON.stringify(await vscode.statusBarText()));

      // Stop and Train, back to back, eight times (Stop twice in some rounds). Train finds the run
      // still stopping (it says the file is busy, and Train is pressed again once the run has
      // ended) or finds it gone and asks whether to continue. In every other round Train is pressed
      // once more while the question is open. Every third round's question is dismissed, the
      // others answered "Continue training".
      const outcomes: string[] = [];
      for (let round = 1; round <= 8; round++) {
        await toastsQuiet(vscode);
        await vscode.focusEditor();
        await press(vscode, 'stop');
        if (round % 3 === 2) await press(vscode, 'stop');
        await press(vscode, 'train');
        let outcome = await settleStopAndTrain(vscode);
        if (round % 2 === 1) {
          // A second Train while the first one asks: it says the file is busy, and the question stays.
          await toastsQuiet(vscode);
          await press(vscode, 'train');
          await waitUntil('a second Train to say the file is busy', async () => ((await newToasts(vscode)).some((n) => BUSY.test(n)) ? true : undefined), 60_000, async () => JSON.stringify(await newToasts(vscode)));
          assert.ok(await questionOpen(vscode), 'the first Train\'s question is still open');
          outcome += ', train again: busy';
        }
        const answer = round % 3 === 0 ? 'dismiss' : 'continue';
        await answerQuestion(vscode, answer);
        outcomes.push(`${outcome}, ${answer === 'continue' ? 'continued' : 'dismissed'}`);
        console.log(`round ${round}: ${outcomes.at(-1)}`);
      }
      const rapid = runsInLog(lensLog(vscode));
      await vscode.screenshot('interruptions-1-rapid');

      // Then a last run of 150 steps, trained to its end.
      writeSettings(workspace, { ...settings, 'lstmLens.steps': 150 });
      let last: Run | undefined;
      for (let attempt = 1; !last; attempt++) {
        await vscode.focusEditor();
        await press(vscode, 'stop');
        await idle(vscode, 'every run to end before the last one');
        const before = runsInLog(lensLog(vscode)).runs.length;
        await vscode.focusEditor();
        await press(vscode, 'train');
        await waitUntil('Train to ask whether to continue', async () => ((await questionOpen(vscode)) ? true : undefined), 120_000);
        await answerQuestion(vscode, 'continue');
        const run = await waitUntil('the last run to start', () => {
          const { runs } = runsInLog(lensLog(vscode));
          return runs.length > before && runs[runs.length - 1].to !== null ? runs[runs.length - 1] : undefined;
        }, 60_000, () => JSON.stringify(lensLog(vscode).slice(-3)));
        // VS Code reads the changed settings file in its own time: until then a run still has 100,000 steps to go.
        if (run.to! - run.from! === 150) last = run;
        else assert.ok(attempt < 10, `the steps setting of 150 was not picked up: the run goes from ${run.from} to ${run.to}`);
      }
      const finished = await vscode.waitForNotification(/Training finished on fable\.txt: step (\d+)/, 300_000);
      await idle(vscode, 'the last run to end');
      await vscode.screenshot('interruptions-2-finished');

      // Never two runs of the file at once; each continued from the step the one before stopped at.
      const { runs, mostAtOnce } = runsInLog(lensLog(vscode));
      console.log(`runs: ${runs.map((r) => `${r.from}→${r.ended && r.ended.how !== 'other' ? `${r.ended.how} ${r.ended.step}` : JSON.stringify(r.ended)}`).join(', ')}`);
      assert.equal(mostAtOnce, 1, `at most one run of the file at a time; the log:\n${lensLog(vscode).join('\n')}`);
      assert.ok(rapid.runs.length >= 4, `the rapid presses started and stopped several runs (${rapid.runs.length})`);
      for (const [k, run] of runs.entries()) {
        assert.ok(run.from !== null && run.ended && run.ended.how !== 'other', `run ${k + 1} started and ended cleanly: ${JSON.stringify(run)}`);
        if (k > 0) {
          const previous = runs[k - 1].ended;
          assert.ok(previous && previous.how !== 'other');
          assert.equal(run.from, previous.step, `run ${k + 1} continues from the step run ${k} ended at`);
        }
      }
      const final = runs[runs.length - 1];
      assert.deepEqual(final.ended, { how: 'finished', step: final.from! + 150 });
      assert.equal(Number(finished[1]), final.from! + 150);

      // The checkpoint on disk is whole and holds that last step; no temporary file is left.
      const { checkpoints, temporary } = listModels(modelsFolder(vscode));
      assert.equal(checkpoints.length, 1, `one model for one file: ${JSON.stringify(checkpoints)}`);
      const ckpt = readWhole(checkpoints[0]);
      assert.equal(ckpt.training.step, final.from! + 150);
      assert.equal(ckpt.optimizer.step, ckpt.training.step);
      assert.deepEqual(temporary, [], 'every save completed');
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});

test('The window reloaded while a run writes its checkpoint: a whole checkpoint, a working extension, stale temporary files removed', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  // A big model (hidden 1024: a 53 MB checkpoint, written in a good part of a second) on tiny
  // batches: saves are long next to the steps between them (every 50).
  const steps = 100000;
  const workspace = makeWorkspace({ 'lstmLens.hiddenSize': 1024, 'lstmLens.steps': steps, 'lstmLens.sequenceLength': 4, 'lstmLens.batchSize': 1 });
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-reload', keybindings: KEYBINDINGS }, async (vscode) => {
      await vscode.openFile(FILE);
      await vscode.focusEditor();
      await press(vscode, 'train');
      const models = modelsFolder(vscode);
      const checkpoint = await waitUntil('the first checkpoint (step 50)', () => listModels(models).checkpoints[0], 300_000, async () => JSON.stringify(await vscode.statusBarText()));
      const saved = readWhole(checkpoint).training.step;
      console.log(`first checkpoint at step ${saved}`);

      // Temporary files of an earlier interrupted save: one two hours old, one just written (which
      // another window could be writing now).
      const base = path.basename(checkpoint);
      const stale = path.join(models, `.${base}.999999.0.1.tmp`);
      const fresh = path.join(models, `.${base}.999998.0.1.tmp`);
      for (const file of [stale, fresh]) fs.writeFileSync(file, 'half a checkpoint');
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      fs.utimesSync(stale, twoHoursAgo, twoHoursAgo);
      const planted = new Set([stale, fresh]);

      // Reload the moment the run starts its next save (its temporary file appears).
      await vscode.focusEditor();
      const writing = await new Promise<string | null>((resolve) => {
        const watcher = fs.watch(models, (_event, name) => {
          const file = name ? path.join(models, name.toString()) : '';
          if (file.endsWith('.tmp') && !planted.has(file)) {
            watcher.close();
            clearTimeout(timer);
            resolve(file);
          }
        });
        const timer = setTimeout(() => {
          watcher.close();
          resolve(null);
        }, 300_000);
      });
      await vscode.reloadWindow(KEYS.reload.press);
      console.log(`reloaded ${writing ? `while ${path.basename(writing)} was being written` : 'without seeing a save start'}`);

      // The old window's extension host (its process id is in the temporary file's name) ends, and
      // with it the run's worker: nothing writes the checkpoint any more.
      const oldHost = writing ? Number(path.basename(writing).split('.').at(-4)) : null;
      const alive = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch (e) {
          return (e as NodeJS.ErrnoException).code === 'EPERM';
        }
      };
      if (oldHost) await waitUntil(`the old window's extension host (process ${oldHost}) to exit`, () => (alive(oldHost) ? undefined : true), 60_000);
      await folderQuiet(models);
      // The checkpoint on disk is whole: the one before, or a newer one.
      const afterReload = readWhole(checkpoint);
      assert.ok(afterReload.training.step >= saved, `the checkpoint went back from step ${saved} to ${afterReload.training.step}`);
      const leftovers = listModels(models).temporary.filter((f) => !planted.has(f));
      const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
      console.log(
        `after the reload: checkpoint at step ${afterReload.training.step} (${mb(fs.statSync(checkpoint).size)}); ` +
          `${leftovers.length} temporary file(s) left by the interrupted save${leftovers.length ? ` (${leftovers.map((f) => mb(fs.statSync(f).size)).join(', ')})` : ''}`,
      );

      // The extension works after the reload. Its activation (the first command) removes the stale
      // temporary file only; the status bar shows the saved model while Train asks what to do.
      await vscode.openFile(FILE);
      await vscode.focusEditor();
      const since = vscode.now();
      await press(vscode, 'train');
      await waitUntil('Train to ask whether to continue', async () => ((await questionOpen(vscode)) ? true : undefined), 120_000, async () => JSON.stringify(await vscode.notifications()));
      assert.equal(fs.existsSync(stale), false, 'the stale temporary file is removed at activation');
      assert.equal(fs.existsSync(fresh), true, 'a fresh temporary file is left alone');
      for (const f of leftovers) assert.equal(fs.existsSync(f), true, `${path.basename(f)} is fresh, so it stays`);
      await waitUntil('the log to say one file was removed', () => (lensLog(vscode, true).some((l) => /removed 1 unfinished checkpoint file/.test(l)) ? true : undefined), 30_000, () => JSON.stringify(lensLog(vscode, true).slice(0, 5)));
      await vscode.waitForStatusBar(/LSTM loss \d+\.\d+/, 30_000);
      const offered = (await continueRow(vscode)).match(/step (\d+)/);
      const onDisk = readWhole(checkpoint).training.step;
      assert.equal(Number(offered?.[1]), onDisk, `the question offers the saved step: ${JSON.stringify(offered?.input)}`);

      // Continue training: the run goes on from the saved step, then stops and saves.
      await vscode.pickQuickItem('Continue training');
      await waitUntil(`the run to continue from step ${onDisk}`, async () => {
        const s = await trainingStep(vscode);
        return s && s.total === onDisk + steps && s.step > onDisk ? true : undefined;
      }, 180_000, async () => JSON.stringify(await vscode.statusBarText()));
      await vscode.focusEditor();
      await press(vscode, 'stop');
      const stopped = await vscode.waitForNotification(/Training stopped on fable\.txt: step (\d+)/, 120_000, since);
      await idle(vscode, 'the run to end');
      assert.ok(Number(stopped[1]) > onDisk);
      assert.equal(readWhole(checkpoint).training.step, Number(stopped[1]), 'the checkpoint holds the step it stopped at');
      await vscode.screenshot('interruptions-3-after-reload');

      // Ten minutes on (the temporary files made old), the window is reloaded again, this time while
      // a continued run trains between two saves (every 50 steps); the next activation removes every
      // old temporary file.
      const remaining = listModels(models).temporary;
      for (const f of remaining) fs.utimesSync(f, twoHoursAgo, twoHoursAgo);
      await vscode.focusEditor();
      await press(vscode, 'train');
      await waitUntil('Train to ask whether to continue', async () => ((await questionOpen(vscode)) ? true : undefined), 120_000);
      await answerQuestion(vscode, 'continue');
      const resumedFrom = Number(stopped[1]);
      const between = await waitUntil('the run to be 10 to 40 steps past a save', async () => {
        const s = await trainingStep(vscode);
        return s && s.step > resumedFrom + 5 && s.step % 50 >= 10 && s.step % 50 <= 40 ? s.step : undefined;
      }, 300_000, async () => JSON.stringify(await vscode.statusBarText()));
      await vscode.focusEditor();
      await vscode.reloadWindow(KEYS.reload.press);
      await folderQuiet(models);
      const onTheWayOut = readWhole(checkpoint).training.step;
      console.log(`reloaded at step ${between} of a run, between two saves: the checkpoint after the reload is at step ${onTheWayOut}`);
      assert.ok(onTheWayOut >= resumedFrom, `the checkpoint went back from step ${resumedFrom} to ${onTheWayOut}`);
      // deactivate() stops every run and waits for its final save, so the reload keeps the last steps.
      assert.ok(onTheWayOut >= between, `reloaded at step ${between}; the checkpoint holds step ${onTheWayOut}`);

      await vscode.openFile(FILE);
      await vscode.focusEditor();
      await press(vscode, 'train');
      await waitUntil('Train to ask whether to continue', async () => ((await questionOpen(vscode)) ? true : undefined), 120_000);
      await answerQuestion(vscode, 'dismiss');
      for (const f of remaining) assert.equal(fs.existsSync(f), false, `${path.basename(f)}, old, is removed`);
      const tenMinutesAgo = Date.now() - 10 * 60_000;
      assert.deepEqual(listModels(models).temporary.filter((f) => fs.statSync(f).mtimeMs < tenMinutesAgo), [], 'no old temporary file is left');
      const removed = new RegExp(`removed ${remaining.length} unfinished checkpoint file`);
      await waitUntil(`the log to say ${remaining.length} files were removed`, () => (lensLog(vscode, true).some((l) => removed.test(l)) ? true : undefined), 30_000, () => JSON.stringify(lensLog(vscode, true).slice(0, 5)));
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
