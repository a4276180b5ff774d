// CPU reductions and layout ops (permute, slice, concat blocks, index select/add, gather/scatter).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"  // vectors returned by inline helpers: an ABI note, not an error
#endif
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "column_sum.h"
#include "cpu_allocator.h"
#include "cpu_backend.h"
#include "cpu_features.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;

// o[k] = float(scale * S_k), S_k the column_sum.h order over the contiguous row x[k * R .. k * R + R - 1],
// for k < outer (a reduction with inner = 1: over the last dimension, or a whole tensor as outer = 1).
// Rows are summed eight side by side (sum_rows_f64), so the adds of different rows overlap. Long rows
// (outer = 1 included) are split into their blocks of kSumRowBlock, which are summed side by side on all
// threads and then added in block order; for outer = 1 that is the one way the threads share a row.
void reduce_contiguous_sums(const float* x, int64_t outer, int64_t R, double scale, float* o) {
  const int64_t blocks = std::max<int64_t>(1, (R + kSumRowBlock - 1) / kSumRowBlock);
  if (blocks == 1) {
    parallel_for(outer, std::max<int64_t>(8, kGrain / std::max<int64_t>(1, R)), [&](int64_t k0, int64_t k1) {
      double s[64];
      for (int64_t k = k0; k < k1; k += 64) {
        const int64_t m = std::min<int64_t>(64, k1 - k);
        sum_rows_f64(x + k * R, R, R, m, s);
        for (int64_t i = 0; i < m; ++i) o[k + i] = static_cast<float>((0.0 + s[i]) * scale);
      }
    });
    return;
  }
  // B[k][b]: block b of row k (the last block of a row may be shorter).
  const int64_t full = R / kSumRowBlock, tail = R - full * kSumRowBlock;
  HostScratch<double> part(size_t(outer * blocks));
  double* B = part.data();
  parallel_for(outer * full, 8, [&](int64_t w0, int64_t w1) {
    double s[8];
    for (int64_t w = w0; w < w1;) {  // runs of up to 8 full blocks of one row
      const int64_t k = w / full, b = w % full, m = std::min({int64_t(8), w1 - w, full - b});
      sum_rows_f64(x + k * R + b * kSumRowBlock, kSumRowBlock, kSumRowBlock, m, s);
      for (int64_t i = 0; i < m; ++i) B[k * blocks + b + i] = s[i];
      w += m;
    }
  });
  if (tail)
    parallel_for(outer, 8, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) sum_rows_f64(x + k * R + full * kSumRowBlock, 0, tail, 1, B + k * blocks + full);
    });
  parallel_for(outer, 4096, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) o[k] = static_cast<float>(add_block_sums(B + k * blocks, blocks, 1) * scale);
  });
}

