// The explain fixtures (test/pytorch/make_explain_fixtures.py): a model's weights, a text, and the
// float64 answer of `lstm-lens explain --json` at several steps of every layer and direction.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../src/engine/config';
import { LSTMModel } from '../../src/engine/model';
import type { Vocabulary } from '../../src/engine/tokenizer';
import { FIXTURES, flat } from './fixtures';

export interface ExplainFixture {
  name: string;
  config: ModelConfig;
  vocab: Vocabulary;
  text: string;
  weights: Record<string, unknown>;
  /** (L*D, 1, H), or null: zeros. */
  h0: number[][][] | null;
  c0: number[][][] | null;
  loss: number;
  /** `--clamp` specs the text was read with (the clamp_* cases); absent: none. */
  clamps?: string[];
  steps: Array<{ token: string; t: number; layer: number; direction: 'forward' | 'backward'; forward: Record<string, number[]>; backward: Record<string, number[]> }>;
}

export function explainFixtures(): ExplainFixture[] {
  const dir = join(FIXTURES, 'explain');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
}

/** The fixture's model in float32, its weights set by name. */
export function fixtureModel(fx: ExplainFixture): LSTMModel {
  const model = new LSTMModel(fx.config);
  for (const spec of model.specs) model.setParameter(spec.name, flat(fx.weights[spec.name]));
  return model;
}
