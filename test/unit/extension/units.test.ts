// The Units tab's host side in plain Node: its messages checked both ways, its decisions as pure
// functions against hand-worked values, and the units worker (dist/units-worker.js, built by npm
// run build) answering as the command line does for the same checkpoint, text and selection.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clampName, colouringRange, defaultQuery, liveRereadDue, LIVE_EVERY_MS, selectionProblem, shadeOf, shiftSelection, UNIT_SHADES } from '../../../src/extension/unitsChoice';
import { UnitsError, UnitsJob } from '../../../src/extension/unitsJob';
import { checkHostToPanel, checkPanelToHost } from '../../../src/protocol/panel';
import { checkHostToUnitsWorker, checkUnitsWorkerToHost } from '../../../src/protocol/units';
import { cliIn, ok, ROOT, workspace } from '../cli/cli-support';

const units = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'units', file: 'a.txt', step: 3, T: 10, H: 4, layers: 1, directions: 1,
  choice: { state: 'h', layer: 0, direction: 'forward' }, query: { threshold: 0.5, offBefore: 0, offAfter: 0 },
  selection: { text: 'ab', tokens: [2, 4], line: 0 }, units: [1, 3], matches: [{ start: 2, end: 4, line: 0, text: 'ab' }], count: 1,
  queryMs: 0.2, statesMs: 5, bytes: 160, live: false, ...over,
});

describe('Units messages', () => {
  it('the panel gets a well-formed answer and nothing that disagrees with its own sizes', () => {
    assert.ok(checkHostToPanel(units()).ok);
    assert.equal(checkHostToPanel(units({ units: [4] })).ok, false, 'a unit beyond H');
    assert.equal(checkHostToPanel(units({ matches: [{ start: 5, end: 5, line: 0, text: '' }] })).ok, false, 'an empty match');
    assert.equal(checkHostToPanel(units({ choice: { state: 'h', layer: 1, direction: 'forward' } })).ok, false, 'a layer the model lacks');
    assert.equal(checkHostToPanel(units({ selection: { text: '', tokens: [4, 4], line: 0 } })).ok, false, 'an empty selection');
    assert.equal(checkHostToPanel(units({ choice: { state: 'x', layer: 0, direction: 'forward' } })).ok, false);
  });
  it('the host takes only well-formed controls from the tab', () => {
    const q = { type: 'unitsQuery', choice: { state: 'c', layer: 0, direction: 'forward' }, query: { threshold: -0.25, offBefore: 2, offAfter: 0 } };
    assert.ok(checkPanelToHost(q).ok);
    assert.equal(checkPanelToHost({ ...q, query: { threshold: Number.NaN, offBefore: 0, offAfter: 0 } }).ok, false);
    assert.equal(checkPanelToHost({ ...q, query: { threshold: 0.5, offBefore: -1, offAfter: 0 } }).ok, false);
    assert.equal(checkPanelToHost({ ...q, query: { threshold: 0.5, offBefore: 1.5, offAfter: 0 } }).ok, false);
    assert.ok(checkPanelToHost({ type: 'unitsColour', unit: null }).ok);
    assert.equal(checkPanelToHost({ type: 'unitsColour', unit: -1 }).ok, false);
    assert.ok(checkPanelToHost({ type: 'unitsCompare', clamp: { state: 'c', layer: 0, unit: 3, value: 1.5 } }).ok);
    assert.equal(checkPanelToHost({ type: 'unitsCompare', clamp: { state: 'c', layer: 0, unit: 3, value: Infinity } }).ok, false);
    assert.equal(checkPanelToHost({ type: 'unitsJump', start: 3, end: 1, extra: 1 }).ok, false);
  });
  it('the worker side: spans agree with values, a selection does not end before it starts', () => {
    const values = { type: 'values', id: 1, unit: 0, spans: new Int32Array([0, 1, 1, 2]), values: new Float32Array([0.1, 0.2]), max: 0.2 };
    assert.ok(checkUnitsWorkerToHost(values).ok);
    assert.equal(checkUnitsWorkerToHost({ ...values, spans: new Int32Array([0, 1]) }).ok, false);
    assert.equal(checkUnitsWorkerToHost({ type: 'matches', id: 0, select: [0, 1], units: [0], matches: [{ start: 2, end: 2, chars: [2, 2] }], count: 1, ms: 0 }).ok, false);
    assert.equal(checkHostToUnitsWorker({ type: 'query', id: 0, select: [5, 3], query: { threshold: 0, offBefore: 0, offAfter: 0 }, top: 5 }).ok, false);
    assert.equal(checkHostToUnitsWorker({ type: 'query', id: 0, select: [3, 5], query: { threshold: 0, offBefore: 0, offAfter: 0 }, top: 501 }).ok, false);
  });
});

