// CPU kernels: the few primitives the LSTM is built from, on flat typed arrays.
//
// Conventions (as in llm.c): outputs first, then inputs, then sizes. Matrices are row-major and
// addressed as views (backend.ts View: array, offset, leading dimension), so a kernel can work on
// every row of a (B, T, X) buffer at one time step t (offset t*X, stride T*X) without copying,
// and no buffer is allocated per call. The kernels take the Backend's own arguments (View,
// Product, CellForward, CellBackward), so the CPU backend hands them on as they are; only the
// SIMD kernels below the fast path (wasm/simd.ts) take them spelled out, as WebAssembly does.
// Sums are accumulated in JavaScript numbers (float64) wherever the loop order allows it.
//
// matmul and the cell on float32 arrays take the fast path where the platform has WebAssembly SIMD
// (wasm/simd.ts: the same sums in float32, blocked and vectorized; the cell's on a model's own
// buffers); the loops below are the reference it is tested against, and what float64 (the
// finite-difference checks) always runs.

import type { CellBackward, CellForward, Product, RecurrenceBackward, RecurrenceForward, View } from './backend';
import type { FloatArray } from './config';
import {
  fastKernelsAvailable, simdCellBackward, simdCellForward, simdColumnSums, simdMatmul, simdRecurrenceBackward, simdRecurrenceForward,
  simdScatterAddRows, simdSoftmax, wasmKernelPath,
  type KernelPath,
} from './wasm/simd';

let fastPath = true;

/** Turns the SIMD fast path on or off (on by default where available); returns the previous setting. */
export function useFastKernels(on: boolean): boolean {
  const before = fastPath;
  fastPath = on;
  return before;
}

/** Whether float32 matmuls run on the SIMD kernels here. */
export function fastKernelsActive(): boolean {
  return fastPath && fastKernelsAvailable().simd;
}

/** The kernels float32 models made now run on: 'wasm relaxed-simd fma', 'wasm simd' or 'js'. */
export function kernelPath(): KernelPath {
  return fastPath ? wasmKernelPath() : 'js';
}

/**
 * A whole recurrence (every time step of one layer and direction) in one call of the SIMD kernels,
 * each helper thread taking a share of the batch's sequences where there are any (wasm/simd.ts);
 * false, having done nothing, where that cannot run (the plain loops, float64, buffers outside the
 * arena): the caller goes step by step.
 */
export function recurrenceForward(r: RecurrenceForward<FloatArray>): boolean {
  return fastPath && simdRecurrenceForward(r);
}

/** Back through a whole recurrence in one call, as recurrenceForward. */
export function recurrenceBackward(r: RecurrenceBackward<FloatArray>): boolean {
  return fastPath && simdRecurrenceBackward(r);
}

/**
 * C (M, N) = op(A) · op(B), or C += op(A) · op(B) when `accumulate` is set (backend.ts Product).
 * Each matrix is a view: element (r, c) of A is a.tensor[a.offset + r * a.stride + c].
 * op(A) is (M, K): A itself (M, K), or with `transA` the transpose of A stored as (K, M).
 * op(B) is (K, N): B itself (K, N), or with `transB` the transpose of B stored as (N, K).
 */
export function matmul(c: View<FloatArray>, a: View<FloatArray>, b: View<FloatArray>, p: Product): void {
  if (
    fastPath && c.tensor instanceof Float32Array && a.tensor instanceof Float32Array && b.tensor instanceof Float32Array &&
    simdMatmul(
      c.tensor, c.offset, c.stride,
      a.tensor, a.offset, a.stride, p.transA === true,
      b.tensor, b.offset, b.stride, p.transB === true,
      p.M, p.N, p.K, p.accumulate,
    )
  ) {
    return;
  }
  matmulReference(c, a, b, p);
}

/** matmul on the plain TypeScript loops only: the reference for the fast path. */
export function matmulReference(c: View<FloatArray>, a: View<FloatArray>, b: View<FloatArray>, p: Product): void {
  const transA = p.transA === true;
  const transB = p.transB === true;
  if (!transA && transB) return matmulNT(c, a, b, p);
  if (!transA && !transB) return matmulNN(c, a, b, p);
  if (transA && !transB) return matmulTN(c, a, b, p);
  throw new Error('matmul: op(A) and op(B) both transposed is not used by the engine');
}

