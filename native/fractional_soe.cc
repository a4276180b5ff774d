// Sum-of-exponentials approximation of the fractional kernels' far history (see fractional_soe.h and
// native/README-soe.md).
//
// Every kernel is a Laplace transform in the lag: for L >= L0, with l = L - L0,
//   K_L = int_0^inf exp(-s l) psi(s) ds,   s psi(s) = P(alpha) s^gam g(s),   g(s) = exp(G(s)),
//   G(s) = -A s + m ln( -expm1(-s) / s )                         (stable: no overflow, no cancellation)
// with sin(pi alpha)/pi = 1 / (Gamma(alpha) Gamma(1 - alpha)) absorbing every Gamma function:
//   l1    P = -w h^-alpha sin(pi alpha)/pi,  gam = 1 + alpha,  A = L0 - 1,      m = 2
//         from L^p = p/Gamma(1-p) int (1 - e^-sL) s^(-p-1) ds:  second difference
//         = -p/Gamma(1-p) int e^-sL 4 sinh^2(s/2) s^(-p-1) ds,  e^-sL 4 sinh^2(s/2) = e^-s(L-1) (1-e^-s)^2
//   gl    P = -w h^-alpha sin(pi alpha)/pi,  gam = 1 + alpha,  A = L0 - alpha,  m = alpha
//         from g_L = B(L - alpha, 1 + alpha) / (Gamma(-alpha) Gamma(1 + alpha)), t = e^-s in the Beta integral
//   pred  P = +w h^alpha sin(pi alpha)/pi,   gam = 1 - alpha,  A = L0 - 1,      m = 1
//         from L^a - (L-1)^a = a/Gamma(1-a) int e^-s(L-1) (1 - e^-s) s^(-a-1) ds
// The integral is discretised by the trapezoid rule in u = ln s on the fixed grid u_j = j du (nodes do not
// depend on alpha, so terms share them):  c_j = du P s_j^gam g(s_j),  j_lo <= j <= j_hi.
// The nodes below s_lo = s_{j_lo} (the rest of the bi-infinite trapezoid sum) are lumped, with their
// zeroth and first moments kept, onto the zero-decay node (s = 0) and the node s_lo:
//   Z0 = sum_{k>=1} du P s_k^gam g(s_k),  Z1 = sum_{k>=1} du P s_k^(gam+1) g(s_k),  s_k = s_lo e^(-k du)
//   c_zero = Z0 - Z1 / s_lo,   c_lo += Z1 / s_lo          (error O((l s_lo)^2) relative to the tail)
// using sum_k s_k^gam = s_lo^gam / expm1(du gam) and summing s_k^gam expm1(G(s_k)) directly. For pred at
// alpha -> 1 (gam -> 0) the product du sin(pi alpha)/pi / expm1(du gam) = sinc(gam) (du gam)/expm1(du gam)
// stays finite: at alpha = 1 the zero node carries b_L = w h exactly and every other weight is 0.
// All weights are computed with forward-mode dual numbers in alpha, so dc/dalpha is the exact derivative
// of the computed weights (the Gamma/digamma terms of the closed forms never appear).
#include "fractional_soe.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "error.h"

