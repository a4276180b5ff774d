// The few NCCL declarations fsnn uses, written from NCCL's documented C API (nccl.h is not needed at
// build time: libnccl is opened with dlopen, see nccl_loader.h). Values are NCCL's ABI.
#pragma once
#include <cstddef>

namespace fsnn {
namespace nccl {

using Result = int;  // ncclResult_t: 0 is ncclSuccess
constexpr Result kSuccess = 0;
constexpr int kUniqueIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES
struct UniqueId {
  char internal[kUniqueIdBytes];
};
using Comm = void*;  // ncclComm_t
using Stream = void*;  // cudaStream_t
constexpr int kFloat32 = 7;  // ncclFloat32
// ncclRedOp_t: ncclSum 0, ncclProd 1, ncclMax 2, ncclMin 3, ncclAvg 4 (NCCL >= 2.10).
constexpr int kSum = 0, kMax = 2, kMin = 3, kAvg = 4;

struct Api {
  Result (*GetVersion)(int* version);
  Result (*GetUniqueId)(UniqueId* id);
  Result (*CommInitRank)(Comm* comm, int nranks, UniqueId id, int rank);
  Result (*CommDestroy)(Comm comm);
  Result (*CommAbort)(Comm comm);
  Result (*CommGetAsyncError)(Comm comm, Result* async_error);
  const char* (*GetErrorString)(Result r);
  Result (*AllReduce)(const void* send, void* recv, size_t count, int dtype, int op, Comm comm, Stream stream);
  Result (*Broadcast)(const void* send, void* recv, size_t count, int dtype, int root, Comm comm, Stream stream);
  Result (*AllGather)(const void* send, void* recv, size_t send_count, int dtype, Comm comm, Stream stream);
  Result (*ReduceScatter)(const void* send, void* recv, size_t recv_count, int dtype, int op, Comm comm, Stream stream);
};

}  // namespace nccl
}  // namespace fsnn
