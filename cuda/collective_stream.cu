// The stream the NCCL process group enqueues its collectives on (native/distributed/nccl_group.cc):
// the CUDA backend's one stream, so collectives are ordered with every other op without host waits.
#include "cuda_backend.h"

namespace fsnn {
namespace cuda {
void* collective_stream() { return reinterpret_cast<void*>(the_backend().stream()); }
}  // namespace cuda
}  // namespace fsnn
