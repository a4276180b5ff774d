// The predictor (method 'pred') on the GPU (cuda_fractional_pred.cu); CudaBackend::fractional_forward /
// fractional_backward call these when FractionalParams::predictor is set. Same contract as the Backend
// methods (native/backend.h), on the given stream.
#pragma once
#include <cuda_runtime.h>

#include "../native/fractional_op.h"
#include "../native/tensor.h"

namespace fsnn {
namespace cuda {

void pred_forward(cudaStream_t stream, const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v);
void pred_backward(cudaStream_t stream, const FractionalParams& p, const Tensor& I, const Tensor& v,
                   const Tensor& spikes, const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau);

}  // namespace cuda
}  // namespace fsnn
