// docs/grad-case.md: one forward and backward pass in the open. A case gives the config,
// tokens, targets, every weight and an optional initial state; the answer is the loss, logits,
// outputs, final states, every gradient and the trace, nested in PyTorch's shapes.

import { directions, InputError, validateConfig, type DType, type FloatArray, type ModelConfig } from './config';
import type { Backend } from './backend';
import { IGNORE_TARGET } from './kernels';
import { formatBytes, trainingMemory, TRAINING_MEMORY_LIMIT_BYTES } from './memory';
import { LSTMModel, parameterSpecs } from './model';

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

export interface GradCase {
  config: ModelConfig;
  B: number;
  T: number;
  tokens: Int32Array; // (B, T)
  targets: Int32Array; // (B, T) or (B)
  weights: Map<string, number[]>; // flattened, checked against the parameter shapes
  h0: number[] | null; // (L*D, B, H) flattened
  c0: number[] | null;
}

export type Nested = number | Nested[];

/** Flattens a nested array, checking that it has exactly `shape`. */
export function flattenNested(value: unknown, shape: readonly number[], what: string): number[] {
  const out: number[] = [];
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      // The engine computes in float32: a number beyond its range would be infinite there.
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${what}${path} must be a finite number, got ${JSON.stringify(v)}`);
      if (Math.abs(v) > FLOAT32_MAX) throw new InputError(`${what}${path} is ${v}, beyond float32's range (±3.4e38), where the engine computes`);
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new InputError(`${what}${path} must be an array of ${shape[depth]} (expected shape [${shape.join(', ')}])`);
    }
    for (let k = 0; k < v.length; k++) walk(v[k], depth + 1, `${path}[${k}]`);
  };
  walk(value, 0, '');
  return out;
}

