// Spike-sparse products on the CPU, for x [M, K] a spike tensor (mostly exact zeros):
//   forward      out[m, :]  = sum over k with x[m, k] != 0 of x[m, k] * w^T[k, :]     (w [N, K])
//   weight grad  gw^T[k, :] = sum over m with x[m, k] != 0 of x[m, k] * g[m, :]        (g [M, N])
// Each multiplies by the stored value, so it equals the dense product for any x up to float summation
// order (one difference: an Inf or NaN weight of an inactive input is skipped, where the dense product
// makes NaN of 0 * Inf); lib/ chooses these kernels only for spike inputs. Each call counts x's active entries and
// runs sparse or dense (the same gemm() as matmul) by the measured crossover in crossover_rate() below,
// unless the attribute `path` forces one (lib/ reads FSNN_SPIKE_MATMUL=sparse|dense; tests, benchmarks).
//
// Per row of x, the index list of its active entries is built first (AVX2: 8 entries per compare,
// movemask and a left-pack table, no branch; else a branch-free scalar compaction), then one row of
// w^T (forward) or of g (weight grad), N floats padded to Np = N rounded up to 8, is added per active
// entry: into accumulators held in registers for Np <= 32 (several sets, so the adds do not wait on
// each other), else in memory.
// Deterministic for any thread count: each output row (forward) is summed by one thread in index
// order; the weight grad sums fixed row chunks (their size depends on M only) and adds the chunks'
// partial sums in chunk order.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cpu_backend.h"
#include "cpu_features.h"
#include "parallel.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FSNN_SPIKE_X86 1
#include <immintrin.h>
#endif

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

enum class Product { Forward, WeightGrad };

// The highest firing rate (active entries / (M K)) at which the sparse path is still faster than the
// dense gemm, by the number of outputs N. Measured, not guessed: benchmarks/spike-matmul.ts, 2-core
// AMD EPYC (AVX2), OpenBLAS sgemm, 2 threads, load average 8-9 (shared machine; both paths alternated),
// crossover rates printed by the benchmark:
//   N = 10  [512, 256] fwd 0.92 dW 0.80; [4096, 512] fwd 0.60 dW 0.46; [16384, 512] fwd >= 1 dW 0.92
//   N = 32  [512, 256] fwd 0.54 dW 0.34
//   N = 256 [512, 256] fwd 0.21 dW 0.18;  N = 512 [4096, 512] fwd 0.21 dW 0.12
// (speedups at the main job's 27 %: about 1.7x forward and 1.8x weight gradient for N = 10). Set a
// little under the lowest measured crossover of each class, since being wrong near it costs little.
double crossover_rate(Product p, int64_t N) {
  const bool fwd = p == Product::Forward;
  if (N <= 16) return fwd ? 0.5 : 0.4;
  if (N <= 32) return fwd ? 0.4 : 0.25;
  return fwd ? 0.15 : 0.1;
}

bool use_sparse(SpikePath path, Product p, const float* x, int64_t M, int64_t N, int64_t K) {
  switch (path) {
    case SpikePath::Sparse: return true;
    case SpikePath::Dense: return false;
    default: return static_cast<double>(count_active(x, M * K)) <= crossover_rate(p, N) * static_cast<double>(M * K);
  }
}

int64_t padded(int64_t n) { return (n + 7) / 8 * 8; }

// src [rows, cols] into dst [rows, ld] (ld >= cols), zero-filling the padding.
void copy_padded(const float* src, int64_t rows, int64_t cols, float* dst, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * ld, src + r * cols, sizeof(float) * cols);
    std::fill(dst + r * ld + cols, dst + (r + 1) * ld, 0.f);
  }
}

// ---- the index list of a row's active entries -------------------------------------------------

// idx[0, n) = the k in [0, K) with x[k] != 0, ascending (NaN counts as active, as in the dense
// product); returns n. idx must hold K + 8 entries (the AVX2 body writes 8 at a time).
int64_t active_list_generic(const float* x, int64_t K, int32_t* idx) {
  int64_t n = 0;
  for (int64_t k = 0; k < K; ++k) {
    idx[n] = static_cast<int32_t>(k);
    n += x[k] != 0.f;
  }
  return n;
}

