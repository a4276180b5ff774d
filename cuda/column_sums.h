// Fixed-order float64 column sums over many rows, stage 1 (cuda_column_sums.cu): the fractional
// backwards' partial sums per neuron (block) reduced over the neurons on many blocks, so that the
// result does not depend on the GPU (the row split is a constant, not the device's size).
//   sums[s][j] = sum_{r in rows [s R, (s + 1) R)} part[r][j]   (R = kColumnSumRows, a fixed order)
// The caller's finish kernel adds sums[0..srows)[j] in order.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace fsnn {
namespace cuda {

constexpr int64_t kColumnSumRows = 256;

/** The rows of stage 1's output for `rows` input rows. */
inline int64_t column_sum_rows(int64_t rows) { return (rows + kColumnSumRows - 1) / kColumnSumRows; }

/** Enqueues stage 1 on `stream`: part [rows][cols] -> sums [column_sum_rows(rows)][cols], float64. */
void launch_column_sums(const double* part, int64_t rows, int64_t cols, double* sums, cudaStream_t stream);

}  // namespace cuda
}  // namespace fsnn
