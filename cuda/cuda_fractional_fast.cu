// The fast-history fractional neuron op on the GPU (cuda_fractional_fast.h): the equations of
// native/cpu/fractional_fast_cpu.h, one thread per neuron.
//   forward   1 launch : frac_fast_forward_kernel (the T-step recurrence with Q states per thread, held
//                         in registers when Q <= 64 and L0 <= 8: see "Storage" below)
//   backward  2 launches: frac_fast_backward_kernel (reverse time; per neuron the float32 chunk sums of
//                         dK_L (L < L0), dc_q and dtau, flushed into a float64 row per neuron),
//                         the column sums (column_sums.h: fixed runs of 256 neurons, many blocks wide) and
//                         frac_fast_colsum_kernel (the runs added in order: the same result on any GPU;
//                         written as float32 hi/lo pairs)
// Method 'pred' (FractionalParams::predictor): pred_fast_forward_kernel / pred_fast_backward_kernel run the
// CPU's per-neuron body (native/fractional_pred_fast_neuron.h) per thread, then the same column sums.
// The small tables (K_1..K_{L0-1}, c_q, mu_q) go up once per call.
// Each thread's global loads run AHEAD steps ahead of their use (see "Loads" below): with one thread per
// neuron a layer has few warps per SM (B = 64 x 256 neurons: 2), so nothing else hides a load's latency.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "column_sums.h"
#include "cuda_backend.h"
#include "cuda_fractional_fast.h"
#include "launch.h"
#include "../native/fractional_fast_order.h"
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

// ---- Storage of one neuron's history ---------------------------------------------------------------
// Both kernels below come in two forms from one body, chosen by QM:
//   QM > 0 (Q <= QM states, L0 <= LM near lags; the usual Q ~ 40, L0 = 4): every per-neuron array is
//          indexed only by unrolled loop counters, so it lives in registers, and the near window is a
//          shift register (ShiftWindow);
//   QM = 0 (any Q <= kFastMaxQ, L0 < kFastMaxRing; or FSNN_CUDA_FAST_GENERIC=1): runtime loops over
//          thread-local arrays, and the near window is a ring (RingWindow).
// Either way the small tables are read from shared memory, the inputs come through load_ahead below,
// and the operations and their order are the same (so are the results).
constexpr int kRegLags = 8;

// f(i) for i in [LO, n): a runtime loop (M = 0), or unrolled up to M with the guard i < n.
template <int M, int LO, class F>
__device__ __forceinline__ void for_upto(int64_t n, F f) {
  if constexpr (M == 0) {
    for (int64_t i = LO; i < n; ++i) f(i);
  } else {
#pragma unroll
    for (int i = LO; i < M; ++i)
      if (i < n) f(i);
  }
}

// The near window, at(m) = the value m steps back from the newest (m = 0: the newest), and push(x),
// after which x is the newest. DIR = +1 walks time forward (the forward), -1 backward (the adjoint).
template <int DIR>
struct RingWindow {
  float r[kFastMaxRing];
  int64_t base, mask;
  __device__ __forceinline__ void init(int64_t newest, int64_t m) {
    mask = m;
    base = newest;
    for (int64_t i = 0; i <= mask; ++i) r[i] = 0.0f;
  }
  __device__ __forceinline__ float at(int64_t m) const { return r[(base - DIR * m) & mask]; }
  __device__ __forceinline__ float oldest(int64_t L0) const { return at(L0 - 1); }
  __device__ __forceinline__ void push(float x) {
    base += DIR;
    r[base & mask] = x;
  }
};
template <int LM>
struct ShiftWindow {
  float w[LM];
  __device__ __forceinline__ void init(int64_t, int64_t) {
#pragma unroll
    for (int i = 0; i < LM; ++i) w[i] = 0.0f;
  }
  __device__ __forceinline__ float at(int64_t m) const { return w[m]; }  // m a constant after unrolling
  // w[L0 - 1] for a runtime L0, as selects (a runtime index would move w to local memory).
  __device__ __forceinline__ float oldest(int64_t L0) const {
    float r = 0.0f;
#pragma unroll
    for (int i = 0; i < LM; ++i)
      if (i == L0 - 1) r = w[i];
    return r;
  }
  __device__ __forceinline__ void push(float x) {
#pragma unroll
    for (int i = LM - 1; i > 0; --i) w[i] = w[i - 1];
    w[0] = x;
  }
};

