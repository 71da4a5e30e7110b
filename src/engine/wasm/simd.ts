// The float32 fast path: the SIMD kernels of kernels.wat, loaded from bytes embedded at build time
// with nothing but the WebAssembly global (no Node built-ins, no DOM), so the same code runs in a
// Node worker thread and in a browser Web Worker.
//
// Where memory can be shared (SharedArrayBuffer: Node, or a cross-origin isolated page), each model
// keeps its parameters, gradients and activations in an Arena: a WebAssembly memory of its own that
// the kernels read in place. Growing a shared memory never detaches the views already handed out,
// and a model's memory goes away with the model (nothing outside can alias it). Elsewhere, or for
// arrays that live outside an arena, the operands are copied into a scratch area first.
// Where WebAssembly SIMD is missing, nothing here is used: kernels.ts runs its plain loops.

import { KERNELS_SHARED_BASE64, KERNELS_UNSHARED_BASE64 } from './generated/kernels-wasm';

// The few parts of the WebAssembly global used here, typed locally: the engine compiles without
// the DOM library, and the global may be missing altogether.
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

function wasmApi(): WasmApi | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return typeof api === 'object' && api !== null ? api : null;
}

interface KernelExports {
  gemm_nn(c: number, ldc: number, a: number, sai: number, sak: number, b: number, ldb: number, M: number, N: number, K: number, acc: number): void;
  gemm_nt(c: number, ldc: number, a: number, lda: number, b: number, ldb: number, M: number, N: number, K: number, acc: number): void;
}

const PAGE = 65536;
/** Allocations start on cache-line boundaries. */
const ALIGN = 64;
const MAX_PAGES_SHARED = 65536; // 4 GiB of address space, reserved but not used until grown into

interface Compiled {
  module: WasmModule;
  api: WasmApi;
  shared: boolean;
}

let compiled: Compiled | null | undefined;

