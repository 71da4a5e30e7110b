// npm run bench:webgl: the benchmark workload of `lstm-lens bench` (char-level V = 96, one-hot,
// many-to-many, T = 64, B = 32, Adam, clip 5, trace off) on the CPU backend and on the WebGL2
// backend, side by side, in headless Chromium. Here that WebGL is SwiftShader (software): the
// numbers say what the GPU path costs without a GPU, not what a GPU does.
// Draws per step count every draw of a training step (forward, backward, clipping, Adam); draws
// per time step are those divided by T (the fused recurrence makes one draw per time step each way
// and layer, the rest is a fixed cost per step).
// Options: --steps N (timed steps per configuration, after one warm-up step), --hidden H, --layers L.

import { launchWebGLBrowser, openLab } from '../webview/gpu-lab/launch';

interface Lab {
  probe(): { available: boolean; reason: string | null; renderer: string };
  train(options: unknown, which: 'cpu' | 'webgl'): { losses: number[]; stepMs: number[]; draws: number };
}
declare const lstmGpuLab: Lab;

function option(name: string, fallback: number[]): number[] {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 ? [Number(process.argv[k + 1])] : fallback;
}

async function main(): Promise<void> {
  const steps = option('steps', [3])[0];
  const browser = await launchWebGLBrowser();
  try {
    const { page } = await openLab(browser);
    const probe = await page.evaluate(() => lstmGpuLab.probe());
    console.log(`WebGL2: ${probe.available ? probe.renderer : `unavailable (${probe.reason})`}`);
    const B = 32, T = 64, V = 96;
    const ids = Array.from({ length: B * T * 4 + 1 }, (_, k) => (k * 7919 + (k >> 3)) % V);
    const rows: string[] = [];
    console.log('hidden layers   cpu tokens/s   webgl tokens/s   webgl draws/step   draws per time step');
    for (const H of option('hidden', [128, 512])) {
      for (const L of option('layers', [1, 2])) {
        const options = {
          config: { vocab_size: V, embedding_size: null, hidden_size: H, num_layers: L, bidirectional: false, mode: 'many_to_many' },
          ids, B, T, steps: steps + 1, lr: 0.002, clip: 5, seed: 1,
        };
        const perSecond = (ms: number[]): number => (B * T * ms.length * 1000) / ms.reduce((a, b) => a + b, 0);
        const cpu = await page.evaluate(([o]) => lstmGpuLab.train(o, 'cpu'), [options]);
        const gpu = probe.available ? await page.evaluate(([o]) => lstmGpuLab.train(o, 'webgl'), [options]) : null;
        const drawsPerStep = gpu ? gpu.draws / (steps + 1) : NaN;
        const draws = gpu ? `   ${String(Math.round(drawsPerStep)).padStart(16)}   ${(drawsPerStep / T).toFixed(2).padStart(19)}` : '';
        const line = `${String(H).padStart(6)} ${String(L).padStart(6)}   ${perSecond(cpu.stepMs).toFixed(0).padStart(12)}   ${gpu ? perSecond(gpu.stepMs).toFixed(0).padStart(14) : '—'.padStart(14)}${draws}`;
        console.log(line);
        rows.push(line);
      }
    }
    console.log(JSON.stringify({ steps, renderer: probe.renderer }));
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
