// npm run bench:history-crossover — where the fast (sum-of-exponentials) fractional history overtakes the
// exact O(T^2) one: the median time of one fractionalNeuron forward + backward (B x 256 LIF neurons,
// alpha [0.3, 0.8] and both term weights learnable, spikes.sum() as the loss) for both histories over T,
// per method (pred: single term, alpha [0.6]). The crossover it prints is what native/fractional_history.h's
// kFastHistoryFromT holds.
//   FSNN_BENCH_B=16  batch size (default 16);  FSNN_BENCH_TS=32,64,...  the T values;
//   FSNN_BENCH_METHODS=l1,gl,pred  the methods (default all three);
//   FSNN_BENCH_DEVICE=cuda  on the GPU (the input uploaded once per T, each run ending in cuda.synchronize();
//                           the crossover for a CUDA value of kFastHistoryFromT, which 'auto' lacks so far).
import * as os from 'os';
import { cuda } from '../lib';
import { tensor } from '../lib/creation';
import { tidy } from '../lib/memory';
import { native } from '../lib/native';
import '../lib/ops/methods';
import { FractionalHistory, fractionalNeuron } from '../lib/fractional/op';
import { machine, table, timeMs } from './common';

const B = Number(process.env.FSNN_BENCH_B ?? 16), F = 256;
const TS = (process.env.FSNN_BENCH_TS ?? '32,64,128,256,512,1024,2048').split(',').map(Number);
const METHODS = (process.env.FSNN_BENCH_METHODS ?? 'l1,gl,pred').split(',') as Array<'l1' | 'gl' | 'pred'>;
const DEVICE = (process.env.FSNN_BENCH_DEVICE ?? 'cpu') as 'cpu' | 'cuda';
if (DEVICE !== 'cpu' && DEVICE !== 'cuda') throw new Error(`FSNN_BENCH_DEVICE=${DEVICE}: use cpu or cuda`);
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

function stepMs(method: 'l1' | 'gl' | 'pred', history: FractionalHistory, T: number): number {
  let s = 12345;
  const data = Float32Array.from({ length: T * B * F }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 1.5);
  const reps = T <= 256 ? 9 : 5;
  const onGpu = DEVICE === 'cuda' ? tensor(data, [T, B, F], { device: 'cuda' }) : null;
  try {
    return timeMs(() => {
      tidy(() => {
        const I = (onGpu ? onGpu.detach() : tensor(data, [T, B, F])).requiresGrad_();
        const alphas = method === 'pred' ? [0.6] : [0.3, 0.8], weights = method === 'pred' ? [1] : [1, 0.5];
        const a = tensor(alphas, [alphas.length], { device: DEVICE }).requiresGrad_();
        const w = tensor(weights, [weights.length], { device: DEVICE }).requiresGrad_();
        fractionalNeuron(I, a, w, { method, history, tau: 2, alphaValues: alphas, weightValues: weights }).spikes.sum().backward();
      });
      if (onGpu) cuda.synchronize();
    }, reps, 1);
  } finally {
    onGpu?.dispose();
  }
}

if (DEVICE === 'cuda' && !cuda.isAvailable()) {
  console.log(`SKIPPED: the crossover on cuda: ${cuda.unavailableReason()}`);
  process.exit(0);
}
console.log(`machine: ${machine()}, threads ${native.info().threads}, load ${load()}, device ${DEVICE}${DEVICE === 'cuda' ? ` (${cuda.deviceName(0)})` : ''}`);
console.log(`one fractionalNeuron forward + backward, [T, ${B}, ${F}] LIF, alpha [0.3, 0.8] (pred [0.6]); median ms`);
for (const method of METHODS) {
  const rows: (string | number)[][] = [['T', 'exact ms', 'fast ms', 'exact/fast']];
  let crossover: number | null = null;
  for (const T of TS) {
    const e = stepMs(method, 'exact', T), f = stepMs(method, 'fast', T);
    if (crossover === null && f < e) crossover = T;
    rows.push([T, e.toFixed(2), f.toFixed(2), (e / f).toFixed(2)]);
    console.log(`row ${method} T=${T}: exact ${e.toFixed(2)} ms, fast ${f.toFixed(2)} ms`);  // as it goes: a run cut short still shows them
  }
  console.log(`\n${method}\n${table(rows)}\nfast is faster from T = ${crossover ?? `> ${TS[TS.length - 1]}`}`);
}
console.log(`\nload ${load()}`);
