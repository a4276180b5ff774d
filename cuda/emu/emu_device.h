// The device side of the CUDA emulator: the keywords, the built-in index variables, the _rn
// intrinsics, warp shuffles, atomics and barriers, as host C++. Each CUDA thread of a block runs as a
// fiber on one OS thread (emu_scheduler.cc), so a thread's code runs unchanged until it reaches a
// barrier (__syncthreads, a shuffle, __syncwarp), where it yields to the block's scheduler.
#pragma once
#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// ---- keywords ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __constant__ static
// Static shared memory must be declared with FSNN_SHARED (cuda/launch.h) so that the emulator can give
// each block its own poisoned copy; a bare __shared__ does not compile here.
#define __shared__ __shared__is_not_supported_by_the_cuda_emulator__declare_it_with_FSNN_SHARED
#define CUDART_INF_F (__builtin_inff())

namespace fsnn_emu {

struct BlockInfo {
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};

// The running fiber's thread index and its block (set by the scheduler before each switch into a fiber).
extern thread_local __attribute__((tls_model("initial-exec"))) const uint3* tls_thread_idx;
extern thread_local __attribute__((tls_model("initial-exec"))) const BlockInfo* tls_block;

// Barriers and warp collectives (emu_scheduler.cc). A warp op posts the lane's 64-bit value and the lane
// it reads from, then waits until every lane of `mask` has posted the same op with the same mask.
enum WarpOp : int { kWarpSync = 0, kWarpShuffle = 1, kWarpBallot = 2 };
void block_barrier();
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int src_lane, const char* what);
int lane_id();

// Shared memory of the running block: a declaration site's static array, or the dynamic array.
void* shared_static(const void* site, size_t bytes, size_t align);
void* shared_dynamic();

// Reports a device-side fault (the kernel ends; the launch fails with cudaErrorLaunchFailure).
[[noreturn]] void device_fault(const char* what);

template <typename T>
inline uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "warp shuffles move at most 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <typename T>
inline T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}
inline int width_base(int lane, int width) { return lane - lane % width; }

}  // namespace fsnn_emu

#define threadIdx (*::fsnn_emu::tls_thread_idx)
#define blockIdx (::fsnn_emu::tls_block->block_idx)
#define blockDim (::fsnn_emu::tls_block->block_dim)
#define gridDim (::fsnn_emu::tls_block->grid_dim)
constexpr int warpSize = 32;

// ---- barriers ----
inline void __syncthreads() { ::fsnn_emu::block_barrier(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::fsnn_emu::warp_collective(::fsnn_emu::kWarpSync, mask, 0, -1, "__syncwarp");
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- warp shuffles (width: a power of two <= 32; lanes outside the caller's segment read their own value) ----
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  const int lane = ::fsnn_emu::lane_id();
  const int s = ::fsnn_emu::width_base(lane, width) + (src & (width - 1));
  return ::fsnn_emu::from_bits<T>(::fsnn_emu::warp_collective(::fsnn_emu::kWarpShuffle, mask, ::fsnn_emu::to_bits(v), s,
                                                              "__shfl_sync"));
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  const int lane = ::fsnn_emu::lane_id();
  int s = lane ^ lane_mask;
  if (::fsnn_emu::width_base(s, width) != ::fsnn_emu::width_base(lane, width) || s > 31) s = lane;
  return ::fsnn_emu::from_bits<T>(::fsnn_emu::warp_collective(::fsnn_emu::kWarpShuffle, mask, ::fsnn_emu::to_bits(v), s,
                                                              "__shfl_xor_sync"));
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = ::fsnn_emu::lane_id();
  const int s = (lane % width) + int(delta) < width ? lane + int(delta) : lane;
  return ::fsnn_emu::from_bits<T>(::fsnn_emu::warp_collective(::fsnn_emu::kWarpShuffle, mask, ::fsnn_emu::to_bits(v), s,
                                                              "__shfl_down_sync"));
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = ::fsnn_emu::lane_id();
  const int s = (lane % width) >= int(delta) ? lane - int(delta) : lane;
  return ::fsnn_emu::from_bits<T>(::fsnn_emu::warp_collective(::fsnn_emu::kWarpShuffle, mask, ::fsnn_emu::to_bits(v), s,
                                                              "__shfl_up_sync"));
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  return unsigned(::fsnn_emu::warp_collective(::fsnn_emu::kWarpBallot, mask, pred ? 1 : 0, -1, "__ballot_sync"));
}
inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) == mask; }

