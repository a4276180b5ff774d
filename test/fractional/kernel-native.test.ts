// The native kernel module (native/fractional_kernel.cc) against float64 evaluations written here from
// the closed forms, independently of its formulas, and the op's native chain to the orders, weights and
// a learnable tau against the same chain done on the host in float64.
//   l1: K_L = sum_m a_m c_L(p_m), a_m = w_m h^-alpha_m / Gamma(2 - alpha_m), p = 1 - alpha,
//       c_L = (L+1)^p - 2 L^p + (L-1)^p evaluated directly (small L) or by its binomial series
//       2 L^p sum_{k even >= 2} C(p, k) L^-k, whose terms all have one sign (large L);
//       dK_L/dalpha_m = a_m [(psi(2 - alpha_m) - ln h) c_L - dc_L/dp], dc_L/dp differentiated termwise.
//   gl: g_L = (-1)^L binom(alpha, L) = -alpha Gamma(L - alpha) / (Gamma(1 - alpha) L!)  (L >= 1), the
//       Gamma-ratio form (not the recurrence; a sum of logarithms at large L), and
//       dg_L/dalpha = g_L [1/alpha - psi(L - alpha) + psi(1 - alpha)].
//   dK/dw_m: the single-term kernel with w = 1 (K is linear in w), and Richardson-extrapolated central
//   differences of the native K for both derivatives.
import { tensor } from '../../lib';
import { buildKernel, chainKernelGradient, FractionalKernel, FractionalMethod } from '../../lib/fractional/kernel';
import { fractionalNeuron } from '../../lib/fractional/op';
import { native } from '../../lib/native';
import type { NativeHandle } from '../../types/native';
import { refDigamma, refGamma, refLgamma } from './special-reference';
import { fractionalForwardRaw } from '../../lib/fractional/op';
import { l1SecondDifferenceSeries } from '../helpers/l1-series';

/** max_L |got_L - want_L| / max(|want_L|, floor * max_L |want_L|). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>, floor = 0): number {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (d === 0) continue;
    worst = Math.max(worst, d / Math.max(Math.abs(want[i]), floor * scale, 1e-300));
  }
  return worst;
}

/** c_L(p) and dc_L/dp: direct differences for L < 8, the binomial series beyond. */
function l1Difference(L: number, p: number): [number, number] {
  if (L === 0) return [1, 0];
  if (L === 1) return [2 ** p - 2, 2 ** p * Math.LN2];
  if (L < 8) {
    const [u, m, d] = [L + 1, L, L - 1];
    const c = u ** p - 2 * m ** p + d ** p;
    const dc = u ** p * Math.log(u) - 2 * m ** p * Math.log(m) + (d === 1 ? 0 : d ** p * Math.log(d));
    return [c, dc];
  }
  return l1SecondDifferenceSeries(L, p, 40);
}

/**
 * g_L(alpha) and dg_L/dalpha (alpha < 1). L <= 40: the Gamma-ratio form with ln Gamma (whose rounding,
 * about eps ln Gamma(L), would dominate at large L); beyond, the same product as a sum of logarithms:
 *   g_L = -alpha exp( sum_{j=2}^{L} log1p(-(1 + alpha)/j) ),  dg_L/dalpha = g_L [1/alpha - sum_{i=1}^{L-1} 1/(i - alpha)].
 */
function glWeight(L: number, alpha: number): [number, number] {
  if (L === 0) return [1, 0];
  if (L <= 40) {
    const g = -alpha * Math.exp(refLgamma(L - alpha) - refLgamma(1 - alpha) - refLgamma(L + 1));
    return [g, g * (1 / alpha - refDigamma(L - alpha) + refDigamma(1 - alpha))];
  }
  let lnAbs = 0, dLn = 1 / alpha;
  for (let j = 2; j <= L; j++) lnAbs += Math.log1p(-(1 + alpha) / j);
  for (let i = 1; i < L; i++) dLn -= 1 / (i - alpha);
  const g = -alpha * Math.exp(lnAbs);
  return [g, g * dLn];
}

/** The kernel and its derivatives evaluated here, from the closed forms above. */
function reference(method: 'l1' | 'gl', alphas: number[], weights: number[], h: number, T: number): FractionalKernel {
  const K = new Float64Array(T + 1);
  const dAlpha: Float64Array[] = [], dWeight: Float64Array[] = [];
  alphas.forEach((alpha, m) => {
    const dA = new Float64Array(T + 1), dW = new Float64Array(T + 1);
    const b = method === 'l1' ? h ** -alpha / refGamma(2 - alpha) : h ** -alpha;
    for (let L = 0; L <= T; L++) {
      if (method === 'l1') {
        const [c, dc] = l1Difference(L, 1 - alpha);
        dW[L] = b * c;
        dA[L] = weights[m] * b * ((refDigamma(2 - alpha) - Math.log(h)) * c - dc);
      } else {
        const [g, dg] = glWeight(L, alpha);
        dW[L] = b * g;
        dA[L] = weights[m] * b * (dg - Math.log(h) * g);
      }
      K[L] += weights[m] * dW[L];
    }
    dAlpha.push(dA);
    dWeight.push(dW);
  });
  return { method, K, dAlpha, dWeight };
}

