// The panel's side of GPU training: it starts the GPU worker (the host's dist/gpu-worker.js, from
// a blob: URL) for each run, passes the host's messages to it and its answers to the host, each
// checked on the way (src/protocol/gpu.ts). Where a worker cannot be started, or has no
// OffscreenCanvas, the same runner trains on this page's thread from a canvas element instead;
// it yields between steps, so the panel stays responsive.

import { checkGpuToHost, checkHostToWebviewGpu, type GpuToHost, type HostToGpu, type WebviewGpuToHost } from '../../src/protocol/gpu';
import { GpuRunner, type GpuSurface } from '../../src/gpuWorker/runner';

const RELAY_TYPES = new Set(['gpu', 'gpuWorker', 'gpuTerminate']);

/** Whether a message from the host is for the GPU relay rather than for the panel. */
export function isForGpuRelay(data: unknown): boolean {
  return typeof data === 'object' && data !== null && RELAY_TYPES.has(String((data as { type?: unknown }).type));
}

const mainThreadSurface: GpuSurface = {
  thread: 'main',
  context() {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const gl = canvas.getContext('webgl2', { antialias: false, depth: false });
    return { gl, onLost: (listener) => canvas.addEventListener('webglcontextlost', listener) };
  },
};

export class GpuRelay {
  private source: string | null = null;
  private worker: Worker | null = null;
  private workerUrl: string | null = null;
  private runner: GpuRunner | null = null;
  /** The run's first message, kept until the worker answers: replayed on the main thread if the worker cannot start. */
  private pending: HostToGpu | null = null;

  constructor(
    private readonly toHost: (message: WebviewGpuToHost) => void,
    private readonly log: (text: string) => void = (text) => console.warn(`LSTM Lens: ${text}`),
  ) {}

  /** Takes a message meant for the relay (see isForGpuRelay). */
  receive(data: unknown): void {
    const checked = checkHostToWebviewGpu(data);
    if (!checked.ok) {
      this.log(`ignored a malformed GPU message from the extension (${checked.error})`);
      return;
    }
    const m = checked.message;
    if (m.type === 'gpuWorker') this.source = m.source;
    else if (m.type === 'gpuTerminate') this.end();
    else if (m.message.type === 'train') this.start(m.message);
    else if (this.worker) this.worker.postMessage(m.message);
    else this.runner?.receive(m.message);
  }

  /** Ends the current run's worker (or main-thread runner) at once. */
  end(): void {
    this.worker?.terminate();
    this.worker = null;
    if (this.workerUrl) URL.revokeObjectURL(this.workerUrl);
    this.workerUrl = null;
    this.runner = null;
    this.pending = null;
  }

  private start(train: HostToGpu): void {
    this.end();
    if (this.source !== null && typeof Worker !== 'undefined' && typeof OffscreenCanvas !== 'undefined') {
      try {
        this.workerUrl = URL.createObjectURL(new Blob([this.source], { type: 'text/javascript' }));
        const worker = new Worker(this.workerUrl);
        worker.onmessage = (event: MessageEvent) => {
          this.pending = null;
          this.fromRunner(event.data);
        };
        worker.onerror = (event: ErrorEvent) => {
          event.preventDefault();
          const replay = this.pending;
          if (replay) {
            this.log(`the GPU worker could not start (${event.message || 'no reason given'}): training on the panel's thread`);
            this.onMainThread(replay);
          } else {
            this.fromRunner({ type: 'failed', kind: 'internal', message: `the GPU worker failed: ${event.message || 'no reason given'}` });
            this.end();
          }
        };
        this.worker = worker;
        this.pending = train;
        worker.postMessage(train);
        return;
      } catch (e) {
        this.log(`the GPU worker could not start (${e instanceof Error ? e.message : String(e)}): training on the panel's thread`);
      }
    }
    this.onMainThread(train);
  }

  private onMainThread(train: HostToGpu): void {
    this.end();
    this.runner = new GpuRunner((message) => this.fromRunner(message), mainThreadSurface);
    this.runner.receive(train);
  }

  /** Every message from the runner is checked before it goes to the host. */
  private fromRunner(data: unknown): void {
    const checked = checkGpuToHost(data);
    if (!checked.ok) {
      this.log(`ignored a malformed message from the GPU worker (${checked.error})`);
      return;
    }
    const message: GpuToHost = checked.message;
    this.toHost({ type: 'gpu', message });
    if (message.type === 'finished' || message.type === 'failed' || message.type === 'timed') this.end();
  }
}
