// npm run bench:fractional — the fractional neuron op on the CPU: neuron-steps/s and GFMA/s for the
// forward and the backward at T in {16, 64, 256, 1024} with B·N = 131,072 neurons. "% of peak" is
// against one FMA peak measured in this run: the higher of two measurements, one before and one after
// the rows (on a shared machine the two differ; both and the load average are printed).
// FMAs counted: the history sum, sum_{k<T} min(k, M-1).
import * as os from 'os';
import { native } from '../lib/native';
import { machine, table, timeMs } from './common';
import type { FractionalNativeGrads } from '../types/native';
import { fractionalForwardRaw } from '../lib/fractional/op';

/** Frees the results of native.fractionalBackward (gI, and the parameter gradients, which stay on the device). */
const disposeGrads = (g: FractionalNativeGrads) => [g.gI, g.gAlpha, g.gWeight, g.gTau].forEach((h) => h?.dispose());
/** The backward as a training step with learnable alpha runs it: with the chain to alpha and the weight. */
const GRADS = { alpha: true, weight: true };

const info = native.info();
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`machine: ${machine()}; ${info.threads} threads; load average ${load()}`);
const peakBefore = native.measurePeakGflops(info.threads, 1.0) / 2;

const N = 131072;
const Ts = (process.env.FSNN_BENCH_T ?? '16,64,256,1024').split(',').map(Number);
const measured: { T: number; pass: string; ms: number; gfma: number }[] = [];
for (const T of Ts) {
  const I = new Float32Array(T * N);
  for (let i = 0; i < I.length; i++) I[i] = 0.8 * Math.sin(i * 0.37) + 0.6;
  const Ih = native.fromFloat32(I, [T, N], 'cpu');
  const K = ['l1', new Float64Array([0.6]), new Float64Array([1]), 0.1] as const;  // kernel spec
  const params = { kind: 'lif' as const, tau: 2, threshold: 1, surrogate: 'arctan' as const, scale: 5, memory: T + 1 };
  const fmas = ((T * (T - 1)) / 2) * N; // history terms: sum_{k=0}^{T-1} k
  const reps = T >= 1024 ? 2 : 5;
  let saved = fractionalForwardRaw(Ih, ...K, params, true);
  const fwdMs = timeMs(() => {
    const r = fractionalForwardRaw(Ih, ...K, params, true);
    r.spikes.dispose();
    r.v?.dispose();
  }, reps, 1);
  const gS = native.runKernel('full', [], { shape: [T, N], value: 0.01, device: 'cpu' });
  const bwdMs = timeMs(() => disposeGrads(native.fractionalBackward(Ih, saved.v!, saved.spikes, gS, null, ...K, params, GRADS)), reps, 1);
  for (const [pass, ms, work] of [['forward', fwdMs, fmas], ['backward', bwdMs, 2 * fmas]] as const) {
    const gfma = work / (ms * 1e6);
    measured.push({ T, pass, ms, gfma });
  }
  saved.spikes.dispose();
  saved.v?.dispose();
  Ih.dispose();
  gS.dispose();
  saved = undefined as never;
}
const peakAfter = native.measurePeakGflops(info.threads, 1.0) / 2;
const peakGfma = Math.max(peakBefore, peakAfter);
console.log(`measured FP32 peak: ${peakGfma.toFixed(1)} GFMA/s (${(2 * peakGfma).toFixed(1)} GFLOP/s), the higher of ` +
  `${peakBefore.toFixed(1)} (before the rows) and ${peakAfter.toFixed(1)} (after); load average now ${load()}\n`);
const rows: (string | number)[][] = [['T', 'pass', 'ms', 'neuron-steps/s', 'GFMA/s', '% of peak']];
for (const m of measured)
  rows.push([m.T, m.pass, m.ms.toFixed(1), ((m.T * N) / (m.ms / 1e3)).toExponential(2), m.gfma.toFixed(1), ((100 * m.gfma) / peakGfma).toFixed(0)]);
console.log(table(rows));
console.log('\nbackward FMAs counted: the reverse history sum plus the dK correlation (2x the forward\'s history sum).');
