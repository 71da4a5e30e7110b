// The Units tab in headless Chromium: it draws a selection's matches and the tracks' leaders from
// the host's messages, and its controls (reachable by keyboard) send the messages the host acts on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHostToPanel } from '../../src/protocol/panel';
import { loadRecording, post, posted, settle, panelHostForFile } from './harness';

const panels = panelHostForFile();

const units = {
  type: 'units', file: 'code.py', step: 40, T: 1200, H: 16, layers: 1, directions: 1,
  choice: { state: 'h', layer: 0, direction: 'forward' }, query: { threshold: 0.5, offBefore: 0, offAfter: 0 },
  selection: { text: '"quoted"', tokens: [10, 18], line: 2 }, units: [3, 11], count: 3,
  matches: [{ start: 10, end: 18, line: 2, text: '"quoted"' }, { start: 300, end: 305, line: 9, text: '"abc"' }, { start: 700, end: 702, line: 20, text: '""' }],
  queryMs: 0.4, statesMs: 35, bytes: 76_800, live: false,
};
const leaders = { type: 'unitsLeaders', tracks: [{ name: 'in_quotes', leaders: [{ unit: 11, r: 0.91 }, { unit: 3, r: -0.4 }] }, { name: 'column', leaders: [{ unit: 5, r: 0.7 }] }] };

test('the Units tab lists the matches and the leaders, and its controls send checked messages', async () => {
  for (const m of [units, leaders]) assert.ok(checkHostToPanel(m).ok, JSON.stringify(m).slice(0, 80));
  const recording = loadRecording('article');
  await panels.withPanel({}, async ({ page }) => {
    await post(page, [...recording.filter((m) => m.type === 'model'), units, leaders]);
    await settle(page);
    // A new selection's answer shows the tab.
    assert.equal(await page.locator('#units').isVisible(), true);
    assert.equal(await page.locator('.units-match').count(), 3);
    assert.match(await page.locator('.units-list').innerText(), /2 units on/);
    assert.match(await page.locator('.units-leaders').innerText(), /in_quotes[\s\S]*11 \(r \+0\.91\)/);

    await page.locator('.units-match').nth(1).click();
    await page.locator('.units-leaders [data-unit="11"]').click();
    // The threshold, typed: the query runs again (debounced), keeping the states' choice.
    await page.locator('#units-threshold').fill('0.25');
    await page.waitForTimeout(400);
    // Keyboard: a match button is reachable with Tab and answers Enter.
    await page.locator('.units-match').first().focus();
    await page.keyboard.press('Enter');
    await settle(page);
    const sent = (await posted(page)).filter((m) => String(m.type).startsWith('units'));
    assert.deepEqual(sent.find((m) => m.type === 'unitsJump'), { type: 'unitsJump', start: 300, end: 305 });
    assert.deepEqual(sent.find((m) => m.type === 'unitsColour'), { type: 'unitsColour', unit: 11 });
    assert.deepEqual(sent.find((m) => m.type === 'unitsQuery'), { type: 'unitsQuery', choice: units.choice, query: { threshold: 0.25, offBefore: 0, offAfter: 0 } });
    assert.equal(sent.filter((m) => m.type === 'unitsJump').at(-1)?.start, 10);

    await page.locator('#units-clamp-unit input, #units-clamp-unit').first().fill('3');
    await page.locator('#units-clamp-value').fill('-2');
    await page.locator('#units-compare').click();
    await settle(page);
    const compare = (await posted(page)).filter((m) => m.type === 'unitsCompare').at(-1);
    assert.deepEqual(compare, { type: 'unitsCompare', clamp: { state: 'h', layer: 0, unit: 3, value: -2 } });
  });
});
