// The Inspect States webview in headless Chromium: the real page (panelHtml) with the real bundle
// (dist/webview.js, dist/webview.css), fed the messages of a recorded training run.
// Needs `npm run build` first (npm test does it) and Chromium at /usr/bin/chromium.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { Trainer } from '../../src/engine/trainer';
import { at, type HostToPanel, type TraceMessage, type TrainingMessage } from '../../src/protocol/panel';
import { checkpointFacts, modelMessage, traceMessage } from '../../src/run/panelData';
import { loadRecording, panelHostForFile, post, posted, ROOT, settle, showTab } from './harness';
import { THEMES, type ThemeName } from './themes';

const SCREENSHOTS = join(ROOT, 'test', 'webview', 'screenshots');
const article = loadRecording('article');
const fable = loadRecording('fable-char');

const { withPanel } = panelHostForFile();

function lastTrace(messages: HostToPanel[]): TraceMessage {
  const trace = [...messages].reverse().find((m): m is TraceMessage => m.type === 'trace');
  assert.ok(trace, 'the recording has a trace');
  return trace;
}

interface MapInfo {
  section: string;
  tensor: string;
  width: number;
  height: number;
  rows: number;
  cols: number;
  cellW: number;
  cellH: number;
  cssWidth: number;
  cssHeight: number;
  colours: number;
}

/** Every heatmap canvas: its size attributes, its cell, and how many distinct colours it holds. */
function readMaps(page: Page): Promise<MapInfo[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLCanvasElement>('canvas.hm-canvas')).map((c) => {
      const ctx = c.getContext('2d');
      const colours = new Set<number>();
      if (ctx && c.width > 0 && c.height > 0) {
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      }
      return {
        section: c.closest('section.section')?.id ?? '',
        tensor: c.dataset.tensor ?? '',
        width: c.width,
        height: c.height,
        rows: Number(c.dataset.rows),
        cols: Number(c.dataset.cols),
        cellW: Number(c.dataset.cellW),
        cellH: Number(c.dataset.cellH),
        // Its CSS size (the tab may be hidden, with no layout): the same pixels, not rescaled.
        cssWidth: parseFloat(c.style.width),
        cssHeight: parseFloat(c.style.height),
        colours: colours.size,
      };
    }),
  );
}

/** The centre of cell (row, col) of a heatmap, in page coordinates. */
async function cellCentre(page: Page, selector: string, row: number, col: number): Promise<{ x: number; y: number }> {
  const canvas = page.locator(selector);
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  assert.ok(box, `${selector} is laid out`);
  const cell = await canvas.evaluate((c: HTMLCanvasElement) => ({ w: Number(c.dataset.cellW), h: Number(c.dataset.cellH), width: c.width }));
  const scale = box.width / cell.width;
  return { x: box.x + (col + 0.5) * cell.w * scale, y: box.y + (row + 0.5) * cell.h * scale };
}

async function tooltip(page: Page): Promise<{ hidden: boolean; data: Record<string, string>; value: string; text: string }> {
  return page.evaluate(() => {
    const t = document.getElementById('tooltip');
    if (!t) throw new Error('no #tooltip');
    return { hidden: t.hidden, data: { ...t.dataset } as Record<string, string>, value: t.querySelector('[data-part="value"]')?.textContent ?? '', text: t.textContent ?? '' };
  });
}

/** The printed value agrees with the exact one to its 4 significant digits. */
function assertPrinted(printed: string, exact: number, what: string): void {
  const shown = Number(printed.replace('−', '-'));
  assert.ok(Number.isFinite(shown), `${what}: "${printed}" is a number`);
  const tolerance = Math.abs(exact) * 5e-4 + 1e-12;
  assert.ok(Math.abs(shown - exact) <= tolerance, `${what}: printed ${printed}, recorded ${exact}`);
}

