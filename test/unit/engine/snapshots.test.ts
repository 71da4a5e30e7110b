// The time line's schedule (src/engine/snapshots.ts): which steps keep a snapshot, and the bound.
// References: the grid and the thinning worked out by hand below, not the code's own output.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { onSnapshotGrid, planSnapshot, SNAPSHOT_LIMIT, snapshotGrid, snapshotRefusal, thinSnapshots } from '../../../src/engine/snapshots';

/** Plays a run of `steps` steps through the plan, as the training loop and the storage do. */
function play(steps: number, from: number[] = [], first = 0): number[] {
  let kept = [...from];
  for (let s = first; s <= steps; s++) {
    const plan = planSnapshot(kept, s);
    if (!plan.take) continue;
    kept = [...kept.filter((k) => !plan.drop.includes(k)), s].sort((a, b) => a - b);
  }
  return kept;
}

describe('the snapshot schedule', () => {
  it('puts the grid at 0 and round(2^(k/2)): 0 1 2 3 4 6 8 11 16 23 32 45 64 91 128 181 256 (by hand)', () => {
    assert.deepEqual(snapshotGrid(300), [0, 1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256]);
    for (const s of [5, 7, 9, 10, 12, 100, 257, -1, 1.5]) assert.equal(onSnapshotGrid(s), false, String(s));
    assert.equal(onSnapshotGrid(362), true);
    assert.equal(onSnapshotGrid(1024), true);
  });

  it('thins by removing the interior step with the closest neighbours on the log scale, keeping the first and last', () => {
    // log(s+1) for 0,1,3,9,99: 0, .693, 1.386, 2.303, 4.605; the gap left by removing 1 is 1.386,
    // by 3 1.609, by 9 3.219: 1 goes. Then 0,3,9,99: removing 3 leaves 2.303, 9 leaves 3.219: 3 goes.
    assert.deepEqual(thinSnapshots([0, 1, 3, 9, 99], 3), [1, 3]);
    assert.deepEqual(thinSnapshots([0, 1, 3, 9, 99], 2), [1, 3, 9]);
    assert.deepEqual(thinSnapshots([0, 10], 1), [], 'two always stay');
  });

  it(`keeps at most ${SNAPSHOT_LIMIT} over a run of any length, step 0 and the newest grid step among them, spread geometrically`, () => {
    for (const steps of [5, 300, 5000, 200_000]) {
      const kept = play(steps);
      const grid = snapshotGrid(steps);
      assert.ok(kept.length <= SNAPSHOT_LIMIT, `${steps}: ${kept.length}`);
      assert.equal(kept.length, Math.min(SNAPSHOT_LIMIT, grid.length));
      assert.equal(kept[0], 0);
      assert.equal(kept[kept.length - 1], grid[grid.length - 1]);
      if (steps >= 5000) {
        // Geometric: the ratio of consecutive (step + 1) stays within a factor of 4 of the even spread.
        const even = Math.exp(Math.log(kept[kept.length - 1] + 1) / (kept.length - 1));
        for (let k = 1; k < kept.length; k++) assert.ok((kept[k] + 1) / (kept[k - 1] + 1) < even ** 2.5, `${steps}: ${kept.join(',')}`);
      }
    }
    // 300 steps: 17 grid steps thinned to 12, every kept one a grid step.
    assert.ok(play(300).every((s) => onSnapshotGrid(s)));
  });

  it('a run continued from step N adds to the kept steps; a run restarted below them drops the later ones', () => {
    const first = play(100);
    const continued = play(1000, first, 101);
    assert.ok(continued.length <= SNAPSHOT_LIMIT);
    assert.equal(continued[continued.length - 1], 724);
    const plan = planSnapshot([0, 64, 91], 8);
    assert.deepEqual(plan, { take: true, drop: [64, 91] });
    assert.deepEqual(planSnapshot([0, 8], 8), { take: false, drop: [] }, 'a step already kept is not taken again');
    assert.deepEqual(planSnapshot([0], 5), { take: false, drop: [] }, 'off the grid');
  });

  it('refuses snapshots for weights above 64 MiB, in one line that says the budget', () => {
    assert.equal(snapshotRefusal(1_000_000), null);
    assert.equal(snapshotRefusal(16 * 2 ** 20), null);
    const why = snapshotRefusal(16 * 2 ** 20 + 1);
    assert.ok(why && /64(\.0)? MiB/.test(why) && !why.includes('\n'), String(why));
  });
});
