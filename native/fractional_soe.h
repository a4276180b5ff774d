// Sum-of-exponentials (SOE) approximation of the far history of a fractional kernel ("fast L1").
//
// The history weights K_L of the fractional schemes are completely monotone in the lag L, so for
// L0 <= L <= Lmax they are represented, in float64, as
//   K_L ~= sum_q c_q exp(-s_q (L - L0)),     s_q >= 0 (s_0 = 0: a zero-decay node, a plain running sum)
// and a solver carries the far part sum_{L >= L0} K_L x_{n-L} in Q running states, one per node:
//   H_q(n) = exp(-s_q) H_q(n-1) + x_{n-L0}           (x_{n-L0}: the value leaving the near window)
//   sum_{L=L0}^{n} K_L x_{n-L} ~= sum_q c_q H_q(n).
// The nodes s_q do not depend on the orders alpha, so one node set serves all terms of a layer
// (weights summed per node) and dK_L/dalpha_m ~= sum_q dc_q/dalpha_m exp(-s_q (L - L0)) exactly in the
// same states. Derivations, quadrature and measured accuracy: native/README-soe.md.
//
// Kernels (one term: order alpha in (0, 1], weight w, step h > 0):
//   l1    K_L = w h^-alpha / Gamma(2 - alpha) [(L+1)^p - 2 L^p + (L-1)^p],  p = 1 - alpha   (L >= 2)
//   gl    K_L = w h^-alpha g_L,  g_L = Gamma(L - alpha) / (Gamma(-alpha) Gamma(L + 1))     (L >= 1)
//   pred  b_L = w h^alpha / Gamma(alpha + 1) [L^alpha - (L-1)^alpha]  (Adams-Bashforth predictor, L >= 1)
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fsnn {

enum class SoeMethod : int { L1 = 0, GL = 1, Pred = 2 };

struct SoeApprox {
  SoeMethod method = SoeMethod::L1;
  int64_t L0 = 0;    // first lag carried by the SOE (lags 1..L0-1 stay exact in the near window)
  int64_t Lmax = 0;  // last lag the approximation is valid for (build with Lmax >= T)
  double tol = 0;    // requested relative accuracy
  double h = 0;      // time step
  double du = 0;     // trapezoid step in u = ln s
  std::vector<double> s;      // Q decay rates, ascending; s[0] = 0 is the zero-decay node
  std::vector<double> decay;  // exp(-s_q), the per-step state multiplier
  std::vector<double> c;      // weights summed over terms: K_L ~= sum_q c_q exp(-s_q (L - L0))
  std::vector<std::vector<double>> dc_dalpha;   // [term][q]: d c_q / d alpha_m
  std::vector<std::vector<double>> dc_dweight;  // [term][q]: d c_q / d w_m (c_q of the term at w_m = 1)
  size_t nodes() const { return s.size(); }
};

// One term. L0 = 0 picks L0 automatically (soe_auto_L0). tol in [1e-14, 1e-3]: measured errors are <= tol
// for K_L and <= 3 tol for dK_L/dalpha (native/README-soe.md).
// Throws fsnn::Error for alpha outside (0, 1], h or w not finite / h <= 0, L0 < 2 (when given),
// Lmax < L0 or tol out of range.
SoeApprox build_soe(SoeMethod method, double alpha, double w, double h, int64_t L0, int64_t Lmax, double tol);

// All terms of a layer on one shared node set: c summed over terms, dc_dalpha / dc_dweight per term.
SoeApprox build_soe_terms(SoeMethod method, const std::vector<double>& alphas, const std::vector<double>& weights,
                          double h, int64_t L0, int64_t Lmax, double tol);

// The L0 that minimises the per-step work L0 + 2 Q over {4, 8, 16, 32, 64} (capped by Lmax).
int64_t soe_auto_L0(SoeMethod method, const std::vector<double>& alphas, const std::vector<double>& weights, double h,
                    int64_t Lmax, double tol);

// The same approximation on fewer nodes (native/fractional_soe_compress.cc): a geometric node grid over
// [1/Lmax, 10^1.25/L0] plus the zero node, with every weight vector (c, dc_dalpha, dc_dweight) refit by weighted
// least squares to fine's sums, to relative error tol (the measure of README-soe.md) at lags L0..Lmax; the
// smallest such grid from an estimate upward, or fine itself when none is smaller. weights: the terms' w_m,
// as given to the builder. Build fine at a tighter tol (its error adds to tol's).
SoeApprox compress_soe(const SoeApprox& fine, const std::vector<double>& weights, double tol);

// The approximations at one lag L0 <= L <= Lmax (for tests): K_L, dK_L/dalpha_m, dK_L/dw_m.
double soe_eval(const SoeApprox& a, int64_t L);
double soe_eval_dalpha(const SoeApprox& a, size_t term, int64_t L);
double soe_eval_dweight(const SoeApprox& a, size_t term, int64_t L);

}  // namespace fsnn