namespace fsnn {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A value and its derivative with respect to alpha.
struct Dual {
  double v = 0, d = 0;
};
Dual operator+(Dual a, Dual b) { return {a.v + b.v, a.d + b.d}; }
Dual operator-(Dual a, Dual b) { return {a.v - b.v, a.d - b.d}; }
Dual operator*(Dual a, Dual b) { return {a.v * b.v, a.d * b.v + a.v * b.d}; }
Dual operator/(Dual a, Dual b) { return {a.v / b.v, (a.d * b.v - a.v * b.d) / (b.v * b.v)}; }
Dual operator*(double a, Dual b) { return {a * b.v, a * b.d}; }
Dual constant(double v) { return {v, 0}; }
Dual dexp(Dual a) {
  const double e = std::exp(a.v);
  return {e, e * a.d};
}
Dual dexpm1(Dual a) { return {std::expm1(a.v), std::exp(a.v) * a.d}; }

// sin(pi x) for x in [0, 1], exact at 0 and 1 (reduced to [0, 1/2] by 1 - x, which is exact there).
Dual sinpi(Dual x) {
  const bool upper = x.v > 0.5;
  const double y = upper ? 1.0 - x.v : x.v;
  const double c = std::cos(kPi * y);
  return {std::sin(kPi * y), kPi * (upper ? -c : c) * x.d};
}

// sin(pi x) / (pi x), smooth through x = 0.
Dual sinc_pi(Dual x) {
  const double t = kPi * x.v;
  if (std::fabs(t) < 1e-3) {
    const double t2 = t * t;
    return {1 - t2 / 6 + t2 * t2 / 120, kPi * (-t / 3 + t * t2 / 30) * x.d};
  }
  return {std::sin(t) / t, kPi * (t * std::cos(t) - std::sin(t)) / (t * t) * x.d};
}

// y / expm1(y), smooth through y = 0.
Dual x_over_expm1(Dual y) {
  if (std::fabs(y.v) < 1e-3) {
    const double x = y.v, x2 = x * x;
    return {1 - x / 2 + x2 / 12 - x2 * x2 / 720, (-0.5 + x / 6 - x * x2 / 180) * y.d};
  }
  const double em = std::expm1(y.v);
  return {y.v / em, (1 / em - y.v * std::exp(y.v) / (em * em)) * y.d};
}

// One kernel term in the form s psi(s) = P s^gam exp(G(s)), G(s) = -A s + m ln(-expm1(-s)/s).
struct TermForm {
  SoeMethod method;
  Dual P, gam, A, m;
  Dual ln_weight_of(double u, double s) const {  // gam u + G(s): ln of s psi(s) / P
    const double q = -std::expm1(-s) / s;         // (1 - e^-s)/s in (0, 1]
    return gam * constant(u) - A * constant(s) + m * constant(std::log(q));
  }
  Dual G(double s) const { return ln_weight_of(0.0, s); }
};

TermForm term_form(SoeMethod method, double alpha, double w, double h, int64_t L0) {
  const Dual a{alpha, 1.0};
  const Dual sin_over_pi = (1.0 / kPi) * sinpi(a);
  const Dual ln_h = constant(std::log(h));
  TermForm t{method, {}, {}, {}, {}};
  switch (method) {
    case SoeMethod::L1:
      t.P = constant(-w) * dexp(constant(0) - a * ln_h) * sin_over_pi;
      t.gam = constant(1) + a;
      t.A = constant(double(L0 - 1));
      t.m = constant(2);
      break;
    case SoeMethod::GL:
      t.P = constant(-w) * dexp(constant(0) - a * ln_h) * sin_over_pi;
      t.gam = constant(1) + a;
      t.A = constant(double(L0)) - a;
      t.m = a;
      break;
    case SoeMethod::Pred:
      t.P = constant(w) * dexp(a * ln_h) * sin_over_pi;
      t.gam = constant(1) - a;
      t.A = constant(double(L0 - 1));
      t.m = constant(1);
      break;
  }
  return t;
}

// du P / expm1(du gam): for pred (gam = 1 - alpha -> 0) through sinc(gam) (du gam)/expm1(du gam).
Dual tail_geometric_factor(const TermForm& t, double alpha, double w, double h, double du) {
  if (t.method == SoeMethod::Pred) {
    const Dual a{alpha, 1.0};
    const Dual pw = constant(w) * dexp(a * constant(std::log(h)));
    return pw * sinc_pi(t.gam) * x_over_expm1(du * t.gam);
  }
  return du * t.P / dexpm1(du * t.gam);
}

// The lowest trapezoid node a term needs for Lmax: lumping the rest leaves a relative error about
// (Lmax s_lo)^(gam + 2), so s_lo = tol^(1/(gam+2)) / Lmax (gam floored at 1/2: for pred near alpha = 1 the
// small Gamma(gam)^-1 factor of the error, measured, allows it).
double lowest_node_for(double gam, int64_t Lmax, double tol) {
  return std::pow(tol, 1.0 / (std::max(gam, 0.5) + 2.0)) / double(Lmax);
}

// Trapezoid step in u = ln s: the error is about exp(-pi^2 / du) times a factor growing with gam (the
// integrand is analytic for |Im u| < pi/2, where |s^gam| grows); the offset 2 + 2 gam is measured.
double trapezoid_step(double tol, double gam) { return kPi * kPi / (std::log(1.0 / tol) + 2.0 + 2.0 * gam); }

void validate(SoeMethod method, const std::vector<double>& alphas, const std::vector<double>& weights, double h,
              int64_t L0, int64_t Lmax, double tol) {
  if (method != SoeMethod::L1 && method != SoeMethod::GL && method != SoeMethod::Pred) {
    fail("build_soe: unknown method ", int(method), "; use SoeMethod::L1, GL or Pred");
  }
  if (alphas.empty() || alphas.size() != weights.size()) {
    fail("build_soe: ", alphas.size(), " orders and ", weights.size(),
         " weights; give one weight per order and at least one term");
  }
  for (size_t m = 0; m < alphas.size(); ++m) {
    if (!(alphas[m] > 0 && alphas[m] <= 1)) {
      fail("build_soe: order alphas[", m, "] = ", alphas[m], " is outside (0, 1]; use 0 < alpha <= 1");
    }
    if (!std::isfinite(weights[m])) fail("build_soe: weights[", m, "] = ", weights[m], " is not finite");
  }
  if (!(std::isfinite(h) && h > 0)) fail("build_soe: step h = ", h, " must be finite and > 0");
  if (L0 != 0 && L0 < 2) fail("build_soe: L0 = ", L0, " must be >= 2 (or 0 to choose it automatically)");
  if (Lmax < std::max<int64_t>(L0, 2)) {
    fail("build_soe: Lmax = ", Lmax, " must be >= L0 = ", std::max<int64_t>(L0, 2), "; pass the sequence length T");
  }
  if (!(tol >= 1e-14 && tol <= 1e-3)) fail("build_soe: tol = ", tol, " must be in [1e-14, 1e-3] (e.g. 1e-9)");
}

SoeApprox build_with_L0(SoeMethod method, const std::vector<double>& alphas, const std::vector<double>& weights,
                        double h, int64_t L0, int64_t Lmax, double tol) {
  const size_t terms = alphas.size();
  std::vector<TermForm> forms;
  double s_lo = std::numeric_limits<double>::infinity(), du = std::numeric_limits<double>::infinity();
  for (size_t m = 0; m < terms; ++m) {
    forms.push_back(term_form(method, alphas[m], 1.0, h, L0));  // unit weight
    s_lo = std::min(s_lo, lowest_node_for(forms.back().gam.v, Lmax, tol));
    du = std::min(du, trapezoid_step(tol, forms.back().gam.v));
  }
  const int64_t j_lo = int64_t(std::floor(std::log(s_lo) / du));
  const double u_lo = double(j_lo) * du;
  s_lo = std::exp(u_lo);

  // Trapezoid nodes from s_lo upward until every term's weight and alpha-derivative is negligible
  // (past the maximum of s^gam e^-As the weights fall doubly exponentially in j).
  std::vector<double> nodes;                         // s_j, j = j_lo..
  std::vector<std::vector<Dual>> w(terms);           // per term: c_j and dc_j/dalpha
  std::vector<double> max_c(terms, 0.0), max_dc(terms, 0.0);
  const double negligible = 1e-3 * tol;
  for (int64_t j = j_lo;; ++j) {
    const double u = double(j) * du, s = std::exp(u);
    bool all_small = true;
    for (size_t m = 0; m < terms; ++m) {
      const Dual c = du * forms[m].P * dexp(forms[m].ln_weight_of(u, s));
      w[m].push_back(c);
      max_c[m] = std::max(max_c[m], std::fabs(c.v));
      max_dc[m] = std::max(max_dc[m], std::fabs(c.d));
      if (std::fabs(c.v) > negligible * max_c[m] || std::fabs(c.d) > negligible * max_dc[m]) all_small = false;
    }
    nodes.push_back(s);
    if ((s * double(L0 - 1) > 4.0 && all_small) || s > 1e3) break;
  }

  // Lump the trapezoid nodes below s_lo onto the zero node and s_lo (moments 0 and 1 kept).
  std::vector<Dual> zero(terms);
  for (size_t m = 0; m < terms; ++m) {
    const TermForm& t = forms[m];
    Dual z0 = tail_geometric_factor(t, alphas[m], 1.0, h, du) * dexp(t.gam * constant(u_lo));
    Dual z1 = du * t.P / dexpm1(du * (t.gam + constant(1))) * dexp((t.gam + constant(1)) * constant(u_lo));
    Dual r0{}, r1{};  // sum_k s_k^gam expm1(G(s_k)) and sum_k s_k^(gam+1) expm1(G(s_k))
    for (int k = 1; k < 100000; ++k) {
      const double u = u_lo - k * du, s = std::exp(u);
      const Dual e = dexpm1(t.G(s));
      const Dual p0 = dexp(t.gam * constant(u));
      const Dual term0 = p0 * e, term1 = s * term0;
      r0 = r0 + term0;
      r1 = r1 + term1;
      if (std::fabs(term0.v) + std::fabs(term0.d) <= 1e-19 * (std::fabs(r0.v) + std::fabs(r0.d))) break;
    }
    z0 = z0 + du * t.P * r0;
    z1 = z1 + du * t.P * r1;
    const Dual to_lo = z1 / constant(s_lo);
    zero[m] = z0 - to_lo;
    w[m][0] = w[m][0] + to_lo;
  }

  SoeApprox a;
  a.method = method;
  a.L0 = L0;
  a.Lmax = Lmax;
  a.tol = tol;
  a.h = h;
  a.du = du;
  const size_t Q = nodes.size() + 1;
  a.s.resize(Q);
  a.decay.resize(Q);
  a.c.assign(Q, 0.0);
  a.dc_dalpha.assign(terms, std::vector<double>(Q, 0.0));
  a.dc_dweight.assign(terms, std::vector<double>(Q, 0.0));
  a.s[0] = 0.0;
  for (size_t q = 1; q < Q; ++q) a.s[q] = nodes[q - 1];
  for (size_t q = 0; q < Q; ++q) a.decay[q] = std::exp(-a.s[q]);
  // Every weight is linear in w_m: the forms are built at w_m = 1 and scaled here.
  for (size_t m = 0; m < terms; ++m) {
    for (size_t q = 0; q < Q; ++q) {
      const Dual c = q == 0 ? zero[m] : w[m][q - 1];
      a.c[q] += weights[m] * c.v;
      a.dc_dalpha[m][q] = weights[m] * c.d;
      a.dc_dweight[m][q] = c.v;
    }
  }
  return a;
}

}  // namespace

