// Spike-sparse products on the CPU, for x [M, K] a spike tensor (mostly exact zeros):
//   forward      out[m, :]  = sum over k with x[m, k] != 0 of x[m, k] * w^T[k, :]     (w [N, K])
//   weight grad  gw^T[k, :] = sum over m with x[m, k] != 0 of x[m, k] * g[m, :]        (g [M, N])
// Each multiplies by the stored value, so it equals the dense product for any x up to float summation
// order (one difference: an Inf or NaN weight of an inactive input is skipped, where the dense product
// makes NaN of 0 * Inf); lib/ chooses these kernels only for spike inputs. Each call measures x's firing
// rate (on a sample of rows for large x: active_rate below) and runs sparse or dense (the same gemm()
// as matmul) by the measured crossover in crossover_rate() below, unless the attribute `path` forces
// one (lib/ reads FSNN_SPIKE_MATMUL=sparse|dense; tests, benchmarks).
//
// Per row of x, the index list of its active entries is built first (AVX2: 8 entries per compare,
// movemask and a left-pack table, no branch; else a branch-free scalar compaction), then one row of
// w^T (forward) or of g (weight grad), N floats padded to Np = N rounded up to 8, is added per active
// entry: into accumulators held in registers for Np <= 32 (several sets, so the adds do not wait on
// each other), else in memory. With AVX-512, the forward over bit spikes at Np = 16 (9 to 16 outputs: a
// 10-class readout) compresses each 16 bits into the list and sums one 16-float register per set. With
// AVX2 and Np > 32, outputs go in 64-column chunks held in eight
// registers instead: the forward sums each row's active w^T rows chunk by chunk; the weight grad builds
// per input column k the list of rows m with x[m, k] != 0 and sums x[m, k] g[m, chunk] over it.
// Deterministic for any thread count: each output row (forward) is summed by one thread in index
// order; the weight grad sums fixed row chunks (their size depends on M only) and adds the chunks'
// partial sums in chunk order, or (Np > 32) sums each output over m in order in slabs of 512 rows.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "cpu_allocator.h"
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

// The fraction of nonzero entries of x [M, K]: counted over every row up to 2^18 entries, else over
// every s-th row (s odd, so that with rows ordered (t, b) the sample still covers every batch index),
// about 2^18 entries in all. A full count is a pass over x as long as the sparse product's own, which
// at T = 4,096, B = 64, 256 inputs (268 MB of spikes) cost about 30 ms per call.
int64_t count_active(const float* x, int64_t K);  // entries != 0 (NaN counts) of x [K], below

double active_rate(const float* x, int64_t M, int64_t K) {
  if (M * K == 0) return 0.0;
  constexpr int64_t kSample = 1 << 18;
  int64_t stride = 1;
  if (M * K > kSample) stride = std::max<int64_t>(1, (M * K / kSample) | 1);
  const int64_t rows = (M + stride - 1) / stride;
  std::atomic<int64_t> total{0};
  parallel_for(rows, std::max<int64_t>(1, (1 << 16) / K), [&](int64_t i0, int64_t i1) {
    int64_t c = 0;
    for (int64_t i = i0; i < i1; ++i) c += count_active(x + i * stride * K, K);
    total += c;
  });
  return static_cast<double>(total.load()) / static_cast<double>(rows * K);
}

enum class Product { Forward, WeightGrad };

// The highest firing rate (active entries / (M K)) at which the sparse path is still faster than the
// dense gemm, by the number of outputs N (and rows M). Measured, not guessed: benchmarks/spike-matmul.ts,
// 2-core AMD EPYC (AVX2), OpenBLAS sgemm, 2 threads, both paths alternated; crossover rates printed by
// the benchmark (N <= 32: load average 8-9; N > 32: the 64-column register kernels, three runs, load 1-2):
//   N = 10  [512, 256] fwd 0.92 dW 0.80; [4096, 512] fwd 0.60 dW 0.46; [16384, 512] fwd >= 1 dW 0.92
//   N = 32  [512, 256] fwd 0.54 dW 0.34
//   N = 256 [512, 256] fwd 0.28-0.31 dW 0.13-0.16;  N = 512 [4096, 512] fwd 0.25-0.28 dW 0.06-0.10
//   N = 256 [64, 784] fwd 0.14-0.29 dW 0.22-0.34;   N = 512 [256, 784] fwd 0.21-0.35 dW 0.17-0.26
// (speedups at the main job's 27 %: about 1.7x forward and 1.8x weight gradient for N = 10). Set a
// little under the lowest measured crossover of each class, since being wrong near it costs little.
double crossover_rate(Product p, int64_t M, int64_t N) {
  const bool fwd = p == Product::Forward;
  if (N <= 16) return fwd ? 0.5 : 0.4;
  if (N <= 32) return fwd ? 0.4 : 0.25;
  return fwd ? 0.2 : (M >= 2048 ? 0.06 : 0.12);
}