// The running extremum of n columns over rows r0..r1-1 (row r at base + r * ld), in best / best_i:
//   better = (v > b for max, v < b for min) or (v is NaN and b is not);  if better: b = v, i = r
// So NaN propagates (as in PyTorch: the first NaN stays) and a tie keeps the earlier row. The compare runs on
// order keys (extremum_key): one integer compare per element. W columns at a time (one vector register) are
// held over a block of rows (about 64 KB of x), then stored; the last n % W columns go one at a time.
template <int W>
struct LaneVec {
  typedef float f __attribute__((vector_size(4 * W)));
  typedef int32_t i __attribute__((vector_size(4 * W)));
};
// The order key of float x as an int32: k(x) = x's sign times its bit magnitude, so that k(a) < k(b) exactly
// when a < b (and k(-0) = k(+0)); a NaN gets INT32_MAX for a max and INT32_MIN for a min, past every number.
template <bool kMax, class I>
inline __attribute__((always_inline)) I extremum_key(const I& bits) {
  const I mag = bits & 0x7fffffff, neg = bits >> 31;
  const I nan = (0x7f800000 - mag) >> 31;  // all ones where mag > Inf's
  const I plain = (mag ^ neg) - neg;
  return (plain & ~nan) | (nan & (kMax ? INT32_MAX : INT32_MIN));
}
inline int32_t float_bits(float x) {
  int32_t b;
  std::memcpy(&b, &x, sizeof(b));
  return b;
}
template <bool kMax, int W>
inline __attribute__((always_inline)) void extremum_rows(const float* base, int64_t ld, int64_t r0, int64_t r1,
                                                         int64_t n, float* best, int32_t* best_i) {
  typedef typename LaneVec<W>::f F;
  typedef typename LaneVec<W>::i I;
  const int64_t block = std::max<int64_t>(16, 16384 / std::max<int64_t>(1, n));
  for (int64_t rb = r0; rb < r1; rb += block) {
    const int64_t re = std::min(r1, rb + block);
    const int64_t nv = n - n % W;
    for (int64_t i = 0; i < nv; i += W) {
      F b;
      I bi;
      std::memcpy(&b, best + i, sizeof(b));
      std::memcpy(&bi, best_i + i, sizeof(bi));
      I bk = extremum_key<kMax>((I)b);
      for (int64_t r = rb; r < re; ++r) {
        F v;
        std::memcpy(&v, base + r * ld + i, sizeof(v));
        const I vk = extremum_key<kMax>((I)v);
        const I better = kMax ? vk > bk : vk < bk;  // all ones where better
        // Blends as bit masks: GCC 12 lowers a vector ?: through scalars.
        b = (F)(((I)v & better) | ((I)b & ~better));
        bk = (vk & better) | (bk & ~better);
        bi = (static_cast<int32_t>(r) & better) | (bi & ~better);
      }
      std::memcpy(best + i, &b, sizeof(b));
      std::memcpy(best_i + i, &bi, sizeof(bi));
    }
    for (int64_t i = nv; i < n; ++i) {
      int32_t bk = extremum_key<kMax>(float_bits(best[i]));
      for (int64_t r = rb; r < re; ++r) {
        const float v = base[r * ld + i];
        const int32_t vk = extremum_key<kMax>(float_bits(v));
        if (kMax ? vk > bk : vk < bk) best[i] = v, best_i[i] = static_cast<int32_t>(r), bk = vk;
      }
    }
  }
}
template <int W>
inline __attribute__((always_inline)) void max_rows_w(const float* base, int64_t ld, int64_t r0, int64_t r1,
                                                      int64_t n, float* best, int32_t* best_i) {
  extremum_rows<true, W>(base, ld, r0, r1, n, best, best_i);
}
template <int W>
inline __attribute__((always_inline)) void min_rows_w(const float* base, int64_t ld, int64_t r0, int64_t r1,
                                                      int64_t n, float* best, int32_t* best_i) {
  extremum_rows<false, W>(base, ld, r0, r1, n, best, best_i);
}
FSNN_CPU_DISPATCH_LANES(max_rows, (const float* base, int64_t ld, int64_t r0, int64_t r1, int64_t n, float* best, int32_t* best_i),
                        (base, ld, r0, r1, n, best, best_i), max_rows_w)
FSNN_CPU_DISPATCH_LANES(min_rows, (const float* base, int64_t ld, int64_t r0, int64_t r1, int64_t n, float* best, int32_t* best_i),
                        (base, ld, r0, r1, n, best, best_i), min_rows_w)

// Whether candidate (v, i) replaces (b, j) as the element a scan in index order keeps: the better order key
// (extremum_key: NaN past every number), and of equal keys the lower index. Candidates may come in any order.
bool replaces(bool is_max, float v, int64_t i, float b, int64_t j) {
  const int32_t vk = is_max ? extremum_key<true>(float_bits(v)) : extremum_key<false>(float_bits(v));
  const int32_t bk = is_max ? extremum_key<true>(float_bits(b)) : extremum_key<false>(float_bits(b));
  return (is_max ? vk > bk : vk < bk) || (vk == bk && i < j);
}

