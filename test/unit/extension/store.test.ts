// The model store's housekeeping and index (src/extension/modelStore.ts) and the header-only
// summary (src/node/checkpointHeader.ts), in plain Node with real files: cleanup that cannot
// delete never throws (activation must not fail on it); untitled documents of another session
// never see this one's model; models of deleted files are found (and only those); the host reads a
// model's summary from its header, never its tensors.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/engine/checkpoint';
import { InputError } from '../../../src/engine/config';
import { Trainer } from '../../../src/engine/trainer';
import { ModelStore } from '../../../src/extension/modelStore';
import { readCheckpointHeaderBytes, readCheckpointSummary } from '../../../src/node/checkpointHeader';
import { acquireModelLock } from '../../../src/node/modelLock';

const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-store-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
function checkpointBytes(steps = 3): Uint8Array {
  const trainer = Trainer.create(TEXT, 'fox.txt', { hidden_size: 8, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, {
    tokens: 'char', max_vocab: 0, sequence_length: 8, batch_size: 2, steps: 10, optimizer: 'adam', learning_rate: 0.01, schedule: 'constant', clip: 5, init: 'pytorch', init_value: 0.1, seed: 3,
  });
  for (let s = 0; s < steps; s++) trainer.trainStep();
  return encodeCheckpoint(trainer.checkpoint());
}
const old = (): Date => new Date(Date.now() - 60 * 60 * 1000);

describe('cleanup at activation never throws', () => {
  it('a leftover that cannot be deleted is reported and left; the others are removed', () => {
    const store = new ModelStore(join(scratch, 'undeletable'));
    store.prepare('file:///a.txt');
    // A "temporary file" that rmSync cannot remove (a non-empty folder: as undeletable as another user's file, even for root).
    const stuck = join(store.folder, '.stuck.lstm.safetensors.1.tmp');
    mkdirSync(stuck);
    writeFileSync(join(stuck, 'inside'), 'x');
    const plain = join(store.folder, '.plain.lstm.safetensors.2.tmp');
    writeFileSync(plain, 'half');
    utimesSync(stuck, old(), old());
    utimesSync(plain, old(), old());
    const result = store.removeTemporaryFiles();
    assert.equal(result.removed, 1);
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0].name, '.stuck.lstm.safetensors.1.tmp');
    assert.equal(existsSync(plain), false);
    assert.equal(existsSync(stuck), true);
  });

  it('a models folder that cannot be listed (it is a file) is reported, not thrown', () => {
    const root = join(scratch, 'notafolder');
    mkdirSync(root);
    writeFileSync(join(root, 'models'), 'not a folder');
    const store = new ModelStore(root);
    const result = store.removeTemporaryFiles();
    assert.equal(result.removed, 0);
    assert.equal(result.failed.length, 1);
    assert.deepEqual(store.list(), []);
    assert.deepEqual(store.missingModels(), []);
  });

  it('a missing storage folder is nothing to clean', () => {
    assert.deepEqual(new ModelStore(join(scratch, 'never-made')).removeTemporaryFiles(), { removed: 0, failed: [] });
  });
});

