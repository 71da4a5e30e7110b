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
  const place = (size: number): number => {
    const at = next;
    next += Math.ceil((4 * size) / ALIGN) * ALIGN;
    return at;
  };
  let ap: number, ald: number, bp: number, bld: number, cp: number, cld: number;
  if (aHere) {
    ap = a.byteOffset + 4 * aOff;
    ald = lda;
  } else {
    ap = place(aSize);
    ald = aCols;
    copyIn(mem, ap >> 2, a, aOff, lda, aRows, aCols);
  }
  if (bHere) {
    bp = b.byteOffset + 4 * bOff;
    bld = ldb;
  } else {
    bp = place(bSize);
    bld = bCols;
    copyIn(mem, bp >> 2, b, bOff, ldb, bRows, bCols);
  }
  if (cHere) {
    cp = c.byteOffset + 4 * cOff;
    cld = ldc;
  } else {
    cp = place(cSize);
    cld = N;
    if (accumulate) copyIn(mem, cp >> 2, c, cOff, ldc, M, N);
  }
  if (K === 0) {
    ap = bp = cp; // not read
    ald = bld = 1;
  }

  const acc = accumulate ? 1 : 0;
  if (!transB) arena.kernels.gemm_nn(cp, cld, ap, transA ? 1 : ald, transA ? ald : 1, bp, bld, M, N, K, acc);
  else arena.kernels.gemm_nt(cp, cld, ap, ald, bp, bld, M, N, K, acc);

  if (!cHere) {
    const out = arena.floats();
    const base = cp >> 2;
    for (let r = 0; r < M; r++) c.set(out.subarray(base + r * N, base + r * N + N), cOff + r * ldc);
  }
  return true;
}
