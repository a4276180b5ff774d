// CPU fractional neuron op with the fast (sum-of-exponentials) history: forward and the exact adjoint of
// the recurrence it computes (equations: ../fractional_op.h with the history of ../fractional_history.h).
//
// Per neuron n, with v_0 = 0, k = 0..T-1, n = k + 1 (x_k, s_k, f_k as in fractional_op.h):
//   H_q(n)  = H_q(n-1) + (v_{n-L0} - mu_q H_q(n-1))   for n >= L0, else 0   (q = 0: mu = 0, Kahan-summed)
//   v_{k+1} = ( f_k - sum_{L=1}^{min(k, L0-1)} K_L v_{k+1-L} - sum_q c_q H_q(k+1) ) / K_0
// Adjoint, reverse time j = T..1, q_{j-1} = dL/df_{j-1} (q_j = 0 for j >= T):
//   P_q(j)  = (1 - mu_q) P_q(j+1) + q_{j-1+L0}                          (= sum_{L>=L0} (1-mu_q)^(L-L0) q_{j-1+L})
//   u_j     = dL/dv_j|direct + [j < T] (a_j (1 + c) + c q_j) - sum_{L=1}^{L0-1} K_L q_{j-1+L} - sum_q c_q P_q(j)
//   q_{j-1} = u_j / K_0
//   gK_L    = -sum_j v_j q_{j-1+L}  (L < L0),     gC_q = -sum_j v_j P_q(j)   (= dL/dc_q)
// gI_k and dL/dtau are the exact adjoint's (fractional_cpu.h). Cost O(T (L0 + Q)) per neuron, memory O(L0 + Q).
//
// Layout: [T, N] time-major, as fractional_cpu.h. Neurons go in blocks of 16 (two 8-float vectors); a worker
// takes a slab of blocks and walks through time in chunks of 64 steps staged into a contiguous buffer (the
// strided rows would miss the caches on every step); the blocks' states persist across the chunks. Slabs are
// spread over the thread pool; each block's sums are kept apart and added in block order, so the results do
// not depend on the number of threads.
// The convolved quantity is v here (l1, gl). The predictor ('pred') convolves f instead: the same states fed
// with f_{n-L0} in place of v_{n-L0}, and the adjoint of that: ../fractional_pred_fast_neuron.h (scalar, one
// neuron at a time, called from fractional_pred_cpu.cc).
#pragma once
#include <cstdint>

#include "../fractional_history.h"
#include "../fractional_op.h"

namespace fsnn {
namespace cpu {

// Forward with the fast history p.fast (non-null; p.memory must be T + 1). I, spikes, v as
// fractional_forward in fractional_cpu.h (v may be null). Returns whether every membrane value was finite
// (checked as it is computed, so that the caller needs no separate scan of v).
// spike_bits (T N / 16 halfwords; only where fractional_fast_records_spike_bits(p)): the spikes as bits too,
// bit e set where spikes[e] is 1 (Storage::spike_bits).
bool fractional_fast_forward(const FractionalParams& p, const float* I, float* spikes, float* v,
                             uint16_t* spike_bits = nullptr);
// Whether the forward can record its spikes as bits: its AVX-512 body does, for N a multiple of 16.
bool fractional_fast_records_spike_bits(const FractionalParams& p);

// The fold of the linear layer before the neuron (../fractional_op.h, FractionalLinearFold), on host arrays:
// x [T N / F, K]; gW [F * K] and gB [F] receive the float64 sums (each neuron's over its steps, then over
// n / F ascending: the same at any thread count).
struct LinearFoldSums {
  const float* x = nullptr;
  int64_t K = 0, F = 0;
  double* gW = nullptr;
  double* gB = nullptr;
};

// Its adjoint. Writes gI [T, N] (spikes is checked but not read: each spike is recomputed from v and I), or with
// fold the layer's sums instead (gI may then be null); gK [L0 + Q]: dL/dK_L for L < L0, then dL/dc_q (summed
// over neurons: float32 chunks of kFracSumChunk steps per neuron, then float64 in block order); *gTau when non-null.
void fractional_fast_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes,
                              const float* gS, const float* gV, float* gI, double* gK, double* gTau,
                              const LinearFoldSums* fold = nullptr);

}  // namespace cpu
}  // namespace fsnn