template <int QM, int LM, int DIR>
using Window = typename std::conditional<QM == 0, RingWindow<DIR>, ShiftWindow<LM>>::type;
template <int QM>
constexpr int kStates = QM == 0 ? kFastMaxQ : QM;
template <int QM, int LM>
constexpr int kLags = QM == 0 ? kFastMaxRing : LM;

// ---- Loads ---------------------------------------------------------------------------------------------
// body(it, load(it)) for it = 0 .. count - 1, where load(it) is issued AHEAD iterations before its use:
// slot d of buf holds the inputs of the next iteration congruent to d mod AHEAD, and is refilled as soon
// as it is read. The loop over d unrolls, so buf stays in registers. A DRAM load takes several hundred
// cycles and a step of the recurrence about a hundred, so one step ahead (AHEAD = 1) leaves most of a
// load's latency exposed. Only the time of the loads changes with AHEAD, never the arithmetic.
template <int AHEAD, class In, class Load, class Body>
__device__ __forceinline__ void load_ahead(int64_t count, Load load, Body body) {
  In buf[AHEAD];
#pragma unroll
  for (int d = 0; d < AHEAD; ++d) buf[d] = d < count ? load(int64_t(d)) : In{};
  for (int64_t g = 0; g < count; g += AHEAD) {
#pragma unroll
    for (int d = 0; d < AHEAD; ++d) {
      const int64_t it = g + d;
      if (it < count) {
        const In in = buf[d];
        if (it + AHEAD < count) buf[d] = load(it + AHEAD);
        body(it, in);
      }
    }
  }
}
// The depths built (FSNN_CUDA_FAST_AHEAD picks one for both kernels; else the defaults below).
constexpr int kAheadDepths[] = {1, 4, 8};
constexpr int kForwardAhead = 8, kBackwardAhead = 4;

// The tables into shared memory: K [lags] (0 past L0), c [states], mu [states] (0 past Q).
template <int QM, int LM>
__device__ __forceinline__ void load_tables(const FastConsts& c, const float* __restrict__ tab, float* sk, float* scq,
                                            float* smu) {
  for (int t = threadIdx.x; t < kLags<QM, LM>; t += blockDim.x) sk[t] = t < c.L0 ? tab[t] : 0.0f;
  for (int t = threadIdx.x; t < kStates<QM>; t += blockDim.x) {
    scq[t] = t < c.Q ? tab[c.L0 + t] : 0.0f;
    smu[t] = t < c.Q ? tab[c.L0 + c.Q + t] : 0.0f;
  }
  __syncthreads();
}

// ---- The kernels --------------------------------------------------------------------------------------
template <int QM, int LM, int AHEAD>
__global__ void __launch_bounds__(kFastThreads) frac_fast_forward_kernel(FastConsts c, const float* __restrict__ I,
                                                                         float* __restrict__ spikes, float* V,
                                                                         const float* __restrict__ tab) {
  constexpr int QS = kStates<QM>, LS = kLags<QM, LM>, QU = QM, LU = QM == 0 ? 0 : LM;  // unroll bounds (0: none)
  FSNN_SHARED(float, sk, [LS]);
  FSNN_SHARED(float, scq, [QS]);
  FSNN_SHARED(float, smu, [QS]);
  load_tables<QM, LM>(c, tab, sk, scq, smu);
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= c.N) return;
  float H[QS];
  for_upto<QU, 0>(c.Q, [&](int64_t q) { H[q] = 0.0f; });
  Window<QM, LM, 1> w;  // w.at(j) = v_{step-1-j}
  w.init(0, c.mask);
  float comp = 0.0f, v = 0.0f;  // Kahan compensation of the zero node H[0]
  load_ahead<AHEAD, float>(
      c.T, [&](int64_t k) { return I[k * c.N + n]; },
      [&](int64_t k, float in) {
        const int64_t step = k + 1, i = k * c.N + n;
        const float s = spike_fn(x_of(c, v, in));
        spikes[i] = s;
        const float f = (c.lif ? in - v : in) * c.inv_tau - s * c.thr_tau;
        float far = 0.0f;
        if (step >= c.L0) {
          const float xo = w.oldest(c.L0);  // v_{step-L0}, leaving the near window
          const float y = xo - comp, t = H[0] + y;
          comp = (t - H[0]) - y;
          H[0] = t;
          float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
          for_each_decaying_state<QU>(c.Q, [&](int64_t q, int r) {
            float h = H[q];
            h += xo - smu[q] * h;
            H[q] = h;
            a[r] += scq[q] * h;
          });
          far = (a[0] + a[1]) + (a[2] + a[3]);
        }
        far += scq[0] * H[0];
        float near = 0.0f;
        for_upto<LU, 1>(c.L0, [&](int64_t L) { near += sk[L] * w.at(L - 1); });
        v = (f - near - far) * c.inv_K0;
        w.push(v);
        if (V) V[i] = v;
      });
}

