// The time line's storage (src/node/snapshots.ts): snapshots written whole (a file first, then the
// index that names it), thinned to the bound, read back as checkpoints, kept by a fresh store over
// the same folder (a reload), and removed with their model (Forget). Also the training worker
// writing them over a run (dist/worker.js; `npm run build` first).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { decodeCheckpoint } from '../../../src/engine/checkpoint';
import { SNAPSHOT_LIMIT, SNAPSHOT_SAMPLE_TOKENS } from '../../../src/engine/snapshots';
import { Trainer } from '../../../src/engine/trainer';
import { ModelStore } from '../../../src/extension/modelStore';
import { keepSnapshot, listSnapshots, removeSnapshots, snapshotPath, snapshotsFolder } from '../../../src/node/snapshots';
import { checkWorkerToHost, type TrainRequest, type WorkerToHost } from '../../../src/protocol/worker';
import { snapshotOf } from '../../../src/run/why';
import { SETTINGS, SHAPE } from '../support/lines';

const ROOT = join(__dirname, '..', '..', '..');
const TEXT = readFileSync(join(ROOT, 'media', 'samples', 'belling_the_cat.txt'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-snapshots-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('snapshot storage', () => {
  it('keeps grid steps only, at most the bound, each a weights-only checkpoint whose sample the index holds', () => {
    const ckptPath = join(scratch, 'a.lstm.safetensors');
    const trainer = Trainer.create(TEXT, 'fable.txt', SHAPE, { ...SETTINGS, steps: 300 });
    let taken = 0;
    for (let s = 0; s <= 300; s++) {
      if (s > 0) trainer.trainStep();
      if (keepSnapshot(ckptPath, trainer.step, () => snapshotOf(trainer.checkpoint()))) taken++;
    }
    assert.equal(taken, 17, 'the grid has 17 steps from 0 to 300');
    const kept = listSnapshots(ckptPath);
    assert.equal(kept.length, SNAPSHOT_LIMIT);
    assert.equal(kept[0].step, 0);
    assert.equal(kept[kept.length - 1].step, 256);
    const files = readdirSync(snapshotsFolder(ckptPath)).sort();
    assert.deepEqual(files, ['index.json', ...kept.map((k) => `step-${k.step}.safetensors`)].sort(), 'no file beyond what the index names');
    const last = decodeCheckpoint(readFileSync(snapshotPath(ckptPath, 256)));
    assert.equal(last.training.step, 256);
    assert.equal(last.optimizer.slots.size, 0, 'no optimizer state: at most the weights');
    for (const k of kept) assert.ok(k.sample.length >= SNAPSHOT_SAMPLE_TOKENS, `a ${SNAPSHOT_SAMPLE_TOKENS}-character sample at ${k.step}`);
    assert.notEqual(kept[0].sample, kept[kept.length - 1].sample, 'the samples differ by their weights');
    // Bound: at most the limit times the weights' bytes, plus headers.
    const bytes = kept.reduce((n, k) => n + readFileSync(snapshotPath(ckptPath, k.step)).length, 0);
    const weights = 4 * trainer.model.params.length;
    assert.ok(bytes <= SNAPSHOT_LIMIT * (weights + 16_384), `${bytes} bytes for ${SNAPSHOT_LIMIT} × ${weights}`);
  });

  it('trusts only what the index names: a file it does not name is removed, an index naming a missing file lists the rest', () => {
    const ckptPath = join(scratch, 'b.lstm.safetensors');
    const trainer = Trainer.create(TEXT, 'fable.txt', SHAPE, SETTINGS);
    keepSnapshot(ckptPath, 0, () => snapshotOf(trainer.checkpoint()));
    trainer.trainStep();
    // An interrupted write: a file with no index entry.
    writeFileSync(snapshotPath(ckptPath, 3), 'half');
    keepSnapshot(ckptPath, 1, () => snapshotOf(trainer.checkpoint()));
    assert.equal(existsSync(snapshotPath(ckptPath, 3)), false);
    rmSync(snapshotPath(ckptPath, 0));
    assert.deepEqual(listSnapshots(ckptPath).map((s) => s.step), [1]);
    writeFileSync(join(snapshotsFolder(ckptPath), 'index.json'), '{"snapshots": [{"step": -1}]}');
    assert.deepEqual(listSnapshots(ckptPath), [], 'a malformed index lists nothing');
    removeSnapshots(ckptPath);
    assert.equal(existsSync(snapshotsFolder(ckptPath)), false);
  });

  it('survives a new store over the same folder (a reload) and goes with Forget', () => {
    const storage = join(scratch, 'storage');
    const uri = 'file:///tmp/fable.txt';
    const store = new ModelStore(storage);
    const ckptPath = store.prepare(uri);
    const trainer = Trainer.create(TEXT, 'fable.txt', SHAPE, SETTINGS);
    writeFileSync(ckptPath, Buffer.from(new Uint8Array(8)));
    keepSnapshot(ckptPath, 0, () => snapshotOf(trainer.checkpoint()));
    const reloaded = new ModelStore(storage);
    assert.equal(listSnapshots(reloaded.checkpointPath(uri)).length, 1);
    assert.ok(reloaded.forget(uri));
    assert.equal(existsSync(snapshotsFolder(ckptPath)), false);
    mkdirSync(storage, { recursive: true });
  });

  it('the Node worker writes them over a run, atomically, and a fresh run replaces the old time line', { timeout: 120_000 }, async () => {
    const ckptPath = join(scratch, 'w.lstm.safetensors');
    const request = (steps: number, resumeFrom: string | null): TrainRequest => ({
      type: 'train', text: TEXT, sourceName: 'fable.txt', shape: SHAPE, settings: { ...SETTINGS, steps }, saveEverySteps: 1000, saveEveryMs: 0, progressEveryMs: 1000,
      timing: null, resumeFrom, checkpointPath: ckptPath,
    });
    await run(request(20, null));
    assert.deepEqual(listSnapshots(ckptPath).map((s) => s.step), [0, 1, 2, 3, 4, 6, 8, 11, 16]);
    await run(request(20, ckptPath));
    assert.deepEqual(listSnapshots(ckptPath).map((s) => s.step), [0, 1, 2, 3, 4, 6, 8, 11, 16, 23, 32].slice(-SNAPSHOT_LIMIT));
    await run(request(3, null));
    assert.deepEqual(listSnapshots(ckptPath).map((s) => s.step), [0, 1, 2, 3]);
    assert.equal(readdirSync(snapshotsFolder(ckptPath)).filter((n) => n.endsWith('.tmp')).length, 0);
  });
});

function run(request: TrainRequest): Promise<WorkerToHost[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(ROOT, 'dist', 'worker.js'));
    const messages: WorkerToHost[] = [];
    worker.on('message', (raw: unknown) => {
      const checked = checkWorkerToHost(raw);
      if (!checked.ok) return reject(new Error(`malformed message: ${checked.error}`));
      messages.push(checked.message);
      if (checked.message.type === 'failed') reject(new Error(checked.message.message));
      if (checked.message.type === 'finished') void worker.terminate().then(() => resolve(messages));
    });
    worker.on('error', reject);
    worker.postMessage(request);
  });
}
