// Clamps: a unit of one cell held at a constant, a causal test of what the unit does
// (docs/model.md, "Clamps"). `h:K:U=V` sets h_t[U] of layer K (forward direction) to V as soon as
// h_t is computed; `c:K:U=V` sets c_t[U] to V as soon as c_t is computed, so that h_t = o · tanh(V)
// reads it. Either way before the next step, the layer above or the head use it, and the trace
// shows the clamped value. A clamped value is a constant: no gradient flows through it.

import { InputError, type ModelConfig } from './config';
import { printable } from './format';

export interface Clamp {
  state: 'h' | 'c';
  layer: number;
  unit: number;
  value: number;
}

const SPEC = /^([hc]):(\d+):(\d+)=([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i;

/** `h:K:U=V` or `c:K:U=V`; checked against `config` (layer below L, unit below H) when given. */
export function parseClamp(spec: string, config?: ModelConfig): Clamp {
  const m = SPEC.exec(spec.trim());
  if (m === null) {
    const value = /^[hc]:\d+:\d+=\s*([-+]?\w+)$/i.exec(spec.trim());
    if (value !== null && /^[-+]?(nan|inf(inity)?)$/i.test(value[1])) throw new InputError(`the clamp "${printable(spec, 60)}" needs a finite value, got ${value[1]} (a clamp is h:K:U=V or c:K:U=V, V a number)`);
    throw new InputError(`a clamp is h:K:U=V or c:K:U=V (state, layer, unit, value; e.g. c:0:12=1.5), got "${printable(spec, 60)}"`);
  }
  const clamp: Clamp = { state: m[1].toLowerCase() as 'h' | 'c', layer: Number(m[2]), unit: Number(m[3]), value: Number(m[4]) };
  if (!Number.isSafeInteger(clamp.layer) || !Number.isSafeInteger(clamp.unit)) {
    throw new InputError(`the clamp "${printable(spec, 60)}" has a layer or unit out of range`);
  }
  checkValue(clamp, m[4]);
  if (config) checkClamps([clamp], config);
  return clamp;
}

/** The engine computes in float32: a value float32 cannot hold would be infinite there, not V. */
function checkValue(c: Clamp, written: string = String(c.value)): void {
  if (!Number.isFinite(Math.fround(c.value))) {
    throw new InputError(`the clamp ${c.state}:${c.layer}:${c.unit} needs a finite value float32 can hold (at most 3.4e38 in size), got ${printable(written, 40)}`);
  }
}

/** Every spec parsed and checked against `config`, in order. */
export function parseClamps(specs: readonly string[], config: ModelConfig): Clamp[] {
  const clamps = specs.map((s) => parseClamp(s));
  checkClamps(clamps, config);
  return clamps;
}

/** The clamp written back as its spec: `c:0:12=1.5`. */
export function clampSpec(c: Clamp): string {
  return `${c.state}:${c.layer}:${c.unit}=${c.value}`;
}

/** Refuses (InputError) a clamp outside the model, or two clamps of the same state of one unit. */
export function checkClamps(clamps: readonly Clamp[], config: ModelConfig): void {
  const seen = new Set<string>();
  for (const c of clamps) {
    const name = `${c.state}:${c.layer}:${c.unit}`;
    if (c.state !== 'h' && c.state !== 'c') throw new InputError(`a clamp's state is h or c, got ${JSON.stringify(c.state)}`);
    if (!(Number.isInteger(c.layer) && c.layer >= 0 && c.layer < config.num_layers)) {
      throw new InputError(`the clamp ${name} names layer ${c.layer}, and the model has ${config.num_layers} (0 to ${config.num_layers - 1})`);
    }
    if (!(Number.isInteger(c.unit) && c.unit >= 0 && c.unit < config.hidden_size)) {
      throw new InputError(`the clamp ${name} names unit ${c.unit}, and the model has ${config.hidden_size} per layer (0 to ${config.hidden_size - 1})`);
    }
    checkValue(c);
    if (seen.has(name)) throw new InputError(`the clamp ${name} is given twice`);
    seen.add(name);
  }
}
