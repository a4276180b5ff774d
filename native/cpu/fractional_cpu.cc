// CPU fractional neuron op: forward over all T steps and its exact discrete adjoint.
// See fractional_cpu.h for the design and ../fractional_op.h for the equations.
#include "fractional_cpu.h"
#include "cpu_features.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../error.h"
#include "column_sum.h"
#include "cpu_backend.h"
#include "../surrogate.h"
#include "cpu_allocator.h"
#include "parallel.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FSNN_FRAC_X86 1
#define FSNN_AVX2 __attribute__((target("avx2,fma")))
#include <immintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FSNN_INLINE inline __attribute__((always_inline))
#define FSNN_GNU_VECTORS 1
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#else
#define FSNN_INLINE inline
#endif

// Tile shape: neurons per block = 8 * FSNN_FRAC_V, time steps per register tile = FSNN_FRAC_R,
// lags per register tile of the dL/dK correlation = FSNN_FRAC_RL. Overridable for experiments.
#ifndef FSNN_FRAC_V
#define FSNN_FRAC_V 3
#endif
#ifndef FSNN_FRAC_R
#define FSNN_FRAC_R 4
#endif
#ifndef FSNN_FRAC_RL
#define FSNN_FRAC_RL 8
#endif

namespace fsnn {
namespace cpu {
namespace {

constexpr int kV = FSNN_FRAC_V;    // 8-float vectors per neuron block
constexpr int kR = FSNN_FRAC_R;    // time steps per register tile
constexpr int kRL = FSNN_FRAC_RL;  // lags per register tile of the gK correlation
constexpr int kNB = 8 * kV;        // neurons per block
constexpr int kMaxGroups = 256;    // reduction groups (fixed order => thread-count independent sums)
constexpr int64_t kCorrChunk = kFracSumChunk;  // steps summed in float32 before gK / gTau go to float64
static_assert(kRL == kFracLagTile, "the gK chunks start at multiples of the lag tile (fractional_op.h)");
// Slab budgets (T x W floats per array): forward 3 arrays, backward 6 (see slab_width).
constexpr int64_t kFwdSlabFloats = 65536;
constexpr int64_t kBwdSlabFloats = 32768;
constexpr int64_t kMaxSlab = 1024;  // widest slab (floats): about a 4 KiB page per row

// ---------------------------------------------------------------------------------------------
// 8-float vector helpers. With GCC/Clang these are vector extensions: inlined into the AVX2+FMA
// entry points they become ymm code with vfmadd; inlined into the generic entry points they become
// pairs of SSE (or NEON, ...) operations.
// ---------------------------------------------------------------------------------------------
#ifdef FSNN_GNU_VECTORS
typedef float vf __attribute__((vector_size(32)));
typedef int32_t vi __attribute__((vector_size(32)));

FSNN_INLINE vf vload(const float* p) {
  vf r;
  std::memcpy(&r, p, sizeof(r));
  return r;
}
FSNN_INLINE void vstore(float* p, const vf& x) { std::memcpy(p, &x, sizeof(x)); }
FSNN_INLINE vf vset(float s) { return vf{s, s, s, s, s, s, s, s}; }
FSNN_INLINE vf vzero() { return vf{0, 0, 0, 0, 0, 0, 0, 0}; }
FSNN_INLINE vf vadd(const vf& a, const vf& b) { return a + b; }
FSNN_INLINE vf vsub(const vf& a, const vf& b) { return a - b; }
FSNN_INLINE vf vmul(const vf& a, const vf& b) { return a * b; }
FSNN_INLINE vf vdiv(const vf& a, const vf& b) { return a / b; }
FSNN_INLINE vf vfma(const vf& a, const vf& b, const vf& c) { return a * b + c; }  // contracted to vfmadd under FMA
// a where x >= 0, else 0 (NaN x gives 0).
FSNN_INLINE vf vselect_ge0(const vf& x, const vf& a) { return (vf)((vi)(x >= vzero()) & (vi)a); }
// a where x >= 0, else b (NaN x gives b): a compare and a blend.
FSNN_INLINE vf vblend_ge0(const vf& x, const vf& a, const vf& b) { return x >= vzero() ? a : b; }
#else
struct vf {
  float e[8];
};
FSNN_INLINE vf vload(const float* p) {
  vf r;
  std::memcpy(r.e, p, sizeof(r.e));
  return r;
}
FSNN_INLINE void vstore(float* p, vf x) { std::memcpy(p, x.e, sizeof(x.e)); }
FSNN_INLINE vf vset(float s) {
  vf r;
  for (int i = 0; i < 8; ++i) r.e[i] = s;
  return r;
}
FSNN_INLINE vf vzero() { return vset(0.0f); }
#define FSNN_VOP(name, expr)                                \
  FSNN_INLINE vf name(vf a, vf b) {                         \
    vf r;                                                   \
    for (int i = 0; i < 8; ++i) r.e[i] = expr;              \
    return r;                                               \
  }
FSNN_VOP(vadd, a.e[i] + b.e[i])
FSNN_VOP(vsub, a.e[i] - b.e[i])
FSNN_VOP(vmul, a.e[i] * b.e[i])
FSNN_VOP(vdiv, a.e[i] / b.e[i])
FSNN_VOP(vselect_ge0, a.e[i] >= 0.0f ? b.e[i] : 0.0f)
#undef FSNN_VOP
FSNN_INLINE vf vblend_ge0(vf x, vf a, vf b) {
  vf r;
  for (int i = 0; i < 8; ++i) r.e[i] = x.e[i] >= 0.0f ? a.e[i] : b.e[i];
  return r;
}
FSNN_INLINE vf vfma(vf a, vf b, vf c) {
  vf r;
  for (int i = 0; i < 8; ++i) r.e[i] = a.e[i] * b.e[i] + c.e[i];
  return r;
}
#endif

FSNN_INLINE double vhsum_double(const vf& x) {
  alignas(32) float t[8];
  vstore(t, x);
  return ((double(t[0]) + double(t[1])) + (double(t[2]) + double(t[3]))) +
         ((double(t[4]) + double(t[5])) + (double(t[6]) + double(t[7])));
}

// ---------------------------------------------------------------------------------------------
// Shared context
// ---------------------------------------------------------------------------------------------
// The time loops are arranged so that the step-to-step dependency is as short as possible. With
// c = -1/tau (LIF) or 0 (IF), the forward step is
//   x_k     = v_k (1 + c) + (I_k/tau - threshold)
//   v_{k+1} = v_k (c - K_1)/K_0 + (I_k/tau - rest_k)/K_0 - s_k threshold/(tau K_0)
// where rest_k = sum_{L>=2} K_L v_{k+1-L} does not involve v_k: an FMA, a compare and a blend between
// v_k and v_{k+1}. Likewise the backward q_{k-1} = q_k (c - K_1)/K_0 + (P_k - rest_k)/K_0.
// (Algebraically identical to fractional_op.h; the rounding differs from the literal formula by a few
// ulps, as any summation order of the history would.)
struct Ctx {
  int64_t T, N, M;     // M clamped to [1, T + 1]
  bool lif;
  float tau, inv_tau, thr, thr_tau, K0, inv_K0;
  float one_plus_c;    // d x_k / d v_k = 1 + c, c = -1/tau (LIF) or 0 (IF)
  float c;
  float a1;            // (c - K_1) / K_0: d v_{k+1} / d v_k through the linear terms (K_1 = 0 when M = 1)
  float thr_tau_K0;    // threshold / (tau K_0)
  Surrogate surrogate;
  float scale;
  const float* Kf;     // Kf[L] = K_L for 1 <= L <= min(T, M - 1), 0 elsewhere (incl. Kf[0]); length T + kR + 2
  const float* Kx;     // Kx[t * kR + r] = Kf[1 + t + r], t = 0..T+1, except Kx[0] = 0 (K_1 v_k is folded into
                       // a1): the coefficients of one tile row, contiguous
};

// x_k from v_k and I_k, as the forward evaluates it (the backward recomputes it the same way).
template <bool LIF>
FSNN_INLINE vf x_of(const vf& h, const vf& in, const vf& tau, const vf& thr, const vf& opc) {
  const vf xb = vsub(vdiv(in, tau), thr);
  return LIF ? vfma(h, opc, xb) : vadd(h, xb);
}

// ---------------------------------------------------------------------------------------------
// Slabs: memory traffic of the [T, N] arrays
// ---------------------------------------------------------------------------------------------
// A block's rows are N floats apart. With N a power of two every row of a block falls into the same
// cache sets at every level, so reading a block's rows as the time loop needs them would miss on
// every row with no overlap. A worker therefore takes a slab of W neurons (several blocks; W floats
// contiguous per row, whole cache lines in distinct sets) and copies the slab into a row-major
// [T][W] staging buffer with a tight loop (many misses in flight, the rows a few ahead prefetched),
// computes from there, and copies the results back the same way (with non-temporal stores for big
// outputs). Wide slabs (up to ~4 KiB per row) make the strided copies efficient; W shrinks as T grows
// so that the staging stays near L2 size, and for large T the O(T^2) arithmetic dominates the O(T)
// traffic anyway. (Interleaving the copies with the arithmetic of the previous slab, double-buffered,
// was tried twice on the 2-core development machine and was slower every time.)

// Slab width (neurons) for a budget of about `floats_per_slab` floats per array, at most kMaxSlab: a
// multiple of the block and of 16 floats (whole cache lines, so that workers never write into the
// same line), and never wider than N rounded up to that multiple (a small layer stages no more than it
// has; the slab and group layout is unchanged, one slab either way).
int64_t slab_width(int64_t T, int64_t N, int64_t floats_per_slab) {
  constexpr int64_t unit = kV % 2 == 0 ? kNB : 2 * kNB;
  const int64_t w = std::min<int64_t>(kMaxSlab, floats_per_slab / std::max<int64_t>(T, 1));
  return std::min(std::max<int64_t>(unit, w / unit * unit), (N + unit - 1) / unit * unit);
}
// Row length of a slab's staging buffer: whole blocks (lanes past the slab's width stay zero).
int64_t staging_ld(int64_t W) { return (W + kNB - 1) / kNB * kNB; }

constexpr int64_t kPrefetchRows = 4;

FSNN_INLINE void prefetch_row(const float* p, int64_t nv) {
#if defined(__GNUC__) || defined(__clang__)
  for (int64_t j = 0; j < nv; j += 16) __builtin_prefetch(p + j, 0, 3);
#else
  (void)p;
  (void)nv;
#endif
}

FSNN_INLINE void copy_row(float* d, const float* s, int64_t nv) {
  int64_t j = 0;
  for (; j + 8 <= nv; j += 8) vstore(d + j, vload(s + j));
  for (; j < nv; ++j) d[j] = s[j];
}
// Copies columns [0, nv) of rows 0..T-1 of src (rows ld_src apart) to dst (rows ld_dst apart).
FSNN_INLINE void load_slab(const float* src, int64_t ld_src, int64_t T, int64_t nv, float* dst, int64_t ld_dst) {
  for (int64_t k = 0; k < std::min(T, kPrefetchRows); ++k) prefetch_row(src + k * ld_src, nv);
  for (int64_t k = 0; k < T; ++k) {
    if (k + kPrefetchRows < T) prefetch_row(src + (k + kPrefetchRows) * ld_src, nv);
    copy_row(dst + k * ld_dst, src + k * ld_src, nv);
  }
}
FSNN_INLINE void store_slab_generic(const float* src, int64_t ld_src, int64_t T, int64_t nv, float* dst,
                                    int64_t ld_dst, bool /*streaming*/) {
  for (int64_t k = 0; k < T; ++k) copy_row(dst + k * ld_dst, src + k * ld_src, nv);
}

// Zeroes lanes [nv, the end of the last block) of rows 0..T-1 of `arrays` staging arrays (TL floats
// apart): the padding that a slab's last block reads and no load writes. The rest of every row read is
// loaded for each slab, so the staging is never cleared as a whole (a clear of several 100 KB per call
// was most of the op's fixed cost at small N).
FSNN_INLINE void zero_block_padding(float* first, int64_t arrays, int64_t TL, int64_t T, int64_t ld, int64_t nv) {
  const int64_t end = (nv + kNB - 1) / kNB * kNB;
  for (int64_t a = 0; end > nv && a < arrays; ++a)
    for (int64_t k = 0; k < T; ++k) std::fill(first + a * TL + k * ld + nv, first + a * TL + k * ld + end, 0.0f);
}

// ---------------------------------------------------------------------------------------------
// Micro-kernels. Two implementations with one contract:
//   tile<V, R>(row0, step, Kx, cnt, acc):  acc[r][v] = sum_{t=0}^{cnt-1} Kx[t*R + r] * row0[t*step + 8v]
//     (summed from t = cnt-1 down to 0: oldest history first, newest rows, just produced, last);
//   corr<RL>(q, h, stride, cnt, out):      out[l] = sum over i < cnt and the 8 lanes of q[i*stride] * h[(i-l)*stride]
//     (float32 partial sums over kCorrChunk steps, added up in float64)
//   store_slab(src, ld_src, T, nv, dst, ld_dst, streaming): copy back, optionally non-temporal
// ---------------------------------------------------------------------------------------------
struct GenericKernels {
  static FSNN_INLINE void store_slab(const float* src, int64_t ld_src, int64_t T, int64_t nv, float* dst,
                                     int64_t ld_dst, bool streaming) {
    store_slab_generic(src, ld_src, T, nv, dst, ld_dst, streaming);
  }
  template <int V, int R>
  static FSNN_INLINE void tile(const float* row0, ptrdiff_t step, const float* Kx, int64_t cnt, vf (&acc)[R][V]) {
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < V; ++v) acc[r][v] = vzero();
    const float* row = row0 + (cnt - 1) * step;
    const float* kx = Kx + (cnt - 1) * R;
    for (int64_t t = cnt - 1; t >= 0; --t, row -= step, kx -= R) {
      vf x[V];
      for (int v = 0; v < V; ++v) x[v] = vload(row + 8 * v);
      for (int r = 0; r < R; ++r) {
        const vf b = vset(kx[r]);
        for (int v = 0; v < V; ++v) acc[r][v] = vfma(b, x[v], acc[r][v]);
      }
    }
  }
  template <int RL>
  static FSNN_INLINE void corr(const float* q, const float* h, ptrdiff_t stride, int64_t cnt, double (&out)[RL]) {
    for (int l = 0; l < RL; ++l) out[l] = 0.0;
    for (int64_t i0 = 0; i0 < cnt; i0 += kCorrChunk) {
      vf acc[RL];
      for (int l = 0; l < RL; ++l) acc[l] = vzero();
      const int64_t i1 = std::min(cnt, i0 + kCorrChunk);
      for (int64_t i = i0; i < i1; ++i, q += stride, h += stride) {
        const vf qi = vload(q);
        for (int l = 0; l < RL; ++l) acc[l] = vfma(qi, vload(h - l * stride), acc[l]);
      }
      for (int l = 0; l < RL; ++l) out[l] += vhsum_double(acc[l]);
    }
  }
};

#ifdef FSNN_FRAC_X86
// AVX2 + FMA versions, out of line (each call runs a whole tile), written with intrinsics so the
// coefficient broadcast is a single vbroadcastss from memory.
template <int V, int R>
FSNN_AVX2 __attribute__((noinline)) void tile_avx2(const float* row0, ptrdiff_t step, const float* Kx, int64_t cnt,
                                                   float* out) {
  __m256 acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = _mm256_setzero_ps();
  const float* row = row0 + (cnt - 1) * step;
  const float* kx = Kx + (cnt - 1) * R;
  for (int64_t t = cnt - 1; t >= 0; --t, row -= step, kx -= R) {
    __m256 x[V];
    for (int v = 0; v < V; ++v) x[v] = _mm256_loadu_ps(row + 8 * v);
    for (int r = 0; r < R; ++r) {
      const __m256 b = _mm256_broadcast_ss(kx + r);
      for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(b, x[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) _mm256_store_ps(out + (r * V + v) * 8, acc[r][v]);
}

template <int RL>
FSNN_AVX2 __attribute__((noinline)) void corr_avx2(const float* q, const float* h, ptrdiff_t stride, int64_t cnt,
                                                   double* out) {
  __m256d tot[RL];  // float64 lane pairs: lanes 0-3 + lanes 4-7
  for (int l = 0; l < RL; ++l) tot[l] = _mm256_setzero_pd();
  for (int64_t i0 = 0; i0 < cnt; i0 += kCorrChunk) {
    __m256 acc[RL];
    for (int l = 0; l < RL; ++l) acc[l] = _mm256_setzero_ps();
    const int64_t i1 = std::min(cnt, i0 + kCorrChunk);
    for (int64_t i = i0; i < i1; ++i, q += stride, h += stride) {
      const __m256 qi = _mm256_loadu_ps(q);
      for (int l = 0; l < RL; ++l) acc[l] = _mm256_fmadd_ps(qi, _mm256_loadu_ps(h - l * stride), acc[l]);
    }
    for (int l = 0; l < RL; ++l)
      tot[l] = _mm256_add_pd(tot[l], _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(acc[l])),
                                                   _mm256_cvtps_pd(_mm256_extractf128_ps(acc[l], 1))));
  }
  for (int l = 0; l < RL; ++l) {
    alignas(32) double t[4];
    _mm256_store_pd(t, tot[l]);
    out[l] = (t[0] + t[1]) + (t[2] + t[3]);
  }
}

// store_slab with non-temporal stores where a destination row is 32-byte aligned.
FSNN_AVX2 __attribute__((noinline)) void store_slab_avx2(const float* src, int64_t ld_src, int64_t T, int64_t nv,
                                                         float* dst, int64_t ld_dst, bool streaming) {
  for (int64_t k = 0; k < T; ++k) {
    const float* s = src + k * ld_src;
    float* d = dst + k * ld_dst;
    if (streaming && (reinterpret_cast<uintptr_t>(d) & 31) == 0) {
      int64_t j = 0;
      for (; j + 8 <= nv; j += 8) _mm256_stream_ps(d + j, _mm256_loadu_ps(s + j));
      for (; j < nv; ++j) d[j] = s[j];
    } else {
      copy_row(d, s, nv);
    }
  }
  if (streaming) _mm_sfence();  // order the non-temporal stores before anything that follows
}

struct Avx2Kernels {
  static FSNN_INLINE void store_slab(const float* src, int64_t ld_src, int64_t T, int64_t nv, float* dst,
                                     int64_t ld_dst, bool streaming) {
    store_slab_avx2(src, ld_src, T, nv, dst, ld_dst, streaming);
  }
  template <int V, int R>
  static FSNN_INLINE void tile(const float* row0, ptrdiff_t step, const float* Kx, int64_t cnt, vf (&acc)[R][V]) {
    alignas(32) float out[R * V * 8];
    tile_avx2<V, R>(row0, step, Kx, cnt, out);
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < V; ++v) acc[r][v] = vload(out + (r * V + v) * 8);
  }
  template <int RL>
  static FSNN_INLINE void corr(const float* q, const float* h, ptrdiff_t stride, int64_t cnt, double (&out)[RL]) {
    corr_avx2<RL>(q, h, stride, cnt, out);
  }
};
#endif

// ---------------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------------
// One block of kNB neurons: I in, S and V (may be null) out, rows ld apart. H: [T + 1][kNB] history
// (H[k] = v_k).
template <class Kn, bool LIF>
FSNN_INLINE void forward_block(const Ctx& c, const float* I, float* S, float* Vout, int64_t ld, float* H) {
  constexpr int V = kV, R = kR, NB = kNB;
  const int64_t T = c.T;
  const vf tau = vset(c.tau), thr = vset(c.thr), opc = vset(c.one_plus_c), one = vset(1.0f);
  const vf a1 = vset(c.a1), thrK = vset(c.thr_tau_K0), invK0 = vset(c.inv_K0);
  vf h[V];  // v_k
  for (int v = 0; v < V; ++v) {
    h[v] = vzero();
    vstore(H + 8 * v, h[v]);
  }
  for (int64_t k0 = 0; k0 < T; k0 += R) {
    vf acc[R][V];
    // History v_j, j <= k0, for the R outputs k0..k0+R-1: sum_j K_{k+1-j} v_j, j >= max(1, k0+2-M)
    // (without K_1 v_k0 for output k0, which the step folds in).
    const int64_t jlo = std::max<int64_t>(1, k0 + 2 - c.M);
    if (k0 >= jlo) {
      Kn::template tile<V, R>(H + k0 * NB, -NB, c.Kx, k0 - jlo + 1, acc);
    } else {
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) acc[r][v] = vzero();
    }
    for (int r = 0; r < R; ++r) {
      const int64_t k = k0 + r;
      if (k >= T) break;
      // The triangle inside the tile: v_{k0+1}..v_{k-1} (L = r..2); Kf is 0 beyond the window.
      for (int L = r; L >= 2; --L) {
        const vf kl = vset(c.Kf[L]);
        const float* hr = H + (k + 1 - L) * NB;
        for (int v = 0; v < V; ++v) acc[r][v] = vfma(kl, vload(hr + 8 * v), acc[r][v]);
      }
      for (int v = 0; v < V; ++v) {
        const vf iv = vload(I + k * ld + 8 * v);
        const vf pI = vdiv(iv, tau);
        const vf x = x_of<LIF>(h[v], iv, tau, thr, opc);
        // v_{k+1} for s_k = 0 and for s_k = 1, then the spike picks one: the step-to-step dependency
        // is an FMA, a compare and a blend.
        const vf w = vmul(vsub(pI, acc[r][v]), invK0);
        const vf vn = vblend_ge0(x, vfma(h[v], a1, vsub(w, thrK)), vfma(h[v], a1, w));
        h[v] = vn;
        vstore(H + (k + 1) * NB + 8 * v, vn);
        vstore(S + k * ld + 8 * v, vselect_ge0(x, one));
        if (Vout) vstore(Vout + k * ld + 8 * v, vn);
      }
    }
  }
}

struct FwdJob {
  Ctx c;
  const float* I;
  float* spikes;
  float* v;
  int64_t W, nslabs;
  bool streaming;  // non-temporal stores for the outputs
  int64_t ld_I;    // row stride of I: N, or 0 for a static input (one row for every step)
};

// Slabs come from a shared counter.
template <class Kn, bool LIF>
FSNN_INLINE void forward_worker_impl(const FwdJob& job, std::atomic<int64_t>& next) {
  const Ctx& c = job.c;
  const int64_t T = c.T, N = c.N, W = job.W, ld = staging_ld(W), TL = T * ld;
  // 64-byte aligned and uninitialised, from the allocator's cache (no fresh pages per call at long T).
  HostScratch<float> s_h(size_t(T + 1) * kNB), s_stage(size_t(3) * TL);
  float* H = s_h.data();
  float* sI = s_stage.data();  // staging [T][ld] for I, S, V
  float* sS = sI + TL;
  float* sV = sS + TL;
  for (int64_t s = next.fetch_add(1); s < job.nslabs; s = next.fetch_add(1)) {
    const int64_t n0 = s * W, nv = std::min(W, N - n0), nb = (nv + kNB - 1) / kNB;
    zero_block_padding(sI, 1, TL, T, ld, nv);  // defined (results there are discarded)
    load_slab(job.I + n0, job.ld_I, T, nv, sI, ld);
    for (int64_t b = 0; b < nb; ++b)
      forward_block<Kn, LIF>(c, sI + b * kNB, sS + b * kNB, job.v ? sV + b * kNB : nullptr, ld, H);
    Kn::store_slab(sS, ld, T, nv, job.spikes + n0, N, job.streaming);
    if (job.v) Kn::store_slab(sV, ld, T, nv, job.v + n0, N, job.streaming);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------------------
struct BwdJob {
  Ctx c;
  const float *I, *v, *spikes, *gS, *gV;
  float* gI;
  int64_t W, nslabs;
  bool streaming;
  int64_t ld_I;  // as FwdJob; with a static input (0) gI is [N]: sum_k dL/dI_k
  int64_t ngroups, group_slabs;
  double* gK_groups;    // [ngroups][T + 1]
  double* gTau_groups;  // [ngroups]
};

constexpr int kHPad = kRL;  // zero rows before H[0] (>= kRL - 2 needed by the correlation)

// One block of kNB neurons: I, v, S, gS, gV (may be null) in, gI out, rows ld apart. Scratch:
// H [kHPad + T + 1][kNB] (the first kHPad + 1 rows zero), Q, P, A, D, E [T + 1][kNB].
// Adds dL/dK_L into gk[L] (double) and returns dL/dtau of the block.
template <class Kn, bool LIF>
FSNN_INLINE double backward_block(const Ctx& c, const float* I, const float* Vs, const float* S, const float* gS,
                                  const float* gV, float* gI, int64_t ld, float* H, float* Q, float* P, float* A,
                                  float* D, float* E, double* gk) {
  constexpr int V = kV, R = kR, NB = kNB;
  const int64_t T = c.T;
  const vf tau = vset(c.tau), inv_tau = vset(c.inv_tau), thr = vset(c.thr), thr_tau = vset(c.thr_tau);
  const vf opc = vset(c.one_plus_c), K0 = vset(c.K0), invK0 = vset(c.inv_K0), a1 = vset(c.a1);
  const vf inv_tau2 = vmul(inv_tau, inv_tau), thr_tau2 = vmul(thr_tau, inv_tau);

  // Pass 1: local terms. For k = 0..T-1 (h = v_k; x_k, dv_k, s_k; a_k = gS_k sg(x_k)):
  //   H[k+1] = v_{k+1};  A[k] = a_k;  D[k] = s_k thr/tau^2 - dv_k/tau  (coefficient of q_k in dL/dtau);
  //   E[k] = a_k dv_k/tau (the local term of dL/dtau);
  //   P[k] = gV_k + a_k (1 + c): the known part of u_k = dL/dv_k, k >= 1 (gV_k = dL/dv_k = gV row k-1).
  for (int64_t k = 0; k < T; ++k) {
    for (int v = 0; v < V; ++v) {
      const int64_t o = k * NB + 8 * v, og = k * ld + 8 * v;
      const vf h = vload(H + o);
      const vf in = vload(I + og);
      const vf x = x_of<LIF>(h, in, tau, thr, opc);
      const vf dv_tau = vmul(LIF ? vsub(in, h) : in, inv_tau2);  // dv_k / tau
      alignas(32) float xs[8], sg[8];
      vstore(xs, x);
      surrogate_grad_lanes<8>(c.surrogate, xs, c.scale, sg);
      const vf a = vmul(vload(gS + og), vload(sg));
      vstore(H + o + NB, vload(Vs + og));
      vstore(A + o, a);
      vstore(D + o, vsub(vmul(vload(S + og), thr_tau2), dv_tau));
      if (k >= 1) vstore(P + o, vfma(a, opc, gV ? vload(gV + og - ld) : vzero()));
      vstore(E + o, vmul(a, dv_tau));
    }
  }

  // Pass 2: the adjoint recurrence, reverse time. q_{T-1} = u_T / K0 = gV_T / K0; then for k = T-1..1
  //   u_k = P[k] + c q_k - sum_{L=1}^{min(M-1, T-k)} K_L q_{k-1+L},   q_{k-1} = u_k / K0
  // evaluated as q_{k-1} = q_k (c - K_1)/K_0 + (P[k] - rest_k)/K_0 (see Ctx).
  vf qc[V];  // q_k
  for (int v = 0; v < V; ++v) {
    qc[v] = gV ? vdiv(vload(gV + (T - 1) * ld + 8 * v), K0) : vzero();
    vstore(Q + (T - 1) * NB + 8 * v, qc[v]);
  }
  for (int64_t k0 = T - 1; k0 >= 1; k0 -= R) {
    vf acc[R][V];
    // Known q_j, j >= k0, for outputs k = k0 - r: sum_j K_{j+1-k} q_j, j <= min(T-1, k0+M-2)
    // (without K_1 q_k0 for output k0, which the step folds in).
    const int64_t jhi = std::min<int64_t>(T - 1, k0 + c.M - 2);
    if (jhi >= k0) {
      Kn::template tile<V, R>(Q + k0 * NB, NB, c.Kx, jhi - k0 + 1, acc);
    } else {
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) acc[r][v] = vzero();
    }
    for (int r = 0; r < R; ++r) {
      const int64_t k = k0 - r;
      if (k < 1) break;
      for (int L = r; L >= 2; --L) {  // q_{k0-1}..q_{k+1} inside the tile
        const vf kl = vset(c.Kf[L]);
        const float* qr = Q + (k - 1 + L) * NB;
        for (int v = 0; v < V; ++v) acc[r][v] = vfma(kl, vload(qr + 8 * v), acc[r][v]);
      }
      for (int v = 0; v < V; ++v) {
        qc[v] = vfma(qc[v], a1, vmul(vsub(vload(P + k * NB + 8 * v), acc[r][v]), invK0));
        vstore(Q + (k - 1) * NB + 8 * v, qc[v]);
      }
    }
  }

  // Pass 3, reverse time: gI_k = (a_k + q_k) / tau; dL/dtau per neuron as fractional_op.h orders it:
  // t = fma(q_k, D_k, t - E_k) in float32, moved into float64 after every k that is a multiple of
  // kCorrChunk.
  vf tau_acc[V];
  double tau_lane[NB];
  for (int v = 0; v < V; ++v) tau_acc[v] = vzero();
  for (int i = 0; i < NB; ++i) tau_lane[i] = 0.0;
  for (int64_t k = T - 1; k >= 0; --k) {
    for (int v = 0; v < V; ++v) {
      const int64_t o = k * NB + 8 * v;
      const vf q = vload(Q + o);
      vstore(gI + k * ld + 8 * v, vmul(vadd(vload(A + o), q), inv_tau));
      tau_acc[v] = vfma(q, vload(D + o), vsub(tau_acc[v], vload(E + o)));
    }
    if (k % kCorrChunk == 0) {
      for (int v = 0; v < V; ++v) {
        alignas(32) float t[8];
        vstore(t, tau_acc[v]);
        for (int i = 0; i < 8; ++i) tau_lane[8 * v + i] += double(t[i]);
        tau_acc[v] = vzero();
      }
    }
  }
  double tau_sum = 0.0;
  for (int i = 0; i < NB; ++i) tau_sum += tau_lane[i];

  // Pass 4: gK_L = -sum_{j=L}^{T-1} q_j v_{j+1-L}, L = 0..min(T-1, M-1), kRL lags per register tile.
  const int64_t Lmax = std::min<int64_t>(T - 1, c.M - 1);
  for (int64_t L0 = 0; L0 <= Lmax; L0 += kRL) {
    for (int v = 0; v < V; ++v) {
      double sums[kRL];
      // q_j for j = L0..T-1 against H[j + 1 - L0 - l]
      Kn::template corr<kRL>(Q + L0 * NB + 8 * v, H + NB + 8 * v, NB, T - L0, sums);
      for (int l = 0; l < kRL && L0 + l <= Lmax; ++l) gk[L0 + l] -= sums[l];
    }
  }
  return tau_sum;
}

template <class Kn, bool LIF>
FSNN_INLINE void backward_worker_impl(const BwdJob& job, std::atomic<int64_t>& next) {
  const Ctx& c = job.c;
  const int64_t T = c.T, N = c.N, W = job.W, ld = staging_ld(W), TL = T * ld;
  HostScratch<float> s_blk(size_t(kHPad + T + 1) * kNB + size_t(5) * (T + 1) * kNB), s_stage(size_t(6) * TL);
  float* H = s_blk.data() + kHPad * kNB;
  std::fill(H - kHPad * kNB, H + kNB, 0.0f);  // rows -kHPad..0 of H: zero, and never written
  float* Q = H + (T + 1) * kNB;
  float* P = Q + (T + 1) * kNB;
  float* A = P + (T + 1) * kNB;
  float* D = A + (T + 1) * kNB;
  float* E = D + (T + 1) * kNB;
  float* sI = s_stage.data();  // staging [T][ld] for I, v, S, gS, gV, gI
  float* sv = sI + TL;
  float* sS = sv + TL;
  float* sgS = sS + TL;
  float* sgV = sgS + TL;
  float* sgI = sgV + TL;
  for (int64_t g = next.fetch_add(1); g < job.ngroups; g = next.fetch_add(1)) {
    double* gk = job.gK_groups + g * (T + 1);
    double gtau = 0.0;
    const int64_t s_end = std::min(job.nslabs, (g + 1) * job.group_slabs);
    for (int64_t s = g * job.group_slabs; s < s_end; ++s) {
      const int64_t n0 = s * W, nv = std::min(W, N - n0), nb = (nv + kNB - 1) / kNB;
      zero_block_padding(sI, 5, TL, T, ld, nv);  // the inputs' padding lanes must not add to gK, gTau
      load_slab(job.I + n0, job.ld_I, T, nv, sI, ld);
      load_slab(job.v + n0, N, T, nv, sv, ld);
      load_slab(job.spikes + n0, N, T, nv, sS, ld);
      load_slab(job.gS + n0, N, T, nv, sgS, ld);
      if (job.gV) load_slab(job.gV + n0, N, T, nv, sgV, ld);
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t o = b * kNB;
        gtau += backward_block<Kn, LIF>(c, sI + o, sv + o, sS + o, sgS + o, job.gV ? sgV + o : nullptr, sgI + o, ld,
                                        H, Q, P, A, D, E, gk);
      }
      if (job.ld_I == 0)  // sum_k dL/dI_k in the order of a sum over dim 0 (column_sum.h)
        sum_columns_f64(sgI, ld, T, nv, 1.0, job.gI + n0);
      else
        Kn::store_slab(sgI, ld, T, nv, job.gI + n0, N, job.streaming);
    }
    job.gTau_groups[g] = gtau;
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points per ISA
// ---------------------------------------------------------------------------------------------
void forward_worker_generic(const FwdJob& job, std::atomic<int64_t>& next) {
  if (job.c.lif)
    forward_worker_impl<GenericKernels, true>(job, next);
  else
    forward_worker_impl<GenericKernels, false>(job, next);
}
void backward_worker_generic(const BwdJob& job, std::atomic<int64_t>& next) {
  if (job.c.lif)
    backward_worker_impl<GenericKernels, true>(job, next);
  else
    backward_worker_impl<GenericKernels, false>(job, next);
}

#ifdef FSNN_FRAC_X86
FSNN_AVX2 void forward_worker_avx2(const FwdJob& job, std::atomic<int64_t>& next) {
  if (job.c.lif)
    forward_worker_impl<Avx2Kernels, true>(job, next);
  else
    forward_worker_impl<Avx2Kernels, false>(job, next);
}
FSNN_AVX2 void backward_worker_avx2(const BwdJob& job, std::atomic<int64_t>& next) {
  if (job.c.lif)
    backward_worker_impl<Avx2Kernels, true>(job, next);
  else
    backward_worker_impl<Avx2Kernels, false>(job, next);
}
#endif

std::atomic<bool> g_force_generic{false};

bool use_avx2() {
#ifdef FSNN_FRAC_X86
  static const bool has = cpu_has_avx2_fma();
  return has && !g_force_generic.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

// Outputs of at least this many bytes are written with non-temporal stores (they would not stay in
// the caches anyway; below it, the next op may find them there).
constexpr double kStreamBytes = 16.0 * 1024 * 1024;
bool stream_outputs(const FractionalParams& p) { return double(p.T) * double(p.N) * 4.0 >= kStreamBytes; }

// Validates p and fills the context; Kstore receives the float kernel tables.
Ctx make_ctx(const char* op, const FractionalParams& p, std::vector<float>& Kstore) {
  if (p.T < 0 || p.N < 0) fail(op, ": T and N must be >= 0 (got T=", p.T, ", N=", p.N, ")");
  if (p.memory < 1) fail(op, ": memory must be >= 1 (got ", p.memory, "); use T + 1 for the full history");
  if (!(p.tau != 0.0f)) fail(op, ": tau must be nonzero (got ", p.tau, ")");
  if (p.T > 0 && p.K == nullptr) fail(op, ": kernel K (length T + 1) is missing");
  if (p.T > 0 && !(p.K[0] != 0.0)) fail(op, ": K[0] must be nonzero (got ", p.K[0], ")");
  Ctx c{};
  c.T = p.T;
  c.N = p.N;
  c.M = std::min<int64_t>(p.memory, p.T + 1);
  c.lif = p.kind == NeuronKind::LIF;
  c.tau = p.tau;
  c.inv_tau = float(1.0 / double(p.tau));
  c.thr = p.threshold;
  c.thr_tau = p.threshold / p.tau;
  const double cd = c.lif ? -1.0 / double(p.tau) : 0.0;
  c.c = float(cd);
  c.one_plus_c = float(1.0 + cd);
  c.surrogate = p.surrogate;
  c.scale = p.scale;
  const size_t nKf = size_t(p.T) + kR + 2, nKx = (size_t(p.T) + 2) * kR;
  Kstore.assign(nKf + nKx, 0.0f);
  float* Kf = Kstore.data();
  float* Kx = Kf + nKf;
  if (p.T > 0) {
    const double K0 = float(p.K[0]), K1 = c.M >= 2 && p.T >= 1 ? double(float(p.K[1])) : 0.0;
    c.K0 = float(K0);
    c.inv_K0 = float(1.0 / K0);
    c.a1 = float((cd - K1) / K0);
    c.thr_tau_K0 = float(double(p.threshold) / (double(p.tau) * K0));
    for (int64_t L = 1; L <= p.T && L < c.M; ++L) Kf[L] = float(p.K[L]);
  }
  for (int64_t t = 0; t < p.T + 2; ++t)
    for (int r = 0; r < kR; ++r) Kx[t * kR + r] = Kf[1 + t + r];
  Kx[0] = 0.0f;  // K_1 v_k0 (forward) / K_1 q_k0 (backward) for the tile's first output: folded into a1
  c.Kf = Kf;
  c.Kx = Kx;
  return c;
}

}  // namespace

const char* fractional_cpu_kernel() {
  static const std::string generic = "generic " + std::to_string(kNB) + "x" + std::to_string(kR);
  static const std::string avx2 = "avx2-fma " + std::to_string(kNB) + "x" + std::to_string(kR);
  return use_avx2() ? avx2.c_str() : generic.c_str();
}

void fractional_cpu_force_generic(bool force) { g_force_generic.store(force); }

void fractional_forward(const FractionalParams& p, const float* I, float* spikes, float* v) {
  std::vector<float> Kstore;
  const Ctx c = make_ctx("fractional_forward", p, Kstore);
  if (p.T == 0 || p.N == 0) return;
  if (!I || !spikes) fail("fractional_forward: I and spikes must not be null");
  const int64_t W = slab_width(p.T, p.N, kFwdSlabFloats);
  const FwdJob job{c, I, spikes, v, W, (p.N + W - 1) / W, stream_outputs(p), p.static_input ? 0 : p.N};
  std::atomic<int64_t> next{0};
  const bool avx2 = use_avx2();
  const int64_t workers = std::min<int64_t>(num_threads(), job.nslabs);
  parallel_for(workers, 1, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {  // each call drains the shared slab counter
#ifdef FSNN_FRAC_X86
      if (avx2) {
        forward_worker_avx2(job, next);
        continue;
      }
#endif
      (void)avx2;
      forward_worker_generic(job, next);
    }
  });
}

void fractional_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes,
                         const float* gS, const float* gV, float* gI, double* gK, double* gTau) {
  std::vector<float> Kstore;
  const Ctx c = make_ctx("fractional_backward", p, Kstore);
  if (gK == nullptr) fail("fractional_backward: gK (length T + 1) is required");
  const int64_t T = p.T, N = p.N;
  std::fill(gK, gK + T + 1, 0.0);
  if (gTau) *gTau = 0.0;
  if (T == 0 || N == 0) return;
  if (!I || !v || !spikes || !gS || !gI)
    fail("fractional_backward: I, v, spikes, gS and gI must not be null (v is the trace saved by the forward)");
  // Slabs are grouped into at most kMaxGroups groups; each group's partial sums are accumulated in a
  // fixed order and the groups are added in a fixed order: the result does not depend on threads.
  const int64_t W = slab_width(T, N, kBwdSlabFloats), nslabs = (N + W - 1) / W;
  const int64_t ngroups0 = std::min<int64_t>(nslabs, kMaxGroups);
  const int64_t group_slabs = (nslabs + ngroups0 - 1) / ngroups0;
  const int64_t ngroups = (nslabs + group_slabs - 1) / group_slabs;
  std::vector<double> gk_groups(size_t(ngroups) * (T + 1), 0.0), gtau_groups(ngroups, 0.0);
  const BwdJob job{c, I, v, spikes, gS, gV, gI, W, nslabs, stream_outputs(p), p.static_input ? 0 : p.N, ngroups, group_slabs,
                   gk_groups.data(), gtau_groups.data()};
  std::atomic<int64_t> next{0};
  const bool avx2 = use_avx2();
  const int64_t workers = std::min<int64_t>(num_threads(), ngroups);
  parallel_for(workers, 1, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
#ifdef FSNN_FRAC_X86
      if (avx2) {
        backward_worker_avx2(job, next);
        continue;
      }
#endif
      (void)avx2;
      backward_worker_generic(job, next);
    }
  });
  for (int64_t g = 0; g < ngroups; ++g) {
    const double* src = gk_groups.data() + g * (T + 1);
    for (int64_t L = 0; L <= T; ++L) gK[L] += src[L];
  }
  if (gTau) {
    double t = 0.0;
    for (int64_t g = 0; g < ngroups; ++g) t += gtau_groups[g];
    *gTau = t;
  }
}

// The chain to the op's parameters (backend.h), in the order of fractional_op.h (kFracChainLanes).
void CpuBackend::fractional_chain(const Tensor& x, const double* table, int64_t rows, Tensor& out) {
  const int64_t n = x.numel() / 2;
  const float* hi = x.data();
  const float* lo = hi + n;
  float* o = out.data();
  for (int64_t r = 0; r < rows; ++r) {
    const double* t = table + r * n;
    double lane[kFracChainLanes];
    for (int l = 0; l < kFracChainLanes; ++l) {
      double s = 0.0;
      for (int64_t j = l; j < n; j += kFracChainLanes) {
        const double p = (double(hi[j]) + double(lo[j])) * t[j];
        s += p;
      }
      lane[l] = s;
    }
    for (int s = kFracChainLanes / 2; s >= 1; s /= 2)
      for (int i = 0; i < s; ++i) lane[i] += lane[i + s];
    o[r] = static_cast<float>(lane[0]);
  }
}

}  // namespace cpu
}  // namespace fsnn
