// Column sums in float64: the one summation order of a reduction over a leading dimension on the CPU
// (CpuBackend::reduce), which the fractional op's static-input gradient must reproduce bit for bit.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu_features.h"

namespace fsnn {
namespace cpu {

//   dst[j] = float(scale * sum_{r < R} src[r * ld + j]),  j < n:  float64, r ascending
inline __attribute__((always_inline)) void sum_columns_f64_body(const float* src, int64_t ld, int64_t R, int64_t n,
                                                                double scale, float* dst) {
  constexpr int64_t kRun = 512;  // accumulators per pass, in L1
  double acc[kRun];
  for (int64_t j0 = 0; j0 < n; j0 += kRun) {
    const int64_t m = std::min(kRun, n - j0);
    std::fill(acc, acc + m, 0.0);
    for (int64_t r = 0; r < R; ++r) {
      const float* row = src + r * ld + j0;
      for (int64_t j = 0; j < m; ++j) acc[j] += row[j];
    }
    for (int64_t j = 0; j < m; ++j) dst[j0 + j] = static_cast<float>(acc[j] * scale);
  }
}
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
// The same loop compiled for wider registers (8 or 4 doubles per add instead of 2): each column's sum is the
// same additions in the same order, so the same bits.
__attribute__((target("avx512f,avx512dq,avx2,fma"))) inline void sum_columns_f64_avx512(const float* src, int64_t ld,
                                                                                         int64_t R, int64_t n,
                                                                                         double scale, float* dst) {
  sum_columns_f64_body(src, ld, R, n, scale, dst);
}
__attribute__((target("avx2,fma"))) inline void sum_columns_f64_avx2(const float* src, int64_t ld, int64_t R, int64_t n,
                                                                     double scale, float* dst) {
  sum_columns_f64_body(src, ld, R, n, scale, dst);
}
#endif
inline void sum_columns_f64(const float* src, int64_t ld, int64_t R, int64_t n, double scale, float* dst) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_has_avx512()) return sum_columns_f64_avx512(src, ld, R, n, scale, dst);
  if (cpu_has_avx2_fma()) return sum_columns_f64_avx2(src, ld, R, n, scale, dst);
#endif
  sum_columns_f64_body(src, ld, R, n, scale, dst);
}

}  // namespace cpu
}  // namespace fsnn
