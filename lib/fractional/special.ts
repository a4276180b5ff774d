/**
 * Special functions for the fractional kernels, in float64, for real x > 0:
 *   gamma(x)   = Gamma(x)
 *   lgamma(x)  = ln Gamma(x)
 *   digamma(x) = psi(x) = d/dx ln Gamma(x)
 *
 * All three use the same plan: shift the argument up to x >= SHIFT_TO with the recurrences
 *   Gamma(x) = Gamma(x + N) / (x (x+1) ... (x+N-1)),   psi(x) = psi(x + N) - sum_{i<N} 1/(x+i),
 * then evaluate the Stirling / asymptotic series, whose Bernoulli terms are below 1e-16 there.
 * Relative accuracy is a few ulps (about 1e-15) except lgamma near its zeros at 1 and 2 and
 * digamma near its zero at 1.4616..., where the error is absolute (a few ulps of the terms).
 */

const SHIFT_TO = 10;
const HALF_LN_2PI = 0.9189385332046727; // ln(2 pi) / 2
const SQRT_2PI = 2.5066282746310002;

// Stirling correction ln Gamma(y) - [(y - 1/2) ln y - y + ln(2 pi)/2] = sum_k B_2k / (2k (2k-1) y^(2k-1)).
const STIRLING = [
  1 / 12,
  -1 / 360,
  1 / 1260,
  -1 / 1680,
  1 / 1188,
  -691 / 360360,
  1 / 156,
  -3617 / 122400,
];

// Asymptotic psi(y) = ln y - 1/(2y) - sum_k B_2k / (2k y^(2k)).
const DIGAMMA_ASYMPTOTIC = [
  1 / 12,
  -1 / 120,
  1 / 252,
  -1 / 240,
  1 / 132,
  -691 / 32760,
  1 / 12,
];

function checkDomain(name: string, x: number): void {
  if (!Number.isFinite(x) || !(x > 0)) {
    throw new RangeError(
      `${name}(x): x = ${x} is outside the supported domain (0, Infinity); ` +
        `pass a finite positive argument (the fractional kernels only need x in (0, 3])`,
    );
  }
}

/** sum_k c_k / y^(2k-1) for the Stirling series (Horner in 1/y^2). */
function stirlingCorrection(y: number): number {
  const r = 1 / y;
  const r2 = r * r;
  let s = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) s = s * r2 + STIRLING[k];
  return s * r;
}

/** (n-1)! for a positive integer n <= 171, by exact multiplication while exact (n <= 23). */
function factorialOfPred(n: number): number {
  let f = 1;
  for (let i = 2; i < n; i++) f *= i;
  return f;
}

/** Gamma(x) for x > 0; exactly (n-1)! at integers n <= 23, +Infinity past x ~ 171.6. */
export function gamma(x: number): number {
  checkDomain('gamma', x);
  if (Number.isInteger(x) && x <= 171) return factorialOfPred(x);
  if (x > 171.7) return Infinity;
  let y = x;
  let denom = 1;
  while (y < SHIFT_TO) {
    denom *= y;
    y += 1;
  }
  // Gamma(y) = sqrt(2 pi) y^(y - 1/2) e^(-y) exp(correction); the power is split so it cannot overflow.
  const t = Math.pow(y, (y - 0.5) / 2);
  const g = SQRT_2PI * t * (t * Math.exp(-y)) * Math.exp(stirlingCorrection(y));
  return g / denom;
}

/** ln Gamma(x) for x > 0; exactly 0 at x = 1 and x = 2. */
export function lgamma(x: number): number {
  checkDomain('lgamma', x);
  if (Number.isInteger(x) && x <= 171) return Math.log(factorialOfPred(x));
  let y = x;
  let denom = 1;
  while (y < SHIFT_TO) {
    denom *= y;
    y += 1;
  }
  const ly = (y - 0.5) * Math.log(y) - y + HALF_LN_2PI + stirlingCorrection(y);
  return denom === 1 ? ly : ly - Math.log(denom);
}

/** psi(x) = Gamma'(x) / Gamma(x) for x > 0. */
export function digamma(x: number): number {
  checkDomain('digamma', x);
  let y = x;
  let shift = 0;
  while (y < SHIFT_TO) {
    shift += 1 / y;
    y += 1;
  }
  const r2 = 1 / (y * y);
  let s = 0;
  for (let k = DIGAMMA_ASYMPTOTIC.length - 1; k >= 0; k--) s = s * r2 + DIGAMMA_ASYMPTOTIC[k];
  return Math.log(y) - 0.5 / y - s * r2 - shift;
}
