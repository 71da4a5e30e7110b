// The Units tab's numbers typed carelessly, in headless Chromium: an <input type="number"> reads ""
// for both an empty field and a typo, and "" is not 0. A typo sends nothing and says so beside the
// field; a clamp outside the model in view (unit ≥ H, layer ≥ its layers) is refused there too.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { checkHostToPanel } from '../../src/protocol/panel';
import { loadRecording, post, posted, settle, panelHostForFile } from './harness';

const panels = panelHostForFile();

const units = {
  type: 'units', file: 'code.py', step: 40, T: 1200, H: 16, layers: 1, directions: 1,
  choice: { state: 'h', layer: 0, direction: 'forward' }, query: { threshold: 0.5, offBefore: 0, offAfter: 0 },
  selection: { text: '"quoted"', tokens: [10, 18], line: 2 }, units: [3, 11], count: 1,
  matches: [{ start: 10, end: 18, line: 2, text: '"quoted"' }],
  queryMs: 0.4, statesMs: 35, bytes: 76_800, live: false,
};

async function sent(page: Page, type: string): Promise<Array<Record<string, unknown>>> {
  return (await posted(page)).filter((m) => m.type === type) as Array<Record<string, unknown>>;
}

/** Replaces the field's text by typing, as a person does (fill() refuses text a number input cannot hold). */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).focus();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Backspace');
  if (text) await page.keyboard.type(text);
  await page.waitForTimeout(400); // past the tab's 120 ms pause before it asks
}

test('a threshold typed as a non-number or left empty is not sent as 0, and the field says why', async () => {
  assert.ok(checkHostToPanel(units).ok);
  const recording = loadRecording('article');
  await panels.withPanel({}, async ({ page }) => {
    await post(page, [...recording.filter((m) => m.type === 'model'), units]);
    await settle(page);
    for (const typo of ['', '-', 'abc']) {
      await typeInto(page, '#units-threshold', typo);
      await settle(page);
      assert.deepEqual(await sent(page, 'unitsQuery'), [], `"${typo}" asked for ${JSON.stringify(await sent(page, 'unitsQuery'))}`);
      assert.equal(await page.locator('#units-threshold').getAttribute('aria-invalid'), 'true', `"${typo}"`);
      assert.match(await page.locator('#units-threshold ~ .field-problem').innerText(), /not a number/);
    }
    // A wild but real number is a threshold (every unit on), and the complaint goes.
    await typeInto(page, '#units-threshold', '-1e9');
    await settle(page);
    assert.deepEqual((await sent(page, 'unitsQuery')).at(-1), { type: 'unitsQuery', choice: units.choice, query: { threshold: -1e9, offBefore: 0, offAfter: 0 } });
    assert.equal(await page.locator('#units-threshold').getAttribute('aria-invalid'), null);
    assert.equal(await page.locator('#units-threshold ~ .field-problem').innerText(), '');
    // An empty "off before" is 0, as before; a fraction is not a count.
    await typeInto(page, '#units-off-before', '2.5');
    await settle(page);
    assert.equal((await sent(page, 'unitsQuery')).length, 1, 'a fraction of a token asked nothing');
    assert.match(await page.locator('#units-off-before ~ .field-problem').innerText(), /whole number/);
  });
});

test('a clamp beyond the model in view, or with an empty field, is refused in the tab, not sent', async () => {
  const recording = loadRecording('article');
  await panels.withPanel({}, async ({ page }) => {
    await post(page, [...recording.filter((m) => m.type === 'model'), units]);
    await settle(page);
    const tries: Array<[string, string, RegExp]> = [
      ['#units-clamp-unit', '16', /unit from 0 to 15/], // H = 16
      ['#units-clamp-unit', '', /unit from 0 to 15/],
      ['#units-clamp-layer', '1', /layer from 0 to 0/], // one layer
      ['#units-clamp-value', '', /not a number/],
    ];
    for (const [field, text, problem] of tries) {
      await typeInto(page, '#units-clamp-unit', '3');
      await typeInto(page, '#units-clamp-layer', '0');
      await typeInto(page, '#units-clamp-value', '1');
      await typeInto(page, field, text);
      for (const button of ['#units-compare', '#units-clamp-on']) await page.locator(button).click();
      await settle(page);
      assert.deepEqual([...(await sent(page, 'unitsCompare')), ...(await sent(page, 'unitsClampOn'))], [], `${field} = "${text}" was sent`);
      assert.match(await page.locator(`${field} ~ .field-problem`).innerText(), problem);
    }
    await typeInto(page, '#units-clamp-value', '1');
    await typeInto(page, '#units-clamp-unit', '15');
    await page.locator('#units-compare').click();
    await settle(page);
    assert.deepEqual(await sent(page, 'unitsCompare'), [{ type: 'unitsCompare', clamp: { state: 'h', layer: 0, unit: 15, value: 1 } }]);
    assert.equal(await page.locator('#units-clamp-unit ~ .field-problem').innerText(), '');
  });
});
