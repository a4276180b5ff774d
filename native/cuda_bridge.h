// The seam between the native layer and cuda/: the only CUDA-specific functions the binding calls.
// Without FSNN_WITH_CUDA they are stubs that report CUDA as unavailable.
#pragma once
#include <string>

namespace fsnn {
class Backend;
namespace cuda_bridge {

bool compiled();                    // the addon was built with CUDA
int device_count();                 // 0 where there is no GPU or driver
std::string device_name(int index);
bool available();                   // compiled, a GPU is present, and the CUDA op table exists
std::string unavailable_reason();
// Runs a small kernel (y = a*x + b over 1M elements) and checks its result on the host.
std::string self_test();
Backend* backend();                 // the CUDA op table, or null
std::string cublas_status();        // what loading cuBLAS found (paths tried)

// The caching allocator's counters (all zero where CUDA is unavailable). reset_peak: afterwards the
// peak restarts from the bytes allocated now.
struct MemoryStats {
  double allocated_bytes = 0, reserved_bytes = 0, cached_bytes = 0, peak_allocated_bytes = 0;
  double num_allocs = 0, num_frees = 0, num_cache_hits = 0, num_requests = 0, num_oom_retries = 0;
  double host_reads = 0;  // device -> host copies (each waits for the GPU) since the start
};
MemoryStats memory_stats(bool reset_peak = false);
void empty_cache();                 // waits for the GPU, then returns cached blocks to the driver
// 'highest' (pure FP32, the default) or 'tf32'; an empty string only queries. Returns the setting now
// in force; throws fsnn::Error for any other value.
std::string matmul_precision(const std::string& set);
void synchronize();                 // waits until every enqueued GPU op has finished

}  // namespace cuda_bridge
}  // namespace fsnn
