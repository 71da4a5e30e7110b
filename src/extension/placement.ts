// Where a run trains: the decision is autoChoice.ts's; here the GPU worker's script is read, the
// panel opened for "webgl", and for "auto" the CPU and the GPU timed at the run's size (about two
// seconds, shown in the status bar), the choice remembered for the session.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TrainRequest } from '../protocol/worker';
import { autoKey, CPU_PROBE_MS, gpuWaitMs, placementBeforeTiming, PROBE_MS, timedPlacement, TIMING_STEPS, type PlacementChoice } from './autoChoice';
import { timeOnGpu } from './gpuChannel';
import type { Host } from './host';
import type { InspectPanel } from './inspectPanel';
import type { PanelFollow } from './panelFollow';
import type { StatusBar } from './statusBar';
import { WorkerJob } from './workerJob';

/** Where a run trains, and why there; on the GPU, the panel it trains in and the GPU worker's script. */
export type Placement = { backend: 'cpu'; why: string } | { backend: 'webgl'; why: string; panel: InspectPanel; workerSource: string };

export class Placer {
  /** lstmLens.backend "auto": the choice made for each model and batch size this session. */
  private readonly choices = new Map<string, PlacementChoice>();
  private gpuWorkerSource: string | null = null;

  constructor(private readonly host: Host, private readonly follow: PanelFollow, private readonly statusBar: StatusBar) {}

  /** The GPU worker's script, sent to the webview that runs it; null (and logged) when it cannot be read. */
  private gpuSource(): string | null {
    try {
      this.gpuWorkerSource ??= readFileSync(path.join(this.host.context.extensionPath, 'dist', 'gpu-worker.js'), 'utf8');
    } catch (e) {
      this.host.output.error(`the GPU worker's script cannot be read: ${(e as Error).message}`);
    }
    return this.gpuWorkerSource;
  }

  /** Where the run trains; undefined when the extension went away while timing. */
  async place(setting: 'auto' | 'cpu' | 'webgl', request: TrainRequest, name: string): Promise<Placement | undefined> {
    const source = setting === 'cpu' ? null : this.gpuSource();
    if (setting === 'webgl' && source !== null) this.follow.open();
    const key = autoKey(request);
    const before = placementBeforeTiming(setting, { gpuScript: source !== null, panelOpen: this.follow.panel !== null, known: this.choices.get(key) });
    if (before !== 'time') return this.withPanel(before, source);
    const panel = this.follow.panel;
    if (!panel || source === null) return { backend: 'cpu', why: 'auto: the GPU trains in the Inspect States panel, which is not open' };
    // About two seconds in all, shown in the status bar: a few steps on the CPU (or as many as
    // fit in its share), then on the GPU for the rest.
    this.statusBar.timing(name, PROBE_MS);
    const began = performance.now();
    const timed = await (async () => {
      const cpuJob = new WorkerJob(this.host.workerScript, { ...request, timing: { steps: TIMING_STEPS, budgetMs: CPU_PROBE_MS } });
      const cpu = await cpuJob.outcome;
      if (this.host.disposed) return undefined;
      if (cpu.kind !== 'finished' || cpu.message.type !== 'timed') return { cpu: null, gpu: null };
      const gpu = await timeOnGpu(panel, source, request, TIMING_STEPS, gpuWaitMs(performance.now() - began), CPU_PROBE_MS);
      return this.host.disposed ? undefined : { cpu: cpu.message, gpu };
    })();
    this.host.output.info(`${name}: timing the CPU against the GPU took ${((performance.now() - began) / 1000).toFixed(1)} s`);
    this.statusBar.refresh();
    if (!timed) return undefined;
    const choice = timedPlacement(timed.cpu, timed.gpu);
    this.host.output.info(`${name}: ${choice.why}`);
    this.choices.set(key, choice);
    return choice.backend === 'webgl' ? { ...choice, backend: 'webgl', panel, workerSource: source } : { backend: 'cpu', why: choice.why };
  }

  private withPanel(choice: PlacementChoice, source: string | null): Placement {
    const panel = this.follow.panel;
    if (choice.backend === 'webgl' && panel && source !== null) return { backend: 'webgl', why: choice.why, panel, workerSource: source };
    return { backend: 'cpu', why: choice.why };
  }
}
