// CUDA plumbing: device discovery, a self-test kernel, the CUDA op table (cuda_backend.h) and its
// allocator / precision / synchronization controls.
// The runtime is linked statically; with no driver or no GPU every query answers "none" instead of failing.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../native/cuda_bridge.h"
#include "cublas_loader.h"
#include "cuda_backend.h"

namespace fsnn {
namespace cuda {
Backend* create_backend(std::string* reason);  // cuda_backend.cu
void set_matmul_tf32(bool tf32);                // cuda_blas.cu
}  // namespace cuda
}  // namespace fsnn

namespace fsnn {
namespace cuda_bridge {

namespace {
std::string g_reason;

int query_device_count() {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    g_reason = std::string("no usable CUDA device (") + cudaGetErrorString(err) + ")";
    cudaGetLastError();
    return 0;
  }
  if (n == 0) g_reason = "the CUDA runtime found no GPU";
  return n;
}

// y_i = a * x_i + b: proves that code built for this GPU's architecture launches and computes.
__global__ void affine_kernel(const float* x, float* y, float a, float b, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + b;
}
}  // namespace

bool compiled() { return true; }

int device_count() {
  static const int n = query_device_count();
  return n;
}

std::string device_name(int index) {
  if (index < 0 || index >= device_count()) return "";
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return "";
  return prop.name;
}

namespace {
std::string g_backend_reason;
Backend* make_backend() {
  if (device_count() == 0) return nullptr;
  return cuda::create_backend(&g_backend_reason);
}
}  // namespace

// Created on first use (thread-safe static); never where there is no GPU.
Backend* backend() {
  static Backend* const b = make_backend();
  return b;
}

bool available() { return device_count() > 0 && backend() != nullptr; }

std::string unavailable_reason() {
  if (device_count() == 0) return g_reason.empty() ? "no CUDA device" : g_reason;
  if (!backend()) return g_backend_reason.empty() ? "the CUDA backend could not be created" : g_backend_reason;
  return "";
}

MemoryStats memory_stats(bool reset_peak) {
  MemoryStats m;
  if (!available()) return m;
  cuda::CachingAllocator& a = cuda::the_backend().allocator();
  const cuda::AllocatorStats s = a.stats();
  if (reset_peak) a.reset_peak();
  m.allocated_bytes = double(s.allocated_bytes);
  m.reserved_bytes = double(s.reserved_bytes);
  m.cached_bytes = double(s.cached_bytes);
  m.peak_allocated_bytes = double(s.peak_allocated_bytes);
  m.num_allocs = double(s.num_allocs);
  m.num_frees = double(s.num_frees);
  m.num_cache_hits = double(s.num_cache_hits);
  m.num_requests = double(s.num_requests);
  m.num_oom_retries = double(s.num_oom_retries);
  m.host_reads = double(cuda::the_backend().host_reads());
  return m;
}

void empty_cache() {
  if (available()) cuda::the_backend().allocator().empty_cache();
}

std::string matmul_precision(const std::string& set) {
  static std::string current = "highest";
  if (!set.empty()) {
    if (set != "highest" && set != "tf32")
      throw Error("setMatmulPrecision: unknown precision '" + set + "'; use 'highest' (FP32) or 'tf32'");
    current = set;
    cuda::set_matmul_tf32(set == "tf32");
  }
  return current;
}

void synchronize() {
  if (available()) cuda::the_backend().synchronize();
}

std::string self_test() {
  if (device_count() == 0) return unavailable_reason();
  const int n = 1 << 20;
  std::vector<float> host(n), back(n);
  for (int i = 0; i < n; ++i) host[i] = static_cast<float>(i % 1000) * 0.5f;
  float *dx = nullptr, *dy = nullptr;
  auto check = [](cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA self-test: ") + what + ": " + cudaGetErrorString(e));
  };
  check(cudaMalloc(&dx, n * sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&dy, n * sizeof(float)), "cudaMalloc");
  check(cudaMemcpy(dx, host.data(), n * sizeof(float), cudaMemcpyHostToDevice), "copy to device");
  cuda::launch(affine_kernel, (n + 255) / 256, 256, 0, nullptr, dx, dy, 2.f, 1.f, n);
  check(cudaGetLastError(), "kernel launch");
  check(cudaMemcpy(back.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost), "copy to host");
  cudaFree(dx);
  cudaFree(dy);
  for (int i = 0; i < n; ++i)
    if (back[i] != 2.f * host[i] + 1.f) return "CUDA self-test: wrong result at element " + std::to_string(i);
  return "ok: " + device_name(0);
}

std::string cublas_status() { return cublas::status(); }

}  // namespace cuda_bridge
}  // namespace fsnn