async function chooseLayer(page: Page, layer: number): Promise<void> {
  await page.click('#layer');
  await page.click(`#layer vscode-option[value="${layer}"]`);
  await page.waitForFunction((l) => (document.getElementById('layer') as HTMLElement & { value: string }).value === String(l), layer);
  await settle(page);
}

test('sends ready first, then draws the article’s shapes; no CSP violation or error', async () => {
  await withPanel({}, async ({ page }) => {
    assert.deepEqual(await posted(page), [{ type: 'ready' }]);
    await post(page, article);
    const text = (tensor: string) => page.locator(`#shapes [data-tensor="${tensor}"]`).first().textContent();
    assert.match((await text('input')) ?? '', /input.*\(1, 3, 10\)/);
    assert.match((await text('output_l0')) ?? '', /\(1, 3, 5\)/);
    assert.match((await text('c_l0')) ?? '', /c_l0\s*\(1, 5\)/);
    assert.match((await text('h_l0')) ?? '', /h_l0\s*\(1, 5\)/);
    assert.match((await text('logits')) ?? '', /\(1, 10\)/);
    const table = (await page.locator('#parameter-table').textContent()) ?? '';
    assert.match(table, /lstm\.weight_ih_l0\s*\(20, 10\)\s*200/);
    assert.match(table, /total\s*400/);
    assert.equal((await posted(page)).length, 1, 'drawing posts nothing');
  });
});

test('every heatmap is T·cell × H·cell (or cols·cell × rows·cell), drawn at that size, with varied pixels', async () => {
  for (const [name, messages] of [['article', article], ['fable-char', fable]] as const) {
    const trace = lastTrace(messages);
    await withPanel({}, async ({ page }) => {
      await post(page, messages);
      const maps = await readMaps(page);
      const states = maps.filter((m) => m.section === 'states');
      const gradients = maps.filter((m) => m.section === 'gradients' && (m.tensor === 'dh' || m.tensor === 'dc'));
      const blocks = maps.filter((m) => m.section === 'gradients' && m.tensor.includes('.'));
      assert.deepEqual(states.map((m) => m.tensor), ['i', 'f', 'g', 'o', 'c', 'h'], name);
      assert.deepEqual(gradients.map((m) => m.tensor), ['dh', 'dc'], name);
      assert.deepEqual(blocks.map((m) => m.tensor), ['i', 'f', 'g', 'o'].flatMap((g) => [`W_ih.${g}`, `W_hh.${g}`]), `${name}: W_ih and W_hh for each gate`);
      const bars = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLCanvasElement>('#gradients canvas.bias-bars')).map((c) => ({ tensor: c.dataset.tensor, rows: Number(c.dataset.rows) })));
      assert.deepEqual(bars, ['i', 'f', 'g', 'o'].map((g) => ({ tensor: `b.${g}`, rows: trace.H })), `${name}: the biases as bars, one per unit`);
      for (const m of [...states, ...gradients]) {
        const what = `${name} ${m.section} ${m.tensor}`;
        assert.equal(m.rows, trace.H, what);
        assert.equal(m.cols, trace.T, what);
        // Cells no taller than wide (but wide enough for their values), and a map about 520 px tall at most.
        assert.ok(m.cellH <= m.cellW || m.cellW >= 44, `${what}: cells no taller than wide, or cells that hold a number`);
        assert.ok(m.height <= 560, `${what}: ${m.height} px tall`);
        assert.ok(m.cellW >= 8, `${what}: a step is at least 8 px wide`);
        assert.equal(m.width, trace.T * m.cellW, `${what}: width = T·cell`);
        assert.equal(m.height, trace.H * m.cellH, `${what}: height = H·cell`);
        assert.deepEqual([m.cssWidth, m.cssHeight], [m.width, m.height], `${what}: not rescaled by CSS`);
        assert.ok(m.colours >= 2, `${what}: ${m.colours} colour(s)`);
      }
      for (const m of blocks) {
        assert.equal(m.rows, trace.H, m.tensor);
        assert.equal(m.width, m.cols * m.cellW, m.tensor);
        assert.equal(m.height, m.rows * m.cellH, m.tensor);
      }
      if (name === 'fable-char') {
        // Units differ here (the article's constant start makes them all alike), so each block varies.
        for (const m of blocks) assert.ok(m.colours >= 2, `${m.tensor}: ${m.colours} colour(s)`);
      }
    });
  }
});