describe('Units decisions', () => {
  it('thresholds default per state kind: h in (-1, 1) at 0.5, c at 1', () => {
    assert.deepEqual(defaultQuery('h'), { threshold: 0.5, offBefore: 0, offAfter: 0 });
    assert.equal(defaultQuery('c').threshold, 1);
  });
  it('shades: sign picks the half, |v| / max the strength, the largest in the top shade', () => {
    assert.equal(UNIT_SHADES, 5);
    assert.equal(shadeOf(0.0, 1), 5);
    assert.equal(shadeOf(0.19, 1), 5);
    assert.equal(shadeOf(0.2, 1), 6);
    assert.equal(shadeOf(1, 1), 9);
    assert.equal(shadeOf(-1, 1), 4);
    assert.equal(shadeOf(-0.45, 0.5), 4);
    assert.equal(shadeOf(-0.1, 2), 0);
    assert.equal(shadeOf(0.3, 0), 9, 'a unit that is 0 everywhere has no scale: anything else is the strongest');
  });
  it('live re-reading: only a newer checkpoint, nothing in flight, and not sooner than LIVE_EVERY_MS', () => {
    const base = { now: 10_000, lastReadAt: 10_000 - LIVE_EVERY_MS, busy: false, savedAt: 200, readFromSavedAt: 100 };
    assert.equal(liveRereadDue(base), true);
    assert.equal(liveRereadDue({ ...base, lastReadAt: base.lastReadAt + 1 }), false);
    assert.equal(liveRereadDue({ ...base, busy: true }), false);
    assert.equal(liveRereadDue({ ...base, savedAt: 100 }), false);
    assert.equal(liveRereadDue({ ...base, savedAt: null }), false);
  });
  it('colouring covers the visible ranges with a margin, within the text', () => {
    assert.deepEqual(colouringRange([[5000, 6000], [9000, 9500]], 20_000), [1000, 13_500]);
    assert.deepEqual(colouringRange([[10, 20]], 100), [0, 100]);
    assert.deepEqual(colouringRange([], 100_000), [0, 4000]);
  });
  it('names a clamp as --clamp writes it; refuses an empty selection', () => {
    assert.equal(clampName({ state: 'c', layer: 1, unit: 12, value: -1.5 }), 'c:1:12=-1.5');
    assert.match(selectionProblem(4, 4) ?? '', /select/);
    assert.equal(selectionProblem(4, 5), null);
  });
  it('an edit moves the selection when before it, leaves it when after it, clears it when inside it', () => {
    // "ab[cde]fg": the selection is characters 2..5.
    const sel: [number, number] = [2, 5];
    const ins = (offset: number, text: string) => ({ offset, length: 0, inserted: text.length });
    const del = (offset: number, length: number) => ({ offset, length, inserted: 0 });
    assert.deepEqual(shiftSelection(sel, [ins(0, 'xyz')]), [5, 8], '"xyzab[cde]fg"');
    assert.deepEqual(shiftSelection(sel, [ins(2, 'x')]), [3, 6], 'typed right before it: "abx[cde]fg"');
    assert.deepEqual(shiftSelection(sel, [del(0, 2)]), [0, 3], 'the two characters before it deleted');
    assert.deepEqual(shiftSelection(sel, [{ offset: 1, length: 1, inserted: 4 }]), [5, 8], '"b" replaced by 4 characters');
    assert.deepEqual(shiftSelection(sel, [ins(5, 'x')]), [2, 5], 'typed right after it');
    assert.deepEqual(shiftSelection(sel, [del(5, 2)]), [2, 5], 'the end deleted');
    assert.equal(shiftSelection(sel, [ins(3, 'x')]), null, 'typed inside it');
    assert.equal(shiftSelection(sel, [del(1, 2)]), null, 'a deletion reaching into it');
    assert.equal(shiftSelection(sel, [del(4, 2)]), null, 'a deletion reaching out of it');
    // Two cursors, one edit: both changes in offsets of the text before it.
    assert.deepEqual(shiftSelection(sel, [ins(6, 'q'), ins(0, 'pp')]), [4, 7]);
    assert.equal(shiftSelection(sel, [ins(6, 'q'), ins(3, 'p')]), null);
    assert.equal(shiftSelection(null, [ins(0, 'x')]), null);
  });
});