// out[m, :N] = sum over the list of x[m, k] * wT[k, :]
void forward_rows_generic(const float* x, int64_t K, const float* wT, int64_t Np, int64_t N, float* out,
                          int64_t m0, int64_t m1) {
  std::vector<int32_t> idx(static_cast<size_t>(K + 8));
  std::vector<float> acc(static_cast<size_t>(Np));
  for (int64_t m = m0; m < m1; ++m) {
    const float* xm = x + m * K;
    const int64_t n = active_list_generic(xm, K, idx.data());
    std::fill(acc.begin(), acc.end(), 0.f);
    for (int64_t i = 0; i < n; ++i) {
      const float* r = wT + idx[i] * Np;
      const float v = xm[idx[i]];
      for (int64_t j = 0; j < Np; ++j) acc[j] += v * r[j];
    }
    std::memcpy(out + m * N, acc.data(), sizeof(float) * N);
  }
}

// acc [K, Np] += x[m, k] * gP[m, :] over rows m0..m1 and their active k.
void weight_rows_generic(const float* x, int64_t K, const float* gP, int64_t Np, int64_t m0, int64_t m1, float* acc) {
  std::vector<int32_t> idx(static_cast<size_t>(K + 8));
  for (int64_t m = m0; m < m1; ++m) {
    const float* xm = x + m * K;
    const int64_t n = active_list_generic(xm, K, idx.data());
    const float* gm = gP + m * Np;
    for (int64_t i = 0; i < n; ++i) {
      float* a = acc + idx[i] * Np;
      const float v = xm[idx[i]];
      for (int64_t j = 0; j < Np; ++j) a[j] += v * gm[j];
    }
  }
}

// ---- AVX2 bodies --------------------------------------------------------------------------------
#ifdef FSNN_SPIKE_X86
// FSNN_SPIKE_GENERIC=1 (read once) forces the portable bodies, so tests cover them on AVX2 machines.
bool has_avx2_fma() {
  static const bool yes = [] {
    const char* generic = std::getenv("FSNN_SPIKE_GENERIC");
    if (generic && std::string(generic) == "1") return false;
    return cpu_has_avx2_fma() && __builtin_cpu_supports("popcnt");
  }();
  return yes;
}

// kPack.v[mask]: the positions of mask's set bits, one per byte, lowest first (a left-pack table).
struct PackTable {
  uint64_t v[256];
  constexpr PackTable() : v() {
    for (int m = 0; m < 256; ++m) {
      uint64_t p = 0;
      int n = 0;
      for (int b = 0; b < 8; ++b)
        if ((m >> b) & 1) p |= static_cast<uint64_t>(b) << (8 * n++);
      v[m] = p;
    }
  }
};
constexpr PackTable kPack;

__attribute__((target("avx2,fma,popcnt"))) int64_t active_list_avx2(const float* x, int64_t K, int32_t* idx) {
  int64_t n = 0, k0 = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (; k0 + 8 <= K; k0 += 8) {
    const unsigned mask = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + k0), zero, _CMP_NEQ_UQ)));
    const __m256i lanes = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(kPack.v[mask])));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + n), _mm256_add_epi32(lanes, _mm256_set1_epi32(static_cast<int>(k0))));
    n += __builtin_popcount(mask);
  }
  for (; k0 < K; ++k0) {
    idx[n] = static_cast<int32_t>(k0);
    n += x[k0] != 0.f;
  }
  return n;
}

