// lstmLens.backend "auto": how long the CPU and the GPU are timed, and what a choice is remembered
// by. No `vscode` import: unit-tested in plain Node.

import type { TrainRequest } from '../protocol/worker';

/** The whole probe's budget: the CPU's share, then the GPU's (its first step compiles its kernels). */
export const PROBE_MS = 2000;
export const CPU_PROBE_MS = 700;
/** Steps timed on each backend after one untimed step, at most (fewer when the budget runs out). */
export const TIMING_STEPS = 3;

/** How long to wait for the GPU's answer, given what the CPU's probe took: the rest of PROBE_MS, at least a second. */
export function gpuWaitMs(cpuElapsedMs: number): number {
  return Math.max(1000, PROBE_MS - cpuElapsedMs);
}

/**
 * A choice is remembered for the session by the model's size and the work of one step (shape,
 * token kind, batch and sequence length), not by the file: the next file of that size trains
 * where the last one did, untimed.
 */
export function autoKey(request: Pick<TrainRequest, 'shape' | 'settings'>): string {
  const { shape, settings: s } = request;
  return JSON.stringify([shape.hidden_size, shape.num_layers, shape.embedding_size, shape.bidirectional, shape.mode, s.tokens, s.batch_size, s.sequence_length]);
}
