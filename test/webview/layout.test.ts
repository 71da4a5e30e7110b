// The Inspect States panel as a newcomer sees it, in headless Chromium at 300, 540 and 1400 px in
// the light, dark and high-contrast themes: nothing runs off the side, every tab's label shows,
// every token is named, a small model's cells print its values, the guesses show; the loss curve is
// drawn from a checkpoint the panel never watched train; a finished run says so. Screenshots of
// every tab land in test/webview/screenshots/layout/, and the README's set in media/screenshots/.
// Needs `npm run build` first and Chromium at /usr/bin/chromium.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Trainer } from '../../src/engine/trainer';
import { charSpan, computeUnitStates, findMatches, stateAt, TRACK_NAMES, trackLeaders } from '../../src/engine/units';
import { at, type HostToPanel, type ModelMessage, type StepMessage, type TraceMessage, type TrainingMessage } from '../../src/protocol/panel';
import { checkpointFacts, modelMessage, traceAndStep } from '../../src/run/panelData';
import { launchBrowser, loadRecording, openPanel, post, ROOT, settle, showTab, startServer, withPanel as withPanelIn, type Panel, type PanelServer } from './harness';
import type { UnitsHostToPanel } from '../../src/protocol/units';
import type { ThemeName } from './themes';

const SHOTS = join(ROOT, 'test', 'webview', 'screenshots', 'layout');
const README_SHOTS = join(ROOT, 'media', 'screenshots');
const WIDTHS = [300, 540, 1400] as const;
const THEMES: ThemeName[] = ['light', 'dark', 'high-contrast'];
const TABS = ['shapes', 'states', 'gradients', 'training', 'predictions'] as const;
const TAB_LABELS = ['Shapes', 'States', 'Gradients', 'Step', 'Training', 'Predictions', 'Units'];

let server: PanelServer;
let browser: Browser;

/** The article's setup (word-level, many-to-one, one-hot, windows of 3, 5 units, SGD) on its eleven words, trained here. */
interface Run {
  model: ModelMessage;
  trace: TraceMessage;
  /** The Step tab's step of the trace: the token before the cursor (else the last), layer 0 forward. */
  step: StepMessage;
  finished: TrainingMessage;
  losses: number[];
  vocabSize: number;
  trainer: Trainer;
}
let article: Run;
/** A word model of the fable (many-to-many): long words, and next tokens outside the top 5. */
let words: Run;
/** A character model of the fable, two layers: the README's pictures. */
let chars: Run;
const fable = loadRecording('fable-char');
/** The fable's first characters, traced by the word model (fewer tokens than a trace keeps). */
const WORDS_CHARS = 300;
const ARTICLE_TEXT = 'long ago the mice had a general council';
/** The cursor before “mice”: three tokens stand before it. */
const ARTICLE_CURSOR = ARTICLE_TEXT.indexOf('mice');

