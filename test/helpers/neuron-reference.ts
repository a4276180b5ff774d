// A float64 reference of the fractional neuron op, written from the equations in native/fractional_op.h
// (not from the native code), for finite-difference checks in the spiking regime. Per neuron n,
// with v_0 = 0 and k = 0..T-1:
//   dv_k = (-v_k + I_k) / tau (LIF)  or  I_k / tau (IF)
//   x_k  = v_k + dv_k - threshold,  s_k = H(x_k)
//   f_k  = dv_k - s_k threshold / tau
//   v_{k+1} = ( f_k - sum_{L=1}^{min(k, M-1)} K_L v_{k+1-L} ) / K_0
// or, for the predictor (method 'pred', `predictor: true`), the explicit sum over the f history
//   v_{k+1} = sum_{L=1}^{min(k+1, M)} K_L f_{k+1-L}      (M: the number of f values kept)
// With `frozen` given, s_k in f_k is taken from it instead of H(x_k): the spikes are then constants and
// the trace is a smooth function of I, tau and K, which is what the op's backward differentiates.

export type SurrogateName = 'arctan' | 'sigmoid' | 'piecewise_linear' | 'gaussian';

export interface NeuronReferenceParams {
  T: number;
  N: number;
  lif: boolean;
  tau: number;
  threshold: number;
  /** K_0..K_T (float64). */
  K: ArrayLike<number>;
  /** Memory window M (lags 1..M-1 of v are used; for the predictor, the M most recent f); T + 1 for the full history. */
  memory: number;
  /** The predictor recurrence (method 'pred'): K_1..K_T weigh the f history, K_0 is unused. */
  predictor?: boolean;
  /** tau in the reset term s_k threshold / tau only (default tau): lets a test remove that term's tau-dependence. */
  resetTau?: number;
}

export interface NeuronReferenceResult {
  /** Row k holds v_{k+1}, [T, N]. */
  v: Float64Array;
  /** x_k, [T, N]. */
  x: Float64Array;
  /** H(x_k), [T, N] (the spikes of this forward, whether or not `frozen` drove the reset). */
  spikes: Float64Array;
}

export function neuronForward64(p: NeuronReferenceParams, I: ArrayLike<number>, frozen?: ArrayLike<number>): NeuronReferenceResult {
  const { T, N, tau, threshold: thr, K, memory } = p;
  const v = new Float64Array(T * N), x = new Float64Array(T * N), spikes = new Float64Array(T * N);
  const hist = new Float64Array(T + 1); // v_0..v_T of one neuron
  const fHist = new Float64Array(T); // f_0..f_{T-1} of one neuron (predictor)
  for (let n = 0; n < N; n++) {
    hist.fill(0);
    for (let k = 0; k < T; k++) {
      const i = k * N + n, vk = hist[k];
      const dv = p.lif ? (-vk + I[i]) / tau : I[i] / tau;
      x[i] = vk + dv - thr;
      spikes[i] = x[i] >= 0 ? 1 : 0;
      const s = frozen ? frozen[i] : spikes[i];
      let f = dv - (s * thr) / (p.resetTau ?? tau);
      if (p.predictor) {
        fHist[k] = f;
        let sum = 0;
        for (let L = 1; L <= Math.min(k + 1, memory); L++) sum += K[L] * fHist[k + 1 - L];
        hist[k + 1] = v[i] = sum;
        continue;
      }
      const lags = Math.min(k, memory - 1);
      for (let L = 1; L <= lags; L++) f -= K[L] * hist[k + 1 - L];
      hist[k + 1] = f / K[0];
      v[i] = hist[k + 1];
    }
  }
  return { v, x, spikes };
}

/** erf by its Maclaurin series (float64-accurate for |z| <= 3), 1 beyond. */
function erf(z: number): number {
  if (Math.abs(z) > 5.5) return Math.sign(z);
  let term = z, sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (-z * z) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/**
 * A smoothed step Phi(x) whose derivative is the surrogate the op's backward uses, written as the
 * textbook antiderivative (each tends to 0 at -inf and 1 at +inf):
 *   arctan            1/2 + atan(pi/2 s x) / pi
 *   sigmoid           1 / (1 + exp(-s x))
 *   piecewise_linear  clamp((x + s) / (2 s), 0, 1)
 *   gaussian          (1 + erf(x / (s sqrt 2))) / 2      (the normal CDF with sigma = s)
 */
export function smoothedStep(name: SurrogateName, x: number, s: number): number {
  switch (name) {
    case 'arctan': return 0.5 + Math.atan((Math.PI / 2) * s * x) / Math.PI;
    case 'sigmoid': return 1 / (1 + Math.exp(-s * x));
    case 'piecewise_linear': return Math.min(1, Math.max(0, (x + s) / (2 * s)));
    case 'gaussian': return 0.5 * (1 + erf(x / (s * Math.SQRT2)));
    default: throw new Error(`smoothedStep: unknown surrogate ${String(name)}`);
  }
}
