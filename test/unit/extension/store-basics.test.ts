// The model store's basics (src/extension/modelStore.ts), with real files: keys by URI, a corrupt
// checkpoint refused and forgotten, leftovers of interrupted saves removed (not a save in progress).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError } from '../../../src/engine/config';
import { ModelStore } from '../../../src/extension/modelStore';

const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-host-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('model store', () => {
  const store = new ModelStore(join(scratch, 'storage'));
  it('keys documents by URI, distinctly and stably', () => {
    assert.equal(store.keyFor('file:///a.txt'), store.keyFor('file:///a.txt'));
    assert.notEqual(store.keyFor('file:///a.txt'), store.keyFor('file:///b.txt'));
    assert.match(store.checkpointPath('file:///a.txt'), /[0-9a-f]{32}\.lstm\.safetensors$/);
  });
  it('refuses a corrupt checkpoint with a clear message, and forgets it', () => {
    const path = store.prepare('file:///corrupt.txt');
    writeFileSync(path, 'not a checkpoint');
    assert.ok(store.has('file:///corrupt.txt'));
    assert.throws(() => store.load('file:///corrupt.txt'), (e) => e instanceof InputError);
    assert.equal(store.forget('file:///corrupt.txt'), true);
    assert.equal(store.has('file:///corrupt.txt'), false);
  });
  it('removes temporary files left by an interrupted save, not a save in progress', () => {
    store.prepare('file:///x.txt');
    const leftover = join(store.folder, '.abc.lstm.safetensors.123.tmp');
    writeFileSync(leftover, 'half');
    // A fresh one may be another window's save in progress: kept.
    assert.deepEqual(store.removeTemporaryFiles(), { removed: 0, failed: [] });
    assert.ok(existsSync(leftover));
    // One untouched for longer than the limit is a leftover: removed.
    const old = new Date(Date.now() - 11 * 60 * 1000);
    utimesSync(leftover, old, old);
    assert.deepEqual(store.removeTemporaryFiles(), { removed: 1, failed: [] });
    assert.deepEqual(store.removeTemporaryFiles(), { removed: 0, failed: [] });
  });
});