test('hovering a cell shows its token, unit and value; the keyboard moves the same tooltip', async () => {
  const trace = lastTrace(fable);
  const { T, H } = trace;
  const layer0 = trace.entries.find((e) => e.layer === 0 && e.direction === 'forward');
  assert.ok(layer0?.gradients);
  const cases = [
    { tab: 'states', tensor: 'c', k: 4, data: layer0.states, unit: 5, t: 7 },
    { tab: 'states', tensor: 'f', k: 1, data: layer0.states, unit: 0, t: 0 },
    { tab: 'states', tensor: 'g', k: 2, data: layer0.states, unit: H - 1, t: T - 1 },
    { tab: 'gradients', tensor: 'dh', k: 0, data: layer0.gradients, unit: 3, t: 20 },
  ];
  await withPanel({}, async ({ page }) => {
    await post(page, fable);
    for (const c of cases) {
      await showTab(page, c.tab);
      const p = await cellCentre(page, `#${c.tab} canvas[data-tensor="${c.tensor}"]`, c.unit, c.t);
      await page.mouse.move(p.x, p.y);
      const tip = await tooltip(page);
      const what = `${c.tensor}[unit ${c.unit}, t ${c.t}]`;
      assert.equal(tip.hidden, false, what);
      assert.equal(tip.data.tensor, c.tensor, what);
      assert.equal(tip.data.unit, String(c.unit), what);
      assert.equal(tip.data.step, String(c.t), what);
      assert.equal(tip.data.token, trace.tokens[c.t], what);
      assert.match(tip.text, new RegExp(`unit ${c.unit}\\b`), what);
      assertPrinted(tip.value, c.data[at(c.k, c.t, c.unit, T, H)], what);
    }
    await page.mouse.move(1, 1);
    assert.equal((await tooltip(page)).hidden, true, 'the tooltip goes when the pointer leaves');

    // Keyboard: focus a map, move right twice and down once.
    await showTab(page, 'states');
    await page.focus('#states canvas[data-tensor="h"]');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const tip = await tooltip(page);
    assert.equal(tip.hidden, false);
    assert.deepEqual([tip.data.tensor, tip.data.unit, tip.data.step], ['h', '1', '2']);
    assertPrinted(tip.value, layer0.states[at(5, 2, 1, T, H)], 'h[1, 2] by keyboard');
  });
});

test('clicking a cell posts highlightUnit for its unit; Clear posts clearHighlight', async () => {
  await withPanel({}, async ({ page }) => {
    await post(page, fable);
    await showTab(page, 'states');
    const p = await cellCentre(page, '#states canvas[data-tensor="h"]', 2, 5);
    await page.mouse.click(p.x, p.y);
    await settle(page);
    assert.deepEqual((await posted(page)).slice(1), [{ type: 'highlightUnit', layer: 0, direction: 'forward', tensor: 'h', unit: 2 }]);
    assert.match((await page.textContent('#selection')) ?? '', /unit 2/);

    // Layer 1, a gate, then Enter on the keyboard.
    await chooseLayer(page, 1);
    const q = await cellCentre(page, '#states canvas[data-tensor="f"]', 7, 0);
    await page.mouse.click(q.x, q.y);
    await settle(page);
    await page.focus('#states canvas[data-tensor="c"]');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await settle(page);
    assert.deepEqual((await posted(page)).slice(2), [
      { type: 'highlightUnit', layer: 1, direction: 'forward', tensor: 'f', unit: 7 },
      { type: 'highlightUnit', layer: 1, direction: 'forward', tensor: 'c', unit: 8 },
    ]);

    await page.click('#clear-highlight');
    await settle(page);
    const all = await posted(page);
    assert.deepEqual(all[all.length - 1], { type: 'clearHighlight' });
    assert.match((await page.textContent('#selection')) ?? '', /Click a cell/);
    // Clear always works: the editor may hold colours the panel no longer knows of.
    assert.equal(await page.getAttribute('#clear-highlight', 'disabled'), null, 'Clear stays enabled');
    await page.click('#clear-highlight');
    await settle(page);
    const again = await posted(page);
    assert.equal(again.length, all.length + 1);
    assert.deepEqual(again[again.length - 1], { type: 'clearHighlight' });
  });
});

