// NCCL is never linked: libnccl.so.2 is opened with dlopen the first time an 'nccl' group is made.
// Order tried: $FSNN_NCCL, the soname libnccl.so.2 / libnccl.so (LD_LIBRARY_PATH, ldconfig), then
// /usr/local/cuda*/lib64, /usr/local/cuda*/targets/<arch>-linux/lib, /usr/lib/<arch>-linux-gnu, and
// nvidia/nccl/lib of a Python install (the `nvidia-nccl-cu12` / `-cu13` wheels).
#pragma once
#include <string>
#include <vector>

#include "nccl_api.h"

namespace fsnn {
namespace nccl {

// Loads the library (once) and resolves the API, or throws an error naming every path tried.
const Api& api();
// "loaded <path> (NCCL x.y.z)", "not loaded yet", or the failure with every path tried.
std::string status();
std::vector<std::string> candidate_paths();
int version();  // e.g. 22105 for 2.21.5; 0 before loading

}  // namespace nccl
}  // namespace fsnn
