// The kernels K_L against hand-computed values and series, and their alpha / weight derivatives against
// central finite differences of buildKernel itself (the native kernel module). Gamma and digamma here are
// the tests' own references (./special-reference.ts).
import { applyKernel, buildKernel, chainKernelGradient, FractionalMethod } from '../../lib/fractional/kernel';
import { refDigamma as digamma, refGamma as gamma } from './special-reference';
import { l1SecondDifferenceSeries } from '../helpers/l1-series';

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, label = ''): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    // relative per entry, with a floor of 1e-3 of the largest entry for entries that cross zero
    const tol = rel * Math.max(Math.abs(expected[i]), 1e-3 * scale);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (|diff| ${Math.abs(actual[i] - expected[i])} > ${tol})`);
    }
  }
}

function fdAlpha(method: FractionalMethod, alphas: number[], weights: number[], h: number, T: number, m: number, d = 1e-5): Float64Array {
  const up = alphas.slice();
  const dn = alphas.slice();
  up[m] += d;
  dn[m] -= d;
  const Ku = buildKernel(method, up, weights, h, T).K;
  const Kd = buildKernel(method, dn, weights, h, T).K;
  return Ku.map((v, L) => (v - Kd[L]) / (2 * d));
}

function fdWeight(method: FractionalMethod, alphas: number[], weights: number[], h: number, T: number, m: number, d = 1e-5): Float64Array {
  const up = weights.slice();
  const dn = weights.slice();
  up[m] += d;
  dn[m] -= d;
  const Ku = buildKernel(method, alphas, up, h, T).K;
  const Kd = buildKernel(method, alphas, dn, h, T).K;
  return Ku.map((v, L) => (v - Kd[L]) / (2 * d));
}

describe('kernel values', () => {
  test('l1, alpha = 0.5, h = 1: K_L = [(L+1)^p - 2 L^p + (L-1)^p] / Gamma(1.5)', () => {
    const a = 2 / Math.sqrt(Math.PI); // 1 / Gamma(3/2)
    const s2 = Math.SQRT2;
    const s3 = Math.sqrt(3);
    const { K } = buildKernel('l1', [0.5], [1], 1, 4);
    expectClose(K, [a, a * (s2 - 2), a * (s3 - 2 * s2 + 1), a * (2 - 2 * s3 + s2), a * (Math.sqrt(5) - 4 + s3)], 1e-14, 'K');
  });

  test('l1, alpha = 0.3, w = 2, h = 0.1: scale a = w h^-alpha / Gamma(1.7)', () => {
    const a = (2 * Math.pow(0.1, -0.3)) / 0.9086387328532904; // Gamma(1.7)
    const p = 0.7;
    const expected = [a];
    expected.push(a * (Math.pow(2, p) - 2));
    for (let L = 2; L <= 8; L++) expected.push(a * (Math.pow(L + 1, p) - 2 * Math.pow(L, p) + Math.pow(L - 1, p)));
    expectClose(buildKernel('l1', [0.3], [2], 0.1, 8).K, expected, 1e-13, 'K');
  });

  test('l1 second differences stay accurate at large lags (binomial series reference)', () => {
    // (L+1)^p - 2 L^p + (L-1)^p = 2 L^p sum_{k even >= 2} C(p, k) L^-k, and its p-derivative termwise.
    for (const alpha of [0.2, 0.5, 0.9]) {
      const p = 1 - alpha;
      const T = 100000;
      const ker = buildKernel('l1', [alpha], [1], 1, T);
      const a = 1 / gamma(2 - alpha);
      for (const L of [50, 1000, 99999]) {
        const [c, dcdp] = l1SecondDifferenceSeries(L, p, 12);
        expect(Math.abs(ker.K[L] / (a * c) - 1)).toBeLessThan(1e-12);
        const dA = a * (digamma(2 - alpha) * c - dcdp);
        expect(Math.abs(ker.dAlpha[0][L] / dA - 1)).toBeLessThan(1e-11);
      }
    }
  });

  test('gl, alpha = 0.5, h = 1: g_L = (-1)^L binom(1/2, L)', () => {
    const { K } = buildKernel('gl', [0.5], [1], 1, 4);
    expectClose(K, [1, -0.5, -0.125, -0.0625, -0.0390625], 1e-15, 'K');
  });

  test('gl, two terms, h = 0.5: K_L = sum_m w_m h^-alpha_m g_L(alpha_m)', () => {
    const h = 0.5;
    const g = (al: number) => [1, -al, (-al * (1 - al)) / 2, (-al * (1 - al) * (2 - al)) / 6];
    const g1 = g(0.25);
    const g2 = g(0.75);
    const expected = g1.map((v, L) => 1.5 * Math.pow(h, -0.25) * v + 0.5 * Math.pow(h, -0.75) * g2[L]);
    expectClose(buildKernel('gl', [0.25, 0.75], [1.5, 0.5], h, 3).K, expected, 1e-14, 'K');
  });

  test('euler: K = [1/h, -1/h, 0, ...], no order or weight derivatives', () => {
    const ker = buildKernel('euler', [], [], 0.25, 4);
    expect(Array.from(ker.K)).toEqual([4, -4, 0, 0, 0]);
    expect(ker.dAlpha).toEqual([]);
    expect(ker.dWeight).toEqual([]);
    expect(ker.method).toBe('euler');
  });

  test('multi-term l1 is the sum of the single-term kernels', () => {
    const h = 0.2;
    const T = 30;
    const K = buildKernel('l1', [0.3, 0.7], [1, 0.5], h, T).K;
    const K1 = buildKernel('l1', [0.3], [1], h, T).K;
    const K2 = buildKernel('l1', [0.7], [0.5], h, T).K;
    expectClose(K, K1.map((v, L) => v + K2[L]), 1e-14, 'K');
  });

  test.each([1, 0.1, 0.37, 3, 1e-3])('alpha = 1 reduces exactly (bitwise) to euler, h = %p', (h) => {
    const euler = buildKernel('euler', [], [], h, 12).K;
    for (const method of ['l1', 'gl'] as const) {
      const K = buildKernel(method, [1], [1], h, 12).K;
      for (let L = 0; L <= 12; L++) expect(Object.is(K[L], euler[L])).toBe(true);
    }
  });
});

describe('derivatives against central finite differences', () => {
  const T = 40;
  const cases: Array<[FractionalMethod, number[], number[], number]> = [];
  for (const method of ['l1', 'gl'] as const) {
    for (const h of [1, 0.1, 3.7]) {
      for (const alpha of [0.3, 0.5383, 0.75, 0.95]) cases.push([method, [alpha], [1], h]);
    }
    cases.push([method, [0.3, 0.7, 0.9], [1, 0.5, -0.2], 0.05]);
    cases.push([method, [0.45, 0.6], [0.8, 1.3], 2.5]);
  }

  test.each(cases)('%s alphas %j weights %j h = %p', (method, alphas, weights, h) => {
    const ker = buildKernel(method, alphas, weights, h, T);
    expect(ker.dAlpha.length).toBe(alphas.length);
    expect(ker.dWeight.length).toBe(alphas.length);
    for (let m = 0; m < alphas.length; m++) {
      expectClose(ker.dAlpha[m], fdAlpha(method, alphas, weights, h, T, m), 1e-6, `dAlpha[${m}]`);
      expectClose(ker.dWeight[m], fdWeight(method, alphas, weights, h, T, m), 1e-6, `dWeight[${m}]`);
    }
  });

  test.each(['l1', 'gl'] as const)('%s at the endpoint alpha = 1 (one-sided second-order difference)', (method) => {
    const h = 0.3;
    const d = 1e-5;
    const K = (al: number) => buildKernel(method, [al], [1], h, T).K;
    const [K0, K1, K2] = [K(1), K(1 - d), K(1 - 2 * d)];
    const fd = K0.map((v, L) => (3 * v - 4 * K1[L] + K2[L]) / (2 * d));
    expectClose(buildKernel(method, [1], [1], h, T).dAlpha[0], fd, 1e-6, 'dAlpha');
  });

  test('dropping the digamma term (d/dalpha of 1/Gamma(2 - alpha) ignored) gives a wrong derivative', () => {
    const alpha = 0.3;
    const h = 0.1;
    const ker = buildKernel('l1', [alpha], [1], h, T);
    const fd = fdAlpha('l1', [alpha], [1], h, T, 0);
    // Without the Gamma factor's derivative: dK_L/dalpha loses psi(2 - alpha) K_L.
    const dropped = ker.dAlpha[0].map((v, L) => v - digamma(2 - alpha) * ker.K[L]);
    expectClose(ker.dAlpha[0], fd, 1e-6, 'exact');
    expect(() => expectClose(dropped, fd, 1e-6, 'dropped')).toThrow();
    expect(Math.abs(dropped[0] - fd[0]) / Math.abs(fd[0])).toBeGreaterThan(0.05);
  });
});

describe('chainKernelGradient', () => {
  test('equals the finite-difference gradient of sum_L gK_L K_L', () => {
    const alphas = [0.35, 0.8];
    const weights = [1.2, 0.4];
    const h = 0.2;
    const T = 25;
    const gK = Array.from({ length: T + 1 }, (_, L) => Math.sin(1.3 * L + 0.4) / (1 + L));
    const loss = (al: number[], w: number[]) => {
      const K = buildKernel('l1', al, w, h, T).K;
      return K.reduce((s, v, L) => s + v * gK[L], 0);
    };
    const { gAlpha, gWeight } = chainKernelGradient(buildKernel('l1', alphas, weights, h, T), gK);
    const d = 1e-5;
    for (let m = 0; m < 2; m++) {
      const au = alphas.slice();
      const ad = alphas.slice();
      au[m] += d;
      ad[m] -= d;
      const wu = weights.slice();
      const wd = weights.slice();
      wu[m] += d;
      wd[m] -= d;
      const fa = (loss(au, weights) - loss(ad, weights)) / (2 * d);
      const fw = (loss(alphas, wu) - loss(alphas, wd)) / (2 * d);
      expect(Math.abs(gAlpha[m] - fa)).toBeLessThan(1e-6 * Math.abs(fa));
      expect(Math.abs(gWeight[m] - fw)).toBeLessThan(1e-6 * Math.abs(fw));
    }
  });

  test('euler has no parameters: empty gradients', () => {
    const r = chainKernelGradient(buildKernel('euler', [], [], 1, 3), [1, 2, 3, 4]);
    expect(r.gAlpha.length).toBe(0);
    expect(r.gWeight.length).toBe(0);
  });

  test('a gK of the wrong length is rejected', () => {
    const ker = buildKernel('gl', [0.5], [1], 1, 5);
    expect(() => chainKernelGradient(ker, [1, 2, 3])).toThrow(/gK has length 3 but the kernel has 6 entries .*pass dLoss\/dK_L for every L = 0..T/);
  });
});

describe('applyKernel', () => {
  test('sum_{L=0}^{n} K_L y_{n-L}', () => {
    expect(applyKernel([2, -1, 0.5], [1, 10, 100], 2)).toBe(2 * 100 - 10 + 0.5);
    expect(applyKernel([2, -1, 0.5], [1, 10, 100], 1)).toBe(2 * 10 - 1);
  });
  test('rejects n past the kernel or the samples', () => {
    expect(() => applyKernel([1, 2], [1, 2, 3], 2)).toThrow(/step n = 2 must be an integer in \[0, 1\]/);
    expect(() => applyKernel([1, 2, 3], [1], 1)).toThrow(/build the kernel with T >= n and pass y_0..y_n/);
  });
});

describe('input validation', () => {
  test.each([0, -0.2, 1.0000001, 2, NaN, Infinity])('alpha = %p is outside (0, 1]', (alpha) => {
    for (const method of ['l1', 'gl'] as const) {
      expect(() => buildKernel(method, [0.5, alpha], [1, 1], 1, 4)).toThrow(
        new RegExp(`alphas\\[1\\] = ${alpha} is outside \\(0, 1\\]; use an order with 0 < alpha <= 1`),
      );
    }
  });

  test('orders and weights of different lengths', () => {
    expect(() => buildKernel('l1', [0.5, 0.6], [1], 1, 4)).toThrow(/orders \(2\) and weights \(1\) have different lengths; give one weight per order/);
  });

  test('zero terms', () => {
    expect(() => buildKernel('gl', [], [], 1, 4)).toThrow(/zero terms; give at least one order alpha in \(0, 1\]/);
  });

  test('non-finite weight', () => {
    expect(() => buildKernel('l1', [0.5], [NaN], 1, 4)).toThrow(/weights\[0\] = NaN is not a finite number/);
  });

  test.each([0, -1, NaN, Infinity])('h = %p', (h) => {
    for (const method of ['l1', 'gl', 'euler'] as const) {
      expect(() => buildKernel(method, [0.5], [1], h, 4)).toThrow(new RegExp(`step h = ${h} must be a finite number > 0`));
    }
  });

  test.each([0, -3, 2.5, NaN])('T = %p', (T) => {
    for (const method of ['l1', 'gl', 'euler'] as const) {
      expect(() => buildKernel(method, [0.5], [1], 1, T)).toThrow(new RegExp(`T = ${T} must be an integer >= 1`));
    }
  });

  test('unknown method', () => {
    expect(() => buildKernel('caputo' as FractionalMethod, [0.5], [1], 1, 4)).toThrow(/method 'caputo' is unknown; use one of 'l1'/);
  });

  test.each([
    ['l1', [0.5], [0]],
    ['gl', [0.5], [0]],
    ['l1', [0.4, 0.6], [-1, -2]],
    ['l1', [0.4, 0.6], [1, -5]],
    ['gl', [0.3], [-0.1]],
  ] as Array<[FractionalMethod, number[], number[]]>)('%s alphas %j weights %j: K_0 <= 0', (method, alphas, weights) => {
    expect(() => buildKernel(method, alphas, weights, 0.5, 4)).toThrow(
      /K_0 = -?[0-9.e+-]+ <= 0: the fractional operator is not invertible; give at least one positive coefficient/,
    );
  });

  test('a negative weight is fine while K_0 stays positive', () => {
    const ker = buildKernel('l1', [0.4, 0.6], [1, -0.5], 1, 4);
    expect(ker.K[0]).toBeCloseTo(1 / gamma(1.6) - 0.5 / gamma(1.4), 14);
  });
});