function decodeBase64(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const table = new Int8Array(128).fill(-1);
  for (let k = 0; k < alphabet.length; k++) table[alphabet.charCodeAt(k)] = k;
  let end = text.length;
  while (end > 0 && text[end - 1] === '=') end--;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0, value = 0, o = 0;
  for (let k = 0; k < end; k++) {
    value = (value << 6) | table[text.charCodeAt(k)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

function canShareMemory(api: WasmApi): boolean {
  try {
    if (typeof SharedArrayBuffer === 'undefined') return false;
    const m = new api.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** The compiled kernels, or null where WebAssembly or its SIMD is unavailable. */
function kernelsModule(): Compiled | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  try {
    const api = wasmApi();
    if (!api) return null;
    const shared = canShareMemory(api);
    const bytes = decodeBase64(shared ? KERNELS_SHARED_BASE64 : KERNELS_UNSHARED_BASE64);
    if (!api.validate(bytes)) return null; // no SIMD (or no threads where shared)
    compiled = { module: new api.Module(bytes), api, shared };
  } catch {
    compiled = null;
  }
  return compiled;
}

/** Arenas by every buffer object their memory has shown (a grown shared memory shows a new one). */
const arenaOfBuffer = new WeakMap<ArrayBufferLike, Arena>();

/** A WebAssembly memory with the kernels bound to it, and a first-fit allocator over it. */
export class Arena {
  readonly memory: WasmMemory;
  readonly kernels: KernelExports;
  readonly shared: boolean;
  private view: Float32Array;
  /** Free blocks [start, start + size) in bytes, sorted by start, coalesced. */
  private readonly freeBlocks: Array<{ start: number; size: number }> = [];
  private readonly sizes = new Map<number, number>();
  private top = ALIGN; // address 0 is never handed out
  private scratchPtr = 0;
  private scratchSize = 0;

  constructor(c: Compiled) {
    this.shared = c.shared;
    this.memory = c.shared
      ? new c.api.Memory({ initial: 1, maximum: MAX_PAGES_SHARED, shared: true })
      : new c.api.Memory({ initial: 1 });
    const instance = new c.api.Instance(c.module, { env: { memory: this.memory } });
    this.kernels = instance.exports as unknown as KernelExports;
    this.view = new Float32Array(this.memory.buffer);
    arenaOfBuffer.set(this.memory.buffer, this);
  }

  /** The whole memory as floats (fresh after growth). */
  floats(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) {
      this.view = new Float32Array(this.memory.buffer);
      arenaOfBuffer.set(this.memory.buffer, this);
    }
    return this.view;
  }

  /** Whether `buffer` is (a view of) this arena's memory. */
  owns(buffer: ArrayBufferLike): boolean {
    return arenaOfBuffer.get(buffer) === this;
  }

  /** A block of at least `bytes` bytes, aligned; null when the memory cannot grow that far. */
  allocBytes(bytes: number): number | null {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let k = 0; k < this.freeBlocks.length; k++) {
      const block = this.freeBlocks[k];
      if (block.size >= size) {
        const start = block.start;
        if (block.size === size) this.freeBlocks.splice(k, 1);
        else {
          block.start += size;
          block.size -= size;
        }
        this.sizes.set(start, size);
        return start;
      }
    }
    const start = this.top;
    const end = start + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      // Grow by at least an eighth, so a run of allocations grows the memory a few times only.
      const extra = Math.max(pages, Math.ceil(have / PAGE / 8));
      try {
        this.memory.grow(extra);
      } catch {
        try {
          this.memory.grow(pages);
        } catch {
          return null;
        }
      }
      this.floats();
    }
    this.top = end;
    this.sizes.set(start, size);
    return start;
  }

  freeBytes(start: number): void {
    const size = this.sizes.get(start);
    if (size === undefined) return;
    this.sizes.delete(start);
    if (start + size === this.top) {
      this.top = start;
      // The block now at the top, if free, returns to the top too.
      const last = this.freeBlocks[this.freeBlocks.length - 1];
      if (last && last.start + last.size === this.top) {
        this.top = last.start;
        this.freeBlocks.pop();
      }
      return;
    }
    let k = 0;
    while (k < this.freeBlocks.length && this.freeBlocks[k].start < start) k++;
    this.freeBlocks.splice(k, 0, { start, size });
    // Coalesce with the neighbours.
    const next = this.freeBlocks[k + 1];
    if (next && start + size === next.start) {
      this.freeBlocks[k].size += next.size;
      this.freeBlocks.splice(k + 1, 1);
    }
    const prev = this.freeBlocks[k - 1];
    if (prev && prev.start + prev.size === start) {
      prev.size += this.freeBlocks[k].size;
      this.freeBlocks.splice(k, 1);
    }
  }

  /**
   * A zeroed Float32Array of n values in this memory (views of a shared memory survive growth), or
   * an ordinary one where the memory is not shared or cannot grow.
   */
  allocFloats(n: number): Float32Array {
    if (!this.shared || n === 0) return new Float32Array(n);
    const start = this.allocBytes(n * 4);
    if (start === null) return new Float32Array(n);
    const out = new Float32Array(this.memory.buffer, start, n);
    out.fill(0);
    return out;
  }

  /** Gives back an array from allocFloats (ignores any other). */
  release(array: Float32Array): void {
    if (this.owns(array.buffer)) this.freeBytes(array.byteOffset);
  }

  /** A scratch area of at least `bytes` bytes, valid until the next call. */
  scratch(bytes: number): number | null {
    if (bytes <= this.scratchSize) return this.scratchPtr;
    if (this.scratchSize > 0) this.freeBytes(this.scratchPtr);
    this.scratchSize = 0;
    const size = Math.max(bytes, 1 << 16);
    const start = this.allocBytes(size);
    if (start === null) return null;
    this.scratchPtr = start;
    this.scratchSize = size;
    return start;
  }

  /** Bytes of memory in use (allocated blocks and scratch), for tests of the allocator. */
  bytesInUse(): number {
    let n = 0;
    for (const size of this.sizes.values()) n += size;
    return n;
  }
}

/** Whether the fast path can run here, and whether models keep their buffers in shared memory. */
export function fastKernelsAvailable(): { simd: boolean; shared: boolean } {
  const c = kernelsModule();
  return { simd: c !== null, shared: c?.shared ?? false };
}

/** A new arena for one model's buffers; null where the fast path is unavailable or memory cannot be shared. */
export function createArena(): Arena | null {
  const c = kernelsModule();
  if (!c || !c.shared) return null;
  try {
    return new Arena(c);
  } catch {
    return null;
  }
}

let scratchArena: Arena | null | undefined;

/** The arena that runs kernels whose output lives outside every arena (operands are copied in). */
function defaultArena(): Arena | null {
  if (scratchArena !== undefined) return scratchArena;
  const c = kernelsModule();
  try {
    scratchArena = c ? new Arena(c) : null;
  } catch {
    scratchArena = null;
  }
  return scratchArena;
}

/** Row-major matrix operand: `rows` x `cols` starting at off, leading dimension ld. */
function lastIndex(off: number, ld: number, rows: number, cols: number): number {
  return off + (rows - 1) * ld + cols - 1;
}

function copyIn(mem: Float32Array, dst: number, src: Float32Array, off: number, ld: number, rows: number, cols: number): void {
  if (ld === cols) {
    mem.set(src.subarray(off, off + rows * cols), dst);
    return;
  }
  for (let r = 0; r < rows; r++) mem.set(src.subarray(off + r * ld, off + r * ld + cols), dst + r * cols);
}

/**
 * C (M, N) = op(A) · op(B) (or +=) with the SIMD kernels; arguments as kernels.ts's matmul.
 * Returns false (having done nothing) where the fast path cannot run: no SIMD, an operand out of
 * range, both operands transposed.
 */
export function simdMatmul(
  c: Float32Array, cOff: number, ldc: number,
  a: Float32Array, aOff: number, lda: number, transA: boolean,
  b: Float32Array, bOff: number, ldb: number, transB: boolean,
  M: number, N: number, K: number,
  accumulate: boolean,
): boolean {
  if (transA && transB) return false;
  if (M <= 0 || N <= 0) return true;
  const aRows = transA ? K : M, aCols = transA ? M : K;
  const bRows = transB ? N : K, bCols = transB ? K : N;
  if (lastIndex(cOff, ldc, M, N) >= c.length || cOff < 0) return false;
  if (K > 0 && (lastIndex(aOff, lda, aRows, aCols) >= a.length || lastIndex(bOff, ldb, bRows, bCols) >= b.length || aOff < 0 || bOff < 0)) return false;
  const arena = arenaOfBuffer.get(c.buffer) ?? defaultArena();
  if (!arena) return false;

  // Where each operand is in the arena's memory: in place, or copied into the scratch area.
  const aHere = K === 0 || arena.owns(a.buffer);
  const bHere = K === 0 || arena.owns(b.buffer);
  const cHere = arena.owns(c.buffer);
  const aSize = aHere ? 0 : aRows * aCols;
  const bSize = bHere ? 0 : bRows * bCols;
  const cSize = cHere ? 0 : M * N;
  let scratch = 0;
  if (aSize + bSize + cSize > 0) {
    const s = arena.scratch(4 * (aSize + bSize + cSize) + 3 * ALIGN);
    if (s === null) return false;
    scratch = s;
  }
  const mem = arena.floats();
  let next = scratch;
  /** An operand's byte address and leading dimension: in place, or copied into the scratch area (when `fill`). */
  const locate = (here: boolean, x: Float32Array, off: number, ld: number, rows: number, cols: number, fill: boolean): [number, number] => {
    if (here) return [x.byteOffset + 4 * off, ld];
    const at = next;
    next += Math.ceil((4 * rows * cols) / ALIGN) * ALIGN;
    if (fill) copyIn(mem, at >> 2, x, off, ld, rows, cols);
    return [at, cols];
  };
  let [ap, ald] = locate(aHere, a, aOff, lda, aRows, aCols, true);
  let [bp, bld] = locate(bHere, b, bOff, ldb, bRows, bCols, true);
  const [cp, cld] = locate(cHere, c, cOff, ldc, M, N, accumulate);
  if (K === 0) {
    ap = bp = cp; // not read
    ald = bld = 1;
  }

  const acc = accumulate ? 1 : 0;
  if (!transB) gemm(arena, false, cp, cld, ap, transA ? 1 : ald, transA ? ald : 1, bp, bld, M, N, K, acc);
  else gemm(arena, true, cp, cld, ap, ald, 0, bp, bld, M, N, K, acc);

  if (!cHere) {
    const out = arena.floats();
    const base = cp >> 2;
    for (let r = 0; r < M; r++) c.set(out.subarray(base + r * N, base + r * N + N), cOff + r * ldc);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Helper threads. Where memory is shared, a large multiply may be split across threads that run
// the same kernels on the same memory. The engine imports nothing to start threads: a MatmulPool is
// injected (setMatmulPool) by whoever can start them (src/node/matmulPool.ts in Node). The engine
// defines the protocol, a control block of Int32 in a SharedArrayBuffer:
//
//   TICKET  (seq << 4) | claimed: the job's sequence number and how many of its chunks are taken.
//           Chunks are claimed by compare-exchange; the caller closes a finished job by storing
//           (seq << 4) | 15 before it writes the next one's fields, so a helper that read stale
//           fields fails its compare-exchange and never runs them.
//   DONE    chunks finished (Atomics.add, then Atomics.notify).
//   MEM     the memory's id with the helpers (MatmulPool.memoryId).
//   KERNEL  0: gemm_nn, 1: gemm_nt.
//   CHUNKS  how many chunks the job has (at most POOL_MAX_CHUNKS).
//   READY   helpers started (for a benchmark that waits for them before it measures).
//   FAILED  non-zero once a helper's kernel call threw: the pool is dropped and the multiply
//           throws, rather than leave a part of C unwritten.
//   ARGS    for each chunk, the kernel's arguments (POOL_ARGS_PER_CHUNK slots).
//
// A job is split over rows or columns of C, never over K: every element of C is computed by
// exactly the same operations, in the same order, as in one call, so the results are
// bit-identical to one thread's (the kernels' tiles all add the products of an element in the
// same order). The caller takes chunks too, and finishes any the helpers have not taken: a helper
// that is slow to wake, or missing, costs time, never correctness.

export const POOL_TICKET = 0;
export const POOL_DONE = 1;
export const POOL_MEM = 2;
export const POOL_KERNEL = 3;
export const POOL_CHUNKS = 4;
/** Helpers that have started and wait for jobs (each adds 1, then Atomics.notify). */
export const POOL_READY = 5;
/** Set by a helper whose kernel call threw (never expected: the caller checked every bound). */
export const POOL_FAILED = 6;
export const POOL_ARGS = 8;
export const POOL_ARGS_PER_CHUNK = 12;
export const POOL_MAX_CHUNKS = 8;
/** Int32 slots of the control block. */
export const POOL_CONTROL_INTS = POOL_ARGS + POOL_ARGS_PER_CHUNK * POOL_MAX_CHUNKS;

/** Helper threads for the large multiplies, made outside the engine. */
export interface MatmulPool {
  /** The control block (POOL_CONTROL_INTS Int32 over a SharedArrayBuffer) the helpers wait on. */
  readonly control: Int32Array;
  /** How many helper threads there are (besides the caller). */
  readonly helpers: number;
  /** The id (>= 1) under which the helpers know this WebAssembly memory, making it known if need be; 0 where they cannot use it. */
  memoryId(memory: object): number;
}

let pool: MatmulPool | null = null;
let poolSeq = 0;
/** Split multiplies so far: jobs, their chunks, and the chunks the caller ran itself (tests read it). */
export const poolStats = { jobs: 0, chunks: 0, callerChunks: 0 };
/**
 * Multiplies of fewer multiply-adds (M·N·K) than this run on the caller alone: splitting costs a
 * hand-over and a wait (microseconds while the helper still spins from the last job, tens when it
 * must be woken). Measured on 2 cores (lstm-lens bench --split N): at 1M the per-step recurrence
 * at H = 128 (2M) and generation's batch-1 multiplies (1M) gain 1.1 to 1.5x over not splitting
 * them (on a busy machine, where the helper shares a core, about 0.95x); 256K did worse, the
 * hand-over being a larger share of the work.
 */
let splitThreshold = 1 << 20;

/** Installs (or, with null, removes) the helper threads; returns the previous pool. */
export function setMatmulPool(next: MatmulPool | null): MatmulPool | null {
  const before = pool;
  pool = next;
  return before;
}

/** The pool in use, if any. */
export function matmulPool(): MatmulPool | null {
  return pool;
}

/** Sets the smallest M·N·K that is split across threads (tests use 0 to split everything); returns the previous one. */
export function setMatmulSplitThreshold(macs: number): number {
  const before = splitThreshold;
  splitThreshold = macs;
  return before;
}

/** The compiled kernels module for helper threads to instantiate on a shared memory; null where memory is not shared. */
export function sharedKernelsModule(): WasmModule | null {
  const c = kernelsModule();
  return c && c.shared ? c.module : null;
}

/**
 * C (+)= op(A)·op(B) on `arena`'s kernels at byte addresses, split across the pool's threads where
 * it pays. nn: gemm_nn (A(i, k) at a + 4*(i*sai + k*sak)); otherwise gemm_nt (A rows at lda).
 */
function gemm(
  arena: Arena, nt: boolean,
  cp: number, cld: number, ap: number, sai: number, sak: number, bp: number, bld: number,
  M: number, N: number, K: number, acc: number,
): void {
  if (pool && arena.shared && M * N * K >= splitThreshold && splitGemm(pool, arena, nt, cp, cld, ap, sai, sak, bp, bld, M, N, K, acc)) return;
  if (!nt) arena.kernels.gemm_nn(cp, cld, ap, sai, sak, bp, bld, M, N, K, acc);
  else arena.kernels.gemm_nt(cp, cld, ap, sai, bp, bld, M, N, K, acc);
}

function runChunk(k: KernelExports, nt: boolean, ctl: Int32Array, at: number): void {
  if (!nt) k.gemm_nn(ctl[at], ctl[at + 1], ctl[at + 2], ctl[at + 3], ctl[at + 4], ctl[at + 5], ctl[at + 6], ctl[at + 7], ctl[at + 8], ctl[at + 9], ctl[at + 10]);
  else k.gemm_nt(ctl[at], ctl[at + 1], ctl[at + 2], ctl[at + 3], ctl[at + 5], ctl[at + 6], ctl[at + 7], ctl[at + 8], ctl[at + 9], ctl[at + 10]);
}

function splitGemm(
  p: MatmulPool, arena: Arena, nt: boolean,
  cp: number, cld: number, ap: number, sai: number, sak: number, bp: number, bld: number,
  M: number, N: number, K: number, acc: number,
): boolean {
  // Rows of C in multiples of the kernels' tile height where there are enough, else columns in
  // multiples of the tile width; each chunk writes its own part of C only.
  const rowAlign = nt ? 2 : 4;
  const colAlign = nt ? 4 : 8;
  const want = Math.min(POOL_MAX_CHUNKS, 2 * (p.helpers + 1));
  let byRows: boolean;
  let step: number;
  if (M >= 2 * rowAlign) {
    byRows = true;
    step = Math.ceil(Math.ceil(M / want) / rowAlign) * rowAlign;
  } else if (N >= 2 * colAlign) {
    byRows = false;
    step = Math.ceil(Math.ceil(N / want) / colAlign) * colAlign;
  } else return false;
  const extent = byRows ? M : N;
  const n = Math.ceil(extent / step);
  if (n < 2) return false;
  const id = p.memoryId(arena.memory);
  if (id <= 0) return false;

  const ctl = p.control;
  for (let i = 0; i < n; i++) {
    const lo = i * step;
    const size = Math.min(step, extent - lo);
    const at = POOL_ARGS + i * POOL_ARGS_PER_CHUNK;
    ctl[at] = byRows ? cp + 4 * lo * cld : cp + 4 * lo;
    ctl[at + 1] = cld;
    ctl[at + 2] = byRows ? ap + 4 * lo * sai : ap;
    ctl[at + 3] = sai;
    ctl[at + 4] = sak;
    ctl[at + 5] = byRows ? bp : nt ? bp + 4 * lo * bld : bp + 4 * lo;
    ctl[at + 6] = bld;
    ctl[at + 7] = byRows ? size : M;
    ctl[at + 8] = byRows ? N : size;
    ctl[at + 9] = K;
    ctl[at + 10] = acc;
  }
  ctl[POOL_MEM] = id;
  ctl[POOL_KERNEL] = nt ? 1 : 0;
  ctl[POOL_CHUNKS] = n;
  Atomics.store(ctl, POOL_DONE, 0);
  poolSeq = (poolSeq + 1) & 0x7ffffff;
  if (poolSeq === 0) poolSeq = 1;
  const base = poolSeq << 4;
  Atomics.store(ctl, POOL_TICKET, base);
  Atomics.notify(ctl, POOL_TICKET);

  // Take chunks until none is left (the count may pass n by one: it stays below 15).
  for (;;) {
    const i = Atomics.add(ctl, POOL_TICKET, 1) - base;
    if (i >= n) break;
    runChunk(arena.kernels, nt, ctl, POOL_ARGS + i * POOL_ARGS_PER_CHUNK);
    Atomics.add(ctl, POOL_DONE, 1);
    poolStats.callerChunks++;
  }
  poolStats.jobs++;
  poolStats.chunks += n;
  Atomics.store(ctl, POOL_TICKET, base | 15); // closed
  // Wait for the chunks a helper is still running.
  let spins = 0;
  for (;;) {
    const done = Atomics.load(ctl, POOL_DONE);
    if (done >= n) break;
    if (++spins > 20000) Atomics.wait(ctl, POOL_DONE, done, 1);
  }
  if (Atomics.load(ctl, POOL_FAILED) !== 0) {
    if (pool === p) pool = null;
    throw new Error('a helper thread failed in a matrix multiply; the engine runs on one thread from now on');
  }
  return true;
}
