// Accuracy check of the sum-of-exponentials kernel history (native/fractional_soe.*), standalone.
//
// 1. For l1, gl, pred, alpha in {0.01, 0.1, 0.3, 0.5, 0.8, 0.99, 1}, h in {1, 0.5, 0.1}, and multi-term
//    layers on one shared node set, compares K_L and dK_L/dalpha_m of the SOE, at every L0 <= L <= 4096 and
//    on a log grid up to Lmax = 1e7, with references computed here independently in long double:
//      l1   a c_L(p), c_L from the cancellation-free form 2 L^p [expm1(s) cosh(d) + 2 sinh(d/2)^2],
//           dK/dalpha = a [(-ln h + psi(2 - alpha)) c_L - dc_L/dp]
//      gl   g_L by the recurrence g_L = (1 - (1 + alpha)/L) g_{L-1}, checked against
//           -exp(lgamma(L - alpha) - lgamma(L + 1) - ln|Gamma(-alpha)|); dg/dalpha = g_L (psi(-alpha) - psi(L - alpha))
//           (alpha = 1: g_L = 0, dg_L/dalpha = 1/(L(L-1)) for L >= 2)
//      pred b_L = h^a/Gamma(a+1) L^a (-expm1(a log1p(-1/L))), db/dalpha from the same stable form
//    and every dK/dalpha also by a 4th-order central difference of the K references (step 1e-4).
//    Pass: max_L |err| / max(|K_L|, 1e-12 K_first) <= 1e-7, and for dK/dalpha_m
//    max_L |err| / max(|dK_L|, |K_L|, 1e-12 K_first) <= 1e-7 (K_L, K_first of that term; K_first = K_0,
//    or b_1 for pred). The references must agree with each other to 1e-8 in the same measure.
// 2. A toy scalar recurrence v_{k+1} = (f_k - sum_{L=1}^{k} K_L v_{k+1-L}) / K_0 with the far history
//    (L >= L0) in the SOE running states against the exact O(T^2) sum, and the adjoint-side sums
//    sum_{L>=L0} gK_L K_L and sum_L gK_L dK_L/dalpha (gK_L = sum_n lam_n v_{n-L}) through the states.
// Prints one "case" line per kernel case, one "recur" line per recurrence, and "soe checks: all passed".
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "error.h"
#include "fractional_soe.h"

using fsnn::SoeApprox;
using fsnn::SoeMethod;
using ld = long double;