/** Nests flat data into `shape` as plain arrays of numbers (for JSON). */
export function nest(data: ArrayLike<number>, shape: readonly number[], offset = 0): Nested[] {
  const [n, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  const out: Nested[] = [];
  for (let k = 0; k < n; k++) {
    out.push(rest.length === 0 ? data[offset + k] : nest(data, rest, offset + k * stride));
  }
  return out;
}

/**
 * A (B, T) or (B) array of token ids: each an exact integer in [0, V) (a target may also be
 * IGNORE_TARGET, PyTorch's ignore_index, which no loss counts). Nothing is wrapped or rounded.
 */
function idMatrix(value: unknown, shape: readonly number[], what: string, V: number, ignorable: boolean): Int32Array {
  const flat = flattenNested(value, shape, what);
  for (const [k, v] of flat.entries()) {
    if (!Number.isInteger(v)) throw new InputError(`${what} must hold whole-number token ids; element ${k} is ${v}`);
    if (!((v >= 0 && v < V) || (ignorable && v === IGNORE_TARGET))) {
      throw new InputError(`${what} element ${k} is ${v}, outside the vocabulary of ${V} (ids 0 to ${V - 1}${ignorable ? `, or ${IGNORE_TARGET} to ignore a target` : ''})`);
    }
  }
  return Int32Array.from(flat);
}

/** What a case's forward and backward pass allocates, refused (one line) past the training limit, before anything is built. */
function checkCaseMemory(config: ModelConfig, B: number, T: number): void {
  const m = trainingMemory(config, B, T, 'sgd');
  // A case runs one pass: no optimizer, no carried state; its answer copies the trace and the gradients once more.
  const bytes = m.total - m.carry + m.parameters + m.activations;
  if (bytes > TRAINING_MEMORY_LIMIT_BYTES) {
    throw new InputError(
      `this case would need about ${formatBytes(bytes)} of memory (hidden ${config.hidden_size}, ${config.num_layers} layer(s), vocabulary ${config.vocab_size}, batch ${B} × ${T} steps), ` +
        `more than the ${formatBytes(TRAINING_MEMORY_LIMIT_BYTES)} a case may take`,
    );
  }
}

/** Checks a parsed case file and returns it in flat form. */
export function parseGradCase(json: unknown): GradCase {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError('a grad case must be a JSON object');
  const c = json as Record<string, unknown>;
  const config = validateConfig(c.config);
  const tokens = c.tokens;
  if (!Array.isArray(tokens) || tokens.length === 0 || !Array.isArray(tokens[0]) || tokens[0].length === 0) {
    throw new InputError('tokens must be a non-empty (B, T) array of token ids');
  }
  const B = tokens.length;
  const T = (tokens[0] as unknown[]).length;
  // Sizes first: a few bytes of JSON may ask for a model of any size, and nothing is built for it yet.
  checkCaseMemory(config, B, T);
  const tokenIds = idMatrix(tokens, [B, T], 'tokens', config.vocab_size, false);
  const targetShape = config.mode === 'many_to_many' ? [B, T] : [B];
  const targets = idMatrix(c.targets, targetShape, 'targets', config.vocab_size, true);

  const specs = parameterSpecs(config);
  const weightsIn = c.weights;
  if (typeof weightsIn !== 'object' || weightsIn === null || Array.isArray(weightsIn)) throw new InputError('weights must be an object of parameter name to nested array');
  const known = new Set(specs.map((s) => s.name));
  for (const name of Object.keys(weightsIn)) {
    if (!known.has(name)) throw new InputError(`weights has ${JSON.stringify(name).slice(0, 80)}, which this config does not have`);
  }
  // Every weight's shape and finiteness, checked as it is read (flattenNested), before the model is built.
  const weights = new Map<string, number[]>();
  for (const spec of specs) {
    const w = (weightsIn as Record<string, unknown>)[spec.name];
    if (w === undefined) throw new InputError(`weights lack ${spec.name} (shape [${spec.shape.join(', ')}])`);
    weights.set(spec.name, flattenNested(w, spec.shape, `weights["${spec.name}"]`));
  }
  const stateShape = [config.num_layers * directions(config), B, config.hidden_size];
  const state = (name: 'h0' | 'c0'): number[] | null =>
    c[name] === null || c[name] === undefined ? null : flattenNested(c[name], stateShape, name);
  return { config, B, T, tokens: tokenIds, targets, weights, h0: state('h0'), c0: state('c0') };
}

/** Runs a case: forward with the trace recorded, backward, and the answer of section 2 (on the CPU, or on `backend`). */
export function runGradCase<Tensor = FloatArray, Ids = Int32Array>(gradCase: GradCase, dtype: DType = 'float32', backend?: Backend<Tensor, Ids>): Record<string, unknown> {
  const { config, B, T } = gradCase;
  const model = new LSTMModel<Tensor, Ids>(config, dtype, backend);
  const k = model.backend;
  for (const spec of model.specs) model.setParameter(spec.name, gradCase.weights.get(spec.name) as number[]);
  const stateSize = config.num_layers * model.D * B * config.hidden_size;
  const state = (s: number[] | null): Tensor | null => {
    if (!s) return null;
    const t = k.alloc(stateSize / config.hidden_size, config.hidden_size);
    k.write(t, s);
    return t;
  };
  model.zeroGrad();
  const loss = model.forward(gradCase.tokens, B, T, gradCase.targets, {
    h0: state(gradCase.h0),
    c0: state(gradCase.c0),
    recordTrace: true,
  });
  model.backward();

  const { vocab_size: V, hidden_size: H, num_layers: L } = config;
  const D = model.D;
  const hN = k.alloc(L * D * B, H);
  const cN = k.alloc(L * D * B, H);
  model.finalState(hN, cN);
  const grads: Record<string, Nested[]> = {};
  for (const spec of model.specs) grads[spec.name] = nest(model.gradient(spec.name), spec.shape);
  const shape3 = [B, T, H];
  return {
    loss,
    logits: nest(model.logits(), config.mode === 'many_to_many' ? [B, T, V] : [B, V]),
    output: nest(model.output(), [B, T, D * H]),
    h_n: nest(k.read(hN), [L * D, B, H]),
    c_n: nest(k.read(cN), [L * D, B, H]),
    grads,
    trace: model.trace().map((e) => ({
      layer: e.layer,
      direction: e.direction,
      i: nest(e.i, shape3),
      f: nest(e.f, shape3),
      g: nest(e.g, shape3),
      o: nest(e.o, shape3),
      c: nest(e.c, shape3),
      h: nest(e.h, shape3),
      dh: nest(e.dh as FloatArray, shape3),
      dc: nest(e.dc as FloatArray, shape3),
    })),
  };
}
