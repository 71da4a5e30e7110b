// Optimizers, gradient clipping and the learning-rate schedule, each exactly as PyTorch defines it
// (torch.optim.SGD, torch.optim.Adam, torch.nn.utils.clip_grad_norm_, CosineAnnealingLR), so a
// run can be compared with PyTorch step by step. Parameters, gradients and the moments share one
// flat layout, so every update is a single loop.

import type { Backend } from './backend';
import { arrayConstructor, InputError, type DType, type FloatArray } from './config';

export type OptimizerSettings =
  | { kind: 'sgd'; lr: number }
  | { kind: 'adam'; lr: number; beta1: number; beta2: number; eps: number };

export type ScheduleSettings = { kind: 'constant' } | { kind: 'cosine'; total_steps: number; min_lr_ratio: number };

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/**
 * The learning rate of step `step` (0-based). Cosine: PyTorch's CosineAnnealingLR with
 * T_max = total_steps and eta_min = lr * min_lr_ratio, stepped once after every update.
 */
export function learningRate(lr: number, schedule: ScheduleSettings, step: number): number {
  if (schedule.kind === 'constant') return lr;
  const etaMin = lr * schedule.min_lr_ratio;
  const k = Math.min(step, schedule.total_steps);
  return etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * k) / schedule.total_steps))) / 2;
}

/** The L2 norm of all gradients together. */
export function globalNorm(grads: FloatArray): number {
  let s = 0;
  for (let k = 0; k < grads.length; k++) s += grads[k] * grads[k];
  return Math.sqrt(s);
}

/**
 * Scales the gradients so that their global norm is at most maxNorm (clip_grad_norm_: the factor
 * maxNorm / (norm + 1e-6), applied only when it is below 1). Returns the norm before clipping.
 */
export function clipGradients(grads: FloatArray, maxNorm: number): { norm: number; clipped: boolean } {
  const norm = globalNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (let k = 0; k < grads.length; k++) grads[k] *= coef;
    return { norm, clipped: true };
  }
  return { norm, clipped: false };
}

export class Optimizer {
  /** Updates taken so far. */
  step = 0;
  /** Adam's first and second moments (exp_avg, exp_avg_sq), laid out as the parameters. */
  readonly m: FloatArray | null;
  readonly v: FloatArray | null;

  constructor(readonly settings: OptimizerSettings, readonly size: number, dtype: DType = 'float32') {
    validateOptimizer(settings);
    const F = arrayConstructor(dtype);
    this.m = settings.kind === 'adam' ? new F(size) : null;
    this.v = settings.kind === 'adam' ? new F(size) : null;
  }

  /**
   * One update of params from grads at learning rate lr. If any new value (weight or moment)
   * would not be finite in the parameters' precision, nothing is changed and false is returned:
   * a diverging run keeps its last good weights.
   */
  update(params: FloatArray, grads: FloatArray, lr: number): boolean {
    const largest = params instanceof Float32Array ? FLOAT32_MAX : Number.MAX_VALUE;
    const s = this.settings;
    if (s.kind === 'sgd') {
      for (let k = 0; k < params.length; k++) {
        if (!(Math.abs(params[k] - lr * grads[k]) <= largest)) return false;
      }
      for (let k = 0; k < params.length; k++) params[k] -= lr * grads[k];
      this.step += 1;
      return true;
    }
    const m = this.m as FloatArray;
    const v = this.v as FloatArray;
    const { beta1, beta2, eps } = s;
    const t = this.step + 1;
    const stepSize = lr / (1 - Math.pow(beta1, t));
    const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, t));
    // Two passes: check that everything stays finite, then write.
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < params.length; k++) {
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
    this.step = t;
    return true;
  }

  /** The optimizer's state tensors by slot name (checkpoint names: optimizer.<slot>.<parameter>). */
  slots(): Array<[string, FloatArray]> {
    return this.m && this.v ? [['m', this.m], ['v', this.v]] : [];
  }
}

export function validateOptimizer(s: OptimizerSettings): void {
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new InputError(`learning rate must be a positive number, got ${s.lr}`);
  if (s.kind === 'adam') {
    if (!(s.beta1 >= 0 && s.beta1 < 1)) throw new InputError(`Adam beta1 must be in [0, 1), got ${s.beta1}`);
    if (!(s.beta2 >= 0 && s.beta2 < 1)) throw new InputError(`Adam beta2 must be in [0, 1), got ${s.beta2}`);
    if (!(s.eps > 0)) throw new InputError(`Adam eps must be positive, got ${s.eps}`);
  }
}

/**
 * The same optimizer and clipping on any backend, its moments kept there (a GPU's own memory):
 * the update runs as the backend's primitive, and only the gradient norm comes back. Unlike
 * Optimizer.update it cannot refuse a non-finite update before writing; the caller checks the
 * loss and the norm first, and with clipping on an Adam step is bounded by lr per weight.
 */
export class BackendOptimizer<Tensor, Ids> {
  step = 0;
  readonly m: Tensor | null;
  readonly v: Tensor | null;

  constructor(readonly settings: OptimizerSettings, private readonly backend: Backend<Tensor, Ids>, shapes: ReadonlyArray<readonly [number, number]>) {
    validateOptimizer(settings);
    this.m = settings.kind === 'adam' ? backend.allocGroup(shapes).whole : null;
    this.v = settings.kind === 'adam' ? backend.allocGroup(shapes).whole : null;
  }

  /** clip_grad_norm_ on the backend; returns the norm before clipping. */
  clip(grads: Tensor, maxNorm: number | null): { norm: number; clipped: boolean } {
    const norm = Math.sqrt(this.backend.sumOfSquares(grads));
    if (maxNorm === null) return { norm, clipped: false };
    const coef = maxNorm / (norm + 1e-6);
    if (coef < 1) {
      this.backend.scale(grads, coef);
      return { norm, clipped: true };
    }
    return { norm, clipped: false };
  }

  update(params: Tensor, grads: Tensor, lr: number): void {
    const s = this.settings;
    if (s.kind === 'sgd') this.backend.sgdUpdate(params, grads, lr);
    else this.backend.adamUpdate(params, grads, this.m as Tensor, this.v as Tensor, lr, s.beta1, s.beta2, s.eps, this.step + 1);
    this.step += 1;
  }
}
