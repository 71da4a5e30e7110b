// Issue 12's host decisions, in plain Node: what the panel traces and how its heading names it, a
// run's end as the panel receives it, the "auto" probe's budget and what its choice is remembered
// by, how the hover and the log write tokens and settings. Real trainers, a real worker thread
// (dist/worker.js, built by `npm run build`), real panel message checks.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeCheckpoint, type TrainingSettings } from '../../../src/engine/checkpoint';
import type { LSTMModel } from '../../../src/engine/model';
import { Trainer, type ModelShape } from '../../../src/engine/trainer';
import { autoKey, gpuWaitMs, PROBE_MS } from '../../../src/extension/autoChoice';
import { tokenText } from '../../../src/extension/names';
import { runEnd } from '../../../src/extension/runEnd';
import { readSettings, settingsLine, trainingPlan } from '../../../src/extension/settings';
import { traceWindow, windowChars } from '../../../src/extension/traceWindow';
import { WorkerJob } from '../../../src/extension/workerJob';
import { checkHostToPanel, type TraceMessage } from '../../../src/protocol/panel';
import type { Sequence, TrainRequest, WorkerToHost } from '../../../src/protocol/worker';
import { spanName, traceSequence } from '../../../src/run/traceSpan';
import { timeTraining } from '../../../src/run/trainingLoop';

const WORKER = join(__dirname, '..', '..', '..', 'dist', 'worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-newcomer-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const SETTINGS: TrainingSettings = {
  tokens: 'char', max_vocab: 0, sequence_length: 8, batch_size: 2, steps: 5, optimizer: 'adam', learning_rate: 0.01,
  schedule: 'constant', clip: 1, init: 'pytorch', init_value: 0.1, seed: 3,
};
const SHAPE: ModelShape = { hidden_size: 4, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };

/** A document of `lines` lines of "abcdefghi\n" (10 characters each, line k at offset 10·k). */
function doc(lines: number): string {
  return 'abcdefghi\n'.repeat(lines);
}

/** How the extension builds a sequence for the worker (extension.ts sequenceFor), from plain offsets. */
function sequenceOf(text: string, source: 'cursor' | 'selection' | 'start', cursor: number, selection: [number, number] | null, maxTokens: number): { sequence: Sequence; offset: number } {
  const plan = traceWindow({ source, length: text.length, cursor, selection, maxTokens });
  const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length - 1;
  const sent = text.slice(plan.start, plan.end);
  const c = cursor - plan.start;
  return {
    offset: plan.start,
    sequence: {
      text: sent, source: plan.fallbackName, keep: plan.keep, maxTokens,
      span: {
        kind: plan.kind, firstLine: lineOf(plan.start), clippedBefore: plan.clippedBefore, clippedAfter: plan.clippedAfter,
        cursor: c >= 0 && c <= sent.length ? { offset: c, line: lineOf(cursor), column: cursor - text.lastIndexOf('\n', cursor - 1) - 1 } : null,
      },
    },
  };
}

