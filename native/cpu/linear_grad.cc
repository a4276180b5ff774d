// A linear layer's weight and bias gradients in one pass over g, for few input features (ops.h:
// linear_weight_bias_grad; K <= kLinearGradOnePassMaxK):
//   grad_w[j][k] = sum_i g[i][j] x[i][k],   grad_b[j] = sum_i g[i][j]     (float64, column_sum.h's order)
// g [M, N] is the large operand (M = T·B rows); with K this small the matmul and the column sum are each a
// pass over g bound by memory, and this reads it once. grad_b is column_sum.h's sum (the same bits as the
// reduction over dim 0: column_sum.h's block order). Each product g x is exact in float64, so FMA
// contraction does not change the bits.
#include <algorithm>
#include <cstdint>

#include "../error.h"
#include "column_sum.h"
#include "cpu_allocator.h"
#include "cpu_backend.h"
#include "cpu_features.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {
namespace {

constexpr int64_t kRunCols = 256;  // columns per work item: (K + 1) x 256 float64 accumulators, in L1
constexpr int64_t kMaxK = 8;

// Rows r0..r1-1, columns c0..c0+n-1 of g (row stride N): pb[j] = sum_r g[r][c0+j], pw[k * N + j] = sum_r
// g[r][c0+j] x[r][k] (float64, rows ascending; pb and pw point at column c0 of their row of partials).
inline __attribute__((always_inline)) void weight_bias_block_body(const float* g, int64_t N, const float* x, int64_t K,
                                                                  int64_t r0, int64_t r1, int64_t c0, int64_t n,
                                                                  double* pb, double* pw) {
  double acc_b[kRunCols], acc_w[kMaxK][kRunCols];
  std::fill(acc_b, acc_b + n, 0.0);
  for (int64_t k = 0; k < K; ++k) std::fill(acc_w[k], acc_w[k] + n, 0.0);
  for (int64_t i = r0; i < r1; ++i) {
    const float* row = g + i * N + c0;
    for (int64_t j = 0; j < n; ++j) acc_b[j] += row[j];
    for (int64_t k = 0; k < K; ++k) {
      const double xk = x[i * K + k];
      double* acc = acc_w[k];
      for (int64_t j = 0; j < n; ++j) acc[j] += double(row[j]) * xk;
    }
  }
  std::copy(acc_b, acc_b + n, pb);
  for (int64_t k = 0; k < K; ++k) std::copy(acc_w[k], acc_w[k] + n, pw + k * N);
}
// The body with the widest registers the CPU has: the same additions of exact products in the same order.
FSNN_CPU_DISPATCH(weight_bias_block,
                  (const float* g, int64_t N, const float* x, int64_t K, int64_t r0, int64_t r1, int64_t c0, int64_t n,
                   double* pb, double* pw),
                  (g, N, x, K, r0, r1, c0, n, pb, pw), weight_bias_block_body)

}  // namespace

// The rows in blocks of kSumRowBlock (column_sum.h), each block's sums in its own row of partials, the
// partials added in block order: grad_b is sum_columns_f64's sum, and the result does not depend on the
// threads. The blocks and column runs are the work items.
void CpuBackend::linear_weight_bias_grad(const Tensor& gt, const Tensor& xt, Tensor& grad_w, Tensor& grad_b) {
  const int64_t M = gt.shape[0], N = gt.shape[1], K = xt.shape[1];
  if (K > kMaxK) fail("linearWeightBiasGrad: the one-pass body takes at most ", kMaxK, " input features, got ", K);
  const float* g = gt.data();
  const float* x = xt.data();
  const int64_t blocks = (M + kSumRowBlock - 1) / kSumRowBlock, cruns = (N + kRunCols - 1) / kRunCols;
  const int64_t stride = (K + 1) * N;  // one block's partials: [bias sums N][K][N]
  HostScratch<double> part(size_t(blocks * stride));
  double* P = part.data();
  parallel_for(blocks * cruns, 1, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t b = w / cruns, c0 = (w % cruns) * kRunCols;
      double* pb = P + b * stride;
      weight_bias_block(g, N, x, K, b * kSumRowBlock, std::min(M, (b + 1) * kSumRowBlock), c0,
                        std::min(kRunCols, N - c0), pb + c0, pb + N + c0);
    }
  });
  float* gw = grad_w.data();
  float* gb = grad_b.data();
  parallel_for(N, 1024, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      gb[j] = static_cast<float>(add_block_sums(P + j, blocks, stride));
      for (int64_t k = 0; k < K; ++k) gw[j * K + k] = static_cast<float>(add_block_sums(P + N + k * N + j, blocks, stride));
    }
  });
}

}  // namespace cpu
}  // namespace fsnn
