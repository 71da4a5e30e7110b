// The Step tab in headless Chromium: the numbers it writes are the float64 PyTorch fixture's
// (test/fixtures/explain, made by test/pytorch/), formatted as the panel formats them; ◀ ▶ and the
// arrow keys ask for the neighbouring step; the direction's last step says why dh_next and dc_next
// are zero; a token picked on the States tab opens the Step tab at that step.
// Needs `npm run build` first and Chromium at /usr/bin/chromium.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { checkHostToPanel, type HostToPanel, type StepMessage, type TraceMessage } from '../../src/protocol/panel';
import { modelMessage, traceMessage } from '../../src/run/panelData';
import { Tokenizer } from '../../src/engine/tokenizer';
import { formatValue } from '../../webview/format';
import { explainFixtures, fixtureModel, type ExplainFixture } from '../support/explainFixtures';
import { post, posted, settle, showTab, panelHostForFile } from './harness';

const panels = panelHostForFile();

const fixture: ExplainFixture = explainFixtures().find((f) => f.name === 'article') ?? explainFixtures()[0];
type FixtureStep = ExplainFixture['steps'][number];

/** The fixture's model reading its text: the trace the Step tab's tokens come from. */
function fixtureTrace(): { model: HostToPanel; trace: TraceMessage } {
  const model = fixtureModel(fixture);
  const tokenizer = Tokenizer.fromVocabulary(fixture.vocab);
  const trace = traceMessage(model, tokenizer, fixture.text, 'the fixture', 7);
  assert.ok(trace);
  const summary = modelMessage({ config: model.config, tokens: fixture.vocab.kind, settings: { sequence_length: trace.T, batch_size: 1, clip: null }, loss: null, step: 7 } as never, 'article.txt');
  return { model: summary, trace };
}

/** A step message carrying the fixture's numbers exactly; the memory span from the fixture's own forget gates. */
function stepFromFixture(s: FixtureStep, T: number): StepMessage {
  const H = s.forward.h.length;
  const later = fixture.steps.filter((x) => x.layer === s.layer && x.direction === s.direction && (s.direction === 'forward' ? x.t > s.t : x.t < s.t)).sort((a, b) => (s.direction === 'forward' ? a.t - b.t : b.t - a.t));
  const steps = [s.t, ...later.map((x) => x.t)];
  const memory = new Float32Array(steps.length * H);
  const running = new Array<number>(H).fill(1);
  memory.set(running, 0);
  later.forEach((x, k) => {
    for (let u = 0; u < H; u++) running[u] *= x.forward.f[u];
    memory.set(running, (k + 1) * H);
  });
  const first = s.direction === 'forward' ? 0 : T - 1;
  const last = s.direction === 'forward' ? T - 1 : 0;
  const message = {
    type: 'step' as const,
    step: 7,
    explanation: { token: s.token, t: s.t, layer: s.layer, direction: s.direction, T, is_first: s.t === first, is_last: s.t === last, forward: s.forward, backward: s.backward },
    span: { steps, memory, lastDh: null, lastDc: null },
  };
  const checked = checkHostToPanel(message);
  assert.ok(checked.ok, checked.ok ? '' : checked.error);
  return message as StepMessage;
}

/** Every number the tab writes for the unit: field, index and text of each result. */
function shownNumbers(page: Page): Promise<Array<{ field: string; index: number; text: string }>> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('#step .num[data-field]')).map((n) => ({ field: n.dataset.field ?? '', index: Number(n.dataset.index), text: n.textContent ?? '' })),
  );
}

function fixtureValue(s: FixtureStep, field: string, index: number): number {
  const [part, name] = field.split('.') as ['forward' | 'backward', string];
  return (s[part] as unknown as Record<string, number[]>)[name][index];
}

function explainRequests(all: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return all.filter((m) => m.type === 'explainStep');
}

test('the Step tab writes the fixture\'s numbers for every unit, forward and backward', async () => {
  const { model, trace } = fixtureTrace();
  const s = fixture.steps.find((x) => x.t === 4 && x.layer === 0 && x.direction === 'forward');
  assert.ok(s, 'the fixture explains step 4');
  const H = s.forward.h.length;
  await panels.withPanel({}, async ({ page }) => {
    await post(page, [model, trace]);
    await showTab(page, 'step');
    // Opening the tab asks for the step before the cursor (no cursor: the last).
    const asked = explainRequests(await posted(page));
    assert.deepEqual(asked.at(-1), { type: 'explainStep', t: trace.T - 1, layer: 0, direction: 'forward' });
    await post(page, [stepFromFixture(s, trace.T)]);
    for (let u = 0; u < H; u++) {
      if (u > 0) {
        await page.fill('#step-unit', String(u));
        await page.dispatchEvent('#step-unit', 'change');
        await settle(page);
      }
      const shown = await shownNumbers(page);
      assert.ok(shown.length >= 40, `unit ${u}: ${shown.length} numbers written`);
      for (const n of shown) {
        assert.equal(n.text, formatValue(fixtureValue(s, n.field, n.index)), `unit ${u}: ${n.field}[${n.index}]`);
        if (n.field !== 'forward.x' && n.field !== 'backward.dx') assert.equal(n.index % H, u, `${n.field}[${n.index}] belongs to unit ${u}`);
      }
      // Every field of the contract appears for the unit (x and dx only as strips).
      const fields = new Set(shown.map((n) => n.field));
      for (const f of ['h_prev', 'c_prev', 'Wx', 'Uh', 'b', 'z', 'i', 'f', 'g', 'o', 'c', 'tanh_c', 'h']) assert.ok(fields.has(`forward.${f}`), `forward.${f} shown`);
      for (const f of ['dh', 'dh_up', 'dh_next', 'dc', 'dc_via_h', 'dc_next', 'di', 'df', 'dg', 'do', 'dz', 'dc_prev', 'dh_prev']) assert.ok(fields.has(`backward.${f}`), `backward.${f} shown`);
    }
    // Each equation names its PyTorch expression on hover.
    const torch = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('#step .eq')).map((e) => e.title));
    assert.ok(torch.some((t) => t.includes('torch.sigmoid(z[:, 0:H])')));
    assert.ok(torch.some((t) => t.includes('c = f * c_prev + i * g')));
    assert.ok(torch.some((t) => t.includes('dh_prev = dz @ W_hh')));
    // Shapes of the article's figures: (1, 10) one-hot in, (1, 4H) = (1, 20) gate rows, (1, 5) states.
    const shapes = await page.evaluate(() => Array.from(document.querySelectorAll('#step .vs-shape')).map((e) => e.textContent ?? ''));
    assert.ok(shapes.includes('(1, V) = (1, 10) one-hot'));
    assert.ok(shapes.some((x) => x.startsWith('(1, 4H) = (1, 20)')));
    assert.ok(shapes.includes('(1, H) = (1, 5)'));
    // Not the last step: no note says dh_next is zero.
    assert.equal(await page.locator('#step [data-note="dh"]').textContent().then((t) => /last step/.test(t ?? '')), false);
  });
});

