#include "sgemm_builtin.h"
#include "cpu_features.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "parallel.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FSNN_SGEMM_X86 1
#include <immintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FSNN_RESTRICT __restrict__
#elif defined(_MSC_VER)
#define FSNN_RESTRICT __restrict
#else
#define FSNN_RESTRICT
#endif

namespace fsnn {
namespace cpu {
namespace {

// Micro-tile of C held in registers: MR rows x NR columns (12 ymm accumulators for AVX2).
constexpr int MR = 6;
constexpr int NR = 16;
// Cache blocking. KC: depth of one packed slice (an NR x KC micro-panel of B = 16 KiB stays in L1).
// MC: rows of A per tile (MC x KC of packed A = ~144 KiB stays in L2).
constexpr int64_t KC = 256;
constexpr int64_t MC_PANELS = 24;  // 144 rows
// Operands are packed whole (all K slices of a chunk of rows/columns) so that one parallel region
// covers the call; KB and kPackBudget (floats per packed operand, 16 MiB) bound the buffers.
constexpr int64_t KB = 4096;
constexpr int64_t kPackBudget = int64_t(1) << 22;
// Below this many flops the call runs on the calling thread only (waking the pool costs more).
constexpr double kSerialFlops = 3.0e6;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

using Kernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                        float alpha, float beta, int mr, int nr);

// ---------------------------------------------------------------------------------------------
// Micro-kernels. Both read a packed A micro-panel (a[k * MR + i]) and a packed B micro-panel
// (b[k * NR + j]), both zero-padded, and update the mr x nr valid corner of the C tile:
//   C = alpha * acc + beta * C   (C not read when beta == 0).

void store_tile_generic(const float acc[MR][NR], float* c, int64_t ldc, float alpha, float beta,
                        int mr, int nr) {
  for (int i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

#if defined(__GNUC__) || defined(__clang__)
// Portable kernel written with GCC/Clang vector extensions (4 floats: SSE2 on any x86-64, NEON on
// arm64, scalar code elsewhere). The 6x16 tile is done as two 6x8 halves so that one half's 12
// accumulators, two B vectors and the A broadcast fit 16 vector registers.
typedef float v4f __attribute__((vector_size(16)));

void kernel_generic(int64_t kc, const float* FSNN_RESTRICT a, const float* FSNN_RESTRICT b,
                    float* c, int64_t ldc, float alpha, float beta, int mr, int nr) {
  alignas(16) float acc[MR][NR];
  for (int half = 0; half < 2; ++half) {
    v4f c00 = {0, 0, 0, 0}, c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    v4f c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float* ap = a;
    const float* bp = b + 8 * half;  // packed B is 64-byte aligned, so these loads are aligned
    for (int64_t k = 0; k < kc; ++k) {
      const v4f b0 = *reinterpret_cast<const v4f*>(bp);
      const v4f b1 = *reinterpret_cast<const v4f*>(bp + 4);
      v4f ai;
      ai = v4f{ap[0], ap[0], ap[0], ap[0]};
      c00 += ai * b0;
      c01 += ai * b1;
      ai = v4f{ap[1], ap[1], ap[1], ap[1]};
      c10 += ai * b0;
      c11 += ai * b1;
      ai = v4f{ap[2], ap[2], ap[2], ap[2]};
      c20 += ai * b0;
      c21 += ai * b1;
      ai = v4f{ap[3], ap[3], ap[3], ap[3]};
      c30 += ai * b0;
      c31 += ai * b1;
      ai = v4f{ap[4], ap[4], ap[4], ap[4]};
      c40 += ai * b0;
      c41 += ai * b1;
      ai = v4f{ap[5], ap[5], ap[5], ap[5]};
      c50 += ai * b0;
      c51 += ai * b1;
      ap += MR;
      bp += NR;
    }
    const v4f out[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int i = 0; i < MR; ++i) {
      *reinterpret_cast<v4f*>(&acc[i][8 * half]) = out[i][0];
      *reinterpret_cast<v4f*>(&acc[i][8 * half + 4]) = out[i][1];
    }
  }
  store_tile_generic(acc, c, ldc, alpha, beta, mr, nr);
}
#else
void kernel_generic(int64_t kc, const float* FSNN_RESTRICT a, const float* FSNN_RESTRICT b,
                    float* c, int64_t ldc, float alpha, float beta, int mr, int nr) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  store_tile_generic(acc, c, ldc, alpha, beta, mr, nr);
}
#endif

#ifdef FSNN_SGEMM_X86
__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t kc, const float* FSNN_RESTRICT a,
                                                     const float* FSNN_RESTRICT b, float* c,
                                                     int64_t ldc, float alpha, float beta, int mr,
                                                     int nr) {
  // Warm the C tile while the k loop runs.
  for (int i = 0; i < mr; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

#define FSNN_SGEMM_STEP(A, B)                                 \
  {                                                           \
    const __m256 b0 = _mm256_load_ps(B);                      \
    const __m256 b1 = _mm256_load_ps(B + 8);                  \
    __m256 ai = _mm256_broadcast_ss(A + 0);                   \
    c00 = _mm256_fmadd_ps(ai, b0, c00);                       \
    c01 = _mm256_fmadd_ps(ai, b1, c01);                       \
    ai = _mm256_broadcast_ss(A + 1);                          \
    c10 = _mm256_fmadd_ps(ai, b0, c10);                       \
    c11 = _mm256_fmadd_ps(ai, b1, c11);                       \
    ai = _mm256_broadcast_ss(A + 2);                          \
    c20 = _mm256_fmadd_ps(ai, b0, c20);                       \
    c21 = _mm256_fmadd_ps(ai, b1, c21);                       \
    ai = _mm256_broadcast_ss(A + 3);                          \
    c30 = _mm256_fmadd_ps(ai, b0, c30);                       \
    c31 = _mm256_fmadd_ps(ai, b1, c31);                       \
    ai = _mm256_broadcast_ss(A + 4);                          \
    c40 = _mm256_fmadd_ps(ai, b0, c40);                       \
    c41 = _mm256_fmadd_ps(ai, b1, c41);                       \
    ai = _mm256_broadcast_ss(A + 5);                          \
    c50 = _mm256_fmadd_ps(ai, b0, c50);                       \
    c51 = _mm256_fmadd_ps(ai, b1, c51);                       \
  }

  // One k step per iteration, unrolled by the compiler: this form keeps all 12 accumulators, the
  // two B vectors and the A broadcast in the 16 ymm registers with GCC (a hand-unrolled body made
  // it spill an accumulator, which puts a store/reload on that FMA chain).
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    FSNN_SGEMM_STEP(a, b);
    a += MR;
    b += NR;
  }
#undef FSNN_SGEMM_STEP

  const __m256 va = _mm256_set1_ps(alpha);
  if (mr == MR && nr == NR) {
    if (beta == 0.0f) {
#define FSNN_SGEMM_ROW(I, X0, X1)                                 \
  _mm256_storeu_ps(c + (I) * ldc, _mm256_mul_ps(va, X0));         \
  _mm256_storeu_ps(c + (I) * ldc + 8, _mm256_mul_ps(va, X1));
      FSNN_SGEMM_ROW(0, c00, c01)
      FSNN_SGEMM_ROW(1, c10, c11)
      FSNN_SGEMM_ROW(2, c20, c21)
      FSNN_SGEMM_ROW(3, c30, c31)
      FSNN_SGEMM_ROW(4, c40, c41)
      FSNN_SGEMM_ROW(5, c50, c51)
#undef FSNN_SGEMM_ROW
    } else {
      const __m256 vb = _mm256_set1_ps(beta);
#define FSNN_SGEMM_ROW(I, X0, X1)                                                         \
  {                                                                                       \
    float* ci = c + (I) * ldc;                                                            \
    _mm256_storeu_ps(ci, _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), _mm256_mul_ps(va, X0)));       \
    _mm256_storeu_ps(ci + 8,                                                              \
                     _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), _mm256_mul_ps(va, X1)));       \
  }
      FSNN_SGEMM_ROW(0, c00, c01)
      FSNN_SGEMM_ROW(1, c10, c11)
      FSNN_SGEMM_ROW(2, c20, c21)
      FSNN_SGEMM_ROW(3, c30, c31)
      FSNN_SGEMM_ROW(4, c40, c41)
      FSNN_SGEMM_ROW(5, c50, c51)
#undef FSNN_SGEMM_ROW
    }
    return;
  }
  // Edge tile: spill the accumulators, then write only the valid corner.
  alignas(32) float acc[MR][NR];
  _mm256_store_ps(&acc[0][0], c00);
  _mm256_store_ps(&acc[0][8], c01);
  _mm256_store_ps(&acc[1][0], c10);
  _mm256_store_ps(&acc[1][8], c11);
  _mm256_store_ps(&acc[2][0], c20);
  _mm256_store_ps(&acc[2][8], c21);
  _mm256_store_ps(&acc[3][0], c30);
  _mm256_store_ps(&acc[3][8], c31);
  _mm256_store_ps(&acc[4][0], c40);
  _mm256_store_ps(&acc[4][8], c41);
  _mm256_store_ps(&acc[5][0], c50);
  _mm256_store_ps(&acc[5][8], c51);
  store_tile_generic(acc, c, ldc, alpha, beta, mr, nr);
}

