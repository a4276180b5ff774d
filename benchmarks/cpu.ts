// npm run bench:cpu — sgemm GFLOP/s at n = 256, 512, 1024 for OpenBLAS and the built-in kernel,
// elementwise GB/s, and the machine's measured FMA peak, all in the same run.
import { native } from '../lib/native';
import { machine, table, timeMs } from './common';

const info = native.info();
console.log(`machine: ${machine()}; addon: ${info.cpu}`);
const peak = native.measurePeakGflops(info.threads, 1.0);
console.log(`measured FP32 FMA peak: ${peak.toFixed(1)} GFLOP/s (${info.threads} threads)\n`);

function randomHandle(n: number, shape: number[]) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return native.fromFloat32(a, shape, 'cpu');
}

const rows: (string | number)[][] = [['n', 'path', 'ms', 'GFLOP/s', '% of peak', 'builtin/OpenBLAS']];
for (const n of [256, 512, 1024]) {
  const a = randomHandle(n * n, [n, n]), b = randomHandle(n * n, [n, n]);
  const gflops: Record<string, number> = {};
  const paths = info.openblas ? ['openblas', 'builtin'] : ['builtin'];
  for (const path of paths) {
    if (path === 'builtin') process.env.FSNN_BLAS = 'builtin';
    else delete process.env.FSNN_BLAS;
    const reps = n >= 1024 ? 5 : 20;
    const ms = timeMs(() => native.matmul(a, b, false, false).dispose(), reps, 2);
    gflops[path] = (2 * n ** 3) / (ms * 1e6);
    rows.push([n, path, ms.toFixed(3), gflops[path].toFixed(1), ((100 * gflops[path]) / peak).toFixed(1),
      path === 'builtin' && gflops.openblas ? `${((100 * gflops.builtin) / gflops.openblas).toFixed(0)}%` : '']);
  }
  delete process.env.FSNN_BLAS;
}
console.log(table(rows));

const n = 1 << 24;
const x = randomHandle(n, [n]), y = randomHandle(n, [n]);
const addMs = timeMs(() => native.binary(0, x, y).dispose(), 10, 2);
const expMs = timeMs(() => native.unary(1, x).dispose(), 10, 2);
console.log(`\nelementwise over ${n} floats: add ${((3 * 4 * n) / (addMs * 1e6)).toFixed(1)} GB/s (${addMs.toFixed(2)} ms), ` +
  `exp ${((2 * 4 * n) / (expMs * 1e6)).toFixed(1)} GB/s (${expMs.toFixed(2)} ms)`);