// NV > 0: Np = 8 NV, S sets of NV accumulators in registers, S active entries per step; NV == 0: any
// Np, one set accumulated in memory.
template <int NV, int S>
__attribute__((target("avx2,fma,popcnt"))) void forward_rows_avx2(const float* x, int64_t K, const float* wT, int64_t Np,
                                                                   int64_t N, float* out, int64_t m0, int64_t m1) {
  std::vector<int32_t> idx(static_cast<size_t>(K + 8));
  std::vector<float> mem(static_cast<size_t>(Np));
  alignas(32) float tmp[32];
  for (int64_t m = m0; m < m1; ++m) {
    const float* xm = x + m * K;
    const int64_t n = active_list_avx2(xm, K, idx.data());
    if constexpr (NV > 0) {
      __m256 acc[S][NV];
      for (int s = 0; s < S; ++s)
        for (int j = 0; j < NV; ++j) acc[s][j] = _mm256_setzero_ps();
      int64_t i = 0;
      for (; i + S <= n; i += S)
        for (int s = 0; s < S; ++s) {
          const __m256 v = _mm256_broadcast_ss(xm + idx[i + s]);
          const float* r = wT + static_cast<int64_t>(idx[i + s]) * Np;
          for (int j = 0; j < NV; ++j) acc[s][j] = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 8 * j), acc[s][j]);
        }
      for (; i < n; ++i) {
        const __m256 v = _mm256_broadcast_ss(xm + idx[i]);
        const float* r = wT + static_cast<int64_t>(idx[i]) * Np;
        for (int j = 0; j < NV; ++j) acc[0][j] = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 8 * j), acc[0][j]);
      }
      for (int s = 1; s < S; ++s)
        for (int j = 0; j < NV; ++j) acc[0][j] = _mm256_add_ps(acc[0][j], acc[s][j]);
      for (int j = 0; j < NV; ++j) _mm256_store_ps(tmp + 8 * j, acc[0][j]);
      std::memcpy(out + m * N, tmp, sizeof(float) * N);
    } else {
      float* a = mem.data();
      std::fill(mem.begin(), mem.end(), 0.f);
      for (int64_t i = 0; i < n; ++i) {
        const __m256 v = _mm256_broadcast_ss(xm + idx[i]);
        const float* r = wT + static_cast<int64_t>(idx[i]) * Np;
        for (int64_t j = 0; j < Np; j += 8)
          _mm256_storeu_ps(a + j, _mm256_fmadd_ps(v, _mm256_loadu_ps(r + j), _mm256_loadu_ps(a + j)));
      }
      std::memcpy(out + m * N, a, sizeof(float) * N);
    }
  }
}

// NV > 0: Np = 8 NV, the row of g held in registers; NV == 0: any Np.
template <int NV>
__attribute__((target("avx2,fma,popcnt"))) void weight_rows_avx2(const float* x, int64_t K, const float* gP, int64_t Np,
                                                                  int64_t m0, int64_t m1, float* acc) {
  std::vector<int32_t> idx(static_cast<size_t>(K + 8));
  for (int64_t m = m0; m < m1; ++m) {
    const float* xm = x + m * K;
    const int64_t n = active_list_avx2(xm, K, idx.data());
    const float* gm = gP + m * Np;
    if constexpr (NV > 0) {
      __m256 gv[NV];
      for (int j = 0; j < NV; ++j) gv[j] = _mm256_loadu_ps(gm + 8 * j);
      for (int64_t i = 0; i < n; ++i) {
        const __m256 v = _mm256_broadcast_ss(xm + idx[i]);
        float* a = acc + static_cast<int64_t>(idx[i]) * Np;
        for (int j = 0; j < NV; ++j) _mm256_storeu_ps(a + 8 * j, _mm256_fmadd_ps(v, gv[j], _mm256_loadu_ps(a + 8 * j)));
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const __m256 v = _mm256_broadcast_ss(xm + idx[i]);
        float* a = acc + static_cast<int64_t>(idx[i]) * Np;
        for (int64_t j = 0; j < Np; j += 8)
          _mm256_storeu_ps(a + j, _mm256_fmadd_ps(v, _mm256_loadu_ps(gm + j), _mm256_loadu_ps(a + j)));
      }
    }
  }
}
#endif  // FSNN_SPIKE_X86

using ForwardRows = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, int64_t);
using WeightRows = void (*)(const float*, int64_t, const float*, int64_t, int64_t, int64_t, float*);

