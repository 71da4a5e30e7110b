// The bridge worker (worker_threads): one export or import of src/node/bridge.ts, off the extension
// host's thread (a big checkpoint or state_dict takes seconds to read, check and write). Answers
// once and ends. The request is checked (src/protocol/bridge.ts).

import { parentPort } from 'node:worker_threads';
import { InputError } from '../engine/config';
import { parameterCount } from '../engine/model';
import { exportRun, importState } from '../node/bridge';
import { WriteError } from '../node/files';
import { checkHostToBridgeWorker, type BridgeWorkerToHost } from '../protocol/bridge';

if (!parentPort) throw new Error('this module runs as a worker thread');
const port = parentPort;

function answer(raw: unknown): BridgeWorkerToHost {
  const checked = checkHostToBridgeWorker(raw);
  if (!checked.ok) return { type: 'failed', input: false, message: `the bridge worker received a malformed message (${checked.error})` };
  const m = checked.message;
  try {
    if (m.type === 'export') {
      const r = exportRun({ checkpoint: m.checkpoint, checkpointName: m.checkpointName, text: { text: m.text, name: m.textName }, out: m.out });
      return { type: 'exported', dir: r.dir, files: r.files, notes: r.notes, step: r.step, totalSteps: r.totalSteps, tokens: r.tokens, batchSize: r.batchSize };
    }
    const r = importState({ state: m.state, vocab: m.vocab, out: m.out });
    return { type: 'imported', checkpoint: r.checkpoint, config: r.config, parameters: parameterCount(r.config), converted: r.converted };
  } catch (e) {
    const input = e instanceof InputError || e instanceof WriteError;
    return { type: 'failed', input, message: e instanceof Error ? e.message : String(e) };
  }
}

port.once('message', (raw: unknown) => {
  port.postMessage(answer(raw));
  port.close();
});
