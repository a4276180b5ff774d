// The fractional-order neuron op: a whole layer over all T steps, and its exact discrete adjoint.
//
// For each neuron n (N = B * features, time-major layout [T, N]), with v_0 = 0 and k = 0..T-1:
//   dv_k    = (-v_k + I_k) / tau            (LIF)      dv_k = I_k / tau   (IF)
//   x_k     = v_k + dv_k - threshold
//   s_k     = H(x_k)  (1 when x_k >= 0)      surrogate derivative sg(x_k) in the backward
//   f_k     = dv_k - s_k * threshold / tau  (s_k detached)
//   v_{k+1} = ( f_k - sum_{L=1}^{min(k, M-1)} K_L v_{k+1-L} ) / K_0
// M is the memory window (memory >= 1; memory = T + 1 is the full history).
// K_0..K_T come from the kernel module (fractional_kernel.h, float64); the time loop runs in float32.
//
// The predictor (method 'pred', FractionalParams::predictor) replaces the last line by the explicit
//   v_{k+1} = sum_{L=1}^{min(k+1, M)} K_L f_{k+1-L}        (K_L = b_L; K_0 unused)
// with M the number of most recent f values kept. Its exact discrete adjoint, with u_k = dL/dv_k
// (k = 1..T), g_j = dL/df_j, a_k = dL/ds_k sg(x_k), c = -1/tau (LIF) or 0 (IF):
//   u_T = dL/dv_T (direct);  u_k = dL/dv_k (direct) + a_k (1 + c) + c g_k   (1 <= k < T)
//   g_j = sum_{L=1}^{min(M, T-j)} K_L u_{j+L}                                 (reverse time, explicit)
//   dL/dI_k = (a_k + g_k) / tau,  dL/dK_L = sum_{j=0}^{T-L} u_{j+L} f_j  (1 <= L <= min(M, T)),
//   dL/dtau = sum_k [ g_k (s_k thr / tau^2 - dv_k / tau) - a_k dv_k / tau ]
// (native/fractional_pred_neuron.h, shared by the CPU and CUDA backends).
#pragma once
#include <cstdint>

namespace fsnn {

enum class NeuronKind : int { LIF = 0, IF = 1 };
enum class Surrogate : int { Arctan = 0, Sigmoid = 1, PiecewiseLinear = 2, Gaussian = 3 };

// How both backends sum dL/dK and dL/dtau (the CPU kernel and the CUDA kernels follow this order, so
// that their results agree to float64 rounding, ~1e-12 relative, not just to float32 rounding):
//  * dK_L = -sum_n sum_j q_j v_{j+1-L}: per neuron n, the products for ascending j are summed in one
//    float32 fma chain per chunk of kFracSumChunk steps, the chunks starting at j = L0 + c kFracSumChunk
//    with L0 = L - L mod kFracLagTile (the lag tile; terms with j < L are zero products); each chunk's
//    float32 partial is then added in float64 (the order over chunks and neurons is free: float64).
//  * dtau = sum_n sum_k [ q_k D_k - a_k dv_k / tau ]: per neuron, for descending k, one float32 chain
//    t = fma(q_k, D_k, t - round(a_k dv_k / tau)), flushed into float64 after each k that is a multiple
//    of kFracSumChunk (so the chunks are k in [c kFracSumChunk, (c + 1) kFracSumChunk)).
constexpr int64_t kFracSumChunk = 128;
constexpr int kFracLagTile = 8;

// The order of Backend::fractional_chain's float64 sums out[r] = sum_j (x_hi[j] + x_lo[j]) t[r][j]
// (both backends follow it, so they agree bit for bit): lane l < kFracChainLanes adds the products
// of j = l, l + kFracChainLanes, ... in ascending j (hi + lo is exact in float64; product and sum
// rounded separately, no fma), then the lanes are added pairwise, lane[i] += lane[i + s] for i < s,
// s = kFracChainLanes / 2, ..., 2, 1.
constexpr int kFracChainLanes = 256;

// How the history sum is evaluated: the exact O(T^2) sum over all lags, or the sum-of-exponentials fast
// history (fractional_history.h: lags < L0 exact, the rest from Q running states; O(T (L0 + Q))), or
// whichever is faster for T and method (resolved in fractional_history.cc).
enum class FractionalHistory : int { Exact = 0, Fast = 1, Auto = 2 };
struct FractionalFastHistory;  // fractional_history.h
struct Tensor;                 // tensor.h

// The backward's fold of the linear layer before the neuron (FractionalParams::linear_fold): I is that layer's
// output, I = x W^T + b over I's last dimension F, with x [T N / F, K] (neuron n at step t reads row
// t N / F + floor(n / F)), and instead of dL/dI the backward writes the layer's weight and bias gradients
//   gW[f][k] = sum over (t, n) with n mod F = f of dL/dI_{t,n} x[t N / F + n / F][k],   gB[f] = the same sum of dL/dI_{t,n},
// summed in float64 (per neuron over its steps, then over n / F ascending), so that dL/dI [T, N] is never
// written and read back. gW [F, K] and gB [F] are float32 tensors on I's device.
struct FractionalLinearFold {
  const Tensor* x = nullptr;
  Tensor* gW = nullptr;
  Tensor* gB = nullptr;
};

struct FractionalParams {
  int64_t T = 0;          // time steps
  int64_t N = 0;          // neurons (everything but T)
  NeuronKind kind = NeuronKind::LIF;
  float tau = 0.5f;
  float threshold = 1.0f;
  Surrogate surrogate = Surrogate::Arctan;
  float scale = 5.0f;     // surrogate scale (s for arctan/sigmoid, gamma for piecewise_linear, sigma for gaussian)
  int64_t memory = 0;     // M, 1 <= M; M >= T + 1 means full history
  const double* K = nullptr;  // K_0..K_T, length T + 1
  bool predictor = false;     // the explicit predictor recurrence (method 'pred'), see above
  // Set: the fast history (lags 1..L0-1 from K, lags >= L0 from its SOE states; memory must be T + 1), and
  // the backward's gK has L0 + Q entries (dL/dK_L for L < L0, then dL/dc_q). Null: the exact sum.
  const FractionalFastHistory* fast = nullptr;
  // Set: I is one step [N] that holds at every one of the T steps (a static input), read once per neuron;
  // the backward's gI is then dL/dI = sum_k dL/dI_k [N], summed in float64 in ascending k (as a sum over
  // dim 0 of the repeated gradient is). Only where Backend::fractional_static_input(p) says so.
  bool static_input = false;
  // Set (the backward only, where Backend::fractional_folds_linear(p) says so): the fold above; gI is not written.
  const FractionalLinearFold* linear_fold = nullptr;
};

}  // namespace fsnn
