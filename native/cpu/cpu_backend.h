// The CPU op table: threads from parallel.h, OpenBLAS's cblas_sgemm when built with it
// (FSNN_BLAS=builtin forces the built-in sgemm at run time), everything else written here.
#pragma once
#include "../backend.h"
#include "../fractional_history.h"

namespace fsnn {
namespace cpu {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::CPU; }
  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_device(void* dst, const void* src, size_t bytes) override;

#define FSNN_DEVICE_OP(ret, name, params) ret name params override;
#define FSNN_DEVICE_OP_CPU_ONLY(ret, name, params) ret name params override;
#include "../kernels.def"
  FSNN_BACKEND_OPS
  // The exact-history kernels (fractional_cpu.h) read a static input in place.
  bool fractional_static_input(const FractionalParams& p) const override { return !p.predictor && !p.fast; }
  int64_t fast_history_from_t() const override { return kFastHistoryFromT; }
  bool fractional_folds_linear(const FractionalParams& p) const override { return p.fast && !p.predictor && !p.static_input; }
};

// Row-major C = alpha op(A) op(B) + beta C through OpenBLAS or the built-in kernel (see blas_mode()).
void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// "openblas" or "builtin": what gemm() uses now (FSNN_BLAS=builtin forces the built-in one).
const char* blas_mode();
bool has_openblas();

}  // namespace cpu
}  // namespace fsnn