namespace {

const char* method_name(SoeMethod m) { return m == SoeMethod::L1 ? "l1" : m == SoeMethod::GL ? "gl" : "pred"; }

// psi(x) for x > 0 in long double: shift to x >= 20, then the asymptotic series.
ld digamma_ld(ld x) {
  ld acc = 0;
  while (x < 20) {
    acc -= 1 / x;
    x += 1;
  }
  const ld r2 = 1 / (x * x);
  const ld b[] = {1.0L / 12, -1.0L / 120, 1.0L / 252, -1.0L / 240, 1.0L / 132, -691.0L / 32760, 1.0L / 12,
                  -3617.0L / 8160};
  ld s = 0;
  for (int k = 7; k >= 0; --k) s = s * r2 + b[k];
  return acc + std::log(x) - 1 / (2 * x) - s * r2;
}

// l1 second difference c_L(p) and dc_L/dp, L >= 1 (cancellation-free for large L).
void l1_second_difference(ld L, ld p, ld& c, ld& dcdp) {
  if (L == 1) {
    const ld t = std::pow(2.0L, p);
    c = t - 2;
    dcdp = t * std::log(2.0L);
    return;
  }
  const ld x = 1 / L, Lp = std::pow(L, p), ln1mx2 = std::log1p(-x * x);
  const ld s = 0.5L * p * ln1mx2, d = p * std::atanh(x), sh = std::sinh(0.5L * d);
  c = 2 * Lp * (std::expm1(s) * std::cosh(d) + 2 * sh * sh);
  const ld lp = std::log1p(x), lm = std::log1p(-x);
  dcdp = std::log(L) * c + Lp * (ln1mx2 + std::expm1(p * lp) * lp + std::expm1(p * lm) * lm);
}

// K_L at the sampled lags (ascending), long double. gl walks the recurrence through every L.
std::vector<ld> ref_K(SoeMethod m, ld alpha, ld w, ld h, const std::vector<int64_t>& Ls) {
  std::vector<ld> out(Ls.size());
  if (m == SoeMethod::GL) {
    ld g = 1;
    int64_t L = 0;
    for (size_t i = 0; i < Ls.size(); ++i) {
      while (L < Ls[i]) {
        ++L;
        g *= 1 - (1 + alpha) / ld(L);
      }
      out[i] = w * std::pow(h, -alpha) * g;
    }
    return out;
  }
  for (size_t i = 0; i < Ls.size(); ++i) {
    const ld L = ld(Ls[i]);
    if (m == SoeMethod::L1) {
      ld c = 1, dc = 0;
      if (L == 0) {
        c = 1;
      } else {
        l1_second_difference(L, 1 - alpha, c, dc);
      }
      out[i] = w * std::pow(h, -alpha) / std::tgamma(2 - alpha) * c;
    } else {
      const ld diff = L == 1 ? 1.0L : std::pow(L, alpha) * -std::expm1(alpha * std::log1p(-1 / L));
      out[i] = w * std::pow(h, alpha) / std::tgamma(alpha + 1) * diff;
    }
  }
  return out;
}

// dK_L/dalpha from the closed forms (digamma, lgamma), long double.
std::vector<ld> ref_dK_analytic(SoeMethod m, ld alpha, ld w, ld h, const std::vector<int64_t>& Ls) {
  std::vector<ld> out(Ls.size());
  for (size_t i = 0; i < Ls.size(); ++i) {
    const ld L = ld(Ls[i]);
    if (m == SoeMethod::L1) {
      const ld a = w * std::pow(h, -alpha) / std::tgamma(2 - alpha);
      ld c, dcdp;
      l1_second_difference(L, 1 - alpha, c, dcdp);
      out[i] = a * ((-std::log(h) + digamma_ld(2 - alpha)) * c - dcdp);
    } else if (m == SoeMethod::GL) {
      const ld b = w * std::pow(h, -alpha);
      if (L == 1) {
        out[i] = b * (-1 + alpha * std::log(h));  // g_1 = -alpha
      } else if (alpha == 1) {
        out[i] = b / (L * (L - 1));  // g_L = 0 for L >= 2
      } else {
        const ld g = -std::exp(std::lgamma(L - alpha) - std::lgamma(L + 1) - std::lgamma(-alpha));
        const ld dg = g * (digamma_ld(1 - alpha) + 1 / alpha - digamma_ld(L - alpha));  // psi(-a) = psi(1-a) + 1/a
        out[i] = b * (dg - std::log(h) * g);
      }
    } else {
      const ld pre = w * std::pow(h, alpha) / std::tgamma(alpha + 1);
      const ld Lp = std::pow(L, alpha);
      if (L == 1) {
        out[i] = pre * (std::log(h) - digamma_ld(alpha + 1));
        continue;
      }
      const ld l1 = std::log1p(-1 / L), e = std::exp(alpha * l1);
      const ld diff = Lp * -std::expm1(alpha * l1);
      const ld ddiff = std::log(L) * diff - Lp * l1 * e;
      out[i] = pre * ((std::log(h) - digamma_ld(alpha + 1)) * diff + ddiff);
    }
  }
  return out;
}

// gl closed form through lgamma (a check of the recurrence), alpha < 1.
std::vector<ld> ref_K_gl_lgamma(ld alpha, ld w, ld h, const std::vector<int64_t>& Ls) {
  std::vector<ld> out(Ls.size());
  for (size_t i = 0; i < Ls.size(); ++i) {
    const ld L = ld(Ls[i]);
    out[i] = -w * std::pow(h, -alpha) * std::exp(std::lgamma(L - alpha) - std::lgamma(L + 1) - std::lgamma(-alpha));
  }
  return out;
}

// 4th-order central difference in alpha of ref_K, step eta.
std::vector<ld> ref_dK_fd(SoeMethod m, ld alpha, ld w, ld h, const std::vector<int64_t>& Ls) {
  const ld eta = 1e-4L;
  const auto p1 = ref_K(m, alpha + eta, w, h, Ls), m1 = ref_K(m, alpha - eta, w, h, Ls);
  const auto p2 = ref_K(m, alpha + 2 * eta, w, h, Ls), m2 = ref_K(m, alpha - 2 * eta, w, h, Ls);
  std::vector<ld> out(Ls.size());
  for (size_t i = 0; i < Ls.size(); ++i) out[i] = (8 * (p1[i] - m1[i]) - (p2[i] - m2[i])) / (12 * eta);
  return out;
}

// Every L in [L0, dense] and a log grid (40 per decade) up to Lmax.
std::vector<int64_t> sample_lags(int64_t L0, int64_t Lmax, int64_t dense) {
  std::vector<int64_t> Ls;
  for (int64_t L = L0; L <= std::min(dense, Lmax); ++L) Ls.push_back(L);
  for (double x = std::log10(double(dense)); ; x += 1.0 / 40) {
    const int64_t L = std::min<int64_t>(Lmax, int64_t(std::llround(std::pow(10.0, x))));
    if (L > Ls.back()) Ls.push_back(L);
    if (L >= Lmax) break;
  }
  return Ls;
}

// max_i |a_i - b_i| / max(|b_i|, |c_i|, floor)   (c: a second scale, e.g. K_L for dK_L)
double max_rel(const std::vector<ld>& a, const std::vector<ld>& b, const std::vector<ld>& c, ld floor) {
  ld worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const ld scale = std::max(std::max(std::fabs(b[i]), std::fabs(c[i])), floor);
    if (scale == 0) {
      if (a[i] != b[i]) return INFINITY;
      continue;
    }
    worst = std::max(worst, std::fabs(a[i] - b[i]) / scale);
  }
  return double(worst);
}