/** Richardson-extrapolated central difference of the native K in one order or weight (error O(d^4)). */
function fd(method: FractionalMethod, alphas: number[], weights: number[], h: number, T: number, which: 'alpha' | 'weight', m: number, d: number): Float64Array {
  const at = (delta: number) => {
    const a = alphas.slice(), w = weights.slice();
    if (which === 'alpha') a[m] += delta;
    else w[m] += delta;
    return buildKernel(method, a, w, h, T).K;
  };
  const D = (s: number) => {
    const up = at(s), dn = at(-s);
    return up.map((v, L) => (v - dn[L]) / (2 * s));
  };
  const D1 = D(d), D2 = D(d / 2);
  return D2.map((v, L) => (4 * v - D1[L]) / 3);
}

const CASES: [('l1' | 'gl'), number[], number[], number, number][] = [
  ['l1', [0.5], [1], 1, 60],
  ['l1', [0.05], [1], 0.1, 200],
  ['l1', [0.3, 0.7], [1, 0.5], 0.2, 500],
  ['l1', [0.15, 0.55, 0.95], [0.8, -0.3, 1.4], 3.7, 2000],
  ['gl', [0.5], [1], 1, 60],
  ['gl', [0.05], [2], 0.1, 200],
  ['gl', [0.25, 0.75], [1.5, 0.5], 0.5, 500],
  ['gl', [0.35, 0.6, 0.9], [0.7, 1.1, -0.2], 2.5, 2000],
];

describe('native K and its derivatives against the closed forms', () => {
  test.each(CASES)('%s alphas %j weights %j h %p T %p', (method, alphas, weights, h, T) => {
    const k = buildKernel(method, alphas, weights, h, T);
    const ref = reference(method, alphas, weights, h, T);
    expect(k.method).toBe(method);
    // Relative per entry; entries near a zero crossing (multi-term K; dK/dalpha, whose terms change sign)
    // are measured against 1e-6 (1e-4) of the largest: cancellation of the parts, in both evaluations.
    const floor = alphas.length > 1 ? 1e-6 : 0;
    // eslint-disable-next-line no-console
    if (process.env.SHOW_ERR) console.log(`${method} ${JSON.stringify(alphas)} T=${T}: K ${relErr(k.K, ref.K, floor).toExponential(1)}, ` +
      `dK/dw ${Math.max(...k.dWeight.map((d, m) => relErr(d, ref.dWeight[m]))).toExponential(1)}, ` +
      `dK/dalpha ${Math.max(...k.dAlpha.map((d, m) => relErr(d, ref.dAlpha[m], 1e-4))).toExponential(1)}`);
    expect(relErr(k.K, ref.K, floor)).toBeLessThan(5e-13);
    for (let m = 0; m < alphas.length; m++) {
      expect(relErr(k.dWeight[m], ref.dWeight[m])).toBeLessThan(5e-13);
      expect(relErr(k.dAlpha[m], ref.dAlpha[m], 1e-4)).toBeLessThan(5e-12);
      // dK/dw_m is the single-term kernel at w = 1 (K is linear in the weights).
      expect(relErr(k.dWeight[m], buildKernel(method, [alphas[m]], [1], h, T).K)).toBeLessThan(1e-15);
    }
  });

  test.each(CASES.filter(([, , , , T]) => T <= 500))('central differences: %s alphas %j weights %j h %p T %p', (method, alphas, weights, h, T) => {
    const k = buildKernel(method, alphas, weights, h, T);
    for (let m = 0; m < alphas.length; m++) {
      const d = Math.min(1e-3, alphas[m] / 4, (1 - alphas[m]) / 4 || 1e-3);
      expect(relErr(k.dAlpha[m], fd(method, alphas, weights, h, T, 'alpha', m, d), 1e-6)).toBeLessThan(1e-8);
      expect(relErr(k.dWeight[m], fd(method, alphas, weights, h, T, 'weight', m, 1e-2), 1e-6)).toBeLessThan(1e-10);
    }
  });

  test('the references are sharp: a 1e-10 change of an order shows, so does dropping the digamma term', () => {
    const ref = reference('l1', [0.4], [1], 0.3, 100), k = buildKernel('l1', [0.4 + 1e-10], [1], 0.3, 100);
    expect(relErr(k.K, ref.K)).toBeGreaterThan(1e-11);
    const noPsi = ref.dAlpha[0].map((v, L) => v - refDigamma(1.6) * ref.K[L]);
    expect(relErr(buildKernel('l1', [0.4], [1], 0.3, 100).dAlpha[0], noPsi)).toBeGreaterThan(0.1);
  });
});

