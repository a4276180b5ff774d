// The kernel module: the discrete fractional-derivative kernel K_0..K_T of a layer with terms m (orders
// alpha_m, weights w_m) and step h, and its exact derivatives with respect to every alpha_m and w_m, in
// float64. The one home of these formulas: the op (ops.cc), the binding's fractionalKernel export
// (lib/fractional/kernel.ts buildKernel) and through it the inference runner all use it.
//
// The solver advances v_{k+1} = ( f_k - sum_{L=1}^{min(k, M-1)} K_L v_{k+1-L} ) / K_0 with v_0 = 0, so
// sum_{L=0}^{n} K_L v_{n-L} approximates sum_m w_m D^{alpha_m} v(t_n) (Caputo).
//
//   l1    a_m = w_m h^(-alpha_m) / Gamma(2 - alpha_m),  p_m = 1 - alpha_m,  c_L(p) as below
//         K_L = sum_m a_m c_L(p_m),  c_0 = 1,  c_1 = 2^p - 2,  c_L = (L+1)^p - 2 L^p + (L-1)^p  (L >= 2)
//   gl    K_L = sum_m w_m h^(-alpha_m) g_L(alpha_m),  g_0 = 1,  g_L = (1 - (1 + alpha)/L) g_{L-1}
//   euler K_0 = 1/h, K_1 = -1/h, K_L = 0 for L >= 2 (integer order: no orders, no weights)
//   trap  an alias of l1: the product-trapezoidal weights equal l1's for the zero initial state of an
//         SNN (spikeDE's 'trap'), so the same K (the method keeps its name)
//
// pred, the fractional Adams-Bashforth predictor, is explicit and convolves the history of f, not of v:
//   v_{k+1} = sum_{L=1}^{min(k+1, M)} b_L f_{k+1-L}     (M most recent f values; fractional_op.h)
//   b_L = h^alpha / (w Gamma(alpha + 1)) (L^alpha - (L-1)^alpha),  L >= 1,   K_0 = 0 (unused)
// Its kernel holds K_L = b_L. Single term only (w, alpha); w scales the operator as in l1/gl
// (w D^alpha v = f, so v = I^alpha f / w): db_L/dw = -b_L / w, db_L/dalpha = b_L (ln h - psi(alpha + 1))
// + h^alpha / (w Gamma(alpha + 1)) d(L^alpha - (L-1)^alpha)/dalpha.
//
// A method is an enum value and one builder function (fractional_kernel.cc).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fsnn {

enum class FractionalMethod : int { L1 = 0, GL = 1, Euler = 2, Pred = 3, Trap = 4 };
constexpr int kFractionalMethodCount = 5;

// 'l1', 'gl', 'euler', 'pred', 'trap'.
const char* fractional_method_name(FractionalMethod method);
// The method of a name; throws the 'unknown method' error (naming the valid ones) otherwise.
FractionalMethod fractional_method_from_name(const std::string& name);

// What a kernel is built from. For euler, alphas and weights are ignored (and may be empty).
struct FractionalKernelSpec {
  FractionalMethod method = FractionalMethod::L1;
  std::vector<double> alphas;
  std::vector<double> weights;
  double h = 1.0;
  int64_t T = 1;  // the kernel holds K_0..K_T
};

struct FractionalKernel {
  FractionalMethod method = FractionalMethod::L1;
  int64_t T = 0;
  int64_t terms = 0;            // 0 for euler
  std::vector<double> K;        // K_0..K_T (T + 1)
  std::vector<double> dAlpha;   // [terms][T + 1]: dK_L / dalpha_m at m * (T + 1) + L
  std::vector<double> dWeight;  // [terms][T + 1]: dK_L / dw_m
};

// A spec from the caller's values, checked in this order: the method's name, h, T (an integer >= 1, given
// as a double so that 2.5 or NaN is reported as given). The terms are checked by the builder.
FractionalKernelSpec fractional_kernel_spec(const std::string& method, std::vector<double> alphas,
                                            std::vector<double> weights, double h, double T);

// Checks the spec and builds the kernel. Throws fsnn::Error naming the bad value and the fix for: h not
// finite or <= 0, T not >= 1, and (l1/gl/trap/pred) orders and weights of different lengths, zero terms,
// alpha outside (0, 1], a non-finite weight, K_0 <= 0 (not invertible; l1/gl/trap) or a non-finite K_L;
// for pred also more than one term and a weight <= 0.
FractionalKernel build_fractional_kernel(const FractionalKernelSpec& spec);

// True for the explicit predictor (pred): v_{k+1} = sum_L K_L f_{k+1-L} instead of the implicit solve.
inline bool fractional_method_is_predictor(FractionalMethod m) { return m == FractionalMethod::Pred; }

// The pred weight's L-dependent factor c_L(alpha) = L^alpha - (L-1)^alpha (L >= 1) and dc_L/dalpha,
// without cancellation for large L (exposed for the kernel tests).
void pred_weight_factor(double L, double alpha, double& c, double& dcda);

// Whether two specs describe the same kernel, bit for bit: method, T, h, and (except for euler, which has
// no terms) the orders and weights.
bool same_fractional_spec(const FractionalKernelSpec& a, const FractionalKernelSpec& b);

// The same through a cache of the most recently used kernels keyed by (method, alphas, weights, h, T)
// (bit-exact, fractional_spec_cache.h), so that steps with unchanged orders do not rebuild; safe to call
// from any thread.
std::shared_ptr<const FractionalKernel> cached_fractional_kernel(const FractionalKernelSpec& spec);
constexpr size_t kFractionalKernelCacheSize = 16;

// A number as JavaScript prints it (shortest round trip; NaN, Infinity, 1e-7, 1e+21), for error messages
// that quote the caller's value.
std::string js_number(double x);

}  // namespace fsnn
