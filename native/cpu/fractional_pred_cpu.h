// CPU implementation of the predictor (method 'pred'; equations and adjoint in ../fractional_op.h, the
// per-neuron body in ../fractional_pred_neuron.h, shared with the CUDA backend).
// Neurons run in parallel, each with its own contiguous scratch of f (and u) values. dL/dK and dL/dtau
// are summed per neuron in float64, over a fixed set of neuron groups and then over the groups in order,
// so the result does not depend on the number of threads.
#pragma once
#include <cstdint>

#include "../fractional_op.h"

namespace fsnn {
namespace cpu {

// I, spikes: [T, N]; v: [T, N] (row k = v_{k+1}) or nullptr. p.predictor must be set; p.K[0..T].
void fractional_pred_forward(const FractionalParams& p, const float* I, float* spikes, float* v);

// With p.fast set (memory T + 1) both run the fast history instead (../fractional_pred_fast_neuron.h), and
// the backward's gK has L0 + Q entries: dL/dK_L for L < L0 (0 at L = 0), then dL/dc_q.

// The exact adjoint: gI [T, N]; gK [T + 1] (dL/dK_L, 0 for L = 0 and L > min(M, T)); *gTau. gV may be null.
void fractional_pred_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes,
                              const float* gS, const float* gV, float* gI, double* gK, double* gTau);

}  // namespace cpu
}  // namespace fsnn
