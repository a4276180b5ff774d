// Convergence of the discrete operators and of the explicit scheme against closed forms:
//   consistency: D^alpha t^2 = 2 t^(2 - alpha) / Gamma(3 - alpha)      (Caputo = Riemann–Liouville here)
//   solutions:   D^alpha y = -lambda y + c, y(0) = 0  =>  y(t) = (c/lambda) (1 - E_alpha(-lambda t^alpha))
import { applyKernel, buildKernel, FractionalMethod } from '../../lib/fractional/kernel';
import { solveLinear } from '../../lib/fractional/reference';
import { refGamma as gamma, refMittagLeffler as mittagLeffler } from './special-reference';

const NS = [16, 32, 64, 128, 256];

/** SHOW_ERR=1 prints the observed orders and errors (the README's figures come from this). */
function show(what: string, errs: number[]): void {
  // eslint-disable-next-line no-console
  if (process.env.SHOW_ERR) console.log(`${what}: orders ${orders(errs).map((o) => o.toFixed(2)).join(', ')}; error at n = ${NS[NS.length - 1]}: ${errs[errs.length - 1].toExponential(2)}`);
}

/** log2 of successive error ratios as n doubles. */
function orders(errs: number[]): number[] {
  return errs.slice(1).map((e, i) => Math.log2(errs[i] / e));
}

/** Error at t = 1 of the discrete operator applied to exact samples of t^2, against sum_m w_m 2/Gamma(3 - alpha_m). */
function consistencyError(method: FractionalMethod, alphas: number[], weights: number[], n: number): number {
  const h = 1 / n;
  const { K } = buildKernel(method, alphas, weights, h, n);
  const y = Float64Array.from({ length: n + 1 }, (_, j) => (j * h) * (j * h));
  const exact = alphas.reduce((s, a, m) => s + (weights[m] * 2) / gamma(3 - a), 0);
  return Math.abs(applyKernel(K, y, n) - exact);
}

function solutionError(method: FractionalMethod, alpha: number, n: number): number {
  const y = solveLinear({ method, alphas: [alpha], weights: [1], h: 1 / n, n, lambda: 1, c: 1 });
  return Math.abs(y[n] - (1 - mittagLeffler(alpha, -1)));
}

describe('Mittag-Leffler reference (test helper)', () => {
  test('E_1(-1) = e^-1, E_1/2(-1) = e erfc(1), E_alpha(0) = 1', () => {
    expect(Math.abs(mittagLeffler(1, -1) - Math.exp(-1))).toBeLessThan(1e-15);
    expect(Math.abs(mittagLeffler(0.5, -1) - 0.4275835761558070044)).toBeLessThan(1e-13) // alternating series: a few ulps of cancellation;
    expect(mittagLeffler(0.3, -1e-300)).toBeCloseTo(1, 15);
  });
});

describe('consistency on t^2 (observed order of the last doubling, 128 -> 256)', () => {
  test.each([
    ['l1', 0.3, 1.7],
    ['l1', 0.5, 1.5],
    ['l1', 0.8, 1.2],
    ['gl', 0.3, 1],
    ['gl', 0.5, 1],
    ['gl', 0.8, 1],
  ] as Array<[FractionalMethod, number, number]>)('%s alpha = %p converges at order %p', (method, alpha, expected) => {
    const errs = NS.map((n) => consistencyError(method, [alpha], [1], n));
    show(`consistency ${method} alpha ${alpha}`, errs);
    const ord = orders(errs);
    expect(Math.abs(ord[ord.length - 1] - expected)).toBeLessThan(0.1);
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
  });

  test('multi-term l1 (alphas [0.3, 0.7], weights [1, 0.5]) converges at order 2 - max(alpha) = 1.3', () => {
    const errs = NS.map((n) => consistencyError('l1', [0.3, 0.7], [1, 0.5], n));
    const ord = orders(errs);
    expect(Math.abs(ord[ord.length - 1] - 1.3)).toBeLessThan(0.1);
  });
});

describe('solutions of D^alpha y = -y + 1 against the Mittag-Leffler closed form at t = 1', () => {
  test.each([
    ['l1', 0.3],
    ['l1', 0.5],
    ['l1', 0.8],
    ['gl', 0.3],
    ['gl', 0.5],
    ['gl', 0.8],
  ] as Array<[FractionalMethod, number]>)('%s alpha = %p: first order, error < 1e-3 at n = 256', (method, alpha) => {
    const errs = NS.map((n) => solutionError(method, alpha, n));
    show(`solution ${method} alpha ${alpha}`, errs);
    const ord = orders(errs);
    expect(Math.abs(ord[ord.length - 1] - 1)).toBeLessThan(0.1);
    expect(errs[errs.length - 1]).toBeLessThan(1e-3);
  });
});