function train(text: string, name: string, shape: Parameters<typeof Trainer.create>[2], settings: Parameters<typeof Trainer.create>[3], traced: string, cursor: number | null): Run {
  const trainer = Trainer.create(text, name, shape, settings);
  const losses: number[] = [];
  const gradNorm: number[] = [];
  const learningRate: number[] = [];
  const steps: number[] = [];
  while (trainer.step < settings.steps) {
    const r = trainer.trainStep();
    steps.push(r.step);
    losses.push(r.loss);
    gradNorm.push(r.gradNorm);
    learningRate.push(r.lr);
  }
  const model = modelMessage(checkpointFacts(trainer.checkpoint()), name);
  const both = traceAndStep(trainer.model, trainer.tokenizer, traced, 'the text at the cursor', trainer.step, 5, 'last', shape.mode === 'many_to_one' ? settings.sequence_length : null, cursor, { t: null, layer: 0, direction: 'forward' });
  assert.ok(both?.step);
  const { trace, step } = both;
  const finished: TrainingMessage = {
    type: 'training', running: false, step: trainer.step, totalSteps: settings.steps, tokensPerSecond: 0, averageTokensPerSecond: 25465, clip: settings.clip, reset: true,
    history: { step: steps, loss: losses, gradNorm, learningRate },
  };
  return { model, trace, step, finished, losses, vocabSize: trainer.tokenizer.vocabulary().tokens.length, trainer };
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  article = train(
    'long ago the mice had a general council to consider the',
    'article.txt',
    { hidden_size: 5, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_one' },
    { tokens: 'word', max_vocab: 0, sequence_length: 3, batch_size: 1, steps: 300, optimizer: 'sgd', learning_rate: 1, schedule: 'constant', clip: null, init: 'constant', init_value: 0.1, seed: 0 },
    ARTICLE_TEXT,
    ARTICLE_CURSOR,
  );
  const fableText = readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
  words = train(
    fableText,
    'belling_the_cat.txt',
    { hidden_size: 32, num_layers: 1, embedding_size: 16, bidirectional: false, mode: 'many_to_many' },
    { tokens: 'word', max_vocab: 0, sequence_length: 16, batch_size: 4, steps: 40, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 1, init: 'pytorch', init_value: 0.1, seed: 5 },
    fableText.slice(0, WORDS_CHARS),
    null,
  );
  const traced = 'Long ago, the mice had a general council to consider what measures they could take';
  chars = train(
    fableText,
    'belling_the_cat.txt',
    { hidden_size: 24, num_layers: 2, embedding_size: null, bidirectional: false, mode: 'many_to_many' },
    { tokens: 'char', max_vocab: 0, sequence_length: 32, batch_size: 8, steps: 400, optimizer: 'adam', learning_rate: 0.01, schedule: 'cosine', clip: 1, init: 'pytorch', init_value: 0.1, seed: 3 },
    traced,
    traced.indexOf(' to consider'),
  );
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(README_SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

function withPanel(options: Parameters<typeof openPanel>[2], body: (panel: Panel) => Promise<void>): Promise<void> {
  return withPanelIn(browser, server, options, body);
}

/** What the page shows wider than the window, and the tabs whose labels do not show whole. */
async function overflow(page: Page): Promise<{ scrollWidth: number; width: number; wide: string[]; tabs: Array<{ text: string; left: number; right: number; cut: boolean }> }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    // Visible elements whose right edge passes the window's (inside a scroller, the scroller's own box counts).
    const wide: string[] = [];
    for (const e of Array.from(document.querySelectorAll<Element>('#app *'))) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (e.closest('[hidden], vscode-panel-view[hidden]')) continue;
      if (r.right > width + 0.5) {
        let inScroller = false;
        for (let p = e.parentElement; p && p.id !== 'app'; p = p.parentElement) {
          if (p instanceof SVGElement) continue; // an <svg> clips its own drawing; the box that scrolls is outside it
          const o = getComputedStyle(p).overflowX;
          if (o === 'auto' || o === 'scroll' || o === 'hidden') {
            if (p.getBoundingClientRect().right <= width + 0.5) inScroller = true;
            break;
          }
        }
        if (!inScroller) wide.push(`${e.tagName.toLowerCase()}.${e.getAttribute('class') ?? ''} right ${Math.round(r.right)}`);
      }
    }
    const tabs = Array.from(document.querySelectorAll<HTMLElement>('vscode-panel-tab')).map((t) => {
      const r = t.getBoundingClientRect();
      return { text: t.textContent ?? '', left: r.left, right: r.right, cut: t.scrollWidth > t.clientWidth + 1 };
    });
    return { scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5), tabs };
  });
}

/** Each map's column labels (tokens, or positions with the section's token strip). */
async function labels(page: Page, section: string): Promise<Array<{ tensor: string; kind: string; labels: string[]; strip: string[] }>> {
  return page.evaluate((id) => {
    const root = document.getElementById(id);
    if (!root) return [];
    const strip = Array.from(root.querySelectorAll<HTMLElement>('.token-strip .token-chip')).map((c) => c.dataset.token ?? '');
    return Array.from(root.querySelectorAll<HTMLElement>('figure.heatmap')).map((f) => {
      const axis = f.querySelector<HTMLElement>('.hm-cols');
      return {
        tensor: f.dataset.tensor ?? '',
        kind: axis?.dataset.labels ?? 'none',
        labels: Array.from(axis?.querySelectorAll<HTMLElement>('.hm-col') ?? []).map((l) => l.title || l.textContent || ''),
        strip,
      };
    });
  }, section);
}

const shown = (token: string): string => (token === '' ? '∅' : token.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\r/g, '␍').replace(/\t/g, '⇥'));

/** A value printed in a cell is the trace's, rounded to the significant digits printed (2 or 3). */
function assertCell(printed: string, exact: number, what: string): void {
  const shownValue = Number(printed.replace(/−/g, '-'));
  assert.ok(Number.isFinite(shownValue), `${what}: "${printed}" is a number`);
  if (shownValue === 0) return assert.equal(exact, 0, what);
  const mantissa = printed.replace(/−/g, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '');
  const digits = Math.max(1, mantissa.length);
  assert.equal(shownValue, Number(exact.toPrecision(digits)), `${what}: printed ${printed}, the trace has ${exact}`);
}

