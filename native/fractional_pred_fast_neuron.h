// The predictor (method 'pred') per neuron with the fast (sum-of-exponentials) history: forward, the exact
// adjoint of the recurrence it computes, and the per-neuron parts of dL/dK_L (L < L0), dL/dc_q and dL/dtau.
// The exact predictor is fractional_pred_neuron.h; this replaces its lags >= L0 by the SOE states of
// fractional_history.h, which for pred convolve f (not v). Per neuron, k = 0..T-1, n = k + 1:
//   f_k     = dv_k - s_k thr/tau                                  (as fractional_pred_neuron.h)
//   H_q(n)  = H_q(n-1) + (f_{n-L0} - mu_q H_q(n-1))   for n >= L0, else 0   (q = 0: mu = 0, Kahan-summed)
//   v_{k+1} = sum_{L=1}^{min(n, L0-1)} b_L f_{n-L} + sum_q c_q H_q(n)
// Adjoint, reverse time j = T-1..0 (u_m = dL/dv_m, u_m = 0 for m > T; a_j, c as fractional_pred_neuron.h):
//   u_{j+1} = dL/dv_{j+1}|direct + [j + 1 < T] (a_{j+1} (1 + c) + c g_{j+1})
//   P_q(j)  = (1 - mu_q) P_q(j+1) + u_{j+L0}                  (= sum_{L>=L0} (1-mu_q)^(L-L0) u_{j+L})
//   g_j     = dL/df_j = sum_{L=1}^{L0-1} b_L u_{j+L} + sum_q c_q P_q(j)
//   gI_j = (a_j + g_j)/tau, dL/dtau as the exact predictor;
//   dL/db_L = sum_j u_{j+L} f_j (L < L0),   dL/dc_q = sum_j f_j P_q(j)
// One body for the CPU (native/cpu/fractional_pred_cpu.cc) and the GPU (cuda/cuda_fractional_fast.cu); cost O(T (L0 + Q)) per neuron, memory O(L0 + Q).
// Roundings: float32 state (v, f, u, g, H, P) as the fast history of l1/gl; the sums over the window and
// the nodes are float64 with float32 factors (exact products).
#pragma once
#include <math.h>
#include <stdint.h>

#include "fractional_pred_neuron.h"

