// The fast-history fractional neuron op on the GPU (cuda_fractional_fast.h): the equations of
// native/cpu/fractional_fast_cpu.h, one thread per neuron.
//   forward   1 launch : frac_fast_forward_kernel (the T-step recurrence with Q states per thread; with
//                         Q <= 64 and L0 <= 8 its register-held form, frac_fast_forward_reg_kernel, and
//                         likewise for the backward)
//   backward  2 launches: frac_fast_backward_kernel (reverse time; per neuron the float32 chunk sums of
//                         dK_L (L < L0), dc_q and dtau, flushed into a float64 row per neuron),
//                         the column sums (column_sums.h: fixed runs of 256 neurons, many blocks wide) and
//                         frac_fast_colsum_kernel (the runs added in order: the same result on any GPU;
//                         written as float32 hi/lo pairs)
// Method 'pred' (FractionalParams::predictor): pred_fast_forward_kernel / pred_fast_backward_kernel run the
// CPU's per-neuron body (native/fractional_pred_fast_neuron.h) per thread, then the same column sums.
// The small tables (K_1..K_{L0-1}, c_q, mu_q) go up once per call.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "column_sums.h"
#include "cuda_backend.h"
#include "cuda_fractional_fast.h"
#include "launch.h"
#include "../native/fractional_pred_fast_neuron.h"
#include "../native/surrogate.h"