for (const width of WIDTHS) {
  test(`at ${width} px in light, dark and high-contrast: no sideways overflow, tabs whole, every token named, guesses visible${width >= 540 ? ', the article’s values in its cells' : ''}`, async () => {
    for (const theme of THEMES) {
      await withPanel({ theme, width, height: 900 }, async ({ page }) => {
        const messages: HostToPanel[] = [article.model, article.finished, article.trace];
        await post(page, messages);
        for (const [i, tab] of TABS.entries()) {
          await showTab(page, tab);
          const o = await overflow(page);
          const what = `${theme} ${width} px, ${tab}`;
          assert.ok(o.scrollWidth <= o.width, `${what}: the page is ${o.scrollWidth} px wide in ${o.width} (${o.wide.join('; ')})`);
          assert.deepEqual(o.wide, [], `${what}: elements past the right edge`);
          assert.deepEqual(o.tabs.map((t) => t.text.trim()), TAB_LABELS, what);
          for (const t of o.tabs) assert.ok(t.left >= 0 && t.right <= o.width && !t.cut, `${what}: the ${t.text} tab shows whole (${Math.round(t.left)}–${Math.round(t.right)})`);
          await page.screenshot({ path: join(SHOTS, `${theme}-${width}-${tab}.png`), fullPage: true });
          void i;
        }

        // Every token named: on the axis of each map, or by the strip above them.
        for (const section of ['states', 'gradients']) {
          await showTab(page, section);
          const maps = (await labels(page, section)).filter((m) => !m.tensor.includes('.'));
          assert.ok(maps.length >= 2, `${theme} ${width}: ${section} has maps`);
          for (const m of maps) {
            assert.deepEqual(m.strip, article.trace.tokens, `${section} ${m.tensor}: the strip names every token`);
            if (m.kind === 'tokens') assert.deepEqual(m.labels, article.trace.tokens.map(shown), `${section} ${m.tensor}: one label per token`);
            else assert.equal(m.kind, 'positions', `${section} ${m.tensor}`);
          }
        }
        if (width >= 540) {
          // 5 units × 8 tokens: the values printed in the cells, each the trace's.
          await showTab(page, 'states');
          const entry = article.trace.entries[0];
          const { T, H } = article.trace;
          const cells = await page.evaluate(() =>
            Array.from(document.querySelectorAll<HTMLElement>('#states figure.heatmap')).map((f) => ({
              tensor: f.dataset.tensor ?? '',
              printed: f.dataset.values,
              values: Array.from(f.querySelectorAll<HTMLElement>('.hm-value')).map((v) => ({ r: Number(v.dataset.row), c: Number(v.dataset.col), text: v.textContent ?? '' })),
            })),
          );
          assert.deepEqual(cells.map((c) => c.tensor), ['i', 'f', 'g', 'o', 'c', 'h']);
          cells.forEach((map, k) => {
            assert.equal(map.printed, 'printed', `${theme} ${width}: ${map.tensor} prints its values`);
            assert.equal(map.values.length, T * H, map.tensor);
            for (const v of map.values) assertCell(v.text, entry.states[at(k, v.c, v.r, T, H)], `${map.tensor}[unit ${v.r}, t ${v.c}]`);
          });
        }
        if (width >= 540) {
          // The weight gradients of the article's layer: each gate's tiles print their values too.
          await showTab(page, 'gradients');
          const { H } = article.trace;
          const tiles = await page.evaluate(() =>
            Array.from(document.querySelectorAll<HTMLElement>('#gradients figure.heatmap.block-map')).map((f) => ({
              tensor: f.dataset.tensor ?? '',
              printed: f.dataset.values,
              values: Array.from(f.querySelectorAll<HTMLElement>('.hm-value')).map((v) => ({ r: Number(v.dataset.row), c: Number(v.dataset.col), text: v.textContent ?? '' })),
            })),
          );
          assert.equal(tiles.length, 8);
          if (theme === 'dark') await page.locator('#weight-gradients').screenshot({ path: join(SHOTS, `weight-gradients-${width}.png`) });
          for (const tile of tiles) {
            const [matrix, gate] = tile.tensor.split('.');
            const g = article.trace.parameterGradients.find((p) => p.name === (matrix === 'W_ih' ? 'lstm.weight_ih_l0' : 'lstm.weight_hh_l0'));
            assert.ok(g);
            const k = ['i', 'f', 'g', 'o'].indexOf(gate);
            assert.equal(tile.printed, 'printed', `${theme} ${width}: ${tile.tensor} prints its values`);
            assert.equal(tile.values.length, H * g.cols, tile.tensor);
            for (const v of tile.values) assertCell(v.text, g.data[(k * H + v.r) * g.cols + v.c], `${tile.tensor}[unit ${v.r}, col ${v.c}]`);
          }
        }

        // A character model's 82 tokens: named on each map's axis, or by the strip when the columns are too narrow.
        await post(page, [chars.model, chars.trace]);
        for (const section of ['states', 'gradients']) {
          await showTab(page, section);
          const o = await overflow(page);
          assert.ok(o.scrollWidth <= o.width && o.wide.length === 0, `${theme} ${width} px, characters, ${section}: ${o.wide.join('; ')}`);
          const maps = (await labels(page, section)).filter((m) => !m.tensor.includes('.'));
          for (const m of maps) {
            assert.deepEqual(m.strip, chars.trace.tokens, `characters ${section} ${m.tensor}: the strip names every token`);
            if (m.kind === 'tokens') assert.deepEqual(m.labels, chars.trace.tokens.map(shown), `characters ${section} ${m.tensor}: one label per token`);
            else assert.equal(m.kind, 'positions', `characters ${section} ${m.tensor}`);
          }
          if (theme === 'dark') await page.screenshot({ path: join(SHOTS, `characters-${width}-${section}.png`), fullPage: true });
        }
        await post(page, [article.model, article.trace]);

        // The guesses show whole inside the window.
        await showTab(page, 'predictions');
        const guesses = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('#guesses .guess')).map((g) => g.getBoundingClientRect()).map((r) => ({ left: r.left, right: r.right, width: r.width })));
        assert.ok(guesses.length >= 1, 'guesses shown');
        for (const g of guesses) assert.ok(g.left >= 0 && g.right <= width && g.width > 20, `${theme} ${width}: a guess at ${Math.round(g.left)}–${Math.round(g.right)}`);

        // The Step tab on the trained character model (its units differ, unlike the article's constant start).
        await post(page, [chars.model, chars.trace, chars.step]);
        await showTab(page, 'step');
        await page.waitForSelector('#step .eq .num');
        const o = await overflow(page);
        assert.ok(o.scrollWidth <= o.width && o.wide.length === 0, `${theme} ${width} px, step: ${o.wide.join('; ')}`);
        // The diagrams' words readable: drawn at 9 px or more at any width (a narrow panel scrolls the figure sideways).
        const small = await page.evaluate(() =>
          Array.from(document.querySelectorAll<SVGTextElement>('#step svg.step-diagram text'))
            .map((t) => ({ text: t.textContent ?? '', px: t.getBoundingClientRect().height }))
            .filter((t) => t.px < 9),
        );
        assert.deepEqual(small, [], `${theme} ${width} px: diagram text smaller than 9 px`);
        // No two labels of a diagram overlap.
        const overlaps = await page.evaluate(() =>
          Array.from(document.querySelectorAll<SVGSVGElement>('#step svg.step-diagram')).flatMap((d) => {
            const boxes = Array.from(d.querySelectorAll<SVGTextElement>('text')).map((t) => ({ text: t.textContent ?? '', r: t.getBoundingClientRect() }));
            const out: string[] = [];
            for (let a = 0; a < boxes.length; a++) {
              for (let b = a + 1; b < boxes.length; b++) {
                const [p, q] = [boxes[a].r, boxes[b].r];
                if (p.left < q.right - 1 && q.left < p.right - 1 && p.top < q.bottom - 1 && q.top < p.bottom - 1) out.push(`${boxes[a].text} / ${boxes[b].text}`);
              }
            }
            return out;
          }),
        );
        assert.deepEqual(overlaps, [], `${theme} ${width} px: diagram labels overlap`);
        // The diagram stays beside or above the equations, never over them.
        const covered = await page.evaluate(() =>
          Array.from(document.querySelectorAll<HTMLElement>('#step .step-grid')).flatMap((g) => {
            const fig = g.querySelector('.step-figure')?.getBoundingClientRect();
            const eqs = g.querySelector('.eqs')?.getBoundingClientRect();
            // Stacked above them, it must not stick to the top as they scroll past under it.
            const sticks = g.classList.contains('narrow') && getComputedStyle(g.querySelector('.step-figure') as Element).position === 'sticky';
            return (fig && eqs && fig.left < eqs.right && eqs.left < fig.right && fig.top < eqs.bottom && eqs.top < fig.bottom) || sticks ? [g.parentElement?.id ?? ''] : [];
          }),
        );
        assert.deepEqual(covered, [], `${theme} ${width} px: a diagram covers its equations`);
        await page.screenshot({ path: join(SHOTS, `${theme}-${width}-step.png`), fullPage: true });
      });
    }
  });
}