// The inputs of reverse-time step j: v_j (V row j - 1; 0 at j = 0), gV's row j - 1 (j >= 1), and for
// j < T the rows j of I, gS and the spikes.
struct BackwardInputs {
  float v, in, gs, sp, gv;
};

template <int QM, int LM, int AHEAD>
__global__ void __launch_bounds__(kFastThreads)
    frac_fast_backward_kernel(FastConsts c, const float* __restrict__ I, const float* __restrict__ V,
                              const float* __restrict__ Sp, const float* __restrict__ gS, const float* __restrict__ gV,
                              float* __restrict__ gI, const float* __restrict__ tab, double* __restrict__ part) {
  constexpr int QS = kStates<QM>, LS = kLags<QM, LM>, QU = QM, LU = QM == 0 ? 0 : LM;
  FSNN_SHARED(float, sk, [LS]);
  FSNN_SHARED(float, scq, [QS]);
  FSNN_SHARED(float, smu, [QS]);
  load_tables<QM, LM>(c, tab, sk, scq, smu);
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= c.N) return;
  const int64_t L0 = c.L0, Q = c.Q, T = c.T, N = c.N;
  double* out = part + n * (c.W + 1);
  for (int64_t i = 0; i <= c.W; ++i) out[i] = 0.0;
  float P[QS], G[QS], gk[LS];
  for_upto<QU, 0>(Q, [&](int64_t q) { P[q] = G[q] = 0.0f; });
  for_upto<LU, 0>(L0, [&](int64_t L) { gk[L] = 0.0f; });
  Window<QM, LM, -1> z;  // z.at(m) = q at step j + m
  z.init(T, c.mask);
  float comp = 0.0f, tacc = 0.0f;
  const float inv_tau2 = c.inv_tau * c.inv_tau, thr_tau2 = c.thr_tau * c.inv_tau;
  const auto load = [&](int64_t it) {  // iteration it is step j = T - it
    const int64_t j = T - it;
    BackwardInputs r{};
    if (j < T) {
      const int64_t i = j * N + n;
      r.in = I[i];
      r.gs = gS[i];
      r.sp = Sp[i];
    }
    if (j >= 1) {
      const int64_t i = (j - 1) * N + n;
      r.v = V[i];
      if (gV) r.gv = gV[i];
    }
    return r;
  };
  load_ahead<AHEAD, BackwardInputs>(T + 1, load, [&](int64_t it, const BackwardInputs& in) {
    const int64_t j = T - it;
    const float vj = in.v;
    float local = 0.0f;
    if (j < T) {
      const int64_t i = j * N + n;
      const float x = x_of(c, vj, in.in);
      const float a = in.gs * surrogate_grad(c.surrogate, x, c.scale);
      const float dv_tau = (c.lif ? in.in - vj : in.in) * inv_tau2;
      const float qj = z.at(0);
      gI[i] = (a + qj) * c.inv_tau;
      tacc = qj * (in.sp * thr_tau2 - dv_tau) + (tacc - a * dv_tau);
      local = a * c.opc + c.c * qj;
    }
    if (j >= 1) {
      const float qin = z.oldest(L0);
      const float y = qin - comp, t = P[0] + y;
      comp = (t - P[0]) - y;
      P[0] = t;
      G[0] += vj * P[0];
      float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for_each_decaying_state<QU>(Q, [&](int64_t q, int r) {
        float p = P[q];
        p += qin - smu[q] * p;
        P[q] = p;
        a[r] += scq[q] * p;
        G[q] += vj * p;
      });
      float far = (a[0] + a[1]) + (a[2] + a[3]);
      far += scq[0] * P[0];
      float near = 0.0f;
      for_upto<LU, 1>(L0, [&](int64_t L) { near += sk[L] * z.at(L - 1); });
      const float u = in.gv + local - near - far;
      const float qnew = u * c.inv_K0;
      gk[0] += vj * qnew;
      for_upto<LU, 1>(L0, [&](int64_t L) { gk[L] += vj * z.at(L - 1); });
      z.push(qnew);
    }
    if (j % kFastChunk == 0) {
      for_upto<LU, 0>(L0, [&](int64_t L) { out[L] -= double(gk[L]), gk[L] = 0.0f; });
      for_upto<QU, 0>(Q, [&](int64_t q) { out[L0 + q] -= double(G[q]), G[q] = 0.0f; });
      out[c.W] += double(tacc);
      tacc = 0.0f;
    }
  });
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

