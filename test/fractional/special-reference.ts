// Test references for Gamma, ln Gamma and digamma on x > 0, independent of the library's (which live in
// native/special_functions.h and use Stirling series): the Lanczos approximation with g = 7 and nine
// coefficients (relative error about 1e-15), x < 1/2 through the reflection formula,
//   Gamma(x + 1) = sqrt(2 pi) t^(x + 1/2) e^-t A(x),  t = x + g + 1/2,  A(x) = c_0 + sum_{k=1}^{8} c_k / (x + k),
// exact factorials at small integers, and digamma as the exact derivative of that form: psi(x + 1) = ln t + (x + 1/2)/t - 1 + A'(x)/A(x).

const G = 7;
const C = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** A(x) and A'(x) of the Lanczos sum. */
function lanczosSum(x: number): [number, number] {
  let a = C[0];
  let da = 0;
  for (let k = 1; k < C.length; k++) {
    a += C[k] / (x + k);
    da -= C[k] / ((x + k) * (x + k));
  }
  return [a, da];
}

/** n! for a small integer n (exact in float64 up to 22!). */
function refFactorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/** ln Gamma(x) for x > 0. */
export function refLgamma(x: number): number {
  if (Number.isInteger(x) && x <= 20) return Math.log(refFactorial(x - 1));  // exactly 0 at 1 and 2
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - refLgamma(1 - x);
  const z = x - 1;
  const t = z + G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(lanczosSum(z)[0]);
}

/** Gamma(x) for 0 < x < 171. */
export function refGamma(x: number): number {
  if (Number.isInteger(x) && x <= 20) return refFactorial(x - 1);
  if (x < 0.5) return Math.PI / (Math.sin(Math.PI * x) * refGamma(1 - x));
  const z = x - 1;
  const t = z + G + 0.5;
  // t^(z + 1/2) e^-t split in two halves so that it does not overflow before the product does.
  const half = Math.pow(t, (z + 0.5) / 2) * Math.exp(-t / 2);
  return Math.sqrt(2 * Math.PI) * half * half * lanczosSum(z)[0];
}

/** psi(x) = d/dx ln Gamma(x) for x > 0. */
export function refDigamma(x: number): number {
  if (x < 0.5) return refDigamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  const z = x - 1;
  const t = z + G + 0.5;
  const [a, da] = lanczosSum(z);
  return Math.log(t) + (z + 0.5) / t - 1 + da / a;
}

/** Mittag-Leffler E_alpha(z) = sum_k z^k / Gamma(alpha k + 1), summed until the terms are negligible. */
export function refMittagLeffler(alpha: number, z: number): number {
  const lnAbsZ = Math.log(Math.abs(z));
  let sum = 0;
  for (let k = 0; k < 400; k++) {
    const mag = Math.exp(k * lnAbsZ - refLgamma(alpha * k + 1));
    sum += z < 0 && k % 2 === 1 ? -mag : mag;
    if (k > 20 && mag < 1e-18) return sum;
  }
  throw new Error(`Mittag-Leffler series for alpha = ${alpha}, z = ${z} did not converge in 400 terms`);
}