namespace fsnn {
namespace cuda {

namespace {
constexpr int kFastThreads = 64;
constexpr int64_t kFastChunk = kFracSumChunk;

struct FastConsts {
  int64_t T, N, L0, Q, mask, W;  // W = L0 + Q (the row of partial sums has W + 1 entries: + dtau)
  int lif;
  float tau, inv_tau, thr, thr_tau, opc, c, inv_K0, scale;
  Surrogate surrogate;
};
// tab: K [L0] (K_0 unused), c [Q], mu [Q].

__device__ __forceinline__ float x_of(const FastConsts& c, float v, float in) {
  const float xb = in / c.tau - c.thr;
  return c.lif ? v * c.opc + xb : v + xb;
}

__global__ void __launch_bounds__(kFastThreads) frac_fast_forward_kernel(FastConsts c, const float* __restrict__ I,
                                                                         float* __restrict__ spikes, float* V,
                                                                         const float* __restrict__ tab) {
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= c.N) return;
  const float* K = tab;
  const float* cq = tab + c.L0;
  const float* mu = cq + c.Q;
  float H[kFastMaxQ], ring[kFastMaxRing];
  for (int64_t q = 0; q < c.Q; ++q) H[q] = 0.0f;
  for (int64_t r = 0; r <= c.mask; ++r) ring[r] = 0.0f;
  float comp = 0.0f, v = 0.0f;  // Kahan compensation of the zero node H[0]
  for (int64_t k = 0; k < c.T; ++k) {
    const int64_t step = k + 1, i = k * c.N + n;
    const float in = I[i];
    const float s = spike_fn(x_of(c, v, in));
    spikes[i] = s;
    const float f = (c.lif ? in - v : in) * c.inv_tau - s * c.thr_tau;
    float far = 0.0f;
    if (step >= c.L0) {
      const float xo = ring[(step - c.L0) & c.mask];
      const float y = xo - comp, t = H[0] + y;
      comp = (t - H[0]) - y;
      H[0] = t;
      for (int64_t q = 1; q < c.Q; ++q) {
        float h = H[q];
        h += xo - mu[q] * h;
        H[q] = h;
        far += cq[q] * h;
      }
    }
    far += cq[0] * H[0];
    float near = 0.0f;
    for (int64_t L = 1; L < c.L0; ++L) near += K[L] * ring[(step - L) & c.mask];
    v = (f - near - far) * c.inv_K0;
    ring[step & c.mask] = v;
    if (V) V[i] = v;
  }
}

__global__ void __launch_bounds__(kFastThreads)
    frac_fast_backward_kernel(FastConsts c, const float* __restrict__ I, const float* __restrict__ V,
                              const float* __restrict__ Sp, const float* __restrict__ gS, const float* __restrict__ gV,
                              float* __restrict__ gI, const float* __restrict__ tab, double* __restrict__ part) {
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= c.N) return;
  const float* K = tab;
  const float* cq = tab + c.L0;
  const float* mu = cq + c.Q;
  const int64_t L0 = c.L0, Q = c.Q, mask = c.mask, T = c.T, N = c.N;
  double* out = part + n * (c.W + 1);
  for (int64_t i = 0; i <= c.W; ++i) out[i] = 0.0;
  float P[kFastMaxQ], G[kFastMaxQ], qr[kFastMaxRing], gk[kFastMaxRing];
  for (int64_t q = 0; q < Q; ++q) P[q] = G[q] = 0.0f;
  for (int64_t r = 0; r <= mask; ++r) qr[r] = 0.0f;
  for (int64_t L = 0; L < L0; ++L) gk[L] = 0.0f;
  float comp = 0.0f, tacc = 0.0f;
  const float inv_tau2 = c.inv_tau * c.inv_tau, thr_tau2 = c.thr_tau * c.inv_tau;
  for (int64_t j = T; j >= 0; --j) {
    const float vj = j == 0 ? 0.0f : V[(j - 1) * N + n];
    float local = 0.0f;
    if (j < T) {
      const int64_t i = j * N + n;
      const float in = I[i];
      const float x = x_of(c, vj, in);
      const float a = gS[i] * surrogate_grad(c.surrogate, x, c.scale);
      const float dv_tau = (c.lif ? in - vj : in) * inv_tau2;
      const float qj = qr[j & mask];
      gI[i] = (a + qj) * c.inv_tau;
      tacc = qj * (Sp[i] * thr_tau2 - dv_tau) + (tacc - a * dv_tau);
      local = a * c.opc + c.c * qj;
    }
    if (j >= 1) {
      const float qin = qr[(j - 1 + L0) & mask];
      const float y = qin - comp, t = P[0] + y;
      comp = (t - P[0]) - y;
      P[0] = t;
      G[0] += vj * P[0];
      float far = 0.0f;
      for (int64_t q = 1; q < Q; ++q) {
        float p = P[q];
        p += qin - mu[q] * p;
        P[q] = p;
        far += cq[q] * p;
        G[q] += vj * p;
      }
      far += cq[0] * P[0];
      float near = 0.0f;
      for (int64_t L = 1; L < L0; ++L) near += K[L] * qr[(j - 1 + L) & mask];
      const float u = (gV ? gV[(j - 1) * N + n] : 0.0f) + local - near - far;
      qr[(j - 1) & mask] = u * c.inv_K0;
      for (int64_t L = 0; L < L0; ++L) gk[L] += vj * qr[(j - 1 + L) & mask];
    }
    if (j % kFastChunk == 0) {
      for (int64_t L = 0; L < L0; ++L) out[L] -= double(gk[L]), gk[L] = 0.0f;
      for (int64_t q = 0; q < Q; ++q) out[L0 + q] -= double(G[q]), G[q] = 0.0f;
      out[c.W] += double(tacc);
      tacc = 0.0f;
    }
  }
}

// ---- The same two kernels with the history in registers ----------------------------------------------
// For Q <= QM states and L0 <= LM near lags (the common case: Q ~ 40, L0 = 4), every per-neuron array of
// the kernels above becomes a fixed-size array indexed only by unrolled loop counters, so it lives in
// registers rather than thread-local memory; the near window is a shift register instead of a ring
// (w[j] = v_{step-1-j}; z[m] = the adjoint at j + m); the small tables are read from shared memory; and
// the next step's inputs are loaded one step ahead, off the recurrence's critical path. The operations
// and their order are those of the kernels above. FSNN_CUDA_FAST_GENERIC=1 forces the kernels above.
constexpr int kRegLags = 8;

template <int QM, int LM>
__device__ __forceinline__ void load_tables(const FastConsts& c, const float* __restrict__ tab, float* sk, float* scq,
                                            float* smu) {
  for (int t = threadIdx.x; t < LM; t += blockDim.x) sk[t] = t < c.L0 ? tab[t] : 0.0f;
  for (int t = threadIdx.x; t < QM; t += blockDim.x) {
    scq[t] = t < c.Q ? tab[c.L0 + t] : 0.0f;
    smu[t] = t < c.Q ? tab[c.L0 + c.Q + t] : 0.0f;
  }
  __syncthreads();
}

// x[L0 - 1] for a runtime L0 <= LM, as selects (a runtime index would move x to local memory).
template <int LM>
__device__ __forceinline__ float at_lag(const float (&x)[LM], int64_t L0) {
  float r = 0.0f;
#pragma unroll
  for (int j = 0; j < LM; ++j)
    if (j == L0 - 1) r = x[j];
  return r;
}

template <int QM, int LM>
__global__ void __launch_bounds__(kFastThreads) frac_fast_forward_reg_kernel(FastConsts c, const float* __restrict__ I,
                                                                             float* __restrict__ spikes, float* V,
                                                                             const float* __restrict__ tab) {
  FSNN_SHARED(float, sk, [LM]);
  FSNN_SHARED(float, scq, [QM]);
  FSNN_SHARED(float, smu, [QM]);
  load_tables<QM, LM>(c, tab, sk, scq, smu);
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= c.N) return;
  float H[QM], w[LM];
#pragma unroll
  for (int q = 0; q < QM; ++q) H[q] = 0.0f;
#pragma unroll
  for (int j = 0; j < LM; ++j) w[j] = 0.0f;
  float comp = 0.0f, v = 0.0f;
  float in_next = I[n];  // T >= 1 here
  for (int64_t k = 0; k < c.T; ++k) {
    const int64_t step = k + 1, i = k * c.N + n;
    const float in = in_next;
    if (step < c.T) in_next = I[i + c.N];
    const float s = spike_fn(x_of(c, v, in));
    spikes[i] = s;
    const float f = (c.lif ? in - v : in) * c.inv_tau - s * c.thr_tau;
    float far = 0.0f;
    if (step >= c.L0) {
      const float xo = at_lag(w, c.L0);
      const float y = xo - comp, t = H[0] + y;
      comp = (t - H[0]) - y;
      H[0] = t;
#pragma unroll
      for (int q = 1; q < QM; ++q) {
        if (q < c.Q) {
          float h = H[q];
          h += xo - smu[q] * h;
          H[q] = h;
          far += scq[q] * h;
        }
      }
    }
    far += scq[0] * H[0];
    float near = 0.0f;
#pragma unroll
    for (int L = 1; L < LM; ++L)
      if (L < c.L0) near += sk[L] * w[L - 1];
    v = (f - near - far) * c.inv_K0;
#pragma unroll
    for (int j = LM - 1; j > 0; --j) w[j] = w[j - 1];
    w[0] = v;
    if (V) V[i] = v;
  }
}