bool use_sparse(SpikePath path, Product p, const float* x, int64_t M, int64_t N, int64_t K) {
  switch (path) {
    case SpikePath::Sparse: return true;
    case SpikePath::Dense: return false;
    default: return active_rate(x, M, K) <= crossover_rate(p, M, N);
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

// x's spikes as bits (Storage::spike_bits), or none: where given, the rows' active inputs are read from them
// (64 per word instead of one per float) and each active value is 1, which it is in x (the same products).
struct SpikeBits {
  const uint64_t* words = nullptr;
  int64_t nwords = 0;
  std::vector<float> ones;  // K ones: the active values, read where x would be
};

// Bits e..e+63 (bit i of the result is bit e + i; those past the last word read as 0).
inline uint64_t bits_at(const SpikeBits& sb, int64_t e) {
  const int64_t w = e >> 6, sh = e & 63;
  uint64_t word = sb.words[w] >> sh;
  if (sh != 0 && w + 1 < sb.nwords) word |= sb.words[w + 1] << (64 - sh);
  return word;
}

// idx[0, n) = the k in [0, K) whose bit e0 + k is set, ascending; returns n (active_list_generic's list).
int64_t active_list_bits(const SpikeBits& sb, int64_t e0, int64_t K, int32_t* idx) {
  int64_t n = 0;
  for (int64_t k0 = 0; k0 < K; k0 += 64) {
    uint64_t word = bits_at(sb, e0 + k0);
    if (K - k0 < 64) word &= (uint64_t{1} << (K - k0)) - 1;
    while (word != 0) {
      idx[n++] = static_cast<int32_t>(k0 + __builtin_ctzll(word));
      word &= word - 1;
    }
  }
  return n;
}

// out[m, :N] = sum over the list of x[m, k] * wT[k, :]
void forward_rows_generic(const float* x, const SpikeBits& sb, int64_t K, const float* wT, int64_t Np, int64_t N,
                          float* out, int64_t m0, int64_t m1) {
  (void)sb;  // the portable body scans x
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
void weight_rows_generic(const float* x, const SpikeBits& sb, int64_t K, const float* gP, int64_t Np, int64_t m0,
                         int64_t m1, float* acc) {
  (void)sb;  // the portable body scans x
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
// The AVX2 bodies also need popcnt. FSNN_CPU_NO_AVX2=1 (cpu_features.h) selects the portable bodies, so tests
// cover them on AVX2 machines.
bool has_avx2_fma() {
  static const bool yes = cpu_has_avx2_fma() && __builtin_cpu_supports("popcnt");
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

// active_list_bits' list from the bits a byte at a time, through the same left-pack table as the float scan
// (x's row as 1/32 of the bytes). idx must hold K + 8 entries.
__attribute__((target("avx2,fma,popcnt"))) int64_t active_list_bits_avx2(const SpikeBits& sb, int64_t e0, int64_t K,
                                                                        int32_t* idx) {
  int64_t n = 0, k0 = 0;
  for (; k0 + 64 <= K; k0 += 64) {
    const uint64_t word = bits_at(sb, e0 + k0);
    for (int byte = 0; byte < 8; ++byte) {
      const unsigned mask = static_cast<unsigned>(word >> (8 * byte)) & 0xffu;
      const __m256i lanes = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(kPack.v[mask])));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + n),
                          _mm256_add_epi32(lanes, _mm256_set1_epi32(static_cast<int>(k0 + 8 * byte))));
      n += __builtin_popcount(mask);
    }
  }
  if (k0 < K) {  // the last K mod 64 inputs
    const int64_t t = active_list_bits(sb, e0 + k0, K - k0, idx + n);
    for (int64_t i = n; i < n + t; ++i) idx[i] += static_cast<int32_t>(k0);
    n += t;
  }
  return n;
}

// The compare of active_list_avx2, summed: each active lane subtracts -1 from its count.
__attribute__((target("avx2,fma,popcnt"))) int64_t count_active_avx2(const float* x, int64_t K) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t n = 0, k0 = 0;
  while (k0 + 8 <= K) {
    __m256i lanes = _mm256_setzero_si256();
    const int64_t end = std::min(K - K % 8, k0 + (int64_t(1) << 30));  // per-lane counts stay in int32
    for (; k0 < end; k0 += 8)
      lanes = _mm256_sub_epi32(lanes, _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(x + k0), zero, _CMP_NEQ_UQ)));
    alignas(32) int32_t c[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(c), lanes);
    for (int i = 0; i < 8; ++i) n += c[i];
  }
  for (; k0 < K; ++k0) n += x[k0] != 0.f;
  return n;
}