int64_t soe_auto_L0(SoeMethod method, const std::vector<double>& alphas, const std::vector<double>& weights, double h,
                    int64_t Lmax, double tol) {
  validate(method, alphas, weights, h, 0, Lmax, tol);
  int64_t best = std::min<int64_t>(Lmax, 4);
  double best_cost = std::numeric_limits<double>::infinity();
  for (int64_t L0 : {4, 8, 16, 32, 64}) {
    if (L0 > Lmax) break;
    const double cost = double(L0) + 2.0 * double(build_with_L0(method, alphas, weights, h, L0, Lmax, tol).nodes());
    if (cost < best_cost) {
      best_cost = cost;
      best = L0;
    }
  }
  return std::max<int64_t>(best, 2);
}

SoeApprox build_soe_terms(SoeMethod method, const std::vector<double>& alphas, const std::vector<double>& weights,
                          double h, int64_t L0, int64_t Lmax, double tol) {
  validate(method, alphas, weights, h, L0, Lmax, tol);
  if (L0 == 0) L0 = soe_auto_L0(method, alphas, weights, h, Lmax, tol);
  return build_with_L0(method, alphas, weights, h, L0, Lmax, tol);
}

SoeApprox build_soe(SoeMethod method, double alpha, double w, double h, int64_t L0, int64_t Lmax, double tol) {
  return build_soe_terms(method, {alpha}, {w}, h, L0, Lmax, tol);
}

namespace {
double eval_weights(const SoeApprox& a, const std::vector<double>& c, int64_t L) {
  if (L < a.L0 || L > a.Lmax) fail("soe_eval: lag L = ", L, " is outside [L0, Lmax] = [", a.L0, ", ", a.Lmax, "]");
  const double l = double(L - a.L0);
  double sum = 0;
  for (size_t q = 0; q < c.size(); ++q) sum += c[q] * std::exp(-a.s[q] * l);
  return sum;
}
const std::vector<double>& term_row(const std::vector<std::vector<double>>& rows, size_t term) {
  if (term >= rows.size()) fail("soe_eval: term ", term, " out of range (", rows.size(), " terms)");
  return rows[term];
}
}  // namespace

double soe_eval(const SoeApprox& a, int64_t L) { return eval_weights(a, a.c, L); }
double soe_eval_dalpha(const SoeApprox& a, size_t term, int64_t L) {
  return eval_weights(a, term_row(a.dc_dalpha, term), L);
}
double soe_eval_dweight(const SoeApprox& a, size_t term, int64_t L) {
  return eval_weights(a, term_row(a.dc_dweight, term), L);
}

}  // namespace fsnn