template <int QM, int LM>
__global__ void __launch_bounds__(kFastThreads)
    frac_fast_backward_reg_kernel(FastConsts c, const float* __restrict__ I, const float* __restrict__ V,
                                  const float* __restrict__ Sp, const float* __restrict__ gS, const float* __restrict__ gV,
                                  float* __restrict__ gI, const float* __restrict__ tab, double* __restrict__ part) {
  FSNN_SHARED(float, sk, [LM]);
  FSNN_SHARED(float, scq, [QM]);
  FSNN_SHARED(float, smu, [QM]);
  load_tables<QM, LM>(c, tab, sk, scq, smu);
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= c.N) return;
  const int64_t L0 = c.L0, Q = c.Q, T = c.T, N = c.N;
  double* out = part + n * (c.W + 1);
  for (int64_t i = 0; i <= c.W; ++i) out[i] = 0.0;
  float P[QM], G[QM], z[LM], gk[LM];
#pragma unroll
  for (int q = 0; q < QM; ++q) P[q] = G[q] = 0.0f;
#pragma unroll
  for (int m = 0; m < LM; ++m) z[m] = gk[m] = 0.0f;
  float comp = 0.0f, tacc = 0.0f;
  const float inv_tau2 = c.inv_tau * c.inv_tau, thr_tau2 = c.thr_tau * c.inv_tau;
  // The inputs of step j: v_j (V row j - 1; 0 at j = 0), and for j < T the row j of I, gS, Sp; for
  // j >= 1 the row j - 1 of gV.
  float cv = V[(T - 1) * N + n], cin = 0.0f, cgs = 0.0f, csp = 0.0f, cgv = gV ? gV[(T - 1) * N + n] : 0.0f;
  for (int64_t j = T; j >= 0; --j) {
    float nv = 0.0f, nin = 0.0f, ngs = 0.0f, nsp = 0.0f, ngv = 0.0f;
    if (j >= 1) {  // step j - 1's inputs, loaded a step ahead
      const int64_t r = (j - 1) * N + n;
      nin = I[r];
      ngs = gS[r];
      nsp = Sp[r];
      if (j >= 2) {
        nv = V[r - N];
        if (gV) ngv = gV[r - N];
      }
    }
    const float vj = cv;
    float local = 0.0f;
    if (j < T) {
      const int64_t i = j * N + n;
      const float x = x_of(c, vj, cin);
      const float a = cgs * surrogate_grad(c.surrogate, x, c.scale);
      const float dv_tau = (c.lif ? cin - vj : cin) * inv_tau2;
      const float qj = z[0];
      gI[i] = (a + qj) * c.inv_tau;
      tacc = qj * (csp * thr_tau2 - dv_tau) + (tacc - a * dv_tau);
      local = a * c.opc + c.c * qj;
    }
    if (j >= 1) {
      const float qin = at_lag(z, L0);
      const float y = qin - comp, t = P[0] + y;
      comp = (t - P[0]) - y;
      P[0] = t;
      G[0] += vj * P[0];
      float far = 0.0f;
#pragma unroll
      for (int q = 1; q < QM; ++q) {
        if (q < Q) {
          float p = P[q];
          p += qin - smu[q] * p;
          P[q] = p;
          far += scq[q] * p;
          G[q] += vj * p;
        }
      }
      far += scq[0] * P[0];
      float near = 0.0f;
#pragma unroll
      for (int L = 1; L < LM; ++L)
        if (L < L0) near += sk[L] * z[L - 1];
      const float u = cgv + local - near - far;
      const float qnew = u * c.inv_K0;
      gk[0] += vj * qnew;
#pragma unroll
      for (int L = 1; L < LM; ++L)
        if (L < L0) gk[L] += vj * z[L - 1];
#pragma unroll
      for (int m = LM - 1; m > 0; --m) z[m] = z[m - 1];
      z[0] = qnew;
    }
    if (j % kFastChunk == 0) {
#pragma unroll
      for (int L = 0; L < LM; ++L)
        if (L < L0) out[L] -= double(gk[L]), gk[L] = 0.0f;
#pragma unroll
      for (int q = 0; q < QM; ++q)
        if (q < Q) out[L0 + q] -= double(G[q]), G[q] = 0.0f;
      out[c.W] += double(tacc);
      tacc = 0.0f;
    }
    cv = nv, cin = nin, cgs = ngs, csp = nsp, cgv = ngv;
  }
}

