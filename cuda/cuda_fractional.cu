// The fractional neuron op on the GPU: launch side of the kernels in fractional_core.h (design notes
// there). Per layer:
//   forward   1 launch : frac_forward_kernel (one thread per neuron, the whole T-step recurrence)
//   backward  4 launches: frac_reverse_kernel (q and dI, reverse time, dL/dtau per 32-neuron warp),
//                         frac_corr_kernel (dK partial sums per 32-neuron block),
//                         column sums (column_sums.h) + frac_finish_kernel (fixed-order float64 sums over the
//                         neuron blocks, many blocks wide: the same result on any GPU)
//             dK and dtau stay on the device (the op table returns them as float32 hi/lo pairs); the
//             backward makes no host wait.
//   chain     1 launch per table: frac_chain_kernel (dK -> dalpha, dw; dtau -> dtheta) in float64.
// Tiles of S = 8 steps, or S = 16 from T = 512 on (fractional_core.h).
// The coefficient table Kz (T + 34 floats) is uploaded once per call through the pinned ring and
// copied by each block into shared memory (up to kKzSharedMax bytes; beyond that, i.e. T above ~24k,
// it is read from global memory, where the uniform per-warp addresses hit L1). FSNN_CUDA_FRAC_GLOBAL_K=1
// forces the global-memory path at any T (for tests).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "column_sums.h"
#include "cuda_backend.h"
#include "cuda_fractional_pred.h"
#include "cuda_fractional_fast.h"
#include "fractional_core.h"
#include "launch.h"

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
                        double* __restrict__ part, int64_t ld) {
  FSNN_DYNAMIC_SHARED(float, kz_s);
  if (KSH) {
    for (int i = threadIdx.x; i < kz_len; i += blockDim.x) kz_s[i] = Kz_g[i];
    __syncthreads();
  }
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  double t = 0.0;
  if (n < c.N) t = frac_reverse_thread<S>(c, n, I, V, Sp, gS, gV, gI, Q, KSH ? kz_s : Kz_g);
  // dL/dtau of the warp's 32 neurons (an xor tree in double) into column ld - 1 of its neuron block's row
  // of the partial sums (the other columns hold the block's dK, written by frac_corr_kernel).
  const double d = warp_sum_d(t);
  const int64_t nb = n / 32;
  if ((threadIdx.x & 31) == 0 && nb * 32 < c.N) part[nb * ld + ld - 1] = d;
}

// CTA: 32 neurons x kCorrTL lags; blockIdx.x = neuron_block * nLT + lag_tile (lag tiles of one neuron
// block run side by side, so its q and v chunks are shared through L2). part: row nb, column L (row
// length ld = Lmax + 2).
__global__ void __launch_bounds__(kCorrWarps * 32)
    frac_corr_kernel(int64_t T, int64_t N, int64_t Lmax, int64_t nLT, const float* __restrict__ Q,
                     const float* __restrict__ V, double* __restrict__ part, int64_t ld) {
  FSNN_SHARED(float, Qs, [kCorrTJ][32]);
  FSNN_SHARED(float, Hs, [kCorrHR][32]);
  const int64_t lt = int64_t(blockIdx.x) % nLT, nb = int64_t(blockIdx.x) / nLT;
  const int64_t L0 = lt * kCorrTL;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float acc[kCorrRL];
  double dacc[kCorrRL];
#pragma unroll
  for (int l = 0; l < kCorrRL; ++l) {
    acc[l] = 0.0f;
    dacc[l] = 0.0;
  }
  for (int64_t j0 = L0; j0 < T; j0 += kCorrTJ) {
    corr_stage(threadIdx.x, T, N, nb * 32, L0, j0, Q, V, Qs, Hs);
    __syncthreads();
    corr_compute(warp, lane, j0 - L0 - int64_t(kCorrRL) * warp, Qs, Hs, acc, dacc);
    __syncthreads();
  }
#pragma unroll
  for (int l = 0; l < kCorrRL; ++l) {
    const double d = warp_sum_d(dacc[l] + double(acc[l]));
    const int64_t L = L0 + int64_t(warp) * kCorrRL + l;
    if (lane == 0 && L <= Lmax) part[nb * ld + L] = d;
  }
}

