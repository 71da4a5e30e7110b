// The WebGL2 backend's kernels: one small program each, in the manner of tfjs's backend-webgl
// ({variableNames, outputShape, userCode}). A kernel names its input tensors and its scalar
// uniforms and defines `float compute(int row, int col)`: the value of element (row, col) of the
// output view. For every input X the prelude declares `float X_at(int r, int c)`, element (r, c)
// of X's view; `id_at(int r)` reads the token ids where a kernel takes them (`ids: true`).
// The output view's shape is given when the kernel runs (webgl.ts draws exactly its rows).

export interface Kernel {
  name: string;
  inputs: readonly string[];
  ints?: readonly string[];
  floats?: readonly string[];
  ids?: boolean;
  source: string;
}

/** Numerically safe tanh and sigmoid (no overflow to inf/inf for large |x|). */
const ACTIVATIONS = `
float sigm(float x) { return 1.0 / (1.0 + exp(-x)); }
float tanh_(float x) { float e = exp(-2.0 * abs(x)); float r = (1.0 - e) / (1.0 + e); return x < 0.0 ? -r : r; }
`;

/** C (M, N) (+)= op(A) · op(B), K terms summed in order (float32). */
export function matmulKernel(transA: boolean, transB: boolean, accumulate: boolean): Kernel {
  const a = transA ? 'A_at(k, row)' : 'A_at(row, k)';
  const b = transB ? 'B_at(col, k)' : 'B_at(k, col)';
  return {
    name: `matmul_${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}${accumulate ? '_acc' : ''}`,
    inputs: accumulate ? ['A', 'B', 'C'] : ['A', 'B'],
    ints: ['K'],
    source: `
float compute(int row, int col) {
  float s = 0.0;
  for (int k = 0; k < K; k++) s += ${a} * ${b};
  return ${accumulate ? 'C_at(row, col) + s' : 's'};
}`,
  };
}

export const fillBiases: Kernel = {
  name: 'fill_biases',
  inputs: ['b1', 'b2'],
  ints: ['two'],
  source: `float compute(int row, int col) { return b1_at(0, col) + (two == 1 ? b2_at(0, col) : 0.0); }`,
};

export const columnSums: Kernel = {
  name: 'column_sums',
  inputs: ['dbias', 'dout'],
  ints: ['R'],
  source: `
float compute(int row, int col) {
  float s = 0.0;
  for (int r = 0; r < R; r++) s += dout_at(r, col);
  return dbias_at(0, col) + s;
}`,
};

export const copy: Kernel = {
  name: 'copy',
  inputs: ['src'],
  source: `float compute(int row, int col) { return src_at(row, col); }`,
};

export const constant: Kernel = {
  name: 'constant',
  inputs: [],
  floats: ['value'],
  source: `float compute(int row, int col) { return value; }`,
};

export const gatherRows: Kernel = {
  name: 'gather_rows',
  inputs: ['table'],
  ids: true,
  source: `float compute(int row, int col) { return table_at(id_at(row), col); }`,
};

export const scatterAddRows: Kernel = {
  name: 'scatter_add_rows',
  inputs: ['dst', 'src'],
  ids: true,
  ints: ['R'],
  source: `
float compute(int row, int col) {
  float s = 0.0;
  for (int r = 0; r < R; r++) if (id_at(r) == row) s += src_at(r, col);
  return dst_at(row, col) + s;
}`,
};

export const oneHotProject: Kernel = {
  name: 'one_hot_project',
  inputs: ['wih', 'bih', 'bhh'],
  ids: true,
  source: `float compute(int row, int col) { return wih_at(col, id_at(row)) + bih_at(0, col) + bhh_at(0, col); }`,
};

/** dwih (G, V) += the dGates rows of the positions that read token `col`. */
export const oneHotGradient: Kernel = {
  name: 'one_hot_gradient',
  inputs: ['dwih', 'dGates'],
  ids: true,
  ints: ['R'],
  source: `
float compute(int row, int col) {
  float s = 0.0;
  for (int r = 0; r < R; r++) if (id_at(r) == col) s += dGates_at(r, row);
  return dwih_at(row, col) + s;
}`,
};