describe('the units worker', () => {
  let dir = '';
  let cleanup = (): void => undefined;
  let job: UnitsJob;
  const ckpt = (): string => join(dir, 'm.safetensors');
  const TEXT = 'def f(a, b):\n    return (a + b) * "x"\n\nprint(f(1, (2)))\n'.repeat(6);
  before(() => {
    ({ dir, cleanup } = workspace('units-worker'));
    writeFileSync(join(dir, 'code.txt'), TEXT);
    ok(cliIn(dir, ['train', 'code.txt', '--tokens', 'char', '--hidden', '8', '--seq', '16', '--batch', '2', '--steps', '20', '--holdout', '0', '--quiet', '--out', ckpt()]));
    job = new UnitsJob(join(ROOT, 'dist', 'units-worker.js'));
  });
  after(async () => {
    await job?.kill();
    cleanup();
  });

  it('answers a selection as lstm-lens units does, then a new threshold over the same states', async () => {
    const opened = await job.ask('open', { checkpointPath: ckpt(), text: TEXT, choice: { state: 'h', layer: 0, direction: 'forward' } });
    assert.equal(opened.T, TEXT.length);
    assert.equal(opened.H, 8);
    const sel: [number, number] = [4, 12];
    for (const threshold of [0, -0.2, 0.1]) {
      const got = await job.ask('query', { select: sel, query: { threshold, offBefore: 1, offAfter: 0 }, top: 50 });
      assert.deepEqual(got.select, sel, 'char tokens: the characters are the tokens');
      const cli = JSON.parse(ok(cliIn(dir, ['units', ckpt(), 'code.txt', '--select', `${sel[0]}:${sel[1]}`, '--threshold', String(threshold), '--off-before', '1', '--json'])).stdout);
      assert.deepEqual(got.units, cli.units, `threshold ${threshold}`);
      assert.equal(got.count, cli.match_count);
      assert.deepEqual(got.matches.map((m) => [m.start, m.end, m.chars[0], m.chars[1]]), cli.matches.map((m: { start: number; end: number; chars: number[] }) => [m.start, m.end, m.chars[0], m.chars[1]]));
    }
    const leaders = await job.ask('tracks', { top: 3 });
    const cli = JSON.parse(ok(cliIn(dir, ['units', ckpt(), 'code.txt', '--tracks', '--top', '3', '--json'])).stdout);
    for (const t of leaders.tracks) assert.deepEqual(t.leaders.map((l) => l.unit), cli.tracks[t.name].map((l: { unit: number }) => l.unit), t.name);
  });

  it('gives one unit over a range of characters, and refuses a unit the layer lacks in one line', async () => {
    const v = await job.ask('values', { unit: 2, range: [10, 20] });
    assert.equal(v.values.length, 10);
    assert.deepEqual([...v.spans.slice(0, 2)], [10, 11]);
    assert.ok(v.max >= Math.max(...[...v.values].map(Math.abs)));
    await assert.rejects(job.ask('values', { unit: 8, range: [0, 5] }), (e: unknown) => e instanceof UnitsError && /unit 8/.test(e.message));
  });

  it('compares a clamp before and after: the same seed, and the clamp as generate --clamp has it', async () => {
    const clamp = { state: 'c' as const, layer: 0, unit: 1, value: 25 };
    const got = await job.ask('compare', { prime: TEXT.slice(0, 40), clamp, length: 30, temperature: 0, topK: 0, seed: 7 });
    const run = (extra: string[]): string => ok(cliIn(dir, ['generate', ckpt(), '--prime', TEXT.slice(0, 40), '--length', '30', '--temperature', '0', '--seed', '7', ...extra])).stdout;
    const plain = run([]);
    const clamped = run(['--clamp', clampName(clamp)]);
    assert.ok(plain.includes(got.before.generated), `before: ${JSON.stringify(got.before.generated)} in ${JSON.stringify(plain)}`);
    assert.ok(clamped.includes(got.after.generated), `after: ${JSON.stringify(got.after.generated)} in ${JSON.stringify(clamped)}`);
    assert.notEqual(got.before.loss, got.after.loss);
  });
});
