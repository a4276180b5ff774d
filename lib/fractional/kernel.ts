/**
 * The discrete fractional-derivative kernel K_0..K_T of a layer with terms m (orders alpha_m, weights w_m)
 * and step h, and its exact derivatives with respect to every alpha_m and w_m, in float64. The formulas
 * live once, in the native kernel module (native/fractional_kernel.h, which states them: l1, gl, euler,
 * pred, trap); buildKernel returns its tables. The solver advances
 *   v_{k+1} = ( f_k - sum_{L=1}^{min(k, M-1)} K_L v_{k+1-L} ) / K_0,  v_0 = 0,
 * so sum_{L=0}^{n} K_L v_{n-L} approximates sum_m w_m D^{alpha_m} v(t_n) (Caputo); for 'pred' (explicit)
 *   v_{k+1} = sum_{L=1}^{min(k+1, M)} K_L f_{k+1-L},  K_L = b_L = h^alpha / (w Gamma(alpha + 1)) (L^alpha - (L-1)^alpha).
 * chainKernelGradient and applyKernel are float64 reference helpers over given tables (no kernel formula).
 */
import { native } from '../native';

/**
 * Discretisation of the fractional derivative: 'l1' (L1 scheme), 'gl' (Grünwald-Letnikov), 'pred' (the
 * fractional Adams-Bashforth predictor, explicit, single term, first order: it convolves the history of
 * the right-hand side f), 'trap' (product trapezoidal; for the zero initial state of an SNN its weights
 * are exactly l1's, so it is an alias of 'l1'), 'euler' (integer order, alpha = 1).
 */
export type FractionalMethod = 'l1' | 'gl' | 'pred' | 'trap' | 'euler';

/** The fractional-order methods (integrator 'fdeint'): every method but 'euler'. */
export const FRACTIONAL_ORDER_METHODS: readonly FractionalMethod[] = ['l1', 'gl', 'pred', 'trap'];

/** The history weights of one fractional term on a uniform grid, and their derivatives in alpha. */
export interface FractionalKernel {
  /** The scheme the weights come from. */
  method: FractionalMethod;
  /** K_0..K_T, length T + 1. */
  K: Float64Array;
  /** Per term m: dK_L / d alpha_m, length T + 1 (empty list for euler). */
  dAlpha: Float64Array[];
  /** Per term m: dK_L / d w_m, length T + 1 (empty list for euler). */
  dWeight: Float64Array[];
}

/** Values as float64 for the native side (a value that is not a number becomes NaN, which the checks report). */
export function float64Values(xs: ArrayLike<number>): Float64Array {
  if (xs instanceof Float64Array) return xs;
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = typeof xs[i] === 'number' ? xs[i] : NaN;
  return out;
}

/**
 * Builds K_0..K_T and its derivatives for the layer's terms (native/fractional_kernel.cc). Throws a
 * RangeError naming the bad value and the fix for: an unknown method, h not finite or <= 0, T not an
 * integer >= 1, and (l1/gl/pred/trap) orders and weights of different lengths, zero terms, alpha outside
 * (0, 1], a non-finite weight, K_0 <= 0 (l1/gl/trap), and for 'pred' more than one term or a weight <= 0.
 * For 'pred', K_0 = 0 (unused) and K_L = b_L, the weights of the f history.
 */
export function buildKernel(
  method: FractionalMethod,
  alphas: ArrayLike<number>,
  weights: ArrayLike<number>,
  h: number,
  T: number,
): FractionalKernel {
  try {
    return native.fractionalKernel(String(method), float64Values(alphas), float64Values(weights), h, T) as FractionalKernel;
  } catch (e) {
    throw new RangeError((e as Error).message);
  }
}

/** gAlpha_m = sum_L gK_L dK_L/dalpha_m and gWeight_m = sum_L gK_L dK_L/dw_m (empty for euler). */
export function chainKernelGradient(
  kernel: FractionalKernel,
  gK: ArrayLike<number>,
): {
  /** Gradient of the loss with respect to each order alpha. */
  gAlpha: Float64Array;
  /** Gradient of the loss with respect to each term weight. */
  gWeight: Float64Array;
} {
  const n = kernel.K.length;
  if (gK.length !== n) {
    throw new RangeError(
      `kernel gradient gK has length ${gK.length} but the kernel has ${n} entries (K_0..K_${n - 1}); ` +
        `pass dLoss/dK_L for every L = 0..T, with zeros for lags the solver did not use`,
    );
  }
  const terms = kernel.dAlpha.length;
  const gAlpha = new Float64Array(terms);
  const gWeight = new Float64Array(terms);
  for (let m = 0; m < terms; m++) {
    const dA = kernel.dAlpha[m];
    const dW = kernel.dWeight[m];
    let sa = 0;
    let sw = 0;
    for (let L = 0; L < n; L++) {
      sa += gK[L] * dA[L];
      sw += gK[L] * dW[L];
    }
    gAlpha[m] = sa;
    gWeight[m] = sw;
  }
  return { gAlpha, gWeight };
}

/** sum_{L=0}^{n} K_L y_{n-L}: the discrete operator applied at step n to samples y_0..y_n. */
export function applyKernel(K: ArrayLike<number>, samples: ArrayLike<number>, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= K.length || n >= samples.length) {
    throw new RangeError(
      `applyKernel: step n = ${n} must be an integer in [0, ${Math.min(K.length, samples.length) - 1}] ` +
        `(kernel has ${K.length} entries, samples ${samples.length}); build the kernel with T >= n and pass y_0..y_n`,
    );
  }
  let s = 0;
  for (let L = 0; L <= n; L++) s += K[L] * samples[n - L];
  return s;
}
