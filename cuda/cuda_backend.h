// The CUDA op table (internal to cuda/). One device (0, or the first of CUDA_VISIBLE_DEVICES), one
// non-blocking stream; every op is enqueued on that stream and returns at once. The host waits only in
// copy_to_host (counted: host_reads()), synchronize() and emptyCache().
//
// Files: cuda_backend.cu (memory, info, the bridge), cuda_allocator.cu (caching allocator, pinned upload
// ring), cuda_elementwise.cu, cuda_reduce_layout.cu, cuda_nn.cu, cuda_blas.cu (cuBLAS through dlopen),
// cuda_fractional.cu.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <string>
#include <vector>

#include "../native/backend.h"
#include "../native/error.h"
#include "launch.h"

namespace fsnn {
namespace cuda {

// Throws fsnn::Error naming the failing call; a sticky error (a kernel fault) says that the process must
// be restarted.
void throw_cuda_error(cudaError_t err, const char* what);
inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw_cuda_error(err, what);
}
// After a kernel launch: launch-configuration errors surface here (asynchronous faults surface at the
// next synchronizing call).
inline void check_launch(const char* what) {
  const cudaError_t err = cudaPeekAtLastError();
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw_cuda_error(err, what);
  }
}

// ---------------------------------------------------------------------------------------------
// Caching allocator (cuda_allocator.cu), in the spirit of PyTorch's: requests are rounded up to a size
// class (512 B multiples below 1 MiB; above, four classes per power of two), freed blocks go to a free
// list per class and are handed out again for the same class. All work runs on the one stream, so a
// block freed by the host (its last use already enqueued) can be reused at once: the stream orders the
// old and the new use. A warm training step therefore makes no cudaMalloc / cudaFree.
// ---------------------------------------------------------------------------------------------
struct AllocatorStats {
  uint64_t allocated_bytes = 0;       // in blocks handed out (rounded sizes)
  uint64_t reserved_bytes = 0;        // obtained from cudaMalloc and not yet returned
  uint64_t cached_bytes = 0;          // reserved but free (reserved - allocated)
  uint64_t peak_allocated_bytes = 0;
  uint64_t num_allocs = 0;            // cudaMalloc calls that succeeded
  uint64_t num_frees = 0;             // cudaFree calls (emptyCache, OOM retry)
  uint64_t num_cache_hits = 0;        // requests served from the cache
  uint64_t num_requests = 0;
  uint64_t num_oom_retries = 0;
};

// Debug modes (FSNN_CUDA_ALLOC, read when the backend is created; comma-separated):
//   exact   every request is a cudaMalloc of exactly its size and every release a cudaFree: no rounding
//           and no cache, so compute-sanitizer's memcheck / initcheck (and the emulator's red zones) see
//           an overrun of the requested size and reads of never-written memory;
//   poison  every block handed out is first filled with 0xFF bytes (NaN as float and double), so an
//           output element that a kernel never writes shows up as NaN in parity tests.
struct AllocatorMode {
  bool exact = false;
  bool poison = false;
};
// Parses FSNN_CUDA_ALLOC ("" = the caching allocator); throws fsnn::Error naming the accepted values.
AllocatorMode allocator_mode_from_env();

class CachingAllocator {
 public:
  CachingAllocator(cudaStream_t stream, AllocatorMode mode) : stream_(stream), mode_(mode) {}
  AllocatorMode mode() const { return mode_; }
  static size_t round_size(size_t bytes);
  void* allocate(size_t bytes);
  void release(void* ptr);
  void empty_cache();  // synchronizes the stream, then returns every cached block to the driver
  AllocatorStats stats();
  void reset_peak();

 private:
  void empty_cache_locked();
  std::mutex mu_;
  cudaStream_t stream_;
  AllocatorMode mode_;
  std::map<size_t, std::vector<void*>> free_;  // size class -> cached blocks
  std::unordered_map<void*, size_t> live_;      // block -> size class
  AllocatorStats st_;
};

