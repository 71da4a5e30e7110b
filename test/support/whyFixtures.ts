// The surprise and attribution fixtures (test/pytorch/make_why_fixtures.py): float64 PyTorch's
// token_loss and attribution for a text read as `lstm-lens inspect` reads it.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseClamps, type Clamp } from '../../src/engine/clamp';
import type { ModelConfig } from '../../src/engine/config';
import { LSTMModel } from '../../src/engine/model';
import { Tokenizer } from '../../src/engine/tokenizer';
import { flat, FIXTURES } from './fixtures';

export interface WhyFixture {
  name: string;
  config: ModelConfig;
  /** Units held at a constant (docs/cli.md, --clamp), as specs; [] for none. */
  clamps: string[];
  vocab: { kind: 'char'; tokens: string[] };
  text: string;
  tokens: number[];
  weights: Record<string, unknown>;
  loss: number;
  token_loss: number[];
  attributions: Array<{ position: number; target: number; grad_norm: number[]; grad_x_input: number[] }>;
}

export function whyFixtures(): WhyFixture[] {
  const dir = join(FIXTURES, 'why');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
}

/** The fixture's model (its weights, in float32 or float64), its character tokenizer and its clamps. */
export function whyModel(f: WhyFixture, dtype: 'float32' | 'float64' = 'float32'): { model: LSTMModel; tokenizer: Tokenizer; clamps: Clamp[] } {
  const model = new LSTMModel(f.config, dtype);
  for (const spec of model.specs) model.setParameter(spec.name, flat(f.weights[spec.name]));
  return { model, tokenizer: Tokenizer.fromVocabulary(f.vocab), clamps: parseClamps(f.clamps, f.config) };
}
