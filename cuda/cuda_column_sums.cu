// Stage 1 of the fixed-order column sums (column_sums.h).
#include "column_sums.h"
#include "cuda_backend.h"
#include "launch.h"

namespace fsnn {
namespace cuda {

namespace {
// Block (bx, by) sums rows [by R, (by + 1) R) of columns [32 bx, 32 bx + 32): thread (x, y) adds every
// kSlices-th row from row y in order, then the slices are added in order.
constexpr int kSlices = 8;
__global__ void __launch_bounds__(32 * kSlices)
    column_sums_kernel(const double* __restrict__ part, int64_t rows, int64_t cols, double* __restrict__ out) {
  FSNN_SHARED(double, sl, [kSlices][32]);
  const int64_t col = int64_t(blockIdx.x) * 32 + threadIdx.x;
  const int64_t r0 = int64_t(blockIdx.y) * kColumnSumRows;
  const int64_t r1 = r0 + kColumnSumRows < rows ? r0 + kColumnSumRows : rows;
  double s = 0.0;
  if (col < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kSlices) s += part[r * cols + col];
  sl[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    double t = 0.0;
    for (int y = 0; y < kSlices; ++y) t += sl[y][threadIdx.x];
    out[int64_t(blockIdx.y) * cols + col] = t;
  }
}
}  // namespace

void launch_column_sums(const double* part, int64_t rows, int64_t cols, double* sums, cudaStream_t stream) {
  const int64_t srows = column_sum_rows(rows);
  if (srows > 65535) fail("fractionalNeuron backward: too many neurons for the column sums (", rows, " rows)");
  launch(column_sums_kernel, dim3(unsigned((cols + 31) / 32), unsigned(srows)), dim3(32, kSlices), 0, stream, part, rows,
         cols, sums);
  check_launch("fractionalNeuron backward (column sums)");
}

}  // namespace cuda
}  // namespace fsnn
