// One way to launch a kernel, for nvcc and for the CPU emulator (FSNN_CUDA=EMU, cuda/emu/):
//   launch(kernel, grid, block, shared_bytes, stream, args...)   ==   kernel<<<grid, block, shared_bytes, stream>>>(args...)
// Sources never write <<<>>> themselves, so the same .cu file compiles under nvcc and as host C++.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace fsnn {
namespace cuda {

#ifndef FSNN_CUDA_EMU
template <typename... Params, typename... Args>
inline void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                   Args... args) {
  kernel<<<grid, block, shared_bytes, stream>>>(args...);
}
#endif

}  // namespace cuda
}  // namespace fsnn
