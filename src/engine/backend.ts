// The Backend interface: the few primitives the model is built from. The model's forward and
// backward (model.ts) are written once against it; a backend only says how each primitive runs.
// The CPU backend (backend-cpu.ts, over kernels.ts) is the reference; the WebGL2 backend lives in
// webgl/ and is checked against it in headless Chromium.
//
// A tensor is a handle the backend owns (the type parameter Tensor): the CPU's is the typed array
// itself, in the model's WebAssembly arena; the GPU's names a float texture. Every tensor is made
// with a shape (rows, cols). A primitive that works on part of a tensor takes a View: the tensor,
// the offset of its first row and the stride between rows, in floats (llm.c's (array, offset,
// leading dimension)), so that one time step t of a (B, T, X) buffer is view(buffer, t*X, T*X).
// A backend may require that a view start and stride on whole rows of the tensor's shape (the GPU
// does); the model only makes such views. Where several tensors of one layout are addressed at
// the same rows (the states of one cell step), the rows are given once (Rows) beside the tensors.
// Token ids travel as Ids, the backend's integer tensor (the CPU's is an Int32Array).
//
// Reading back is explicit: read(tensor) returns the values (the CPU's own array, a copy from the
// GPU); nothing else leaves the backend except the loss that softmaxCrossEntropyForward returns.
//
// What only one backend needs stays inside it: the CPU's transposed W_ih for one-hot input, the
// GPU's scratch textures for in-place updates.

import type { DType, FloatArray } from './config';

/** Where rows sit in a tensor: row r starts at offset + r * stride (in floats). */
export interface Rows {
  readonly offset: number;
  readonly stride: number;
}

/** Rows of one tensor. */
export interface View<Tensor> extends Rows {
  readonly tensor: Tensor;
}

/** The view of `tensor` whose row r starts at offset + r * stride. */
export function view<Tensor>(tensor: Tensor, offset: number, stride: number): View<Tensor> {
  return { tensor, offset, stride };
}

/** The rows at offset + r * stride, for tensors that share them. */
export function rows(offset: number, stride: number): Rows {
  return { offset, stride };
}

/**
 * The form of a product C (M, N) (+)= op(A) · op(B): op(A) is (M, K), A itself or, with transA,
 * the transpose of A stored as (K, M); op(B) is (K, N), B itself or, with transB, the transpose
 * of B stored as (N, K). transA and transB are never both set.
 */
export interface Product {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transA?: boolean;
  readonly transB?: boolean;
  /** C += op(A) · op(B) rather than C = op(A) · op(B). */
  readonly accumulate: boolean;
}

/**
 * One time step of the cell forward, for B rows of H units (see kernels.ts lstmCellForward).
 * `gates` (B, 4H) holds the pre-activations [i | f | g | o] on entry and the activations on exit.
 * c, h, tanhC, hPrev and cPrev receive this step's rows at `state`; the previous state is read
 * from hPrevIn and cPrevIn at `prev` (null: zeros) and copied to hPrev and cPrev, which backward needs.
 */
export interface CellForward<Tensor> {
  readonly B: number;
  readonly H: number;
  readonly gates: View<Tensor>;
  readonly state: Rows;
  readonly c: Tensor;
  readonly h: Tensor;
  readonly tanhC: Tensor;
  readonly hPrev: Tensor;
  readonly cPrev: Tensor;
  readonly prev: Rows;
  readonly hPrevIn: Tensor | null;
  readonly cPrevIn: Tensor | null;
}

/**
 * Back through one time step of the cell, for B rows of H units (see kernels.ts
 * lstmCellBackward). gates and dGates share the rows `gate`; tanhC, cPrev and the trace's dhTrace
 * and dcTrace (null: not recorded) share the rows `state`. dOut is dL/dh_t from above (the head or
 * the next layer); dhNext and dcNext (B, H) carry what comes from step t+1, and dcNext leaves with
 * what goes on to step t-1.
 */
