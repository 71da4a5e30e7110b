// What the trainer's test files share: a short text in several speakers' lines, small settings and
// two small shapes (contiguous streams; bidirectional windows with an embedding).

import type { TrainingSettings } from '../../../src/engine/checkpoint';
import type { ModelShape } from '../../../src/engine/trainer';

export const TEXT = `First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

First Citizen:
You are all resolved rather to die than to famish?
`.repeat(4);

export const SETTINGS: TrainingSettings = {
  tokens: 'char',
  max_vocab: 0,
  sequence_length: 8,
  batch_size: 4,
  steps: 20,
  optimizer: 'adam',
  learning_rate: 0.01,
  schedule: 'cosine',
  clip: 1,
  init: 'pytorch',
  init_value: 0.1,
  seed: 42,
};

export const STREAMS: ModelShape = { hidden_size: 12, num_layers: 2, embedding_size: null, bidirectional: false, mode: 'many_to_many' };
export const WINDOWS: ModelShape = { hidden_size: 10, num_layers: 1, embedding_size: 6, bidirectional: true, mode: 'many_to_one' };