// The cell forward, one output per kernel (each recomputes the few activations it needs).
// gates holds the pre-activations until cellActivate replaces them, which runs last.
export const cellC: Kernel = {
  name: 'cell_c',
  inputs: ['gates', 'cPrev'],
  ints: ['H'],
  source: `${ACTIVATIONS}
float compute(int row, int col) {
  float i = sigm(gates_at(row, col));
  float f = sigm(gates_at(row, H + col));
  float g = tanh_(gates_at(row, 2 * H + col));
  return f * cPrev_at(row, col) + i * g;
}`,
};

export const tanhOf: Kernel = {
  name: 'tanh',
  inputs: ['x'],
  source: `${ACTIVATIONS}
float compute(int row, int col) { return tanh_(x_at(row, col)); }`,
};

export const cellH: Kernel = {
  name: 'cell_h',
  inputs: ['gates', 'tanhC'],
  ints: ['H'],
  source: `${ACTIVATIONS}
float compute(int row, int col) { return sigm(gates_at(row, 3 * H + col)) * tanhC_at(row, col); }`,
};

export const cellActivate: Kernel = {
  name: 'cell_activate',
  inputs: ['gates'],
  ints: ['H'],
  source: `${ACTIVATIONS}
float compute(int row, int col) {
  float x = gates_at(row, col);
  return col >= 2 * H && col < 3 * H ? tanh_(x) : sigm(x);
}`,
};

// The cell backward: dh = dOut + dhNext, dc = dcNext + dh·o·(1 - tanh²c), as kernels.ts.
const CELL_BACKWARD_PRELUDE = `
float dh_of(int row, int j) { return dOut_at(row, j) + dhNext_at(row, j); }
float dc_of(int row, int j) {
  float tc = tanhC_at(row, j);
  return dcNext_at(row, j) + dh_of(row, j) * gates_at(row, 3 * H + j) * (1.0 - tc * tc);
}`;
const CELL_BACKWARD_INPUTS = ['gates', 'tanhC', 'cPrev', 'dOut', 'dhNext', 'dcNext'] as const;

export const cellDh: Kernel = {
  name: 'cell_dh',
  inputs: CELL_BACKWARD_INPUTS,
  ints: ['H'],
  source: `${CELL_BACKWARD_PRELUDE}
float compute(int row, int col) { return dh_of(row, col); }`,
};

export const cellDc: Kernel = {
  name: 'cell_dc',
  inputs: CELL_BACKWARD_INPUTS,
  ints: ['H'],
  source: `${CELL_BACKWARD_PRELUDE}
float compute(int row, int col) { return dc_of(row, col); }`,
};

export const cellDGates: Kernel = {
  name: 'cell_dgates',
  inputs: CELL_BACKWARD_INPUTS,
  ints: ['H'],
  source: `${CELL_BACKWARD_PRELUDE}
float compute(int row, int col) {
  int k = col / H;
  int j = col - k * H;
  float i = gates_at(row, j);
  float f = gates_at(row, H + j);
  float g = gates_at(row, 2 * H + j);
  float o = gates_at(row, 3 * H + j);
  if (k == 3) { float tc = tanhC_at(row, j); return dh_of(row, j) * tc * o * (1.0 - o); }
  float dc = dc_of(row, j);
  if (k == 0) return dc * g * i * (1.0 - i);
  if (k == 1) return dc * cPrev_at(row, j) * f * (1.0 - f);
  return dc * i * (1.0 - g * g);
}`,
};

/** The part of dc that flows to the previous step: dc · f (replaces dcNext). */
export const cellDcCarry: Kernel = {
  name: 'cell_dc_carry',
  inputs: CELL_BACKWARD_INPUTS,
  ints: ['H'],
  source: `${CELL_BACKWARD_PRELUDE}
float compute(int row, int col) { return dc_of(row, col) * gates_at(row, H + col); }`,
};