// The extremum of each contiguous row x[k * R .. k * R + R - 1] (a max or min over the last dimension, or of a
// whole tensor as outer = 1), and its index: the element and index an index-order scan with extremum_rows'
// rule keeps. A row is cut into blocks of up to kBlock elements (a long row's blocks go to all the threads);
// a block is read as [rows, 16] and scanned by extremum_rows across its 16 lanes, and the lanes' results, the
// block's tail and then the blocks are merged by replaces().
void reduce_contiguous_extrema(bool is_max, const float* x, int64_t outer, int64_t R, float* o, int32_t* idx) {
  constexpr int64_t kLanes = 16, kBlock = int64_t(1) << 16;
  const int64_t blocks = (R + kBlock - 1) / kBlock;
  HostScratch<float> part_v(size_t(outer * blocks));
  HostScratch<int64_t> part_i(size_t(outer * blocks));
  float* pv = part_v.data();
  int64_t* pi = part_i.data();
  parallel_for(outer * blocks, std::max<int64_t>(1, kGrain / std::min(R, kBlock)), [&](int64_t w0, int64_t w1) {
    alignas(64) float best[kLanes];
    alignas(64) int32_t best_i[kLanes];
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t k = w / blocks, b0 = (w % blocks) * kBlock, len = std::min(kBlock, R - b0);
      const float* src = x + k * R + b0;
      const int64_t rows = len / kLanes;
      float v = src[0];
      int64_t vi = 0, tail = 1;  // the block's element to keep, and where its scalar scan starts
      if (rows >= 2) {
        std::memcpy(best, src, sizeof(best));
        std::fill(best_i, best_i + kLanes, 0);
        if (is_max)
          max_rows(src, kLanes, 1, rows, kLanes, best, best_i);
        else
          min_rows(src, kLanes, 1, rows, kLanes, best, best_i);
        v = best[0], vi = int64_t(best_i[0]) * kLanes;  // lane l's element of row r is element r * 16 + l
        for (int64_t l = 1; l < kLanes; ++l) {
          const int64_t li = int64_t(best_i[l]) * kLanes + l;
          if (replaces(is_max, best[l], li, v, vi)) v = best[l], vi = li;
        }
        tail = rows * kLanes;
      }
      for (int64_t r = tail; r < len; ++r)
        if (replaces(is_max, src[r], r, v, vi)) v = src[r], vi = r;
      pv[w] = v;
      pi[w] = b0 + vi;
    }
  });
  parallel_for(outer, 4096, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      float v = pv[k * blocks];
      int64_t vi = pi[k * blocks];
      for (int64_t b = 1; b < blocks; ++b)
        if (replaces(is_max, pv[k * blocks + b], pi[k * blocks + b], v, vi)) v = pv[k * blocks + b], vi = pi[k * blocks + b];
      o[k] = v;
      if (idx) idx[k] = static_cast<int32_t>(vi);
    }
  });
}
}  // namespace

