// The GPU backend's laboratory (src/engine/webgl/): a browser bundle (dist/gpu-lab.js, not shipped in the extension)
// that the headless-Chromium tests (test/webview/gpu.test.ts) and `npm run bench:webgl` load into
// a blank page. It runs the same engine code on the CPU backend and on the WebGL2 backend.

import type { Backend } from '../../../src/engine/backend';
import { StreamBatcher } from '../../../src/engine/batching';
import type { ModelConfig } from '../../../src/engine/config';
import { parseGradCase, runGradCase } from '../../../src/engine/grad-case';
import { LSTMModel, tensorShape } from '../../../src/engine/model';
import { ADAM_DEFAULTS, Optimizer } from '../../../src/engine/optimizer';
import { Random } from '../../../src/engine/random';
import { rendererOf, WebGLBackend, webglUnavailableReason, type GLIds, type GLTensor } from '../../../src/engine/webgl/webgl';

type Which = 'cpu' | 'webgl';

let gpu: WebGLBackend | null = null;

function webgl(): WebGLBackend {
  if (gpu) return gpu;
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  const reason = webglUnavailableReason(gl);
  if (reason) throw new Error(reason);
  gpu = new WebGLBackend(gl as WebGL2RenderingContext);
  return gpu;
}

function backend(which: Which): Backend<GLTensor, GLIds> | undefined {
  return which === 'webgl' ? webgl() : undefined;
}

/** What the page offers: WebGL2 with float render targets, and who renders. */
function probe(): { available: boolean; reason: string | null; renderer: string } {
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  const reason = webglUnavailableReason(gl);
  const renderer = gl ? rendererOf(gl) : 'none';
  return { available: reason === null, reason, renderer };
}

/** docs/grad-case.md on the chosen backend. */
function gradCase(json: unknown, which: Which): Record<string, unknown> {
  return runGradCase(parseGradCase(json), 'float32', backend(which));
}

export interface RunOptions {
  config: ModelConfig;
  /** Token ids of the text; the batches are StreamBatcher's, as Trainer makes them. */
  ids: number[];
  B: number;
  T: number;
  steps: number;
  lr: number;
  clip: number | null;
  seed: number;
}

export interface RunResult {
  losses: number[];
  gradNorms: number[];
  /** Milliseconds per step, after the first (which compiles the kernels). */
  stepMs: number[];
  params: number[];
  draws: number;
}

/** Trainer.trainStep's loop (Adam, clipping, carried state) on either backend. */
function train(options: RunOptions, which: Which): RunResult {
  const { config, B, T } = options;
  const model = new LSTMModel<GLTensor, GLIds>(config, 'float32', backend(which));
  const k = model.backend;
  const rng = new Random(options.seed);
  model.initialize({ kind: 'pytorch' }, rng);
  const optimizer = new Optimizer({ kind: 'adam', lr: options.lr, ...ADAM_DEFAULTS }, k, model.specs.map(tensorShape));
  const batcher = new StreamBatcher(Int32Array.from(options.ids), B, T);
  const rows = config.num_layers * model.D * B;
  const carryH = k.alloc(rows, config.hidden_size);
  const carryC = k.alloc(rows, config.hidden_size);
  const result: RunResult = { losses: [], gradNorms: [], stepMs: [], params: [], draws: 0 };
  const drawsBefore = gpu?.draws ?? 0;
  for (let s = 0; s < options.steps; s++) {
    const start = performance.now();
    const batch = batcher.next();
    model.zeroGrad();
    const carry = !batch.resetState;
    const loss = model.forward(batch.inputs, batch.B, batch.T, batch.targets, { h0: carry ? carryH : null, c0: carry ? carryC : null });
    model.backward();
    const { norm } = optimizer.clip(model.grads, options.clip);
    optimizer.update(model.params, model.grads, options.lr);
    model.finalState(carryH, carryC);
    result.losses.push(loss);
    result.gradNorms.push(norm);
    if (s > 0) result.stepMs.push(performance.now() - start);
  }
  result.params = Array.from(k.read(model.params));
  result.draws = (gpu?.draws ?? 0) - drawsBefore;
  return result;
}

