// npm run bench:cpu — sgemm GFLOP/s at n = 256, 512, 1024 for OpenBLAS and the built-in kernel,
// elementwise GB/s, and the machine's measured FMA peak, all in the same run. The sgemm rows are
// measured in FSNN_BENCH_ROUNDS rounds (default 3; each the median of its repetitions): the table
// gives the median round, and the built-in / OpenBLAS ratio as the range over the rounds, since on a
// shared machine it moves from round to round. "% of peak" is against the higher of two peak
// measurements (before and after the rows).
import * as os from 'os';
import { native } from '../lib/native';
import { machine, table, timeMs } from './common';

const info = native.info();
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`machine: ${machine()}; addon: ${info.cpu}; load average ${load()}`);
const peakBefore = native.measurePeakGflops(info.threads, 1.0);
const rounds = Number(process.env.FSNN_BENCH_ROUNDS ?? 3);

function randomHandle(n: number, shape: number[]) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return native.fromFloat32(a, shape, 'cpu');
}

const paths = info.openblas ? ['openblas', 'builtin'] : ['builtin'];
const sizes = [256, 512, 1024];
const gflops: Record<string, number[]> = {}; // `${n} ${path}` -> per round
for (let round = 0; round < rounds; round++)
  for (const n of sizes) {
    const a = randomHandle(n * n, [n, n]), b = randomHandle(n * n, [n, n]);
    for (const path of paths) {
      if (path === 'builtin') process.env.FSNN_BLAS = 'builtin';
      else delete process.env.FSNN_BLAS;
      if (native.info().blas !== path) throw new Error(`asked for the ${path} sgemm, the addon reports ${native.info().blas}`);
      const reps = n >= 1024 ? 5 : 20;
      const ms = timeMs(() => native.runKernel('matmul', [a, b], { transA: false, transB: false }).dispose(), reps, 2);
      (gflops[`${n} ${path}`] ??= []).push((2 * n ** 3) / (ms * 1e6));
    }
    delete process.env.FSNN_BLAS;
    a.dispose();
    b.dispose();
  }
const peak = Math.max(peakBefore, native.measurePeakGflops(info.threads, 1.0));
console.log(`measured FP32 FMA peak: ${peak.toFixed(1)} GFLOP/s (${info.threads} threads; the higher of before and after ` +
  `the sgemm rows); load average now ${load()}\n`);
const med = (xs: number[]) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const rows: (string | number)[][] = [['n', 'path', 'GFLOP/s (median round)', '% of peak', `builtin/OpenBLAS (range over ${rounds} rounds)`]];
for (const n of sizes)
  for (const path of paths) {
    const g = med(gflops[`${n} ${path}`]);
    let ratio = '';
    if (path === 'builtin' && info.openblas) {
      const rs = gflops[`${n} builtin`].map((v, i) => (100 * v) / gflops[`${n} openblas`][i]);
      ratio = `${Math.min(...rs).toFixed(0)}–${Math.max(...rs).toFixed(0)} %`;
    }
    rows.push([n, path, g.toFixed(1), ((100 * g) / peak).toFixed(0), ratio]);
  }
console.log(table(rows));

const n = 1 << 24;
const x = randomHandle(n, [n]), y = randomHandle(n, [n]);
const addMs = timeMs(() => native.runKernel('binary', [x, y], { op: 'add' }).dispose(), 10, 2);
const expMs = timeMs(() => native.runKernel('unary', [x], { op: 'exp' }).dispose(), 10, 2);
console.log(`\nelementwise over ${n} floats: add ${((3 * 4 * n) / (addMs * 1e6)).toFixed(1)} GB/s (${addMs.toFixed(2)} ms), ` +
  `exp ${((2 * 4 * n) / (expMs * 1e6)).toFixed(1)} GB/s (${expMs.toFixed(2)} ms)`);
