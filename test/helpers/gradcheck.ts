// Numerical gradient checking for the autograd rules.
//
// For an op f and a fixed random weighting R (float32-representable), L = sum(f(x) * R).
// The analytic gradient comes from backward(R); the numerical one from central differences
// (L(x + h) - L(x - h)) / (x+h - x-h), each L accumulated in float64 on the host from the float32
// outputs. The ops run in float32, so h is large (1e-2 .. 3e-3) and the tolerance is loose enough
// for float32 round-off and O(h^2) truncation but far tighter than the error of a wrong rule.
import { noGrad, tensor, tidy, Tensor } from '../../lib';

export type Data = number[] | Float32Array | Float64Array;

export interface GradInput {
  data: Data;
  shape: number[];
  /** Default true; false makes a constant input (its gradient is not checked). */
  requiresGrad?: boolean;
}

export interface GradcheckOptions {
  /** Central-difference step (default 1e-2). */
  eps?: number;
  /** An element passes when |analytic - numeric| <= atol + rtol * |numeric| (defaults 3e-4, 3e-3). */
  atol?: number;
  rtol?: number;
  /** Seed of the weighting R (a small LCG, independent of the library's generator). */
  seed?: number;
}

export interface GradcheckMismatch {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic - numeric| / (atol + rtol * |numeric|) over all checked elements (<= 1 passes). */
  worstRatio: number;
  maxAbsError: number;
  mismatches: GradcheckMismatch[];
  analytic: Float32Array[];
  numeric: Float64Array[];
  output: Float32Array;
  outputShape: number[];
}

/** Deterministic numbers in [lo, hi) (a 32-bit LCG; test data must not depend on the library's RNG). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function randomData(n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/**
 * n distinct values in [lo, hi) whose pairwise gaps are at least `gap` (for max/min reductions,
 * max pooling, maximum/minimum: no ties within the finite-difference step), in shuffled order.
 */
export function distinctData(n: number, seed: number, gap = 0.05, lo = -1): number[] {
  const r = lcg(seed);
  const vals = Array.from({ length: n }, (_, i) => lo + i * gap + 0.3 * gap * r());
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return vals;
}

/** Values in [-hi, -lo] U [lo, hi]: away from the kink at 0 (relu, abs). */
export function awayFromZero(n: number, seed: number, lo = 0.1, hi = 1): number[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (lo + (hi - lo) * r()));
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function weighted(out: Float32Array, R: Float64Array): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * R[i];
  return s;
}

export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: GradInput[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 3e-4;
  const rtol = opts.rtol ?? 3e-3;
  const base = inputs.map((inp, i) => {
    if (numel(inp.shape) !== inp.data.length)
      throw new Error(`gradcheck: input ${i} has ${inp.data.length} values for shape [${inp.shape}]`);
    return Float32Array.from(inp.data);
  });
  const wants = inputs.map((inp) => inp.requiresGrad !== false);

  // Analytic pass.
  const { analytic, output, outputShape, R } = tidy(() => {
    const xs = base.map((d, i) => tensor(d.slice(), inputs[i].shape.slice(), { requiresGrad: wants[i] }));
    const y = fn(...xs);
    if (!y.requiresGrad) throw new Error('gradcheck: the output does not require grad (no backward rule was recorded)');
    const out = y.toFloat32Array();
    const rnd = lcg(opts.seed ?? 1234);
    // R is float32-representable so that the gradient fed to backward() is exactly the weighting.
    const Rw = Float64Array.from({ length: out.length }, () => Math.fround(0.5 + rnd()) * (rnd() < 0.5 ? -1 : 1));
    y.backward(tensor(Float32Array.from(Rw), y.shape.slice()));
    const grads = xs.map((x, i) => {
      if (!wants[i]) return new Float32Array(0);
      if (!x.grad) throw new Error(`gradcheck: input ${i} received no gradient`);
      if (x.grad.shape.join(',') !== x.shape.join(','))
        throw new Error(`gradcheck: gradient of input ${i} has shape [${x.grad.shape}], expected [${x.shape}]`);
      const g = x.grad.toFloat32Array();
      x.grad.dispose();
      return g;
    });
    return { analytic: grads, output: out, outputShape: y.shape.slice(), R: Rw };
  });

  // Numerical pass.
  const evalL = (values: Float32Array[]): number =>
    noGrad(() =>
      tidy(() => {
        const xs = values.map((d, i) => tensor(d, inputs[i].shape.slice()));
        return weighted(fn(...xs).toFloat32Array(), R);
      }),
    );
  const numeric: Float64Array[] = [];
  const mismatches: GradcheckMismatch[] = [];
  let worstRatio = 0;
  let maxAbsError = 0;
  for (let k = 0; k < base.length; k++) {
    const num = new Float64Array(wants[k] ? base[k].length : 0);
    numeric.push(num);
    if (!wants[k]) continue;
    for (let j = 0; j < base[k].length; j++) {
      const x0 = base[k][j];
      const work = base.map((d) => d.slice());
      work[k][j] = Math.fround(x0 + eps);
      const hiX = work[k][j];
      const Lp = evalL(work);
      work[k][j] = Math.fround(x0 - eps);
      const loX = work[k][j];
      const Lm = evalL(work);
      num[j] = (Lp - Lm) / (hiX - loX);
      const a = analytic[k][j];
      const err = Math.abs(a - num[j]);
      const ratio = err / (atol + rtol * Math.abs(num[j]));
      if (!(ratio <= 1)) mismatches.push({ input: k, index: j, analytic: a, numeric: num[j] });
      if (!(ratio <= worstRatio)) worstRatio = Number.isNaN(ratio) ? Infinity : Math.max(worstRatio, ratio);
      maxAbsError = Math.max(maxAbsError, Number.isNaN(err) ? Infinity : err);
    }
  }
  return { ok: mismatches.length === 0, worstRatio, maxAbsError, mismatches, analytic, numeric, output, outputShape };
}

/** Runs gradcheck and throws a readable error listing the first mismatches when it fails. */
export function expectGradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: GradInput[], opts: GradcheckOptions = {}): GradcheckResult {
  const r = gradcheck(fn, inputs, opts);
  if (!r.ok) {
    const lines = r.mismatches
      .slice(0, 8)
      .map((m) => `  input ${m.input}[${m.index}]: analytic ${m.analytic.toPrecision(6)} vs numeric ${m.numeric.toPrecision(6)}`);
    throw new Error(
      `gradcheck failed: ${r.mismatches.length} element(s) out of tolerance (worst ratio ${r.worstRatio.toFixed(2)}, ` +
        `max abs error ${r.maxAbsError.toExponential(2)})\n${lines.join('\n')}`,
    );
  }
  return r;
}

/** Shorthand for an input with deterministic random data in [lo, hi). */
export function rin(shape: number[], seed: number, lo = -1, hi = 1): GradInput {
  return { data: randomData(numel(shape), seed, lo, hi), shape };
}