test('the sequence buttons post chooseSequence', async () => {
  await withPanel({}, async ({ page }) => {
    await post(page, article);
    for (const source of ['cursor', 'selection', 'start'] as const) {
      await page.click(`#seq-${source}`);
      const all = await posted(page);
      assert.deepEqual(all[all.length - 1], { type: 'chooseSequence', source });
    }
    await settle(page);
    assert.match((await page.textContent('#sequence')) ?? '', /Reading the sequence/);
    await post(page, [lastTrace(article)]);
    assert.match((await page.textContent('#sequence')) ?? '', /the text at the cursor/);
  });
});

test('malformed messages change nothing and throw nothing', async () => {
  const trace = lastTrace(fable);
  const entry = trace.entries[0];
  const bad: unknown[] = [
    { type: 'bogus' },
    null,
    42,
    'trace',
    { type: 'model' },
    { ...trace, entries: [{ ...entry, states: new Float32Array(5) }] },
    { ...trace, entries: [{ ...entry, states: 'not a Float32Array' }] },
    { ...trace, entries: [{ ...entry, states: Array.from(entry.states) }] },
    { ...trace, T: trace.T + 1 },
    { ...trace, H: 0 },
    { ...trace, predictions: trace.predictions.slice(1) },
    { ...trace, extra: true },
    { type: 'training', running: true, step: 1, totalSteps: 2, tokensPerSecond: 1, clip: null, reset: true, history: { step: ['x'], loss: [1], gradNorm: [1], learningRate: [1] } },
    { type: 'note', level: 'fatal', text: 'no such level' },
    { type: 'noModel', file: null },
  ];
  await withPanel({}, async (panel) => {
    const { page } = panel;
    await post(page, fable);
    const snapshot = () =>
      page.evaluate(() => ({
        html: document.getElementById('app')?.innerHTML ?? '',
        pixels: Array.from(document.querySelectorAll<HTMLCanvasElement>('canvas.hm-canvas')).map((c) => c.toDataURL()),
      }));
    const before = await snapshot();
    const warnings = panel.console.filter((c) => c.type === 'warning').length;
    await post(page, bad);
    await settle(page);
    const afterwards = await snapshot();
    assert.equal(afterwards.html, before.html);
    assert.deepEqual(afterwards.pixels, before.pixels);
    const ignored = panel.console.filter((c) => c.type === 'warning' && /ignored a message/.test(c.text));
    assert.ok(panel.console.filter((c) => c.type === 'warning').length - warnings >= bad.length);
    assert.equal(ignored.length, bad.length);
    assert.equal((await posted(page)).length, 1, 'nothing posted back');
  });
});

