// The CPU backend: the reference. Its tensor is the typed array itself (in the model's WebAssembly
// arena for float32, so the SIMD matmul reads it in place; an ordinary Float64Array for the
// finite-difference checks), and each primitive is the loop of kernels.ts.
//
// What only the CPU needs stays here: for one-hot input from ONE_HOT_TRANSPOSE_MIN_ROWS rows on,
// W_ih transposed (V, G), so that the column a token picks is a contiguous row (one per backend,
// made the first time it is needed, in the arena).

import { arrayConstructor, type DType, type FloatArray } from './config';
import type { Backend, CellBackward, CellForward, Product, RecurrenceBackward, RecurrenceForward, View } from './backend';
import {
  addColumnSums,
  fillRowsWithBiases,
  lstmCellBackward,
  lstmCellForward,
  matmul,
  recurrenceBackward,
  recurrenceForward,
  scatterAddRows,
  softmaxCrossEntropyBackward,
  softmaxCrossEntropyForward,
} from './kernels';
import { createArena, type Arena } from './wasm/simd';

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** From this many rows (B*T) on, one-hot input goes through W_ih transposed (contiguous rows). */
export const ONE_HOT_TRANSPOSE_MIN_ROWS = 64;

export class CpuBackend implements Backend<FloatArray, Int32Array> {
  readonly name = 'cpu';
  /** Where a float32 backend's tensors live for the SIMD kernels; null: ordinary arrays. */
  readonly arena: Arena | null;
  /** W_ih transposed (V, G) for one-hot input, or its gradient: see oneHotProject. */
  private oneHotScratch: FloatArray | null = null;

  constructor(readonly dtype: DType = 'float32') {
    this.arena = dtype === 'float32' ? createArena() : null;
  }

  alloc(rows: number, cols: number): FloatArray {
    const n = rows * cols;
    return this.arena ? this.arena.allocFloats(n) : new (arrayConstructor(this.dtype))(n);
  }

  allocGroup(shapes: ReadonlyArray<readonly [number, number]>, options: { aside?: boolean } = {}): { whole: FloatArray; parts: FloatArray[] } {
    const total = shapes.reduce((s, [r, c]) => s + r * c, 0);
    // What no kernel reads stays out of the arena (ordinary arrays: the arena is for the SIMD kernels).
    const whole = options.aside ? new (arrayConstructor(this.dtype))(total) : this.alloc(1, total);
    const parts: FloatArray[] = [];
    let offset = 0;
    for (const [r, c] of shapes) {
      parts.push(whole.subarray(offset, offset + r * c));
      offset += r * c;
    }
    return { whole, parts };
  }

  release(tensor: FloatArray): void {
    if (this.arena) this.arena.release(tensor as Float32Array);
  }

  size(tensor: FloatArray): number {
    return tensor.length;
  }

  read(tensor: FloatArray): FloatArray {
    return tensor;
  }

  write(tensor: FloatArray, data: ArrayLike<number>, offset = 0): void {
    tensor.set(data, offset);
  }

  fill(tensor: FloatArray, value: number): void {
    tensor.fill(value);
  }

  copy(dst: FloatArray, src: FloatArray): void {
    if (dst.length !== src.length) throw new RangeError(`copy: ${src.length} values into ${dst.length}`);
    dst.set(src);
  }

  allocIds(n: number): Int32Array {
    return new Int32Array(n);
  }

  writeIds(ids: Int32Array, data: Int32Array): void {
    ids.set(data);
  }

  matmul(c: View<FloatArray>, a: View<FloatArray>, b: View<FloatArray>, p: Product): void {
    matmul(c, a, b, p);
  }

  fillRowsWithBiases(out: FloatArray, bias1: FloatArray, bias2: FloatArray | null, R: number, N: number): void {
    fillRowsWithBiases(out, bias1, bias2, R, N);
  }

  addColumnSums(dbias: FloatArray, dout: FloatArray, R: number, N: number): void {
    addColumnSums(dbias, dout, R, N);
  }

