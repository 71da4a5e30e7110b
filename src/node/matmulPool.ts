// Helper threads for the engine's large multiplies (Node: worker_threads). The engine defines the
// protocol (src/engine/wasm/simd.ts: MatmulPool and the control block); this file only starts the
// threads and hands them each model's shared WebAssembly memory. A helper instantiates the engine's
// compiled kernels (the build that memory's arena runs: FMA or plain) on every memory it is given (kept by id, the few most recent only), waits on the
// control block (spinning briefly after each job, then Atomics.wait), and takes chunks of a job
// until none is left. The memory messages are read synchronously (receiveMessageOnPort) when a
// job names a memory the helper has not seen, so a helper never returns to its event loop.
//
// The helper is this same file run as a worker thread (in a bundle, the bundle), so it needs no file
// of its own and compiles no string.
//
// Everything is guarded: where threads or shared memory are missing, or a helper fails to start,
// startMatmulPool returns null (or the helper never takes a chunk) and the caller does every chunk
// itself, as with one thread.

import { availableParallelism } from 'node:os';
import { isMainThread, MessageChannel, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import {
  POOL_ARGS, POOL_ARGS_PER_CHUNK, POOL_CHUNKS, POOL_CONTROL_INTS, POOL_DONE, POOL_KERNEL, POOL_FAILED, POOL_MEM, POOL_READY, POOL_TICKET,
  matmulPool, runKernel, setMatmulPool, sharedKernelsAvailable, type KernelExports, type MatmulPool,
} from '../engine/wasm/simd';
import { MAX_THREADS } from '../engine/trainingOptions';

/** Memories a helper keeps instantiated: a model's and the scratch arena's, and one more. */
const HELD_MEMORIES = 3;

const HELPER_FLAG = 'lstmLensMatmulHelper';

interface HelperData {
  control: Int32Array;
  port: MessagePort;
  /** Checks of the control block after a job before sleeping in Atomics.wait. */
  spin: number;
}

/** The helper thread's loop: never returns. */
function serveMatmuls({ control: ctl, port, spin }: HelperData): never {
  const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: unknown } } }).WebAssembly;
  const instances = new Map<number, KernelExports>();
  const drain = (): void => {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const msg = m.message as { id: number; memory: object; module: object; drop: number };
      if (msg.drop) instances.delete(msg.drop);
      if (msg.memory) instances.set(msg.id, new wasm.Instance(msg.module, { env: { memory: msg.memory } }).exports as KernelExports);
    }
  };
  let last = Atomics.load(ctl, POOL_TICKET) >>> 4;
  Atomics.add(ctl, POOL_READY, 1);
  Atomics.notify(ctl, POOL_READY);
  for (;;) {
    let t = Atomics.load(ctl, POOL_TICKET);
    let spins = 0;
    while (t >>> 4 === last) {
      if (++spins > spin) Atomics.wait(ctl, POOL_TICKET, t);
      t = Atomics.load(ctl, POOL_TICKET);
    }
    const seq = t >>> 4;
    last = seq;
    // These fields are this job's if the compare-exchange below succeeds (see simd.ts).
    const n = ctl[POOL_CHUNKS];
    const kernel = ctl[POOL_KERNEL];
    const id = ctl[POOL_MEM];
    let k = instances.get(id);
    if (!k) {
      drain();
      k = instances.get(id);
    }
    if (!k) continue; // the caller does the job alone
    while (t >>> 4 === seq && (t & 15) < n) {
      const prev = Atomics.compareExchange(ctl, POOL_TICKET, t, t + 1);
      if (prev !== t) {
        t = prev;
        continue;
      }
      // Claimed: the job stays open until this chunk is done.
      const a = POOL_ARGS + (t & 15) * POOL_ARGS_PER_CHUNK;
      try {
        runKernel(k, kernel, ctl, a);
      } catch {
        Atomics.store(ctl, POOL_FAILED, 1);
      } finally {
        Atomics.add(ctl, POOL_DONE, 1);
        Atomics.notify(ctl, POOL_DONE);
      }
      t = Atomics.load(ctl, POOL_TICKET);
    }
  }
}

interface Helper {
  worker: Worker;
  port: MessagePort;
}

class NodeMatmulPool implements MatmulPool {
  readonly control: Int32Array;
  readonly helpers: number;
  private readonly threads: Helper[] = [];
  private readonly ids = new WeakMap<object, number>();
  /** The memories the helpers hold, most recently used last. */
  private held: Array<{ id: number; memory: WeakRef<object> }> = [];
  private nextId = 1;
  private failed = false;