int failures = 0;

struct CaseResult {
  size_t Q;
  int64_t L0;
  double errK, errdK, refAgree;
};

// One layer (terms alphas/weights) of one method: SOE against the references at all sampled lags.
// compress > 0: the trapezoid set at tol, refit on fewer nodes to compress (fsnn::compress_soe).
CaseResult check_case(SoeMethod m, const std::vector<double>& alphas, const std::vector<double>& weights, double h,
                      int64_t L0_in, int64_t Lmax, double tol, double compress = 0) {
  const SoeApprox fine = fsnn::build_soe_terms(m, alphas, weights, h, L0_in, Lmax, tol);
  const SoeApprox soe = compress > 0 ? fsnn::compress_soe(fine, weights, compress) : fine;
  const auto Ls = sample_lags(soe.L0, Lmax, 4096);
  const std::vector<int64_t> first{m == SoeMethod::Pred ? 1 : 0};
  const size_t n = Ls.size();
  std::vector<ld> K(n, 0), Ksoe(n), zeros(n, 0);
  for (size_t i = 0; i < n; ++i) Ksoe[i] = fsnn::soe_eval(soe, Ls[i]);
  ld K_first = 0;
  double errdK = 0, refAgree = 0;
  for (size_t t = 0; t < alphas.size(); ++t) {
    const ld a = alphas[t], w = weights[t];
    const auto Kt = ref_K(m, a, w, h, Ls);
    const ld Kt_first = std::fabs(ref_K(m, a, w, h, first)[0]);
    K_first += ref_K(m, a, w, h, first)[0];
    for (size_t i = 0; i < n; ++i) K[i] += Kt[i];
    const auto dA = ref_dK_analytic(m, a, w, h, Ls);
    const auto dF = ref_dK_fd(m, a, w, h, Ls);
    std::vector<ld> dS(n), dW(n);
    for (size_t i = 0; i < n; ++i) {
      dS[i] = fsnn::soe_eval_dalpha(soe, t, Ls[i]);
      dW[i] = w * fsnn::soe_eval_dweight(soe, t, Ls[i]);  // w dK/dw = K for the term
    }
    const ld floor = 1e-12L * Kt_first;
    errdK = std::max(errdK, max_rel(dS, dA, Kt, floor));
    refAgree = std::max(refAgree, max_rel(dF, dA, Kt, floor));
    errdK = std::max(errdK, max_rel(dW, Kt, zeros, floor));  // the weight derivative, same measure as K
    if (m == SoeMethod::GL && a < 1) refAgree = std::max(refAgree, max_rel(ref_K_gl_lgamma(a, w, h, Ls), Kt, zeros, floor));
  }
  const double errK = max_rel(Ksoe, K, zeros, 1e-12L * std::fabs(K_first));
  return {soe.nodes(), soe.L0, errK, errdK, refAgree};
}