test('word-level predictions at 540 px: narrow tokens with an ellipsis, the guesses in view, and the actual token’s probability even outside the top 5', async () => {
  const trace = words.trace;
  // The reference: the model reads the text up to t, then the probability of token t+1.
  const model = words.trainer.model;
  const ids = words.trainer.tokenizer.encode(readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8').slice(0, WORDS_CHARS)).ids;
  const reference = (t: number): number => {
    model.forward(ids.subarray(0, t + 1), 1, t + 1, null);
    const probs = model.probabilities();
    const V = model.config.vocab_size;
    return probs[t * V + ids[t + 1]];
  };
  const outside = trace.predictions.findIndex((row, t) => t + 1 < trace.T && !row.slice(0, 5).some((g) => g.token === trace.tokens[t + 1]));
  assert.ok(outside >= 0, 'some next token is outside the top 5');
  await withPanel({ theme: 'dark', width: 540, height: 900 }, async ({ page }) => {
    await post(page, [words.model, words.finished, trace]);
    await showTab(page, 'predictions');
    const chips = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('#prediction-strip .token-chip')).map((c) => ({ col: c.dataset.col, right: c.getBoundingClientRect().right, width: c.getBoundingClientRect().width, cut: c.scrollWidth > c.clientWidth })));
    assert.equal(chips.length, trace.T + 1, 'a box per token, and one for what comes next');
    assert.ok(chips.every((c) => c.right <= 540 && c.width <= 12 * 8 + 10), 'every token box inside the window, none wider than 12 characters');
    const chip = page.locator(`#prediction-strip .token-chip[data-col="${outside + 1}"]`);
    await chip.scrollIntoViewIfNeeded();
    await chip.click();
    const actual = await page.evaluate(() => {
      const a = document.getElementById('actual-p');
      return { p: Number(a?.dataset.p), token: a?.dataset.token, inTop: a?.dataset.inTop, text: a?.textContent ?? '', position: document.getElementById('prediction-detail')?.dataset.position };
    });
    assert.equal(actual.position, String(outside));
    assert.equal(actual.token, trace.tokens[outside + 1]);
    assert.equal(actual.inTop, 'no');
    assert.match(actual.text, /not among the 5 most likely/);
    const p = reference(outside);
    assert.ok(Math.abs(actual.p - p) <= p * 1e-4 + 1e-9, `p of the actual token: panel ${actual.p}, the model ${p}`);
    // Its colour in the strip is that probability's.
    const colour = await page.evaluate((col) => document.querySelector<HTMLElement>(`#prediction-strip .token-chip[data-col="${col}"]`)?.dataset.p, outside + 1);
    assert.equal(Number(colour), actual.p);
    const guesses = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('#guesses .guess')).map((g) => ({ right: g.getBoundingClientRect().right, token: g.dataset.token })));
    assert.equal(guesses.length, 5);
    assert.ok(guesses.every((g) => g.right <= 540), 'the guesses in view');
    await page.screenshot({ path: join(SHOTS, 'words-540-predictions.png'), fullPage: true });
  });
});