// NV > 0: Np = 8 NV, S sets of NV accumulators in registers, S active entries per step; NV == 0: any
// Np, one set accumulated in memory.
template <int NV, int S>
__attribute__((target("avx2,fma,popcnt"))) void forward_rows_avx2(const float* x, const SpikeBits& sb, int64_t K,
                                                                   const float* wT, int64_t Np, int64_t N, float* out,
                                                                   int64_t m0, int64_t m1) {
  std::vector<int32_t> idx(static_cast<size_t>(K + 8));
  std::vector<float> mem(static_cast<size_t>(Np));
  alignas(32) float tmp[32];
  for (int64_t m = m0; m < m1; ++m) {
    const float* xm = sb.words ? sb.ones.data() : x + m * K;  // the active values
    const int64_t n = sb.words ? active_list_bits_avx2(sb, m * K, K, idx.data()) : active_list_avx2(xm, K, idx.data());
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

// forward_rows_avx2<2, 4> (Np = 16) for bit spikes on AVX-512: each row's active list by compressing its bits
// 16 at a time, and the 16 outputs in one register per set instead of two. The same sums in the same order
// (entry i into set i mod 4 over whole groups of four, the rest into set 0, then set 0 + 1, + 2, + 3; each
// active value is 1, so the AVX2 body's multiply-add by it is this add), so the same bits.
__attribute__((target("avx512f,avx512dq,avx2,fma,popcnt"))) void forward_rows_bits16_avx512(
    const float* x, const SpikeBits& sb, int64_t K, const float* wT, int64_t Np, int64_t N, float* out, int64_t m0,
    int64_t m1) {
  (void)x;
  (void)Np;
  std::vector<int32_t> idx(static_cast<size_t>(K + 16));
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __mmask16 out_mask = static_cast<__mmask16>((1u << N) - 1);
  for (int64_t m = m0; m < m1; ++m) {
    int64_t n = 0;
    for (int64_t k0 = 0; k0 < K; k0 += 64) {
      uint64_t word = bits_at(sb, m * K + k0);
      if (K - k0 < 64) word &= (uint64_t{1} << (K - k0)) - 1;
      for (int64_t c = 0; c < 64 && k0 + c < K; c += 16) {
        const __mmask16 mask = static_cast<__mmask16>(word >> c);
        const __m512i ks = _mm512_maskz_compress_epi32(mask, _mm512_add_epi32(iota, _mm512_set1_epi32(static_cast<int>(k0 + c))));
        _mm512_storeu_si512(idx.data() + n, ks);
        n += __builtin_popcount(static_cast<unsigned>(mask));
      }
    }
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const int32_t* list = idx.data();
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      a0 = _mm512_add_ps(a0, _mm512_loadu_ps(wT + int64_t(list[i]) * 16));
      a1 = _mm512_add_ps(a1, _mm512_loadu_ps(wT + int64_t(list[i + 1]) * 16));
      a2 = _mm512_add_ps(a2, _mm512_loadu_ps(wT + int64_t(list[i + 2]) * 16));
      a3 = _mm512_add_ps(a3, _mm512_loadu_ps(wT + int64_t(list[i + 3]) * 16));
    }
    for (; i < n; ++i) a0 = _mm512_add_ps(a0, _mm512_loadu_ps(wT + int64_t(list[i]) * 16));
    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), a2), a3);
    _mm512_mask_storeu_ps(out + m * N, out_mask, a0);
  }
}

