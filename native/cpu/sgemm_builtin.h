// The CPU backend's built-in single-precision GEMM (used when no system BLAS is linked, and as a
// reference point for the benchmarks).
//
// Design (GotoBLAS/BLIS-style): the K dimension is cut into KC-deep slices; for each slice the
// needed panels of op(A) (MR-row micro-panels) and op(B) (NR-column micro-panels) are packed into
// contiguous, zero-padded buffers, then an MR x NR register-tiled micro-kernel sweeps the tiles of C.
// Packing and the tile sweep are spread over fsnn::cpu::parallel_for.
//
// The fast micro-kernel (6x16, AVX2 + FMA) is compiled with a function-level target attribute and
// picked at run time, so the addon needs no -march flag and runs on any x86-64; other CPUs (and x86
// without AVX2/FMA) use a portable C++ kernel of the same shape.
#pragma once
#include <cstdint>

namespace fsnn {
namespace cpu {

// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T.
// Same contract as cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, ...):
//   op(A) is M x K (A is M x K with lda >= K, or K x M with lda >= M when transA),
//   op(B) is K x N (B is K x N with ldb >= N, or N x K with ldb >= K when transB),
//   C is M x N with ldc >= N.
// M, N or K may be 0. When K == 0 or alpha == 0, A and B are not read and C = beta * C.
// When beta == 0, C is written without being read (NaN/Inf already in C do not propagate).
// C must not overlap A or B. Safe to call from several threads at once (calls share the pool one
// at a time), and from inside a parallel_for body (it then runs on the calling thread alone).
// Calls under ~3 MFLOP run on the calling thread only. Packing buffers are kept per calling
// thread between calls (at most 2 x 16 MiB, sized by the largest call so far).
void sgemm_builtin(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                   int64_t ldc);

// Name of the micro-kernel sgemm_builtin uses on this machine, e.g. "avx2-fma 6x16" or "generic 6x16".
const char* sgemm_builtin_kernel();

// For tests and benchmarks: force the portable kernel even where AVX2/FMA is available
// (false restores run-time dispatch). Not meant for concurrent use with running sgemm calls.
void sgemm_builtin_force_generic(bool force);

}  // namespace cpu
}  // namespace fsnn
