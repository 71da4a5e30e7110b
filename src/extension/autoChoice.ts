// Where a run trains (the CPU/GPU choice as plain functions); lstmLens.backend "auto": how long the
// CPU and the GPU are timed, and what a choice is remembered by. No `vscode` import: unit-tested in plain Node.

import { formatRate, printable } from '../engine/format';
import type { TrainRequest } from '../protocol/worker';
import { messageText } from './names';

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

/** Where a run trains, and why there (what the output channel and the status bar's tooltip say). */
export interface PlacementChoice {
  backend: 'cpu' | 'webgl';
  why: string;
}

/**
 * Where a run trains before anything is timed. "cpu" and "webgl" say so (the GPU trains in the
 * Inspect States panel, which the caller opens for "webgl" first). "auto" uses the GPU only where
 * the panel is already open, and then where a choice of this session says so; 'time': time both.
 */
export function placementBeforeTiming(
  setting: 'auto' | 'cpu' | 'webgl',
  s: { gpuScript: boolean; panelOpen: boolean; known: PlacementChoice | undefined },
): PlacementChoice | 'time' {
  if (setting === 'cpu') return { backend: 'cpu', why: 'lstmLens.backend is "cpu"' };
  if (!s.gpuScript) return { backend: 'cpu', why: "the GPU worker's script is missing from the extension" };
  if (setting === 'webgl') return s.panelOpen ? { backend: 'webgl', why: 'lstmLens.backend is "webgl"' } : { backend: 'cpu', why: 'the Inspect States panel, where the GPU trains, could not open' };
  if (!s.panelOpen) return { backend: 'cpu', why: 'auto: the GPU trains in the Inspect States panel, which is not open' };
  if (s.known) return { ...s.known, why: `${s.known.why}, timed earlier this session` };
  return 'time';
}

/** "auto" after timing: the faster backend (the CPU on a tie), or the CPU with what kept the GPU out. */
export function timedPlacement(
  cpu: { tokensPerSecond: number } | null,
  gpu: { ok: true; tokensPerSecond: number; renderer: string } | { ok: false; reason: string } | null,
): PlacementChoice {
  const rate = (r: number): string => `${formatRate(r)} tokens/s`;
  if (!cpu) return { backend: 'cpu', why: 'auto: the CPU could not be timed' };
  if (!gpu?.ok) return { backend: 'cpu', why: `auto: CPU ${rate(cpu.tokensPerSecond)}; GPU not usable: ${messageText(gpu?.reason ?? 'not timed')}` };
  if (gpu.tokensPerSecond > cpu.tokensPerSecond) return { backend: 'webgl', why: `auto: GPU ${rate(gpu.tokensPerSecond)} (${printable(gpu.renderer)}) faster than CPU ${rate(cpu.tokensPerSecond)}` };
  return { backend: 'cpu', why: `auto: CPU ${rate(cpu.tokensPerSecond)} faster than GPU ${rate(gpu.tokensPerSecond)} (${printable(gpu.renderer)})` };
}