test('state restore: a reloaded panel draws the same maps, layer, unit and tab without any message', async () => {
  let state: unknown;
  let maps: { h: string; dh: string };
  await withPanel({}, async ({ page }) => {
    await post(page, fable);
    await showTab(page, 'states');
    await chooseLayer(page, 1);
    const p = await cellCentre(page, '#states canvas[data-tensor="h"]', 4, 3);
    await page.mouse.click(p.x, p.y);
    await showTab(page, 'gradients');
    await page.waitForFunction(() => {
      const s = (window as unknown as { __state: { ui?: { tab: string; layer: number; selected: unknown } } | null }).__state;
      return !!s?.ui && s.ui.tab === 'gradients' && s.ui.layer === 1 && s.ui.selected !== null;
    });
    state = await page.evaluate(() => (window as unknown as { __state: unknown }).__state);
    maps = await page.evaluate(() => ({
      h: (document.querySelector('#states canvas[data-tensor="h"]') as HTMLCanvasElement).toDataURL(),
      dh: (document.querySelector('#gradients canvas[data-tensor="dh"]') as HTMLCanvasElement).toDataURL(),
    }));
  });
  assert.ok(JSON.stringify(state).length < 2_000_000, 'the saved state stays small');
  await withPanel({ state }, async ({ page }) => {
    await settle(page);
    assert.deepEqual(await posted(page), [{ type: 'ready' }], 'a restored panel only says ready');
    const restored = await page.evaluate(() => ({
      h: (document.querySelector('#states canvas[data-tensor="h"]') as HTMLCanvasElement | null)?.toDataURL(),
      dh: (document.querySelector('#gradients canvas[data-tensor="dh"]') as HTMLCanvasElement | null)?.toDataURL(),
      tab: (document.querySelector('vscode-panels') as HTMLElement & { activeid: string }).activeid,
      layer: (document.getElementById('layer') as HTMLElement & { value: string }).value,
      points: document.getElementById('chart-loss')?.dataset.points,
    }));
    assert.equal(restored.h, maps.h, 'the h map of layer 1, with unit 4 outlined');
    assert.equal(restored.dh, maps.dh);
    assert.equal(restored.tab, 'tab-gradients');
    assert.equal(restored.layer, '1');
    assert.equal(restored.points, '120', 'the whole loss history');
    assert.match((await page.textContent('#selection')) ?? '', /unit 4/);
    assert.match((await page.textContent('#title')) ?? '', /fable-char/);
  });
});

test('noModel shows its reason; a note can be dismissed; training resets and appends', async () => {
  await withPanel({}, async ({ page }) => {
    const reason = 'notes.txt has no model yet: run “LSTM Lens: Train LSTM on This File”.';
    await post(page, [{ type: 'noModel', file: 'notes.txt', reason }]);
    assert.equal(await page.textContent('#no-model-reason'), reason);
    assert.equal(await page.isVisible('#content'), false);

    await post(page, fable);
    assert.equal(await page.isVisible('#no-model-reason'), false);
    assert.equal(await page.getAttribute('#chart-loss', 'data-points'), '120', '40 + 40 + 40 steps');

    await post(page, [{ type: 'note', level: 'warning', text: 'Training stopped: the loss diverged.' }]);
    assert.match((await page.textContent('#notes')) ?? '', /the loss diverged/);
    await page.click('#notes vscode-button[aria-label="Dismiss"]');
    await settle(page);
    assert.equal(await page.locator('#notes .note').count(), 0);

    const training: TrainingMessage = {
      type: 'training', running: true, step: 4, totalSteps: 10, tokensPerSecond: 1234, clip: 1, reset: true,
      history: { step: [1, 2, 3, 4], loss: [3, 2.5, 2.4, 2.2], gradNorm: [0.5, 1.5, 0.9, 2], learningRate: [0.01, 0.01, 0.01, 0.01] },
    };
    await post(page, [training]);
    assert.equal(await page.getAttribute('#chart-loss', 'data-points'), '4', 'reset replaces the history');
    await post(page, [{ ...training, reset: false, step: 6, history: { step: [5, 6], loss: [2, 1.9], gradNorm: [3, 0.1], learningRate: [0.01, 0.01] } }]);
    assert.equal(await page.getAttribute('#chart-loss', 'data-points'), '6', 'otherwise it appends');
    assert.equal(await page.getAttribute('#gradients [data-clip-events]', 'data-clip-events'), '3', 'steps 2, 4 and 5 were clipped');
    assert.match((await page.textContent('#training-stats')) ?? '', /6 \/ 10/);
  });
});

