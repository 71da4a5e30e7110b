// The Step tab in a real VS Code (code-server + headless Chromium): train a short run on a fable,
// put the cursor at the end of its first line, run Explain Step at Cursor and read that token's step
// with its numbers; move through time with ◀ ▶ and the arrow keys and see t and the numbers change;
// read the backward pass add up (dh = dh_up + dh_next, dc = dc_via_h + dc_next); see the memory span
// coloured on the later tokens in the editor, and gone once another tab is shown. Screenshots in the
// dark theme and the light one. Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Frame } from 'playwright-core';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed, editorColoured, SHORT_WORD_RUN } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FILE = 'fable.txt';
const TEXT = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');

/** A short word-level run: a few seconds on the CPU. */
const SETTINGS = {
  ...SHORT_WORD_RUN,
  'lstmLens.optimizer': 'adam',
  'lstmLens.learningRate': 0.01,
  'lstmLens.steps': 150,
  // The fable's first line is long: wrapped, its end (where the cursor goes) and the span stay on screen.
  'editor.wordWrap': 'on',
};

/** The memory span's colour in the editor (src/extension/inspectPanel.ts). */
const SPAN_COLOUR = /rgba\(0, 150, 136/;

interface Shown {
  t: number;
  where: string;
  /** Every number the equations show, by field and index. */
  numbers: Record<string, string>;
}

/** What the Step tab shows once it has the explanation of the step it names. */
async function shown(frame: Frame): Promise<Shown | undefined> {
  return frame.evaluate(() => {
    const where = document.querySelector<HTMLElement>('#step-where');
    const nums = Array.from(document.querySelectorAll<HTMLElement>('#step .eq .num'));
    if (!where || nums.length === 0) return undefined;
    const numbers: Record<string, string> = {};
    for (const n of nums) numbers[`${n.dataset.field}[${n.dataset.index}]`] = n.textContent ?? '';
    return { t: Number(where.dataset.t), where: where.textContent ?? '', numbers };
  });
}

/** Waits until the Step tab shows step t, explained. */
async function waitForStep(frame: Frame, t: number): Promise<Shown> {
  return waitUntil(
    `the Step tab to show step ${t} with its numbers`,
    async () => {
      const s = await shown(frame);
      // The lede names the explained step: the numbers are those of t, not of the step before.
      const lede = (await frame.locator('#step .lede').textContent().catch(() => null)) ?? '';
      return s && s.t === t && lede.includes(`step t = ${t} `) ? s : undefined;
    },
    60_000,
  );
}

/** The numbers of one equation's unit line, in order. */
async function unitLine(frame: Frame, eq: string, line: number): Promise<number[]> {
  const texts = await frame.locator(`#step [data-eq="${eq}"] .eq-unit`).nth(line).locator('.num').allTextContents();
  return texts.map(Number);
}

/** a + b = c as the panel prints them (4 significant digits each). */
function assertSum(what: string, [a, b, c]: number[]): void {
  const slack = 5e-4 * (Math.abs(a) + Math.abs(b) + Math.abs(c)) + 1e-6;
  assert.ok(Math.abs(a + b - c) <= slack, `${what}: ${a} + ${b} = ${c}?`);
}

/** Editor elements painted with the memory span's colour. */
const spanColoured = (vscode: VSCode): Promise<number> => editorColoured(vscode, SPAN_COLOUR);

test('Explain Step at Cursor: the Step tab shows the step with its numbers, moves with ◀ ▶ and the arrow keys, and colours the memory span in the editor', { timeout: 400_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-step-'));
  fs.writeFileSync(path.join(workspace, FILE), TEXT);
  fs.mkdirSync(path.join(workspace, '.vscode'));
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify({ ...SETTINGS, 'workbench.colorTheme': 'Default Dark Modern' }, null, 2));
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-step' }, async (vscode) => {
      await vscode.openFile(FILE);
      const since = vscode.now();
      await vscode.runCommand('LSTM Lens: Train LSTM on This File');
      await vscode.waitForNotification(/Training finished/, 180_000, since);

      // The cursor at the end of the first line as wrapped: the step is the token before it.
      await vscode.focusEditor();
      await vscode.page.keyboard.press('Control+Home');
      await vscode.page.keyboard.press('End');
      await vscode.runCommand('LSTM Lens: Explain Step at Cursor');
      const frame = await vscode.frameWith('#step-where', 90_000);
      const first = await waitUntil(
        'the Step tab to show the step before the cursor',
        async () => {
          const s = await shown(frame);
          return s;
        },
        90_000,
      );
      // The step is the last of the trace (it ends at the cursor): ▶ is off, ◀ on.
      assert.equal(await frame.locator('#step-next').getAttribute('disabled'), '');
      assert.equal(await frame.locator('#step-prev').getAttribute('disabled'), null);
      assert.match(first.where, new RegExp(`t = ${first.t} of ${first.t + 1}`));
      // Forward: every equation with numbers, c = f·c_prev + i·g and h = o·tanh(c) for unit 0.
      for (const eq of ['input', 'z', 'gates', 'c', 'h']) assert.ok((await frame.locator(`#step [data-eq="${eq}"] .num`).count()) > 0, `${eq} has numbers`);
      const [f, cPrev, i, g, c] = await unitLine(frame, 'c', 0);
      assert.ok(Math.abs(f * cPrev + i * g - c) <= 5e-4 * (Math.abs(f * cPrev) + Math.abs(i * g) + Math.abs(c)) + 1e-6, `c = ${f}·${cPrev} + ${i}·${g} = ${c}?`);
      assert.ok(f > 0 && f < 1 && i > 0 && i < 1 && Math.abs(g) < 1, 'the gates are in their ranges');
      // The last step this direction reads: nothing comes back from a next step, and the tab says why.
      assert.equal(first.numbers['backward.dh_next[0]'], '0');
      assert.match((await frame.locator('#step [data-note="dh"]').textContent()) ?? '', /dh_next is zero: this is the last step/);
      await vscode.screenshot('step-1-forward-dark');

      // ◀, the Left arrow key, ▶, the Right arrow key: t moves and the numbers with it.
      await frame.click('#step-prev');
      const back1 = await waitForStep(frame, first.t - 1);
      await frame.click('#step h2');
      await vscode.page.keyboard.press('ArrowLeft');
      const back2 = await waitForStep(frame, first.t - 2);
      await frame.click('#step-next');
      const again1 = await waitForStep(frame, first.t - 1);
      await frame.click('#step h2');
      await vscode.page.keyboard.press('ArrowRight');
      const again0 = await waitForStep(frame, first.t);
      for (const [a, b] of [[first, back1], [back1, back2]] as const) {
        assert.notDeepEqual(a.numbers, b.numbers, `the numbers of t = ${a.t} and t = ${b.t} differ`);
        assert.notEqual(a.numbers['forward.c[0]'], b.numbers['forward.c[0]'], `c[0] at t = ${a.t} and t = ${b.t}`);
      }
      // The same step explained again by the same weights: the same numbers.
      assert.deepEqual(again1.numbers, back1.numbers);
      assert.deepEqual(again0.numbers, first.numbers);

      // Backward, at an inner step: dh = dh_up + dh_next, dc = dc_via_h + dc_next, both parts at work.
      // (Not the step before the last: the last token predicts nothing, so its dz, and the dh_next it sends back, are zero.)
      await frame.click('#step-prev');
      await waitForStep(frame, first.t - 1);
      await frame.click('#step-prev');
      await waitForStep(frame, first.t - 2);
      const dh = await unitLine(frame, 'dh', 0);
      assertSum('dh = dh_up + dh_next', dh);
      assert.ok(dh[1] !== 0, 'dh_next is not zero before the last step');
      assertSum('dc = dc_via_h + dc_next', await unitLine(frame, 'dc', 1));

      // The memory span in the editor: the two tokens after t coloured.
      await waitUntil('the memory span to colour the editor', async () => ((await spanColoured(vscode)) >= 1 ? true : undefined), 30_000);
      await frame.locator('#step-backward').scrollIntoViewIfNeeded();
      await vscode.screenshot('step-2-backward-dark');

      // The light theme: the same tab, readable.
      fs.writeFileSync(settingsFile, JSON.stringify({ ...SETTINGS, 'workbench.colorTheme': 'Default Light Modern' }, null, 2));
      await waitUntil(
        'the light theme, in the panel and the workbench',
        async () => ((await frame.evaluate(() => document.body.classList.contains('vscode-light'))) && (await vscode.page.locator('.monaco-workbench.vs').count()) > 0 ? true : undefined),
        30_000,
      );
      await frame.locator('#step h2').scrollIntoViewIfNeeded();
      await vscode.screenshot('step-3-forward-light');
      await frame.locator('#step-backward').scrollIntoViewIfNeeded();
      await vscode.screenshot('step-4-backward-light');
      await frame.locator('#step-memory').scrollIntoViewIfNeeded();
      await vscode.screenshot('step-5-memory-light');

      // Another tab: the editor's span colours go.
      await frame.click('#tab-states');
      await waitUntil('the memory span to leave the editor', async () => ((await spanColoured(vscode)) === 0 ? true : undefined), 30_000);
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