describe("'pred' (fractional Adams-Bashforth predictor) on D^alpha y = -y + 1 against the Mittag-Leffler closed form", () => {
  test.each([0.3, 0.5, 0.8, 1])('alpha = %p: first order', (alpha) => {
    const errs = NS.map((n) => solutionError('pred', alpha, n));
    show(`solution pred alpha ${alpha}`, errs);
    const ord = orders(errs);
    expect(Math.abs(ord[ord.length - 1] - 1)).toBeLessThan(0.1);
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
    expect(errs[errs.length - 1]).toBeLessThan(2e-3);
  });

  test('the predictor is explicit: y_1 = b_1 c, y_2 = b_1 (-lambda y_1 + c) + b_2 c; a window of M right-hand sides', () => {
    const base = { method: 'pred' as const, alphas: [0.6], weights: [1], h: 0.1, n: 40, lambda: 1.5, c: 0.7 };
    const b = buildKernel('pred', [0.6], [1], 0.1, 40).K;
    const y = solveLinear(base);
    expect(y[1]).toBe(b[1] * 0.7);
    expect(Math.abs(y[2] - (b[1] * (-1.5 * y[1] + 0.7) + b[2] * 0.7))).toBeLessThan(1e-16);
    const w3 = solveLinear({ ...base, memory: 3 });
    for (let k = 0; k <= 3; k++) expect(w3[k]).toBe(y[k]);
    expect(Math.abs(w3[4] - (b[1] * (-1.5 * w3[3] + 0.7) + b[2] * (-1.5 * w3[2] + 0.7) + b[3] * (-1.5 * w3[1] + 0.7)))).toBeLessThan(1e-15);
  });

  test("'trap' solves exactly as 'l1'", () => {
    const p = { alphas: [0.45], weights: [1], h: 1 / 64, n: 64, lambda: 1, c: 1 };
    expect(Array.from(solveLinear({ method: 'trap', ...p }))).toEqual(Array.from(solveLinear({ method: 'l1', ...p })));
  });
});

describe('alpha = 1', () => {
  test.each(['l1', 'gl'] as const)('%s equals the euler scheme bitwise and explicit Euler to rounding', (method) => {
    const n = 200;
    const h = 1 / 64;
    const problem = { alphas: [1], weights: [1], h, n, lambda: 1.7, c: 0.9 };
    const y = solveLinear({ method, ...problem });
    const ye = solveLinear({ method: 'euler', ...problem });
    for (let k = 0; k <= n; k++) expect(Object.is(y[k], ye[k])).toBe(true);
    // textbook explicit Euler y_{k+1} = y_k + h (-lambda y_k + c)
    let v = 0;
    for (let k = 0; k < n; k++) {
      v = v + h * (-1.7 * v + 0.9);
      expect(Math.abs(y[k + 1] - v)).toBeLessThan(1e-14);
    }
  });
});

describe('memory window', () => {
  test('M = n + 1 is the default full history; M = 1 keeps no history; a short window changes the result', () => {
    const base = { method: 'l1' as const, alphas: [0.6], weights: [1], h: 0.05, n: 60, lambda: 1, c: 1 };
    const full = solveLinear(base);
    expect(Array.from(solveLinear({ ...base, memory: 61 }))).toEqual(Array.from(full));
    expect(Array.from(solveLinear({ ...base, memory: 1000 }))).toEqual(Array.from(full));
    const K0 = buildKernel('l1', [0.6], [1], 0.05, 60).K[0];
    const none = solveLinear({ ...base, memory: 1 });
    for (let k = 0; k < 60; k++) expect(none[k + 1]).toBe((-none[k] + 1) / K0);
    const short = solveLinear({ ...base, memory: 10 });
    for (let k = 0; k <= 9; k++) expect(short[k]).toBe(full[k]);
    expect(Math.abs(short[60] - full[60])).toBeGreaterThan(1e-4);
  });

  test('a bad window is rejected', () => {
    const base = { method: 'gl' as const, alphas: [0.6], weights: [1], h: 0.05, n: 10, lambda: 1, c: 1 };
    expect(() => solveLinear({ ...base, memory: 0 })).toThrow(/solveLinear: memory window 0 must be an integer >= 1/);
    expect(() => solveLinear({ ...base, memory: 2.5 })).toThrow(/solveLinear: memory window 2.5 must be an integer >= 1/);
    expect(() => solveLinear({ ...base, lambda: NaN })).toThrow(/lambda = NaN and c = 1 must be finite/);
  });
});