// Pinned staging ring for small host -> device uploads (index arrays, K tables): the copy is truly
// asynchronous, and a ring chunk is reused only after the event recorded when it was last left has
// completed (a wait happens only if the GPU is a whole ring behind). Larger uploads, or a machine
// where pinned memory is unavailable, use a pageable cudaMemcpyAsync (staged by the driver, so the host
// buffer may be freed when it returns).
class UploadRing {
 public:
  UploadRing(cudaStream_t stream);
  void copy(void* dst_device, const void* src_host, size_t bytes);

 private:
  static constexpr int kChunks = 8;
  static constexpr size_t kChunkBytes = size_t(1) << 20;
  std::mutex mu_;
  cudaStream_t stream_;
  char* host_ = nullptr;
  cudaEvent_t done_[kChunks] = {};
  bool pending_[kChunks] = {};
  int chunk_ = 0;
  size_t offset_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Small fixed-size metadata passed to kernels by value.
// ---------------------------------------------------------------------------------------------
constexpr int kMaxDims = 12;

template <int NIn>
struct BcastArgs {
  int nd;
  int64_t shape[kMaxDims];
  int64_t stride[NIn][kMaxDims];
};

struct DimArgs {
  int nd;
  int64_t a[kMaxDims];
  int64_t b[kMaxDims];
};

// Grid size for a grid-stride loop over n items with `threads` per block.
unsigned grid_for(int64_t n, int threads);

class CudaBackend;
CudaBackend& the_backend();

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, cudaStream_t stream, AllocatorMode mode);
  Device device() const override { return Device::CUDA; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_device(void* dst, const void* src, size_t bytes) override;
  void synchronize() override;

#define FSNN_DEVICE_OP(ret, name, params) ret name params override;
#include "../native/kernels.def"
  FSNN_BACKEND_OPS

  // Device -> host copies so far (each one waits for the stream): fsnn.cuda.stats().hostReads.
  uint64_t host_reads() const { return host_reads_.load(std::memory_order_relaxed); }

  // Internal helpers shared by the op files.
  cudaStream_t stream() const { return stream_; }
  int sm_count() const { return sm_count_; }
  CachingAllocator& allocator() { return alloc_; }
  // Copies a host array into a fresh device block (freed by the caller with release()).
  void* upload(const void* host, size_t bytes);
  void release(void* ptr) { alloc_.release(ptr); }
  // Row-major C = alpha op(A) op(B) + beta C, strided over `batch` (strides in floats; 0 broadcasts).
  void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
            int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta, float* C, int64_t ldc,
            int64_t strideC, int64_t batch);

 private:
  // Contiguous C [M, N] = op(A) op(B) as S partial products over chunks of K, added in a fixed order
  // (cuda_blas.cu: for a long K and a small C).
  void gemm_split_k(bool transA, bool transB, int64_t M, int64_t N, int64_t K, int64_t S, const float* A, int64_t lda,
                    const float* B, int64_t ldb, float* C);
  int device_;
  cudaStream_t stream_;
  int sm_count_ = 0;
  std::string name_;
  int cc_major_ = 0, cc_minor_ = 0;
  size_t total_mem_ = 0;
  CachingAllocator alloc_;
  UploadRing ring_;
  std::atomic<uint64_t> host_reads_{0};
};

// A device block from the caching allocator that is released when the scope ends (stream-ordered:
// kernels enqueued before the release still see valid memory).
struct DeviceTemp {
  void* ptr = nullptr;
  DeviceTemp() = default;
  explicit DeviceTemp(size_t bytes) : ptr(the_backend().allocate(bytes)) {}
  DeviceTemp(const void* host, size_t bytes) : ptr(the_backend().upload(host, bytes)) {}
  ~DeviceTemp() {
    if (ptr) the_backend().release(ptr);
  }
  DeviceTemp(const DeviceTemp&) = delete;
  DeviceTemp& operator=(const DeviceTemp&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

// Matmul / conv math mode (setMatmulPrecision): false = 'highest' (pure FP32, the default), true = TF32
// tensor cores. cuda_blas.cu applies it to the cuBLAS handle before each call.
bool matmul_tf32();
void set_matmul_tf32(bool tf32);

// Threads per block of the elementwise-style kernels, and a grid-stride loop over [0, n).
constexpr int kThreads = 256;
#define FSNN_GRID_LOOP(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

}  // namespace cuda
}  // namespace fsnn
