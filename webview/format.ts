// How numbers and tokens are written in the panel.

/** A tensor value: 4 significant digits (what the tooltip prints and the tests read back). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-4) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}

/** A shape as PyTorch prints it: (1, 3, 10); a scalar is (). */
export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatPercent(share: number): string {
  if (share === 0) return '0%';
  if (share < 0.01) return '<1%';
  return `${Math.round(share * 100)}%`;
}

/** A probability: 47.3%, 0.4%. */
export function formatProbability(p: number): string {
  const pct = p * 100;
  return `${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

/** Tokens per second as the status bar and the command line write them (one formatter everywhere). */
export { formatRate } from '../src/engine/format';

/** Whitespace made visible, so a character model's " " and "\n" can be read on an axis. */
export function showToken(token: string): string {
  if (token === '') return '∅';
  return token.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\r/g, '␍').replace(/\t/g, '⇥');
}