#endif  // FSNN_SGEMM_X86

std::atomic<bool> g_force_generic{false};

Kernel select_kernel() {
#ifdef FSNN_SGEMM_X86
  static const bool has_avx2 = cpu_has_avx2_fma();
  if (has_avx2 && !g_force_generic.load(std::memory_order_relaxed)) return kernel_avx2;
#endif
  return kernel_generic;
}

// ---------------------------------------------------------------------------------------------
// Packing. op(A) element (i, k) and op(B) element (k, j):
//   A: transA ? A[k * lda + i] : A[i * lda + k]      B: transB ? B[j * ldb + k] : B[k * ldb + j]

// One MR-row micro-panel of op(A): rows row0 .. row0 + rows - 1, depth k0 .. k0 + kc - 1,
// into dst[k * MR + i], rows past `rows` zero-filled.
void pack_a_panel(bool transA, const float* A, int64_t lda, int64_t row0, int rows, int64_t k0,
                  int64_t kc, float* FSNN_RESTRICT dst) {
  if (!transA) {
    const float* src = A + row0 * lda + k0;
    if (rows == MR) {
      const float* r0 = src;
      const float* r1 = src + lda;
      const float* r2 = src + 2 * lda;
      const float* r3 = src + 3 * lda;
      const float* r4 = src + 4 * lda;
      const float* r5 = src + 5 * lda;
      for (int64_t k = 0; k < kc; ++k) {
        dst[0] = r0[k];
        dst[1] = r1[k];
        dst[2] = r2[k];
        dst[3] = r3[k];
        dst[4] = r4[k];
        dst[5] = r5[k];
        dst += MR;
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int i = 0; i < rows; ++i) dst[i] = src[i * lda + k];
        for (int i = rows; i < MR; ++i) dst[i] = 0.0f;
        dst += MR;
      }
    }
  } else {
    const float* src = A + k0 * lda + row0;
    if (rows == MR) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = src + k * lda;
        for (int i = 0; i < MR; ++i) dst[i] = s[i];
        dst += MR;
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = src + k * lda;
        for (int i = 0; i < rows; ++i) dst[i] = s[i];
        for (int i = rows; i < MR; ++i) dst[i] = 0.0f;
        dst += MR;
      }
    }
  }
}

