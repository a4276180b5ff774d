// One way to launch a kernel and to declare shared memory, for nvcc and for the CPU emulator
// (FSNN_CUDA=EMU, cuda/emu/):
//   launch(kernel, grid, block, shared_bytes, stream, args...)   ==   kernel<<<grid, block, shared_bytes, stream>>>(args...)
//   FSNN_SHARED(float, tile, [32][33]);                          ==   __shared__ float tile[32][33];
//   FSNN_DYNAMIC_SHARED(float, kz);                              ==   extern __shared__ __align__(16) float kz[];
// Sources never write <<<>>> or __shared__ themselves, so the same .cu file compiles under nvcc and as
// host C++. In the emulator a block's shared arrays come from a per-block arena that is filled with NaN
// bytes when the block starts, so a read that a missing __syncthreads leaves unordered shows as NaN.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#ifdef FSNN_CUDA_EMU
#include <tuple>
#include <type_traits>
#endif

#ifndef FSNN_CUDA_EMU
#define FSNN_SHARED(type, name, dims) __shared__ type name dims
#define FSNN_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#else
#define FSNN_SHARED(type, name, dims)                                                                      \
  static char name##_fsnn_shared_site = 0;                                                                  \
  type(&name) dims = *reinterpret_cast<type(*) dims>(                                                        \
      ::fsnn_emu::shared_static(&name##_fsnn_shared_site, sizeof(type dims), alignof(type)))
#define FSNN_DYNAMIC_SHARED(type, name) type* const name = static_cast<type*>(::fsnn_emu::shared_dynamic())
#endif

namespace fsnn {
namespace cuda {

#ifndef FSNN_CUDA_EMU
template <typename... Params, typename... Args>
inline void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                   Args... args) {
  kernel<<<grid, block, shared_bytes, stream>>>(args...);
}
#else
// The arguments are converted to the kernel's parameter types once, as a launch does; each emulated
// thread then calls the kernel with its own copy of them.
template <typename... Params, typename... Args>
inline void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                   Args... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: wrong number of kernel arguments");
  struct Ctx {
    void (*kernel)(Params...);
    std::tuple<typename std::decay<Params>::type...> params;
  };
  const Ctx ctx{kernel, std::tuple<typename std::decay<Params>::type...>(args...)};
  const ::fsnn_emu::KernelBody body{[](const void* c) {
                                      const Ctx* x = static_cast<const Ctx*>(c);
                                      std::apply(x->kernel, x->params);
                                    },
                                    &ctx};
  const void* const ptrs[sizeof...(Args) + 1] = {::fsnn_emu::pointer_arg(args)..., nullptr};
  ::fsnn_emu::run_grid(reinterpret_cast<const void*>(kernel), __PRETTY_FUNCTION__, grid, block, shared_bytes, stream,
                       body, ptrs, int(sizeof...(Args)));
}
#endif

}  // namespace cuda
}  // namespace fsnn
