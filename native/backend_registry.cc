// Which op table serves which device. The CUDA table exists only when the addon was built with
// CUDA (FSNN_WITH_CUDA) and the machine has a usable GPU.
#include <string>

#include "backend.h"
#include "cpu/cpu_backend.h"
#include "cuda_bridge.h"

namespace fsnn {

Backend& backend_for(Device device) {
  if (device == Device::CPU) {
    static cpu::CpuBackend cpu_backend;
    return cpu_backend;
  }
  if (Backend* b = cuda_backend_or_null()) return *b;
  fail("CUDA is not available: ", cuda_bridge::unavailable_reason(),
       ". Keep tensors on the cpu (the default), or run on a machine with an NVIDIA GPU and a CUDA-enabled build");
}

Backend* cuda_backend_or_null() { return cuda_bridge::backend(); }

}  // namespace fsnn
