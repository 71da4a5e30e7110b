// The WebGL2 backend's kernels: one small program each, in the manner of tfjs's backend-webgl
// ({variableNames, outputShape, userCode}). A kernel names its input tensors and its scalar
// uniforms and defines `float compute(int row, int col)`: the value of element (row, col) of the
// output view. For every input X the prelude declares `float X_at(int r, int c)`, element (r, c)
// of X's view; `id_at(int r)` reads the token ids where a kernel takes them (`ids: true`).
// The output view's shape is given when the kernel runs (webgl.ts draws exactly its rows).
// `X_at4(int r, int c)` reads all four channels, for the RGBA textures of the fused recurrence.
// A kernel with `outputs` writes several textures of one size at once (multiple render targets):
// it defines `void compute(int row, int col)` and assigns a vec4 to each output by name.

export interface Kernel {
  name: string;
  inputs: readonly string[];
  ints?: readonly string[];
  floats?: readonly string[];
  ids?: boolean;
  outputs?: readonly string[];
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

/** One Adam update in one draw (torch.optim.Adam): the new moments, then the parameter from them. */
export const adam: Kernel = {
  name: 'adam',
  inputs: ['p', 'g', 'm', 'v'],
  floats: ['beta1', 'beta2', 'stepSize', 'sqrtBc2', 'eps'],
  outputs: ['pOut', 'mOut', 'vOut'],
  source: `
void compute(int row, int col) {
  float g = g_at(row, col);
  float m = beta1 * m_at(row, col) + (1.0 - beta1) * g;
  float v = beta2 * v_at(row, col) + (1.0 - beta2) * g * g;
  pOut = vec4(p_at(row, col) - stepSize * m / (sqrt(v) / sqrtBc2 + eps));
  mOut = vec4(m);
  vOut = vec4(v);
}`,
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

// ---- The fused recurrence (webgl.ts recurrenceForward and recurrenceBackward) ----
//
// One draw per time step each way. A step's fragment (b, j) computes everything of unit j of
// sequence b: its four gate pre-activations (the input projection plus h_{t-1} · W_hhᵀ), the
// cell, and on the way back its four gate gradients and dL/dh_{t-1} (dGates_{t+1} · W_hh). The
// four gates of a unit travel together in one RGBA texel, in textures (B·T, H) private to the
// backend; the states alternate between two of them by the step's parity (a draw may not read
// the texture it writes). After the last step, a few draws unpack them into the model's tensors.

/** W_hh (4H, H) packed by gate: texel (r, c) = (W[r, c], W[H + r, c], W[2H + r, c], W[3H + r, c]). */
export const packByGate: Kernel = {
  name: 'pack_by_gate',
  inputs: ['w'],
  ints: ['H'],
  outputs: ['packed'],
  source: `
void compute(int row, int col) {
  packed = vec4(w_at(row, col), w_at(H + row, col), w_at(2 * H + row, col), w_at(3 * H + row, col));
}`,
};

/**
 * Forward step t, rows b: gates (B·T, H, RGBA) = the activations (i, f, g, o); state = (h, c,
 * tanh c, 0). The previous state is prev's (h, c) (first == 0), or h0 and c0 (initH, initC == 1), or zeros.
 */
export const recurrentStepForward: Kernel = {
  name: 'recurrent_step_forward',
  inputs: ['pre', 'wp', 'prev', 'h0', 'c0'],
  ints: ['H', 'first', 'initH', 'initC'],
  outputs: ['gatesOut', 'stateOut'],
  source: `${ACTIVATIONS}
void compute(int row, int col) {
  vec4 s = vec4(0.0);
  float cp = 0.0;
  if (first == 0) {
    for (int k = 0; k < H; k++) s += prev_at4(row, k).x * wp_at4(col, k);
    cp = prev_at4(row, col).y;
  } else {
    if (initH == 1) for (int k = 0; k < H; k++) s += h0_at(row, k) * wp_at4(col, k);
    if (initC == 1) cp = c0_at(row, col);
  }
  vec4 z = vec4(pre_at(row, col), pre_at(row, H + col), pre_at(row, 2 * H + col), pre_at(row, 3 * H + col)) + s;
  vec4 a = vec4(sigm(z.x), sigm(z.y), tanh_(z.z), sigm(z.w));
  float c = a.y * cp + a.x * a.z;
  float tc = tanh_(c);
  gatesOut = a;
  stateOut = vec4(a.w * tc, c, tc, 0.0);
}`,
};

/** The step s of the recurrence that wrote (B·T, H) row \`row\`, and so its texture (s % 2). */
const STEP_OF_ROW = `
int stepOf(int row) { int t = row - (row / T) * T; return reverse == 1 ? T - 1 - t : t; }`;

/** The model's gates (B·T, 4H) from the packed activations (B·T, H, RGBA). */
export const unpackGates: Kernel = {
  name: 'unpack_gates',
  inputs: ['packed'],
  ints: ['H'],
  source: `
float compute(int row, int col) {
  int k = col / H;
  return packed_at4(row, col - k * H)[k];
}`,
};

/** h, c and tanh c of every step, from the two state textures. */
export const unpackStates: Kernel = {
  name: 'unpack_states',
  inputs: ['s0', 's1'],
  ints: ['T', 'reverse'],
  outputs: ['h', 'c', 'tanhC'],
  source: `${STEP_OF_ROW}
void compute(int row, int col) {
  vec4 v = stepOf(row) % 2 == 0 ? s0_at4(row, col) : s1_at4(row, col);
  h = vec4(v.x);
  c = vec4(v.y);
  tanhC = vec4(v.z);
}`,
};

/** The state each step started from: the step before's h and c, or h0 and c0 (initH, initC == 1), or zeros. */
export const unpackPrevious: Kernel = {
  name: 'unpack_previous',
  inputs: ['s0', 's1', 'h0', 'c0'],
  ints: ['T', 'reverse', 'initH', 'initC'],
  outputs: ['hPrev', 'cPrev'],
  source: `${STEP_OF_ROW}
void compute(int row, int col) {
  int s = stepOf(row);
  vec2 v = vec2(0.0);
  if (s > 0) {
    int before = row + (reverse == 1 ? 1 : -1);
    v = (s - 1) % 2 == 0 ? s0_at4(before, col).xy : s1_at4(before, col).xy;
  } else {
    if (initH == 1) v.x = h0_at(row / T, col);
    if (initC == 1) v.y = c0_at(row / T, col);
  }
  hPrev = vec4(v.x);
  cPrev = vec4(v.y);
}`,
};

/**
 * Backward step t, rows b: dGates (B·T, H, RGBA) = the four gate gradients of unit j; carry =
 * (dc · f, dh, dc, 0). What arrives from step t+1 is dhNext and dcNext (first == 1), or the step
 * before's gate gradients through W_hh and its carried dc.
 */
export const recurrentStepBackward: Kernel = {
  name: 'recurrent_step_backward',
  inputs: ['gates', 'tanhC', 'cPrev', 'dOut', 'wp', 'dgPrev', 'carryPrev', 'dhNext', 'dcNext'],
  ints: ['H', 'first'],
  outputs: ['dGatesOut', 'carryOut'],
  source: `
void compute(int row, int col) {
  float dhN;
  float dcN;
  if (first == 1) {
    dhN = dhNext_at(row, col);
    dcN = dcNext_at(row, col);
  } else {
    vec4 s = vec4(0.0);
    for (int m = 0; m < H; m++) s += dgPrev_at4(row, m) * wp_at4(m, col);
    dhN = s.x + s.y + s.z + s.w;
    dcN = carryPrev_at4(row, col).x;
  }
  vec4 a = vec4(gates_at(row, col), gates_at(row, H + col), gates_at(row, 2 * H + col), gates_at(row, 3 * H + col));
  float tc = tanhC_at(row, col);
  float dh = dOut_at(row, col) + dhN;
  float dc = dcN + dh * a.w * (1.0 - tc * tc);
  dGatesOut = vec4(dc * a.z * a.x * (1.0 - a.x), dc * cPrev_at(row, col) * a.y * (1.0 - a.y), dc * a.x * (1.0 - a.z * a.z), dh * tc * a.w * (1.0 - a.w));
  carryOut = vec4(dc * a.y, dh, dc, 0.0);
}`,
};

/** The model's dGates (B·T, 4H) from the two packed gradient textures. */
export const unpackGateGradients: Kernel = {
  name: 'unpack_gate_gradients',
  inputs: ['q0', 'q1'],
  ints: ['H', 'T', 'reverse'],
  source: `${STEP_OF_ROW}
float compute(int row, int col) {
  int k = col / H;
  int j = col - k * H;
  // Backward visits t = T-1 … 0 (reverse: 0 … T-1): its step s wrote row t into texture s % 2.
  int s = T - 1 - stepOf(row);
  return s % 2 == 0 ? q0_at4(row, j)[k] : q1_at4(row, j)[k];
}`,
};

/** The trace's dL/dh_t and dL/dc_t from the two carry textures. */
export const unpackTrace: Kernel = {
  name: 'unpack_trace',
  inputs: ['r0', 'r1'],
  ints: ['T', 'reverse'],
  outputs: ['dh', 'dc'],
  source: `${STEP_OF_ROW}
void compute(int row, int col) {
  int s = T - 1 - stepOf(row);
  vec4 v = s % 2 == 0 ? r0_at4(row, col) : r1_at4(row, col);
  dh = vec4(v.y);
  dc = vec4(v.z);
}`,
};

/** One channel of an RGBA view. */
export const channel: Kernel = {
  name: 'channel',
  inputs: ['src'],
  ints: ['k'],
  source: `float compute(int row, int col) { return src_at4(row, col)[k]; }`,
};

/** dL/dh_{-1} = dGates_first · W_hh: the packed gradients (RGBA) through the packed weights. */
export const packedTimesWeights: Kernel = {
  name: 'packed_times_weights',
  inputs: ['dg', 'wp'],
  ints: ['H'],
  source: `
float compute(int row, int col) {
  vec4 s = vec4(0.0);
  for (int m = 0; m < H; m++) s += dg_at4(row, m) * wp_at4(m, col);
  return s.x + s.y + s.z + s.w;
}`,
};