describe('what the panel traces, and its name', () => {
  const trainer = Trainer.create(doc(30), 'doc.txt', SHAPE, SETTINGS);
  const model = trainer.model as unknown as LSTMModel;

  /** Every traced token is the document's text at its span (offset + span). */
  function assertTokensAt(text: string, offset: number, t: TraceMessage): void {
    for (let s = 0; s < t.T; s++) assert.equal(text.slice(offset + t.spans[2 * s], offset + t.spans[2 * s + 1]), t.tokens[s], `token ${s}`);
  }

  it('at the cursor: the last 96 tokens before it, none after it, named by lines and the cursor, with the count it was cut from', () => {
    const text = doc(30);
    const cursor = 200; // line 21, column 1
    const { sequence, offset } = sequenceOf(text, 'cursor', cursor, null, 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 96);
    assertTokensAt(text, offset, t);
    // The last token ends at the cursor: nothing after it is read (it read 40 characters more before).
    assert.equal(offset + t.spans[2 * t.T - 1], cursor);
    assert.equal(offset + (t.cursor ?? -1), cursor);
    // Characters 104..199: line 11 (offset 100) to the newline that ends line 20.
    assert.equal(t.source, 'lines 11–20, up to the cursor at 21:1: the last 96 of 200 tokens');
    assert.ok(checkHostToPanel(t).ok);
  });

  it('at the cursor, uncut: all tokens, no "last … of"', () => {
    const text = doc(30);
    const { sequence, offset } = sequenceOf(text, 'cursor', 25, null, 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 25);
    assertTokensAt(text, offset, t);
    assert.equal(t.source, 'lines 1–3, up to the cursor at 3:6');
  });

  it('lstmLens.traceLength sets the length; a window the host cut says "the last N tokens" without a count it does not know', () => {
    const text = doc(500);
    const cursor = 4505; // line 451, column 6
    const { sequence, offset } = sequenceOf(text, 'cursor', cursor, null, 8);
    assert.equal(offset, cursor - windowChars(8));
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 8);
    assertTokensAt(text, offset, t);
    // Characters 4497..4504: "hi\n" ending line 450, then "abcde" of line 451.
    assert.equal(t.source, 'lines 450–451, up to the cursor at 451:6: the last 8 tokens');
  });

  it('"Selection" with nothing selected traces up to the cursor and says so', () => {
    const text = doc(30);
    const { sequence } = sequenceOf(text, 'selection', 200, null, 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.match(t.source, /^no selection: the text before the cursor at 21:1, lines 11–20: the last 96 of 200 tokens$/);
  });

  it('a selection: its first tokens, named by its lines and cut count', () => {
    const text = doc(30);
    const { sequence, offset } = sequenceOf(text, 'selection', 250, [30, 250], 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 96);
    assert.equal(offset + t.spans[0], 30);
    assertTokensAt(text, offset, t);
    // Characters 30..125: line 4 (offset 30) to line 13 (offset 120).
    assert.equal(t.source, 'the selection, lines 4–13: the first 96 of 220 tokens');
  });

  it('the start of a short file is the whole file', () => {
    const text = doc(3);
    const { sequence } = sequenceOf(text, 'start', 5, null, 96);
    const t = traceSequence(model, trainer.tokenizer, sequence, 0, null);
    assert.ok(t);
    assert.equal(t.T, 30);
    assert.equal(t.source, 'the whole file, lines 1–3');
  });

  it('names without a cut or a cursor', () => {
    assert.equal(spanName({ kind: 'start', startLine: 1, endLine: 40, cursor: null, kept: 96, available: 300, clipped: false }), 'the start of the file, lines 1–40: the first 96 of 300 tokens');
    assert.equal(spanName({ kind: 'selection', startLine: 7, endLine: 7, cursor: null, kept: 1, available: 1, clipped: false }), 'the selection, line 7');
    assert.equal(spanName({ kind: 'startBeforeCursor', startLine: 1, endLine: 3, cursor: { line: 1, column: 1 }, kept: 20, available: 20, clipped: false }), 'nothing before the cursor at 1:1: the whole file, lines 1–3');
    assert.equal(spanName({ kind: 'startBeforeCursor', startLine: 1, endLine: 40, cursor: { line: 1, column: 1 }, kept: 96, available: 300, clipped: false }), 'nothing before the cursor at 1:1: the start of the file, lines 1–40: the first 96 of 300 tokens');
  });

  it('through the worker thread: an inspect request with a span is answered with the named trace', async () => {
    const path = join(scratch, 'doc.lstm.safetensors');
    writeFileSync(path, encodeCheckpoint(trainer.checkpoint()));
    const text = doc(30);
    const { sequence } = sequenceOf(text, 'cursor', 200, null, 50);
    let trace: TraceMessage | null = null;
    const job = new WorkerJob(WORKER, { type: 'inspect', checkpointPath: path, file: 'doc.txt', sequence, withModel: false }, {
      onMessage: (m) => {
        if (m.type === 'panel' && m.message.type === 'trace') trace = m.message;
      },
    });
    const outcome = await job.outcome;
    assert.equal(outcome.kind, 'finished');
    const t = trace as TraceMessage | null;
    assert.ok(t);
    assert.equal(t.T, 50);
    assert.equal(t.source, 'lines 16–20, up to the cursor at 21:1: the last 50 of 200 tokens');
  });
});

describe("a run's end, as the panel receives it", () => {
  const finished = (reason: 'done' | 'stopped', step: number): Parameters<typeof runEnd>[1] => ({ kind: 'finished', message: { type: 'finished', reason, step, loss: 1.2, tokensPerSecond: 25465, path: '/x' } });
  const base = { type: 'training' as const, clip: null, backend: 'CPU' as const, reset: false, history: { step: [], loss: [], gradNorm: [], learningRate: [] } };

  it('600 of 600 steps: not running, at step 600 of 600, with the average speed (never 0 tokens/s alone)', () => {
    const end = runEnd({ step: 598, totalSteps: 600 }, finished('done', 600));
    assert.deepEqual(end, { running: false, step: 600, totalSteps: 600, tokensPerSecond: 0, averageTokensPerSecond: 25465 });
    assert.ok(checkHostToPanel({ ...base, ...end }).ok);
  });

  it('stopped at 120 of 600: its step, so that the panel reads "stopped"', () => {
    const end = runEnd({ step: 118, totalSteps: 600 }, finished('stopped', 120));
    assert.equal(end.step, 120);
    assert.equal(end.totalSteps, 600);
    assert.equal(end.running, false);
  });

  it('a run that failed: not running, at its last reported step, no average', () => {
    const end = runEnd({ step: 40, totalSteps: 600 }, { kind: 'crashed', message: 'gone' });
    assert.deepEqual(end, { running: false, step: 40, totalSteps: 600, tokensPerSecond: 0 });
  });
});