  /** addColumnSums into two biases at once (the sum computed once). */
  addColumnSumsToBoth(dbias1: FloatArray, dbias2: FloatArray, dout: FloatArray, R: number, N: number): void {
    addColumnSums(dbias1, dout, R, N, dbias2);
  }

  copyRows(dst: View<FloatArray>, src: View<FloatArray>, R: number, N: number): void {
    const d0 = dst.tensor;
    const s0 = src.tensor;
    // Rows contiguous in both: one block copy; wide rows: a block copy each; else element by element.
    if (dst.stride === N && src.stride === N && d0 !== s0) d0.set(s0.subarray(src.offset, src.offset + R * N), dst.offset);
    else if (N >= 16 && d0 !== s0) for (let r = 0; r < R; r++) d0.set(s0.subarray(src.offset + r * src.stride, src.offset + r * src.stride + N), dst.offset + r * dst.stride);
    else {
      for (let r = 0; r < R; r++) {
        const d = dst.offset + r * dst.stride;
        const s = src.offset + r * src.stride;
        for (let k = 0; k < N; k++) d0[d + k] = s0[s + k];
      }
    }
  }

  gatherRows(dst: FloatArray, table: FloatArray, ids: Int32Array, R: number, N: number): void {
    for (let r = 0; r < R; r++) {
      const d = r * N;
      const s = ids[r] * N;
      for (let k = 0; k < N; k++) dst[d + k] = table[s + k];
    }
  }

  scatterAddRows(dst: FloatArray, src: FloatArray, ids: Int32Array, R: number, N: number): void {
    scatterAddRows(dst, src, ids, R, N);
  }

  /** W_ih transposed (V, G) where R rows are many enough to pay for it; null below. */
  private transposeScratch(R: number, G: number, V: number): FloatArray | null {
    if (R < ONE_HOT_TRANSPOSE_MIN_ROWS) return null;
    if (this.oneHotScratch && this.oneHotScratch.length !== V * G) {
      this.release(this.oneHotScratch);
      this.oneHotScratch = null;
    }
    this.oneHotScratch ??= this.alloc(V, G);
    return this.oneHotScratch;
  }

  oneHotProject(gates: FloatArray, wih: FloatArray, bih: FloatArray, bhh: FloatArray, ids: Int32Array, R: number, G: number, V: number): void {
    const scratch = this.transposeScratch(R, G, V);
    if (scratch) {
      // The product picks column `token` of W_ih: a row of its transpose, with both biases added
      // once per token (V rows, not R); each of the R rows is then a copy of one.
      const wT = scratch;
      for (let j = 0; j < G; j++) {
        const b = bih[j] + bhh[j];
        for (let v = 0; v < V; v++) wT[v * G + j] = wih[j * V + v] + b;
      }
      for (let r = 0; r < R; r++) gates.set(wT.subarray(ids[r] * G, ids[r] * G + G), r * G);
      return;
    }
    for (let r = 0; r < R; r++) {
      const tok = ids[r];
      const o = r * G;
      for (let j = 0; j < G; j++) gates[o + j] = wih[j * V + tok] + bih[j] + bhh[j];
    }
  }

  oneHotGradient(dwih: FloatArray, dGates: FloatArray, ids: Int32Array, R: number, G: number, V: number): void {
    const scratch = this.transposeScratch(R, G, V);
    if (scratch) {
      // Summed in rows of the transpose first.
      const dT = scratch;
      dT.fill(0);
      scatterAddRows(dT, dGates, ids, R, G);
      for (let j = 0; j < G; j++) for (let v = 0; v < V; v++) dwih[j * V + v] += dT[v * G + j];
      return;
    }
    for (let r = 0; r < R; r++) {
      const tok = ids[r];
      const o = r * G;
      for (let j = 0; j < G; j++) dwih[j * V + tok] += dGates[o + j];
    }
  }