// out[o, i] = reduce_r x[o, r, i]; sums accumulate in double for accuracy.
// Work items are (o, a run of up to kReduceCols columns): a reduction over the leading dimension
// (outer = 1, as the bias gradients and a static input's sum over T are) still spreads over the threads,
// and each item's accumulators stay in L1. Every output is reduced over r in ascending order, so the
// result does not depend on how the items fall to threads.
void CpuBackend::reduce(ReduceOp op, const Tensor& xt, const ReducePlan& pl, Tensor& out, Tensor* indices) {
  constexpr int64_t kReduceCols = 512;
  const float* x = xt.data();
  float* o = out.data();
  int32_t* idx = indices ? indices->idata() : nullptr;
  const int64_t R = pl.reduce, In = pl.inner;
  if (pl.outer <= 0 || In <= 0) return;
  // Few outputs and long columns (a max or min over T x B rows; long sums are split by rows above): split
  // the columns over the threads too, in runs of at least 128 (narrower runs read too little of each row).
  int64_t cols = std::min(In, kReduceCols);
  if (pl.outer * ((In + cols - 1) / cols) < num_threads() && R * In >= (int64_t(1) << 20))
    cols = std::max<int64_t>(128, ((In + num_threads() - 1) / num_threads() + 15) / 16 * 16);
  cols = std::min(cols, In);
  const int64_t runs = (In + cols - 1) / cols;
  const bool is_sum = op == ReduceOp::Sum || op == ReduceOp::Mean;
  const double scale = op == ReduceOp::Mean ? 1.0 / static_cast<double>(R) : 1.0;
  const bool is_max = op == ReduceOp::Max;
  if (is_sum && In == 1) {
    reduce_contiguous_sums(x, pl.outer, R, scale, o);
    return;
  }
  if (!is_sum && In == 1) {
    reduce_contiguous_extrema(is_max, x, pl.outer, R, o, idx);
    return;
  }
  if (is_sum && pl.outer == 1 && R > kSumRowBlock) {
    // A long sum over the leading dimension (a bias gradient over T x B rows): the row blocks of
    // column_sum.h's order go to the threads, each block's float64 sums into its own row of partials, and
    // the partials are added in block order: the same bits as sum_columns_f64.
    const int64_t blocks = (R + kSumRowBlock - 1) / kSumRowBlock, cruns = (In + kSumColRun - 1) / kSumColRun;
    HostScratch<double> part(size_t(blocks * In));
    double* P = part.data();
    parallel_for(blocks * cruns, 1, [&](int64_t w0, int64_t w1) {
      for (int64_t w = w0; w < w1; ++w) {
        const int64_t b = w / cruns, c0 = (w % cruns) * kSumColRun, m = std::min(kSumColRun, In - c0);
        double* acc = P + b * In + c0;
        std::fill(acc, acc + m, 0.0);
        add_rows_f64_any(x + c0, In, b * kSumRowBlock, std::min(R, (b + 1) * kSumRowBlock), m, acc);
      }
    });
    parallel_for(In, 4096, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) o[j] = static_cast<float>(add_block_sums(P + j, blocks, In) * scale);
    });
    return;
  }
  parallel_for(pl.outer * runs, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, R * cols)), [&](int64_t w0, int64_t w1) {
    float best[kReduceCols];
    int32_t best_i[kReduceCols];
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t ou = w / runs, c0 = (w % runs) * cols, n = std::min(cols, In - c0);
      const float* base = x + ou * R * In + c0;
      float* dst = o + ou * In + c0;
      if (is_sum) {
        sum_columns_f64(base, In, R, n, scale, dst);
        continue;
      }
      for (int64_t i = 0; i < n; ++i) {
        best[i] = base[i];
        best_i[i] = 0;
      }
      if (is_max)
        max_rows(base, In, 1, R, n, best, best_i);
      else
        min_rows(base, In, 1, R, n, best, best_i);
      for (int64_t i = 0; i < n; ++i) {
        dst[i] = best[i];
        if (idx) idx[ou * In + c0 + i] = best_i[i];
      }
    }
  });
}

void CpuBackend::permute(const Tensor& xt, const std::vector<int64_t>& perm, Tensor& out) {
  const float* x = xt.data();
  float* o = out.data();
  const int64_t nd = static_cast<int64_t>(perm.size());
  const Shape in_strides = contiguous_strides(xt.shape);
  Shape src_stride(nd);
  for (int64_t d = 0; d < nd; ++d) src_stride[d] = in_strides[perm[d]];
  const Shape& oshape = out.shape;
  const int64_t inner = nd ? oshape[nd - 1] : 1;
  const int64_t rows = inner ? out.numel() / inner : 0;
  const int64_t inner_stride = nd ? src_stride[nd - 1] : 1;
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t rem = r, off = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        off += (rem % oshape[d]) * src_stride[d];
        rem /= oshape[d];
      }
      float* dst = o + r * inner;
      const float* src = x + off;
      for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * inner_stride];
    }
  });
}