// C[i, j] (+)= sum_k A[i, k] * B[j, k]: each entry a dot product of two contiguous rows.
function matmulNT(cv: View<FloatArray>, av: View<FloatArray>, bv: View<FloatArray>, { M, N, K, accumulate }: Product): void {
  const { tensor: c, offset: cOff, stride: ldc } = cv;
  const { tensor: a, offset: aOff, stride: lda } = av;
  const { tensor: b, offset: bOff, stride: ldb } = bv;
  for (let i = 0; i < M; i++) {
    const ai = aOff + i * lda;
    const ci = cOff + i * ldc;
    for (let j = 0; j < N; j++) {
      const bj = bOff + j * ldb;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let k = 0;
      for (; k + 3 < K; k += 4) {
        s0 += a[ai + k] * b[bj + k];
        s1 += a[ai + k + 1] * b[bj + k + 1];
        s2 += a[ai + k + 2] * b[bj + k + 2];
        s3 += a[ai + k + 3] * b[bj + k + 3];
      }
      for (; k < K; k++) s0 += a[ai + k] * b[bj + k];
      const s = s0 + s1 + s2 + s3;
      c[ci + j] = accumulate ? c[ci + j] + s : s;
    }
  }
}

// C[i, :] (+)= sum_k A[i, k] * B[k, :]: rows of B scaled and added.
function matmulNN(cv: View<FloatArray>, av: View<FloatArray>, bv: View<FloatArray>, { M, N, K, accumulate }: Product): void {
  const { tensor: c, offset: cOff, stride: ldc } = cv;
  const { tensor: a, offset: aOff, stride: lda } = av;
  const { tensor: b, offset: bOff, stride: ldb } = bv;
  for (let i = 0; i < M; i++) {
    const ci = cOff + i * ldc;
    if (!accumulate) c.fill(0, ci, ci + N);
    const ai = aOff + i * lda;
    for (let k = 0; k < K; k++) {
      const aik = a[ai + k];
      if (aik === 0) continue;
      const bk = bOff + k * ldb;
      for (let j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

// C[i, :] (+)= sum_k A[k, i] * B[k, :]: the weight-gradient shape, a sum of outer products.
function matmulTN(cv: View<FloatArray>, av: View<FloatArray>, bv: View<FloatArray>, { M, N, K, accumulate }: Product): void {
  const { tensor: c, offset: cOff, stride: ldc } = cv;
  const { tensor: a, offset: aOff, stride: lda } = av;
  const { tensor: b, offset: bOff, stride: ldb } = bv;
  if (!accumulate) for (let i = 0; i < M; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  for (let k = 0; k < K; k++) {
    const ak = aOff + k * lda;
    const bk = bOff + k * ldb;
    for (let i = 0; i < M; i++) {
      const aki = a[ak + i];
      if (aki === 0) continue;
      const ci = cOff + i * ldc;
      for (let j = 0; j < N; j++) c[ci + j] += aki * b[bk + j];
    }
  }
}

/** out[r, :] = bias1 + bias2 for R rows of width N (contiguous). */
export function fillRowsWithBiases(out: FloatArray, bias1: FloatArray, bias2: FloatArray | null, R: number, N: number): void {
  if (R <= 0) return;
  if (bias2) for (let j = 0; j < N; j++) out[j] = bias1[j] + bias2[j];
  else for (let j = 0; j < N; j++) out[j] = bias1[j];
  // Every other row is a copy of the first: doubled by block copies.
  for (let filled = 1; filled < R; ) {
    const n = Math.min(filled, R - filled);
    out.copyWithin(filled * N, 0, n * N);
    filled += n;
  }
}

let columnSums = new Float64Array(0);

/**
 * dbias[j] += sum_r dout[r, j] over R contiguous rows of width N (summed in float64, row by row),
 * and the same sum into dbias2 when given (the LSTM's two biases get the same gradient: summed once).
 */
export function addColumnSums(dbias: FloatArray, dout: FloatArray, R: number, N: number, dbias2: FloatArray | null = null): void {
  if (fastPath && simdColumnSums(dbias, dbias2, dout, R, N)) return;
  if (columnSums.length < N) columnSums = new Float64Array(N);
  const s = columnSums;
  s.fill(0, 0, N);
  for (let r = 0; r < R; r++) {
    const o = r * N;
    for (let j = 0; j < N; j++) s[j] += dout[o + j];
  }
  for (let j = 0; j < N; j++) dbias[j] += s[j];
  if (dbias2) for (let j = 0; j < N; j++) dbias2[j] += s[j];
}

/** dst[ids[r], :] += src[r, :] for R contiguous rows of width N (an embedding's gradient). */
export function scatterAddRows(dst: FloatArray, src: FloatArray, ids: Int32Array, R: number, N: number): void {
  if (fastPath && simdScatterAddRows(dst, src, ids, R, N)) return;
  for (let r = 0; r < R; r++) {
    const o = ids[r] * N;
    for (let k = 0; k < N; k++) dst[o + k] += src[r * N + k];
  }
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** A target that takes no part in the loss, as PyTorch's ignore_index (default -100). */
export const IGNORE_TARGET = -100;

/**
 * Mean softmax cross-entropy over R rows of V logits with integer targets; rows whose target is
 * IGNORE_TARGET count for nothing. Writes the probabilities into `probs` and returns the mean
 * loss over the counted rows (NaN without targets).
 */
export function softmaxCrossEntropyForward(probs: FloatArray, logits: FloatArray, targets: Int32Array | null, R: number, V: number): number {
  const stats = fastPath ? simdSoftmax(probs, logits, R, V) : null;
  if (stats) {
    // The SIMD kernel wrote the probabilities (float32 exps and sums); the loss from each row's max and sum.
    if (!targets) return NaN;
    let sum = 0;
    for (let r = 0; r < R; r++) if (targets[r] !== IGNORE_TARGET) sum += Math.log(stats[2 * r + 1]) + stats[2 * r] - logits[r * V + targets[r]];
    return sum / countTargets(targets, R);
  }
  let total = 0;
  for (let r = 0; r < R; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > max) max = logits[o + v];
    let sum = 0;
    for (let v = 0; v < V; v++) {
      const e = Math.exp(logits[o + v] - max);
      probs[o + v] = e;
      sum += e;
    }
    const logSum = Math.log(sum) + max;
    const inv = 1 / sum;
    for (let v = 0; v < V; v++) probs[o + v] *= inv;
    if (targets && targets[r] !== IGNORE_TARGET) total += logSum - logits[o + targets[r]];
  }
  return targets ? total / countTargets(targets, R) : NaN;
}

/** How many of the first R targets count (are not IGNORE_TARGET): the mean loss divides by it. */
export function countTargets(targets: Int32Array, R: number): number {
  let n = 0;
  for (let r = 0; r < R; r++) if (targets[r] !== IGNORE_TARGET) n++;
  return n;
}

/** dlogits = (probs - onehot(targets)) / N over the N counted rows: the gradient of the mean loss. */
export function softmaxCrossEntropyBackward(dlogits: FloatArray, probs: FloatArray, targets: Int32Array, R: number, V: number): void {
  const scale = 1 / countTargets(targets, R);
  for (let r = 0; r < R; r++) {
    const o = r * V;
    if (targets[r] === IGNORE_TARGET) {
      dlogits.fill(0, o, o + V);
      continue;
    }
    for (let v = 0; v < V; v++) dlogits[o + v] = probs[o + v] * scale;
    dlogits[o + targets[r]] -= scale;
  }
}

/**
 * One time step of the LSTM cell for B rows, fused: gate non-linearities, cell and hidden update.
 * `gates` (row b at gates.offset + b*gates.stride) holds the pre-activations [i | f | g | o]
 * (each H wide) on entry and the activations on exit. c, h, tanhC, hPrev and cPrev share one
 * layout (row b at state.offset + b*state.stride). The previous state is read from hPrevIn/cPrevIn
 * (row b at prev.offset + b*prev.stride; null: zeros) and copied to hPrev/cPrev, which backward needs.
 */
export function lstmCellForward(step: CellForward<FloatArray>): void {
  if (fastPath && simdCellForward(step)) return;
  lstmCellForwardReference(step);
}

/** lstmCellForward on the plain loops (float64 arithmetic): the reference for the SIMD kernel. */
export function lstmCellForwardReference(step: CellForward<FloatArray>): void {
  const { B, H, c, h, tanhC, hPrevIn, cPrevIn } = step;
  const gates = step.gates.tensor;
  const { offset: gOff, stride: gStride } = step.gates;
  const { offset: sOff, stride: sStride } = step.state;
  const { offset: pOff, stride: pStride } = step.prev;
  const hPrevOut = step.hPrev;
  const cPrevOut = step.cPrev;
  for (let b = 0; b < B; b++) {
    const go = gOff + b * gStride;
    const so = sOff + b * sStride;
    const po = pOff + b * pStride;
    for (let j = 0; j < H; j++) {
      const hp = hPrevIn ? hPrevIn[po + j] : 0;
      const cp = cPrevIn ? cPrevIn[po + j] : 0;
      const i = sigmoid(gates[go + j]);
      const f = sigmoid(gates[go + H + j]);
      const g = Math.tanh(gates[go + 2 * H + j]);
      const o = sigmoid(gates[go + 3 * H + j]);
      gates[go + j] = i;
      gates[go + H + j] = f;
      gates[go + 2 * H + j] = g;
      gates[go + 3 * H + j] = o;
      const cn = f * cp + i * g;
      const tc = Math.tanh(cn);
      c[so + j] = cn;
      tanhC[so + j] = tc;
      h[so + j] = o * tc;
      hPrevOut[so + j] = hp;
      cPrevOut[so + j] = cp;
    }
  }
}

/**
 * Back through one time step of the cell for B rows.
 * dh_t = dOut (from the layer above or the head; row b at dOut.offset + b*dOut.stride) + dhNext
 * (from step t+1 through W_hh; (B, H)); dc_t = dcNext (from c_{t+1} through f_{t+1}) + dh_t · o ·
 * (1 - tanh²(c_t)). Writes the gate pre-activation gradients into dGates (at the rows of gates)
 * and replaces dcNext with dc_t · f_t, the part of dc that flows to the previous step. The caller
 * turns dGates into dhNext (· W_hh). When dhTrace/dcTrace are given (at the rows of tanhC and
 * cPrev), the total dh_t and dc_t are recorded there.
 */
export function lstmCellBackward(step: CellBackward<FloatArray>): void {
  if (fastPath && simdCellBackward(step)) return;
  lstmCellBackwardReference(step);
}

/** lstmCellBackward on the plain loops (float64 arithmetic): the reference for the SIMD kernel. */
export function lstmCellBackwardReference(step: CellBackward<FloatArray>): void {
  const { B, H, gates, dGates, tanhC, cPrev, dhTrace, dcTrace, dhNext, dcNext } = step;
  const { offset: gOff, stride: gStride } = step.gate;
  const { offset: sOff, stride: sStride } = step.state;
  const dOut = step.dOut.tensor;
  const { offset: dOff, stride: dStride } = step.dOut;
  for (let b = 0; b < B; b++) {
    const go = gOff + b * gStride;
    const so = sOff + b * sStride;
    const dO = dOff + b * dStride;
    for (let j = 0; j < H; j++) {
      const i = gates[go + j];
      const f = gates[go + H + j];
      const g = gates[go + 2 * H + j];
      const o = gates[go + 3 * H + j];
      const tc = tanhC[so + j];
      const dh = dOut[dO + j] + dhNext[b * H + j];
      const dc = dcNext[b * H + j] + dh * o * (1 - tc * tc);
      if (dhTrace) dhTrace[so + j] = dh;
      if (dcTrace) dcTrace[so + j] = dc;
      dGates[go + j] = dc * g * i * (1 - i);
      dGates[go + H + j] = dc * cPrev[so + j] * f * (1 - f);
      dGates[go + 2 * H + j] = dc * i * (1 - g * g);
      dGates[go + 3 * H + j] = dh * tc * o * (1 - o);
      dcNext[b * H + j] = dc * f;
    }
  }
}
