// The device-independent op layer: every op checks its arguments here (one place), infers the
// output shape, allocates the output on the inputs' device and dispatches to that device's op table.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "backend.h"
#include "fractional_history.h"
#include "fractional_kernel.h"

namespace fsnn {
namespace ops {

// Live bytes held by tensors on each device (for memory statistics and tests).
size_t live_bytes(Device device);

Tensor empty(const Shape& shape, Device device, DType dtype = DType::Float32);
Tensor from_host(const void* data, const Shape& shape, Device device, DType dtype = DType::Float32);
void to_host(const Tensor& t, void* dst);
Tensor to_device(const Tensor& t, Device device);
Tensor clone(const Tensor& t);
Tensor reshape(const Tensor& t, Shape shape);  // a view sharing storage; one -1 is inferred
Tensor full(const Shape& shape, float value, Device device);

Tensor unary(UnaryOp op, const Tensor& x, float p0 = 0.f, float p1 = 0.f);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
void axpy_(Tensor& out, float alpha, const Tensor& x);  // out += alpha x, same shape
void copy_(Tensor& dst, const Tensor& src);             // same shape, any devices
void fill_(Tensor& dst, float value);

// Returns values and (for Max/Min with want_indices) int32 indices into the reduced block.
std::pair<Tensor, Tensor> reduce(ReduceOp op, const Tensor& x, std::vector<int64_t> dims, bool keepdim,
                                 bool want_indices = false);
Tensor matmul(const Tensor& a, const Tensor& b, bool transA, bool transB);
// x [M, K] (a spike tensor) times w [N, K] transposed: [M, N]; off the CPU the dense matmul.
Tensor spike_matmul(const Tensor& x, const Tensor& w, SpikePath path);
// g [M, N] transposed times x [M, K] (a spike tensor): [N, K]; off the CPU the dense matmul.
Tensor spike_matmul_weight_grad(const Tensor& g, const Tensor& x, SpikePath path);
// A linear layer's output x [M, K] w^T + bias, w [N, K], bias [N]: the product and the add, or one pass where
// the device has one (the CPU for K <= 16: the bias added to each rounded product, the same bits).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias);
// A linear layer's weight and bias gradients, g [M, N] and its input x [M, K]: {g^T x [N, K], g summed over
// its rows [N]}. With few input features (K <= kLinearGradOnePassMaxK) on the CPU, one pass over g in float64
// (the products are memory-bound there); otherwise the matmul and the column sum (the same bits as those ops).
constexpr int64_t kLinearGradOnePassMaxK = 4;
std::pair<Tensor, Tensor> linear_weight_bias_grad(const Tensor& g, const Tensor& x);

Tensor permute(const Tensor& x, const std::vector<int64_t>& perm);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step);
Tensor slice_backward(const Tensor& grad, const Shape& input_shape, int64_t dim, int64_t start, int64_t end,
                      int64_t step);
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
Tensor index_select(const Tensor& x, int64_t dim, const std::vector<int32_t>& idx);
Tensor index_add(const Shape& shape, int64_t dim, const std::vector<int32_t>& idx, const Tensor& src);
Tensor gather(const Tensor& x, int64_t dim, const std::vector<int32_t>& idx, const Shape& ishape);
Tensor scatter_add(const Shape& shape, int64_t dim, const std::vector<int32_t>& idx, const Shape& ishape,
                   const Tensor& src);

Tensor softmax(const Tensor& x, int64_t dim, bool log);
struct Conv2dArgs {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
};
Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dArgs& args);
Tensor conv2d_backward_input(const Tensor& grad, const Tensor& w, const Shape& x_shape, const Conv2dArgs& args);
Tensor conv2d_backward_weight(const Tensor& grad, const Tensor& x, const Shape& w_shape, const Conv2dArgs& args);
struct Pool2dArgs {
  int64_t kh = 2, kw = 2, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
  bool count_include_pad = true;
  bool ceil_mode = false;
};
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Pool2dArgs& args);
Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& x_shape, const Pool2dArgs& args);
Tensor avg_pool2d(const Tensor& x, const Pool2dArgs& args);
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& x_shape, const Pool2dArgs& args);

