// The history option and the cache of fast histories (fractional_history.h).
#include "fractional_history.h"

#include <cmath>
#include <utility>

#include "error.h"
#include "fractional_spec_cache.h"

namespace fsnn {
namespace {

const char* const kHistoryNames[] = {"exact", "fast", "auto"};

SoeMethod soe_method(FractionalMethod method) {
  switch (method) {
    case FractionalMethod::L1:
    case FractionalMethod::Trap: return SoeMethod::L1;  // trap has l1's weights
    case FractionalMethod::GL: return SoeMethod::GL;
    case FractionalMethod::Pred: return SoeMethod::Pred;
    default:
      fail("history 'fast': method '", fractional_method_name(method), "' has no fast history; use 'l1', 'gl' or 'pred'");
  }
}

// The last lag the approximation covers: a power of two >= max(T, 256), so that nearby T share one build.
int64_t soe_range(int64_t T) {
  int64_t L = 256;
  while (L < T) L *= 2;
  return L;
}

FractionalFastHistory build_fast_history(const FractionalKernelSpec& spec) {
  FractionalFastHistory f;
  // pred's kernel divides by its weight (b_L = h^alpha / (w Gamma(alpha + 1)) [L^alpha - (L-1)^alpha],
  // fractional_kernel.cc) where the SOE builder multiplies by it: build at 1/w, then dc/dw = -c/w.
  const bool pred = spec.method == FractionalMethod::Pred;
  std::vector<double> soe_weights = spec.weights;
  if (pred)
    for (double& w : soe_weights) w = 1.0 / w;
  // The trapezoid set at kFastHistoryFineTol, refit on the fewest geometric nodes that keep kFastHistoryTol
  // (compress_soe: about 25 instead of 52 nodes at T = 4,096). L0 = 4: with the compressed sets a wider near
  // window saves fewer nodes than it costs (per step L0 + 2 Q forward, 2 L0 + 3 Q backward).
  const SoeApprox fine =
      build_soe_terms(soe_method(spec.method), spec.alphas, soe_weights, spec.h, kFastHistoryL0, soe_range(spec.T), kFastHistoryFineTol);
  auto soe = std::make_shared<SoeApprox>(compress_soe(fine, soe_weights, kFastHistoryTol));
  if (pred)  // single term (checked by the kernel module)
    for (size_t m = 0; m < soe->dc_dweight.size(); ++m)
      for (size_t q = 0; q < soe->nodes(); ++q) soe->dc_dweight[m][q] = -soe->c[q] / spec.weights[m];
  if (soe->nodes() == 0 || soe->s[0] != 0.0) fail("history 'fast': internal error, the SOE has no zero-decay node");
  f.L0 = soe->L0;
  f.Q = int64_t(soe->nodes());
  f.terms = int64_t(spec.alphas.size());
  f.c.resize(size_t(f.Q));
  f.mu.resize(size_t(f.Q));
  for (int64_t q = 0; q < f.Q; ++q) {
    f.c[size_t(q)] = float(soe->c[size_t(q)]);
    f.mu[size_t(q)] = float(-std::expm1(-soe->s[size_t(q)]));
  }
  // The exact near lags' derivatives come from the kernel module (they do not depend on T).
  FractionalKernelSpec near = spec;
  near.T = f.L0 - 1;
  const FractionalKernel k = build_fractional_kernel(near);
  const int64_t W = f.width(), n = f.L0;
  f.dAlpha.assign(size_t(f.terms * W), 0.0);
  f.dWeight.assign(size_t(f.terms * W), 0.0);
  for (int64_t m = 0; m < f.terms; ++m) {
    for (int64_t L = 0; L < f.L0; ++L) {
      f.dAlpha[size_t(m * W + L)] = k.dAlpha[size_t(m * n + L)];
      f.dWeight[size_t(m * W + L)] = k.dWeight[size_t(m * n + L)];
    }
    for (int64_t q = 0; q < f.Q; ++q) {
      f.dAlpha[size_t(m * W + f.L0 + q)] = soe->dc_dalpha[size_t(m)][size_t(q)];
      f.dWeight[size_t(m * W + f.L0 + q)] = soe->dc_dweight[size_t(m)][size_t(q)];
    }
  }
  f.soe = std::move(soe);
  return f;
}

}  // namespace

const char* fractional_history_name(FractionalHistory history) {
  const int i = static_cast<int>(history);
  return i >= 0 && i < 3 ? kHistoryNames[i] : "?";
}

FractionalHistory fractional_history_from_name(const std::string& name) {
  for (int i = 0; i < 3; ++i)
    if (name == kHistoryNames[i]) return static_cast<FractionalHistory>(i);
  fail("fractional history '", name, "' is unknown; use 'exact' (O(T^2) sum), 'fast' (sum-of-exponentials, O(T)) ",
       "or 'auto' (default: whichever is faster for T)");
}

std::shared_ptr<const FractionalFastHistory> cached_fractional_fast_history(const FractionalKernelSpec& spec) {
  static auto* cache = new FractionalSpecCache<FractionalFastHistory, kFastHistoryCacheSize>();  // never destroyed: safe at exit
  FractionalKernelSpec key = spec;  // keyed by the SOE's range, not T, so that nearby T share one build
  key.T = soe_range(spec.T);
  return cache->get(key, [&] { return build_fast_history(key); });
}

FractionalHistory resolve_fractional_history(FractionalHistory history, FractionalMethod method, int64_t T,
                                             int64_t memory, int64_t fast_from_t, const char* op) {
  if (history == FractionalHistory::Exact) return history;
  const bool has_far = method == FractionalMethod::L1 || method == FractionalMethod::Trap || method == FractionalMethod::GL ||
                       method == FractionalMethod::Pred;
  if (history == FractionalHistory::Auto)
    return has_far && fast_from_t > 0 && memory >= T + 1 && T >= fast_from_t ? FractionalHistory::Fast
                                                                             : FractionalHistory::Exact;
  if (method == FractionalMethod::Euler) return FractionalHistory::Exact;  // K_L = 0 for L >= 2: nothing to approximate
  if (!has_far)
    fail(op, ": history 'fast' is not implemented for method '", fractional_method_name(method),
         "' yet; use history 'exact' (or 'auto')");
  if (memory < T + 1)
    fail(op, ": history 'fast' needs the full history, but the memory window is ", memory, " < T + 1 = ", T + 1,
         "; omit memory (full history), or use history 'exact' or 'auto' (which runs exact with a window)");
  return FractionalHistory::Fast;
}

}  // namespace fsnn
