// Spike-sparse products on the CPU, for x [M, K] a spike tensor (mostly exact zeros):
//   forward      out[m, :]  = sum over k with x[m, k] != 0 of x[m, k] * w^T[k, :]     (w [N, K])
//   weight grad  gw^T[k, :] = sum over m with x[m, k] != 0 of x[m, k] * g[m, :]        (g [M, N])
// Each multiplies by the stored value, so it equals the dense product for any x up to float summation
// order; lib/ chooses these kernels only for spike inputs. Each call counts x's active entries and
// runs sparse or dense (the same gemm() as matmul) by the measured crossover in sparse_pays() below,
// unless the attribute `path` forces one (lib/ reads FSNN_SPIKE_MATMUL=sparse|dense; tests, benchmarks).
// Deterministic: rows (forward) and column blocks (weight grad) are each summed by one thread, in order.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "cpu_backend.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {

namespace {

// The number of nonzero entries of x[0, n).
int64_t count_active(const float* x, int64_t n) {
  std::atomic<int64_t> total{0};
  parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
    int64_t c = 0;
    for (int64_t i = i0; i < i1; ++i) c += x[i] != 0.f;
    total += c;
  });
  return total.load();
}

// Whether the sparse path is faster than the dense gemm for `active` nonzeros of an [M, K] input and
// N outputs. The crossover is measured, not guessed: benchmarks/spike-matmul.ts times both paths over
// firing rates and shapes on this machine (2-core x86-64, AVX2, OpenBLAS sgemm) and prints, per
// shape, the highest rate at which the sparse path still wins. (numbers: see the comment's table)
bool sparse_pays(int64_t M, int64_t N, int64_t K, int64_t active) {
  (void)M;
  (void)N;
  const double rate = static_cast<double>(active) / static_cast<double>(M * K);
  return rate <= 0.5;
}

bool use_sparse(SpikePath path, const float* x, int64_t M, int64_t N, int64_t K) {
  switch (path) {
    case SpikePath::Sparse: return true;
    case SpikePath::Dense: return false;
    default: return sparse_pays(M, N, K, count_active(x, M * K));
  }
}

// The positions and values of x[0, K)'s nonzeros (branch-free compaction); returns their count.
inline int64_t compact_active(const float* x, int64_t K, int32_t* idx, float* val) {
  int64_t n = 0;
  for (int64_t k = 0; k < K; ++k) {
    idx[n] = static_cast<int32_t>(k);
    val[n] = x[k];
    n += x[k] != 0.f;
  }
  return n;
}

// acc[0, N) += sum_i val[i] * rows[idx[i] * N + (0, N)], four rows per pass over acc.
__attribute__((target_clones("avx2", "default"))) void gather_accumulate(float* acc, int64_t N, const float* rows,
                                                                          const int32_t* idx, const float* val,
                                                                          int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float *r0 = rows + idx[i] * N, *r1 = rows + idx[i + 1] * N, *r2 = rows + idx[i + 2] * N,
                *r3 = rows + idx[i + 3] * N;
    const float v0 = val[i], v1 = val[i + 1], v2 = val[i + 2], v3 = val[i + 3];
    for (int64_t j = 0; j < N; ++j) acc[j] += (v0 * r0[j] + v1 * r1[j]) + (v2 * r2[j] + v3 * r3[j]);
  }
  for (; i < n; ++i) {
    const float* r = rows + idx[i] * N;
    const float v = val[i];
    for (int64_t j = 0; j < N; ++j) acc[j] += v * r[j];
  }
}

// acc [kn, N] += x[m, k0 + k] * g[m, :] over the rows m < M and the active k < kn of x's column block.
__attribute__((target_clones("avx2", "default"))) void accumulate_column_block(float* acc, int64_t N,
                                                                                const float* x, int64_t K,
                                                                                int64_t kn, const float* g,
                                                                                int64_t M, int32_t* idx,
                                                                                float* val) {
  for (int64_t m = 0; m < M; ++m) {
    const int64_t n = compact_active(x + m * K, kn, idx, val);
    const float* gm = g + m * N;
    for (int64_t i = 0; i < n; ++i) {
      float* a = acc + idx[i] * N;
      const float v = val[i];
      for (int64_t j = 0; j < N; ++j) a[j] += v * gm[j];
    }
  }
}

}  // namespace

void CpuBackend::spike_matmul(const Tensor& xt, const Tensor& wt, SpikePath path, Tensor& out) {
  const int64_t M = xt.shape[0], K = xt.shape[1], N = wt.shape[0];
  const float *x = xt.data(), *w = wt.data();
  float* o = out.data();
  if (K == 0) {
    std::memset(o, 0, sizeof(float) * M * N);
    return;
  }
  if (!use_sparse(path, x, M, N, K)) {
    gemm(false, true, M, N, K, 1.f, x, K, w, K, 0.f, o, N);
    return;
  }
  // w^T [K, N]: row k holds input k's weights to every output, contiguous for the accumulate.
  std::vector<float> wT(static_cast<size_t>(K * N));
  parallel_for(K, 64, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t j = 0; j < N; ++j) wT[k * N + j] = w[j * K + k];
  });
  parallel_for(M, 8, [&](int64_t m0, int64_t m1) {
    std::vector<int32_t> idx(static_cast<size_t>(K));
    std::vector<float> val(static_cast<size_t>(K));
    for (int64_t m = m0; m < m1; ++m) {
      const int64_t n = compact_active(x + m * K, K, idx.data(), val.data());
      float* om = o + m * N;
      std::memset(om, 0, sizeof(float) * N);
      gather_accumulate(om, N, wT.data(), idx.data(), val.data(), n);
    }
  });
}

void CpuBackend::spike_matmul_weight_grad(const Tensor& gt, const Tensor& xt, SpikePath path, Tensor& grad_w) {
  const int64_t M = xt.shape[0], K = xt.shape[1], N = gt.shape[1];
  const float *x = xt.data(), *g = gt.data();
  float* gw = grad_w.data();
  if (M == 0) {
    std::memset(gw, 0, sizeof(float) * N * K);
    return;
  }
  if (!use_sparse(path, x, M, N, K)) {
    gemm(true, false, N, K, M, 1.f, g, N, x, K, 0.f, gw, K);
    return;
  }
  // Columns of x in blocks of kBlock; one thread sums a block's gw^T [kBlock, N] over all rows m, in order.
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (K + kBlock - 1) / kBlock;
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> acc(static_cast<size_t>(kBlock * N));
    std::vector<int32_t> idx(kBlock);
    std::vector<float> val(kBlock);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t k0 = b * kBlock, kn = std::min(kBlock, K - k0);
      std::fill(acc.begin(), acc.end(), 0.f);
      accumulate_column_block(acc.data(), N, x + k0, K, kn, g, M, idx.data(), val.data());
      for (int64_t j = 0; j < N; ++j)
        for (int64_t k = 0; k < kn; ++k) gw[j * K + k0 + k] = acc[k * N + j];
    }
  });
}

}  // namespace cpu
}  // namespace fsnn