// NV > 0: Np = 8 NV, the row of g held in registers; NV == 0: any Np.
template <int NV>
__attribute__((target("avx2,fma,popcnt"))) void weight_rows_avx2(const float* x, const SpikeBits& sb, int64_t K,
                                                                  const float* gP, int64_t Np, int64_t m0, int64_t m1,
                                                                  float* acc) {
  std::vector<int32_t> idx(static_cast<size_t>(K + 8));
  for (int64_t m = m0; m < m1; ++m) {
    const float* xm = sb.words ? sb.ones.data() : x + m * K;  // the active values
    const int64_t n = sb.words ? active_list_bits_avx2(sb, m * K, K, idx.data()) : active_list_avx2(xm, K, idx.data());
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

// ---- wide outputs (Np > 32): 64-column chunks in registers ----------------------------------------
// dst[r, :cols] = src[:cols, r] for r < rows (src row stride ls, dst row stride ld), in 8x8 tiles.
__attribute__((target("avx2,fma,popcnt"))) void transpose_avx2(const float* src, int64_t ls, int64_t rows, int64_t cols,
                                                                 float* dst, int64_t ld) {
  int64_t r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    int64_t c0 = 0;
    for (; c0 + 8 <= cols; c0 += 8) {
      __m256 v[8];
      for (int i = 0; i < 8; ++i) v[i] = _mm256_loadu_ps(src + (c0 + i) * ls + r0);
      const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
      const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
      const __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
      const __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      const __m256 o[8] = {_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                           _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                           _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                           _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (r0 + i) * ld + c0, o[i]);
    }
    for (; c0 < cols; ++c0)
      for (int64_t r = r0; r < r0 + 8; ++r) dst[r * ld + c0] = src[c0 * ls + r];
  }
  for (; r0 < rows; ++r0)
    for (int64_t c = 0; c < cols; ++c) dst[r0 * ld + c] = src[c * ls + r0];
}

// acc[0, 8 NV) += sum over i < n of val(i) * at(i)[0, 8 NV), in order: NV accumulators in registers.
template <int NV, class Val, class At>
__attribute__((target("avx2,fma,popcnt"), always_inline)) inline void sum_rows_avx2(int64_t n, const Val& val, const At& at, float* acc) {
  __m256 a[NV];
  for (int j = 0; j < NV; ++j) a[j] = _mm256_loadu_ps(acc + 8 * j);
  for (int64_t i = 0; i < n; ++i) {
    const __m256 v = _mm256_set1_ps(val(i));
    const float* r = at(i);
    for (int j = 0; j < NV; ++j) a[j] = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 8 * j), a[j]);
  }
  for (int j = 0; j < NV; ++j) _mm256_storeu_ps(acc + 8 * j, a[j]);
}

// The 64-column chunk [c0, c0 + 8 nv) of acc, by sum_rows_avx2 with nv = the chunk's width / 8.
template <class Val, class At>
__attribute__((target("avx2,fma,popcnt"))) void sum_chunk_avx2(int nv, int64_t n, const Val& val, const At& at, float* acc) {
  switch (nv) {
    case 1: return sum_rows_avx2<1>(n, val, at, acc);
    case 2: return sum_rows_avx2<2>(n, val, at, acc);
    case 3: return sum_rows_avx2<3>(n, val, at, acc);
    case 4: return sum_rows_avx2<4>(n, val, at, acc);
    case 5: return sum_rows_avx2<5>(n, val, at, acc);
    case 6: return sum_rows_avx2<6>(n, val, at, acc);
    case 7: return sum_rows_avx2<7>(n, val, at, acc);
    default: return sum_rows_avx2<8>(n, val, at, acc);
  }
}