void report_case(SoeMethod m, const std::vector<double>& alphas, const std::vector<double>& weights, double h,
                 int64_t L0, int64_t Lmax, double tol, double compress = 0) {
  const CaseResult r = check_case(m, alphas, weights, h, L0, Lmax, tol, compress);
  std::string a, w;
  for (size_t t = 0; t < alphas.size(); ++t) {
    a += (t ? "," : "") + std::to_string(alphas[t]).substr(0, 5);
    w += (t ? "," : "") + std::to_string(weights[t]).substr(0, 4);
  }
  const bool ok = r.errK <= 1e-7 && r.errdK <= 1e-7 && r.refAgree <= 1e-8;
  if (!ok) ++failures;
  char lmax_col[32] = "";  // the compressed rows name their Lmax
  if (compress > 0) std::snprintf(lmax_col, sizeof lmax_col, "%-9lld ", (long long)Lmax);
  std::printf("%s %-4s %-11s %-8s %-4g %s%3zu %3lld %.2e %.2e %.2e %s\n", compress > 0 ? "cmpr" : "case", method_name(m),
              a.c_str(), w.c_str(), h, lmax_col, r.Q, (long long)r.L0, r.errK, r.errdK, r.refAgree, ok ? "ok" : "FAIL");
  std::fflush(stdout);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The toy recurrence, exact O(T^2) vs near window + SOE running states, and the adjoint-side sums.
void check_recurrence(SoeMethod m, double alpha, int64_t T, double tol) {
  std::vector<int64_t> all(T + 1);
  for (int64_t L = 0; L <= T; ++L) all[L] = L;
  const auto Kl = ref_K(m, alpha, 1, 1, all);
  const auto dKl = ref_dK_analytic(m, alpha, 1, 1, std::vector<int64_t>(all.begin() + 1, all.end()));
  std::vector<double> K(T + 1);
  for (int64_t L = 0; L <= T; ++L) K[L] = double(Kl[L]);
  std::vector<double> f(T);
  for (int64_t k = 0; k < T; ++k) f[k] = 0.5 + std::sin(0.013 * double(k)) + 0.3 * std::cos(0.0007 * double(k));

  // exact: v_{k+1} = (f_k - sum_{L=1}^{k} K_L v_{k+1-L}) / K_0, v_0 = 0
  auto t0 = std::chrono::steady_clock::now();
  std::vector<double> v(T + 1, 0.0);
  for (int64_t k = 0; k < T; ++k) {
    double acc = 0;
    for (int64_t L = 1; L <= k; ++L) acc += K[L] * v[k + 1 - L];
    v[k + 1] = (f[k] - acc) / K[0];
  }
  const double t_exact = seconds_since(t0);

  // SOE: lags 1..L0-1 exact; far part sum_q c_q H_q(n), H_q(n) = e^-s_q H_q(n-1) + v_{n-L0}
  t0 = std::chrono::steady_clock::now();
  const SoeApprox soe = fsnn::build_soe(m, alpha, 1, 1, 0, T, tol);
  const int64_t L0 = soe.L0;
  const size_t Q = soe.nodes();
  std::vector<double> H(Q, 0.0), u(T + 1, 0.0);
  std::vector<double> Hall;  // H_q(n) for the adjoint check, n = 1..T
  Hall.reserve(size_t(T) * Q);
  for (int64_t k = 0; k < T; ++k) {
    const int64_t n = k + 1;
    double acc = 0;
    for (int64_t L = 1; L < L0 && L <= k; ++L) acc += K[L] * u[n - L];
    if (n >= L0) {
      const double leaving = u[n - L0];  // the value leaving the near window
      for (size_t q = 0; q < Q; ++q) H[q] = soe.decay[q] * H[q] + leaving;
      for (size_t q = 0; q < Q; ++q) acc += soe.c[q] * H[q];
    }
    u[n] = (f[k] - acc) / K[0];
    Hall.insert(Hall.end(), H.begin(), H.end());
  }
  const double t_soe = seconds_since(t0);
  double vmax = 0, dmax = 0;
  for (int64_t n = 0; n <= T; ++n) {
    vmax = std::max(vmax, std::fabs(v[n]));
    dmax = std::max(dmax, std::fabs(u[n] - v[n]));
  }
  const double errV = dmax / vmax;

  // adjoint side: gK_L = sum_n lam_n u_{n-L}; sum_{L=L0}^{T} gK_L {K_L, dK_L} via the states.
  std::vector<double> lam(T + 1);
  for (int64_t n = 0; n <= T; ++n) lam[n] = std::cos(0.021 * double(n)) + 0.1;
  ld exK = 0, exD = 0, absK = 0, absD = 0;
  for (int64_t L = L0; L <= T; ++L) {
    ld g = 0;
    for (int64_t n = L; n <= T; ++n) g += ld(lam[n]) * u[n - L];
    exK += g * Kl[L];
    exD += g * dKl[L - 1];
    absK += std::fabs(g * Kl[L]);
    absD += std::fabs(g * dKl[L - 1]);
  }
  ld soK = 0, soD = 0;
  for (int64_t n = 1; n <= T; ++n) {
    for (size_t q = 0; q < Q; ++q) {
      soK += ld(lam[n]) * soe.c[q] * Hall[size_t(n - 1) * Q + q];
      soD += ld(lam[n]) * soe.dc_dalpha[0][q] * Hall[size_t(n - 1) * Q + q];
    }
  }
  const double errAK = double(std::fabs(soK - exK) / absK), errAD = double(std::fabs(soD - exD) / absD);
  const bool ok = errV <= 1e-7 && errAK <= 1e-7 && errAD <= 1e-7;
  if (!ok) ++failures;
  std::printf("recur %-4s %-5g %6lld %3zu %3lld %.2e %.2e %.2e %8.3f %8.3f %s\n", method_name(m), alpha, (long long)T,
              Q, (long long)L0, errV, errAK, errAD, t_exact, t_soe, ok ? "ok" : "FAIL");
  std::fflush(stdout);
}

// Bad input must throw fsnn::Error (never crash, never return garbage).
void check_bad_input() {
  struct Bad {
    const char* what;
    double alpha, w, h;
    int64_t L0, Lmax;
    double tol;
  };
  const Bad bad[] = {{"alpha 0", 0, 1, 1, 0, 100, 1e-9},       {"alpha 1.5", 1.5, 1, 1, 0, 100, 1e-9},
                     {"alpha NaN", NAN, 1, 1, 0, 100, 1e-9},    {"w inf", 0.5, INFINITY, 1, 0, 100, 1e-9},
                     {"h 0", 0.5, 1, 0, 0, 100, 1e-9},          {"L0 1", 0.5, 1, 1, 1, 100, 1e-9},
                     {"Lmax < L0", 0.5, 1, 1, 16, 8, 1e-9},     {"tol 0", 0.5, 1, 1, 0, 100, 0}};
  for (const Bad& b : bad) {
    bool threw = false;
    try {
      fsnn::build_soe(SoeMethod::L1, b.alpha, b.w, b.h, b.L0, b.Lmax, b.tol);
    } catch (const fsnn::Error&) {
      threw = true;
    }
    if (!threw) {
      std::printf("bad input not rejected: %s FAIL\n", b.what);
      ++failures;
    }
  }
  const SoeApprox a = fsnn::build_soe(SoeMethod::GL, 0.5, 1, 1, 8, 100, 1e-9);
  bool threw = false;
  try {
    fsnn::soe_eval(a, 101);
  } catch (const fsnn::Error&) {
    threw = true;
  }
  if (!threw) {
    std::printf("soe_eval outside [L0, Lmax] not rejected FAIL\n");
    ++failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const double tol = 1e-9;
  const int64_t Lmax = 10000000;
  const int64_t Tmax = argc > 1 ? std::atoll(argv[1]) : 65536;
  const SoeMethod methods[] = {SoeMethod::L1, SoeMethod::GL, SoeMethod::Pred};
  check_bad_input();
  const double alphas[] = {0.01, 0.1, 0.3, 0.5, 0.8, 0.99, 1.0};
  std::printf("SOE kernel history, tol %.0e, Lmax %lld; err = max |SOE - ref| / max(|ref|, 1e-12 K_first) "
              "(dK: also |K_L| in the max)\n",
              tol, (long long)Lmax);
  std::printf("     method alpha       weight   h     Q  L0   errK     errdK    refs     \n");
  for (SoeMethod m : methods) {
    for (double h : {1.0, 0.5, 0.1}) {
      for (double a : alphas) report_case(m, {a}, {1.0}, h, 0, Lmax, tol);
    }
    for (double h : {1.0, 0.1}) report_case(m, {0.3, 0.8}, {1.0, 0.5}, h, 0, Lmax, tol);
    report_case(m, {0.5, 0.99, 1.0}, {1.0, -0.25, 0.5}, 1.0, 0, Lmax, tol);
    for (int64_t L0 : {8, 64}) report_case(m, {0.5}, {1.0}, 1.0, L0, Lmax, tol);
  }
  // The long double references are good to ~1e-11 at L = 1e7 (lgamma of ~1.5e8 for gl), hence the floor.
  std::printf("Q against tol and Lmax (alpha 0.5, h 1, L0 automatic); pass: errK, errdK <= max(10 tol, 3e-11)\n");
  std::printf("     method tol     Lmax      Q  L0   errK     errdK\n");
  for (SoeMethod m : methods) {
    for (double t : {1e-6, 1e-9, 1e-12}) {
      for (int64_t Lm : {int64_t(1000), int64_t(100000), Lmax}) {
        const CaseResult r = check_case(m, {0.5}, {1.0}, 1.0, 0, Lm, t);
        const bool ok = r.errK <= std::max(10 * t, 3e-11) && r.errdK <= std::max(10 * t, 3e-11);
        if (!ok) ++failures;
        std::printf("qtab %-4s %-7.0e %-9lld %3zu %3lld %.2e %.2e %s\n", method_name(m), t, (long long)Lm, r.Q,
                    (long long)r.L0, r.errK, r.errdK, ok ? "ok" : "FAIL");
      }
    }
  }
  // The sets the fast history runs on (native/fractional_history.cc): the trapezoid set at 1e-10, compressed
  // to 3e-8 (fsnn::compress_soe), L0 = 4, Lmax a power of two as there (4096, 65536) and 1e7.
  std::printf("compressed sets (trapezoid 1e-10 refit to 3e-8, L0 4); pass: errK, errdK <= 1e-7\n");
  std::printf("     method alpha       weight   h     Lmax      Q  L0   errK     errdK    refs\n");
  for (SoeMethod m : methods) {
    for (int64_t Lm : {int64_t(4096), int64_t(65536), Lmax}) {
      for (double h : {1.0, 0.1}) {
        for (double a : alphas) report_case(m, {a}, {1.0}, h, 4, Lm, 1e-10, 3e-8);
      }
      report_case(m, {0.3, 0.8}, {1.0, 0.5}, 1.0, 4, Lm, 1e-10, 3e-8);
      report_case(m, {0.5, 0.99, 1.0}, {1.0, -0.25, 0.5}, 1.0, 4, Lm, 1e-10, 3e-8);
    }
  }
  std::printf("recurrence v_{k+1} = (f_k - sum K_L v_{k+1-L}) / K_0: errV = max|v_soe - v| / max|v|, "
              "adjK/adjdK: sum_L gK_L (K_L, dK_L/dalpha) via states vs exact, rel. to sum |.|; times in s\n");
  std::printf("      method alpha      T   Q  L0  errV     adjK     adjdK    t_exact  t_soe\n");
  for (SoeMethod m : {SoeMethod::L1, SoeMethod::GL}) {
    for (double a : {0.3, 0.8}) {
      check_recurrence(m, a, std::min<int64_t>(4096, Tmax), tol);
      if (Tmax > 4096) check_recurrence(m, a, Tmax, tol);
    }
  }
  if (failures == 0) {
    std::printf("soe checks: all passed\n");
    return 0;
  }
  std::printf("soe checks: %d FAILED\n", failures);
  return 1;
}
