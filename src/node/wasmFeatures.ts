// Relaxed SIMD (the fused multiply-add the engine's FMA kernels use) is on by default in VS Code's
// Electron, Chrome and Node 22, and behind --experimental-wasm-relaxed-simd in Node 20. Turning the
// flag on here, before the engine compiles its kernels, lets Node 20 run the FMA build; where the
// flag is unknown or refused, the engine finds the FMA build invalid and runs the plain-SIMD one.
// V8's flags are the process's: set once, they hold for every worker thread started afterwards.
// (v8.setFlagsFromString is not a supported way to change a running VM's features; a tiny module
// using f32x4.relaxed_madd is validated afterwards, so nothing relies on it having worked.)

import { setFlagsFromString } from 'node:v8';

/** A module whose one function uses f32x4.relaxed_madd: valid only where relaxed SIMD is on. */
const RELAXED_PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03,
  0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/** Whether this runtime validates relaxed SIMD now. */
export function relaxedSimdOn(): boolean {
  try {
    const api = (globalThis as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    return api !== undefined && api.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** Turns relaxed SIMD on where it is off and the runtime knows the flag (before the kernels compile); returns whether it is on. */
export function enableRelaxedSimd(): boolean {
  if (relaxedSimdOn()) return true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return relaxedSimdOn();
}
