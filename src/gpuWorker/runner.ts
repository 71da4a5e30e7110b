// The GPU worker's job: a training run of the engine on the WebGL2 backend, driven by the host's
// messages (src/protocol/gpu.ts). The same code runs in the webview's Web Worker (worker.ts, on an
// OffscreenCanvas) and, where a worker cannot have WebGL2, on the webview's main thread
// (webview/gpu/relay.ts), yielding between steps so the panel stays responsive. The job shell and
// the loop are the Node worker's (src/run/jobShell.ts, trainingLoop.ts): checks, progress, traces,
// checkpoints and stop behave the same.

import { decodeCheckpoint, encodeCheckpoint } from '../engine/checkpoint';
import { checkHostToGpu, type GpuToHost, type GpuTrainRequest } from '../protocol/gpu';
import { failureOnBackend, JobShell } from '../run/jobShell';
import { BackendLostError, runTraining, startedMessage, timeTraining, trainerFor } from '../run/trainingLoop';
import { rendererOf, WebGLBackend, webglUnavailableReason } from '../engine/webgl/webgl';

/** Where the run's WebGL2 context comes from: an OffscreenCanvas in a worker, a canvas element on the main thread. */
export interface GpuSurface {
  thread: 'worker' | 'main';
  /** A WebGL2 context and a way to learn that it was lost; null context when there is none. */
  context(): { gl: WebGL2RenderingContext | null; onLost(listener: () => void): void };
}

export class GpuRunner {
  private readonly shell: JobShell<GpuTrainRequest, 'unavailable' | 'lost'>;

  constructor(
    private readonly post: (message: GpuToHost, transfer?: ArrayBuffer[]) => void,
    private readonly surface: GpuSurface,
  ) {
    this.shell = new JobShell({
      name: 'the GPU worker',
      check: checkHostToGpu,
      run: (request) => this.train(request),
      fail: (failure) => this.post({ type: 'failed', ...failure }),
      failure: failureOnBackend,
    });
  }

  /** Every message from the host (src/run/jobShell.ts: checked; a malformed one is answered while idle and dropped during a run). */
  receive(raw: unknown): void {
    this.shell.receive(raw);
  }

  private async train(request: GpuTrainRequest): Promise<void> {
    const { gl, onLost } = this.surface.context();
    const reason = webglUnavailableReason(gl);
    if (reason || !gl) {
      this.post({ type: 'failed', kind: 'unavailable', message: reason ?? 'WebGL2 is not available' });
      return;
    }
    let lost = false;
    onLost(() => {
      lost = true;
    });
    const backend = new WebGLBackend(gl);
    this.post({ type: 'backend', renderer: rendererOf(gl), thread: this.surface.thread });
    const trainer = trainerFor(request, request.resume ? decodeCheckpoint(request.resume) : null, backend);
    const problem = (): string | null => (lost || gl.isContextLost() ? 'the GPU context was lost' : null);
    if (request.timing) {
      const timed = timeTraining(trainer, request.timing.steps, request.timing.budgetMs);
      if (problem()) throw new BackendLostError(problem() as string);
      this.post({ type: 'timed', ...timed });
      return;
    }
    this.post(startedMessage(trainer));
    let result;
    try {
      result = await runTraining(
        trainer,
        {
          post: (m, transfer) => this.post(m, transfer),
          save: () => {
            if (problem()) return; // what a lost context reads back is not the model
            const bytes = encodeCheckpoint(trainer.checkpoint());
            this.post({ type: 'checkpoint', step: trainer.step, bytes }, [bytes.buffer as ArrayBuffer]);
          },
          yieldNow: () => new Promise((resolve) => setTimeout(resolve, 0)),
          stopRequested: () => this.shell.stopRequested(),
          watched: () => this.shell.watched(),
          backendProblem: problem,
        },
        request,
      );
    } catch (e) {
      // Whatever a step did when the context went away (an error, or zeros read back), it is a lost context.
      const lostNow = problem();
      if (lostNow && !(e instanceof BackendLostError)) throw new BackendLostError(lostNow);
      throw e;
    }
    this.post({ type: 'finished', ...result });
  }
}