ForwardRows forward_rows_for(int64_t Np) {
#ifdef FSNN_SPIKE_X86
  if (has_avx2_fma()) switch (Np / 8) {
      case 1: return forward_rows_avx2<1, 4>;
      case 2: return forward_rows_avx2<2, 4>;
      case 3: return forward_rows_avx2<3, 2>;
      case 4: return forward_rows_avx2<4, 2>;
      default: return forward_rows_avx2<0, 1>;
    }
#endif
  return forward_rows_generic;
}

WeightRows weight_rows_for(int64_t Np) {
#ifdef FSNN_SPIKE_X86
  if (has_avx2_fma()) switch (Np / 8) {
      case 1: return weight_rows_avx2<1>;
      case 2: return weight_rows_avx2<2>;
      case 3: return weight_rows_avx2<3>;
      case 4: return weight_rows_avx2<4>;
      default: return weight_rows_avx2<0>;
    }
#endif
  return weight_rows_generic;
}

}  // namespace

void CpuBackend::spike_matmul(const Tensor& xt, const Tensor& wt, SpikePath path, Tensor& out) {
  const int64_t M = xt.shape[0], K = xt.shape[1], N = wt.shape[0], Np = padded(N);
  const float *x = xt.data(), *w = wt.data();
  float* o = out.data();
  if (K == 0) {
    std::memset(o, 0, sizeof(float) * M * N);
    return;
  }
  if (!use_sparse(path, Product::Forward, x, M, N, K)) {
    gemm(false, true, M, N, K, 1.f, x, K, w, K, 0.f, o, N);
    return;
  }
  // w^T [K, Np]: row k holds input k's weights to every output, contiguous for the accumulate.
  std::vector<float> wT(static_cast<size_t>(K * Np), 0.f);
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) wT[k * Np + j] = w[j * K + k];
  const ForwardRows rows = forward_rows_for(Np);
  // About 64k entries of x per task, so small products stay on one thread.
  parallel_for(M, std::max<int64_t>(1, (1 << 16) / K), [&](int64_t m0, int64_t m1) { rows(x, K, wT.data(), Np, N, o, m0, m1); });
}

void CpuBackend::spike_matmul_weight_grad(const Tensor& gt, const Tensor& xt, SpikePath path, Tensor& grad_w) {
  const int64_t M = xt.shape[0], K = xt.shape[1], N = gt.shape[1], Np = padded(N);
  const float *x = xt.data(), *g = gt.data();
  float* gw = grad_w.data();
  if (M == 0) {
    std::memset(gw, 0, sizeof(float) * N * K);
    return;
  }
  if (!use_sparse(path, Product::WeightGrad, x, M, N, K)) {
    gemm(true, false, N, K, M, 1.f, g, N, x, K, 0.f, gw, K);
    return;
  }
  std::vector<float> gP(static_cast<size_t>(M * Np));
  copy_padded(g, M, N, gP.data(), Np);
  const WeightRows rows = weight_rows_for(Np);
  // Fixed row chunks (at least 256 rows, at most 8 chunks; M alone sets them), each summed into its own
  // gw^T [K, Np] by one thread, then added in chunk order.
  const int64_t chunk = std::max<int64_t>(256, (M + 7) / 8), chunks = (M + chunk - 1) / chunk;
  std::vector<float> acc(static_cast<size_t>(chunks * K * Np), 0.f);
  // Products under about 256k entries of x run on one thread (the same chunks, so the same sums).
  parallel_for(chunks, M * K < (1 << 18) ? chunks : 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      rows(x, K, gP.data(), Np, c * chunk, std::min(M, (c + 1) * chunk), acc.data() + c * K * Np);
  });
  parallel_for(K, std::max<int64_t>(16, (1 << 16) / (chunks * Np)), [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t j = 0; j < N; ++j) {
        float s = acc[k * Np + j];
        for (int64_t c = 1; c < chunks; ++c) s += acc[(c * K + k) * Np + j];
        gw[j * K + k] = s;
      }
  });
}

}  // namespace cpu
}  // namespace fsnn