namespace fsnn {

struct PredFastConsts {
  PredConsts p;             // p.b: b_L for L = 1..L0-1 (0 for L > T); b[0] unused
  int64_t L0 = 0, Q = 0;    // lags 1..L0-1 exact, lags >= L0 from the Q states
  int64_t mask = 0;         // mask + 1: ring length, a power of two >= L0 + 1
  const float* cq = nullptr;  // c_q
  const float* mu = nullptr;  // mu_q = -expm1(-s_q), mu_0 = 0
};

// The constants for p with L0 near lags and Q nodes; b [L0] (b_L, L < L0), cq [Q], mu [Q] live on the device
// that runs (the caller owns them).
inline PredFastConsts make_pred_fast_consts(const FractionalParams& p, int64_t L0, int64_t Q, const float* b,
                                            const float* cq, const float* mu) {
  PredFastConsts c;
  c.p = make_pred_consts(p, b);
  c.L0 = L0;
  c.Q = Q;
  int64_t ring = 1;
  while (ring < L0 + 1) ring *= 2;
  c.mask = ring - 1;
  c.cq = cq;
  c.mu = mu;
  return c;
}

// sum += x with Kahan compensation comp (the zero-decay node: a plain running sum).
FSNN_HD inline void pred_fast_kahan(float& sum, float& comp, float x) {
  const float y = x - comp;
  const float t = sum + y;
  comp = (t - sum) - y;
  sum = t;
}

// One step of the Q states fed with x; returns sum_q c_q state_q (float64). comp: state 0's compensation.
FSNN_HD inline double pred_fast_states(const PredFastConsts& c, float* st, float& comp, float x) {
  pred_fast_kahan(st[0], comp, x);
  double acc = double(c.cq[0]) * double(st[0]);
  for (int64_t q = 1; q < c.Q; ++q) {
    float h = st[q];
    h += x - c.mu[q] * h;
    st[q] = h;
    acc += double(c.cq[q]) * double(h);
  }
  return acc;
}

// Forward of neuron n: spikes S and (when V is not null) the trace V (row k = v_{k+1}). Scratch: H [Q],
// ring [mask + 1].
FSNN_HD inline void pred_fast_forward_neuron(const PredFastConsts& c, int64_t n, const float* I, float* S, float* V,
                                             float* H, float* ring) {
  for (int64_t q = 0; q < c.Q; ++q) H[q] = 0.0f;
  for (int64_t r = 0; r <= c.mask; ++r) ring[r] = 0.0f;
  float comp = 0.0f, v = 0.0f;
  double far = 0.0;
  for (int64_t k = 0; k < c.p.T; ++k) {
    const int64_t o = k * c.p.N + n, step = k + 1;
    const float dv = pred_dv(c.p, v, I[o]);
    const float s = spike_fn((v + dv) - c.p.thr);
    S[o] = s;
    ring[k & c.mask] = s > 0.0f ? dv - c.p.thr_tau : dv;  // f_k
    if (step >= c.L0) far = pred_fast_states(c, H, comp, ring[(step - c.L0) & c.mask]);
    const int64_t Ln = step < c.L0 - 1 ? step : c.L0 - 1;
    double near = 0.0;
    for (int64_t L = 1; L <= Ln; ++L) near += double(c.p.b[L]) * double(ring[(step - L) & c.mask]);
    v = float(near + far);
    if (V) V[o] = v;
  }
}

// The adjoint of neuron n: writes gI, adds dL/db_L into gb[L] (L = 1..L0-1) and dL/dc_q into gc[q], and
// returns this neuron's dL/dtau. gV may be null (zero). Scratch: P [Q], ring [mask + 1] (u_m at m & mask).
FSNN_HD inline double pred_fast_backward_neuron(const PredFastConsts& c, int64_t n, const float* I, const float* V,
                                                const float* S, const float* gS, const float* gV, float* gI, float* P,
                                                float* ring, double* gb, double* gc) {
  const int64_t T = c.p.T;
  for (int64_t q = 0; q < c.Q; ++q) P[q] = 0.0f;
  for (int64_t r = 0; r <= c.mask; ++r) ring[r] = 0.0f;
  float comp = 0.0f, a_next = 0.0f, g_next = 0.0f;  // a_{j+1}, g_{j+1}
  double gtau = 0.0, far = 0.0;
  for (int64_t j = T - 1; j >= 0; --j) {
    const int64_t o = j * c.p.N + n;
    double u = gV ? double(gV[o]) : 0.0;
    if (j + 1 < T) u += double(a_next) * double(c.p.one_plus_c) + double(c.p.c) * double(g_next);
    ring[(j + 1) & c.mask] = float(u);  // u_{j+1}; the slots of u_m, m > T, stay 0
    if (j + c.L0 <= T) far = pred_fast_states(c, P, comp, ring[(j + c.L0) & c.mask]);
    const int64_t Ln = T - j < c.L0 - 1 ? T - j : c.L0 - 1;
    double near = 0.0;
    for (int64_t L = 1; L <= Ln; ++L) near += double(c.p.b[L]) * double(ring[(j + L) & c.mask]);
    const float gj = float(near + far);
    // the local terms of step j (as pred_backward_neuron)
    const float v = j > 0 ? V[o - c.p.N] : 0.0f;
    const float dv = pred_dv(c.p, v, I[o]);
    const float x = (v + dv) - c.p.thr;
    const float a = gS[o] * surrogate_grad(c.p.surrogate, x, c.p.scale);
    const bool spiked = S[o] > 0.0f;
    const float f = spiked ? dv - c.p.thr_tau : dv;
    gI[o] = (a + gj) / c.p.tau;
    const double dv_tau = double(dv) / double(c.p.tau);
    const double D = spiked ? c.p.thr_tau2 - dv_tau : -dv_tau;
    gtau = fma(double(gj), D, fma(-double(a), dv_tau, gtau));
    // kernel weights: dL/db_L += u_{j+L} f_j, dL/dc_q += f_j P_q(j) (P = 0 while j + L0 > T)
    for (int64_t L = 1; L <= Ln; ++L) gb[L] += double(ring[(j + L) & c.mask]) * double(f);
    if (j + c.L0 <= T)
      for (int64_t q = 0; q < c.Q; ++q) gc[q] += double(f) * double(P[q]);
    a_next = a;
    g_next = gj;
  }
  return gtau;
}

}  // namespace fsnn
