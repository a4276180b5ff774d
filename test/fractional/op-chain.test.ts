// The chain from dLoss/dK to the orders and term weights runs natively next to dLoss/dK on the tensors'
// device (Backend::fractional_chain): it must be as accurate as the float64 chain on the host
// (chainKernelGradient over the native dK), i.e. its float32 result is that float64 value correctly
// rounded (within 1e-12 relative of the rounding boundary).
import { tensor } from '../../lib';
import { buildKernel, chainKernelGradient, fractionalNeuron } from '../../lib/fractional';
import { native } from '../../lib/native';
import type { NativeHandle } from '../../types/native';

let seed = 3;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
};
const hiLo = (h: NativeHandle) => {
  const v = h.toFloat32Array(), n = v.length / 2, o = new Float64Array(n);
  for (let i = 0; i < n; i++) o[i] = v[i] + v[n + i];
  return o;
};

/** got is the float32 rounding of x: |got - x| <= half an ulp of float32 at x, plus 1e-12 |x| of slack. */
function expectRounded(got: number, x: number): void {
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x))) - 23);
  expect(Math.abs(got - x)).toBeLessThanOrEqual(ulp / 2 + 1e-12 * Math.abs(x));
}

const cases: [number, 'l1' | 'gl', number[], number[]][] = [
  [16, 'l1', [0.5], [1]],                 // the weight gradient cancels: the naive float32 contraction is off by 1.7e-5
  [64, 'l1', [0.3, 0.7], [1, 0.5]],
  [256, 'gl', [0.4, 0.8], [1, 0.3]],
  [700, 'l1', [0.6, 0.9], [0.7, 0.4]],
];
test.each(cases)('T=%d %s: gAlpha and gWeight are the float64 chain, correctly rounded to float32', (T, method, alphas, weights) => {
  const N = 150;
  const I = tensor(Float32Array.from({ length: T * N }, () => 2.5 * rnd()), [T, N]);
  const gS = Float32Array.from({ length: T * N }, () => rnd() - 0.5);
  const alpha = tensor(alphas, [alphas.length], { requiresGrad: true });
  const w = tensor(weights, [weights.length], { requiresGrad: true });
  // the exact history: one dL/dK_L per lag (the fast history's chain: test/fractional/history-fast.test.ts)
  const r = fractionalNeuron(I, alpha, w, { method, tau: 2, returnTrace: true, history: 'exact' });
  r.spikes.mul(tensor(gS, [T, N])).sum().backward();
  // Reference: the same dK (native, float64 as hi + lo) chained in float64 on the host.
  const K = buildKernel(method, alphas.map(Math.fround), weights.map(Math.fround), 1, T);
  const g = native.fractionalBackward(I.handle, r.v!.handle, r.spikes.handle, native.fromFloat32(gS, [T, N], I.device), null,
    method, Float64Array.from(alphas, Math.fround), Float64Array.from(weights, Math.fround), 1,
    { kind: 'lif', tau: 2, threshold: 1, surrogate: 'arctan', scale: 5, memory: T + 1, history: 'exact' }, { alpha: false, weight: false, pairs: true });
  const ref = chainKernelGradient(K, hiLo(g.gK!));
  const ga = alpha.grad!.toFloat32Array(), gw = w.grad!.toFloat32Array();
  for (let m = 0; m < alphas.length; m++) {
    expectRounded(ga[m], ref.gAlpha[m]);
    expectRounded(gw[m], ref.gWeight[m]);
  }
});