test('the loss curve from the checkpoint alone (no training message): the steps, the last loss, and the uniform baseline ln V', async () => {
  const curve = article.model.curve;
  assert.ok(curve, 'the model message carries the checkpoint’s curve');
  await withPanel({ theme: 'light', width: 900, height: 900 }, async ({ page }) => {
    await post(page, [article.model, article.trace]);
    await showTab(page, 'training');
    const chart = await page.evaluate(() => {
      const c = document.getElementById('chart-loss');
      const legend = Array.from(c?.querySelectorAll('.u-legend tr') ?? []).map((r) => r.textContent ?? '');
      return { points: c?.dataset.points, source: c?.dataset.source, baseline: Number(c?.dataset.baseline), legend, placeholder: document.querySelector('#training .placeholder')?.textContent ?? null, uniform: document.querySelector('#stat-uniform .stat-value')?.textContent };
    });
    assert.equal(chart.placeholder, null, 'no “No training run seen yet”');
    assert.equal(chart.source, 'checkpoint');
    assert.equal(chart.points, String(article.losses.length), 'one point per step of the 300');
    assert.ok(Math.abs(chart.baseline - Math.log(article.vocabSize)) < 1e-12, `ln V with V = ${article.vocabSize}`);
    assert.equal(chart.uniform, String(Number(Math.log(article.vocabSize).toPrecision(4))));
    const last = article.losses[article.losses.length - 1];
    const lossRow = chart.legend.find((r) => /^loss/.test(r.trim()));
    assert.ok(lossRow, 'the legend has the loss');
    const printed = Number(lossRow.replace(/^\s*loss/, '').trim());
    assert.ok(Math.abs(printed - last) <= Math.abs(last) * 0.01 + 1e-4, `the last loss: legend ${lossRow}, trained ${last}`);
    await page.screenshot({ path: join(SHOTS, 'checkpoint-training.png'), fullPage: true });

    // A panel opened mid-run is sent the steps since it opened: the checkpoint's steps come first.
    const h = article.finished.history;
    const from = 200;
    await post(page, [{ ...article.finished, running: true, step: 300, totalSteps: 400, reset: true, history: { step: h.step.slice(from), loss: h.loss.slice(from), gradNorm: h.gradNorm.slice(from), learningRate: h.learningRate.slice(from) } }]);
    const merged = await page.evaluate(() => ({ points: document.getElementById('chart-loss')?.dataset.points, source: document.getElementById('chart-loss')?.dataset.source }));
    assert.deepEqual(merged, { points: String(article.losses.length), source: 'live' }, '200 steps from the checkpoint, then the 100 watched');
  });
});

test('a finished run says finished with its average speed; a stopped one says stopped; no “0 tokens/s”', async () => {
  await withPanel({ theme: 'dark', width: 700, height: 800 }, async ({ page }) => {
    await post(page, [article.model, article.finished]);
    await showTab(page, 'training');
    const read = () =>
      page.evaluate(() => ({
        tag: document.querySelector('.status .tag')?.textContent ?? '',
        step: document.querySelector('#stat-step')?.textContent ?? '',
        speed: document.querySelector('#stat-speed .stat-value')?.textContent ?? '',
        speedDetail: document.querySelector('#stat-speed .stat-detail')?.textContent ?? '',
      }));
    let r = await read();
    assert.equal(r.tag, 'finished · step 300');
    assert.match(r.step, /finished/);
    assert.doesNotMatch(r.step, /stopped/);
    assert.equal(r.speed, '25.5k', '25,465 tokens/s, as the status bar writes it');
    assert.equal(r.speedDetail, 'average over the run');

    await post(page, [{ ...article.finished, step: 120, averageTokensPerSecond: undefined, history: { ...article.finished.history } } as TrainingMessage]);
    r = await read();
    assert.equal(r.tag, 'stopped · step 120 / 300');
    assert.match(r.step, /stopped before step 300/);
    assert.equal(r.speed, '–', 'no average sent and none measured: not “0”');
    assert.equal(r.speedDetail, 'not measured');
  });
});