test('◀ ▶ and the arrow keys ask for the neighbouring step; the last step says why dh_next and dc_next are zero', async () => {
  const { model, trace } = fixtureTrace();
  const T = trace.T;
  const at = (t: number): FixtureStep => {
    const s = fixture.steps.find((x) => x.t === t && x.layer === 0 && x.direction === 'forward');
    assert.ok(s, `the fixture explains step ${t}`);
    return s;
  };
  await panels.withPanel({}, async ({ page }) => {
    await post(page, [model, trace, stepFromFixture(at(3), T)]);
    await showTab(page, 'step');
    assert.equal(await page.getAttribute('#step-where', 'data-t'), '3');
    await page.click('#step-next');
    await settle(page);
    assert.deepEqual(explainRequests(await posted(page)).at(-1), { type: 'explainStep', t: 4, layer: 0, direction: 'forward' });
    // Until the step comes, the tab says it is on its way.
    assert.match((await page.textContent('#step')) ?? '', /Explaining step 4…/);
    await post(page, [stepFromFixture(at(4), T)]);
    assert.equal(await page.getAttribute('#step-where', 'data-t'), '4');
    await page.click('#step-prev');
    await settle(page);
    assert.deepEqual(explainRequests(await posted(page)).at(-1), { type: 'explainStep', t: 3, layer: 0, direction: 'forward' });
    await post(page, [stepFromFixture(at(3), T)]);
    // The arrow keys, with the focus on the tab's own controls.
    await page.focus('#step-strip [data-col="3"]');
    await page.keyboard.press('ArrowRight');
    await settle(page);
    assert.deepEqual(explainRequests(await posted(page)).at(-1), { type: 'explainStep', t: 4, layer: 0, direction: 'forward' });
    await post(page, [stepFromFixture(at(4), T)]);
    await page.focus('#step-next');
    await page.keyboard.press('ArrowLeft');
    await settle(page);
    assert.deepEqual(explainRequests(await posted(page)).at(-1), { type: 'explainStep', t: 3, layer: 0, direction: 'forward' });
    // The last step: ▶ is disabled and the notes say why the terms from the next step are zero.
    await post(page, [stepFromFixture(at(T - 1), T)]);
    assert.equal(await page.getAttribute('#step-where', 'data-t'), String(T - 1));
    assert.equal(await page.getAttribute('#step-next', 'disabled'), '');
    const dhNote = (await page.textContent('#step [data-note="dh"]')) ?? '';
    const dcNote = (await page.textContent('#step [data-note="dc"]')) ?? '';
    assert.match(dhNote, /dh_next is zero: this is the last step this direction reads/);
    assert.match(dcNote, /dc_next is zero: this is the last step this direction reads/);
    assert.match(dhNote, /the last token predicts nothing/);
    // The first step: the state starts from zero, and says so.
    await post(page, [stepFromFixture(at(0), T)]);
    assert.match((await page.textContent('#step [data-note="input"]')) ?? '', /zeros: this is the first step/);
  });
});

test('a token picked on the States tab opens the Step tab at that step; showStep opens it', async () => {
  const { model, trace } = fixtureTrace();
  await panels.withPanel({}, async ({ page }) => {
    await post(page, [model, trace]);
    await showTab(page, 'states');
    await page.click('#states-strip [data-col="2"]');
    await settle(page);
    assert.deepEqual(explainRequests(await posted(page)).at(-1), { type: 'explainStep', t: 2, layer: 0, direction: 'forward' });
    assert.equal(await page.evaluate(() => (document.querySelector('vscode-panels') as HTMLElement & { activeid: string }).activeid), 'tab-step');
    await showTab(page, 'shapes');
    await post(page, [{ type: 'showStep' }]);
    assert.equal(await page.evaluate(() => (document.querySelector('vscode-panels') as HTMLElement & { activeid: string }).activeid), 'tab-step');
  });
});
