// The CPU op table: threads from parallel.h, OpenBLAS's cblas_sgemm when built with it
// (FSNN_BLAS=builtin forces the built-in sgemm at run time), everything else written here.
#pragma once
#include "../backend.h"

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

  void fill(Tensor& out, float value) override;
  void unary(UnaryOp op, const Tensor& x, Tensor& out, float p0, float p1) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) override;
  void axpy(float alpha, const Tensor& x, Tensor& out) override;

  void reduce(ReduceOp op, const Tensor& x, const ReducePlan& plan, Tensor& out, Tensor* indices) override;
  void matmul(const Tensor& a, const Tensor& b, Tensor& out, const MatmulPlan& plan) override;

  void permute(const Tensor& x, const std::vector<int64_t>& perm, Tensor& out) override;
  void slice(const Tensor& x, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step, int64_t out_dim,
             Tensor& out) override;
  void slice_backward(const Tensor& grad, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step,
                      int64_t out_dim, Tensor& grad_in) override;
  void copy_block(const Tensor& x, int64_t outer, int64_t x_row, Tensor& out, int64_t out_row, int64_t col) override;
  void index_select(const Tensor& x, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx, int64_t n_idx,
                    Tensor& out) override;
  void index_add(const Tensor& src, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx, int64_t n_idx,
                 Tensor& out) override;
  void gather(const Tensor& x, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) override;
  void scatter_add(const Tensor& src, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) override;

  void softmax(const Tensor& x, int64_t outer, int64_t C, int64_t inner, bool log, Tensor& out) override;
  void conv2d(const Tensor& x, const Tensor& w, Tensor& out, const Conv2dParams& p) override;
  void conv2d_backward_input(const Tensor& grad, const Tensor& w, Tensor& grad_x, const Conv2dParams& p) override;
  void conv2d_backward_weight(const Tensor& grad, const Tensor& x, Tensor& grad_w, const Conv2dParams& p) override;
  void max_pool2d(const Tensor& x, Tensor& out, Tensor& indices, const Pool2dParams& p) override;
  void max_pool2d_backward(const Tensor& grad, const Tensor& indices, Tensor& grad_x, const Pool2dParams& p) override;
  void avg_pool2d(const Tensor& x, Tensor& out, const Pool2dParams& p) override;
  void avg_pool2d_backward(const Tensor& grad, Tensor& grad_x, const Pool2dParams& p) override;

  void random(RandomKind kind, uint64_t seed, uint64_t offset, float p, Tensor& out) override;

  void fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) override;
  void fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                           const Tensor& gS, const Tensor* gV, Tensor& gI, double* gK, double* gTau) override;

  void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* vmax, const AdamParams& p) override;
  void sgd_step(Tensor& param, const Tensor& grad, Tensor* momentum_buf, const SgdParams& p) override;

  std::string info() const override;
};

// Row-major C = alpha op(A) op(B) + beta C through OpenBLAS or the built-in kernel (see blas_mode()).
void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// "openblas" or "builtin": what gemm() uses now (FSNN_BLAS=builtin forces the built-in one).
const char* blas_mode();
bool has_openblas();

}  // namespace cpu
}  // namespace fsnn