describe('untitled documents and models of missing files', () => {
  it("Untitled-1 of a later session (or of another window) is another document: it never sees the earlier one's model", () => {
    const root = join(scratch, 'untitled');
    const first = new ModelStore(root, { id: 'session-1' });
    writeFileSync(first.prepare('untitled:Untitled-1'), checkpointBytes());
    assert.equal(first.has('untitled:Untitled-1'), true);
    const later = new ModelStore(root, { id: 'session-2' });
    assert.equal(later.has('untitled:Untitled-1'), false);
    assert.notEqual(later.checkpointPath('untitled:Untitled-1'), first.checkpointPath('untitled:Untitled-1'));
    // A file's model is the same in every session.
    assert.equal(later.checkpointPath('file:///a.txt'), first.checkpointPath('file:///a.txt'));
  });

  it("an untitled document's model is missing once its window's process has ended, not while it runs", () => {
    const root = join(scratch, 'untitled-cleanup');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const closed = new ModelStore(root, { id: 'closed', pid: Number(dead) });
    writeFileSync(closed.prepare('untitled:Untitled-1'), checkpointBytes());
    const open = new ModelStore(root, { id: 'open' }); // this process: alive
    writeFileSync(open.prepare('untitled:Untitled-2'), checkpointBytes());
    const now = new ModelStore(root, { id: 'now' });
    const missing = now.missingModels();
    assert.deepEqual(missing.map((m) => m.entry.uri), ['untitled:Untitled-1']);
    assert.deepEqual(now.removeModels(missing), { removed: 1, failed: [] });
    assert.equal(closed.has('untitled:Untitled-1'), false);
    assert.equal(open.has('untitled:Untitled-2'), true);
  });

  it('the index knows each model\'s file: models of deleted files are missing, of existing ones not, of files being trained elsewhere kept', () => {
    const root = join(scratch, 'missing');
    const store = new ModelStore(root);
    const files = ['kept.txt', 'deleted.txt', 'locked.txt', 'odd\nname.txt'].map((n) => join(scratch, n));
    for (const f of files) writeFileSync(f, 'text');
    const uris = files.map((f) => pathToFileURL(f).toString());
    for (const u of uris) writeFileSync(store.prepare(u), checkpointBytes());
    writeFileSync(join(store.folder, `${'f'.repeat(32)}.lstm.safetensors`), checkpointBytes()); // an older model without an index entry
    store.prepare('vscode-remote://host/x.txt');
    rmSync(files[1]);
    rmSync(files[2]);
    rmSync(files[3]);
    const lock = acquireModelLock(store.checkpointPath(uris[2]));
    assert.ok(lock.ok);
    // Held by this process: "elsewhere" means another process, so this one is not protected by it...
    assert.deepEqual(store.missingModels().map((m) => m.entry.uri).sort(), [uris[1], uris[2], uris[3]].sort());
    lock.lock.release();
    // ...but a lock of another (live) process is.
    writeFileSync(`${store.checkpointPath(uris[2])}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere', started: Date.now(), nonce: 'n' }));
    const missing = store.missingModels();
    assert.deepEqual(missing.map((m) => m.entry.uri).sort(), [uris[1], uris[3]].sort());
    assert.deepEqual(store.removeModels(missing), { removed: 2, failed: [] });
    assert.equal(store.has(uris[0]), true);
    assert.equal(store.has(uris[1]), false);
    assert.equal(store.has(uris[2]), true);
    assert.equal(store.list().filter((m) => m.entry === null).length, 1, 'an unindexed model is kept');
  });
});

describe("a model's summary from its header alone", () => {
  it("the extension host's code never decodes a whole checkpoint (workers do): no decode or whole read in src/extension/ but ModelStore.load, which it does not call", () => {
    const dir = join(__dirname, '..', '..', '..', 'src', 'extension');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      const uses = source.match(/\b(decodeCheckpoint|readCheckpointBytes|decodeSafetensors)\(|\bstore\.load\(/g) ?? [];
      assert.deepEqual(uses, [], file);
      if (file !== 'modelStore.ts') assert.doesNotMatch(source, /\breadCheckpointFile\(/, file);
    }
  });

  it('agrees with the full decode', () => {
    const path = join(scratch, 'summary.lstm.safetensors');
    const bytes = checkpointBytes(4);
    writeFileSync(path, bytes);
    const full = decodeCheckpoint(bytes);
    const summary = readCheckpointSummary(path);
    assert.equal(summary.step, full.training.step);
    assert.equal(summary.loss, full.training.loss);
    assert.equal(summary.vocabSize, full.config.vocab_size);
    assert.equal(summary.tokens, full.vocab.kind);
    assert.equal(summary.hiddenSize, full.config.hidden_size);
    assert.equal(summary.learningRate, full.settings.learning_rate);
    assert.deepEqual(summary.source, full.training.source);
  });

  it('reads only the 8-byte length and the header: tensors that would fail a full decode are never read', () => {
    const path = join(scratch, 'tensors-unread.lstm.safetensors');
    const bytes = checkpointBytes(2);
    writeFileSync(path, bytes);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.equal(readCheckpointHeaderBytes(path).header.length, headerLength);
    // NaN in every tensor byte: the full decode refuses it, the summary does not look there.
    const fd = openSync(path, 'r+');
    const nan = new Uint8Array(new Float32Array(Math.floor((bytes.length - 8 - headerLength) / 4)).fill(Number.NaN).buffer);
    writeSync(fd, nan, 0, nan.length, 8 + headerLength);
    closeSync(fd);
    assert.throws(() => decodeCheckpoint(readFileSync(path)), InputError);
    assert.equal(readCheckpointSummary(path).step, 2);
  });

  it('refuses, in one line naming the file, a header longer than the file, a truncated file and a non-checkpoint', () => {
    const dir = join(scratch, 'bad');
    mkdirSync(dir);
    const bytes = checkpointBytes(1);
    const cases: Array<[string, Uint8Array]> = [
      ['short', bytes.slice(0, 5)],
      ['truncated', bytes.slice(0, 40)],
      ['huge-length', (() => { const b = bytes.slice(); new DataView(b.buffer).setBigUint64(0, 2n ** 63n, true); return b; })()],
      ['not-json', (() => { const b = bytes.slice(); b[8] = 0x21; return b; })()],
    ];
    for (const [name, content] of cases) {
      const path = join(dir, `${name}\u001b[31m.lstm.safetensors`);
      writeFileSync(path, content);
      assert.throws(() => readCheckpointSummary(path), (e) => e instanceof InputError && !e.message.includes('\n') && !e.message.includes('\u001b') && e.message.includes(name), name);
    }
  });
});
