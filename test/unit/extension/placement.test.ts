// Where a run trains (src/extension/autoChoice.ts): the CPU/GPU choice as a plain function
// returning the backend and why, before timing and after it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placementBeforeTiming, timedPlacement } from '../../../src/extension/autoChoice';

const ready = { gpuScript: true, panelOpen: true, known: undefined };

describe('placement: CPU or GPU, and why', () => {
  it('"cpu" is the CPU whatever else holds', () => {
    assert.deepEqual(placementBeforeTiming('cpu', ready), { backend: 'cpu', why: 'lstmLens.backend is "cpu"' });
  });

  it('without the GPU worker\'s script, the CPU, saying so', () => {
    for (const setting of ['auto', 'webgl'] as const) {
      assert.deepEqual(placementBeforeTiming(setting, { ...ready, gpuScript: false }), { backend: 'cpu', why: "the GPU worker's script is missing from the extension" });
    }
  });

  it('"webgl": the GPU in the panel, or the CPU when the panel could not open', () => {
    assert.deepEqual(placementBeforeTiming('webgl', ready), { backend: 'webgl', why: 'lstmLens.backend is "webgl"' });
    assert.deepEqual(placementBeforeTiming('webgl', { ...ready, panelOpen: false }), { backend: 'cpu', why: 'the Inspect States panel, where the GPU trains, could not open' });
  });

  it('"auto": the CPU with the panel closed; a choice of this session reused, said so; else timed', () => {
    assert.deepEqual(placementBeforeTiming('auto', { ...ready, panelOpen: false }), { backend: 'cpu', why: 'auto: the GPU trains in the Inspect States panel, which is not open' });
    assert.equal(placementBeforeTiming('auto', ready), 'time');
    assert.deepEqual(placementBeforeTiming('auto', { ...ready, known: { backend: 'webgl', why: 'auto: GPU 5k tokens/s' } }), { backend: 'webgl', why: 'auto: GPU 5k tokens/s, timed earlier this session' });
  });

  it('after timing: the faster, the CPU on a tie, the CPU with the reason when the GPU could not be used', () => {
    assert.deepEqual(timedPlacement({ tokensPerSecond: 31900 }, { ok: true, tokensPerSecond: 102, renderer: 'SwiftShader' }), { backend: 'cpu', why: 'auto: CPU 31.9k tokens/s faster than GPU 102 tokens/s (SwiftShader)' });
    assert.deepEqual(timedPlacement({ tokensPerSecond: 1000 }, { ok: true, tokensPerSecond: 50000, renderer: 'H200' }), { backend: 'webgl', why: 'auto: GPU 50.0k tokens/s (H200) faster than CPU 1.0k tokens/s' });
    assert.equal(timedPlacement({ tokensPerSecond: 1000 }, { ok: true, tokensPerSecond: 1000, renderer: 'x' }).backend, 'cpu');
    assert.deepEqual(timedPlacement({ tokensPerSecond: 1000 }, { ok: false, reason: 'no WebGL2\nhere' }), { backend: 'cpu', why: 'auto: CPU 1.0k tokens/s; GPU not usable: no WebGL2\\nhere' });
    assert.deepEqual(timedPlacement({ tokensPerSecond: 1000 }, null), { backend: 'cpu', why: 'auto: CPU 1.0k tokens/s; GPU not usable: not timed' });
    assert.deepEqual(timedPlacement(null, null), { backend: 'cpu', why: 'auto: the CPU could not be timed' });
  });

  it("a renderer's name is escaped (it comes from the GPU's driver)", () => {
    assert.doesNotMatch(timedPlacement({ tokensPerSecond: 1 }, { ok: true, tokensPerSecond: 2, renderer: 'evil\u001b[2J' }).why, /\u001b/);
  });
});