// ---- IEEE round-to-nearest intrinsics: the same results as the device's. The emulated sources are
// compiled with -ffp-contract=off, so a*b stays a rounded product and is never fused with an add. ----
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __dsqrt_rn(double a) { return sqrt(a); }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz(unsigned(v)); }
template <typename T>
inline T __ldg(const T* p) { return *p; }

// ---- atomics (safe when blocks run on several OS threads) ----
namespace fsnn_emu {
template <typename T, typename U, typename F>
inline T atomic_update(T* p, F f) {
  static_assert(sizeof(T) == sizeof(U), "atomic_update: size mismatch");
  U* q = reinterpret_cast<U*>(p);
  U old = __atomic_load_n(q, __ATOMIC_RELAXED);
  for (;;) {
    T o;
    std::memcpy(&o, &old, sizeof(T));
    const T n = f(o);
    U nb;
    std::memcpy(&nb, &n, sizeof(T));
    if (__atomic_compare_exchange_n(q, &old, nb, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return o;
  }
}
}  // namespace fsnn_emu
inline float atomicAdd(float* p, float v) {
  return ::fsnn_emu::atomic_update<float, uint32_t>(p, [v](float o) { return o + v; });
}
inline double atomicAdd(double* p, double v) {
  return ::fsnn_emu::atomic_update<double, uint64_t>(p, [v](double o) { return o + v; });
}
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline float atomicSub(float* p, float v) { return atomicAdd(p, -v); }
inline int atomicSub(int* p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
template <typename T>
inline T atomicExch(T* p, T v) {
  return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
inline float atomicExch(float* p, float v) {
  return ::fsnn_emu::atomic_update<float, uint32_t>(p, [v](float) { return v; });
}
template <typename T>
inline T atomicCAS(T* p, T expected, T desired) {
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return expected;
}
template <typename T>
inline T atomicMax(T* p, T v) {
  static_assert(std::is_integral<T>::value, "atomicMax: integer types only (as in CUDA)");
  return ::fsnn_emu::atomic_update<T, T>(p, [v](T o) { return o > v ? o : v; });
}
template <typename T>
inline T atomicMin(T* p, T v) {
  static_assert(std::is_integral<T>::value, "atomicMin: integer types only (as in CUDA)");
  return ::fsnn_emu::atomic_update<T, T>(p, [v](T o) { return o < v ? o : v; });
}

// ---- launching (cuda/launch.h's emulator branch calls run_grid) ----
namespace fsnn_emu {
struct KernelBody {
  void (*call)(const void* ctx);  // runs the kernel for the current fiber's thread
  const void* ctx;
};
// Runs every block of the grid (synchronously: the stream is emulated in order) and records a launch
// error or a device fault as CUDA would (cudaPeekAtLastError / the next synchronizing call). `ptrs`
// are the kernel's pointer arguments: the red zones of their device blocks are checked afterwards.
void run_grid(const void* kernel, const char* signature, dim3 grid, dim3 block, size_t shared_bytes,
              cudaStream_t stream, KernelBody body, const void* const* ptrs, int nptrs);
template <typename T>
inline const void* pointer_arg(const T& v) {
  if constexpr (std::is_pointer<T>::value) return static_cast<const void*>(v);
  return nullptr;
}
}  // namespace fsnn_emu