export const softmax: Kernel = {
  name: 'softmax',
  inputs: ['logits'],
  ints: ['V'],
  source: `
float compute(int row, int col) {
  float m = -3.4e38;
  for (int v = 0; v < V; v++) m = max(m, logits_at(row, v));
  float s = 0.0;
  for (int v = 0; v < V; v++) s += exp(logits_at(row, v) - m);
  return exp(logits_at(row, col) - m) / s;
}`,
};

/** Each row's cross-entropy, log Σ exp(logits) - logit[target] (0 for an ignored row): output (R, 1). */
export const rowLoss: Kernel = {
  name: 'row_loss',
  inputs: ['logits'],
  ids: true,
  ints: ['V'],
  source: `
float compute(int row, int col) {
  int t = id_at(row);
  if (t < 0) return 0.0;
  float m = -3.4e38;
  for (int v = 0; v < V; v++) m = max(m, logits_at(row, v));
  float s = 0.0;
  for (int v = 0; v < V; v++) s += exp(logits_at(row, v) - m);
  return log(s) + m - logits_at(row, t);
}`,
};

export const softmaxBackward: Kernel = {
  name: 'softmax_backward',
  inputs: ['probs'],
  ids: true,
  floats: ['scale'],
  source: `
float compute(int row, int col) {
  int t = id_at(row);
  if (t < 0) return 0.0;
  return probs_at(row, col) * scale - (col == t ? scale : 0.0);
}`,
};

/** Sum of x (or of its squares) along each row: output (rows, 1). */
export function rowSums(squares: boolean): Kernel {
  return {
    name: squares ? 'row_sum_squares' : 'row_sums',
    inputs: ['x'],
    ints: ['N'],
    source: `
float compute(int row, int col) {
  float s = 0.0;
  for (int k = 0; k < N; k++) { float v = x_at(row, k); s += ${squares ? 'v * v' : 'v'}; }
  return s;
}`,
  };
}

export const scale: Kernel = {
  name: 'scale',
  inputs: ['x'],
  floats: ['factor'],
  source: `float compute(int row, int col) { return x_at(row, col) * factor; }`,
};

export const adamM: Kernel = {
  name: 'adam_m',
  inputs: ['m', 'g'],
  floats: ['beta1'],
  source: `float compute(int row, int col) { return beta1 * m_at(row, col) + (1.0 - beta1) * g_at(row, col); }`,
};

export const adamV: Kernel = {
  name: 'adam_v',
  inputs: ['v', 'g'],
  floats: ['beta2'],
  source: `float compute(int row, int col) { float g = g_at(row, col); return beta2 * v_at(row, col) + (1.0 - beta2) * g * g; }`,
};

/** The parameter update from the new moments. */
export const adamP: Kernel = {
  name: 'adam_p',
  inputs: ['p', 'm', 'v'],
  floats: ['stepSize', 'sqrtBc2', 'eps'],
  source: `float compute(int row, int col) { return p_at(row, col) - stepSize * m_at(row, col) / (sqrt(v_at(row, col)) / sqrtBc2 + eps); }`,
};

export const sgd: Kernel = {
  name: 'sgd',
  inputs: ['p', 'g'],
  floats: ['lr'],
  source: `float compute(int row, int col) { return p_at(row, col) - lr * g_at(row, col); }`,
};

/** rowLoss laid out as one row: element (0, r) is row r's loss. */
export const rowLossAsColumns: Kernel = { ...rowLoss, name: 'row_loss_columns', source: rowLoss.source.replace('float compute(int row, int col) {', 'float compute(int row_, int row) {') };

/** The sum of a column view's R values: output 1 × 1. */
export const columnTotal: Kernel = {
  name: 'column_total',
  inputs: ['x'],
  ints: ['R'],
  source: `
float compute(int row, int col) {
  float s = 0.0;
  for (int r = 0; r < R; r++) s += x_at(r, 0);
  return s;
}`,
};
