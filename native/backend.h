// The op table: one implementation per device (ggml-style). The device-independent layer (ops.cc)
// checks arguments, infers shapes, allocates outputs and then calls exactly one of these methods.
// A backend never sees invalid input; it only computes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fractional_op.h"
#include "tensor.h"

namespace fsnn {

enum class UnaryOp : int {
  Neg, Exp, Log, Sqrt, Abs, Relu, Sigmoid, Tanh,
  Pow,        // x^p0
  Clamp,      // min(max(x, p0), p1)
  InRange,    // 1 where p0 <= x <= p1, else 0 (clamp's backward mask)
  Sign,       // -1, 0, 1
  Affine,     // p0 * x + p1
  Reciprocal, // 1 / x
  Square,     // x^2
};

enum class BinaryOp : int { Add, Sub, Mul, Div, Maximum, Minimum, Gt, Ge, Lt, Le, Eq, Ne };

enum class ReduceOp : int { Sum, Mean, Max, Min };

// Elementwise over a broadcast: out has `shape` (coalesced, at least 1-D); input i is read at
// sum_d index_d * strides[i][d] (stride 0 on broadcast dims).
struct BroadcastPlan {
  Shape shape;
  std::vector<Shape> strides;  // one per input
  bool same_shape = false;     // every input is contiguous with out's shape: a flat loop suffices
};

// Reduction of x viewed as [outer, reduce, inner] to [outer, inner].
struct ReducePlan {
  int64_t outer = 1, reduce = 1, inner = 1;
};

// Batched C[b] = op(A[b]) op(B[b]); A/B offsets per batch element (in floats) allow broadcast batches.
struct MatmulPlan {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  bool transA = false, transB = false;
  int64_t lda = 0, ldb = 0;
  std::vector<int64_t> a_offsets, b_offsets;  // size batch
};

struct Conv2dParams {
  int64_t N, C, H, W;        // input
  int64_t O, KH, KW;         // weight [O, C/groups, KH, KW]
  int64_t OH, OW;            // output
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
};

struct Pool2dParams {
  int64_t N, C, H, W, OH, OW;
  int64_t kh, kw, stride_h, stride_w, pad_h, pad_w;
  bool count_include_pad = true;  // avg pool only
};

enum class RandomKind : int { Uniform, Normal, Bernoulli };

struct AdamParams {
  float lr, beta1, beta2, eps, weight_decay;
  float one_minus_beta1, one_minus_beta2;  // 1 - beta in double, then rounded (as PyTorch)
  bool decoupled;        // AdamW: p -= lr * wd * p; Adam: g += wd * p
  bool amsgrad;
  double bias_correction1, bias_correction2;  // 1 - beta^t, computed on the host
  bool maximize;
};

struct SgdParams {
  float lr, momentum, dampening, weight_decay;
  bool nesterov, first_step, maximize;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // Memory
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_device(void* dst, const void* src, size_t bytes) = 0;
  virtual void synchronize() {}

  // Elementwise
  virtual void fill(Tensor& out, float value) = 0;
  virtual void unary(UnaryOp op, const Tensor& x, Tensor& out, float p0, float p1) = 0;
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) = 0;
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) = 0;
  // out += alpha * x (same shape), in place: gradient accumulation.
  virtual void axpy(float alpha, const Tensor& x, Tensor& out) = 0;

  // Reductions: values [outer, inner]; indices (int32, may be null) for Max/Min.
  virtual void reduce(ReduceOp op, const Tensor& x, const ReducePlan& plan, Tensor& out, Tensor* indices) = 0;

  // Linear algebra
  virtual void matmul(const Tensor& a, const Tensor& b, Tensor& out, const MatmulPlan& plan) = 0;

  // Layout: out = x permuted (out.shape[i] = x.shape[perm[i]]).
  virtual void permute(const Tensor& x, const std::vector<int64_t>& perm, Tensor& out) = 0;
  // x viewed as [outer, dim, inner]: out[o, j, i] = x[o, start + j*step, i], j < out_dim.
  virtual void slice(const Tensor& x, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step,
                     int64_t out_dim, Tensor& out) = 0;
  // The adjoint of slice: grad_in (zero-filled by the caller) [outer, dim, inner] += scattered grad.
  virtual void slice_backward(const Tensor& grad, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                              int64_t step, int64_t out_dim, Tensor& grad_in) = 0;
  // Copies x viewed as [outer, xdim*inner] into out [outer, out_row] at column offset `col`.
  virtual void copy_block(const Tensor& x, int64_t outer, int64_t x_row, Tensor& out, int64_t out_row, int64_t col) = 0;
  // x viewed as [outer, dim, inner]; out[o, j, i] = x[o, idx[j], i]. idx is a host array.
  virtual void index_select(const Tensor& x, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx,
                            int64_t n_idx, Tensor& out) = 0;
  // out [outer, dim, inner] (zero-filled by the caller) [o, idx[j], i] += src[o, j, i].
  virtual void index_add(const Tensor& src, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx,
                         int64_t n_idx, Tensor& out) = 0;
  // PyTorch gather along `dim` with an index of shape ishape (host int32): out[..j..] = x[..idx[..j..]..].
  virtual void gather(const Tensor& x, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) = 0;
  // The adjoint: out (zero-filled, x's shape) [..idx..] += src.
  virtual void scatter_add(const Tensor& src, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) = 0;

  // Neural-network ops
  // x viewed as [outer, C, inner]; softmax (or log-softmax) over C.
  virtual void softmax(const Tensor& x, int64_t outer, int64_t C, int64_t inner, bool log, Tensor& out) = 0;
  virtual void conv2d(const Tensor& x, const Tensor& w, Tensor& out, const Conv2dParams& p) = 0;
  virtual void conv2d_backward_input(const Tensor& grad, const Tensor& w, Tensor& grad_x, const Conv2dParams& p) = 0;
  virtual void conv2d_backward_weight(const Tensor& grad, const Tensor& x, Tensor& grad_w, const Conv2dParams& p) = 0;
  virtual void max_pool2d(const Tensor& x, Tensor& out, Tensor& indices, const Pool2dParams& p) = 0;
  virtual void max_pool2d_backward(const Tensor& grad, const Tensor& indices, Tensor& grad_x, const Pool2dParams& p) = 0;
  virtual void avg_pool2d(const Tensor& x, Tensor& out, const Pool2dParams& p) = 0;
  virtual void avg_pool2d_backward(const Tensor& grad, Tensor& grad_x, const Pool2dParams& p) = 0;

  // Counter-based random numbers (philox.h): element i uses counter offset + i.
  virtual void random(RandomKind kind, uint64_t seed, uint64_t offset, float p, Tensor& out) = 0;

  // The fractional neuron op (fractional_op.h). v may be null when nothing is saved.
  // The backward writes gI and, on the same device (no host wait), dK and dtau as float32 pairs
  // x = hi + lo (hi = float(x), lo = float(x - hi), x in float64): gK [2, T + 1] (row 0 hi, row 1 lo;
  // 0 for unused lags), gTau [2].
  virtual void fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) = 0;
  virtual void fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                                   const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) = 0;
  // The chain from those pairs to the op's parameters, on the same device (no host wait):
  //   out[r] = float( sum_{j<n} (x_hi[j] + x_lo[j]) table[r n + j] ),  r < rows,
  // x [2, n] (row 0 hi, row 1 lo), table a host float64 [rows][n] array (e.g. dK_L/dalpha_m), out
  // float32 [rows]. The products and the sum are float64, in a fixed order (thread-count independent).
  virtual void fractional_chain(const Tensor& x, const double* table, int64_t rows, Tensor& out) = 0;

  // Fused optimizer steps, in place.
  virtual void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* vmax, const AdamParams& p) = 0;
  virtual void sgd_step(Tensor& param, const Tensor& grad, Tensor* momentum_buf, const SgdParams& p) = 0;

  // Backend-specific information for diagnostics.
  virtual std::string info() const = 0;
};