// FSNN_CUDA_FAST_AHEAD = 1, 4 or 8: the steps both kernels load ahead, read at every launch (so that one
// process can measure the depths against each other); unset: kForwardAhead and kBackwardAhead.
int ahead_override() {
  const char* e = std::getenv("FSNN_CUDA_FAST_AHEAD");
  if (!e || !*e) return 0;
  for (int d : kAheadDepths)
    if (std::strspn(e, "0123456789") == std::strlen(e) && std::strtol(e, nullptr, 10) == d) return d;
  fail("fractionalNeuron: FSNN_CUDA_FAST_AHEAD=", e,
       " is not a depth the fast-history kernels are built for; use 1, 4 or 8, or unset it for the defaults (forward ",
       kForwardAhead, ", backward ", kBackwardAhead, ")");
}

// The kernel pair for c: the register form of the smallest width that holds Q (32, 48, 64), or QM = 0;
// loading AHEAD steps ahead.
template <int QM, int AHEAD>
void launch_fast(const FastConsts& c, unsigned blocks, cudaStream_t st, const float* I, float* S, float* V, const float* tab) {
  launch(frac_fast_forward_kernel<QM, kRegLags, AHEAD>, blocks, kFastThreads, 0, st, c, I, S, V, tab);
}
template <int QM, int AHEAD>
void launch_fast(const FastConsts& c, unsigned blocks, cudaStream_t st, const float* I, const float* V, const float* Sp,
                 const float* gS, const float* gV, float* gI, const float* tab, double* part) {
  launch(frac_fast_backward_kernel<QM, kRegLags, AHEAD>, blocks, kFastThreads, 0, st, c, I, V, Sp, gS, gV, gI, tab, part);
}
template <int QM, class... A>
void launch_depth(const FastConsts& c, int ahead, A... args) {
  static_assert(sizeof(kAheadDepths) == 3 * sizeof(int), "the switch below lists every depth");
  switch (ahead) {
    case 1: return launch_fast<QM, 1>(c, args...);
    case 4: return launch_fast<QM, 4>(c, args...);
    default: return launch_fast<QM, 8>(c, args...);
  }
}
// fallback_ahead: the depth when FSNN_CUDA_FAST_AHEAD is unset (kForwardAhead or kBackwardAhead).
template <class... A>
void launch_width(const FastConsts& c, int fallback_ahead, A... args) {
  const int o = ahead_override(), ahead = o ? o : fallback_ahead;
  switch (register_width(c)) {
    case 32: return launch_depth<32>(c, ahead, args...);
    case 48: return launch_depth<48>(c, ahead, args...);
    case 64: return launch_depth<64>(c, ahead, args...);
    default: return launch_depth<0>(c, ahead, args...);
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
  launch_width(c, kForwardAhead, blocks, b.stream(), I.data(), spikes.data(), v ? v->data() : static_cast<float*>(nullptr),
               (const float*)d_tab.as<float>());
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
  launch_width(c, kBackwardAhead, blocks, b.stream(), I.data(), v.data(), spikes.data(), gS.data(),
               gV ? gV->data() : static_cast<const float*>(nullptr), gI.data(), (const float*)d_tab.as<float>(),
               part.as<double>());
  check_launch("fractionalNeuron backward (fast history, reverse time)");
  sum_columns(part, p.N, c.W, gK, gTau, b.stream());
}

}  // namespace cuda
}  // namespace fsnn