// Stage 2 of the column sums (column_sums.h): x_i = sum over the stage-1 rows (in order) of column i, written as a float32 pair
// hi = float(x), lo = float(x - hi) (x = hi + lo to ~2^-48):
//   gK [2][T + 1]: x = -column L for L <= Lmax, 0 for Lmax < L <= T;  gTau [2]: x = column Lmax + 1.
__global__ void frac_finish_kernel(const double* __restrict__ sums, int64_t srows, int64_t Lmax, int64_t T,
                                   float* __restrict__ gK, float* __restrict__ gTau) {
  const int64_t cols = Lmax + 2;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i <= T + 1; i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t col = i <= Lmax ? i : (i == T + 1 ? Lmax + 1 : -1);
    double x = 0.0;
    if (col >= 0)
      for (int64_t r = 0; r < srows; ++r) x += sums[r * cols + col];
    if (i <= Lmax) x = -x;
    const float hi = float(x), lo = float(x - double(hi));
    if (i <= T) {
      gK[i] = hi;
      gK[T + 1 + i] = lo;
    } else {
      gTau[0] = hi;
      gTau[1] = lo;
    }
  }
}

// The chain to the op's parameters (backend.h): block r computes out[r] = float(sum_j (x_hi[j] + x_lo[j])
// t[r n + j]) in float64 in the order of fractional_op.h (kFracChainLanes lanes = threads, then a pairwise
// tree), the same bits as the CPU backend.
__global__ void __launch_bounds__(kFracChainLanes)
    frac_chain_kernel(const float* __restrict__ x, int64_t n, const double* __restrict__ table, float* __restrict__ out) {
  FSNN_SHARED(double, lane, [kFracChainLanes]);
  const int64_t r = blockIdx.x;
  const double* t = table + r * n;
  double s = 0.0;
  for (int64_t j = threadIdx.x; j < n; j += kFracChainLanes)
    s = __dadd_rn(s, __dmul_rn(__dadd_rn(double(x[j]), double(x[n + j])), t[j]));
  lane[threadIdx.x] = s;
  __syncthreads();
  for (int h = kFracChainLanes / 2; h >= 1; h /= 2) {
    if (int(threadIdx.x) < h) lane[threadIdx.x] = __dadd_rn(lane[threadIdx.x], lane[threadIdx.x + h]);
    __syncthreads();
  }
  if (threadIdx.x == 0) out[r] = float(lane[0]);
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

// FSNN_CUDA_FRAC_GLOBAL_K=1: the kernels read Kz from global memory even where it fits in shared memory
// (read at every call, so that a test can switch it).
bool force_global_kz() {
  const char* e = std::getenv("FSNN_CUDA_FRAC_GLOBAL_K");
  return e && *e && std::strcmp(e, "0") != 0;
}

KzTable make_kz(const FractionalParams& p, const FracConsts& c) {
  KzTable k;
  k.len = int(frac_kz_len(p.T));
  k.host.resize(size_t(k.len));
  make_frac_kz(p, c.M, k.host.data());
  k.smem = size_t(k.len) * sizeof(float);
  k.shared = k.smem <= kKzSharedMax && !force_global_kz();
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
  double* part;
  int64_t ld;
};

template <int S>
void launch_reverse(unsigned blocks, cudaStream_t stream, const KzTable& kz, const ReverseArgs& a) {
  if (kz.shared) {
    static bool attr = false;
    if (!attr) {
      allow_smem(frac_reverse_kernel<S, true>, kKzSharedMax);
      attr = true;
    }
    launch(frac_reverse_kernel<S, true>, blocks, kFracThreads, kz.smem, stream, a.c, a.I, a.V, a.S, a.gS, a.gV, a.gI,
           a.Q, a.Kz, kz.len, a.part, a.ld);
  } else {
    launch(frac_reverse_kernel<S, false>, blocks, kFracThreads, 0, stream, a.c, a.I, a.V, a.S, a.gS, a.gV, a.gI, a.Q,
           a.Kz, kz.len, a.part, a.ld);
  }
}

}  // namespace

