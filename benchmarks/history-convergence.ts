// npm run bench:history-convergence — the observed convergence order of the fractional neuron op (float32,
// one neuron, no spikes) with the exact and the fast history, T = 256 .. 65,536 (h = 1/T), on two problems:
//  * relaxation  D^alpha v = -v + 1 (LIF, tau = 1, I = 1): v(1) = 1 - E_alpha(-1) (Mittag-Leffler). The scheme
//    is explicit in v, so both methods converge at first order.
//  * consistency D^alpha v = 2 t^(2-alpha) / Gamma(3-alpha) (IF, tau = 1, I_k at t_{k+1}): v(1) = 1. This shows
//    the kernels' own order: l1 2 - alpha, gl 1.
// Printed per T: |error| for exact and fast, and the order of each doubling; the float32 floor (the rounding of
// the history sums, ~h^-alpha times larger than v) ends the clean range of both alike.
//   FSNN_BENCH_TMAX=65536 (default)   FSNN_BENCH_EXACT_TMAX=65536 (the exact history is O(T^2))
import { noGrad } from '../lib/autograd/grad-mode';
import { tensor } from '../lib/creation';
import { FractionalMethod } from '../lib/fractional/kernel';
import { FractionalHistory, fractionalNeuron } from '../lib/fractional/op';
import '../lib/ops/methods';
import { machine, table } from './common';
import { refLgamma as lgamma, refMittagLeffler as mittagLeffler } from '../test/fractional/special-reference';

type Problem = 'relaxation' | 'consistency';
function endValue(problem: Problem, method: FractionalMethod, alpha: number, T: number, history: FractionalHistory): number {
  return noGrad(() => {
    const h = 1 / T;
    const I = problem === 'relaxation' ? new Float32Array(T).fill(1)
      : Float32Array.from({ length: T }, (_, k) => 2 * Math.pow((k + 1) * h, 2 - alpha) / Math.exp(lgamma(3 - alpha)));
    const v = fractionalNeuron(tensor(I, [T, 1, 1]), tensor([alpha]), null, {
      method, kind: problem === 'relaxation' ? 'lif' : 'if', tau: 1, threshold: 1e30, h, history, returnTrace: true,
    }).v!;
    return v.toFloat32Array()[T - 1];
  });
}

const TMAX = Number(process.env.FSNN_BENCH_TMAX ?? 65536), EXACT_TMAX = Number(process.env.FSNN_BENCH_EXACT_TMAX ?? 65536);
const Ts: number[] = [];
for (let T = 256; T <= TMAX; T *= 2) Ts.push(T);
console.log(`machine: ${machine()}`);
for (const problem of ['relaxation', 'consistency'] as Problem[]) {
  for (const [method, alpha] of [['l1', 0.5], ['l1', 0.8], ['gl', 0.3], ['gl', 0.7]] as Array<[FractionalMethod, number]>) {
    const truth = problem === 'relaxation' ? 1 - mittagLeffler(alpha, -1) : 1;
    const expected = problem === 'relaxation' ? 1 : method === 'l1' ? 2 - alpha : 1;
    const rows: (string | number)[][] = [['T', 'exact |err|', 'order', 'fast |err|', 'order']];
    let pe = NaN, pf = NaN;
    for (const T of Ts) {
      const ee = T <= EXACT_TMAX ? Math.abs(endValue(problem, method, alpha, T, 'exact') - truth) : NaN;
      const ef = Math.abs(endValue(problem, method, alpha, T, 'fast') - truth);
      const o = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? Math.log2(a / b).toFixed(2) : '-');
      rows.push([T, Number.isFinite(ee) ? ee.toExponential(2) : 'skipped', o(pe, ee), ef.toExponential(2), o(pf, ef)]);
      pe = ee;
      pf = ef;
    }
    console.log(`\n${problem}, ${method} alpha = ${alpha} (expected order ${expected})\n${table(rows)}`);
  }
}
