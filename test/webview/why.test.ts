// The time line, the baseline and the attribution strip in headless Chromium, drawn from the
// host's messages: the slider's stops are the snapshots and the latest, its sample follows the
// chosen one, arrow keys move it and post the choice; the baseline's bars are the orders' losses
// and the LSTM's, with the verdict worked out by hand; the strip shades the earlier tokens by the
// gradient norms of float64 PyTorch's fixture (test/fixtures/why) and asks for the picked
// prediction. Light and dark, narrow and wide screenshots go to $TMPDIR/lstm-lens-why-shots.
// Needs `npm run build` first and Chromium at /usr/bin/chromium.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { checkHostToPanel, type HostToPanel } from '../../src/protocol/panel';
import { modelMessage, traceMessage } from '../../src/run/panelData';
import { whyFixtures, whyModel } from '../support/whyFixtures';
import { post, posted, showTab, panelHostForFile } from './harness';

const panels = panelHostForFile();
const SHOTS = join(tmpdir(), 'lstm-lens-why-shots');
before(() => {
  mkdirSync(SHOTS, { recursive: true });
});

const fixture = whyFixtures().find((f) => f.name === 'onehot_l2') ?? whyFixtures()[0];

/** The fixture's model reading its text, as the host would send it. */
function modelAndTrace(): HostToPanel[] {
  const { model, tokenizer } = whyModel(fixture);
  const trace = traceMessage(model, tokenizer, fixture.text, 'the fixture', 300);
  assert.ok(trace);
  const summary = modelMessage({ config: model.config, tokens: 'char', settings: { sequence_length: 16, batch_size: 1, clip: null }, loss: 1.9, step: 300 }, 'fable.txt');
  return [summary, trace];
}

const SAMPLES = ['xq!zvk pqq', 'the tha the', 'The cat said'];
const timeline = (chosen: number | null): HostToPanel => ({
  type: 'whyTimeline',
  snapshots: [
    { step: 0, loss: null, sample: SAMPLES[0] },
    { step: 8, loss: 3.2, sample: SAMPLES[1] },
    { step: 64, loss: 2.1, sample: SAMPLES[2] },
  ],
  latest: { step: 300, loss: 1.9 },
  chosen,
});
// Orders 1..3 with losses 3.3, 2.5, 2.0; the LSTM 2.2: it beats the 1- and 2-gram, not the 3-gram.
const baseline: HostToPanel = { type: 'whyBaseline', baseline: { tokens: 1000, trainTokens: 900, heldoutTokens: 100, orders: [{ order: 1, loss: 3.3 }, { order: 2, loss: 2.5 }, { order: 3, loss: 2.0 }], best: 3, lstm: 2.2 }, note: null };

/** The strip's message from the fixture's PyTorch attribution of its last position. */
function strip(): HostToPanel {
  const a = fixture.attributions[fixture.attributions.length - 1];
  const { tokenizer } = whyModel(fixture);
  const n = a.position + 2;
  const m = {
    type: 'whyAttribution' as const,
    tokens: fixture.tokens.slice(0, n).map((id) => tokenizer.tokenString(id)),
    gradNorm: a.grad_norm.slice(0, n),
    gradXInput: a.grad_x_input.slice(0, n),
    target: tokenizer.tokenString(a.target),
    p: Math.exp(-fixture.token_loss[a.position]),
  };
  const checked = checkHostToPanel(m);
  assert.ok(checked.ok, checked.ok ? '' : checked.error);
  return m;
}

test('the time line: a stop per snapshot and the latest, the chosen one’s sample, arrow keys post the choice', async () => {
  await panels.withPanel({}, async ({ page }) => {
    await post(page, [...modelAndTrace(), timeline(null)]);
    await showTab(page, 'training');
    const slider = page.locator('#timeline-slider');
    assert.equal(await slider.getAttribute('max'), '3');
    assert.equal(await slider.inputValue(), '3', 'the latest chosen');
    assert.match((await page.textContent('#timeline-readout')) ?? '', /latest, step 300, loss 1\.9/);
    assert.deepEqual(await page.$$eval('.timeline-tick', (ts) => ts.map((t) => t.textContent)), ['0', '8', '64', '300']);
    // Every snapshot's sample is listed.
    assert.deepEqual(await page.$$eval('#timeline-samples pre', (ps) => ps.map((p) => p.textContent)), SAMPLES);
    // Keyboard: focus the slider (Tab reaches it: an input), Left moves to step 64 and posts it.
    await slider.focus();
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'whyChooseSnapshot'));
    const chosen = (await posted(page)).filter((m) => m.type === 'whyChooseSnapshot');
    assert.deepEqual(chosen[chosen.length - 1], { type: 'whyChooseSnapshot', step: 64 });
    // The host answers with the time line at 64: its sample is shown.
    await post(page, [timeline(64)]);
    assert.equal(await page.textContent('#timeline-sample'), SAMPLES[2]);
    assert.equal(await page.locator('#timeline-slider').inputValue(), '2');
    await page.keyboard.press('Home');
    await page.locator('#timeline-slider').focus();
    await page.keyboard.press('Home');
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string; step?: number | null }> }).__posted.some((m) => m.type === 'whyChooseSnapshot' && m.step === 0));
  });
});

