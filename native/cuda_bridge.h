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

}  // namespace cuda_bridge
}  // namespace fsnn
