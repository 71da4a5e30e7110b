// The GPU worker (dist/gpu-worker.js): a Web Worker that the Inspect States webview starts from a
// blob: URL, training on WebGL2 through an OffscreenCanvas so the panel's thread stays free.

import type { GpuToHost } from '../protocol/gpu';
import { GpuRunner } from './runner';

const scope = self as unknown as {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
};

const runner = new GpuRunner((message: GpuToHost, transfer: ArrayBuffer[] = []) => scope.postMessage(message, transfer), {
  thread: 'worker',
  context() {
    if (typeof OffscreenCanvas === 'undefined') return { gl: null, onLost: () => undefined };
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2', { antialias: false, depth: false, preserveDrawingBuffer: false });
    return { gl, onLost: (listener) => canvas.addEventListener('webglcontextlost', listener) };
  },
});

scope.addEventListener('message', (event: MessageEvent) => runner.receive(event.data));
