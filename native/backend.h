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

// UnaryOp, BinaryOp, ReduceOp, RandomKind: declared once in kernels.def (their JavaScript names too).
#define FSNN_ENUM(E) enum class E : int {
#define FSNN_ENUM_VALUE(E, C, js) C,
#define FSNN_ENUM_END(E) };
#include "kernels.def"

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

  // The device ops declared in kernels.def (FSNN_DEVICE_OP): a device that has no body for one fails
  // with a clear error naming the op and the device.
#define FSNN_DEVICE_OP(ret, name, params) virtual ret name params { no_body(#name); }
#define FSNN_DEVICE_OP_CPU_ONLY(ret, name, params) FSNN_DEVICE_OP(ret, name, params)
#include "kernels.def"

  // The fractional neuron op (fractional_op.h). v may be null when nothing is saved. The forward returns the
  // flat index of the first Inf or NaN in v (v's numel when there is none) where the device checks the
  // membrane, else kNotScanned (declared below).
  // The backward writes gI and, on the same device (no host wait), dK and dtau as float32 pairs
  // x = hi + lo (hi = float(x), lo = float(x - hi), x in float64): gK [2, T + 1] (row 0 hi, row 1 lo;
  // 0 for unused lags), gTau [2].
  virtual int64_t fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) = 0;
  // Whether fractional_forward / fractional_backward read a static input themselves (p.static_input: I is
  // [1, ...] for all T steps, gI its sum over them). When not, ops repeats I over T and sums gI over T.
  virtual bool fractional_static_input(const FractionalParams& p) const {
    (void)p;
    return false;
  }
  // From how many steps T history 'auto' runs the fast history on this device (its measured crossover;
  // fractional_history.h); 0: not measured here, so 'auto' runs the exact history.
  virtual int64_t fast_history_from_t() const { return 0; }
  // Whether fractional_backward folds the linear layer before the neuron into its pass (p.linear_fold,
  // fractional_op.h). When not, ops writes gI and reduces it with the layer's input.
  virtual bool fractional_folds_linear(const FractionalParams& p) const {
    (void)p;
    return false;
  }
  virtual void fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                                   const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) = 0;
  // The chain from those pairs to the op's parameters, on the same device (no host wait):
  //   out[r] = float( sum_{j<n} (x_hi[j] + x_lo[j]) table[r n + j] ),  r < rows,
  // x [2, n] (row 0 hi, row 1 lo), table a host float64 [rows][n] array (e.g. dK_L/dalpha_m), out
  // float32 [rows]. The products and the sum are float64, in a fixed order (thread-count independent).
  virtual void fractional_chain(const Tensor& x, const double* table, int64_t rows, Tensor& out) = 0;

  // Backend-specific information for diagnostics.
  virtual std::string info() const = 0;

 protected:
  [[noreturn]] void no_body(const char* op) const {
    fail(op, ": the ", device_name(device()), " backend has no body for this op yet; run it on the cpu (.to('cpu'))");
  }
};

// first_non_finite's (and fractional_forward's) answer where a device does not scan.
constexpr int64_t kNotScanned = -1;

// The overrides every device's table declares in its class body:
//   class XBackend final : public Backend {
//    public:
//   #define FSNN_DEVICE_OP(ret, name, params) ret name params override;
//   #include "kernels.def"       // (the CPU also defines FSNN_DEVICE_OP_CPU_ONLY the same way)
//     FSNN_BACKEND_OPS
//   };
#define FSNN_BACKEND_OPS \
  int64_t fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) override; \
  void fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes, const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) override; \
  void fractional_chain(const Tensor& x, const double* table, int64_t rows, Tensor& out) override; \
  std::string info() const override;

// The backend for a device; throws a clear error when that device is unavailable.
Backend& backend_for(Device device);
// The CUDA backend, or null when the addon has no CUDA or the machine has no usable GPU.
Backend* cuda_backend_or_null();

}  // namespace fsnn
