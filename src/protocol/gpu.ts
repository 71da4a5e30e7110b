// Messages between the extension host and the GPU worker, a Web Worker of the Inspect States
// webview that trains on WebGL2 (src/gpuWorker/). The panel relays them: the host wraps a message
// for the worker in `{ type: 'gpu', message }`, and the panel wraps the worker's answers the same
// way. Each side checks what it receives: the host with checkGpuToHost, the webview and the worker
// with checkHostToGpu. The messages are the Node worker's (src/protocol/worker.ts) where they can
// be: a GPU run reports started, progress, panel traces and finished exactly like a CPU run.
//
// What differs: the GPU worker touches no files, so a run to continue arrives as its checkpoint's
// bytes, and the worker sends its checkpoints back as bytes (`checkpoint`) that the host checks in
// full (decodeCheckpoint) before it writes them where it alone decides. And a GPU run can fail in
// two ways a CPU run cannot: `unavailable` (no WebGL2 or no float render targets) and `lost` (the
// context was lost mid-run); the host then continues on the CPU from the last checkpoint.

import * as v from 'valibot';
import { checkMessage, type Checked } from './check';
import { DivergenceSchema, FAILURE_KINDS, GpuFinishedSchema, GpuTrainSchema, PanelRelaySchema, ProgressSchema, StartedSchema, StopSchema, TimedSchema, WatchSchema, checkRelayed } from './worker';

const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));

/** The largest GPU worker script the webview accepts from the host. */
export const MAX_GPU_WORKER_SOURCE = 8 * 1024 * 1024;

export const HostToGpuSchema = v.variant('type', [GpuTrainSchema, StopSchema, WatchSchema]);

export const GpuToHostSchema = v.variant('type', [
  /** The WebGL2 context is made: who renders, and on which thread of the webview. */
  v.strictObject({
    type: v.literal('backend'),
    renderer: v.pipe(v.string(), v.maxLength(500)),
    thread: v.picklist(['worker', 'main']),
  }),
  StartedSchema,
  ProgressSchema,
  PanelRelaySchema,
  /** The run as it is at `step`, in the checkpoint format (docs/checkpoint.md). */
  v.strictObject({ type: v.literal('checkpoint'), step: nonNegativeInt, bytes: v.instance(Uint8Array) }),
  GpuFinishedSchema,
  TimedSchema,
  v.strictObject({
    type: v.literal('failed'),
    kind: v.picklist([...FAILURE_KINDS, 'unavailable', 'lost']),
    message: v.pipe(v.string(), v.maxLength(4000)),
    divergence: v.optional(DivergenceSchema),
  }),
]);

/** What the host sends the webview for its GPU worker. */
export const HostToWebviewGpuSchema = v.variant('type', [
  v.strictObject({ type: v.literal('gpu'), message: HostToGpuSchema }),
  /** The GPU worker's script (dist/gpu-worker.js), run from a blob: URL: a webview cannot load a worker from its resources. */
  v.strictObject({ type: v.literal('gpuWorker'), source: v.pipe(v.string(), v.maxLength(MAX_GPU_WORKER_SOURCE)) }),
  /** End the GPU worker at once (a run that no longer answers). */
  v.strictObject({ type: v.literal('gpuTerminate') }),
]);

export const WebviewGpuToHostSchema = v.strictObject({ type: v.literal('gpu'), message: GpuToHostSchema });

export type HostToGpu = v.InferOutput<typeof HostToGpuSchema>;
export type GpuToHost = v.InferOutput<typeof GpuToHostSchema>;
export type GpuTrainRequest = Extract<HostToGpu, { type: 'train' }>;
export type HostToWebviewGpu = v.InferOutput<typeof HostToWebviewGpuSchema>;
export type WebviewGpuToHost = v.InferOutput<typeof WebviewGpuToHostSchema>;

export const checkHostToGpu = (value: unknown): Checked<HostToGpu> => checkMessage(HostToGpuSchema, value);
export const checkGpuToHost = (value: unknown): Checked<GpuToHost> => checkRelayed(checkMessage(GpuToHostSchema, value));
export const checkHostToWebviewGpu = (value: unknown): Checked<HostToWebviewGpu> => checkMessage(HostToWebviewGpuSchema, value);
export function checkWebviewGpuToHost(value: unknown): Checked<WebviewGpuToHost> {
  const checked = checkMessage(WebviewGpuToHostSchema, value);
  if (!checked.ok) return checked;
  const inner = checkRelayed<GpuToHost>({ ok: true, message: checked.message.message });
  return inner.ok ? checked : { ok: false, error: `message.${inner.error}` };
}

/** Whether a message from the webview is one of the GPU relay's (and so checked by checkWebviewGpuToHost, not the panel's own check). */
export function isGpuRelay(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'gpu';
}
