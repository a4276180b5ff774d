// GEMM with a short inner dimension: C = alpha op(A) op(B) + beta C for K <= kSmallK (row-major, the
// cblas_sgemm contract of sgemm_builtin.h). Such products come from layers with few inputs or outputs:
// Linear(1, 256) over T·B rows, or the input gradient of a 10-class readout. A blocked GEMM packs panels
// and scales C before its sweep, and that work is out of proportion when K is 1-16: here each row of C is
// one pass, c_ij = alpha sum_{k=0}^{K-1} a_ik b_kj (+ beta c_ij), summed in k order in float32 (an FMA per
// term on CPUs with FMA), rows spread over the pool. op(B) is packed to K x N first when transposed.
#pragma once
#include <cstdint>

namespace fsnn {
namespace cpu {

constexpr int64_t kSmallK = 16;

// K must be in [1, kSmallK]. When beta == 0, C is written without being read. bias (N floats, optional):
// c_ij = alpha sum_k a_ik b_kj + beta c_ij + bias_j. With alpha = 1 and beta = 0 (a linear layer in one pass)
// that is the product rounded, then the bias added: the same bits as the product followed by an add.
void sgemm_small_k(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias = nullptr);

}  // namespace cpu
}  // namespace fsnn
