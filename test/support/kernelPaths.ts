// The kernel paths every fixture test runs on: the FMA build of the WebAssembly kernels (where the
// runtime has relaxed SIMD; Node 20 gets it from src/node/wasmFeatures.ts, as the CLI does), the
// plain-SIMD fallback, the plain TypeScript loops, and the FMA build with every multiply split
// across a helper thread. LSTM_LENS_KERNELS=fma|simd|js|threads runs one of them only.
//
//   for (const path of kernelPaths()) describe(path.name, () => { before(path.enter); after(path.leave); ... });

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { useFastKernels } from '../../src/engine/kernels';
import { fastKernelsAvailable, preferFmaKernels, relaxedSimdAvailable, setMatmulPool, setMatmulSplitThreshold } from '../../src/engine/wasm/simd';
import { startMatmulPool, stopMatmulPool, waitForMatmulPool } from '../../src/node/matmulPool';
import { enableRelaxedSimd } from '../../src/node/wasmFeatures';

enableRelaxedSimd(); // before anything compiles the kernels

/** The helper thread's entry when the sources run under tsx. */
export const MATMUL_HELPER = join(__dirname, '..', 'unit', 'node', 'matmul-helper.cjs');

export interface KernelPathCase {
  /** fma, simd, js or threads (LSTM_LENS_KERNELS's names). */
  key: string;
  name: string;
  enter(): void;
  leave(): void;
}

function build(fma: boolean, fast: boolean): Pick<KernelPathCase, 'enter' | 'leave'> {
  let fmaBefore = true, fastBefore = true;
  return {
    enter() {
      fmaBefore = preferFmaKernels(fma);
      fastBefore = useFastKernels(fast);
    },
    leave() {
      preferFmaKernels(fmaBefore);
      useFastKernels(fastBefore);
    },
  };
}

/** The paths this runtime has (LSTM_LENS_KERNELS picks one). */
export function kernelPaths(): KernelPathCase[] {
  const paths: KernelPathCase[] = [];
  if (relaxedSimdAvailable()) paths.push({ key: 'fma', name: 'wasm relaxed-simd fma', ...build(true, true) });
  if (fastKernelsAvailable().simd) paths.push({ key: 'simd', name: 'wasm simd', ...build(false, true) });
  paths.push({ key: 'js', name: 'js', ...build(false, false) });
  if (fastKernelsAvailable().shared && availableParallelism() >= 2) {
    const inner = build(true, true);
    let threshold = 0;
    paths.push({
      key: 'threads',
      name: 'wasm kernels with a helper thread: each recurrence shared over the batch, every other multiply split',
      enter() {
        inner.enter();
        if (!startMatmulPool(2, { script: MATMUL_HELPER }) || !waitForMatmulPool(30000)) throw new Error('the helper thread did not start');
        threshold = setMatmulSplitThreshold(0);
      },
      leave() {
        setMatmulSplitThreshold(threshold);
        stopMatmulPool();
        inner.leave();
      },
    });
  }
  const only = process.env.LSTM_LENS_KERNELS;
  if (only) {
    const picked = paths.filter((p) => p.key === only);
    if (picked.length === 0) throw new Error(`LSTM_LENS_KERNELS=${only}: this runtime has ${paths.map((p) => p.key).join(', ')}`);
    return picked;
  }
  return paths;
}

/** Runs f with the helper threads set aside (one thread), then puts them back. */
export function withoutPool<T>(f: () => T): T {
  const p = setMatmulPool(null);
  try {
    return f();
  } finally {
    setMatmulPool(p);
  }
}
