// CUDA plumbing: device discovery, a self-test kernel, and the hook for the CUDA op table.
// The runtime is linked statically; with no driver or no GPU every query answers "none" instead of failing.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../native/cuda_bridge.h"
#include "cublas_loader.h"

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

Backend* backend() { return nullptr; }  // the CUDA op table is not part of this build yet

bool available() { return device_count() > 0 && backend() != nullptr; }

std::string unavailable_reason() {
  if (device_count() == 0) return g_reason.empty() ? "no CUDA device" : g_reason;
  if (!backend()) return "this build has the CUDA plumbing (device discovery, self-test) but not yet the CUDA op table";
  return "";
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
  affine_kernel<<<(n + 255) / 256, 256>>>(dx, dy, 2.f, 1.f, n);
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
