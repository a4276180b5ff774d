/**
 * The discrete fractional-derivative kernel K_0..K_T of a layer with terms m (orders alpha_m, weights w_m)
 * and step h, and its exact derivatives with respect to every alpha_m and w_m. The solver (native code)
 * advances v_{k+1} = ( f_k - sum_{L=1}^{min(k, M-1)} K_L v_{k+1-L} ) / K_0 with v_0 = 0, so
 * sum_{L=0}^{n} K_L v_{n-L} approximates sum_m w_m D^{alpha_m} v(t_n) (Caputo).
 *
 *   l1    a_m = w_m h^(-alpha_m) / Gamma(2 - alpha_m),  p_m = 1 - alpha_m,  c_L(p) as below
 *         K_L = sum_m a_m c_L(p_m),  c_0 = 1,  c_1 = 2^p - 2,  c_L = (L+1)^p - 2 L^p + (L-1)^p  (L >= 2)
 *   gl    K_L = sum_m w_m h^(-alpha_m) g_L(alpha_m),  g_0 = 1,  g_L = (1 - (1 + alpha)/L) g_{L-1}
 *   euler K_0 = 1/h, K_1 = -1/h, K_L = 0 for L >= 2 (integer order: no orders, no weights)
 */
import { digamma, gamma } from './special';

/**
 * Discretisation of the fractional derivative: 'l1' (L1 scheme), 'gl' (Grünwald-Letnikov), 'euler' (integer order, alpha = 1).
 */
export type FractionalMethod = 'l1' | 'gl' | 'euler';

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

const METHODS: readonly FractionalMethod[] = ['l1', 'gl', 'euler'];

function validate(
  method: FractionalMethod,
  alphas: ArrayLike<number>,
  weights: ArrayLike<number>,
  h: number,
  T: number,
): void {
  if (!METHODS.includes(method)) {
    throw new RangeError(`fractional method '${String(method)}' is unknown; use one of 'l1' (Caputo L1, default), 'gl' (Grünwald–Letnikov) or 'euler' (integer order)`);
  }
  if (typeof h !== 'number' || !Number.isFinite(h) || !(h > 0)) {
    throw new RangeError(`step h = ${h} must be a finite number > 0; pass the simulation time step (e.g. dt = 1)`);
  }
  if (typeof T !== 'number' || !Number.isInteger(T) || T < 1) {
    throw new RangeError(`number of time steps T = ${T} must be an integer >= 1; pass the sequence length`);
  }
  if (method === 'euler') return; // integer order: orders and weights are not used
  if (alphas.length !== weights.length) {
    throw new RangeError(
      `fractional orders (${alphas.length}) and weights (${weights.length}) have different lengths; ` +
        `give one weight per order`,
    );
  }
  if (alphas.length === 0) {
    throw new RangeError(`the fractional operator has zero terms; give at least one order alpha in (0, 1] with a weight (e.g. alphas [0.5], weights [1])`);
  }
  for (let m = 0; m < alphas.length; m++) {
    const a = alphas[m];
    if (typeof a !== 'number' || !Number.isFinite(a) || !(a > 0) || a > 1) {
      throw new RangeError(
        `fractional order alphas[${m}] = ${a} is outside (0, 1]; use an order with 0 < alpha <= 1 ` +
          `(alpha = 1 is the ordinary first derivative)`,
      );
    }
    const w = weights[m];
    if (typeof w !== 'number' || !Number.isFinite(w)) {
      throw new RangeError(`fractional weight weights[${m}] = ${w} is not a finite number; give a finite real coefficient`);
    }
  }
}

function checkInvertible(K: Float64Array, h: number): void {
  const K0 = K[0];
  if (!(K0 > 0)) {
    throw new RangeError(
      `K_0 = ${K0} <= 0: the fractional operator is not invertible; give at least one positive coefficient ` +
        `(the sum over terms of w_m h^-alpha_m / Gamma(2 - alpha_m) for l1, w_m h^-alpha_m for gl, must be > 0)`,
    );
  }
  for (let L = 0; L < K.length; L++) {
    if (!Number.isFinite(K[L])) {
      throw new RangeError(`K_${L} = ${K[L]} is not finite (h = ${h}): the step is too small or the weights too large for float64; rescale time so h is nearer 1`);
    }
  }
}

