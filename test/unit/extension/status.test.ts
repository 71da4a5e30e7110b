// The status bar's words and which run it shows (src/extension/statusText.ts): one function per
// state, the texts written out here as a person reads them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelStatus, progressShown, runStatus, shownRun, timingStatus } from '../../../src/extension/statusText';

const run = { documentUri: 'file:///a.txt', name: 'a.txt', step: 120, totalSteps: 600, loss: 1.23456, backend: 'GPU' as const, backendWhy: 'lstmLens.backend is "webgl"' };

describe('the status bar', () => {
  it('a run: step, loss to three places, where it trains; the speed when a progress message gave one', () => {
    assert.deepEqual(runStatus(run), {
      text: '$(pulse) LSTM 120/600 · loss 1.235 · GPU',
      tooltip: 'LSTM Lens is training on a.txt on the GPU (lstmLens.backend is "webgl"). Click to inspect its states.',
    });
    assert.equal(runStatus(run, 31900).text, '$(pulse) LSTM 120/600 · loss 1.235 · 31.9k tok/s · GPU');
    assert.equal(runStatus({ ...run, loss: null, backend: 'CPU' }, 950).text, '$(pulse) LSTM 120/600 · loss … · 950 tok/s · CPU');
  });

  it('a saved model, and one that cannot be read', () => {
    assert.deepEqual(modelStatus({ loss: 0.5, step: 300, tokens: 'word', vocabSize: 42 }), {
      text: '$(check) LSTM loss 0.500',
      tooltip: 'This file has a model: step 300, word-level, vocabulary 42. Click to inspect its states.',
    });
    assert.equal(modelStatus({ loss: null, step: 0, tokens: 'char', vocabSize: 3 }).text, '$(check) LSTM loss n/a');
    assert.equal(modelStatus(null).text, '$(warning) LSTM model unreadable');
  });

  it('while timing CPU against GPU: says so, with the probe in seconds', () => {
    assert.equal(timingStatus('a.txt', 2000).text, '$(sync~spin) LSTM Lens: timing CPU vs GPU…');
    assert.match(timingStatus('a.txt', 2000).tooltip, /steps of a\.txt on the CPU and on the GPU \(about 2 s\)/);
  });

  it("which run: the file's own, else the last run while any trains, else none", () => {
    const b = { documentUri: 'file:///b.txt' };
    const c = { documentUri: 'file:///c.txt' };
    const runs = new Map([[b.documentUri, b], [c.documentUri, c]]);
    assert.equal(shownRun('file:///b.txt', runs, c), b);
    assert.equal(shownRun('file:///other.txt', runs, c), c);
    assert.equal(shownRun(undefined, runs, c), c);
    // The last run has ended: not shown, even for its own file.
    assert.equal(shownRun('file:///gone.txt', runs, { documentUri: 'file:///gone.txt' }), null);
    assert.equal(shownRun('file:///b.txt', new Map(), b), null);
  });

  it("a run's progress does not overwrite the status of another file that trains and is in view", () => {
    const runs = new Map([['file:///a.txt', 1], ['file:///b.txt', 2]]);
    assert.equal(progressShown('file:///b.txt', run, runs), false);
    assert.equal(progressShown('file:///a.txt', run, runs), true);
    assert.equal(progressShown('file:///notes.txt', run, runs), true);
    assert.equal(progressShown(undefined, run, runs), true);
  });
});
