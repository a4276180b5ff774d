// The pred kernel (native/fractional_kernel.cc) against float64 evaluations written here from the closed
// form, independently of its formulas:
//   b_L = r c_L,  r = h^alpha / (w Gamma(alpha + 1)),  c_L = L^alpha - (L-1)^alpha,
//   c_L evaluated directly (L < 8) or as L^alpha S(1/L), S(x) = 1 - (1-x)^alpha = sum_{k>=1} t_k,
//   t_1 = alpha x, t_{k+1} = t_k (k - alpha) x / (k + 1): every term > 0 for 0 < alpha < 1 (no cancellation);
//   dc_L/dalpha termwise (d ln t_k / dalpha = 1/alpha - sum_{i<k} 1/(i - alpha)), dK/dalpha =
//   r [(ln h - psi(alpha + 1)) c_L + dc_L/dalpha], dK/dw = -K / w; and central differences of the native K.
// Also: 'trap' is 'l1' (the same tables), and the kernel's errors for pred.
import { buildKernel } from '../../lib/fractional/kernel';
import { refDigamma, refGamma } from './special-reference';

function predFactor(L: number, a: number): [number, number] {
  if (L === 1) return [1, 0];
  if (L < 8) return [L ** a - (L - 1) ** a, L ** a * Math.log(L) - (L - 1) ** a * Math.log(L - 1)];
  const x = 1 / L;
  let t = a * x, dlnt = 1 / a, S = 0, dS = 0;
  for (let k = 1; k < 60; k++) {
    S += t;
    dS += t * dlnt;
    t *= ((k - a) * x) / (k + 1);
    dlnt -= 1 / (k - a);
  }
  const La = L ** a;
  return [La * S, Math.log(L) * La * S + La * dS];
}

function reference(alpha: number, w: number, h: number, T: number) {
  const r = h ** alpha / (w * refGamma(alpha + 1));
  const K = new Float64Array(T + 1), dA = new Float64Array(T + 1), dW = new Float64Array(T + 1);
  for (let L = 1; L <= T; L++) {
    const [c, dc] = predFactor(L, alpha);
    K[L] = r * c;
    dA[L] = r * ((Math.log(h) - refDigamma(alpha + 1)) * c + dc);
    dW[L] = -K[L] / w;
  }
  return { K, dA, dW };
}

/** max_L |got - want| / |want| over the entries L >= 1 (entry 0 must be 0 in both). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  expect(got[0]).toBe(0);
  let worst = 0;
  for (let i = 1; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.abs(want[i]));
  return worst;
}

const CASES: [number, number, number, number][] = [
  [0.5, 1, 1, 60],
  [0.05, 1, 0.1, 200],
  [0.3, 2.5, 0.2, 500],
  [0.95, 0.7, 3.7, 20000],
];

describe('the pred kernel against its closed form', () => {
  test.each(CASES)('alpha %p w %p h %p T %p', (alpha, w, h, T) => {
    const k = buildKernel('pred', [alpha], [w], h, T);
    const ref = reference(alpha, w, h, T);
    expect(k.method).toBe('pred');
    const e = [relErr(k.K, ref.K), relErr(k.dAlpha[0], ref.dA), relErr(k.dWeight[0], ref.dW)];
    // eslint-disable-next-line no-console
    if (process.env.SHOW_ERR) console.log(`pred alpha ${alpha} T=${T}: K ${e[0].toExponential(1)}, dK/dalpha ${e[1].toExponential(1)}, dK/dw ${e[2].toExponential(1)}`);
    expect(e[0]).toBeLessThan(5e-13);
    expect(e[1]).toBeLessThan(5e-12);
    expect(e[2]).toBeLessThan(5e-13);
  });

  test.each(CASES.filter(([, , , T]) => T <= 500))('central differences: alpha %p w %p h %p T %p', (alpha, w, h, T) => {
    const k = buildKernel('pred', [alpha], [w], h, T);
    const fd = (which: 'alpha' | 'weight', d: number) => {
      const at = (s: number) => (which === 'alpha' ? buildKernel('pred', [alpha + s], [w], h, T) : buildKernel('pred', [alpha], [w + s], h, T)).K;
      const D = (s: number) => { const up = at(s), dn = at(-s); return up.map((v, L) => (v - dn[L]) / (2 * s)); };
      const D1 = D(d), D2 = D(d / 2);
      return D2.map((v, L) => (4 * v - D1[L]) / 3);  // Richardson: O(d^4)
    };
    expect(relErr(k.dAlpha[0], fd('alpha', Math.min(1e-3, alpha / 4)))).toBeLessThan(1e-8);
    expect(relErr(k.dWeight[0], fd('weight', 1e-3))).toBeLessThan(1e-9);
  });

  test('the reference is sharp: dropping the digamma term (d/dalpha of Gamma(alpha + 1)) shows', () => {
    const ref = reference(0.4, 1, 0.3, 100);
    const noPsi = ref.dA.map((v, L) => v + refDigamma(1.4) * ref.K[L]);
    // psi(1.4) = -0.06: a 5% change of dK/dalpha, 1e10 times the tolerance above
    expect(relErr(buildKernel('pred', [0.4], [1], 0.3, 100).dAlpha[0], noPsi)).toBeGreaterThan(0.01);
  });

  test('alpha = 1: b_L = h / w for every L (the explicit Euler sum of f)', () => {
    const k = buildKernel('pred', [1], [2], 0.25, 50);
    for (let L = 1; L <= 50; L++) expect(k.K[L]).toBeCloseTo(0.125, 15);
  });

  test("'trap' is an alias of 'l1': the same tables", () => {
    const a = buildKernel('trap', [0.3, 0.8], [1, 0.4], 0.2, 300), b = buildKernel('l1', [0.3, 0.8], [1, 0.4], 0.2, 300);
    expect(a.method).toBe('trap');
    expect(Array.from(a.K)).toEqual(Array.from(b.K));
    a.dAlpha.forEach((d, m) => expect(Array.from(d)).toEqual(Array.from(b.dAlpha[m])));
    a.dWeight.forEach((d, m) => expect(Array.from(d)).toEqual(Array.from(b.dWeight[m])));
  });

  test('bad pred kernels: clear errors', () => {
    expect(() => buildKernel('pred', [0.3, 0.6], [1, 1], 1, 10)).toThrow(/'pred'.*single-term only, got 2 orders.*'l1' \/ 'gl'/);
    expect(() => buildKernel('pred', [0.5], [0], 1, 10)).toThrow(/weights\[0\] = 0 must be > 0/);
    expect(() => buildKernel('pred', [0.5], [-1], 1, 10)).toThrow(/weights\[0\] = -1 must be > 0/);
    expect(() => buildKernel('pred', [1.5], [1], 1, 10)).toThrow(/alphas\[0\] = 1.5 is outside \(0, 1\]/);
    expect(() => buildKernel('pred', [], [], 1, 10)).toThrow(/zero terms/);
    expect(() => buildKernel('pred', [0.5], [1], 0, 10)).toThrow(/step h = 0/);
    expect(() => buildKernel('nope' as never, [0.5], [1], 1, 10)).toThrow(/'pred'.*'trap'/);
  });
});
