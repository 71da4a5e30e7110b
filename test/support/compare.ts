// Compares nested numeric JSON values field by field with the contract's tolerance:
// |actual - expected| <= atol + rtol * |expected| (rtol 1e-4, atol 1e-5 near zero).

export interface Mismatch {
  path: string;
  actual: unknown;
  expected: unknown;
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

export const CONTRACT_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-5 };

/** Every place where `actual` differs from `expected` (structure, strings or numbers beyond tolerance). */
export function compareNested(actual: unknown, expected: unknown, tol: Tolerance = CONTRACT_TOLERANCE, path = ''): Mismatch[] {
  if (typeof expected === 'number') {
    if (typeof actual !== 'number' || !(Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected))) {
      return [{ path, actual, expected }];
    }
    return [];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [{ path: `${path} (length)`, actual: Array.isArray(actual) ? actual.length : actual, expected: expected.length }];
    }
    return expected.flatMap((e, k) => compareNested(actual[k], e, tol, `${path}[${k}]`));
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [{ path, actual, expected }];
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const missing = Object.keys(e).filter((k) => !(k in a));
    if (missing.length > 0) return missing.map((k) => ({ path: `${path}.${k}`, actual: undefined, expected: 'present' }));
    return Object.keys(e).flatMap((k) => compareNested(a[k], e[k], tol, `${path}.${k}`));
  }
  return actual === expected ? [] : [{ path, actual, expected }];
}

/** The largest relative error over all numbers (for reporting). */
export function largestRelativeError(actual: unknown, expected: unknown): number {
  if (typeof expected === 'number' && typeof actual === 'number') return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-5);
  if (Array.isArray(expected) && Array.isArray(actual)) return Math.max(0, ...expected.map((e, k) => largestRelativeError(actual[k], e)));
  if (typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null) {
    const a = actual as Record<string, unknown>;
    return Math.max(0, ...Object.entries(expected as Record<string, unknown>).map(([k, e]) => largestRelativeError(a[k], e)));
  }
  return 0;
}