/** One full optimizer step from the case's weights (forward, backward, clipping, Adam): the gradients it used, the new weights and moments. */
function optimizerStep(json: unknown, which: Which, lr: number, clip: number): Record<'grads' | 'params' | 'm' | 'v', number[]> {
  const c = parseGradCase(json);
  const model = new LSTMModel<GLTensor, GLIds>(c.config, 'float32', backend(which));
  const k = model.backend;
  for (const spec of model.specs) model.setParameter(spec.name, c.weights.get(spec.name) as number[]);
  const optimizer = new Optimizer({ kind: 'adam', lr, ...ADAM_DEFAULTS }, k, model.specs.map(tensorShape));
  model.zeroGrad();
  model.forward(c.tokens, c.B, c.T, c.targets);
  model.backward();
  optimizer.clip(model.grads, clip);
  const grads = Array.from(k.read(model.grads));
  optimizer.update(model.params, model.grads, lr);
  return { grads, params: Array.from(k.read(model.params)), m: Array.from(k.read(optimizer.m as GLTensor)), v: Array.from(k.read(optimizer.v as GLTensor)) };
}

export interface BoundaryOptions {
  config: ModelConfig;
  B: number;
  T: number;
  seed: number;
}

/**
 * One forward and backward of a piece read in the middle of a text (inspect.ts's pieces): initial
 * states h0 and c0 in, the gradients dhN and dcN arriving at the final states, a loss scale, the
 * trace recorded; out: the gradients, the trace, the final states and dL/dh0, dL/dc0. Every input
 * comes from the seed, so both backends see the same numbers.
 */
function boundary(options: BoundaryOptions, which: Which): Record<string, number[]> {
  const { config, B, T } = options;
  const model = new LSTMModel<GLTensor, GLIds>(config, 'float32', backend(which));
  const k = model.backend;
  const rng = new Random(options.seed);
  model.initialize({ kind: 'pytorch' }, rng);
  const rows = config.num_layers * model.D * B;
  const H = config.hidden_size;
  const state = (): GLTensor => {
    const t = k.alloc(rows, H);
    k.write(t, Float32Array.from({ length: rows * H }, () => rng.uniform(-1, 1)));
    return t;
  };
  const [h0, c0, dhN, dcN] = [state(), state(), state(), state()];
  const [dh0, dc0, hN, cN] = [k.alloc(rows, H), k.alloc(rows, H), k.alloc(rows, H), k.alloc(rows, H)];
  const V = config.vocab_size;
  const inputs = Int32Array.from({ length: B * T }, () => Math.floor(rng.uniform(0, V)));
  const targets = Int32Array.from({ length: config.mode === 'many_to_many' ? B * T : B }, () => Math.floor(rng.uniform(0, V)));
  model.zeroGrad();
  const loss = model.forward(inputs, B, T, targets, { h0, c0, recordTrace: true });
  model.backward({ lossScale: 0.5, dhN, dcN, dh0, dc0 });
  model.finalState(hN, cN);
  const out: Record<string, number[]> = { loss: [loss], grads: Array.from(k.read(model.grads)) };
  for (const [name, t] of [['dh0', dh0], ['dc0', dc0], ['hN', hN], ['cN', cN]] as const) out[name] = Array.from(k.read(t));
  for (const e of model.trace()) {
    for (const key of ['i', 'f', 'g', 'o', 'c', 'h', 'dh', 'dc'] as const) out[`${e.layer}.${e.direction}.${key}`] = Array.from(e[key] ?? []);
  }
  for (const t of [h0, c0, dhN, dcN, dh0, dc0, hN, cN]) k.release(t);
  return out;
}

(globalThis as unknown as { lstmGpuLab: unknown }).lstmGpuLab = { probe, gradCase, train, optimizerStep, boundary };