Tensor random(RandomKind kind, const Shape& shape, uint64_t seed, uint64_t offset, float p, Device device);
// [steps, ...probs.shape] Bernoulli draws on probs' device (kernels.def); probs must lie in [0, 1] (checked
// on the CPU; on other devices a value outside acts as clamped, NaN as 0).
Tensor bernoulli_steps(const Tensor& probs, int64_t steps, uint64_t seed, uint64_t offset);

// ---- the fractional neuron op (fractional_op.h; kernel: fractional_kernel.h) ----
struct FractionalResult {
  Tensor spikes, v;  // v is empty when not saved
};
// With the kernel K_0..K_T given in p.K (an inference plan's kernel, built earlier).
FractionalResult fractional_forward(const Tensor& I, const FractionalParams& p, bool save_trace);
// With the kernel of (method, orders, weights, h) for T = I.shape[0] from the kernel module's cache:
// p's T, N and K are filled in here, and the memory window is capped at T + 1. history: fractional_history.h
// (resolved here; the backward must be given the same). steps > 0: I is a static input, one step
// [1, ...] that holds at each of T = steps steps (the outputs have T steps); the backend reads it in
// place where it can (Backend::fractional_static_input), else it is repeated first.
FractionalResult fractional_forward(const Tensor& I, const FractionalKernelSpec& kernel, FractionalParams p,
                                    bool save_trace, FractionalHistory history = FractionalHistory::Exact,
                                    int64_t steps = 0);
// Which parameter gradients fractional_backward chains from dL/dK and dL/dtau (next to them, on I's device).
struct FractionalGradRequest {
  bool alpha = false;      // gAlpha [terms]: gAlpha_m = sum_L dL/dK_L dK_L/dalpha_m
  bool weight = false;     // gWeight [terms]: gWeight_m = sum_L dL/dK_L dK_L/dw_m
  bool tau = false;        // gTau [1] = dL/dtau * tau_scale
  double tau_scale = 1.0;  // dtau/dtheta of a parameterised tau (e.g. tau0 e^theta), 1 for dL/dtau itself
  bool pairs = false;      // also return the backend's float32 pairs gK, gTauPair (tests, diagnostics)
  // I is the input current whose forward (fractional_forward) this backward follows and that forward
  // found it finite: the backward need not scan it again (autograd passes this; direct calls do not).
  bool input_checked = false;
};
struct FractionalGrads {
  Tensor gI;  // the shape of I (with steps > 0, the static input's sum over the steps); empty with linear_x
  Tensor gLinearWeight, gLinearBias;  // with linear_x: the linear layer's [F, K] and [F] (fractional_backward)
  Tensor gAlpha, gWeight, gTau;  // float32, on I's device; empty when not requested (and for euler: no terms)
  Tensor gK;        // when pairs: [2, T + 1] float32 hi/lo pairs of dL/dK_L (Backend::fractional_backward);
                    // with the fast history [2, L0 + Q]: dL/dK_L (L < L0), then dL/dc_q (fractional_history.h)
  Tensor gTauPair;  // when pairs: [2] hi/lo of dL/dtau
};
// linear_x: I is the output of a linear layer I = x W^T + b over I's last dimension F, x [M, K] with M F = I's
// numel; then the layer's weight and bias gradients (dL/dI summed against x and over the rows) come back
// instead of gI. The backend folds them into its own pass where it can (Backend::fractional_folds_linear,
// fractional_op.h), else gI is formed and reduced by linear_weight_bias_grad.
FractionalGrads fractional_backward(const Tensor& I, const Tensor& v, const Tensor& spikes, const Tensor& gS,
                                    const Tensor* gV, const FractionalKernelSpec& kernel, FractionalParams p,
                                    const FractionalGradRequest& want,
                                    FractionalHistory history = FractionalHistory::Exact, int64_t steps = 0,
                                    const Tensor* linear_x = nullptr);

void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* vmax, const AdamParams& p);
void sgd_step(Tensor& param, const Tensor& grad, Tensor* buf, const SgdParams& p);

}  // namespace ops
}  // namespace fsnn