// Forward, Np > 32: the rows [m0, m1) in blocks of 16; each block's index lists first, then per
// 64-column chunk of out, each row sums its active w^T rows' chunk in registers (a chunk of w^T is
// K x 256 bytes, so it stays in L2 while the block's rows pass over it).
__attribute__((target("avx2,fma,popcnt"))) void forward_wide_avx2(const float* x, int64_t K, const float* wT, int64_t Np, int64_t N,
                                                                    float* out, int64_t m0, int64_t m1) {
  constexpr int64_t kBlock = 16;
  std::vector<int32_t> idx(static_cast<size_t>(kBlock * (K + 8)));
  int64_t counts[kBlock];
  alignas(32) float tmp[64];
  for (int64_t b0 = m0; b0 < m1; b0 += kBlock) {
    const int64_t b1 = std::min(m1, b0 + kBlock);
    for (int64_t m = b0; m < b1; ++m) counts[m - b0] = active_list_avx2(x + m * K, K, idx.data() + (m - b0) * (K + 8));
    for (int64_t c0 = 0; c0 < Np; c0 += 64) {
      const int nv = static_cast<int>(std::min<int64_t>(64, Np - c0) / 8);
      const int64_t width = std::min<int64_t>(64, N - c0);
      for (int64_t m = b0; m < b1; ++m) {
        const float* xm = x + m * K;
        const int32_t* list = idx.data() + (m - b0) * (K + 8);
        std::fill(tmp, tmp + 64, 0.f);
        sum_chunk_avx2(nv, counts[m - b0], [&](int64_t i) { return xm[list[i]]; },
                       [&](int64_t i) { return wT + static_cast<int64_t>(list[i]) * Np + c0; }, tmp);
        std::memcpy(out + m * N + c0, tmp, sizeof(float) * width);
      }
    }
  }
}

// Weight grad, Np > 32, for the input columns [k0, k1) (at most 64): the column lists (rows m with
// x[m, k] != 0, ascending, and their values), then per column and 64-column chunk of gP the sum of
// x[m, k] gP[m, :] in registers, into a tile [k1 - k0, Np] written out transposed into gw [N, K].
__attribute__((target("avx2,fma,popcnt"))) void weight_wide_avx2(const float* x, int64_t M, int64_t K, const float* gP, int64_t Np,
                                                                   int64_t N, int64_t k0, int64_t k1, float* gw) {
  const int64_t kb = k1 - k0;
  std::vector<int64_t> start(static_cast<size_t>(kb + 1), 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = k0; k < k1; ++k) start[k - k0 + 1] += x[m * K + k] != 0.f;
  for (int64_t k = 0; k < kb; ++k) start[k + 1] += start[k];
  HostScratch<int32_t> rows(static_cast<size_t>(start[kb]));  // every entry is written below
  HostScratch<float> vals(static_cast<size_t>(start[kb]));
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = k0; k < k1; ++k) {
      const float v = x[m * K + k];
      if (v != 0.f) {
        rows[fill[k - k0]] = static_cast<int32_t>(m);
        vals[fill[k - k0]++] = v;
      }
    }
  std::vector<float> tile(static_cast<size_t>(kb * Np), 0.f);
  // Rows in slabs of 512 and, within a slab, chunk-outer: the block's columns share one strip of gP
  // (512 rows x 64 columns, 128 KB) while it is in cache. Each slab adds its partial sums to the tile.
  constexpr int64_t kSlab = 512;
  std::vector<int64_t> begin(start.begin(), start.end() - 1), end(static_cast<size_t>(kb));
  for (int64_t s0 = 0; s0 < M; s0 += kSlab) {
    for (int64_t k = 0; k < kb; ++k) {
      int64_t e = begin[k];
      while (e < start[k + 1] && rows[e] < s0 + kSlab) ++e;
      end[k] = e;
    }
    for (int64_t c0 = 0; c0 < Np; c0 += 64)
      for (int64_t k = 0; k < kb; ++k) {
        const int32_t* r = rows.data() + begin[k];
        const float* v = vals.data() + begin[k];
        sum_chunk_avx2(static_cast<int>(std::min<int64_t>(64, Np - c0) / 8), end[k] - begin[k], [&](int64_t i) { return v[i]; },
                       [&](int64_t i) { return gP + static_cast<int64_t>(r[i]) * Np + c0; }, tile.data() + k * Np + c0);
      }
    begin = end;
  }
  transpose_avx2(tile.data(), Np, N, kb, gw + k0, K);
}
#endif  // FSNN_SPIKE_X86

