// The Backend interface: the few primitives the model is built from. The model's forward and
// backward (model.ts) are written once against it; a backend only says how each primitive runs.
// The CPU backend (backend-cpu.ts, over kernels.ts) is the reference; the WebGL2 backend lives in
// webview/gpu/ and is checked against it in headless Chromium.
//
// A tensor is a handle the backend owns (T): the CPU's is the typed array itself, in the model's
// WebAssembly arena; the GPU's names a float texture. Every tensor is made with a shape (rows,
// cols), and every primitive addresses it as llm.c's kernels do: (tensor, offset, leading
// dimension) in floats, so that one time step of a (B, T, X) buffer is (t*X, T*X). A backend may
// require that a view start and stride on whole rows of the tensor's shape (the GPU does); the
// model only makes such views.
// Token ids travel as I, the backend's integer tensor (the CPU's is an Int32Array).
//
// Reading back is explicit: read(tensor) returns the values (the CPU's own array, a copy from the
// GPU); nothing else leaves the backend except the loss that softmaxCrossEntropyForward returns.

import type { DType, FloatArray } from './config';

export interface Backend<T, I> {
  /** 'cpu' or 'webgl': what the user is told. */
  readonly name: string;
  readonly dtype: DType;

  /** A zeroed tensor of rows × cols values. */
  alloc(rows: number, cols: number): T;
  /** Tensors of the given shapes that also form one whole (parameters, gradients, moments): fill, read, write, sumOfSquares and scale work on the whole. */
  allocGroup(shapes: ReadonlyArray<readonly [number, number]>): { whole: T; parts: T[] };
  release(tensor: T): void;
  /** How many values the tensor holds. */
  size(tensor: T): number;
  /** The tensor's values: on the CPU the tensor itself (writes go to it), elsewhere a copy. */
  read(tensor: T): FloatArray;
  /** Writes values into the tensor from `offset` (in floats) on. */
  write(tensor: T, data: ArrayLike<number>, offset?: number): void;
  fill(tensor: T, value: number): void;
  /** dst = src, two tensors of the same shape (or groups of the same shapes). */
  copy(dst: T, src: T): void;

  allocIds(n: number): I;
  writeIds(ids: I, data: Int32Array): void;

  /** C (M, N) (+)= op(A) · op(B); as kernels.ts matmul (transA and transB not both). */
  matmul(
    c: T, cOff: number, ldc: number,
    a: T, aOff: number, lda: number, transA: boolean,
    b: T, bOff: number, ldb: number, transB: boolean,
    M: number, N: number, K: number,
    accumulate: boolean,
  ): void;
  /** out[r, :] = bias1 + bias2 for R contiguous rows of width N. */
  fillRowsWithBiases(out: T, bias1: T, bias2: T | null, R: number, N: number): void;
  /** dbias[j] += sum over R contiguous rows of dout[r, j]. */
  addColumnSums(dbias: T, dout: T, R: number, N: number): void;
  /** dst[dOff + r*dStride + k] = src[sOff + r*sStride + k] for R rows of N. */
  copyRows(dst: T, dOff: number, dStride: number, src: T, sOff: number, sStride: number, R: number, N: number): void;
  /** dst[r, :] = table[ids[r], :] for R rows of width N (an embedding lookup). */
  gatherRows(dst: T, table: T, ids: I, R: number, N: number): void;
  /** dst[ids[r], :] += src[r, :] (the embedding's gradient). */
  scatterAddRows(dst: T, src: T, ids: I, R: number, N: number): void;
  /**
   * One-hot input through W_ih (G, V): gates[r, :] = W_ih[:, ids[r]] + bih + bhh. `scratch`
   * (V, G), where given, may hold W_ih transposed so that each column is a contiguous row.
   */
  oneHotProject(gates: T, wih: T, bih: T, bhh: T, ids: I, R: number, G: number, V: number, scratch: T | null): void;
  /** dwih[:, ids[r]] += dGates[r, :] for R rows (scratch as in oneHotProject). */
  oneHotGradient(dwih: T, dGates: T, ids: I, R: number, G: number, V: number, scratch: T | null): void;
  /** One time step of the cell, fused; see kernels.ts lstmCellForward for every argument. */
  lstmCellForward(
    gates: T, gOff: number, gStride: number,
    c: T, h: T, tanhC: T, hPrevOut: T, cPrevOut: T, sOff: number, sStride: number,
    hPrevIn: T | null, cPrevIn: T | null, pOff: number, pStride: number,
    B: number, H: number,
  ): void;
  /** Back through one time step of the cell; see kernels.ts lstmCellBackward. */
  lstmCellBackward(
    dGates: T, gates: T, gOff: number, gStride: number,
    dcNext: T, dhNext: T,
    dhTrace: T | null, dcTrace: T | null, tanhC: T, cPrev: T, sOff: number, sStride: number,
    dOut: T, dOff: number, dStride: number,
    B: number, H: number,
  ): void;
  /** Softmax into probs; returns the mean cross-entropy over counted targets (NaN without targets). The one number read back per step. */
  softmaxCrossEntropyForward(probs: T, logits: T, targets: I | null, R: number, V: number): number;
  softmaxCrossEntropyBackward(dlogits: T, probs: T, targets: I, R: number, V: number): void;

  /** Sum of the squares of every value (the global gradient norm, squared). */
  sumOfSquares(tensor: T): number;
  /** tensor *= factor. */
  scale(tensor: T, factor: number): void;
  /** One Adam update (torch.optim.Adam), `step` counting from 1; the moments are laid out as params. */
  adamUpdate(params: T, grads: T, m: T, v: T, lr: number, beta1: number, beta2: number, eps: number, step: number): void;
  /** params -= lr * grads. */
  sgdUpdate(params: T, grads: T, lr: number): void;
}
