// The fractional neuron op on the GPU: launch side of the kernels in fractional_core.h (design notes
// there). Per layer:
//   forward   1 launch : frac_forward_kernel (one thread per neuron, the whole T-step recurrence)
//   backward  3 launches: frac_reverse_kernel (q and dI, reverse time, per-block dL/dtau),
//                         frac_corr_kernel (dK partial sums per 32-neuron block),
//                         frac_final_kernel (fixed-order double sums over blocks)
//             then one device -> host copy of the T + 2 doubles (the op returns dK, dtau on the host).
// Tiles of S = 8 steps, or S = 16 from T = 512 on (fractional_core.h).
// The coefficient table Kz (T + 34 floats) is uploaded once per call through the pinned ring and
// copied by each block into shared memory (up to kKzSharedMax bytes; beyond that, i.e. T above ~24k,
// it is read from global memory, where the uniform per-warp addresses hit L1).
#include <algorithm>
#include <vector>

#include "cuda_backend.h"
#include "fractional_core.h"

namespace fsnn {
namespace cuda {

namespace {
constexpr int kFracThreads = 64;                    // forward / reverse threads per block (small N still spreads)
constexpr size_t kKzSharedMax = size_t(96) << 10;   // bytes of Kz kept in shared memory

template <int S, bool KSH>
__global__ void __launch_bounds__(kFracThreads) frac_forward_kernel(FracConsts c, const float* __restrict__ I,
                                                                    float* __restrict__ spikes, float* V,
                                                                    const float* __restrict__ Kz_g, int kz_len) {
  FSNN_DYNAMIC_SHARED(float, kz_s);
  if (KSH) {
    for (int i = threadIdx.x; i < kz_len; i += blockDim.x) kz_s[i] = Kz_g[i];
    __syncthreads();
  }
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n < c.N) frac_forward_thread<S>(c, n, I, spikes, V, KSH ? kz_s : Kz_g);
}

__device__ __forceinline__ double warp_sum_d(double s) {
#pragma unroll
  for (int off = 16; off >= 1; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
  return s;
}

template <int S, bool KSH>
__global__ void __launch_bounds__(kFracThreads)
    frac_reverse_kernel(FracConsts c, const float* __restrict__ I, const float* __restrict__ V,
                        const float* __restrict__ Sp, const float* __restrict__ gS, const float* __restrict__ gV,
                        float* __restrict__ gI, float* Q, const float* __restrict__ Kz_g, int kz_len,
                        double* __restrict__ tau_part) {
  FSNN_DYNAMIC_SHARED(float, kz_s);
  FSNN_SHARED(double, warp_tau, [kFracThreads / 32]);
  if (KSH) {
    for (int i = threadIdx.x; i < kz_len; i += blockDim.x) kz_s[i] = Kz_g[i];
    __syncthreads();
  }
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  float t = 0.0f;
  if (n < c.N) t = frac_reverse_thread<S>(c, n, I, V, Sp, gS, gV, gI, Q, KSH ? kz_s : Kz_g);
  // dL/dtau of the block: a warp tree in double, then the warps in order (deterministic).
  const double d = warp_sum_d(double(t));
  if ((threadIdx.x & 31) == 0) warp_tau[threadIdx.x >> 5] = d;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0.0;
    for (int w = 0; w < kFracThreads / 32; ++w) s += warp_tau[w];
    tau_part[blockIdx.x] = s;
  }
}

// CTA: 32 neurons x kCorrTL lags; blockIdx.x = neuron_block * nLT + lag_tile (lag tiles of one neuron
// block run side by side, so its q and v chunks are shared through L2).
__global__ void __launch_bounds__(kCorrWarps * 32)
    frac_corr_kernel(int64_t T, int64_t N, int64_t Lmax, int64_t nLT, const float* __restrict__ Q,
                     const float* __restrict__ V, double* __restrict__ part) {
  FSNN_SHARED(float, Qs, [kCorrTJ][32]);
  FSNN_SHARED(float, Hs, [kCorrHR][32]);
  const int64_t lt = int64_t(blockIdx.x) % nLT, nb = int64_t(blockIdx.x) / nLT;
  const int64_t L0 = lt * kCorrTL;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float acc[kCorrRL];
#pragma unroll
  for (int l = 0; l < kCorrRL; ++l) acc[l] = 0.0f;
  for (int64_t j0 = L0; j0 < T; j0 += kCorrTJ) {
    corr_stage(threadIdx.x, T, N, nb * 32, L0, j0, Q, V, Qs, Hs);
    __syncthreads();
    corr_compute(warp, lane, Qs, Hs, acc);
    __syncthreads();
  }
#pragma unroll
  for (int l = 0; l < kCorrRL; ++l) {
    const double d = warp_sum_d(double(acc[l]));
    const int64_t L = L0 + int64_t(warp) * kCorrRL + l;
    if (lane == 0 && L <= Lmax) part[nb * (Lmax + 1) + L] = d;
  }
}

// out[L] = -sum_nb part[nb][L] (L <= Lmax), out[Lmax + 1] = sum_b tau_part[b]; fixed order.
__global__ void frac_final_kernel(const double* __restrict__ part, int64_t nNB, int64_t Lmax,
                                  const double* __restrict__ tau_part, int64_t nRB, double* __restrict__ out) {
  for (int64_t L = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; L <= Lmax; L += int64_t(blockDim.x) * gridDim.x) {
    double s = 0.0;
    for (int64_t nb = 0; nb < nNB; ++nb) s += part[nb * (Lmax + 1) + L];
    out[L] = -s;
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    double t = 0.0;
    for (int64_t b = 0; b < nRB; ++b) t += tau_part[b];
    out[Lmax + 1] = t;
  }
}

// Dynamic shared memory above 48 KiB must be opted into per kernel.
template <typename K>
void allow_smem(K kernel, size_t bytes) {
  if (bytes > (size_t(48) << 10))
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
          "cudaFuncSetAttribute (fractional kernel shared memory)");
}

struct KzTable {
  std::vector<float> host;
  int len = 0;
  bool shared = false;
  size_t smem = 0;
};

KzTable make_kz(const FractionalParams& p, const FracConsts& c) {
  KzTable k;
  k.len = int(frac_kz_len(p.T));
  k.host.resize(size_t(k.len));
  make_frac_kz(p, c.M, k.host.data());
  k.smem = size_t(k.len) * sizeof(float);
  k.shared = k.smem <= kKzSharedMax;
  if (!k.shared) k.smem = 0;
  return k;
}

template <int S>
void launch_forward(unsigned blocks, cudaStream_t stream, const KzTable& kz, const FracConsts& c, const float* I,
                    float* spikes, float* V, const float* Kz) {
  if (kz.shared) {
    static bool attr = false;  // set once per instantiation (idempotent, so a race is harmless)
    if (!attr) {
      allow_smem(frac_forward_kernel<S, true>, kKzSharedMax);
      attr = true;
    }
    launch(frac_forward_kernel<S, true>, blocks, kFracThreads, kz.smem, stream, c, I, spikes, V, Kz, kz.len);
  } else {
    launch(frac_forward_kernel<S, false>, blocks, kFracThreads, 0, stream, c, I, spikes, V, Kz, kz.len);
  }
}

struct ReverseArgs {
  FracConsts c;
  const float *I, *V, *S, *gS, *gV;
  float *gI, *Q;
  const float* Kz;
  double* tau_part;
};

template <int S>
void launch_reverse(unsigned blocks, cudaStream_t stream, const KzTable& kz, const ReverseArgs& a) {
  if (kz.shared) {
    static bool attr = false;
    if (!attr) {
      allow_smem(frac_reverse_kernel<S, true>, kKzSharedMax);
      attr = true;
    }
    launch(frac_reverse_kernel<S, true>, blocks, kFracThreads, kz.smem, stream, a.c, a.I, a.V, a.S, a.gS, a.gV, a.gI, a.Q, a.Kz, kz.len, a.tau_part);
  } else {
    launch(frac_reverse_kernel<S, false>, blocks, kFracThreads, 0, stream, a.c, a.I, a.V, a.S, a.gS, a.gV, a.gI, a.Q, a.Kz, kz.len, a.tau_part);
  }
}

}  // namespace

