/**
 * Float64 reference solver for the linear test problem sum_m w_m D^{alpha_m} y = -lambda y + c, y(0) = 0,
 * with the same explicit scheme the native layer uses:
 *   y_{k+1} = ( (-lambda y_k + c) - sum_{L=1}^{min(k, M-1)} K_L y_{k+1-L} ) / K_0,  y_0 = 0,  k = 0..n-1,
 * or for method 'pred' (the fractional Adams-Bashforth predictor, M most recent right-hand sides):
 *   y_{k+1} = sum_{L=1}^{min(k+1, M)} K_L (-lambda y_{k+1-L} + c).
 */
import { buildKernel, FractionalMethod } from './kernel';
import { checkMemoryWindow } from './memory-window';

/** The linear test problem sum_m w_m D^alpha_m y = lambda y + c with y(0) = 0, on n steps of size h. */
export interface LinearProblem {
  /** Discretisation. */
  method: FractionalMethod;
  /** Orders of the terms. */
  alphas: ArrayLike<number>;
  /** Weights of the terms. */
  weights: ArrayLike<number>;
  /** Time step. */
  h: number;
  /** Number of steps; the result holds y_0..y_n. */
  n: number;
  /** Coefficient of y on the right-hand side. */
  lambda: number;
  /** Constant forcing. */
  c: number;
  /** Memory window M >= 1 (lags 1..M-1 are kept; for 'pred' the M most recent right-hand sides); default n + 1, the full history. */
  memory?: number;
}

/** Returns y_0..y_n (length n + 1) of the explicit scheme above. */
export function solveLinear(problem: LinearProblem): Float64Array {
  const { method, alphas, weights, h, n, lambda, c } = problem;
  const memory = checkMemoryWindow(problem.memory, 'solveLinear') ?? n + 1;
  if (!Number.isFinite(lambda) || !Number.isFinite(c)) {
    throw new RangeError(`lambda = ${lambda} and c = ${c} must be finite numbers; pass the coefficients of -lambda y + c`);
  }
  const { K } = buildKernel(method, alphas, weights, h, n); // validates h, n (>= 1), orders and weights
  const y = new Float64Array(n + 1);
  if (method === 'pred') {
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let L = 1; L <= Math.min(k + 1, memory); L++) s += K[L] * (-lambda * y[k + 1 - L] + c);
      y[k + 1] = s;
    }
    return y;
  }
  for (let k = 0; k < n; k++) {
    let s = -lambda * y[k] + c;
    const lags = Math.min(k, memory - 1);
    for (let L = 1; L <= lags; L++) s -= K[L] * y[k + 1 - L];
    y[k + 1] = s / K[0];
  }
  return y;
}