test('a burst of traces is drawn once, with the latest; training messages leave the maps alone', async () => {
  const trace = lastTrace(fable);
  const burst = Array.from({ length: 30 }, (_, i) => ({ ...trace, step: 1000 + i }));
  await withPanel({}, async ({ page }) => {
    await post(page, fable.filter((m) => m.type !== 'trace'));
    // Count the redrawings of each pane (each replaces the pane's children in one go).
    await page.evaluate(() => {
      const w = window as unknown as { __draws: Record<string, number> };
      w.__draws = {};
      for (const pane of Array.from(document.querySelectorAll<HTMLElement>('[data-pane]'))) {
        const id = pane.dataset.pane ?? '';
        w.__draws[id] = 0;
        new MutationObserver(() => {
          w.__draws[id] += 1;
        }).observe(pane, { childList: true });
      }
    });
    const draws = () => page.evaluate(() => ({ ...(window as unknown as { __draws: Record<string, number> }).__draws }));
    await post(page, burst);
    const afterBurst = await draws();
    assert.ok(afterBurst.states >= 1 && afterBurst.states <= 3, `${burst.length} traces drawn ${afterBurst.states} time(s)`);
    assert.match((await page.textContent('#sequence')) ?? '', /step 1029/);

    const training: TrainingMessage = {
      type: 'training', running: true, step: 121, totalSteps: 200, tokensPerSecond: 900, clip: 1, reset: false,
      history: { step: [121], loss: [2.7], gradNorm: [0.4], learningRate: [0.01] },
    };
    await post(page, [training]);
    const afterTraining = await draws();
    for (const pane of ['states', 'gradients', 'predictions', 'shapes']) assert.equal(afterTraining[pane], afterBurst[pane], `a training message redraws no ${pane}`);
    assert.equal(afterTraining.training, afterBurst.training + 1);
    assert.equal(afterTraining.gradnorm, afterBurst.gradnorm + 1);
  });
});

test('a bidirectional two-layer model with an embedding, from the engine: both directions, their weights and shapes', async () => {
  const text = 'long ago the mice had a general council to consider what measures they could take to outwit their common enemy the cat';
  const trainer = Trainer.create(text, 'bi.txt', { hidden_size: 6, num_layers: 2, embedding_size: 4, bidirectional: true, mode: 'many_to_one' }, {
    tokens: 'word', max_vocab: 0, sequence_length: 5, batch_size: 2, steps: 4, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 1, init: 'pytorch', init_value: 0.1, seed: 7,
  });
  for (let i = 0; i < 4; i++) trainer.trainStep();
  const model = modelMessage(checkpointFacts(trainer.checkpoint()), 'bi.txt');
  const trace = traceMessage(trainer.model, trainer.tokenizer, text, 'the start of the file', 4);
  assert.ok(trace);
  assert.equal(trace.entries.length, 4);
  await withPanel({}, async ({ page }) => {
    await post(page, [model, trace]);
    const shapes = (await page.textContent('#shapes')) ?? '';
    assert.match(shapes, /input x\s*\(2, 5, 4\)/, 'input (B, T, E)');
    assert.match(shapes, /output_l1\s*\(2, 5, 12\)/, 'outputs (B, T, D·H)');
    assert.match(shapes, /c_l1_reverse\s*\(2, 6\)/);
    assert.match(shapes, /h_n, c_n\s*\(4, 2, 6\)/);
    assert.match((await page.textContent('#parameter-table')) ?? '', /embedding\.weight/);

    await showTab(page, 'states');
    await chooseLayer(page, 1);
    await page.click('#direction');
    await page.click('#direction vscode-option[value="backward"]');
    await settle(page);
    const backward = trace.entries.find((e) => e.layer === 1 && e.direction === 'backward');
    assert.ok(backward);
    const p = await cellCentre(page, '#states canvas[data-tensor="o"]', 5, 2);
    await page.mouse.move(p.x, p.y);
    const tip = await tooltip(page);
    assert.match(tip.text, /layer 1 backward/);
    assertPrinted(tip.value, backward.states[at(3, 2, 5, trace.T, trace.H)], 'o of layer 1 backward');
    await page.mouse.click(p.x, p.y);
    const all = await posted(page);
    assert.deepEqual(all[all.length - 1], { type: 'highlightUnit', layer: 1, direction: 'backward', tensor: 'o', unit: 5 });
    // The weight gradients shown are the reverse direction's.
    const blocks = await readMaps(page);
    const ih = blocks.find((m) => m.tensor === 'W_ih.i');
    assert.ok(ih);
    assert.deepEqual([ih.rows, ih.cols], [6, 12], 'layer 1 reads both directions of layer 0: I = 2·H');
  });
});