test('signed maps are clipped at the 99th percentile and say so; per-unit colours put each unit’s largest |value| at full colour', async () => {
  const trace = [...fable].reverse().find((m): m is TraceMessage => m.type === 'trace');
  assert.ok(trace);
  const { T, H } = trace;
  const states = trace.entries[0].states;
  const k = 4; // c
  const abs = Array.from({ length: T * H }, (_, i) => Math.abs(states[k * T * H + i])).sort((a, b) => a - b);
  const p99 = abs[Math.ceil(0.99 * abs.length) - 1];
  const over = abs.filter((a) => a > p99).length;
  assert.ok(over > 0, 'the recording has values past the 99th percentile');
  // The unit whose largest |c| is smallest: far from full colour on the map's scale, at full colour on its own.
  const maxOf = (u: number) => Math.max(...Array.from({ length: T }, (_, t) => Math.abs(states[at(k, t, u, T, H)])));
  const unit = Array.from({ length: H }, (_, u) => u).sort((a, b) => maxOf(a) - maxOf(b))[0];
  const t = Array.from({ length: T }, (_, i) => i).sort((a, b) => Math.abs(states[at(k, b, unit, T, H)]) - Math.abs(states[at(k, a, unit, T, H)]))[0];
  const END_COLOURS = [0x67001f, 0x053061]; // RdBu's ends: red (positive), blue (negative)
  await withPanel({ theme: 'dark', width: 1100, height: 900 }, async ({ page }) => {
    await post(page, fable);
    await showTab(page, 'states');
    const pixel = () =>
      page.evaluate(
        ({ r, c }) => {
          const canvas = document.querySelector<HTMLCanvasElement>('#states canvas[data-tensor="c"]');
          if (!canvas) return -1;
          const d = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData((c + 0.5) * Number(canvas.dataset.cellW), (r + 0.5) * Number(canvas.dataset.cellH), 1, 1).data;
          return (d[0] << 16) | (d[1] << 8) | d[2];
        },
        { r: unit, c: t },
      );
    const legend = await page.evaluate(() => {
      const l = document.querySelector<HTMLElement>('#states figure[data-tensor="c"] .legend');
      return { hi: l?.querySelector('.legend-hi')?.textContent, clipped: l?.dataset.clipped, note: document.querySelector('#states figure[data-tensor="c"] .legend-note')?.textContent ?? '' };
    });
    assert.equal(legend.clipped, 'yes');
    assert.equal(legend.hi, `+${Number(p99.toPrecision(4))}*`, 'the scale ends at the 99th percentile of |c|');
    assert.match(legend.note, new RegExp(`99th percentile of \\|value\\|; ${over} larger`));
    assert.ok(!END_COLOURS.includes(await pixel()), `unit ${unit}'s largest |c| is not at full colour on the map's scale`);

    await page.click('#scale');
    await page.click('#scale vscode-option[value="unit"]');
    await settle(page);
    assert.ok(END_COLOURS.includes(await pixel()), `per unit: unit ${unit}'s largest |c| is at full colour`);
    assert.match((await page.locator('#states figure[data-tensor="c"] .legend-note').textContent()) ?? '', /per unit/);
  });
});

