// Column sums in float64: the one summation order of a reduction over a leading dimension on the CPU
// (CpuBackend::reduce, linearWeightBiasGrad's bias gradient), which the fractional op's static-input
// gradient must reproduce bit for bit.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu_features.h"

namespace fsnn {
namespace cpu {

// The order (one for every reduction over a leading dimension on the CPU):
//   S_j = sum over blocks b = 0, 1, .. of B_bj, added in b order to 0,   B_bj = sum_{r in block b} src[r * ld + j]
// in float64, rows ascending within a block of kSumRowBlock rows; dst[j] = float(scale * S_j). Up to
// kSumRowBlock rows that is the plain ascending sum. The blocks let a long reduction split its rows over the
// threads (CpuBackend::reduce) with the same bits as this sequential form: threads given column ranges of
// the same rows stream memory at half the rate of threads given row ranges.
constexpr int64_t kSumRowBlock = 8192;
constexpr int64_t kSumColRun = 512;  // accumulators per pass, in L1

// acc[j] (+)= the rows r0..r1-1 of columns 0..m-1 (m <= kSumColRun), float64, rows ascending.
inline __attribute__((always_inline)) void add_rows_f64(const float* src, int64_t ld, int64_t r0, int64_t r1,
                                                        int64_t m, double* acc) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = src + r * ld;
    for (int64_t j = 0; j < m; ++j) acc[j] += row[j];
  }
}

// add_rows_f64 with the widest registers the CPU has (8 or 4 doubles per add instead of 2): each column's sum
// is the same additions in the same order, so the same bits.
FSNN_CPU_DISPATCH(add_rows_f64_any, (const float* src, int64_t ld, int64_t r0, int64_t r1, int64_t m, double* acc),
                  (src, ld, r0, r1, m, acc), add_rows_f64)

// S_j from its blocks' sums B_bj at p[b * stride] (b < blocks), added in block order to 0: the last step of the
// order above, for the forms that sum the blocks apart (on different threads).
inline double add_block_sums(const double* p, int64_t blocks, int64_t stride) {
  double total = 0.0;
  for (int64_t b = 0; b < blocks; ++b) total += p[b * stride];
  return total;
}

// out[k] = the float64 sum of src[k * stride + r] over r = 0 .. len - 1, ascending, for k < count: the
// order above for one column (ld = stride), used where the reduced elements are contiguous (inner = 1:
// a sum over the last dimension, or a whole tensor's row blocks). One sum is one chain of dependent adds,
// so eight rows go side by side, each in its own accumulator; each row's adds and their order, and so
// its bits, are those of add_rows_f64 with m = 1.
inline void sum_rows_f64(const float* src, int64_t stride, int64_t len, int64_t count, double* out) {
  constexpr int kSide = 8;
  int64_t k = 0;
  for (; k + kSide <= count; k += kSide) {
    const float* p = src + k * stride;
    double a[kSide] = {};
    for (int64_t r = 0; r < len; ++r)
      for (int l = 0; l < kSide; ++l) a[l] += p[l * stride + r];
    for (int l = 0; l < kSide; ++l) out[k + l] = a[l];
  }
  for (; k < count; ++k) {
    double a = 0.0;
    for (int64_t r = 0; r < len; ++r) a += src[k * stride + r];
    out[k] = a;
  }
}

// The order above, sequentially.
inline void sum_columns_f64(const float* src, int64_t ld, int64_t R, int64_t n, double scale, float* dst) {
  double total[kSumColRun], block[kSumColRun];
  for (int64_t j0 = 0; j0 < n; j0 += kSumColRun) {
    const int64_t m = std::min(kSumColRun, n - j0);
    std::fill(total, total + m, 0.0);
    for (int64_t r0 = 0; r0 < R; r0 += kSumRowBlock) {
      std::fill(block, block + m, 0.0);
      add_rows_f64_any(src + j0, ld, r0, std::min(R, r0 + kSumRowBlock), m, block);
      for (int64_t j = 0; j < m; ++j) total[j] += block[j];
    }
    for (int64_t j = 0; j < m; ++j) dst[j0 + j] = static_cast<float>(total[j] * scale);
  }
}

}  // namespace cpu
}  // namespace fsnn