void CpuBackend::slice(const Tensor& xt, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step,
                       int64_t out_dim, Tensor& out) {
  const float* x = xt.data();
  float* o = out.data();
  parallel_for(outer * out_dim, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ou = r / out_dim, j = r % out_dim;
      std::memcpy(o + r * inner, x + (ou * dim + start + j * step) * inner, sizeof(float) * inner);
    }
  });
}

void CpuBackend::slice_backward(const Tensor& gt, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                                int64_t step, int64_t out_dim, Tensor& grad_in) {
  const float* g = gt.data();
  float* o = grad_in.data();
  parallel_for(outer * out_dim, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ou = r / out_dim, j = r % out_dim;
      float* dst = o + (ou * dim + start + j * step) * inner;
      const float* src = g + r * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
    }
  });
}

// Rows longer than kCopyRun floats are split into runs, so that one long row (a concatenation along
// dim 0) is copied by all the threads.
void CpuBackend::copy_block(const Tensor& xt, int64_t outer, int64_t x_row, Tensor& out, int64_t out_row, int64_t col) {
  constexpr int64_t kCopyRun = 1 << 14;
  const float* x = xt.data();
  float* o = out.data();
  const int64_t len = std::min(x_row, kCopyRun), runs = (x_row + len - 1) / len;
  parallel_for(outer * runs, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, len)), [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t r = w / runs, c0 = (w % runs) * len, n = std::min(len, x_row - c0);
      std::memcpy(o + r * out_row + col + c0, x + r * x_row + c0, sizeof(float) * n);
    }
  });
}

void CpuBackend::index_select(const Tensor& xt, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx,
                              int64_t n_idx, Tensor& out) {
  const float* x = xt.data();
  float* o = out.data();
  parallel_for(outer * n_idx, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ou = r / n_idx, j = r % n_idx;
      std::memcpy(o + r * inner, x + (ou * dim + idx[j]) * inner, sizeof(float) * inner);
    }
  });
}

void CpuBackend::index_add(const Tensor& st, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx,
                           int64_t n_idx, Tensor& out) {
  const float* s = st.data();
  float* o = out.data();
  // Repeated indices write the same rows: parallelise over `outer` only.
  parallel_for(outer, 1, [&](int64_t o0, int64_t o1) {
    for (int64_t ou = o0; ou < o1; ++ou)
      for (int64_t j = 0; j < n_idx; ++j) {
        float* dst = o + (ou * dim + idx[j]) * inner;
        const float* src = s + (ou * n_idx + j) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
      }
  });
}

namespace {
// Offsets for gather/scatter: for each index position p (row-major over ishape), the element offset in
// a tensor of shape `full` with coordinate `dim` replaced by idx[p].
template <typename Fn>
void for_each_indexed(const Shape& ishape, const Shape& full, int64_t dim, const int32_t* idx, Fn fn) {
  const Shape fstride = contiguous_strides(full);
  const int64_t n = shape_numel(ishape);
  const int64_t nd = static_cast<int64_t>(ishape.size());
  for (int64_t p = 0; p < n; ++p) {
    int64_t rem = p, off = 0;
    for (int64_t d = nd - 1; d >= 0; --d) {
      const int64_t c = rem % ishape[d];
      rem /= ishape[d];
      off += (d == dim ? idx[p] : c) * fstride[d];
    }
    fn(p, off);
  }
}
}  // namespace

void CpuBackend::gather(const Tensor& xt, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) {
  const float* x = xt.data();
  float* o = out.data();
  for_each_indexed(ishape, xt.shape, dim, idx, [&](int64_t p, int64_t off) { o[p] = x[off]; });
}

void CpuBackend::scatter_add(const Tensor& st, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) {
  const float* s = st.data();
  float* o = out.data();
  for_each_indexed(ishape, out.shape, dim, idx, [&](int64_t p, int64_t off) { o[off] += s[p]; });
}

}  // namespace cpu
}  // namespace fsnn