export interface CellBackward<Tensor> {
  readonly B: number;
  readonly H: number;
  readonly gate: Rows;
  readonly gates: Tensor;
  readonly dGates: Tensor;
  readonly state: Rows;
  readonly tanhC: Tensor;
  readonly cPrev: Tensor;
  readonly dhTrace: Tensor | null;
  readonly dcTrace: Tensor | null;
  readonly dOut: View<Tensor>;
  readonly dhNext: Tensor;
  readonly dcNext: Tensor;
}

/**
 * The whole recurrence of one layer and direction, forward: what model.ts's step loop does (the
 * recurrent product h_{t-1} · W_hhᵀ added to the gates, then the cell) for every step at once, so
 * that a backend may fuse and batch it. Steps run t = 0 … T-1, or T-1 … 0 when `reverse`.
 */
export interface RecurrenceForward<Tensor> {
  readonly B: number;
  readonly T: number;
  readonly H: number;
  readonly reverse: boolean;
  /** (B, T, 4H): the input projection (with both biases) on entry, the gate activations on exit. */
  readonly gates: Tensor;
  /** (B, T, H) each, every step written. */
  readonly c: Tensor;
  readonly h: Tensor;
  readonly tanhC: Tensor;
  readonly hPrev: Tensor;
  readonly cPrev: Tensor;
  /** (4H, H). */
  readonly whh: Tensor;
  /** The initial state, B rows of H from stateOffset (null: zeros). */
  readonly h0: Tensor | null;
  readonly c0: Tensor | null;
  readonly stateOffset: number;
}

/** Back through the whole recurrence of one layer and direction: model.ts's backward step loop. */
export interface RecurrenceBackward<Tensor> {
  readonly B: number;
  readonly T: number;
  readonly H: number;
  readonly reverse: boolean;
  readonly gates: Tensor;
  /** (B, T, 4H): receives every step's gate gradients. */
  readonly dGates: Tensor;
  readonly tanhC: Tensor;
  readonly cPrev: Tensor;
  /** (B, T, H): receive dL/dh_t and dL/dc_t (null: not recorded). */
  readonly dhTrace: Tensor | null;
  readonly dcTrace: Tensor | null;
  /** dL/dh_t from above: row b, step t at dOutOffset + (b*T + t) * dOutWidth. */
  readonly dOut: Tensor;
  readonly dOutOffset: number;
  readonly dOutWidth: number;
  /** (B, H): what arrives from after the last step (in); dcNext leaves with dL/dc_{-1}, dhNext unspecified. */
  readonly dhNext: Tensor;
  readonly dcNext: Tensor;
  readonly whh: Tensor;
  /** Receives dL/dh_{-1}, B rows of H from stateOffset (null: not wanted). */
  readonly dh0: Tensor | null;
  readonly stateOffset: number;
}

export interface Backend<Tensor, Ids> {
  /** 'cpu' or 'webgl': what the user is told. */
  readonly name: string;
  readonly dtype: DType;

  /** A zeroed tensor of rows × cols values. */
  alloc(rows: number, cols: number): Tensor;
  /**
   * Tensors of the given shapes that also form one whole (parameters, gradients, moments): fill,
   * read, write, copy, sumOfSquares, scale and the updates work on the whole. `aside`: read only by
   * the updates and copies (Adam's moments, the weights a diverged run goes back to), never by a
   * kernel: the CPU keeps it out of its WebAssembly arena (memory.ts counts it apart).
   */
  allocGroup(shapes: ReadonlyArray<readonly [number, number]>, options?: { aside?: boolean }): { whole: Tensor; parts: Tensor[] };
  release(tensor: Tensor): void;
  /** How many values the tensor holds. */
  size(tensor: Tensor): number;
  /** The tensor's values: on the CPU the tensor itself (writes go to it), elsewhere a copy. */
  read(tensor: Tensor): FloatArray;
  /** Writes values into the tensor from `offset` (in floats) on. */
  write(tensor: Tensor, data: ArrayLike<number>, offset?: number): void;
  fill(tensor: Tensor, value: number): void;
  /** dst = src, two tensors of the same shape (or groups of the same shapes). */
  copy(dst: Tensor, src: Tensor): void;