test('the baseline: a bar per order and the LSTM, lengths by loss, the verdict in words', async () => {
  await panels.withPanel({}, async ({ page }) => {
    await post(page, [...modelAndTrace(), timeline(null), baseline]);
    await showTab(page, 'training');
    const rows = await page.$$eval('.baseline-row', (rs) =>
      rs.map((r) => ({ kind: (r as HTMLElement).dataset.kind, loss: Number((r as HTMLElement).dataset.loss), width: (r.querySelector('.baseline-fill') as HTMLElement).getBoundingClientRect().width, bar: (r.querySelector('.baseline-bar') as HTMLElement).getBoundingClientRect().width })),
    );
    assert.deepEqual(rows.map((r) => r.kind), ['ngram', 'ngram', 'best', 'lstm']);
    assert.deepEqual(rows.map((r) => r.loss), [3.3, 2.5, 2.0, 2.2]);
    // The longest bar is the 1-gram's (3.3): the others in proportion, within a pixel.
    for (const r of rows) assert.ok(Math.abs(r.width - (r.bar - 2) * (r.loss / 3.3)) <= 1.5, JSON.stringify(r));
    assert.equal(await page.textContent('#baseline-verdict'), 'The LSTM beats the 1-gram, 2-gram, not yet the 3-gram.');
    await post(page, [{ type: 'whyBaseline', baseline: null, note: 'Counting n-grams of the text…' }]);
    assert.match((await page.textContent('#baseline')) ?? '', /Counting n-grams/);
  });
});

test('the attribution strip: earlier tokens shaded by PyTorch’s gradient norms, the target last, the picked prediction asked for', async () => {
  await panels.withPanel({}, async ({ page }) => {
    const m = strip() as Extract<HostToPanel, { type: 'whyAttribution' }>;
    await post(page, [...modelAndTrace(), m]);
    await showTab(page, 'predictions');
    const chips = await page.$$eval('#attribution-strip .attribution-chip', (cs) => cs.map((c) => ({ norm: Number((c as HTMLElement).dataset.norm), target: c.classList.contains('target'), tab: c.getAttribute('tabindex'), alpha: getComputedStyle(c.firstElementChild as Element).backgroundColor })));
    assert.equal(chips.length, m.tokens.length);
    assert.ok(chips[chips.length - 1].target && chips.slice(0, -1).every((c) => !c.target));
    assert.ok(chips.every((c) => c.tab === '0'), 'every chip is reachable by Tab');
    // The strongest earlier token has the darkest shade (alpha 0.88), as the fixture's largest norm says.
    const earlier = m.gradNorm.slice(0, -1);
    const strongest = earlier.indexOf(Math.max(...earlier));
    assert.equal(chips[strongest].norm, earlier[strongest]);
    assert.match(chips[strongest].alpha, /0\.88\)/);
    // Pick token 3 on the Predictions strip (its prediction is made at position 2), then ask why.
    await page.click('[data-pane="predictions"] .token-chip[data-col="3"]');
    await page.click('#attribution-ask');
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((x) => x.type === 'whyAttribute'));
    assert.deepEqual((await posted(page)).filter((x) => x.type === 'whyAttribute').pop(), { type: 'whyAttribute', t: 2 });
  });
});

test('screenshots: light and dark, narrow and wide', async () => {
  for (const theme of ['light', 'dark'] as const) {
    for (const width of [320, 1200]) {
      await panels.withPanel({ theme, width, height: 1100 }, async ({ page }) => {
        await post(page, [...modelAndTrace(), timeline(64), baseline, strip()]);
        await showTab(page, 'training');
        await page.locator('[data-pane="timeline"]').screenshot({ path: join(SHOTS, `${theme}-${width}-timeline.png`) });
        await showTab(page, 'predictions');
        await page.locator('[data-pane="attribution"]').screenshot({ path: join(SHOTS, `${theme}-${width}-attribution.png`) });
        // Nothing wider than the panel.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${theme} ${width}: ${overflow} px wider than the panel`);
      });
    }
  }
});
