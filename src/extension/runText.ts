// What the extension host says about a run in the output channel and its notifications, as plain
// text (every name from outside goes through names.ts). No `vscode` import: unit-tested in plain Node.

import { formatRate } from '../engine/format';
import { textFingerprint } from '../engine/trainer';
import type { WorkerToHost } from '../protocol/worker';
import type { StartedMessage } from './activeRun';
import { messageText } from './names';
import type { JobOutcome } from './workerJob';

/** The log line of a run that started: the data, the model, the optimizer and the steps. */
export function startedLine(name: string, m: StartedMessage): string {
  return (
    `${name}: ${m.settings.tokens}-level, vocabulary ${m.vocabSize}, ${m.tokens} tokens; ` +
    `${m.shape.num_layers} layer(s) of ${m.shape.hidden_size}, ${m.shape.embedding_size === null ? 'one-hot input' : `embedding ${m.shape.embedding_size}`}, ` +
    `${m.shape.mode.replace(/_/g, '-')}${m.shape.bidirectional ? ', bidirectional' : ''}; ${m.parameters.toLocaleString('en-US')} parameters; ` +
    `batch ${m.batchSize} × ${m.settings.sequence_length}, ${m.settings.optimizer} lr ${m.settings.learning_rate}; steps ${m.step} → ${m.totalSteps}`
  );
}

/** The log line of a progress message, every 50 steps and at the last; null between. */
export function progressLine(name: string, m: Extract<WorkerToHost, { type: 'progress' }>): string | null {
  if (m.step % 50 !== 0 && m.step !== m.totalSteps) return null;
  return `${name}: step ${m.step}/${m.totalSteps} loss ${m.loss.toFixed(4)} lr ${m.learningRate.toPrecision(3)} grad norm ${m.gradNorm.toFixed(3)} ${formatRate(m.tokensPerSecond)} tokens/s`;
}

/** A run that ended by itself or by Stop: the log line and the notification. */
export function endedText(name: string, m: Extract<WorkerToHost, { type: 'finished' }>): { log: string; notification: string } {
  const summary = `step ${m.step}, loss ${m.loss?.toFixed(4) ?? 'n/a'}, ${formatRate(m.tokensPerSecond)} tokens/s on average`;
  const how = m.reason === 'done' ? 'finished' : 'stopped';
  return { log: `${name}: training ${how}: ${summary}; saved`, notification: `LSTM Lens: Training ${how} on ${name}: ${summary}.` };
}

/** A run that failed or crashed (divergence has its own words): what went wrong, and whether a checkpoint is kept. */
export function failureText(outcome: JobOutcome, checkpointKept: boolean): string {
  const kept = checkpointKept ? ' The last saved checkpoint is kept.' : '';
  if (outcome.kind === 'crashed') return `the training worker stopped: ${messageText(outcome.message)}.${kept}`;
  if (outcome.kind === 'failed') return `${messageText(outcome.message)}${outcome.reason === 'diverged' ? '' : kept}`;
  return 'unexpected outcome';
}

/**
 * The saved model, as the question "continue or start afresh?" describes it: its step, loss and
 * vocabulary, whether the text is the one it was trained on, and the learning rate when
 * lstmLens.learningRate (which applies to a continued run too) differs from the model's.
 */
export function continueDetail(
  summary: { step: number; loss: number | null; tokens: string; vocabSize: number; learningRate: number; source: { hash: string; chars: number } | null },
  text: string,
  learningRate: number,
): string {
  const sameText = summary.source?.hash === textFingerprint(text);
  const shorter = summary.source !== null && text.length < summary.source.chars;
  const rate = learningRate !== summary.learningRate ? `; learning rate ${learningRate} (lstmLens.learningRate; it was ${summary.learningRate})` : '';
  return `step ${summary.step}, loss ${summary.loss?.toFixed(3) ?? 'n/a'}, ${summary.tokens}-level, vocabulary ${summary.vocabSize}${sameText ? '' : shorter ? '; the text is shorter than the one it was trained on' : '; trained on a different version of the text'}${rate}`;
}

/** The log line that opens a run: where it trains and why, the text's size, and what it does. */
export function openingLine(
  o: { name: string; selectionNote: string; backend: 'cpu' | 'webgl'; why: string; chars: number; steps: number; learningRate: number; resume: boolean; restartStream: boolean; settingsLine: string },
): string {
  const how = o.resume
    ? `continuing the saved model for ${o.steps} more steps at learning rate ${o.learningRate}${o.restartStream ? ', reading the text from its start again' : ''}`
    : `settings ${o.settingsLine}`;
  return `training on ${o.name}${o.selectionNote} on the ${o.backend === 'webgl' ? 'GPU' : 'CPU'} (${o.why}): ${o.chars} characters; ${how}`;
}
