// The kernel module (equations in fractional_kernel.h): one builder per method, the checks, and the
// cache of recently built kernels.
#include "fractional_kernel.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "error.h"
#include "fractional_spec_cache.h"
#include "special_functions.h"

namespace fsnn {

namespace {

const char* const kMethodNames[kFractionalMethodCount] = {"l1", "gl", "euler", "pred", "trap"};

// ---- checks (the messages quote the caller's values as JavaScript prints them) ----

void check_step(double h) {
  if (!std::isfinite(h) || !(h > 0))
    fail("step h = ", js_number(h), " must be a finite number > 0; pass the simulation time step (e.g. dt = 1)");
}
[[noreturn]] void fail_steps(const std::string& T) {
  fail("number of time steps T = ", T, " must be an integer >= 1; pass the sequence length");
}

// The tables K, dK/dalpha_m and dK/dw_m are float64 [T + 1] each; a T whose tables would exceed this is
// refused before anything is built (a one-step static input makes a huge T cheap to ask for).
constexpr double kMaxKernelTableBytes = 4.0 * 1024 * 1024 * 1024;

void check_spec(const FractionalKernelSpec& s) {
  check_step(s.h);
  if (s.T < 1) fail_steps(std::to_string(s.T));
  const double tables = 1.0 + 2.0 * double(s.method == FractionalMethod::Euler ? 0 : s.alphas.size());
  const double bytes = tables * (double(s.T) + 1.0) * 8.0;
  if (bytes > kMaxKernelTableBytes)
    fail("number of time steps T = ", s.T, " is too large: the kernel's float64 tables (K and its derivatives) would take ",
         js_number(std::round(bytes / (1024.0 * 1024 * 1024) * 10) / 10), " GiB, over the 4 GiB limit; split the sequence into shorter runs");
  if (s.method == FractionalMethod::Euler) return;  // integer order: orders and weights are not used
  if (s.alphas.size() != s.weights.size())
    fail("fractional orders (", s.alphas.size(), ") and weights (", s.weights.size(),
         ") have different lengths; give one weight per order");
  if (s.alphas.empty())
    fail("the fractional operator has zero terms; give at least one order alpha in (0, 1] with a weight "
         "(e.g. alphas [0.5], weights [1])");
  for (size_t m = 0; m < s.alphas.size(); ++m) {
    const double a = s.alphas[m];
    if (!std::isfinite(a) || !(a > 0) || a > 1)
      fail("fractional order alphas[", m, "] = ", js_number(a), " is outside (0, 1]; use an order with 0 < alpha <= 1 ",
           "(alpha = 1 is the ordinary first derivative)");
    if (!std::isfinite(s.weights[m]))
      fail("fractional weight weights[", m, "] = ", js_number(s.weights[m]), " is not a finite number; give a finite real coefficient");
  }
  if (s.method == FractionalMethod::Pred) {
    if (s.alphas.size() != 1)
      fail("method 'pred' (the fractional Adams-Bashforth predictor) is single-term only, got ", s.alphas.size(),
           " orders; use one order alpha (alphaMode 'scalar' or 'per_layer'), or method 'l1' / 'gl' for a multi-term operator");
    if (!(s.weights[0] > 0))
      fail("method 'pred': the coefficient weights[0] = ", js_number(s.weights[0]),
           " must be > 0 (it scales the operator, v = I^alpha f / w); use 1 for the plain predictor");
  }
}

void check_invertible(const std::vector<double>& K, double h, bool predictor) {
  if (!predictor && !(K[0] > 0))
    fail("K_0 = ", js_number(K[0]), " <= 0: the fractional operator is not invertible; give at least one positive coefficient ",
         "(the sum over terms of w_m h^-alpha_m / Gamma(2 - alpha_m) for l1, w_m h^-alpha_m for gl, must be > 0)");
  for (size_t L = 0; L < K.size(); ++L)
    if (!std::isfinite(K[L]))
      fail("K_", L, " = ", js_number(K[L]), " is not finite (h = ", js_number(h),
           "): the step is too small or the weights too large for float64; rescale time so h is nearer 1");
}

// ---- l1 ----

// The L1 second difference c_L(p) = (L+1)^p - 2 L^p + (L-1)^p and dc_L/dp, for L >= 2, without the
// O(eps L^2) cancellation of the direct form. With x = 1/L, s = (p/2) ln(1 - x^2), d = p atanh(x):
//   c_L   = 2 L^p [ expm1(s) cosh(d) + 2 sinh(d/2)^2 ]
//   dc/dp = ln(L) c_L + L^p [ ln(1 - x^2) + expm1(p ln(1+x)) ln(1+x) + expm1(p ln(1-x)) ln(1-x) ]
void l1_second_difference(double L, double p, double& c, double& dcdp) {
  const double x = 1.0 / L;
  const double Lp = std::pow(L, p);
  const double ln_one_minus_x2 = std::log1p(-x * x);
  const double s = 0.5 * p * ln_one_minus_x2;
  const double d = p * std::atanh(x);
  const double sh = std::sinh(0.5 * d);
  c = 2.0 * Lp * (std::expm1(s) * std::cosh(d) + 2.0 * sh * sh);
  const double lp = std::log1p(x), lm = std::log1p(-x);
  dcdp = std::log(L) * c + Lp * (ln_one_minus_x2 + std::expm1(p * lp) * lp + std::expm1(p * lm) * lm);
}

// l1 term m: K_L += a c_L(p);  dK_L/dalpha = a [(-ln h + psi(2 - alpha)) c_L - dc_L/dp];  dK_L/dw = (a/w) c_L.
void add_l1_term(double alpha, double w, double h, int64_t n, double* K, double* dA, double* dW) {
  const double p = 1.0 - alpha;
  const double b = std::pow(h, -alpha) / special::gamma(2.0 - alpha);  // a / w = h^-alpha / Gamma(2 - alpha)
  const double a = w * b;
  const double dlna = -std::log(h) + special::digamma(2.0 - alpha);  // d ln(a) / d alpha
  for (int64_t L = 0; L < n; ++L) {
    double c, dcdp;
    if (L == 0) {
      c = 1.0;
      dcdp = 0.0;
    } else if (L == 1) {
      const double two_p = std::pow(2.0, p);
      c = two_p - 2.0;
      dcdp = two_p * M_LN2;
    } else {
      l1_second_difference(double(L), p, c, dcdp);
    }
    K[L] += a * c;
    dA[L] = a * (dlna * c - dcdp);  // dp/dalpha = -1
    dW[L] = b * c;
  }
}

// ---- gl ----

// gl term m: K_L += w h^-alpha g_L;  dK_L/dalpha = w h^-alpha (dg_L - ln h g_L),
//   dg_L = -g_{L-1}/L + (1 - (1+alpha)/L) dg_{L-1}   (dg_0 = 0).
void add_gl_term(double alpha, double w, double h, int64_t n, double* K, double* dA, double* dW) {
  const double b = std::pow(h, -alpha);
  const double ln_h = std::log(h);
  double g = 1.0, dg = 0.0;
  for (int64_t L = 0; L < n; ++L) {
    if (L > 0) {
      const double r = 1.0 - (1.0 + alpha) / double(L);
      dg = -g / double(L) + r * dg;  // uses g_{L-1}
      g = r * g;
    }
    K[L] += w * b * g;
    dA[L] = w * b * (dg - ln_h * g);
    dW[L] = b * g;
  }
}

// ---- pred ----

// pred (one term): K_0 = 0; for L >= 1, K_L = b_L = r c_L(alpha), r = h^alpha / (w Gamma(alpha + 1)):
//   dK_L/dalpha = r [ (ln h - psi(alpha + 1)) c_L + dc_L/dalpha ],   dK_L/dw = -K_L / w.
void build_pred(double alpha, double w, double h, int64_t n, double* K, double* dA, double* dW) {
  const double r = std::pow(h, alpha) / (w * special::gamma(alpha + 1.0));
  const double dlnr = std::log(h) - special::digamma(alpha + 1.0);  // d ln(r) / d alpha
  K[0] = dA[0] = dW[0] = 0.0;
  for (int64_t L = 1; L < n; ++L) {
    double c, dc;
    pred_weight_factor(double(L), alpha, c, dc);
    K[L] = r * c;
    dA[L] = r * (dlnr * c + dc);
    dW[L] = -K[L] / w;
  }
}

// ---- euler ----

// K_0 = 1/h, K_1 = -1/h (no terms).
void build_euler(double h, std::vector<double>& K) {
  K[0] = 1.0 / h;
  K[1] = -1.0 / h;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace

// c_L = L^a - (L-1)^a = -L^a expm1(a log1p(-1/L));  dc_L/da = ln(L) c_L - (L-1)^a log1p(-1/L)  (L >= 2;
// both terms of the derivative are >= 0, so neither form cancels). c_1 = 1, dc_1/da = 0.
void pred_weight_factor(double L, double a, double& c, double& dcda) {
  if (L == 1.0) {
    c = 1.0;
    dcda = 0.0;
    return;
  }
  const double lm = std::log1p(-1.0 / L);
  const double La = std::pow(L, a);
  c = -La * std::expm1(a * lm);
  dcda = std::log(L) * c - La * std::exp(a * lm) * lm;
}

const char* fractional_method_name(FractionalMethod method) {
  const int i = static_cast<int>(method);
  return i >= 0 && i < kFractionalMethodCount ? kMethodNames[i] : "?";
}

FractionalMethod fractional_method_from_name(const std::string& name) {
  for (int i = 0; i < kFractionalMethodCount; ++i)
    if (name == kMethodNames[i]) return static_cast<FractionalMethod>(i);
  fail("fractional method '", name, "' is unknown; use one of 'l1' (Caputo L1, default), 'gl' (Grünwald–Letnikov), ",
       "'pred' (fractional Adams-Bashforth predictor, single term), 'trap' (an alias of 'l1') or 'euler' (integer order)");
}

FractionalKernelSpec fractional_kernel_spec(const std::string& method, std::vector<double> alphas,
                                            std::vector<double> weights, double h, double T) {
  FractionalKernelSpec s;
  s.method = fractional_method_from_name(method);
  check_step(h);
  if (!(T >= 1) || T != std::floor(T) || T > 9007199254740991.0) fail_steps(js_number(T));
  s.T = int64_t(T);
  s.alphas = std::move(alphas);
  s.weights = std::move(weights);
  s.h = h;
  return s;
}

FractionalKernel build_fractional_kernel(const FractionalKernelSpec& spec) {
  check_spec(spec);
  FractionalKernel k;
  k.method = spec.method;
  k.T = spec.T;
  const int64_t n = spec.T + 1;
  k.K.assign(size_t(n), 0.0);
  if (spec.method == FractionalMethod::Euler) {
    build_euler(spec.h, k.K);
  } else {
    k.terms = int64_t(spec.alphas.size());
    k.dAlpha.assign(size_t(k.terms * n), 0.0);
    k.dWeight.assign(size_t(k.terms * n), 0.0);
    for (int64_t m = 0; m < k.terms; ++m) {
      double* dA = k.dAlpha.data() + m * n;
      double* dW = k.dWeight.data() + m * n;
      if (spec.method == FractionalMethod::Pred)
        build_pred(spec.alphas[0], spec.weights[0], spec.h, n, k.K.data(), dA, dW);
      else if (spec.method == FractionalMethod::L1 || spec.method == FractionalMethod::Trap)
        add_l1_term(spec.alphas[size_t(m)], spec.weights[size_t(m)], spec.h, n, k.K.data(), dA, dW);
      else
        add_gl_term(spec.alphas[size_t(m)], spec.weights[size_t(m)], spec.h, n, k.K.data(), dA, dW);
    }
  }
  check_invertible(k.K, spec.h, fractional_method_is_predictor(spec.method));
  return k;
}

bool same_fractional_spec(const FractionalKernelSpec& a, const FractionalKernelSpec& b) {
  if (a.method != b.method || a.T != b.T || std::memcmp(&a.h, &b.h, sizeof(double)) != 0) return false;
  if (a.method == FractionalMethod::Euler) return true;
  return same_bits(a.alphas, b.alphas) && same_bits(a.weights, b.weights);
}

std::shared_ptr<const FractionalKernel> cached_fractional_kernel(const FractionalKernelSpec& spec) {
  static auto* cache = new FractionalSpecCache<FractionalKernel, kFractionalKernelCacheSize>();  // never destroyed: safe at exit
  return cache->get(spec, [&] { return build_fractional_kernel(spec); });
}

std::string js_number(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x == 0) return "0";
  // Shortest round-trip digits d1 d2 ... dk and exponent e with |x| = d1.d2...dk x 10^e.
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), std::fabs(x), std::chars_format::scientific);
  const std::string sci(buf, r.ptr);
  const size_t epos = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < epos; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int e = std::stoi(sci.substr(epos + 1));
  const int k = int(digits.size()), n = e + 1;  // |x| = 0.d1...dk x 10^n (ECMAScript Number::toString)
  std::string out = x < 0 ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(size_t(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, size_t(n)) + "." + digits.substr(size_t(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(size_t(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return out;
}

}  // namespace fsnn