test('hovering a column marks it in every map and the strip; the cursor is marked; the selected unit’s label is printed once', async () => {
  await withPanel({ theme: 'light', width: 1100, height: 900 }, async ({ page }) => {
    await post(page, [article.model, article.trace]);
    await showTab(page, 'states');
    const canvas = page.locator('#states canvas[data-tensor="h"]');
    const box = await canvas.boundingBox();
    assert.ok(box);
    const cellW = Number(await canvas.getAttribute('data-cell-w'));
    const col = 5;
    await page.mouse.move(box.x + (col + 0.5) * cellW, box.y + 4);
    const marks = await page.evaluate(() => ({
      columns: Array.from(document.querySelectorAll<HTMLElement>('#states .hm-colmark')).map((m) => ({ hidden: m.hidden, left: parseFloat(m.style.left), cellW: Number(m.dataset.cellW) })),
      chips: Array.from(document.querySelectorAll<HTMLElement>('#states .token-chip.hover')).map((c) => c.dataset.col),
      labels: Array.from(document.querySelectorAll<HTMLElement>('#states .hm-col.hover')).length,
    }));
    assert.equal(marks.columns.length, 6);
    for (const m of marks.columns) assert.deepEqual([m.hidden, m.left], [false, col * m.cellW]);
    assert.deepEqual(marks.chips, [String(col)]);
    assert.equal(marks.labels, 6, 'the column’s label in each map');

    // The cursor stands before “mice”: after three tokens, in the strip and on each map.
    const cursor = await page.evaluate(() => ({
      strip: document.querySelector<HTMLElement>('#states-strip .text-cursor')?.dataset.at,
      next: document.querySelector<HTMLElement>('#states-strip .text-cursor + .token-chip')?.dataset.token,
      maps: Array.from(document.querySelectorAll<HTMLElement>('#states .hm-textcursor')).map((m) => Number(m.dataset.at)),
    }));
    assert.equal(cursor.strip, '3');
    assert.equal(cursor.next, 'mice');
    assert.deepEqual(cursor.maps, [3, 3, 3, 3, 3, 3]);

    // Select unit 2 of h: its row label once, with the ▸, and no other label over it.
    const p = { x: box.x + 0.5 * cellW, y: box.y + 2.5 * Number(await canvas.getAttribute('data-cell-h')) };
    await page.mouse.click(p.x, p.y);
    await settle(page);
    const rows = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>('#states figure[data-tensor="h"] .hm-row')).map((r) => {
        const b = r.getBoundingClientRect();
        return { text: r.textContent ?? '', top: b.top, bottom: b.bottom };
      }),
    );
    assert.equal(rows.filter((r) => r.text.startsWith('2')).length, 1, `unit 2 labelled once: ${rows.map((r) => r.text).join(', ')}`);
    for (let i = 0; i < rows.length; i++) for (let j = i + 1; j < rows.length; j++) assert.ok(rows[i].bottom <= rows[j].top + 0.5 || rows[j].bottom <= rows[i].top + 0.5, `labels ${rows[i].text} and ${rows[j].text} overlap`);
  });
});

test('Shapes at 300 px: each dimension’s name and meaning on one line, shapes such as (512, 128) never broken', async () => {
  const big = modelMessage(
    {
      config: { vocab_size: 512, embedding_size: null, hidden_size: 128, num_layers: 2, bidirectional: false, mode: 'many_to_many' },
      tokens: 'char',
      settings: { sequence_length: 64, batch_size: 32, clip: 5 },
      step: 0,
      loss: null,
    },
    'big.txt',
  );
  await withPanel({ theme: 'dark', width: 300, height: 900 }, async ({ page }) => {
    await post(page, [big]);
    await showTab(page, 'shapes');
    const r = await page.evaluate(() => ({
      pairs: Array.from(document.querySelectorAll<HTMLElement>('.dims > div')).map((d) => {
        const dt = d.querySelector('dt')?.getBoundingClientRect();
        const dd = d.querySelector('dd')?.getBoundingClientRect();
        return { text: d.textContent ?? '', sameLine: !!dt && !!dd && Math.abs(dt.top - dd.top) < 4, left: d.getBoundingClientRect().left, right: d.getBoundingClientRect().right };
      }),
      shapes: Array.from(document.querySelectorAll<HTMLElement>('td.shape')).map((td) => {
        // The lines the text itself takes (the row may be taller for other cells).
        const range = document.createRange();
        range.selectNodeContents(td);
        const tops = new Set(Array.from(range.getClientRects()).map((q) => Math.round(q.top)));
        return { text: td.textContent ?? '', lines: tops.size };
      }),
      width: document.documentElement.clientWidth,
    }));
    assert.ok(r.pairs.length >= 6);
    for (const p of r.pairs) assert.ok(p.sameLine && p.left >= 0 && p.right <= r.width, `“${p.text}” on one line inside the panel`);
    assert.ok(r.shapes.some((s) => s.text === '(512, 128)'));
    for (const s of r.shapes) assert.equal(s.lines, 1, `${s.text} on one line`);
  });
});

test('README screenshots: one per tab, 1100 px wide, dark and light (media/screenshots/)', async () => {
  for (const theme of ['dark', 'light'] as ThemeName[]) {
    await withPanel({ theme, width: 1100, height: 1000 }, async ({ page }) => {
      // What a newcomer sees after training from the palette: the checkpoint's model and curve, then a trace.
      await post(page, [chars.model, chars.trace]);
      for (const tab of TABS) {
        if (tab === 'predictions') await post(page, [words.model, words.finished, words.trace]);
        await showTab(page, tab);
        await page.screenshot({ path: join(README_SHOTS, `${theme}-${tab}.png`), clip: { x: 0, y: 0, width: 1100, height: tab === 'gradients' ? 1400 : 1000 }, fullPage: true });
      }
      // The Step tab: the character model's step before the cursor, forward and backward (its own run's end in the header).
      await post(page, [chars.model, chars.finished, chars.trace, chars.step]);
      await showTab(page, 'step');
      await page.waitForSelector('#step .eq .num');
      await page.screenshot({ path: join(README_SHOTS, `${theme}-step.png`), clip: { x: 0, y: 0, width: 1100, height: 1400 }, fullPage: true });
    });
  }
});