describe('the kernel cache: every call gets the kernel of its own (method, alphas, weights, h, T)', () => {
  test('forward outputs with interleaved kernels equal those of fresh calls', () => {
    const T = 20, N = 7;
    const I = tensor(Float32Array.from({ length: T * N }, (_, i) => 1.5 * Math.abs(Math.sin(i))), [T, N]);
    const run = (h: number, a: number, method: 'l1' | 'gl' = 'l1') =>
      Array.from(fractionalNeuron(I, tensor([a]), null, { h, method, returnTrace: true, threshold: 0.9 }).v!.toFloat32Array());
    const first = run(1, 0.5);
    const others = [run(0.5, 0.5), run(1, 0.5, 'gl'), run(1, Math.fround(0.5) + 2 ** -24)];
    for (const o of others) expect(o).not.toEqual(first);
    for (let i = 0; i < 20; i++) run(1, 0.1 + 0.04 * i);  // more kernels than the cache holds
    expect(run(1, 0.5)).toEqual(first);
    expect(run(0.5, 0.5)).toEqual(others[0]);
  });
});

// ---- the chain through the op, in float64 accuracy ----------------------------------------------

const hiLo = (h: NativeHandle) => {
  const v = h.toFloat32Array(), n = v.length / 2, o = new Float64Array(n);
  for (let i = 0; i < n; i++) o[i] = v[i] + v[n + i];
  return o;
};

/** got (float32) is x correctly rounded: |got - x| <= half an ulp of float32 at x, plus 1e-12 |x|. */
function expectRounded(got: number, x: number, what: string): void {
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x))) - 23);
  if (!(Math.abs(got - x) <= ulp / 2 + 1e-12 * Math.abs(x))) throw new Error(`${what}: got ${got}, float64 chain ${x} (ulp ${ulp})`);
}

