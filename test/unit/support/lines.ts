// What the tests of the panel's trace and of the "auto" probe share: a document of numbered-by-offset
// lines, small training settings and a small shape (a real trainer on it steps in milliseconds).

import type { TrainingSettings } from '../../../src/engine/checkpoint';
import type { ModelShape } from '../../../src/engine/trainer';

export const SETTINGS: TrainingSettings = {
  tokens: 'char', max_vocab: 0, sequence_length: 8, batch_size: 2, steps: 5, optimizer: 'adam', learning_rate: 0.01,
  schedule: 'constant', clip: 1, init: 'pytorch', init_value: 0.1, seed: 3,
};
export const SHAPE: ModelShape = { hidden_size: 4, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' };

/** A document of `lines` lines of "abcdefghi\n" (10 characters each, line k at offset 10·k). */
export function doc(lines: number): string {
  return 'abcdefghi\n'.repeat(lines);
}