test('the gradient of the last position’s loss alone: what the engine’s many-to-one pass gives, and drawn dashed beside the sequence’s', async () => {
  const trace = article.trace;
  const { T, H } = trace;
  const last = trace.entries[0].lastGradients;
  assert.ok(last, 'the trace carries the last position’s gradients');
  // The reference: the article's own many-to-one model reading tokens 0..T-2 and predicting token T-1.
  const model = article.trainer.model;
  const ids = article.trainer.tokenizer.encode(ARTICLE_TEXT).ids;
  assert.equal(ids.length, T);
  model.forward(ids.subarray(0, T - 1), 1, T - 1, Int32Array.of(ids[T - 1]), { recordTrace: true });
  model.zeroGrad();
  model.backward();
  const ref = model.trace()[0];
  assert.ok(ref.dh && ref.dc);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < H; j++) {
      const want = [t < T - 1 ? ref.dh[t * H + j] : 0, t < T - 1 ? ref.dc[t * H + j] : 0];
      const got = [last[(0 * T + t) * H + j], last[(1 * T + t) * H + j]];
      for (let k = 0; k < 2; k++) assert.ok(Math.abs(got[k] - want[k]) <= Math.abs(want[k]) * 1e-4 + 1e-7, `${k ? 'dc' : 'dh'}[t ${t}, unit ${j}]: ${got[k]} against ${want[k]}`);
    }
  }
  await withPanel({ theme: 'dark', width: 900, height: 900 }, async ({ page }) => {
    await post(page, [article.model, trace]);
    await showTab(page, 'gradients');
    const series = await page.evaluate(() => Array.from(document.querySelectorAll('#chart-grad-distance .u-legend .u-series th')).map((th) => th.textContent ?? ''));
    assert.ok(series.some((s) => /last position’s loss alone/.test(s)), `series: ${series.join(' | ')}`);
    await page.screenshot({ path: join(SHOTS, 'last-position-gradients.png'), fullPage: true });
  });
});

/**
 * The Units tab as the host fills it, from the character model's real states over the fable: the
 * units on across "general council" (the threshold the highest any unit keeps across it), their
 * matches, the tracks' leaders.
 */
function unitsMessages(): UnitsHostToPanel[] {
  const text = readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
  const states = computeUnitStates(chars.trainer.model, chars.trainer.tokenizer, text);
  const a = text.indexOf('general council');
  const select: [number, number] = [a, a + 'general council'.length];
  let threshold = -1;
  for (let u = 0; u < states.H; u++) {
    let low = Infinity;
    for (let t = select[0]; t < select[1]; t++) low = Math.min(low, stateAt(states, t, u));
    threshold = Math.max(threshold, Math.floor(low * 100) / 100);
  }
  const found = findMatches(states, { select, threshold, top: 500 });
  const lineOf = (c: number): number => text.slice(0, c).split('\n').length - 1;
  const matches = found.matches.map((m) => {
    const [c0, c1] = charSpan(states, m.start, m.end);
    return { start: c0, end: c1, line: lineOf(c0), text: text.slice(c0, Math.min(c1, c0 + 120)) };
  });
  const leaders = trackLeaders(states, text, 5);
  return [
    {
      type: 'units', file: 'belling_the_cat.txt', step: chars.trainer.step, T: states.T, H: states.H, layers: 2, directions: 1,
      choice: { state: 'h', layer: 0, direction: 'forward' }, query: { threshold, offBefore: 0, offAfter: 0 },
      selection: { text: text.slice(select[0], select[1]), tokens: select, line: lineOf(a) }, units: found.units,
      matches, count: found.count, queryMs: 0.3, statesMs: 40, bytes: states.T * states.H * 4, live: false,
    },
    { type: 'unitsLeaders', tracks: TRACK_NAMES.map((name) => ({ name, leaders: leaders[name] })) },
    { type: 'unitsColour', unit: leaders.in_word[0].unit },
  ];
}

test('the Units tab at 300, 540 and 1100 px in light and dark: no sideways overflow, the leaders whole; README screenshots', async () => {
  const units = unitsMessages();
  for (const theme of ['dark', 'light'] as ThemeName[]) {
    for (const width of [300, 540, 1100]) {
      await withPanel({ theme, width, height: 1000 }, async ({ page }) => {
        await post(page, [chars.model, chars.trace, ...units]);
        await showTab(page, 'units');
        await page.waitForSelector('#units .units-leaders');
        const o = await overflow(page);
        const what = `${theme} ${width} px, units`;
        assert.ok(o.scrollWidth <= o.width, `${what}: the page is ${o.scrollWidth} px wide in ${o.width} (${o.wide.join('; ')})`);
        assert.deepEqual(o.wide, [], `${what}: elements past the right edge`);
        assert.ok((await page.locator('#units .units-match').count()) >= 1, `${what}: the matches listed`);
        await page.screenshot({ path: join(SHOTS, `${theme}-${width}-units.png`), fullPage: true });
        if (width === 1100) await page.screenshot({ path: join(README_SHOTS, `${theme}-units.png`), clip: { x: 0, y: 0, width: 1100, height: 1000 }, fullPage: true });
      });
    }
  }
});
