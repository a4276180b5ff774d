// The predictor (method 'pred') on the GPU: the per-neuron body of native/fractional_pred_neuron.h
// (the same code the CPU backend runs, so the two agree bit for bit in v, spikes, dI and in every
// per-neuron float64 sum; equations and adjoint in native/fractional_op.h).
//   forward   1 launch : pred_forward_kernel (one thread per neuron; f history in a [T, N] scratch)
//   backward  2 launches: pred_reverse_kernel (one thread per neuron: dI, u and f in [T, N] scratch,
//                         dL/dtau per neuron), pred_sums_kernel (block L sums dL/dK_L over the neurons,
//                         block 0 dL/dtau: float64, a fixed-order tree, written as float32 hi/lo pairs)
// dK and dtau stay on the device; no host wait.
#include "cuda_fractional_pred.h"

#include <vector>

#include "../native/fractional_pred_neuron.h"
#include "cuda_backend.h"
#include "launch.h"

namespace fsnn {
namespace cuda {

namespace {
constexpr int kPredThreads = 64;   // forward / reverse threads per block
constexpr int kPredSumLanes = 256;  // threads of a sum block

__global__ void __launch_bounds__(kPredThreads) pred_forward_kernel(PredConsts c, const float* __restrict__ I,
                                                                     float* __restrict__ S, float* V, float* F) {
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n < c.N) pred_forward_neuron(c, n, I, S, V, F + n, c.N);
}

__global__ void __launch_bounds__(kPredThreads)
    pred_reverse_kernel(PredConsts c, const float* __restrict__ I, const float* __restrict__ V,
                        const float* __restrict__ Sp, const float* __restrict__ gS, const float* __restrict__ gV,
                        float* __restrict__ gI, float* F, float* U, double* __restrict__ tau_part) {
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n < c.N) tau_part[n] = pred_backward_neuron(c, n, I, V, Sp, gS, gV, gI, F + n, U + n, c.N);
}

// Block L (0..T): x = sum over neurons of dL/dK_L (L >= 1; 0 beyond M) or, for L = 0, of dL/dtau;
// lane t adds neurons t, t + 256, ... in order, then a pairwise tree. gK[L] (L = 0: 0) and gTau get
// float32 pairs hi = float(x), lo = float(x - hi).
__global__ void __launch_bounds__(kPredSumLanes)
    pred_sums_kernel(PredConsts c, const float* __restrict__ F, const float* __restrict__ U,
                     const double* __restrict__ tau_part, float* __restrict__ gK, float* __restrict__ gTau) {
  FSNN_SHARED(double, lane, [kPredSumLanes]);
  const int64_t L = blockIdx.x;
  double s = 0.0;
  if (L == 0 || L <= c.M)
    for (int64_t n = threadIdx.x; n < c.N; n += kPredSumLanes)
      s += L == 0 ? tau_part[n] : pred_grad_b_neuron(c, L, F + n, U + n, c.N);
  lane[threadIdx.x] = s;
  __syncthreads();
  for (int h = kPredSumLanes / 2; h >= 1; h /= 2) {
    if (int(threadIdx.x) < h) lane[threadIdx.x] += lane[threadIdx.x + h];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const double x = lane[0];
    const float hi = float(x), lo = float(x - double(hi));
    if (L == 0) {
      gTau[0] = hi;
      gTau[1] = lo;
      gK[0] = 0.0f;
      gK[c.T + 1] = 0.0f;
    } else {
      gK[L] = hi;
      gK[c.T + 1 + L] = lo;
    }
  }
}

// b[L] = float(K_L) on the host, for the upload.
std::vector<float> float_kernel(const FractionalParams& p) {
  std::vector<float> b(size_t(p.T) + 1, 0.0f);
  for (int64_t L = 1; L <= p.T; ++L) b[size_t(L)] = float(p.K[L]);
  return b;
}
}  // namespace

void pred_forward(cudaStream_t stream, const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) {
  if (p.T == 0 || p.N == 0) return;
  const std::vector<float> b = float_kernel(p);
  DeviceTemp d_b(b.data(), b.size() * sizeof(float));
  DeviceTemp F(size_t(p.T) * size_t(p.N) * sizeof(float));
  const PredConsts c = make_pred_consts(p, d_b.as<float>());
  launch(pred_forward_kernel, grid_for(p.N, kPredThreads), kPredThreads, 0, stream, c, I.data(), spikes.data(),
         v ? v->data() : nullptr, F.as<float>());
  check_launch("fractionalNeuron forward (pred)");
}

void pred_backward(cudaStream_t stream, const FractionalParams& p, const Tensor& I, const Tensor& v,
                   const Tensor& spikes, const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) {
  const int64_t T = p.T, N = p.N;
  if (T == 0 || N == 0) {
    check(cudaMemsetAsync(gK.data(), 0, size_t(gK.numel()) * sizeof(float), stream), "fractionalNeuron backward (zero dK)");
    check(cudaMemsetAsync(gTau.data(), 0, size_t(gTau.numel()) * sizeof(float), stream),
          "fractionalNeuron backward (zero dtau)");
    return;
  }
  const std::vector<float> b = float_kernel(p);
  DeviceTemp d_b(b.data(), b.size() * sizeof(float));
  DeviceTemp F(size_t(T) * size_t(N) * sizeof(float)), U(size_t(T) * size_t(N) * sizeof(float));
  DeviceTemp tau_part(size_t(N) * sizeof(double));
  const PredConsts c = make_pred_consts(p, d_b.as<float>());
  launch(pred_reverse_kernel, grid_for(N, kPredThreads), kPredThreads, 0, stream, c, I.data(), v.data(), spikes.data(),
         gS.data(), gV ? gV->data() : nullptr, gI.data(), F.as<float>(), U.as<float>(), tau_part.as<double>());
  check_launch("fractionalNeuron backward (pred, reverse-time)");
  if (T + 1 > int64_t(0x7fffffff)) fail("fractionalNeuron backward (pred): too many time steps for one launch");
  launch(pred_sums_kernel, unsigned(T + 1), kPredSumLanes, 0, stream, c, (const float*)F.as<float>(),
         (const float*)U.as<float>(), (const double*)tau_part.as<double>(), gK.data(), gTau.data());
  check_launch("fractionalNeuron backward (pred, dK and dtau)");
}

}  // namespace cuda
}  // namespace fsnn
