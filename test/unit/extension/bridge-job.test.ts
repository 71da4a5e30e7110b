// The bridge worker (dist/bridge-worker.js, built by npm run build) through src/extension/bridgeJob.ts:
// an import of a model saved by PyTorch (test/fixtures/bridge, made by
// test/pytorch/make_import_states.py) gives PyTorch's logits; an export with the editor's text
// writes the folder lstm-lens export writes; refusals are one line naming what is wrong.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BridgeError, runBridge } from '../../../src/extension/bridgeJob';
import { cliIn, ok, ROOT, TINY, workspace } from '../cli/cli-support';

const WORKER = join(ROOT, 'dist', 'bridge-worker.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'bridge');
const ws = workspace('bridge-job');
after(() => ws.cleanup());

async function refusal(request: Parameters<typeof runBridge>[1]): Promise<BridgeError> {
  try {
    await runBridge(WORKER, request);
  } catch (e) {
    assert.ok(e instanceof BridgeError, String(e));
    assert.doesNotMatch(e.message, /\n|\bat .+:\d+:\d+/, 'one line, no stack');
    return e;
  }
  assert.fail('the request was not refused');
}

describe('the bridge worker', { timeout: 120_000 }, () => {
  it("imports a PyTorch nn.LSTM: its shapes read back, and inspect gives PyTorch's float64 logits within 1e-5", async () => {
    const out = join(ws.dir, 'onehot.lstm.safetensors');
    const answer = await runBridge(WORKER, { type: 'import', state: join(FIXTURES, 'onehot.safetensors'), vocab: join(FIXTURES, 'vocab.json'), out });
    assert.equal(answer.type, 'imported');
    if (answer.type !== 'imported') return;
    assert.deepEqual(answer.config, { vocab_size: 13, embedding_size: null, hidden_size: 7, num_layers: 1, bidirectional: false, mode: 'many_to_many' });
    assert.equal(answer.parameters, 720); // 4·7·(13 + 7) + 8·7 + 13·(7 + 1), by hand
    assert.deepEqual(answer.converted, []);
    const text = readFileSync(join(FIXTURES, 'text.txt'), 'utf8');
    const expected = (JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, number[][]>).onehot;
    const { logits } = JSON.parse(ok(cliIn(ws.dir, ['inspect', out, '--text', text, '--json'])).stdout) as { logits: number[][] };
    assert.equal(logits.length, expected.length);
    let worst = 0;
    for (let t = 0; t < expected.length; t++) for (let v = 0; v < expected[t].length; v++) worst = Math.max(worst, Math.abs(logits[t][v] - expected[t][v]));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
  });

  it('refuses a GRU naming the tensor, and a vocabulary of another size, in one line', async () => {
    const gru = await refusal({ type: 'import', state: join(FIXTURES, 'gru.safetensors'), vocab: join(FIXTURES, 'vocab.json'), out: join(ws.dir, 'gru.ckpt') });
    assert.equal(gru.input, true);
    assert.match(gru.message, /tensor lstm\.weight_hh_l0 has 12 = 3·4 gate rows: a GRU's/);
    const small = join(ws.dir, 'small-vocab.json');
    writeFileSync(small, JSON.stringify({ kind: 'char', tokens: ['a', 'b'] }));
    const sized = await refusal({ type: 'import', state: join(FIXTURES, 'onehot.safetensors'), vocab: small, out: join(ws.dir, 'x.ckpt') });
    assert.match(sized.message, /tensor head\.weight has 13 rows, one per token, but the vocabulary has 2 tokens/);
  });

  it("exports with the editor's text: the folder lstm-lens export writes, the README naming the file; refusals before writing", async () => {
    ok(cliIn(ws.dir, ['train', 'story.txt', ...TINY, '--steps', '5', '--out', 'story.ckpt']));
    const text = readFileSync(ws.story, 'utf8');
    const out = join(ws.dir, 'editor-export');
    const answer = await runBridge(WORKER, { type: 'export', checkpoint: join(ws.dir, 'story.ckpt'), checkpointName: 'story.txt.lstm.safetensors', text, textName: 'story.txt', out });
    assert.equal(answer.type, 'exported');
    if (answer.type !== 'exported') return;
    assert.equal(answer.step, 5);
    assert.deepEqual(readdirSync(out).sort(), ['README.md', 'model.safetensors', 'text.txt', 'tokens.bin', 'train.py']);
    ok(cliIn(ws.dir, ['export', 'story.ckpt', '--text', 'story.txt', '--out', 'cli-export']));
    for (const f of ['model.safetensors', 'text.txt', 'tokens.bin', 'train.py']) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(ws.dir, 'cli-export', f))), `${f} as lstm-lens export writes it`);
    assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /^# story\.txt\.lstm\.safetensors, continued in PyTorch/);

    const full = join(ws.dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'mine.txt'), 'keep');
    assert.match((await refusal({ type: 'export', checkpoint: join(ws.dir, 'story.ckpt'), checkpointName: 'x', text, textName: 'story.txt', out: full })).message, /is not empty/);
    assert.deepEqual(readdirSync(full), ['mine.txt']);
    const foreign = await refusal({ type: 'export', checkpoint: join(ws.dir, 'story.ckpt'), checkpointName: 'x', text: `${text} zebra`, textName: 'story.txt', out: join(ws.dir, 'never') });
    assert.match(foreign.message, /story\.txt has 1 words that are not in the model's vocabulary/);
    assert.equal(readdirSync(ws.dir).includes('never'), false);
  });

  it('answers a malformed request with a failure that is not the input\'s', async () => {
    const e = await refusal({ type: 'import', state: '', vocab: 'v', out: 'o' } as never);
    assert.equal(e.input, false);
    assert.match(e.message, /malformed message \(state: /);
  });
});
