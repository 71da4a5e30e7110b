// The bridge's decisions in VS Code (src/extension/bridgeChoice.ts): where an export goes, how a
// refusal reads without the command line's flags, and what an imported model is called.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { backupRefusal, bridgeMessage, exportFolderDecision, exportFolderName, folderState, freeFolderName, modelLine, replaceQuestion, textChoices, type FolderState } from '../../../src/extension/bridgeChoice';

const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-bridge-choice-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('where an export goes', () => {
  it('reads the folder: missing, empty, not empty, not a folder', () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    const full = join(scratch, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'notes.txt'), 'mine');
    writeFileSync(join(scratch, 'file.txt'), 'x');
    assert.equal(folderState(join(scratch, 'nothing')), 'missing');
    assert.equal(folderState(empty), 'empty');
    assert.equal(folderState(full), 'notEmpty');
    assert.equal(folderState(join(scratch, 'file.txt')), 'notFolder');
  });

  it('names a new folder after the file, in safe characters', () => {
    assert.equal(exportFolderName('story.txt'), 'story-pytorch');
    assert.equal(exportFolderName('my notes.v2.md'), 'my-notes-v2-pytorch');
    assert.equal(exportFolderName('Untitled-1'), 'Untitled-1-pytorch');
    assert.equal(exportFolderName('/some/dir/poème.txt'), 'poème-pytorch');
    assert.equal(exportFolderName('...'), 'model-pytorch');
  });

  it('takes the first free name: base, base-2, base-3', () => {
    const taken = new Set(['/p/story-pytorch', '/p/story-pytorch-2']);
    const state = (p: string): FolderState => (taken.has(p) ? 'notEmpty' : 'missing');
    assert.equal(freeFolderName('/p', 'story-pytorch', state), 'story-pytorch-3');
    assert.equal(freeFolderName('/q', 'story-pytorch', state), 'story-pytorch');
  });

  it('writes into an empty or new folder; asks about a full one, offering a new folder inside; a file only another choice', () => {
    const states: Record<string, FolderState> = { '/w': 'notEmpty', '/w/story-pytorch': 'notEmpty', '/e': 'empty', '/f': 'notFolder' };
    const state = (p: string): FolderState => states[p] ?? 'missing';
    assert.deepEqual(exportFolderDecision('/e', 'story.txt', state), { kind: 'write', dir: '/e' });
    assert.deepEqual(exportFolderDecision('/new', 'story.txt', state), { kind: 'write', dir: '/new' });
    const full = exportFolderDecision('/w', 'story.txt', state);
    assert.equal(full.kind, 'ask');
    assert.equal(full.kind === 'ask' && full.subfolder, 'story-pytorch-2');
    assert.match(full.kind === 'ask' ? full.message : '', /^\/w is not empty/);
    const file = exportFolderDecision('/f', 'story.txt', state);
    assert.deepEqual(file, { kind: 'ask', message: '/f is not a folder: choose a folder for the export.', subfolder: null });
  });
});

describe('words', () => {
  it("says the command line's refusals without its flags, in one printable line", () => {
    assert.equal(bridgeMessage('--out /x/y exists and is not empty; choose a new folder, or add --force to write the export into it'), 'the folder /x/y exists and is not empty; choose a new folder');
    assert.equal(bridgeMessage('tensor lstm.weight_hh_l0 has 12 = 3·4 gate rows: a GRU\'s'), "tensor lstm.weight_hh_l0 has 12 = 3·4 gate rows: a GRU's");
    assert.doesNotMatch(bridgeMessage('a\nb\u001b[31m'), /[\n\u001b]/);
  });

  it('describes a model: one-hot V = 13, H = 7 has 720 parameters (4H(V+H) + 8H + V(H+1))', () => {
    // Hand count: weight_ih 28×13 = 364, weight_hh 28×7 = 196, biases 2×28 = 56, head 13×7 + 13 = 104.
    assert.equal(modelLine({ vocab_size: 13, embedding_size: null, hidden_size: 7, num_layers: 1, bidirectional: false, mode: 'many_to_many' }, 720), '1 layer of 7, one-hot input, many-to-many, vocabulary 13; 720 parameters');
    assert.equal(modelLine({ vocab_size: 13, embedding_size: 6, hidden_size: 5, num_layers: 2, bidirectional: true, mode: 'many_to_one' }, 1234), '2 layers of 5 ×2 directions, embedding 6, many-to-one, vocabulary 13; 1,234 parameters');
  });

  it('asks before replacing a model and offers a name for the old one', () => {
    const q = replaceQuestion('story.txt', { step: 300, loss: 1.73456 });
    assert.equal(q.message, 'LSTM Lens: story.txt already has a model (step 300, loss 1.735). Replace it with the PyTorch model?');
    assert.equal(q.saveAs, 'story.txt.step300.lstm.safetensors');
    assert.match(q.detail, /saved first/);
    assert.match(replaceQuestion('Untitled-1', { step: 0, loss: null }).message, /step 0, loss n\/a/);
  });

  it('never saves the old model onto the model or the files being read', () => {
    assert.match(backupRefusal('/store/abc.lstm.safetensors', ['/store/abc.lstm.safetensors', '/m/state.safetensors']) ?? '', /being read or replaced/);
    assert.match(backupRefusal('/m/state.safetensors', ['/store/abc.lstm.safetensors', '/m/state.safetensors']) ?? '', /being read or replaced/);
    assert.equal(backupRefusal('/m/story.txt.step3.lstm.safetensors', ['/store/abc.lstm.safetensors']), null);
  });

  it('offers the current file (saying when its model would be replaced) or another text; only another without one', () => {
    assert.deepEqual(textChoices(null).map((c) => c.value), ['other']);
    const withModel = textChoices({ name: 'story.txt', hasModel: true });
    assert.deepEqual(withModel.map((c) => [c.label, c.value]), [['With story.txt', 'current'], ['With Another Text File…', 'other']]);
    assert.match(withModel[0].description, /has a model/);
    assert.doesNotMatch(textChoices({ name: 'story.txt', hasModel: false })[0].description, /has a model/);
  });
});
