// Messages between the extension host and its bridge worker (src/worker/bridgeWorker.ts): one
// request per worker, export (a checkpoint and its text become a folder PyTorch continues the run
// in) or import (a PyTorch state_dict and a vocabulary become a checkpoint), and one answer.
// Checked where received.

import * as v from 'valibot';
import { checkMessage, type Checked } from './check';

const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const path = v.pipe(v.string(), v.minLength(1));

export const HostToBridgeWorkerSchema = v.variant('type', [
  /** Export the checkpoint at `checkpoint` (named `checkpointName` in the folder's README) with `text` (named `textName`) into the folder `out`. */
  v.strictObject({ type: v.literal('export'), checkpoint: path, checkpointName: v.string(), text: v.string(), textName: v.string(), out: path }),
  /** Import the state_dict at `state` with the vocabulary at `vocab` as the checkpoint `out`. */
  v.strictObject({ type: v.literal('import'), state: path, vocab: path, out: path }),
]);

const ConfigSchema = v.strictObject({
  vocab_size: positiveInt,
  embedding_size: v.nullable(positiveInt),
  hidden_size: positiveInt,
  num_layers: positiveInt,
  bidirectional: v.boolean(),
  mode: v.picklist(['many_to_many', 'many_to_one']),
});

export const BridgeWorkerToHostSchema = v.variant('type', [
  v.strictObject({ type: v.literal('exported'), dir: path, files: v.array(v.string()), notes: v.array(v.string()), step: nonNegativeInt, totalSteps: nonNegativeInt, tokens: nonNegativeInt, batchSize: positiveInt }),
  v.strictObject({ type: v.literal('imported'), checkpoint: path, config: ConfigSchema, parameters: positiveInt, converted: v.array(v.string()) }),
  /** `input`: refused for what it was given (the message is for the user, one line); otherwise a failure while working. */
  v.strictObject({ type: v.literal('failed'), input: v.boolean(), message: v.string() }),
]);

export type HostToBridgeWorker = v.InferOutput<typeof HostToBridgeWorkerSchema>;
export type BridgeWorkerToHost = v.InferOutput<typeof BridgeWorkerToHostSchema>;

export const checkHostToBridgeWorker = (value: unknown): Checked<HostToBridgeWorker> => checkMessage(HostToBridgeWorkerSchema, value);
export const checkBridgeWorkerToHost = (value: unknown): Checked<BridgeWorkerToHost> => checkMessage(BridgeWorkerToHostSchema, value);