  /**
   * The whole forward recurrence of one layer and direction in one call (the batch's sequences
   * shared among the helper threads where there are any); false (nothing done) where it cannot:
   * the model goes step by step.
   */
  recurrenceForward(r: RecurrenceForward<FloatArray>): boolean {
    return recurrenceForward(r);
  }

  /** Back through the whole recurrence in one call, as recurrenceForward; false: step by step. */
  recurrenceBackward(r: RecurrenceBackward<FloatArray>): boolean {
    return recurrenceBackward(r);
  }

  lstmCellForward(step: CellForward<FloatArray>): void {
    lstmCellForward(step);
  }

  lstmCellBackward(step: CellBackward<FloatArray>): void {
    lstmCellBackward(step);
  }

  softmaxCrossEntropyForward(probs: FloatArray, logits: FloatArray, targets: Int32Array | null, R: number, V: number): number {
    return softmaxCrossEntropyForward(probs, logits, targets, R, V);
  }

  softmaxCrossEntropyBackward(dlogits: FloatArray, probs: FloatArray, targets: Int32Array, R: number, V: number): void {
    softmaxCrossEntropyBackward(dlogits, probs, targets, R, V);
  }

  sumOfSquares(tensor: FloatArray): number {
    let s = 0;
    for (let k = 0; k < tensor.length; k++) s += tensor[k] * tensor[k];
    return s;
  }

  scale(tensor: FloatArray, factor: number): void {
    for (let k = 0; k < tensor.length; k++) tensor[k] *= factor;
  }

  /**
   * Adam, as torch.optim.Adam computes it, refused (false, nothing changed) when a new value
   * (weight or moment) would not be finite in the parameters' precision, so that a diverging run
   * keeps its last good weights. The update itself is computed once: a lighter first pass (no
   * square root) proves that no value can overflow (a weight moves by at most stepSize·|m|/eps, the
   * denominator being at least eps; rounding is monotonic, so the bound computed in floating point
   * bounds the weight computed in floating point), then one pass computes and writes. Where that
   * proof fails, every value is computed and checked before any is written (two full passes).
   */
  adamUpdate(params: FloatArray, grads: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number, beta2: number, eps: number, step: number): boolean {
    const largest = params instanceof Float32Array ? FLOAT32_MAX : Number.MAX_VALUE;
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, step));
    const n = params.length;
    let k = 0;
    for (; k < n; k++) {
      const g = grads[k];
      const mk = beta1 * m[k] + (1 - beta1) * g;
      const vk = beta2 * v[k] + (1 - beta2) * g * g;
      // NaN fails every comparison: such a value goes to the exact check.
      if (!(Math.abs(mk) <= largest && vk >= 0 && vk <= largest && Math.abs(params[k]) + (stepSize * Math.abs(mk)) / eps <= largest)) break;
    }
    // Not proven: the exact check of every value first (the update's own arithmetic).
    for (let pass = k < n ? 0 : 1; pass < 2; pass++) {
      for (k = 0; k < n; k++) {
        const g = grads[k];
        const mk = beta1 * m[k] + (1 - beta1) * g;
        const vk = beta2 * v[k] + (1 - beta2) * g * g;
        const pk = params[k] - (stepSize * mk) / (Math.sqrt(vk) / sqrtBc2 + eps);
        if (pass === 0) {
          if (!(Math.abs(pk) <= largest && vk <= largest && Math.abs(mk) <= largest)) return false;
        } else {
          m[k] = mk;
          v[k] = vk;
          params[k] = pk;
        }
      }
    }
    return true;
  }

  /** SGD, refused (false, nothing changed) when a weight would overflow, as adamUpdate. */
  sgdUpdate(params: FloatArray, grads: FloatArray, lr: number): boolean {
    const largest = params instanceof Float32Array ? FLOAT32_MAX : Number.MAX_VALUE;
    for (let k = 0; k < params.length; k++) {
      if (!(Math.abs(params[k] - lr * grads[k]) <= largest)) return false;
    }
    for (let k = 0; k < params.length; k++) params[k] -= lr * grads[k];
    return true;
  }
}