test('screenshots in a light and a dark theme (test/webview/screenshots/)', async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const theme of ['light', 'dark'] as ThemeName[]) {
    await withPanel({ theme, width: 1100, height: 900 }, async ({ page }) => {
      await post(page, fable);
      for (const tab of ['shapes', 'states', 'gradients', 'training', 'predictions']) {
        await showTab(page, tab);
        await page.screenshot({ path: join(SCREENSHOTS, `${theme}-${tab}.png`), fullPage: true });
      }
      // Hover, to see the tooltip and the cell cursor.
      await showTab(page, 'states');
      const p = await cellCentre(page, '#states canvas[data-tensor="c"]', 5, 9);
      await page.mouse.move(p.x, p.y);
      await page.screenshot({ path: join(SCREENSHOTS, `${theme}-hover.png`) });
    });
    await withPanel({ theme, width: 900, height: 900 }, async ({ page }) => {
      await post(page, article);
      for (const tab of ['shapes', 'states']) {
        await showTab(page, tab);
        await page.screenshot({ path: join(SCREENSHOTS, `${theme}-article-${tab}.png`), fullPage: true });
      }
      await post(page, [{ type: 'noModel', file: 'notes.txt', reason: 'notes.txt has no model yet: run “LSTM Lens: Train LSTM on This File”.' }, { type: 'note', level: 'info', text: 'The model of notes.txt was forgotten.' }]);
      await page.screenshot({ path: join(SCREENSHOTS, `${theme}-no-model.png`) });
    });
  }
});

test('a theme change while open redraws the charts in the new colours', async () => {
  await withPanel({ theme: 'dark' }, async ({ page }) => {
    await post(page, fable);
    await showTab(page, 'training');
    const pixel = () =>
      page.evaluate(() => {
        // The loss chart's smoothed line: the colour most used in the plot, apart from the background.
        const canvas = document.querySelector('#chart-loss canvas') as HTMLCanvasElement;
        const d = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
        const counts = new Map<number, number>();
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] === 255) counts.set((d[i] << 16) | (d[i + 1] << 8) | d[i + 2], (counts.get((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]) ?? 0) + 1);
        return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? -1;
      });
    const before = await pixel();
    await page.evaluate((vars) => {
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      document.body.classList.replace('vscode-dark', 'vscode-light');
      document.body.setAttribute('data-vscode-theme-kind', 'vscode-light');
    }, THEMES.light.vars);
    await settle(page);
    assert.notEqual(await pixel(), before, 'the line is drawn in the light theme’s blue');
    assert.equal(before, 0x3794ff, 'Dark+ charts.blue');
    assert.equal(await pixel(), 0x1a85ff, 'Light+ charts.blue');
  });
});
