// The predictor (method 'pred') per neuron: forward, exact discrete adjoint and the per-neuron parts of
// dL/dK and dL/dtau (equations and adjoint: fractional_op.h). One body for both backends: the CPU backend
// (native/cpu/fractional_pred_cpu.cc) calls it per neuron on its threads, the CUDA backend
// (cuda/cuda_fractional_pred.cu) per GPU thread, so both evaluate the same roundings:
//  * float32 state (v, dv, x, f, u, g) as the other methods; the sums over the history are float64 with
//    float32 factors, whose products are exact in float64, so FMA contraction cannot change them;
//  * the one float64 sum with an inexact product (dL/dtau) uses explicit fma.
// Arrays: [T, N] time-major with element (k, n) at k * ld + n (ld = N, or 1 for a per-neuron buffer).
#pragma once
#include <math.h>
#include <stdint.h>

#include "fractional_op.h"
#include "surrogate.h"

namespace fsnn {

struct PredConsts {
  int64_t T = 0, N = 0, M = 1;  // M: the f values kept, clamped to [1, T]
  bool lif = true;
  float tau = 0.5f, thr = 1.0f, thr_tau = 2.0f;  // thr_tau = float(thr / tau)
  double thr_tau2 = 0.0;                           // thr / tau^2 (float64)
  float one_plus_c = 0.0f, c = 0.0f;               // c = -1/tau (LIF) or 0 (IF)
  Surrogate surrogate = Surrogate::Arctan;
  float scale = 5.0f;
  const float* b = nullptr;  // b[L] = float(K_L), L = 0..T (b[0] unused)
};

// The constants of p; b is the float32 copy of p.K (the caller owns it, on the device that runs).
inline PredConsts make_pred_consts(const FractionalParams& p, const float* b) {
  PredConsts c;
  c.T = p.T;
  c.N = p.N;
  c.M = p.memory < 1 ? 1 : (p.memory > p.T ? p.T : p.memory);
  if (c.M < 1) c.M = 1;
  c.lif = p.kind == NeuronKind::LIF;
  c.tau = p.tau;
  c.thr = p.threshold;
  c.thr_tau = float(double(p.threshold) / double(p.tau));
  c.thr_tau2 = double(p.threshold) / (double(p.tau) * double(p.tau));
  const double cd = c.lif ? -1.0 / double(p.tau) : 0.0;
  c.c = float(cd);
  c.one_plus_c = float(1.0 + cd);
  c.surrogate = p.surrogate;
  c.scale = p.scale;
  c.b = b;
  return c;
}

// dv_k from v_k and I_k.
FSNN_HD inline float pred_dv(const PredConsts& c, float v, float in) { return c.lif ? (in - v) / c.tau : in / c.tau; }

// v_{k+1} = sum_{L=1}^{min(k+1, M)} b_L f_{k+1-L}, oldest first; F holds f_0..f_k at stride ldf.
FSNN_HD inline float pred_history(const PredConsts& c, int64_t k, const float* F, int64_t ldf) {
  const int64_t j0 = k + 1 - c.M > 0 ? k + 1 - c.M : 0;
  double acc = 0.0;
  for (int64_t j = j0; j <= k; ++j) acc += double(c.b[k + 1 - j]) * double(F[j * ldf]);
  return float(acc);
}

// Forward of neuron n: spikes S and (when V is not null) the trace V (row k = v_{k+1}); F receives f_k
// at stride ldf (F points at neuron n's first value).
FSNN_HD inline void pred_forward_neuron(const PredConsts& c, int64_t n, const float* I, float* S, float* V, float* F,
                                        int64_t ldf) {
  float v = 0.0f;
  for (int64_t k = 0; k < c.T; ++k) {
    const int64_t o = k * c.N + n;
    const float dv = pred_dv(c, v, I[o]);
    const float s = spike_fn((v + dv) - c.thr);
    F[k * ldf] = s > 0.0f ? dv - c.thr_tau : dv;  // f_k = dv_k - s_k thr / tau
    S[o] = s;
    v = pred_history(c, k, F, ldf);
    if (V) V[o] = v;
  }
}

// The adjoint of neuron n, reverse time (fractional_op.h): writes gI, f_j into F and u_{j+1} into U
// (both at stride ldf, row j), and returns this neuron's dL/dtau. gV may be null (zero).
FSNN_HD inline double pred_backward_neuron(const PredConsts& c, int64_t n, const float* I, const float* V,
                                           const float* S, const float* gS, const float* gV, float* gI, float* F,
                                           float* U, int64_t ldf) {
  double gtau = 0.0;
  float a_next = 0.0f, g_next = 0.0f;  // a_{j+1}, g_{j+1}
  for (int64_t j = c.T - 1; j >= 0; --j) {
    const int64_t o = j * c.N + n;
    // u_{j+1} = dL/dv_{j+1} (direct) [+ a_{j+1} (1 + c) + c g_{j+1} when j + 1 < T]
    double u = gV ? double(gV[o]) : 0.0;
    if (j + 1 < c.T) u += double(a_next) * double(c.one_plus_c) + double(c.c) * double(g_next);
    U[j * ldf] = float(u);
    // g_j = sum_{L=1}^{min(M, T-j)} b_L u_{j+L}
    const int64_t Lmax = c.T - j < c.M ? c.T - j : c.M;
    double g = 0.0;
    for (int64_t L = 1; L <= Lmax; ++L) g += double(c.b[L]) * double(U[(j + L - 1) * ldf]);
    const float gj = float(g);
    // the local terms of step j
    const float v = j > 0 ? V[o - c.N] : 0.0f;
    const float dv = pred_dv(c, v, I[o]);
    const float x = (v + dv) - c.thr;
    const float a = gS[o] * surrogate_grad(c.surrogate, x, c.scale);
    const bool spiked = S[o] > 0.0f;
    F[j * ldf] = spiked ? dv - c.thr_tau : dv;
    gI[o] = (a + gj) / c.tau;
    // dL/dtau += g_j (s_j thr/tau^2 - dv_j/tau) - a_j dv_j/tau
    const double dv_tau = double(dv) / double(c.tau);  // a division: no contraction into the next line
    const double D = spiked ? c.thr_tau2 - dv_tau : -dv_tau;
    gtau = fma(double(gj), D, fma(-double(a), dv_tau, gtau));
    a_next = a;
    g_next = gj;
  }
  return gtau;
}

// This neuron's dL/dK_L = sum_{j=0}^{T-L} u_{j+L} f_j (1 <= L <= M; U row j holds u_{j+1}).
FSNN_HD inline double pred_grad_b_neuron(const PredConsts& c, int64_t L, const float* F, const float* U, int64_t ldf) {
  double s = 0.0;
  for (int64_t j = 0; j + L <= c.T; ++j) s += double(U[(j + L - 1) * ldf]) * double(F[j * ldf]);
  return s;
}

}  // namespace fsnn