// One NR-column micro-panel of op(B): columns col0 .. col0 + cols - 1, depth k0 .. k0 + kc - 1,
// into dst[k * NR + j], columns past `cols` zero-filled.
void pack_b_panel(bool transB, const float* B, int64_t ldb, int64_t col0, int cols, int64_t k0,
                  int64_t kc, float* FSNN_RESTRICT dst) {
  if (!transB) {
    const float* src = B + k0 * ldb + col0;
    if (cols == NR) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = src + k * ldb;
        for (int j = 0; j < NR; ++j) dst[j] = s[j];
        dst += NR;
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = src + k * ldb;
        for (int j = 0; j < cols; ++j) dst[j] = s[j];
        for (int j = cols; j < NR; ++j) dst[j] = 0.0f;
        dst += NR;
      }
    }
  } else {
    const float* src = B + col0 * ldb + k0;
    // Gathers from NR source rows at once; each of them is still read sequentially along k.
    if (cols == NR) {
      for (int64_t k = 0; k < kc; ++k) {
        for (int j = 0; j < NR; ++j) dst[k * NR + j] = src[j * ldb + k];
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int j = 0; j < cols; ++j) dst[k * NR + j] = src[j * ldb + k];
        for (int j = cols; j < NR; ++j) dst[k * NR + j] = 0.0f;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Per-thread, 64-byte-aligned scratch that grows on demand (owned by the thread that calls sgemm).
template <typename T>
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { release(); }
  T* get(size_t count) {
    if (count > capacity_) {
      release();
      const size_t bytes = ((count * sizeof(T) + 63) / 64) * 64;
      data_ = static_cast<T*>(::operator new(bytes, std::align_val_t(64)));
      capacity_ = bytes / sizeof(T);
    }
    return data_;
  }

 private:
  void release() {
    if (data_) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
    capacity_ = 0;
  }
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < M; ++i) {
    float* ci = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) ci[j] = 0.0f;
    } else {
      for (int64_t j = 0; j < N; ++j) ci[j] *= beta;
    }
  }
}

