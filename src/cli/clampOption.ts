// `--clamp SPEC` (repeatable) of inspect, generate, explain and units: the option's definition
// for parse() and the clamps it names, checked against the model (src/engine/clamp.ts).

import { parseClamps, type Clamp } from '../engine/clamp';
import type { ModelConfig } from '../engine/config';
import { UsageError, type Values } from './args';

/** Spread into a command's options: `{ ...CLAMP_OPTION, ... }`. */
export const CLAMP_OPTION = { clamp: { type: 'string', multiple: true } } as const;

/** The clamps given with --clamp (none: []), each h:K:U=V or c:K:U=V within the model; a bad one is refused in one line. */
export function clampsOf(values: Values, config: ModelConfig): Clamp[] {
  const raw = (values as Record<string, unknown>).clamp;
  if (raw === undefined) return [];
  const specs = Array.isArray(raw) ? raw.map(String) : [String(raw)];
  try {
    return parseClamps(specs, config);
  } catch (e) {
    throw new UsageError(`--clamp: ${(e as Error).message}`);
  }
}
