// The fractional-order neuron op: a whole layer over all T steps, and its exact discrete adjoint.
//
// For each neuron n (N = B * features, time-major layout [T, N]), with v_0 = 0 and k = 0..T-1:
//   dv_k    = (-v_k + I_k) / tau            (LIF)      dv_k = I_k / tau   (IF)
//   x_k     = v_k + dv_k - threshold
//   s_k     = H(x_k)  (1 when x_k >= 0)      surrogate derivative sg(x_k) in the backward
//   f_k     = dv_k - s_k * threshold / tau  (s_k detached)
//   v_{k+1} = ( f_k - sum_{L=1}^{min(k, M-1)} K_L v_{k+1-L} ) / K_0
// M is the memory window (memory >= 1; memory = T + 1 is the full history).
// K_0..K_T come from the kernel module on the host (float64); the time loop runs in float32.
#pragma once
#include <cstdint>

namespace fsnn {

enum class NeuronKind : int { LIF = 0, IF = 1 };
enum class Surrogate : int { Arctan = 0, Sigmoid = 1, PiecewiseLinear = 2, Gaussian = 3 };

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
};

}  // namespace fsnn