int64_t count_active(const float* x, int64_t K) {
#ifdef FSNN_SPIKE_X86
  if (has_avx2_fma()) return count_active_avx2(x, K);
#endif
  int64_t n = 0;
  for (int64_t k = 0; k < K; ++k) n += x[k] != 0.f;
  return n;
}

using ForwardRows = void (*)(const float*, const SpikeBits&, int64_t, const float*, int64_t, int64_t, float*, int64_t,
                             int64_t);
using WeightRows = void (*)(const float*, const SpikeBits&, int64_t, const float*, int64_t, int64_t, int64_t, float*);

// x's bits where they are current (spike_bits_of), for the row bodies above.
SpikeBits spike_bits_for(const Tensor& xt, int64_t K) {
  SpikeBits sb;
  if (const uint64_t* w = spike_bits_of(xt)) {
    sb.words = w;
    sb.nwords = xt.storage->spike_bits_words;
    sb.ones.assign(static_cast<size_t>(K), 1.0f);
  }
  return sb;
}

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
#ifdef FSNN_SPIKE_X86
  if (has_avx2_fma() && Np > 32) {
    parallel_for(K, std::max<int64_t>(8, (1 << 15) / Np), [&](int64_t k0, int64_t k1) {
      transpose_avx2(w + k0, K, k1 - k0, N, wT.data() + k0 * Np, Np);
    });
    parallel_for(M, std::max<int64_t>(1, (1 << 14) / K), [&](int64_t m0, int64_t m1) { forward_wide_avx2(x, K, wT.data(), Np, N, o, m0, m1); });
    return;
  }
#endif
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) wT[k * Np + j] = w[j * K + k];
  const SpikeBits sb = spike_bits_for(xt, K);
  ForwardRows rows = forward_rows_for(Np);
#ifdef FSNN_SPIKE_X86
  if (sb.words && Np == 16 && has_avx2_fma() && cpu_has_avx512()) rows = forward_rows_bits16_avx512;
#endif
  // About 64k entries of x per task, so small products stay on one thread.
  parallel_for(M, std::max<int64_t>(1, (1 << 16) / K), [&](int64_t m0, int64_t m1) { rows(x, sb, K, wT.data(), Np, N, o, m0, m1); });
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
  HostScratch<float> gP(static_cast<size_t>(M * Np));  // copy_padded writes every entry
  copy_padded(g, M, N, gP.data(), Np);
#ifdef FSNN_SPIKE_X86
  if (has_avx2_fma() && Np > 32) {
    // Blocks of 64 input columns, each summed whole by one thread: the same sums for any thread count.
    const int64_t blocks = (K + 63) / 64;
    parallel_for(blocks, std::max<int64_t>(1, (1 << 14) / (M * 64)), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) weight_wide_avx2(x, M, K, gP.data(), Np, N, b * 64, std::min(K, (b + 1) * 64), gw);
    });
    return;
  }
#endif
  const WeightRows rows = weight_rows_for(Np);
  // Fixed row chunks (at least 256 rows, at most 8 chunks; M alone sets them), each summed into its own
  // gw^T [K, Np] by one thread, then added in chunk order.
  const int64_t chunk = std::max<int64_t>(256, (M + 7) / 8), chunks = (M + chunk - 1) / chunk;
  std::vector<float> acc(static_cast<size_t>(chunks * K * Np), 0.f);
  // Products under about 256k entries of x run on one thread (the same chunks, so the same sums).
  const SpikeBits sb = spike_bits_for(xt, K);
  parallel_for(chunks, M * K < (1 << 18) ? chunks : 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      rows(x, sb, K, gP.data(), Np, c * chunk, std::min(M, (c + 1) * chunk), acc.data() + c * K * Np);
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
