// A newcomer's first minutes in a real VS Code (code-server + headless Chromium): train from the
// palette with no panel open, then open Inspect States and find the run's loss curve (drawn from the
// checkpoint); the trace is named by its lines and the cursor; pick a unit, see it coloured in the
// editor on the traced line; move the cursor and see the colours move with the new trace (the old
// line loses them); press Clear and every colour goes; the hover writes a space as ␣; generated
// text is marked briefly; the log names the settings as name=value; a run watched in the panel
// ends as "finished" with its average speed. Run by `npm run test:e2e` after
// `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, waitUntil, withVSCode, type VSCode } from './harness';
import { assertNothingFailed, lensLog } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FILE = 'fable.txt';
const STEPS = 60;
/** Train by a key (a user keybinding): the palette's quick input would be the one the "Continue training" question reuses. */
const TRAIN_KEY = { press: 'Control+Alt+Shift+F10', key: 'ctrl+alt+shift+f10', command: 'lstmLens.train' };
const SETTINGS = {
  'lstmLens.backend': 'cpu',
  'lstmLens.hiddenSize': 16,
  'lstmLens.sequenceLength': 16,
  'lstmLens.batchSize': 4,
  'lstmLens.steps': STEPS,
  // A trace shorter than a line: the colours of one trace stay on the cursor's line.
  'lstmLens.traceLength': 30,
  'lstmLens.length': 40,
  'lstmLens.temperature': 0,
};

/**
 * The fable in numbered lines ("07 the mice …"), so that every line's text is its own, each longer
 * than the trace (36 characters or more: the last 30 tokens before a line's end lie on that line).
 */