// Column i of sums [srows][W + 1] (stage 1's runs of neurons), summed in order, as a float32 hi/lo pair:
// columns < W go to gK (hi at i, lo at W + i), column W to gTau.
__global__ void frac_fast_colsum_kernel(const double* __restrict__ sums, int64_t srows, int64_t W, float* __restrict__ gK,
                                        float* __restrict__ gTau) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i > W) return;
  double s = 0.0;
  for (int64_t r = 0; r < srows; ++r) s += sums[r * (W + 1) + i];
  const float hi = float(s), lo = float(s - double(hi));
  if (i < W) {
    gK[i] = hi;
    gK[W + i] = lo;
  } else {
    gTau[0] = hi;
    gTau[1] = lo;
  }
}

__global__ void __launch_bounds__(kFastThreads) pred_fast_forward_kernel(PredFastConsts c, const float* __restrict__ I,
                                                                         float* __restrict__ spikes, float* V) {
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= c.p.N) return;
  float H[kFastMaxQ], ring[kFastMaxRing];
  pred_fast_forward_neuron(c, n, I, spikes, V, H, ring);
}

// Row n of part [N][W + 1]: dL/db_L (L < L0; 0 at L = 0), dL/dc_q, then dL/dtau of neuron n (float64).
__global__ void __launch_bounds__(kFastThreads)
    pred_fast_backward_kernel(PredFastConsts c, const float* __restrict__ I, const float* __restrict__ V,
                              const float* __restrict__ Sp, const float* __restrict__ gS, const float* __restrict__ gV,
                              float* __restrict__ gI, double* __restrict__ part) {
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= c.p.N) return;
  const int64_t W = c.L0 + c.Q;
  double* out = part + n * (W + 1);
  for (int64_t i = 0; i <= W; ++i) out[i] = 0.0;
  float P[kFastMaxQ], ring[kFastMaxRing];
  out[W] = pred_fast_backward_neuron(c, n, I, V, Sp, gS, gV, gI, P, ring, out, out + c.L0);
}

void check_limits(const FractionalFastHistory& f) {
  if (f.Q > kFastMaxQ || f.L0 + 1 > kFastMaxRing)
    fail("fractionalNeuron: the fast history (Q ", f.Q, ", L0 ", f.L0, ") exceeds the cuda kernel's limits (Q <= ", kFastMaxQ,
         ", L0 < ", kFastMaxRing, "); use history 'exact'");
}

