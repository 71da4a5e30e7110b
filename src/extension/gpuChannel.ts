// The Inspect States webview as the GPU's channel: how a GPU run is posted to it, and the timing of
// a few steps there for lstmLens.backend "auto". No `vscode` import: unit-tested in plain Node.

import type { GpuToHost, HostToWebviewGpu } from '../protocol/gpu';
import type { TrainRequest } from '../protocol/worker';

/** The webview a GPU run lives in, as the job sees it. */
export interface GpuChannel {
  /** Posts to the webview (queued until it is ready); false when it is gone. */
  post(message: HostToWebviewGpu): boolean;
  /** The webview's GPU messages (already checked against src/protocol/gpu.ts) and its closing. */
  listen(onMessage: (message: GpuToHost) => void, onClosed: () => void): { dispose(): void };
}

/**
 * Sends the webview the GPU worker's script and a run: the request without its paths (the webview
 * reads and writes no files), a run to continue as its checkpoint's bytes. False when the panel is gone.
 */
export function postGpuRun(channel: GpuChannel, workerSource: string, request: TrainRequest, resume: Uint8Array<ArrayBuffer> | null, timing: TrainRequest['timing']): boolean {
  const { resumeFrom: _r, checkpointPath: _c, type: _t, ...fields } = request;
  return channel.post({ type: 'gpuWorker', source: workerSource }) && channel.post({ type: 'gpu', message: { type: 'train', ...fields, resume, timing } });
}

/** How fast the GPU trains at a run's size (lstmLens.backend "auto"); the reason when it cannot. */
export function timeOnGpu(
  channel: GpuChannel,
  workerSource: string,
  request: TrainRequest,
  steps: number,
  timeoutMs: number,
  budgetMs?: number,
): Promise<{ ok: true; msPerStep: number; tokensPerSecond: number; renderer: string } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    let renderer = 'unknown';
    let done = false;
    const finish = (result: { ok: true; msPerStep: number; tokensPerSecond: number; renderer: string } | { ok: false; reason: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      subscription.dispose();
      if (!result.ok) channel.post({ type: 'gpuTerminate' });
      resolve(result);
    };
    const subscription = channel.listen(
      (m) => {
        if (m.type === 'backend') renderer = m.renderer;
        else if (m.type === 'timed') finish({ ok: true, msPerStep: m.msPerStep, tokensPerSecond: m.tokensPerSecond, renderer });
        else if (m.type === 'failed') finish({ ok: false, reason: m.message });
      },
      () => finish({ ok: false, reason: 'the Inspect States panel was closed' }),
    );
    const timer = setTimeout(() => finish({ ok: false, reason: `the GPU did not answer within ${(timeoutMs / 1000).toFixed(1)} s of timing` }), timeoutMs);
    if (!postGpuRun(channel, workerSource, request, null, budgetMs === undefined ? { steps } : { steps, budgetMs })) finish({ ok: false, reason: 'the Inspect States panel is not open' });
  });
}
