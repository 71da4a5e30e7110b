// The multiplies of the benchmark workload one by one (GFLOP/s of each shape on each kernel), so a
// change to kernels.wat is measured where it matters before the whole step is:
//   npm run bench:kernels [-- --reps N] [--only H=512]
// Rows: the shapes of one training step at H = 128 and H = 512 (B = 32, T = 64, V = 96), named by
// where the model runs them; columns: the packed FMA kernel, the packed plain-SIMD kernel and the
// tiles that read the operands in place (the kernels before packing), all on one thread. Times are
// the process's CPU time (on a machine shared with other work, wall time measures the others too).

import { parseArgs } from 'node:util';
import { view } from '../../src/engine/backend';
import { matmul } from '../../src/engine/kernels';
import { createArena, preferFmaKernels, setPackedMinRows, type Arena } from '../../src/engine/wasm/simd';
import { enableRelaxedSimd } from '../../src/node/wasmFeatures';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '5' }, only: { type: 'string' } } });
const reps = Number(values.reps);
const only = values.only;
enableRelaxedSimd();

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
}

const SHAPES: Shape[] = [];
for (const H of [128, 512]) {
  const G = 4 * H, BT = 2048;
  SHAPES.push(
    { name: `H=${H} recurrent forward  h·Whh^T`, M: 32, N: G, K: H, transB: true },
    { name: `H=${H} recurrent backward dG·Whh`, M: 32, N: H, K: G },
    { name: `H=${H} weight gradient   dG^T·h`, M: G, N: H, K: BT, transA: true },
    { name: `H=${H} input projection  x·Wih^T`, M: BT, N: G, K: H, transB: true },
    { name: `H=${H} head forward      h·W^T`, M: BT, N: 96, K: H, transB: true },
    { name: `H=${H} head gradient     dZ^T·h`, M: 96, N: H, K: BT, transA: true },
    { name: `H=${H} head backward     dZ·W`, M: BT, N: H, K: 96 },
  );
}

function gflops(arena: Arena, s: Shape): number {
  const aSize = s.M * s.K, bSize = s.K * s.N;
  const a = arena.allocFloats(aSize), b = arena.allocFloats(bSize), c = arena.allocFloats(s.M * s.N);
  for (let k = 0; k < aSize; k++) a[k] = Math.sin(k);
  for (let k = 0; k < bSize; k++) b[k] = Math.cos(k);
  const lda = s.transA ? s.M : s.K, ldb = s.transB ? s.K : s.N;
  const run = (): void => matmul(view(c, 0, s.N), view(a, 0, lda), view(b, 0, ldb), { M: s.M, N: s.N, K: s.K, transA: s.transA, transB: s.transB, accumulate: true });
  const flops = 2 * s.M * s.N * s.K;
  const times: number[] = [];
  const inner = Math.max(1, Math.round(1e9 / flops));
  run();
  for (let r = 0; r < reps; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < inner; i++) run();
    const t = process.cpuUsage(t0);
    times.push((t.user + t.system) / 1000 / inner);
  }
  arena.release(a);
  arena.release(b);
  arena.release(c);
  return flops / (Math.min(...times) / 1000) / 1e9;
}

preferFmaKernels(true);
const fma = createArena() as Arena;
preferFmaKernels(false);
const plain = createArena() as Arena;
console.log(`GFLOP/s, best of ${reps}, one thread | packed fma | packed simd | in place fma | in place simd`);
for (const s of SHAPES.filter((x) => !only || x.name.includes(only))) {
  const cells: number[] = [];
  for (const [arena, packed] of [[fma, true], [plain, true], [fma, false], [plain, false]] as const) {
    const before = setPackedMinRows(packed ? 8 : Infinity);
    cells.push(gflops(arena, s));
    setPackedMinRows(before);
  }
  console.log(`${s.name.padEnd(38)} ${cells.map((x) => x.toFixed(1).padStart(8)).join(' ')}`);
}