  allocIds(n: number): Ids;
  writeIds(ids: Ids, data: Int32Array): void;

  /** C (M, N) (+)= op(A) · op(B); see Product. */
  matmul(c: View<Tensor>, a: View<Tensor>, b: View<Tensor>, product: Product): void;
  /** out[r, :] = bias1 + bias2 for R contiguous rows of width N. */
  fillRowsWithBiases(out: Tensor, bias1: Tensor, bias2: Tensor | null, R: number, N: number): void;
  /** dbias[j] += sum over R contiguous rows of dout[r, j]. */
  addColumnSums(dbias: Tensor, dout: Tensor, R: number, N: number): void;
  /** Row r of dst, N values, = row r of src, for R rows. */
  copyRows(dst: View<Tensor>, src: View<Tensor>, R: number, N: number): void;
  /** dst[r, :] = table[ids[r], :] for R rows of width N (an embedding lookup). */
  gatherRows(dst: Tensor, table: Tensor, ids: Ids, R: number, N: number): void;
  /** dst[ids[r], :] += src[r, :] (the embedding's gradient). */
  scatterAddRows(dst: Tensor, src: Tensor, ids: Ids, R: number, N: number): void;
  /** One-hot input through W_ih (G, V): gates[r, :] = W_ih[:, ids[r]] + bih + bhh for R contiguous rows. */
  oneHotProject(gates: Tensor, wih: Tensor, bih: Tensor, bhh: Tensor, ids: Ids, R: number, G: number, V: number): void;
  /** dwih[:, ids[r]] += dGates[r, :] for R contiguous rows. */
  oneHotGradient(dwih: Tensor, dGates: Tensor, ids: Ids, R: number, G: number, V: number): void;
  /** One time step of the cell, fused; see CellForward. */
  lstmCellForward(step: CellForward<Tensor>): void;
  /** Back through one time step of the cell; see CellBackward. */
  lstmCellBackward(step: CellBackward<Tensor>): void;
  /**
   * Optional: the whole forward recurrence at once (RecurrenceForward); true when done, false
   * (nothing done) where it cannot run: the model then goes step by step (matmul, lstmCellForward).
   */
  recurrenceForward?(r: RecurrenceForward<Tensor>): boolean;
  /** Optional: back through the whole recurrence at once (RecurrenceBackward), as recurrenceForward. */
  recurrenceBackward?(r: RecurrenceBackward<Tensor>): boolean;
  /** Softmax into probs; returns the mean cross-entropy over counted targets (NaN without targets). The one number read back per step. */
  softmaxCrossEntropyForward(probs: Tensor, logits: Tensor, targets: Ids | null, R: number, V: number): number;
  softmaxCrossEntropyBackward(dlogits: Tensor, probs: Tensor, targets: Ids, R: number, V: number): void;

  /** Sum of the squares of every value (the global gradient norm, squared). */
  sumOfSquares(tensor: Tensor): number;
  /** tensor *= factor. */
  scale(tensor: Tensor, factor: number): void;
  /**
   * One Adam update (torch.optim.Adam), `step` counting from 1; the moments are laid out as params.
   * Returns whether it wrote: a backend that can tell (the CPU) refuses, changing nothing, an
   * update that would make a weight or moment overflow its precision.
   */
  adamUpdate(params: Tensor, grads: Tensor, m: Tensor, v: Tensor, lr: number, beta1: number, beta2: number, eps: number, step: number): boolean;
  /** params -= lr * grads (torch.optim.SGD); whether it wrote, as adamUpdate. */
  sgdUpdate(params: Tensor, grads: Tensor, lr: number): boolean;
}
