// Inspect States in a real VS Code (code-server + headless Chromium): train the article's setup on
// its eleven words, open the panel, read the article's shapes in it, see the heatmaps drawn, pick a
// unit and see the editor's text coloured by it. Run by `npm run test:e2e` after `npm run package`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, waitUntil, withVSCode } from './harness';
import { assertNothingFailed } from './lens';

const VSIX = path.join(REPO_ROOT, 'lstm-lens.vsix');
const FILE = 'article.txt';
const ARTICLE = 'long ago the mice had a general council to consider the\n';

/** The article's setup: word-level, many-to-one, one-hot, sequence 3, batch 1, hidden 5, every weight 0.1, SGD. */
const ARTICLE_SETTINGS = {
  'lstmLens.tokens': 'word',
  'lstmLens.mode': 'many-to-one',
  'lstmLens.embeddingSize': 0,
  'lstmLens.sequenceLength': 3,
  'lstmLens.batchSize': 1,
  'lstmLens.hiddenSize': 5,
  'lstmLens.optimizer': 'sgd',
  'lstmLens.learningRate': 1,
  'lstmLens.gradientClip': 0,
  'lstmLens.initialization': 'constant',
  'lstmLens.steps': 3000,
};

test("Inspect States shows the article's shapes and draws the heatmaps of a real run", { timeout: 300_000 }, async () => {
  assert.ok(fs.existsSync(VSIX), `${VSIX} does not exist: build it with \`npm run package\``);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-panel-'));
  fs.writeFileSync(path.join(workspace, FILE), ARTICLE);
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(ARTICLE_SETTINGS, null, 2));
  try {
    await withVSCode({ vsix: VSIX, workspace, name: 'lstm-lens-panel' }, async (vscode) => {
      await vscode.openFile(FILE);
      const since = vscode.now();
      await vscode.runCommand('LSTM Lens: Train LSTM on This File');
      await vscode.waitForNotification(/Training finished/, 120_000, since);

      await vscode.setCursorToEnd();
      await vscode.runCommand('LSTM Lens: Inspect States');
      const frame = await vscode.frameWith('#shapes [data-tensor="input"]', 60_000);
      const shape = async (tensor: string) => ((await frame.locator(`#shapes [data-tensor="${tensor}"]`).first().textContent()) ?? '').replace(/\s+/g, ' ');
      // The article: input (1, 3, 10); the outputs of every step (1, 3, 5); final c and h (1, 5).
      assert.match(await shape('input'), /\(1, 3, 10\)/);
      assert.match(await shape('output_l0'), /\(1, 3, 5\)/);
      assert.match(await shape('c_l0'), /\(1, 5\)/);
      assert.match(await shape('h_l0'), /\(1, 5\)/);
      await vscode.screenshot('panel-1-shapes');

      // The states over time of the text before the cursor: six heatmaps, drawn with more than one colour.
      await frame.click('#tab-states');
      const drawn = await waitUntil(
        'the state heatmaps to be drawn',
        async () => {
          const maps = await frame.evaluate(() =>
            Array.from(document.querySelectorAll<HTMLCanvasElement>('#states canvas.hm-canvas')).map((c) => {
              const ctx = c.getContext('2d');
              if (!ctx || c.width === 0 || c.height === 0) return { tensor: c.dataset.tensor ?? '', colours: 0 };
              const data = ctx.getImageData(0, 0, c.width, c.height).data;
              const colours = new Set<number>();
              for (let k = 0; k < data.length; k += 4) colours.add((data[k] << 16) | (data[k + 1] << 8) | data[k + 2]);
              return { tensor: c.dataset.tensor ?? '', colours: colours.size };
            }),
          );
          return maps.length >= 6 && maps.every((m) => m.colours >= 2) ? maps : undefined;
        },
        60_000,
      );
      assert.deepEqual(drawn.map((m) => m.tensor).sort(), ['c', 'f', 'g', 'h', 'i', 'o']);
      await vscode.screenshot('panel-2-states');

      // Picking a unit colours the text in the editor.
      const box = await frame.locator('#states canvas[data-tensor="h"]').boundingBox();
      assert.ok(box, 'the h heatmap has a size');
      await frame.locator('#states canvas[data-tensor="h"]').click({ position: { x: box.width * 0.5, y: box.height * 0.3 } });
      await waitUntil(
        'the editor to show the unit as coloured backgrounds',
        async () => {
          const n = await vscode.page.evaluate(() =>
            Array.from(document.querySelectorAll<HTMLElement>('.monaco-editor .view-overlays div, .monaco-editor .view-line span span')).filter((e) => {
              const bg = getComputedStyle(e).backgroundColor;
              return /rgba\((33, 102, 172|178, 24, 43)/.test(bg);
            }).length,
          );
          return n >= 2 ? n : undefined;
        },
        30_000,
      );
      await vscode.screenshot('panel-3-unit-in-editor');

      // Hovering a word of a file with a model shows what the model expects next.
      const at = await vscode.page.evaluate(() => {
        // The middle of the word "general" on the editor's first line, from the rendered text.
        for (const line of Array.from(document.querySelectorAll('.monaco-editor .view-line'))) {
          const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const k = (node.textContent ?? '').indexOf('general');
            if (k < 0) continue;
            const range = document.createRange();
            range.setStart(node, k);
            range.setEnd(node, k + 'general'.length);
            const r = range.getBoundingClientRect();
            return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
          }
        }
        return null;
      });
      assert.ok(at, 'the word "general" is on screen');
      await vscode.page.mouse.move(at.x - 20, at.y + 40);
      await vscode.page.mouse.move(at.x, at.y, { steps: 5 });
      const hover = await waitUntil(
        'a hover with the model\'s predictions',
        async () => {
          const text = (await vscode.page.locator('.monaco-hover').allTextContents()).join(' ');
          return /LSTM Lens/.test(text) && /%/.test(text) ? text : undefined;
        },
        30_000,
      );
      assert.match(hover, /after general the model expects/);
      await vscode.screenshot('panel-4-hover');
      assertNothingFailed(vscode);
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
