// Optimizers, gradient clipping and the learning-rate schedule, each exactly as PyTorch defines it
// (torch.optim.SGD, torch.optim.Adam, torch.nn.utils.clip_grad_norm_, CosineAnnealingLR), so a
// run can be compared with PyTorch step by step. Parameters, gradients and the moments share one
// flat layout, so every update is one primitive of the backend (backend-cpu.ts, webgl.ts).

import type { Backend } from './backend';
import { InputError } from './config';

export type OptimizerSettings =
  | { kind: 'sgd'; lr: number }
  | { kind: 'adam'; lr: number; beta1: number; beta2: number; eps: number };

export type ScheduleSettings = { kind: 'constant' } | { kind: 'cosine'; total_steps: number; min_lr_ratio: number };

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

export function validateOptimizer(s: OptimizerSettings): void {
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new InputError(`learning rate must be a positive number, got ${s.lr}`);
  if (s.kind === 'adam') {
    if (!(s.beta1 >= 0 && s.beta1 < 1)) throw new InputError(`Adam beta1 must be in [0, 1), got ${s.beta1}`);
    if (!(s.beta2 >= 0 && s.beta2 < 1)) throw new InputError(`Adam beta2 must be in [0, 1), got ${s.beta2}`);
    if (!(s.eps > 0)) throw new InputError(`Adam eps must be positive, got ${s.eps}`);
  }
}

/**
 * SGD or Adam and clipping, on any backend, the moments kept there (the GPU's own memory; on the
 * CPU ordinary arrays beside its arena): clipping is the backend's sum of squares and scale, the
 * update the backend's primitive, and only the gradient norm comes back. The backend says whether
 * it wrote the update: the CPU refuses one that would overflow (nothing changed), so a diverging
 * run keeps its last good weights; the GPU cannot tell before writing (the caller checks the loss
 * and the norm first, and with clipping on an Adam step is bounded by lr per weight).
 */
export class Optimizer<Tensor, Ids> {
  /** Updates taken so far. */
  step = 0;
  /** Adam's first and second moments (exp_avg, exp_avg_sq), laid out as the parameters. */
  readonly m: Tensor | null;
  readonly v: Tensor | null;

  constructor(readonly settings: OptimizerSettings, private readonly backend: Backend<Tensor, Ids>, shapes: ReadonlyArray<readonly [number, number]>) {
    validateOptimizer(settings);
    this.m = settings.kind === 'adam' ? backend.allocGroup(shapes, { aside: true }).whole : null;
    this.v = settings.kind === 'adam' ? backend.allocGroup(shapes, { aside: true }).whole : null;
  }

  /** clip_grad_norm_ (maxNorm / (norm + 1e-6), applied only when below 1; null: no clipping); returns the norm before clipping. */
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

  /** One update of params from grads at learning rate lr; false, with nothing changed, when the backend refuses it (it would overflow). */
  update(params: Tensor, grads: Tensor, lr: number): boolean {
    const s = this.settings;
    const wrote =
      s.kind === 'sgd' ? this.backend.sgdUpdate(params, grads, lr)
      : this.backend.adamUpdate(params, grads, this.m as Tensor, this.v as Tensor, lr, s.beta1, s.beta2, s.eps, this.step + 1);
    if (wrote) this.step += 1;
    return wrote;
  }

  /** The optimizer's state tensors by slot name (checkpoint names: optimizer.<slot>.<parameter>). */
  moments(): Array<[string, Tensor]> {
    return this.m !== null && this.v !== null ? [['m', this.m], ['v', this.v]] : [];
  }
}
