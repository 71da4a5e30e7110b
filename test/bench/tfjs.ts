// The benchmark workload on TensorFlow.js (tfjs-core with the cpu or wasm backend), for
// `npm run bench:peers`: the same model (one-hot input, L stacked LSTM layers, a linear head,
// softmax cross-entropy), Adam lr 2e-3 and clipping at global norm 5, float32.
//
//   tsx test/bench/tfjs.ts --backend cpu|wasm --hidden H --layers L [--steps N] [--max-seconds S]
//   tsx test/bench/tfjs.ts --backend cpu|wasm --generate
// Last line of stdout: one JSON object (tokens_per_s, steps measured, peak_rss_mb, backend details).

import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

const V = 96, T = 64, B = 32, WARMUP = 3;

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    hidden: { type: 'string', default: '128' },
    layers: { type: 'string', default: '1' },
    steps: { type: 'string', default: '10' },
    'max-seconds': { type: 'string', default: '60' },
    generate: { type: 'boolean', default: false },
  },
});

interface Layer {
  wih: tf.Variable;
  whh: tf.Variable;
  bih: tf.Variable;
  bhh: tf.Variable;
}

function uniform(shape: number[], bound: number): tf.Variable {
  return tf.variable(tf.randomUniform(shape, -bound, bound, 'float32', 1));
}

function makeModel(H: number, L: number): { layers: Layer[]; headW: tf.Variable; headB: tf.Variable } {
  const k = 1 / Math.sqrt(H);
  const layers: Layer[] = [];
  for (let l = 0; l < L; l++) {
    const I = l === 0 ? V : H;
    layers.push({ wih: uniform([4 * H, I], k), whh: uniform([4 * H, H], k), bih: uniform([4 * H], k), bhh: uniform([4 * H], k) });
  }
  return { layers, headW: uniform([V, H], k), headB: uniform([V], k) };
}

/** One layer over T steps from zero state; x (B, T, I) → (B, T, H). */
function lstmLayer(x: tf.Tensor3D, p: Layer, H: number, steps: number, batch: number, h0?: tf.Tensor2D, c0?: tf.Tensor2D): { out: tf.Tensor3D; h: tf.Tensor2D; c: tf.Tensor2D } {
  const I = x.shape[2];
  const xs = tf.add(tf.matMul(tf.reshape(x, [batch * steps, I]), p.wih, false, true), tf.add(p.bih, p.bhh));
  const gatesIn = tf.reshape(xs, [batch, steps, 4 * H]);
  let h: tf.Tensor2D = h0 ?? tf.zeros([batch, H]);
  let c: tf.Tensor2D = c0 ?? tf.zeros([batch, H]);
  const outs: tf.Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    const g = tf.add(tf.reshape(tf.slice(gatesIn, [0, t, 0], [batch, 1, 4 * H]), [batch, 4 * H]), tf.matMul(h, p.whh, false, true)) as tf.Tensor2D;
    const [gi, gf, gg, go] = tf.split(g, 4, 1);
    c = tf.add(tf.mul(tf.sigmoid(gf), c), tf.mul(tf.sigmoid(gi), tf.tanh(gg)));
    h = tf.mul(tf.sigmoid(go), tf.tanh(c));
    outs.push(h);
  }
  return { out: tf.stack(outs, 1) as tf.Tensor3D, h, c };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function train(H: number, L: number, steps: number, maxSeconds: number): Promise<Record<string, unknown>> {
  const model = makeModel(H, L);
  const vars = [...model.layers.flatMap((p) => [p.wih, p.whh, p.bih, p.bhh]), model.headW, model.headB];
  const optimizer = tf.train.adam(2e-3);
  let seed = 1;
  const batch = (): { x: tf.Tensor3D; y: tf.Tensor2D } => {
    const ids = new Int32Array(B * T), next = new Int32Array(B * T);
    for (let k = 0; k < B * T; k++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      ids[k] = seed % V;
      next[k] = (seed >>> 8) % V;
    }
    return { x: tf.oneHot(tf.tensor2d(ids, [B, T], 'int32'), V) as tf.Tensor3D, y: tf.oneHot(tf.tensor1d(next, 'int32'), V) as tf.Tensor2D };
  };
  const step = async (): Promise<void> => {
    const { x, y } = batch();
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        let input = x;
        for (const p of model.layers) input = lstmLayer(input, p, H, T, B).out;
        const logits = tf.add(tf.matMul(tf.reshape(input, [B * T, H]), model.headW, false, true), model.headB);
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      }, vars);
      // Clip at global norm 5 (as torch.nn.utils.clip_grad_norm_), then Adam.
      const names = Object.keys(grads);
      const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
      const coef = tf.minimum(tf.scalar(1), tf.div(tf.scalar(5), tf.add(norm, 1e-6)));
      const clipped: Record<string, tf.Tensor> = {};
      for (const n of names) clipped[n] = tf.mul(grads[n], coef);
      optimizer.applyGradients(clipped as Record<string, tf.Variable>);
      return value;
    });
    await loss.data();
    loss.dispose();
    x.dispose();
    y.dispose();
  };
  for (let s = 0; s < WARMUP; s++) await step();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < steps && (times.length < 3 || performance.now() - started < maxSeconds * 1000)) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  return { hidden: H, layers: L, tokens_per_s: (B * T) / (ms / 1000), step_ms: ms, steps: times.length, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

async function generate(): Promise<Record<string, unknown>> {
  const H = 512, L = 2, N = 200;
  const model = makeModel(H, L);
  let hs: tf.Tensor2D[] = model.layers.map(() => tf.zeros([1, H]));
  let cs: tf.Tensor2D[] = model.layers.map(() => tf.zeros([1, H]));
  let token = 0;
  const one = async (): Promise<void> => {
    const [next, nh, nc] = tf.tidy(() => {
      let input = tf.reshape(tf.oneHot(tf.tensor1d([token], 'int32'), V), [1, 1, V]) as tf.Tensor3D;
      const nh: tf.Tensor2D[] = [], nc: tf.Tensor2D[] = [];
      model.layers.forEach((p, l) => {
        const r = lstmLayer(input, p, H, 1, 1, hs[l], cs[l]);
        input = r.out;
        nh.push(r.h);
        nc.push(r.c);
      });
      const logits = tf.add(tf.matMul(tf.reshape(input, [1, H]), model.headW, false, true), model.headB) as tf.Tensor2D;
      return [tf.multinomial(logits, 1, 7), nh, nc] as const;
    });
    token = (await next.data())[0];
    next.dispose();
    for (const t of [...hs, ...cs]) t.dispose();
    hs = nh;
    cs = nc;
  };
  for (let k = 0; k < 10; k++) await one();
  const t0 = performance.now();
  for (let k = 0; k < N; k++) await one();
  return { hidden: H, layers: L, tokens_per_s: N / ((performance.now() - t0) / 1000), peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

async function main(): Promise<void> {
  const backend = values.backend as string;
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} is not available`);
  await tf.ready();
  const result = values.generate
    ? await generate()
    : await train(Number(values.hidden), Number(values.layers), Number(values.steps), Number(values['max-seconds']));
  process.stdout.write(`${JSON.stringify({ peer: `tfjs-${backend}`, version: tf.version_core, ...result })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