describe('lstmLens.backend "auto": the probe', () => {
  /** A real trainer whose steps each take 400 ms of a clock the test controls. */
  function clocked(): { trainer: Trainer<unknown, unknown>; now: () => number; steps: () => number } {
    const trainer = Trainer.create(doc(30), 'doc.txt', SHAPE, SETTINGS) as unknown as Trainer<unknown, unknown>;
    let clock = 0;
    let steps = 0;
    const step = trainer.trainStep.bind(trainer);
    trainer.trainStep = () => {
      clock += 400;
      steps++;
      return step();
    };
    return { trainer, now: () => clock, steps: () => steps };
  }

  it('stops timing when its budget is spent: 1 step after the first when the first took 400 of 700 ms', () => {
    const c = clocked();
    const r = timeTraining(c.trainer, 3, 700, c.now);
    assert.equal(r.timedSteps, 1);
    assert.equal(c.steps(), 2);
    assert.equal(r.firstStepMs, 400);
    assert.equal(r.msPerStep, 400);
    assert.equal(r.tokensPerSecond, (c.trainer.tokensPerStep * 1000) / 400);
  });

  it('a first step that spends the whole budget is the estimate', () => {
    const c = clocked();
    const r = timeTraining(c.trainer, 3, 300, c.now);
    assert.equal(r.timedSteps, 0);
    assert.equal(c.steps(), 1);
    assert.equal(r.msPerStep, 400);
  });

  it('with no budget, the steps asked for', () => {
    const c = clocked();
    assert.equal(timeTraining(c.trainer, 3, Number.POSITIVE_INFINITY, c.now).timedSteps, 3);
    assert.equal(c.steps(), 4);
  });

  it('through the worker thread: a budget of 0 times the first step only', async () => {
    const plan = trainingPlan(readSettings(() => undefined));
    const request: TrainRequest = {
      type: 'train', text: doc(30), sourceName: 'doc.txt', shape: SHAPE, settings: { ...plan.settings, ...SETTINGS }, resumeFrom: null,
      checkpointPath: join(scratch, 'never.lstm.safetensors'), saveEverySteps: 10, saveEveryMs: 0, progressEveryMs: 100, timing: { steps: 3, budgetMs: 0 },
    };
    const outcome = await new WorkerJob(WORKER, request).outcome;
    assert.equal(outcome.kind, 'finished');
    const m = (outcome as { message: WorkerToHost }).message;
    assert.equal(m.type, 'timed');
    if (m.type !== 'timed') return;
    assert.equal(m.timedSteps, 0);
    assert.equal(m.msPerStep, m.firstStepMs);
  });

  it('the GPU gets the rest of about 2 s, at least 1 s', () => {
    assert.equal(gpuWaitMs(500), PROBE_MS - 500);
    assert.equal(gpuWaitMs(1900), 1000);
    assert.ok(PROBE_MS <= 2500);
  });

  it('a choice is remembered by model size, not by file: another text of the same size reuses it, another size does not', () => {
    const plan = trainingPlan(readSettings(() => undefined));
    const a = autoKey({ ...plan });
    assert.equal(autoKey(trainingPlan(readSettings((k) => (k === 'steps' ? 50 : k === 'seed' ? 9 : undefined)))), a);
    assert.notEqual(autoKey(trainingPlan(readSettings((k) => (k === 'hiddenSize' ? 512 : undefined)))), a);
    assert.notEqual(autoKey(trainingPlan(readSettings((k) => (k === 'batchSize' ? 8 : undefined)))), a);
  });
});

describe('how the hover and the log write things', () => {
  it('the hover shows whitespace as the panel does: ␣ ↵ ⇥, and escapes what cannot be shown', () => {
    assert.equal(tokenText(' '), '␣');
    assert.equal(tokenText('\n'), '↵');
    assert.equal(tokenText('\t'), '⇥');
    assert.equal(tokenText('a b'), 'a␣b');
    assert.equal(tokenText(''), '∅');
    assert.equal(tokenText('\x1b[31m'), '\\x1b[31m');
  });

  it('settings are logged as one readable line of name=value', () => {
    const line = settingsLine(readSettings((k) => (k === 'hiddenSize' ? 5 : k === 'tokens' ? 'word' : undefined)));
    assert.equal(
      line,
      'tokens=word mode=many-to-many hiddenSize=5 layers=1 embeddingSize=0 bidirectional=false sequenceLength=64 batchSize=32 steps=600 learningRate=0.004 optimizer=adam gradientClip=5 initialization=pytorch seed=0 backend=auto',
    );
  });
});
