// The history option of the fractional neuron op: 'exact' (the O(T^2) sum over all lags), 'fast' (the
// sum-of-exponentials history of fractional_soe.h, O(T (L0 + Q)) per neuron) or 'auto' (whichever is faster
// for T and method, from a measured crossover: kFastHistoryFromT below).
//
// The fast history replaces the far lags of the kernel by Q running states per neuron (README-soe.md):
//   sum_{L=L0}^{n} K_L v_{n-L} ~= sum_q c_q H_q(n),   H_q(n) = (1 - mu_q) H_q(n-1) + v_{n-L0}   (n >= L0)
// with mu_q = -expm1(-s_q); lags 0..L0-1 stay exact (K from the kernel module). The backward is the exact
// adjoint of that recurrence; its gK has L0 + Q entries: dL/dK_L (L < L0), then dL/dc_q, and the chain to
// the orders and weights uses the tables below (dK_L/dalpha_m for L < L0, then dc_q/dalpha_m).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fractional_kernel.h"
#include "fractional_op.h"
#include "fractional_soe.h"

namespace fsnn {

// 'exact', 'fast', 'auto'.
const char* fractional_history_name(FractionalHistory history);
// The history of a name; throws an error naming the valid ones otherwise.
FractionalHistory fractional_history_from_name(const std::string& name);

// Relative accuracy of the SOE kernel (float64; the bound is 1e-7). The time loop runs in float32
// (relative rounding ~6e-8 per operation), so a tighter tol buys little. The trapezoid set is built at
// kFastHistoryFineTol and compressed to kFastHistoryTol (fractional_soe.h: compress_soe); measured errors
// against independent references: <= 3.0e-8 (benchmarks/native/soe_check.cc, "cmpr" rows).
constexpr double kFastHistoryTol = 3e-8;
constexpr double kFastHistoryFineTol = 1e-10;
constexpr int64_t kFastHistoryL0 = 4;  // lags 0..3 exact (the near window)

// 'auto' takes the fast history from this many steps on (l1, gl and pred on the CPU: CpuBackend's
// fast_history_from_t; the CUDA backend's crossover is not measured yet, so 'auto' runs exact there; euler has no far history
// and always runs exact). Measured by `npm run bench:history-crossover` (one fractionalNeuron forward + backward,
// [T, 16, 256] LIF, alpha [0.3, 0.8], median ms, AMD EPYC x2 shared with other jobs, load average ~9):
//   T       64    128    192    256    384    512   1024
//   l1  exact  8.0   13.3   72.0   92.4  181.6  251.7  859.4    fast  9.1  43.6  66.5  79.8  132.2  231.4  491.2
//   gl  exact 14.7   52.9   83.2   70.6  170.6  313.0  776.3    fast 30.6  52.1  75.7  97.5  232.3  193.0  523.8
// Between T = 128 and 384 the two are within the noise of the loaded machine; from 512 on fast wins in every
// run (1.1-1.8x at 512-1024, growing ~T). 512 is the crossover.
// pred (alpha [0.6], same shape, FSNN_BENCH_METHODS=pred, load average 3.5-6.5; its exact backward is the
// slowest of the methods):
//   T          128     256     512    1024    2048
//   pred exact 275.9  1050.8  3944.8  9388.6  38819.1    fast 276.2  450.6  1036.8  722.6  3513.9
// Fast is 2.3x at 256 and 3.8-13x from 512 on; pred takes the same crossover, 512.
constexpr int64_t kFastHistoryFromT = 512;

struct FractionalFastHistory {
  std::shared_ptr<const SoeApprox> soe;  // float64 nodes and weights (Lmax >= T)
  int64_t L0 = 0;                        // lags 0..L0-1 exact, lags >= L0 from the states
  int64_t Q = 0;                         // states per neuron
  int64_t terms = 0;
  std::vector<float> c;   // [Q] float(c_q)
  std::vector<float> mu;  // [Q] float(-expm1(-s_q)); mu_0 = 0 (the zero-decay node, a running sum)
  // The chain tables [terms][L0 + Q]: dK_L/dalpha_m (L < L0, exact kernel) then dc_q/dalpha_m; same for w_m.
  std::vector<double> dAlpha, dWeight;
  int64_t width() const { return L0 + Q; }
};

// The fast history of (method, alphas, weights, h) for T steps (l1, gl or pred; for pred the states convolve
// f and c_q approximates b_L, with pred's 1/w: native/fractional_pred_fast_neuron.h), through a cache of the most
// recently used ones keyed by (method, alphas, weights, h, Lmax) with Lmax = the power of two >= max(T, 256):
// steps with unchanged orders and similar T do not rebuild. Safe to call from any thread. Throws the kernel
// module's errors for bad terms.
std::shared_ptr<const FractionalFastHistory> cached_fractional_fast_history(const FractionalKernelSpec& spec);
constexpr size_t kFastHistoryCacheSize = 16;

// What a call runs: Exact or Fast (never Auto). memory is the window M (M >= T + 1: full history).
// fast_from_t: the device's crossover (Backend::fast_history_from_t); 0 (not measured: the GPU so far, whose
// exact kernel is much faster) makes 'auto' run exact, and 'fast' must be asked for. Throws,
// naming the fix, for 'fast' with a memory window. op names the caller in errors.
FractionalHistory resolve_fractional_history(FractionalHistory history, FractionalMethod method, int64_t T,
                                             int64_t memory, int64_t fast_from_t, const char* op);

}  // namespace fsnn