describe('the op chains dL/dK and dL/dtau natively: the float64 value, correctly rounded to float32', () => {
  const cases: { method: 'l1' | 'gl'; alphas: number[]; weights: number[]; h: number; T: number; memory?: number; kind?: 'lif' | 'if' }[] = [
    { method: 'l1', alphas: [0.5], weights: [1], h: 1, T: 16 },
    { method: 'l1', alphas: [0.2, 0.85], weights: [1.3, 0.4], h: 0.25, T: 130, memory: 40 },
    { method: 'gl', alphas: [0.45], weights: [0.9], h: 2, T: 300, kind: 'if' },
    { method: 'gl', alphas: [0.3, 0.6, 0.95], weights: [1, 0.5, 0.25], h: 1, T: 520 },
  ];
  test.each(cases.map((c) => [`${c.method} terms=${c.alphas.length} h=${c.h} T=${c.T} M=${c.memory ?? 'full'}`, c] as const))('%s', (_, c) => {
    const N = 60, tau0 = 0.6, thetaValue = Math.fround(-0.4);
    let seed = 11;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const I = tensor(Float32Array.from({ length: c.T * N }, () => 2 * rnd()), [c.T, N]);
    const gS = Float32Array.from({ length: c.T * N }, () => rnd() - 0.5);
    const gV = Float32Array.from({ length: c.T * N }, () => 0.1 * (rnd() - 0.5));
    const alpha = tensor(c.alphas, [c.alphas.length], { requiresGrad: true });
    const w = tensor(c.weights, [c.weights.length], { requiresGrad: true });
    const theta = tensor([thetaValue], [1], { requiresGrad: true });
    // the exact history: its dL/dK has one entry per lag (the fast history's chain: test/fractional/history-fast.test.ts)
    const opts = { method: c.method, h: c.h, memory: c.memory, kind: c.kind, tau0, threshold: 0.8, returnTrace: true, history: 'exact' } as const;
    const r = fractionalNeuron(I, alpha, w, { ...opts, tauTheta: theta });
    r.spikes.mul(tensor(gS, [c.T, N])).sum().add(r.v!.mul(tensor(gV, [c.T, N])).sum()).backward();
    // The host chain: the same native dL/dK and dL/dtau (float64 as hi + lo) through the float64 tables.
    const a32 = c.alphas.map(Math.fround), w32 = c.weights.map(Math.fround);
    const tau = tau0 * (1 + Math.exp(thetaValue));
    const g = native.fractionalBackward(I.handle, r.v!.handle, r.spikes.handle, native.fromFloat32(gS, [c.T, N], I.device),
      native.fromFloat32(gV, [c.T, N], I.device), c.method, Float64Array.from(a32), Float64Array.from(w32), c.h,
      { kind: c.kind ?? 'lif', tau, threshold: 0.8, surrogate: 'arctan', scale: 5, memory: c.memory ?? c.T + 1, history: 'exact' }, { alpha: false, weight: false, pairs: true });
    const ref = chainKernelGradient(buildKernel(c.method, a32, w32, c.h, c.T), hiLo(g.gK!));
    const ga = alpha.grad!.toFloat32Array(), gw = w.grad!.toFloat32Array();
    for (let m = 0; m < c.alphas.length; m++) {
      expectRounded(ga[m], ref.gAlpha[m], `dL/dalpha_${m}`);
      expectRounded(gw[m], ref.gWeight[m], `dL/dw_${m}`);
    }
    expectRounded(theta.grad!.toFloat32Array()[0], hiLo(g.gTauPair!)[0] * tau0 * Math.exp(thetaValue), 'dL/dtheta');
    expect(theta.grad!.shape).toEqual([1]);
    for (const x of [g.gI, g.gK!, g.gTauPair!]) x.dispose();
  });

  test('only the requested gradients are chained; euler has none', () => {
    const T = 6, N = 4;
    const I = native.fromFloat32(new Float32Array(T * N).fill(0.7), [T, N], 'cpu');
    const spec = ['l1', new Float64Array([0.5]), new Float64Array([1]), 1] as const;
    const params = { kind: 'lif', tau: 0.5, threshold: 1, surrogate: 'arctan', scale: 5, memory: T + 1 } as const;
    const f = fractionalForwardRaw(I, ...spec, params, true);
    const gS = native.runKernel('full', [], { shape: [T, N], value: 1, device: 'cpu' });
    const none = native.fractionalBackward(I, f.v!, f.spikes, gS, null, ...spec, params, { alpha: false, weight: false });
    expect([none.gAlpha, none.gWeight, none.gTau, none.gK]).toEqual([null, null, null, undefined]);
    const some = native.fractionalBackward(I, f.v!, f.spikes, gS, null, ...spec, params, { alpha: false, weight: true, tauScale: 2 });
    expect(some.gAlpha).toBeNull();
    expect(some.gWeight!.shape).toEqual([1]);
    expect(some.gTau!.shape).toEqual([1]);
    const euler = native.fractionalBackward(I, f.v!, f.spikes, gS, null, 'euler', new Float64Array(0), new Float64Array(0), 1, params,
      { alpha: true, weight: true });
    expect([euler.gAlpha, euler.gWeight]).toEqual([null, null]);
    expect(() => native.fractionalBackward(I, f.v!, f.spikes, gS, null, 'l1', new Float64Array([0.5]), new Float64Array([1]), 1, params,
      { alpha: true, weight: true, tauScale: NaN })).toThrow(/tau gradient scale nan is not finite/i);
  });

  test('bad kernel arguments to the native op: clear errors naming the value', () => {
    const I = native.fromFloat32(new Float32Array(8), [4, 2], 'cpu');
    const params = { kind: 'lif', tau: 0.5, threshold: 1, surrogate: 'arctan', scale: 5, memory: 5 } as const;
    expect(() => fractionalForwardRaw(I, 'rk4' as 'l1', new Float64Array([0.5]), new Float64Array([1]), 1, params, false)).toThrow(/'rk4' is unknown; use one of 'l1', 'gl', 'euler', 'pred', 'trap'/);
    expect(() => fractionalForwardRaw(I, 'pred', new Float64Array([0.3, 0.6]), new Float64Array([1, 1]), 1, params, false)).toThrow(/'pred' .*single-term only, got 2 orders/);
    expect(() => fractionalForwardRaw(I, 'l1', '0.5' as unknown as Float64Array, new Float64Array([1]), 1, params, false)).toThrow(/alphas/);
    expect(() => fractionalForwardRaw(I, 'l1', new Float64Array([1.5]), new Float64Array([1]), 1, params, false)).toThrow(/alphas\[0\] = 1\.5 is outside \(0, 1\]/);
    expect(() => fractionalForwardRaw(I, 'gl', new Float64Array([1]), new Float64Array([1]), 1e-320, params, false))
      .toThrow(/K_0 = Infinity is not finite \(h = 1e-320\): the step is too small/);
  });
});