// pred's table: b_L (L < L0; 0 past T), c_q, mu_q.
std::vector<float> pred_table(const FractionalParams& p) {
  const FractionalFastHistory& f = *p.fast;
  check_limits(f);
  std::vector<float> tab(size_t(f.L0 + 2 * f.Q), 0.0f);
  for (int64_t L = 1; L < f.L0 && L <= p.T; ++L) tab[size_t(L)] = float(p.K[L]);
  for (int64_t q = 0; q < f.Q; ++q) {
    tab[size_t(f.L0 + q)] = f.c[size_t(q)];
    tab[size_t(f.L0 + f.Q + q)] = f.mu[size_t(q)];
  }
  return tab;
}
PredFastConsts pred_consts(const FractionalParams& p, const float* d_tab) {
  const int64_t L0 = p.fast->L0, Q = p.fast->Q;
  return make_pred_fast_consts(p, L0, Q, d_tab, d_tab + L0, d_tab + L0 + Q);
}

FastConsts make_consts(const FractionalParams& p, std::vector<float>& tab) {
  const FractionalFastHistory& f = *p.fast;
  check_limits(f);
  FastConsts c{};
  c.T = p.T;
  c.N = p.N;
  c.L0 = f.L0;
  c.Q = f.Q;
  c.W = f.L0 + f.Q;
  int64_t ring = 1;
  while (ring < f.L0 + 1) ring *= 2;
  c.mask = ring - 1;
  c.lif = p.kind == NeuronKind::LIF;
  const double cd = c.lif ? -1.0 / double(p.tau) : 0.0;
  c.tau = p.tau;
  c.inv_tau = float(1.0 / double(p.tau));
  c.thr = p.threshold;
  c.thr_tau = p.threshold / p.tau;
  c.c = float(cd);
  c.opc = float(1.0 + cd);
  c.inv_K0 = float(1.0 / double(float(p.K[0])));
  c.surrogate = p.surrogate;
  c.scale = p.scale;
  tab.assign(size_t(f.L0 + 2 * f.Q), 0.0f);
  for (int64_t L = 1; L < f.L0 && L <= p.T; ++L) tab[size_t(L)] = float(p.K[L]);
  for (int64_t q = 0; q < f.Q; ++q) {
    tab[size_t(f.L0 + q)] = f.c[size_t(q)];
    tab[size_t(f.L0 + f.Q + q)] = f.mu[size_t(q)];
  }
  return c;
}
// dK and dtau from the per-neuron rows part [N][W + 1]: stage 1 over runs of neurons, then the runs in order.
void sum_columns(DeviceTemp& part, int64_t N, int64_t W, Tensor& gK, Tensor& gTau, cudaStream_t stream) {
  const int64_t srows = column_sum_rows(N);
  DeviceTemp sums(size_t(srows) * size_t(W + 1) * sizeof(double));
  launch_column_sums(part.as<double>(), N, W + 1, sums.as<double>(), stream);
  launch(frac_fast_colsum_kernel, unsigned((W + 1 + 63) / 64), 64, 0, stream, (const double*)sums.as<double>(), srows, W,
         gK.data(), gTau.data());
  check_launch("fractionalNeuron backward (fast history, sums)");
}
// FSNN_CUDA_FAST_GENERIC=1: the thread-local-memory kernels at any Q and L0 (for tests).
bool force_generic() {
  static const bool on = [] {
    const char* e = std::getenv("FSNN_CUDA_FAST_GENERIC");
    return e && std::strcmp(e, "1") == 0;
  }();
  return on;
}

// The smallest register kernel pair that holds Q states and L0 lags: QM in {32, 48, 64}; 0 if none.
int register_width(const FastConsts& c) {
  if (force_generic() || c.L0 > kRegLags) return 0;
  for (int qm : {32, 48, 64})
    if (c.Q <= qm) return qm;
  return 0;
}

void launch_forward(const FastConsts& c, unsigned blocks, cudaStream_t st, const float* I, float* S, float* V,
                    const float* tab) {
  switch (register_width(c)) {
    case 32: return launch(frac_fast_forward_reg_kernel<32, kRegLags>, blocks, kFastThreads, 0, st, c, I, S, V, tab);
    case 48: return launch(frac_fast_forward_reg_kernel<48, kRegLags>, blocks, kFastThreads, 0, st, c, I, S, V, tab);
    case 64: return launch(frac_fast_forward_reg_kernel<64, kRegLags>, blocks, kFastThreads, 0, st, c, I, S, V, tab);
    default: return launch(frac_fast_forward_kernel, blocks, kFastThreads, 0, st, c, I, S, V, tab);
  }
}