void CudaBackend::fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) {
  if (p.T == 0 || p.N == 0) return;
  const FracConsts c = make_frac_consts(p);
  const KzTable kz = make_kz(p, c);
  DeviceTemp d_kz(kz.host.data(), kz.host.size() * sizeof(float));
  DeviceTemp scratch;  // the history when the trace is not saved
  float* V = v ? v->data() : nullptr;
  if (!V) {
    scratch.ptr = allocate(size_t(p.T) * size_t(p.N) * sizeof(float));
    V = scratch.as<float>();
  }
  const unsigned blocks = unsigned((p.N + kFracThreads - 1) / kFracThreads);
  if (p.T >= kFracLongT)
    launch_forward<kFracSLong>(blocks, stream_, kz, c, I.data(), spikes.data(), V, d_kz.as<float>());
  else
    launch_forward<kFracS>(blocks, stream_, kz, c, I.data(), spikes.data(), V, d_kz.as<float>());
  check_launch("fractionalNeuron forward");
}

void CudaBackend::fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                                      const Tensor& gS, const Tensor* gV, Tensor& gI, double* gK, double* gTau) {
  const int64_t T = p.T, N = p.N;
  std::fill(gK, gK + T + 1, 0.0);
  if (gTau) *gTau = 0.0;
  if (T == 0 || N == 0) return;
  const FracConsts c = make_frac_consts(p);
  const KzTable kz = make_kz(p, c);
  const int64_t Lmax = std::min<int64_t>(T - 1, c.M - 1);
  const int64_t nRB = (N + kFracThreads - 1) / kFracThreads;
  const int64_t nNB = (N + 31) / 32, nLT = (Lmax + kCorrTL) / kCorrTL;
  DeviceTemp d_kz(kz.host.data(), kz.host.size() * sizeof(float));
  DeviceTemp Q(size_t(T) * size_t(N) * sizeof(float));
  DeviceTemp tau_part(size_t(nRB) * sizeof(double));
  DeviceTemp part(size_t(nNB) * size_t(Lmax + 1) * sizeof(double));
  DeviceTemp out(size_t(Lmax + 2) * sizeof(double));
  const float* gv = gV ? gV->data() : nullptr;

  const ReverseArgs ra{c, I.data(), v.data(), spikes.data(), gS.data(), gv, gI.data(), Q.as<float>(),
                       d_kz.as<float>(), tau_part.as<double>()};
  if (T >= kFracLongT)
    launch_reverse<kFracSLong>(unsigned(nRB), stream_, kz, ra);
  else
    launch_reverse<kFracS>(unsigned(nRB), stream_, kz, ra);
  check_launch("fractionalNeuron backward (reverse-time)");
  const int64_t ctas = nNB * nLT;
  if (ctas > int64_t(0x7fffffff)) fail("fractionalNeuron backward: too many neurons x time steps for one launch");
  launch(frac_corr_kernel, unsigned(ctas), kCorrWarps * 32, 0, stream_, T, N, Lmax, nLT, Q.as<float>(), v.data(), part.as<double>());
  check_launch("fractionalNeuron backward (dK correlation)");
  const unsigned fblocks = unsigned(std::min<int64_t>((Lmax + 1 + 255) / 256, 1024));
  launch(frac_final_kernel, std::max(1u, fblocks), 256, 0, stream_, part.as<double>(), nNB, Lmax, tau_part.as<double>(), nRB, out.as<double>());
  check_launch("fractionalNeuron backward (reduction)");
  std::vector<double> host(size_t(Lmax + 2));
  copy_to_host(host.data(), out.ptr, host.size() * sizeof(double));
  for (int64_t L = 0; L <= Lmax; ++L) gK[L] = host[size_t(L)];
  if (gTau) *gTau = host[size_t(Lmax + 1)];
}

}  // namespace cuda
}  // namespace fsnn