// The GPU does not check the membrane (that would need a host read): kNotScanned.
int64_t CudaBackend::fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) {
  if (p.fast) {
    fractional_fast_forward(p, I, spikes, v);  // cuda_fractional_fast.cu (every method)
    return kNotScanned;
  }
  if (p.predictor) {
    pred_forward(stream_, p, I, spikes, v);  // method 'pred': cuda_fractional_pred.cu
    return kNotScanned;
  }
  if (p.T == 0 || p.N == 0) return kNotScanned;
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
  return kNotScanned;
}

void CudaBackend::fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                                      const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) {
  if (p.fast) return fractional_fast_backward(p, I, v, spikes, gS, gV, gI, gK, gTau);  // cuda_fractional_fast.cu
  if (p.predictor) return pred_backward(stream_, p, I, v, spikes, gS, gV, gI, gK, gTau);
  const int64_t T = p.T, N = p.N;
  if (T == 0 || N == 0) {
    check(cudaMemsetAsync(gK.data(), 0, size_t(gK.numel()) * sizeof(float), stream_), "fractionalNeuron backward (zero dK)");
    check(cudaMemsetAsync(gTau.data(), 0, size_t(gTau.numel()) * sizeof(float), stream_),
          "fractionalNeuron backward (zero dtau)");
    return;
  }
  const FracConsts c = make_frac_consts(p);
  const KzTable kz = make_kz(p, c);
  const int64_t Lmax = std::min<int64_t>(T - 1, c.M - 1);
  const int64_t nRB = (N + kFracThreads - 1) / kFracThreads;
  const int64_t nNB = (N + 31) / 32, nLT = (Lmax + kCorrTL) / kCorrTL;
  const int64_t ld = Lmax + 2;  // partial sums per neuron block: dK_0..dK_Lmax, dtau
  const int64_t srows = column_sum_rows(nNB);
  DeviceTemp d_kz(kz.host.data(), kz.host.size() * sizeof(float));
  DeviceTemp Q(size_t(T) * size_t(N) * sizeof(float));
  DeviceTemp part(size_t(nNB) * size_t(ld) * sizeof(double));
  DeviceTemp sums(size_t(srows) * size_t(ld) * sizeof(double));
  const float* gv = gV ? gV->data() : nullptr;

  const ReverseArgs ra{c, I.data(), v.data(), spikes.data(), gS.data(), gv, gI.data(), Q.as<float>(),
                       d_kz.as<float>(), part.as<double>(), ld};
  if (T >= kFracLongT)
    launch_reverse<kFracSLong>(unsigned(nRB), stream_, kz, ra);
  else
    launch_reverse<kFracS>(unsigned(nRB), stream_, kz, ra);
  check_launch("fractionalNeuron backward (reverse-time)");
  const int64_t ctas = nNB * nLT;
  if (ctas > int64_t(0x7fffffff)) fail("fractionalNeuron backward: too many neurons x time steps for one launch");
  launch(frac_corr_kernel, unsigned(ctas), kCorrWarps * 32, 0, stream_, T, N, Lmax, nLT, (const float*)Q.as<float>(),
         v.data(), part.as<double>(), ld);
  check_launch("fractionalNeuron backward (dK correlation)");
  launch_column_sums(part.as<double>(), nNB, ld, sums.as<double>(), stream_);
  launch(frac_finish_kernel, grid_for(T + 2, 256), 256, 0, stream_, (const double*)sums.as<double>(), srows, Lmax, T,
         gK.data(), gTau.data());
  check_launch("fractionalNeuron backward (dK, dtau)");
}

void CudaBackend::fractional_chain(const Tensor& x, const double* table, int64_t rows, Tensor& out) {
  if (rows == 0) return;
  const int64_t n = x.numel() / 2;
  if (rows > int64_t(0x7fffffff)) fail("fractional chain: too many rows for one launch");
  DeviceTemp d_table(table, size_t(rows) * size_t(n) * sizeof(double));  // an upload: no host wait
  launch(frac_chain_kernel, unsigned(rows), kFracChainLanes, 0, stream_, (const float*)x.data(), n,
         (const double*)d_table.as<double>(), out.data());
  check_launch("fractionalNeuron backward (chain to alpha and the term weights)");
}

}  // namespace cuda
}  // namespace fsnn