function numberedLines(): string[] {
  const words = fs.readFileSync(path.join(REPO_ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8').split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    line = line ? `${line} ${w}` : w;
    if (line.length >= 33) {
      lines.push(line);
      line = '';
    }
  }
  return lines.slice(0, 30).map((l, k) => `${String(k + 1).padStart(2, '0')} ${l}`);
}

/** The texts of the editor's lines that carry a unit's colours (LSTM Lens's blues and reds). */
async function colouredLines(vscode: VSCode): Promise<string[]> {
  return vscode.page.evaluate(() => {
    const lines = Array.from(document.querySelectorAll<HTMLElement>('.monaco-editor .view-line')).map((l) => ({
      top: Math.round(l.getBoundingClientRect().top),
      text: (l.textContent ?? '').replace(/\u00a0/g, ' '),
    }));
    const coloured = Array.from(document.querySelectorAll<HTMLElement>('.monaco-editor .view-overlays div, .monaco-editor .view-line span span')).filter((e) =>
      /rgba\((33, 102, 172|178, 24, 43)/.test(getComputedStyle(e).backgroundColor),
    );
    const texts = new Set(coloured.map((e) => {
      const top = Math.round(e.getBoundingClientRect().top);
      return lines.find((l) => Math.abs(l.top - top) <= 3)?.text ?? `? at ${top}`;
    }));
    return [...texts].sort();
  });
}

/** Puts the cursor at the end of a 1-based line (the file's editor takes the focus back from the panel first). */
async function cursorToEndOfLine(vscode: VSCode, line: number): Promise<void> {
  // A click in the text takes the keyboard from the panel (whose webview keeps keys otherwise).
  await vscode.page.locator('.monaco-editor .view-lines').first().click({ position: { x: 5, y: 5 } });
  await vscode.focusEditor();
  await vscode.page.keyboard.press('Control+Home');
  for (let k = 1; k < line; k++) await vscode.page.keyboard.press('ArrowDown');
  await vscode.page.keyboard.press('End');
}

test('after a palette run the panel shows the loss curve; a unit\'s colours follow the cursor\'s trace, and Clear removes them', { timeout: 400_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-newcomer-'));
  const lines = numberedLines();
  assert.ok(lines.length >= 20 && lines.every((l) => l.length > 30), 'lines longer than the trace');
  fs.writeFileSync(path.join(workspace, FILE), `${lines.join('\n')}\n`);
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-newcomer', keybindings: [{ key: TRAIN_KEY.key, command: TRAIN_KEY.command }] }, async (vscode) => {
      await vscode.openFile(FILE);
      // 1. Train from the palette, no panel open.
      const since = vscode.now();
      await vscode.runCommand('LSTM Lens: Train LSTM on This File');
      const done = await vscode.waitForNotification(/Training finished on fable\.txt: step (\d+), loss [\d.]+, ([\d.]+[kM]?) tokens\/s on average/, 180_000, since);
      assert.equal(Number(done[1]), STEPS);

      // 2. Inspect States: the Training tab draws the run's curve from the checkpoint.
      await cursorToEndOfLine(vscode, 12);
      await vscode.runCommand('LSTM Lens: Inspect States');
      const frame = await vscode.frameWith('#shapes [data-tensor="input"]', 60_000);
      await frame.click('#tab-training');
      const chart = await waitUntil(
        'the loss curve of the checkpoint',
        async () => {
          const c = await frame.evaluate(() => {
            const fig = document.getElementById('chart-loss');
            return fig ? { points: fig.dataset.points ?? '', placeholder: document.querySelector('#training .placeholder')?.textContent ?? null, source: document.getElementById('loss-source')?.dataset.source ?? '' } : null;
          });
          return c && Number(c.points) > 0 ? c : undefined;
        },
        30_000,
      );
      assert.equal(chart.placeholder, null, 'no "No training run seen yet"');
      assert.equal(chart.source, 'checkpoint');
      assert.equal(Number(chart.points), STEPS, 'one point per step');
      await vscode.screenshot('newcomer-1-training');

      // 3. The trace's heading names its span: the last 30 tokens up to the cursor at the end of line 12.
      const heading = await waitUntil('the trace to be named', async () => {
        const text = ((await frame.locator('#sequence').textContent()) ?? '').replace(/\s+/g, ' ');
        return /up to the cursor/.test(text) ? text : undefined;
      }, 30_000);
      assert.match(heading, new RegExp(`line 12, up to the cursor at 12:${lines[11].length + 1}: the last 30 of \\d+ tokens`));

      // 4. A unit of h, picked in the States tab, colours the traced tokens: on line 12 only.
      await frame.click('#tab-states');
      const h = frame.locator('#states canvas[data-tensor="h"]');
      await waitUntil('the h heatmap', async () => ((await h.boundingBox()) ? true : undefined), 30_000);
      const box = await h.boundingBox();
      assert.ok(box);
      await h.click({ position: { x: box.width * 0.5, y: box.height * 0.3 } });
      const before = await waitUntil('line 12 to be coloured', async () => {
        const c = await colouredLines(vscode);
        return c.length > 0 ? c : undefined;
      }, 30_000);
      assert.deepEqual(before, [lines[11]]);
      await vscode.screenshot('newcomer-2-unit-on-line-12');

      // 5. The cursor moves to line 3: the colours follow the new trace (line 3), line 12 loses them.
      await cursorToEndOfLine(vscode, 3);
      const after = await waitUntil('the colours to move to line 3', async () => {
        const c = await colouredLines(vscode);
        return c.length === 1 && c[0] === lines[2] ? c : undefined;
      }, 30_000, async () => JSON.stringify(await colouredLines(vscode)));
      assert.deepEqual(after, [lines[2]]);
      await vscode.screenshot('newcomer-3-unit-follows-to-line-3');

      // 6. Clear removes every colour.
      await frame.click('#clear-highlight');
      await waitUntil('no colours left', async () => ((await colouredLines(vscode)).length === 0 ? true : undefined), 30_000, async () => JSON.stringify(await colouredLines(vscode)));
      // …and they do not come back with the next trace.
      await cursorToEndOfLine(vscode, 5);
      await waitUntil('the trace of line 5', async () => (/at 5:/.test((await frame.locator('#sequence').textContent()) ?? '') ? true : undefined), 30_000);
      assert.deepEqual(await colouredLines(vscode), []);
      await vscode.screenshot('newcomer-4-cleared');

      // 7. The hover writes a predicted space as ␣ (it showed an empty box): after "Long", a
      // character model's guesses include the space that follows every word.
      const at = await vscode.page.evaluate(() => {
        for (const line of Array.from(document.querySelectorAll('.monaco-editor .view-line'))) {
          const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const k = (node.textContent ?? '').indexOf('Long');
            if (k < 0) continue;
            const range = document.createRange();
            range.setStart(node, k);
            range.setEnd(node, k + 4);
            const r = range.getBoundingClientRect();
            return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
          }
        }
        return null;
      });
      assert.ok(at, 'the word "Long" is on screen');
      await vscode.page.mouse.move(at.x - 20, at.y + 40);
      await vscode.page.mouse.move(at.x, at.y, { steps: 5 });
      const hover = await waitUntil('a hover with the model\'s predictions', async () => {
        const text = (await vscode.page.locator('.monaco-hover').allTextContents()).join(' ');
        return /the model expects/.test(text) && /%/.test(text) ? text : undefined;
      }, 30_000);
      assert.match(hover, /after g the model expects/); // a character model: the last character of "Long"
      assert.match(hover, /␣\s*[\d.]+%/, `a space is shown as ␣: ${hover}`);
      await vscode.screenshot('newcomer-5-hover');
      await vscode.page.mouse.move(5, 5);

      // 8. Generated text is marked in the editor, then the mark goes (after a couple of seconds).
      const marks = async (): Promise<number> =>
        vscode.page.evaluate(() => document.querySelectorAll('.monaco-editor .view-overlays div[class*="ced-"]').length);
      assert.equal(await marks(), 0, 'no decoration before generating');
      await vscode.setCursorToEnd();
      const generating = vscode.now();
      await vscode.runCommand('LSTM Lens: Generate Text at Cursor');
      await waitUntil('the generated text to be marked', async () => ((await marks()) > 0 ? true : undefined), 30_000);
      await vscode.screenshot('newcomer-6-generated-marked');
      await waitUntil('the mark to fade', async () => ((await marks()) === 0 ? true : undefined), 30_000);
      assert.ok(vscode.notificationHistory(generating).every((n) => !/generation failed/.test(n.text)));

      // 9. The log: the run's settings as name=value, no JSON blob, no event-loop diagnostic (lstmLens.diagnostics is off).
      const log = lensLog(vscode);
      const settingsLine = log.find((l) => /training on fable\.txt on the CPU/.test(l)) ?? '';
      assert.match(settingsLine, /settings tokens=char mode=many-to-many hiddenSize=16 layers=1 .*steps=60 /);
      assert.ok(!/\{/.test(settingsLine), settingsLine);
      assert.ok(!log.some((l) => /event loop/.test(l)), 'no diagnostic unless asked for');

      // 10. A run watched in the panel ends as "finished", with its average speed (it read "60/60 stopped", "0 tokens/s").
      await vscode.page.locator('.monaco-editor .view-lines').first().click({ position: { x: 5, y: 5 } });
      const again = vscode.now();
      await vscode.page.keyboard.press(TRAIN_KEY.press);
      await vscode.pickQuickItem(/^Continue training/, 30_000);
      await vscode.waitForNotification(/Training finished on fable\.txt: step 120/, 180_000, again);
      const ended = await waitUntil('the panel to say the run finished', async () => {
        const header = ((await frame.locator('header.top').textContent()) ?? '').replace(/\s+/g, ' ');
        return /finished · step 120/.test(header) ? header : undefined;
      }, 30_000, async () => ((await frame.locator('header.top').textContent()) ?? ''));
      assert.doesNotMatch(ended, /stopped/);
      await frame.click('#tab-training');
      const speed = ((await frame.locator('#stat-speed').textContent()) ?? '').replace(/\s+/g, ' ');
      assert.match(speed, /average over the run/);
      assert.doesNotMatch(speed, /Tokens \/ s\s*0\b/);
      await vscode.screenshot('newcomer-7-finished');
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
