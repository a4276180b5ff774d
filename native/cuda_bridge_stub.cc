// CPU-only builds: CUDA is reported as unavailable and nothing touches a GPU.
#ifndef FSNN_WITH_CUDA
#include "cuda_bridge.h"

#include "error.h"

namespace fsnn {
namespace cuda_bridge {

bool compiled() { return false; }
int device_count() { return 0; }
std::string device_name(int) { return ""; }
bool available() { return false; }
std::string unavailable_reason() { return "this build of fractional-snn has no CUDA support (no nvcc was found when it was built)"; }
std::string self_test() { return unavailable_reason(); }
Backend* backend() { return nullptr; }
std::string cublas_status() { return "not built with CUDA"; }
MemoryStats memory_stats(bool) { return MemoryStats{}; }
void empty_cache() {}
std::string matmul_precision(const std::string& set) {
  static std::string current = "highest";
  if (!set.empty()) {
    if (set != "highest" && set != "tf32")
      throw Error("setMatmulPrecision: unknown precision '" + set + "'; use 'highest' (FP32) or 'tf32'");
    current = set;
  }
  return current;
}
void synchronize() {}

}  // namespace cuda_bridge
}  // namespace fsnn
#endif