/**
 * The L1 second difference c_L(p) = (L+1)^p - 2 L^p + (L-1)^p and dc_L/dp, for L >= 2, without the
 * O(eps L^2) cancellation of the direct form. With x = 1/L, s = (p/2) ln(1 - x^2), d = p atanh(x):
 *   c_L   = 2 L^p [ expm1(s) cosh(d) + 2 sinh(d/2)^2 ]
 *   dc/dp = ln(L) c_L + L^p [ ln(1 - x^2) + expm1(p ln(1+x)) ln(1+x) + expm1(p ln(1-x)) ln(1-x) ]
 */
function l1SecondDifference(L: number, p: number, out: { c: number; dcdp: number }): void {
  const x = 1 / L;
  const Lp = Math.pow(L, p);
  const lnOneMinusX2 = Math.log1p(-x * x);
  const s = 0.5 * p * lnOneMinusX2;
  const d = p * Math.atanh(x);
  const sh = Math.sinh(0.5 * d);
  const c = 2 * Lp * (Math.expm1(s) * Math.cosh(d) + 2 * sh * sh);
  const lp = Math.log1p(x);
  const lm = Math.log1p(-x);
  out.c = c;
  out.dcdp = Math.log(L) * c + Lp * (lnOneMinusX2 + Math.expm1(p * lp) * lp + Math.expm1(p * lm) * lm);
}

/** l1: K_L += a c_L(p); dK_L/dalpha = a [(-ln h + psi(2 - alpha)) c_L - dc_L/dp]; dK_L/dw = (a/w) c_L. */
function addL1Term(alpha: number, w: number, h: number, K: Float64Array, dA: Float64Array, dW: Float64Array): void {
  const p = 1 - alpha;
  const b = Math.pow(h, -alpha) / gamma(2 - alpha); // a / w = h^-alpha / Gamma(2 - alpha)
  const a = w * b;
  const dLnA = -Math.log(h) + digamma(2 - alpha); // d ln(a) / d alpha
  const tmp = { c: 0, dcdp: 0 };
  for (let L = 0; L < K.length; L++) {
    let c: number;
    let dcdp: number;
    if (L === 0) {
      c = 1;
      dcdp = 0;
    } else if (L === 1) {
      const twoP = Math.pow(2, p);
      c = twoP - 2;
      dcdp = twoP * Math.LN2;
    } else {
      l1SecondDifference(L, p, tmp);
      c = tmp.c;
      dcdp = tmp.dcdp;
    }
    K[L] += a * c;
    dA[L] = a * (dLnA * c - dcdp); // dp/dalpha = -1
    dW[L] = b * c;
  }
}

/** gl: K_L += w h^-alpha g_L; dK_L/dalpha = w h^-alpha (-ln h g_L + dg_L), dg_L = -g_{L-1}/L + (1 - (1+alpha)/L) dg_{L-1}. */
function addGlTerm(alpha: number, w: number, h: number, K: Float64Array, dA: Float64Array, dW: Float64Array): void {
  const b = Math.pow(h, -alpha);
  const lnH = Math.log(h);
  let g = 1;
  let dg = 0;
  for (let L = 0; L < K.length; L++) {
    if (L > 0) {
      const r = 1 - (1 + alpha) / L;
      dg = -g / L + r * dg; // uses g_{L-1}
      g = r * g;
    }
    K[L] += w * b * g;
    dA[L] = w * b * (dg - lnH * g);
    dW[L] = b * g;
  }
}

/**
 * Builds K_0..K_T and its derivatives for the layer's terms. Throws a RangeError naming the bad value
 * and the fix for: an unknown method, h not finite or <= 0, T not an integer >= 1, and (l1/gl) orders
 * and weights of different lengths, zero terms, alpha outside (0, 1], a non-finite weight, K_0 <= 0.
 */
export function buildKernel(
  method: FractionalMethod,
  alphas: ArrayLike<number>,
  weights: ArrayLike<number>,
  h: number,
  T: number,
): FractionalKernel {
  validate(method, alphas, weights, h, T);
  const K = new Float64Array(T + 1);
  if (method === 'euler') {
    K[0] = 1 / h;
    K[1] = -1 / h;
    return { method, K, dAlpha: [], dWeight: [] };
  }
  const dAlpha: Float64Array[] = [];
  const dWeight: Float64Array[] = [];
  for (let m = 0; m < alphas.length; m++) {
    const dA = new Float64Array(T + 1);
    const dW = new Float64Array(T + 1);
    if (method === 'l1') addL1Term(alphas[m], weights[m], h, K, dA, dW);
    else addGlTerm(alphas[m], weights[m], h, K, dA, dW);
    dAlpha.push(dA);
    dWeight.push(dW);
  }
  checkInvertible(K, h);
  return { method, K, dAlpha, dWeight };
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
