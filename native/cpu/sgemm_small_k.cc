// GEMM with a short inner dimension (K <= kSmallK): equations in sgemm_small_k.h.
#include "sgemm_small_k.h"

#include <algorithm>
#include <vector>

#include "cpu_features.h"
#include "parallel.h"
#include "vec8.h"

namespace fsnn {
namespace cpu {
namespace {

struct Job {
  int64_t N, K;
  float alpha, beta;
  const float* A;  // op(A) element (i, k) at A[i * ai + k * ak]
  int64_t ai, ak;
  const float* B;  // op(B) row k at B + k * ldb (contiguous)
  int64_t ldb;
  float* C;
  int64_t ldc;
  const float* bias;  // N floats or null
};

// Rows i0..i1-1 of C. Each output is one float32 sum over k = 0..K-1 in order, the same in every lane
// and in the scalar tail (a * b + acc: one FMA where the target has it), so results do not depend on
// the thread count or on N.
template <int KC>
inline __attribute__((always_inline)) void rows_body(const Job& j, int64_t i0, int64_t i1) {
  const int64_t K = KC > 0 ? KC : j.K, N = j.N;
  for (int64_t i = i0; i < i1; ++i) {
    float a[kSmallK];
    for (int64_t k = 0; k < K; ++k) a[k] = j.A[i * j.ai + k * j.ak];
    float* c = j.C + i * j.ldc;
    int64_t n = 0;
    // Four 8-column chunks at a time: four independent FMA chains, so that the adds over k do not wait
    // on one another (one chain of K dependent FMAs per 8 outputs left the FMA units idle most of the time).
    for (; n + 32 <= N; n += 32) {
      v8 acc0 = {}, acc1 = {}, acc2 = {}, acc3 = {};
      for (int64_t k = 0; k < K; ++k) {
        const v8 ak = {a[k], a[k], a[k], a[k], a[k], a[k], a[k], a[k]};
        const float* b = j.B + k * j.ldb + n;
        acc0 = ak * load8(b) + acc0;
        acc1 = ak * load8(b + 8) + acc1;
        acc2 = ak * load8(b + 16) + acc2;
        acc3 = ak * load8(b + 24) + acc3;
      }
      v8* accs[4] = {&acc0, &acc1, &acc2, &acc3};
      for (int q = 0; q < 4; ++q) {
        v8 r = *accs[q] * j.alpha;
        if (j.beta != 0.0f) r += j.beta * load8(c + n + 8 * q);
        if (j.bias) r = r + load8(j.bias + n + 8 * q);
        store8(c + n + 8 * q, r);
      }
    }
    for (; n + 8 <= N; n += 8) {
      v8 acc = {};
      for (int64_t k = 0; k < K; ++k) acc = v8{a[k], a[k], a[k], a[k], a[k], a[k], a[k], a[k]} * load8(j.B + k * j.ldb + n) + acc;
      acc *= j.alpha;
      if (j.beta != 0.0f) acc += j.beta * load8(c + n);
      if (j.bias) acc = acc + load8(j.bias + n);
      store8(c + n, acc);
    }
    for (; n < N; ++n) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) acc = a[k] * j.B[k * j.ldb + n] + acc;
      acc *= j.alpha;
      acc = j.beta != 0.0f ? acc + j.beta * c[n] : acc;
      c[n] = j.bias ? acc + j.bias[n] : acc;
    }
  }
}

template <int KC>
void rows_generic(const Job& j, int64_t i0, int64_t i1) { rows_body<KC>(j, i0, i1); }
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
template <int KC>
__attribute__((target("avx2,fma"))) void rows_avx2(const Job& j, int64_t i0, int64_t i1) { rows_body<KC>(j, i0, i1); }
#define FSNN_SMALLK_X86 1
#endif

typedef void (*RowsFn)(const Job&, int64_t, int64_t);

// The body for K (K = 1 and 2, the common readout/input widths, get their own unrolled copies).
RowsFn rows_for(int64_t K) {
#ifdef FSNN_SMALLK_X86
  if (cpu_has_avx2_fma()) return K == 1 ? rows_avx2<1> : K == 2 ? rows_avx2<2> : rows_avx2<0>;
#endif
  return K == 1 ? rows_generic<1> : K == 2 ? rows_generic<2> : rows_generic<0>;
}

}  // namespace

void sgemm_small_k(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias) {
  if (M <= 0 || N <= 0) return;
  std::vector<float> packed;
  if (transB) {  // op(B)[k][n] = B[n * ldb + k] -> K x N contiguous
    packed.resize(size_t(K) * size_t(N));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) packed[size_t(k) * N + n] = B[n * ldb + k];
    B = packed.data();
    ldb = N;
  }
  const Job j{N, K, alpha, beta, A, transA ? 1 : lda, transA ? lda : 1, B, ldb, C, ldc, bias};
  const RowsFn rows = rows_for(K);
  // About 64K outputs per chunk: small products stay on the calling thread.
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / N);
  parallel_for(M, grain, [&](int64_t i0, int64_t i1) { rows(j, i0, i1); });
}

}  // namespace cpu
}  // namespace fsnn