  constructor(helpers: number, spin: number, script: string) {
    this.control = new Int32Array(new SharedArrayBuffer(4 * POOL_CONTROL_INTS));
    this.helpers = helpers;
    for (let h = 0; h < helpers; h++) {
      const { port1, port2 } = new MessageChannel();
      // The helper runs this same file (the bundle it is part of): loading it, this module sees its
      // workerData and serves multiplies before anything else of the bundle runs.
      const data: HelperData = { control: this.control, port: port2, spin };
      const worker = new Worker(script, { workerData: { [HELPER_FLAG]: data }, transferList: [port2] });
      worker.unref();
      port1.unref();
      worker.on('error', () => this.fail());
      worker.on('exit', () => this.fail());
      this.threads.push({ worker, port: port1 });
    }
  }

  memoryId(memory: object, module: object): number {
    if (this.failed) return 0;
    const known = this.ids.get(memory);
    if (known !== undefined) {
      const k = this.held.findIndex((e) => e.id === known);
      if (k !== this.held.length - 1) this.held.push(...this.held.splice(k, 1));
      return known;
    }
    const id = this.nextId++;
    let drop = 0;
    if (this.held.length >= HELD_MEMORIES) {
      const old = this.held.shift()!;
      drop = old.id;
      const m = old.memory.deref();
      if (m) this.ids.delete(m);
    }
    try {
      for (const t of this.threads) t.port.postMessage({ id, memory, module, drop });
    } catch {
      return 0;
    }
    this.ids.set(memory, id);
    this.held.push({ id, memory: new WeakRef(memory) });
    return id;
  }

  private fail(): void {
    this.failed = true;
    if (matmulPool() === this) setMatmulPool(null);
  }

  stop(): void {
    this.failed = true;
    for (const t of this.threads) {
      void t.worker.terminate();
      t.port.close();
    }
  }
}

let current: NodeMatmulPool | null = null;

/** The threads a run uses unless told: every core, up to MAX_THREADS (the most chunks a job is split into). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(MAX_THREADS, availableParallelism()));
}

/**
 * Starts `threads - 1` helper threads (at most MAX_THREADS - 1, and no more than the other cores) and gives them
 * to the engine; returns whether a pool is now in use. With threads <= 1, on one core, or where it
 * cannot start, stops any pool: one thread. Never throws. `script`: what the helper runs (this
 * file, or the bundle it is in; a test gives a loader for the TypeScript source).
 */
export function startMatmulPool(threads = 2, options: { spin?: number; script?: string } = {}): boolean {
  try {
    stopMatmulPool();
    const helpers = Math.min(MAX_THREADS - 1, Math.floor(threads) - 1, availableParallelism() - 1);
    if (!(helpers >= 1)) return false;
    if (!sharedKernelsAvailable() || typeof SharedArrayBuffer === 'undefined') return false;
    current = new NodeMatmulPool(helpers, options.spin ?? 5000, options.script ?? __filename);
    setMatmulPool(current);
    return true;
  } catch {
    current = null;
    setMatmulPool(null);
    return false;
  }
}

/**
 * Waits (blocking, at most `timeoutMs`) until every helper thread has started, so that a benchmark
 * does not time a thread's start-up; returns whether they all have. Training needs no wait: until a
 * helper is there, the caller does every chunk.
 */
export function waitForMatmulPool(timeoutMs = 5000): boolean {
  if (!current) return false;
  const ctl = current.control;
  const end = performance.now() + timeoutMs;
  for (;;) {
    const ready = Atomics.load(ctl, POOL_READY);
    if (ready >= current.helpers) return true;
    const left = end - performance.now();
    if (left <= 0) return false;
    Atomics.wait(ctl, POOL_READY, ready, Math.min(left, 50));
  }
}

/** The threads the engine runs on now: the helpers and the caller. */
export function threadsInUse(): number {
  const pool = matmulPool();
  return pool ? pool.helpers + 1 : 1;
}

/** Stops the helper threads; the engine runs on one thread again. */
export function stopMatmulPool(): void {
  if (!current) return;
  setMatmulPool(null);
  current.stop();
  current = null;
}

// Run as a helper thread: serve, and never let the rest of the bundle start.
const asHelper = isMainThread ? undefined : (workerData as Record<string, HelperData> | null)?.[HELPER_FLAG];
if (asHelper) serveMatmuls(asHelper);
