// Test reference for the L1 second difference at large lags, independent of the library's stable form:
//   c_L(p) = (L+1)^p - 2 L^p + (L-1)^p = 2 L^p sum_{k even >= 2} C(p, k) L^-k,
//   dc_L/dp = ln(L) c_L + 2 L^p sum_{k even >= 2} dC(p, k)/dp L^-k,
// with C(p, k) = C(p, k-1) (p - k + 1) / k and its p-derivative by the product rule, up to k = terms.

/** [c_L(p), dc_L/dp] by the binomial series with `terms` terms (L >= 2; accurate when L is large). */
export function l1SecondDifferenceSeries(L: number, p: number, terms: number): [number, number] {
  const x = 1 / L;
  let C = 1, dC = 0, S = 0, dS = 0, xk = 1;
  for (let k = 1; k <= terms; k++) {
    dC = (dC * (p - k + 1) + C) / k;
    C = (C * (p - k + 1)) / k;
    xk *= x;
    if (k % 2 === 0) {
      S += C * xk;
      dS += dC * xk;
    }
  }
  const Lp = L ** p;
  return [2 * Lp * S, Math.log(L) * 2 * Lp * S + 2 * Lp * dS];
}
