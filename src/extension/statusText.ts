// What the status bar item says: one function per state (a run, a saved model, the CPU/GPU timing),
// and which run it shows. No `vscode` import: unit-tested in plain Node.

import { formatRate } from '../engine/format';
import type { RunState } from './activeRun';

export interface StatusContent {
  text: string;
  tooltip: string;
}

/** A run's status: step, loss, the speed when a progress message gave one, and where it trains. */
export function runStatus(run: Pick<RunState, 'name' | 'step' | 'totalSteps' | 'loss' | 'backend' | 'backendWhy'>, tokensPerSecond?: number): StatusContent {
  const rate = tokensPerSecond === undefined ? '' : ` · ${formatRate(tokensPerSecond)} tok/s`;
  return {
    text: `$(pulse) LSTM ${run.step}/${run.totalSteps} · loss ${run.loss?.toFixed(3) ?? '…'}${rate} · ${run.backend}`,
    tooltip: `LSTM Lens is training on ${run.name} on the ${run.backend} (${run.backendWhy}). Click to inspect its states.`,
  };
}

/** A file's saved model, or null when it cannot be read. */
export function modelStatus(summary: { loss: number | null; step: number; tokens: string; vocabSize: number } | null): StatusContent {
  if (!summary) return { text: '$(warning) LSTM model unreadable', tooltip: 'The saved model for this file cannot be read; train again to replace it.' };
  return {
    text: `$(check) LSTM loss ${summary.loss?.toFixed(3) ?? 'n/a'}`,
    tooltip: `This file has a model: step ${summary.step}, ${summary.tokens}-level, vocabulary ${summary.vocabSize}. Click to inspect its states.`,
  };
}

/** While lstmLens.backend "auto" times the CPU against the GPU. */
export function timingStatus(name: string, probeMs: number): StatusContent {
  return {
    text: '$(sync~spin) LSTM Lens: timing CPU vs GPU…',
    tooltip: `LSTM Lens is timing a few training steps of ${name} on the CPU and on the GPU (about ${probeMs / 1000} s) to train on the faster (lstmLens.backend "auto"; remembered for this model size for the session).`,
  };
}

/**
 * The run the status bar shows for a file (the active editor's, else the panel's, else the last
 * run's): that file's run, or while any run trains the last one started; null when none trains.
 */
export function shownRun<R extends { documentUri: string }>(uri: string | undefined, runs: ReadonlyMap<string, R>, lastRun: R | null): R | null {
  const run = (uri !== undefined && runs.get(uri)) || (runs.size > 0 ? lastRun : null);
  return run && runs.has(run.documentUri) ? run : null;
}

/** Whether a run's progress may update the status bar: not while the active editor shows another file that trains. */
export function progressShown(activeUri: string | undefined, run: { documentUri: string }, runs: ReadonlyMap<string, unknown>): boolean {
  return activeUri === undefined || activeUri === run.documentUri || !runs.has(activeUri);
}
