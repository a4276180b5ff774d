// A linear layer's weight and bias gradients in one pass over g, for few input features (ops.h:
// linear_weight_bias_grad; K <= kLinearGradOnePassMaxK):
//   grad_w[j][k] = sum_i g[i][j] x[i][k],   grad_b[j] = sum_i g[i][j]        (i ascending, float64)
// g [M, N] is the large operand (M = T·B rows); with K this small the matmul and the column sum are each a
// pass over g bound by memory, and this reads it once. grad_b is column_sum.h's sum (the same bits as the
// reduction over dim 0). Each product g x is exact in float64, so FMA contraction does not change the bits.
#include <algorithm>
#include <cstdint>

#include "../error.h"
#include "cpu_backend.h"
#include "cpu_features.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {
namespace {

constexpr int64_t kRunCols = 256;  // columns per work item: (K + 1) x 256 float64 accumulators, in L1
constexpr int64_t kMaxK = 8;

// Columns c0..c0+n-1 of g (row stride N) over rows 0..M-1.
inline __attribute__((always_inline)) void weight_bias_grad_body(const float* g, int64_t N, const float* x, int64_t K,
                                                                 int64_t M, int64_t c0, int64_t n, float* gw,
                                                                 float* gb) {
  double acc_b[kRunCols], acc_w[kMaxK][kRunCols];
  std::fill(acc_b, acc_b + n, 0.0);
  for (int64_t k = 0; k < K; ++k) std::fill(acc_w[k], acc_w[k] + n, 0.0);
  for (int64_t i = 0; i < M; ++i) {
    const float* row = g + i * N + c0;
    for (int64_t j = 0; j < n; ++j) acc_b[j] += row[j];
    for (int64_t k = 0; k < K; ++k) {
      const double xk = x[i * K + k];
      double* acc = acc_w[k];
      for (int64_t j = 0; j < n; ++j) acc[j] += double(row[j]) * xk;
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    gb[c0 + j] = static_cast<float>(acc_b[j]);
    for (int64_t k = 0; k < K; ++k) gw[(c0 + j) * K + k] = static_cast<float>(acc_w[k][j]);
  }
}
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx512f,avx512dq,avx2,fma"))) void weight_bias_grad_avx512(const float* g, int64_t N,
                                                                                  const float* x, int64_t K,
                                                                                  int64_t M, int64_t c0, int64_t n,
                                                                                  float* gw, float* gb) {
  weight_bias_grad_body(g, N, x, K, M, c0, n, gw, gb);
}
__attribute__((target("avx2,fma"))) void weight_bias_grad_avx2(const float* g, int64_t N, const float* x, int64_t K,
                                                               int64_t M, int64_t c0, int64_t n, float* gw,
                                                               float* gb) {
  weight_bias_grad_body(g, N, x, K, M, c0, n, gw, gb);
}
#endif
void weight_bias_grad(const float* g, int64_t N, const float* x, int64_t K, int64_t M, int64_t c0, int64_t n, float* gw,
                      float* gb) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_has_avx512()) return weight_bias_grad_avx512(g, N, x, K, M, c0, n, gw, gb);
  if (cpu_has_avx2_fma()) return weight_bias_grad_avx2(g, N, x, K, M, c0, n, gw, gb);
#endif
  weight_bias_grad_body(g, N, x, K, M, c0, n, gw, gb);
}

}  // namespace

void CpuBackend::linear_weight_bias_grad(const Tensor& gt, const Tensor& xt, Tensor& grad_w, Tensor& grad_b) {
  const int64_t M = gt.shape[0], N = gt.shape[1], K = xt.shape[1];
  if (K > kMaxK) fail("linearWeightBiasGrad: the one-pass body takes at most ", kMaxK, " input features, got ", K);
  const float* g = gt.data();
  const float* x = xt.data();
  // Column runs: at most kRunCols, and narrow enough that each thread gets one when there are few columns
  // (but at least 64: narrower runs read too little of each row to stream well).
  const int64_t per_thread = (N + num_threads() - 1) / std::max(1, num_threads());
  const int64_t cols = std::min(N, std::min(kRunCols, std::max<int64_t>(64, (per_thread + 15) / 16 * 16)));
  const int64_t runs = (N + cols - 1) / cols;
  parallel_for(runs, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c0 = r * cols;
      weight_bias_grad(g, N, x, K, M, c0, std::min(cols, N - c0), grad_w.data(), grad_b.data());
    }
  });
}

}  // namespace cpu
}  // namespace fsnn
