// The CUDA backend object: device setup, memory movement, information; the instance used by the bridge.
#include <algorithm>
#include <sstream>

#include "cublas_loader.h"
#include "cuda_backend.h"

namespace fsnn {
namespace cuda {

namespace {
CudaBackend* g_backend = nullptr;
}

void throw_cuda_error(cudaError_t err, const char* what) {
  std::ostringstream o;
  o << "CUDA error in " << what << ": " << cudaGetErrorName(err) << " (" << cudaGetErrorString(err) << ")";
  switch (err) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorMisalignedAddress:
    case cudaErrorIllegalInstruction:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorInvalidPc:
    case cudaErrorECCUncorrectable:
      o << ". A kernel faulted earlier (CUDA reports faults at the next synchronizing call); the GPU context "
           "is now unusable and the process must be restarted. Run with CUDA_LAUNCH_BLOCKING=1 or under "
           "compute-sanitizer to find the op";
      break;
    default:
      break;
  }
  throw Error(o.str());
}

unsigned grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  // Grid-stride loops: enough blocks to fill the GPU several times over, capped.
  const int64_t cap = int64_t(std::max(1, the_backend().sm_count())) * 32;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(blocks, cap)));
}

CudaBackend& the_backend() { return *g_backend; }

CudaBackend::CudaBackend(int device, cudaStream_t stream, AllocatorMode mode)
    : device_(device), stream_(stream), alloc_(stream, mode), ring_(stream) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
    sm_count_ = prop.multiProcessorCount;
    name_ = prop.name;
    cc_major_ = prop.major;
    cc_minor_ = prop.minor;
    total_mem_ = prop.totalGlobalMem;
  } else {
    cudaGetLastError();
    sm_count_ = 1;
  }
}

void* CudaBackend::allocate(size_t bytes) { return alloc_.allocate(bytes); }
void CudaBackend::deallocate(void* ptr, size_t) { alloc_.release(ptr); }

void CudaBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  // Pageable source: the driver stages it before returning, so the caller may free it afterwards.
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "copy to the GPU");
}

void CudaBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  host_reads_.fetch_add(1, std::memory_order_relaxed);
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "copy from the GPU");
  check(cudaStreamSynchronize(stream_), "copy from the GPU (synchronize)");
}

void CudaBackend::copy_device(void* dst, const void* src, size_t bytes) {
  if (!bytes || dst == src) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy on the GPU");
}

void CudaBackend::synchronize() { check(cudaStreamSynchronize(stream_), "synchronize"); }

void* CudaBackend::upload(const void* host, size_t bytes) {
  void* d = alloc_.allocate(bytes);
  try {
    ring_.copy(d, host, bytes);
  } catch (...) {
    alloc_.release(d);
    throw;
  }
  return d;
}

std::string CudaBackend::info() const {
  std::ostringstream o;
  o << "cuda: " << name_ << " (device " << device_ << ", sm_" << cc_major_ << cc_minor_ << ", " << sm_count_
    << " SMs, " << (total_mem_ >> 20) << " MiB), one stream, "
    << (alloc_.mode().exact ? "exact allocator (no cache)" : "caching allocator")
    << (alloc_.mode().poison ? " with NaN poison" : "") << ", matmul " << (matmul_tf32() ? "tf32" : "highest (fp32)")
    << ", cuBLAS " << cublas::status();
  return o.str();
}

// Creates the backend on device 0; on failure returns null and explains why in *reason.
Backend* create_backend(std::string* reason) {
  if (g_backend) return g_backend;
  AllocatorMode mode;
  try {
    mode = allocator_mode_from_env();
  } catch (const Error& e) {
    *reason = e.what();
    return nullptr;
  }
  cudaError_t err = cudaSetDevice(0);
  if (err != cudaSuccess) {
    *reason = std::string("cannot use CUDA device 0: ") + cudaGetErrorString(err);
    cudaGetLastError();
    return nullptr;
  }
  cudaStream_t stream = nullptr;
  err = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (err != cudaSuccess) {
    *reason = std::string("cannot create a CUDA stream: ") + cudaGetErrorString(err);
    cudaGetLastError();
    return nullptr;
  }
  // Never destroyed: tensors released during process exit still find a live allocator, and no CUDA
  // call runs after the driver has shut down.
  g_backend = new CudaBackend(0, stream, mode);
  return g_backend;
}

}  // namespace cuda
}  // namespace fsnn
