// What the host says about a run (src/extension/runText.ts), what the panel is shown of it
// (src/extension/runPanel.ts) and what the hover says (src/extension/hoverText.ts), written out
// here as a person reads them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textFingerprint } from '../../../src/engine/trainer';
import type { StartedMessage } from '../../../src/extension/activeRun';
import { hoverMarkdown } from '../../../src/extension/hoverText';
import { NO_HISTORY, runModelMessage, trainingMessage } from '../../../src/extension/runPanel';
import { continueDetail, endedText, failureText, openingLine, progressLine, startedLine } from '../../../src/extension/runText';
import { readSettings, trainingPlan, type SettingKey } from '../../../src/extension/settings';

const values: Partial<Record<SettingKey, unknown>> = { hiddenSize: 8, sequenceLength: 16, batchSize: 4, steps: 600, learningRate: 0.01 };
const plan = trainingPlan(readSettings((k) => values[k]));
// One-hot input, V = 10, H = 8: W_ih 32×10, W_hh 32×8, two biases of 32, the head 10×8 and 10.
const started: StartedMessage = { type: 'started', step: 0, totalSteps: 600, vocabSize: 10, tokens: 5000, parameters: 320 + 256 + 64 + 80 + 10, batchSize: 4, ...plan, notes: [] };

describe('what the host says about a run', () => {
  it('the start: data, model, optimizer, steps', () => {
    assert.equal(startedLine('a.txt', started), `a.txt: char-level, vocabulary 10, 5000 tokens; 1 layer(s) of 8, one-hot input, many-to-many; 730 parameters; batch 4 × 16, ${plan.settings.optimizer} lr 0.01; steps 0 → 600`);
  });

  it('progress: logged every 50 steps and at the last, not between', () => {
    const m = { type: 'progress' as const, step: 50, totalSteps: 600, loss: 2.5, tokensPerSecond: 950, learningRate: 0.01, gradNorm: 1.5, history: NO_HISTORY, clip: null };
    assert.equal(progressLine('a.txt', m), 'a.txt: step 50/600 loss 2.5000 lr 0.0100 grad norm 1.500 950 tokens/s');
    assert.equal(progressLine('a.txt', { ...m, step: 51 }), null);
    assert.notEqual(progressLine('a.txt', { ...m, step: 599, totalSteps: 599 }), null);
  });

  it('the opening line: where and why, the size, the settings or the continuation', () => {
    const o = { name: 'a.txt', selectionNote: ' (selection)', backend: 'webgl' as const, why: 'lstmLens.backend is "webgl"', chars: 1234, steps: 300, learningRate: 0.002, resume: false, restartStream: false, settingsLine: 'hiddenSize=8' };
    assert.equal(openingLine(o), 'training on a.txt (selection) on the GPU (lstmLens.backend is "webgl"): 1234 characters; settings hiddenSize=8');
    assert.equal(openingLine({ ...o, backend: 'cpu', resume: true, restartStream: true }), 'training on a.txt (selection) on the CPU (lstmLens.backend is "webgl"): 1234 characters; continuing the saved model for 300 more steps at learning rate 0.002, reading the text from its start again');
  });

  it('the end: finished or stopped, with the average speed; a failure says whether a checkpoint is kept', () => {
    const done = { type: 'finished' as const, reason: 'done' as const, step: 600, loss: 1.23456, tokensPerSecond: 31900 } as Parameters<typeof endedText>[1];
    assert.deepEqual(endedText('a.txt', done), { log: 'a.txt: training finished: step 600, loss 1.2346, 31.9k tokens/s on average; saved', notification: 'LSTM Lens: Training finished on a.txt: step 600, loss 1.2346, 31.9k tokens/s on average.' });
    assert.match(endedText('a.txt', { ...done, reason: 'stopped' } as typeof done).notification, /^LSTM Lens: Training stopped on a\.txt/);
    assert.equal(failureText({ kind: 'crashed', message: 'out of memory' }, true), 'the training worker stopped: out of memory. The last saved checkpoint is kept.');
    assert.equal(failureText({ kind: 'failed', reason: 'input', message: 'too short\u001b' }, false), 'too short\\x1b');
  });

  it('continue or start afresh: the model, and what differs (the text, the learning rate)', () => {
    const text = 'the text';
    const summary = { step: 300, loss: 1.5, tokens: 'char', vocabSize: 40, learningRate: 0.01, source: { hash: textFingerprint(text), chars: text.length } };
    assert.equal(continueDetail(summary, text, 0.01), 'step 300, loss 1.500, char-level, vocabulary 40');
    assert.equal(continueDetail(summary, 'the', 0.01), 'step 300, loss 1.500, char-level, vocabulary 40; the text is shorter than the one it was trained on');
    assert.equal(continueDetail(summary, 'the other text', 0.002), 'step 300, loss 1.500, char-level, vocabulary 40; trained on a different version of the text; learning rate 0.002 (lstmLens.learningRate; it was 0.01)');
  });
});

describe('what the panel is shown of a run', () => {
  it("the model: the started message's sizes, the run's step and loss", () => {
    const m = runModelMessage({ step: 120, loss: 2.25 }, started, 'a.txt');
    assert.equal(m.type, 'model');
    assert.deepEqual({ ...m.summary }, { file: 'a.txt', tokens: 'char', vocabSize: 10, hiddenSize: 8, layers: 1, directions: 1, embeddingSize: null, mode: 'many_to_many', sequenceLength: 16, batchSize: 4, step: 120, loss: 2.25, parameters: 730, clip: plan.settings.clip });
    assert.equal(m.curve, null);
  });

  it('its training state: running or not, the step, speed, clip and backend', () => {
    assert.deepEqual(trainingMessage({ step: 120, totalSteps: 600, backend: 'GPU' }, started, true, 950, NO_HISTORY), { type: 'training', running: true, step: 120, totalSteps: 600, tokensPerSecond: 950, clip: plan.settings.clip, backend: 'GPU', reset: false, history: NO_HISTORY });
    assert.equal(trainingMessage({ step: 1, totalSteps: 2, backend: 'CPU' }, started, false, null, NO_HISTORY).tokensPerSecond, 0);
  });
});

describe('the hover', () => {
  it('the top guesses after the hovered token, in percent, whitespace shown and explained, Markdown escaped', () => {
    const md = hoverMarkdown({ T: 2, tokens: ['a', 'b`'], predictions: [[], [{ token: ' ', p: 0.5 }, { token: 'c\\', p: 0.25 }]] } as unknown as Parameters<typeof hoverMarkdown>[0]);
    assert.equal(md, '**LSTM Lens** · after `b\\`` the model expects:\n\n- `␣` 50.0%\n- `c\\\\` 25.0%\n\n␣ a space, ↵ a new line, ⇥ a tab');
    const plain = hoverMarkdown({ T: 1, tokens: ['a'], predictions: [[{ token: 'b', p: 1 }]] } as unknown as Parameters<typeof hoverMarkdown>[0]);
    assert.equal(plain, '**LSTM Lens** · after `a` the model expects:\n\n- `b` 100.0%\n');
  });
});
