// npm run bench:spike-matmul — where the spike-sparse product pays: the kernels spikeMatmul (x wᵀ) and
// spikeMatmulWeightGrad (gᵀ x) with the sparse and the dense path forced, over firing rates, on the
// shapes of the CPU configs of benchmarks/cpu-step.ts (rows M = T·B, K inputs, N outputs) and on a
// hidden-to-hidden layer. Per shape it prints the times and the crossover: the highest firing rate at
// which the sparse path is still faster (linear interpolation between the measured rates). The rule in
// native/cpu/spike_matmul.cc (crossover_rate) cites these numbers; rerun this after changing either path.
//   FSNN_BENCH_REPS=n   timed runs per cell (default 7; the median is printed)
import * as os from 'os';
import { tensor } from '../lib/creation';
import { runKernel } from '../lib/kernels/run-kernel';
import { native } from '../lib/native';
import { Tensor } from '../lib/tensor';
import type { SpikePath } from '../types/native';
import { machine, median, table, timeMs } from './common';

const SHAPES: { name: string; M: number; K: number; N: number }[] = [
  { name: 'main 2nd layer (T=8, B=64)', M: 512, K: 256, N: 10 },
  { name: 't16 2nd layer (T=16, B=256)', M: 4096, K: 512, N: 10 },
  { name: 't64 2nd layer (T=64, B=256)', M: 16384, K: 512, N: 10 },
  { name: 'hidden 256->32 (T=8, B=64)', M: 512, K: 256, N: 32 },
  { name: 'hidden 256->256 (T=8, B=64)', M: 512, K: 256, N: 256 },
  { name: 'hidden 512->512 (T=16, B=256)', M: 4096, K: 512, N: 512 },
  { name: 'main stem 784->256 (static, B=64)', M: 64, K: 784, N: 256 },
  { name: 't16 stem 784->512 (static, B=256)', M: 256, K: 784, N: 512 },
];
const RATES = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1];
const reps = Number(process.env.FSNN_BENCH_REPS ?? 7);

/** [M, K] spikes: each entry 1 with probability rate (xorshift, fixed seed). */
function spikes(M: number, K: number, rate: number): Tensor {
  let s = 0x9e3779b9;
  const data = Float32Array.from({ length: M * K }, () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return (s >>> 0) / 4294967296 < rate ? 1 : 0;
  });
  return tensor(data, [M, K]);
}
const uniform = (shape: number[]) => tensor(Float32Array.from({ length: shape[0] * shape[1] }, (_, i) => Math.sin(i) * 0.1), shape);

/** Median ms of the sparse and the dense path, run alternately (the machine may be shared). */
function time(kernel: 'spikeMatmul' | 'spikeMatmulWeightGrad', a: Tensor, b: Tensor): [number, number] {
  const run = (path: SpikePath) => () => runKernel(kernel, [a.handle, b.handle], { path }).dispose();
  const sparse: number[] = [], dense: number[] = [];
  for (let i = 0; i < reps; i++) {
    sparse.push(timeMs(run('sparse'), 1, i === 0 ? 2 : 0));
    dense.push(timeMs(run('dense'), 1, i === 0 ? 2 : 0));
  }
  return [median(sparse), median(dense)];
}

/** The highest rate where sparse < dense, interpolated between the last win and the first loss. */
function crossover(sparse: number[], dense: number[]): string {
  let i = 0;
  while (i < RATES.length && sparse[i] < dense[i]) i++;
  if (i === 0) return `< ${RATES[0]}`;
  if (i === RATES.length) return `>= ${RATES[RATES.length - 1]}`;
  const d0 = dense[i - 1] - sparse[i - 1], d1 = dense[i] - sparse[i];
  return (RATES[i - 1] + (RATES[i] - RATES[i - 1]) * d0 / (d0 - d1)).toFixed(2);
}

const info = native.info();
console.log(`spike-sparse product vs dense: ${machine()}; ${info.threads} threads, sgemm ${info.blas}`);
console.log(`load average before: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${reps} runs per cell, median ms\n`);
for (const s of SHAPES) {
  const w = uniform([s.N, s.K]), g = uniform([s.M, s.N]);
  const rows: (string | number)[][] = [['rate', 'fwd sparse', 'fwd dense', 'ratio', 'dW sparse', 'dW dense', 'ratio']];
  const t = { fs: [] as number[], fd: [] as number[], ws: [] as number[], wd: [] as number[] };
  for (const rate of RATES) {
    const x = spikes(s.M, s.K, rate);
    const [fs, fd] = time('spikeMatmul', x, w), [ws, wd] = time('spikeMatmulWeightGrad', g, x);
    t.fs.push(fs);
    t.fd.push(fd);
    t.ws.push(ws);
    t.wd.push(wd);
    const i = t.fs.length - 1;
    rows.push([rate, t.fs[i].toFixed(3), t.fd[i].toFixed(3), (t.fd[i] / t.fs[i]).toFixed(2), t.ws[i].toFixed(3), t.wd[i].toFixed(3), (t.wd[i] / t.ws[i]).toFixed(2)]);
    x.dispose();
  }
  console.log(`${s.name}: x [${s.M}, ${s.K}], w [${s.N}, ${s.K}]  (ratio = dense / sparse)`);
  console.log(table(rows));
  console.log(`crossover rate: forward ${crossover(t.fs, t.fd)}, weight gradient ${crossover(t.ws, t.wd)}\n`);
  w.dispose();
  g.dispose();
}
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
