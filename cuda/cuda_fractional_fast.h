// The fractional neuron op with the fast (sum-of-exponentials) history on the GPU: the recurrence and
// adjoint of native/cpu/fractional_fast_cpu.h, one thread per neuron (its Q states, near window and
// partial sums in registers when Q <= 64 and L0 <= 8, else in thread-local memory); for method 'pred'
// the per-neuron body of
// native/fractional_pred_fast_neuron.h. cuda_fractional.cu calls these when FractionalParams::fast is set.
#pragma once
#include "../native/fractional_history.h"
#include "../native/fractional_op.h"
#include "../native/tensor.h"

namespace fsnn {
namespace cuda {

// The largest fast history the kernels hold per thread (the SOE has Q <= ~100 and L0 <= 64).
constexpr int kFastMaxQ = 160;
constexpr int kFastMaxRing = 128;  // a power of two >= L0 + 1

void fractional_fast_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v);
// gK: [2, L0 + Q] float32 hi/lo pairs (dL/dK_L for L < L0, then dL/dc_q); gTau: [2].
void fractional_fast_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                              const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau);

}  // namespace cuda
}  // namespace fsnn