void launch_backward(const FastConsts& c, unsigned blocks, cudaStream_t st, const float* I, const float* V,
                     const float* Sp, const float* gS, const float* gV, float* gI, const float* tab, double* part) {
  switch (register_width(c)) {
    case 32:
      return launch(frac_fast_backward_reg_kernel<32, kRegLags>, blocks, kFastThreads, 0, st, c, I, V, Sp, gS, gV, gI, tab, part);
    case 48:
      return launch(frac_fast_backward_reg_kernel<48, kRegLags>, blocks, kFastThreads, 0, st, c, I, V, Sp, gS, gV, gI, tab, part);
    case 64:
      return launch(frac_fast_backward_reg_kernel<64, kRegLags>, blocks, kFastThreads, 0, st, c, I, V, Sp, gS, gV, gI, tab, part);
    default: return launch(frac_fast_backward_kernel, blocks, kFastThreads, 0, st, c, I, V, Sp, gS, gV, gI, tab, part);
  }
}
}  // namespace

void fractional_fast_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) {
  if (p.T == 0 || p.N == 0) return;
  if (p.predictor) {
    const std::vector<float> tab = pred_table(p);
    DeviceTemp d_tab(tab.data(), tab.size() * sizeof(float));
    const PredFastConsts c = pred_consts(p, d_tab.as<float>());
    const unsigned blocks = unsigned((p.N + kFastThreads - 1) / kFastThreads);
    launch(pred_fast_forward_kernel, blocks, kFastThreads, 0, the_backend().stream(), c, I.data(), spikes.data(),
           v ? v->data() : static_cast<float*>(nullptr));
    check_launch("fractionalNeuron forward (pred, fast history)");
    return;
  }
  std::vector<float> tab;
  const FastConsts c = make_consts(p, tab);
  CudaBackend& b = the_backend();
  DeviceTemp d_tab(tab.data(), tab.size() * sizeof(float));
  const unsigned blocks = unsigned((p.N + kFastThreads - 1) / kFastThreads);
  launch_forward(c, blocks, b.stream(), I.data(), spikes.data(), v ? v->data() : static_cast<float*>(nullptr),
                 d_tab.as<float>());
  check_launch("fractionalNeuron forward (fast history)");
}

void fractional_fast_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                              const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) {
  std::vector<float> tab;
  CudaBackend& b = the_backend();
  if (p.predictor && p.T > 0 && p.N > 0) {
    const std::vector<float> ptab = pred_table(p);
    const int64_t W = p.fast->width();
    DeviceTemp d_tab(ptab.data(), ptab.size() * sizeof(float));
    DeviceTemp part(size_t(p.N) * size_t(W + 1) * sizeof(double));
    const PredFastConsts c = pred_consts(p, d_tab.as<float>());
    const unsigned blocks = unsigned((p.N + kFastThreads - 1) / kFastThreads);
    launch(pred_fast_backward_kernel, blocks, kFastThreads, 0, b.stream(), c, I.data(), v.data(), spikes.data(), gS.data(),
           gV ? gV->data() : static_cast<const float*>(nullptr), gI.data(), part.as<double>());
    check_launch("fractionalNeuron backward (pred, fast history, reverse time)");
    sum_columns(part, p.N, W, gK, gTau, b.stream());
    return;
  }
  if (p.T == 0 || p.N == 0) {
    check(cudaMemsetAsync(gK.data(), 0, size_t(gK.numel()) * sizeof(float), b.stream()), "fractionalNeuron backward (zero dK)");
    check(cudaMemsetAsync(gTau.data(), 0, size_t(gTau.numel()) * sizeof(float), b.stream()), "fractionalNeuron backward (zero dtau)");
    return;
  }
  const FastConsts c = make_consts(p, tab);
  DeviceTemp d_tab(tab.data(), tab.size() * sizeof(float));
  DeviceTemp part(size_t(p.N) * size_t(c.W + 1) * sizeof(double));
  const unsigned blocks = unsigned((p.N + kFastThreads - 1) / kFastThreads);
  launch_backward(c, blocks, b.stream(), I.data(), v.data(), spikes.data(), gS.data(),
                  gV ? gV->data() : static_cast<const float*>(nullptr), gI.data(), d_tab.as<float>(), part.as<double>());
  check_launch("fractionalNeuron backward (fast history, reverse time)");
  sum_columns(part, p.N, c.W, gK, gTau, b.stream());
}

}  // namespace cuda
}  // namespace fsnn