inline void cpu_relax() {
#ifdef FSNN_SGEMM_X86
  __builtin_ia32_pause();
#endif
}

// Packed panels are made on first use by whichever worker needs them first: one packs, others that
// need the same panel meanwhile wait for it (a panel takes ~1 us to pack), so the whole call needs
// a single parallel region and no barrier between packing and computing.
enum : int { kEmpty = 0, kPacking = 1, kReady = 2 };

template <typename PackFn>
inline void ensure_packed(std::atomic<int>& state, const PackFn& pack) {
  int s = state.load(std::memory_order_acquire);
  if (s == kReady) return;
  if (s == kEmpty && state.compare_exchange_strong(s, kPacking, std::memory_order_acquire)) {
    pack();
    state.store(kReady, std::memory_order_release);
    return;
  }
  for (int spins = 0; state.load(std::memory_order_acquire) != kReady; ++spins) {
    if (spins < 1024) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

inline void prefetch_l2(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 2);
#else
  (void)p;
#endif
}

inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

}  // namespace

const char* sgemm_builtin_kernel() {
  return select_kernel() == kernel_generic ? "generic 6x16" : "avx2-fma 6x16";
}

void sgemm_builtin_force_generic(bool force) { g_force_generic.store(force); }

void sgemm_builtin(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                   int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  const Kernel kernel = select_kernel();
  const bool serial = 2.0 * double(M) * double(N) * double(K) < kSerialFlops;
  const int64_t threads = serial ? 1 : std::max(1, num_threads());

  thread_local Scratch<float> a_scratch, b_scratch;
  thread_local Scratch<std::atomic<int>> flag_scratch;

  // K is taken KB at a time (one parallel region each); inside, in equal slices of at most KC.
  for (int64_t kb0 = 0; kb0 < K; kb0 += KB) {
    const int64_t kbn = std::min(KB, K - kb0);
    const int64_t nks = ceil_div(kbn, KC);
    const int64_t kstep = ceil_div(kbn, nks);
    const float beta_kb = kb0 == 0 ? beta : 1.0f;

    // Rows / columns packed at once, bounded by the buffer budget, in equal chunks.
    const int64_t chunk_floats = kPackBudget / (nks * kstep);
    int64_t m_chunk = std::min(M, std::max<int64_t>(MR * MC_PANELS, chunk_floats));
    m_chunk = std::min(M, round_up(ceil_div(M, ceil_div(M, m_chunk)), MR));
    int64_t n_chunk = std::min(N, std::max<int64_t>(NR * 32, chunk_floats));
    n_chunk = std::min(N, round_up(ceil_div(N, ceil_div(N, n_chunk)), NR));
    const int64_t na_max = ceil_div(m_chunk, MR), nb_max = ceil_div(n_chunk, NR);
    float* const a_pack = a_scratch.get(size_t(na_max * nks * MR * kstep));
    float* const b_pack = b_scratch.get(size_t(nb_max * nks * NR * kstep));
    std::atomic<int>* const flags = flag_scratch.get(size_t((na_max + nb_max) * nks));

    for (int64_t m0 = 0; m0 < M; m0 += m_chunk) {
      const int64_t mc = std::min(m_chunk, M - m0);
      const int64_t na = ceil_div(mc, MR);  // A micro-panels per K slice
      for (int64_t n0 = 0; n0 < N; n0 += n_chunk) {
        const int64_t nc = std::min(n_chunk, N - n0);
        const int64_t nb = ceil_div(nc, NR);  // B micro-panels per K slice
        std::atomic<int>* const a_flags = flags;
        std::atomic<int>* const b_flags = flags + na * nks;
        for (int64_t i = 0; i < (na + nb) * nks; ++i) flags[i].store(kEmpty, std::memory_order_relaxed);

        // Tiles of C: row blocks of up to MC_PANELS A panels; column blocks sized so that there
        // are several tiles per thread (they are handed out dynamically).
        const int64_t row_blocks = ceil_div(na, MC_PANELS);
        const int64_t rb_panels = ceil_div(na, row_blocks);
        int64_t col_blocks = 1;
        if (threads > 1) {
          col_blocks = std::min(nb, std::max<int64_t>(1, ceil_div(8 * threads, row_blocks)));
        }
        // Narrow enough that a tile's part of C (MC x 512) stays near in cache across K slices.
        col_blocks = std::max(col_blocks, ceil_div(nb, int64_t(32)));
        const int64_t cb_panels = ceil_div(nb, col_blocks);
        col_blocks = ceil_div(nb, cb_panels);
        const int64_t tiles = row_blocks * col_blocks;

        std::atomic<int64_t> next{0};
        auto work = [&](int64_t, int64_t) {
          for (;;) {
            const int64_t t = next.fetch_add(1, std::memory_order_relaxed);
            if (t >= tiles) break;
            const int64_t rb = t / col_blocks, cb = t % col_blocks;
            const int64_t p_begin = rb * rb_panels, p_end = std::min(na, p_begin + rb_panels);
            const int64_t q_begin = cb * cb_panels, q_end = std::min(nb, q_begin + cb_panels);
            const int64_t b_lines = ceil_div(kstep * NR * int64_t(sizeof(float)), 64 * (p_end - p_begin));
            for (int64_t ks = 0; ks < nks; ++ks) {
              const int64_t k0 = kb0 + ks * kstep;
              const int64_t kc = std::min(kstep, kb0 + kbn - k0);
              const float beta_eff = ks == 0 ? beta_kb : 1.0f;
              for (int64_t q = q_begin; q < q_end; ++q) {
                float* const bq = b_pack + (ks * nb + q) * NR * kstep;
                const int cols = int(std::min<int64_t>(NR, nc - q * NR));
                ensure_packed(b_flags[ks * nb + q],
                              [&] { pack_b_panel(transB, B, ldb, n0 + q * NR, cols, k0, kc, bq); });
                for (int64_t p = p_begin; p < p_end; ++p) {
                  float* const ap = a_pack + (ks * na + p) * MR * kstep;
                  const int rows = int(std::min<int64_t>(MR, mc - p * MR));
                  ensure_packed(a_flags[ks * na + p],
                                [&] { pack_a_panel(transA, A, lda, m0 + p * MR, rows, k0, kc, ap); });
                  if (q + 1 < q_end) {
                    // Spread a prefetch of the next B micro-panel (kc cache lines) over this
                    // column's kernel calls, so it is in L2 when its sweep starts.
                    const char* next_b = reinterpret_cast<const char*>(bq + NR * kstep) +
                                         (p - p_begin) * b_lines * 64;
                    for (int64_t l = 0; l < b_lines; ++l) prefetch_l2(next_b + l * 64);
                  }
                  kernel(kc, ap, bq, C + (m0 + p * MR) * ldc + n0 + q * NR, ldc, alpha, beta_eff,
                         rows, cols);
                }
              }
            }
          }
        };
        const int64_t workers = std::min(threads, tiles);
        if (workers <= 1) {
          work(0, 1);
        } else {
          parallel_for(workers, 1, work);
        }
      }
    }
  }
}

}  // namespace cpu
}  // namespace fsnn