// The compute ops every device's table overrides, declared once for all backends:
//   class XBackend final : public Backend { public: FSNN_BACKEND_OPS ... };
#define FSNN_BACKEND_OPS \
  void fill(Tensor& out, float value) override; \
  void unary(UnaryOp op, const Tensor& x, Tensor& out, float p0, float p1) override; \
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) override; \
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) override; \
  void axpy(float alpha, const Tensor& x, Tensor& out) override; \
  void reduce(ReduceOp op, const Tensor& x, const ReducePlan& plan, Tensor& out, Tensor* indices) override; \
  void matmul(const Tensor& a, const Tensor& b, Tensor& out, const MatmulPlan& plan) override; \
  void permute(const Tensor& x, const std::vector<int64_t>& perm, Tensor& out) override; \
  void slice(const Tensor& x, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step, int64_t out_dim, Tensor& out) override; \
  void slice_backward(const Tensor& grad, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step, int64_t out_dim, Tensor& grad_in) override; \
  void copy_block(const Tensor& x, int64_t outer, int64_t x_row, Tensor& out, int64_t out_row, int64_t col) override; \
  void index_select(const Tensor& x, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx, int64_t n_idx, Tensor& out) override; \
  void index_add(const Tensor& src, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx, int64_t n_idx, Tensor& out) override; \
  void gather(const Tensor& x, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) override; \
  void scatter_add(const Tensor& src, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) override; \
  void softmax(const Tensor& x, int64_t outer, int64_t C, int64_t inner, bool log, Tensor& out) override; \
  void conv2d(const Tensor& x, const Tensor& w, Tensor& out, const Conv2dParams& p) override; \
  void conv2d_backward_input(const Tensor& grad, const Tensor& w, Tensor& grad_x, const Conv2dParams& p) override; \
  void conv2d_backward_weight(const Tensor& grad, const Tensor& x, Tensor& grad_w, const Conv2dParams& p) override; \
  void max_pool2d(const Tensor& x, Tensor& out, Tensor& indices, const Pool2dParams& p) override; \
  void max_pool2d_backward(const Tensor& grad, const Tensor& indices, Tensor& grad_x, const Pool2dParams& p) override; \
  void avg_pool2d(const Tensor& x, Tensor& out, const Pool2dParams& p) override; \
  void avg_pool2d_backward(const Tensor& grad, Tensor& grad_x, const Pool2dParams& p) override; \
  void random(RandomKind kind, uint64_t seed, uint64_t offset, float p, Tensor& out) override; \
  void fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) override; \
  void fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes, const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) override; \
  void fractional_chain(const Tensor& x, const double* table, int64_t rows, Tensor& out) override; \
  void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* vmax, const AdamParams& p) override; \
  void sgd_step(Tensor& param, const Tensor& grad, Tensor* momentum_buf, const SgdParams& p) override; \
  std::string info() const override;

// The backend for a device; throws a clear error when that device is unavailable.
Backend& backend_for(Device device);
// The CUDA backend, or null when the addon has no CUDA or the machine has no usable GPU.
Backend* cuda_backend_or_null();

}  // namespace fsnn
