// The NCCL process group: collectives on CUDA tensors, enqueued on the CUDA backend's stream, so they
// are ordered with the kernels before and after them and never make the host wait (barrier excepted,
// which by definition does). Rank 0 makes the NCCL unique id and shares it through the TCP store.
#include <cstring>

#include "../cuda_bridge.h"
#include "../ops.h"
#include "nccl_loader.h"
#include "process_group.h"

namespace fsnn {
#ifdef FSNN_WITH_CUDA
namespace cuda {
void* collective_stream();  // cuda/collective_stream.cu: the backend's stream
}  // namespace cuda

namespace dist {
namespace {

void check_cuda(const Tensor& t, const char* op) {
  if (t.device != Device::CUDA)
    fail(op, ": backend 'nccl' works on CUDA tensors, but the tensor is ", t.describe(),
         "; move it with .to('cuda'), or use backend 'gloo' for CPU tensors");
  if (t.dtype != DType::Float32) fail(op, ": collectives take float32 tensors, got ", t.describe());
}

class NcclGroup final : public ProcessGroup {
 public:
  NcclGroup(nccl::Comm comm, int rank, int size) : ProcessGroup(rank, size), comm_(comm) {}
  ~NcclGroup() override {
    const nccl::Api& a = nccl::api();
    if (failed_) a.CommAbort(comm_);
    else a.CommDestroy(comm_);
  }
  const char* backend() const override { return "nccl"; }
  Device device() const override { return Device::CUDA; }
  bool stream_ordered() const override { return true; }

  void all_reduce(const Tensor& t, ReduceOp op) override {
    check_cuda(t, "allReduce");
    check("allReduce", nccl::api().AllReduce(t.data(), t.data(), static_cast<size_t>(t.numel()), nccl::kFloat32,
                                             nccl_op(op, "allReduce"), comm_, cuda::collective_stream()));
  }
  void broadcast(const Tensor& t, int root) override {
    check_cuda(t, "broadcast");
    check("broadcast", nccl::api().Broadcast(t.data(), t.data(), static_cast<size_t>(t.numel()), nccl::kFloat32, root,
                                             comm_, cuda::collective_stream()));
  }
  void all_gather(const Tensor& out, const Tensor& in) override {
    check_cuda(out, "allGather");
    check_cuda(in, "allGather");
    check("allGather", nccl::api().AllGather(in.data(), out.data(), static_cast<size_t>(in.numel()), nccl::kFloat32,
                                             comm_, cuda::collective_stream()));
  }
  void reduce_scatter(const Tensor& out, const Tensor& in, ReduceOp op) override {
    check_cuda(out, "reduceScatter");
    check_cuda(in, "reduceScatter");
    check("reduceScatter",
          nccl::api().ReduceScatter(in.data(), out.data(), static_cast<size_t>(out.numel()), nccl::kFloat32,
                                    nccl_op(op, "reduceScatter"), comm_, cuda::collective_stream()));
  }
  // An all-reduce of one value, then the host waits for the stream (PyTorch's NCCL barrier).
  void barrier() override {
    Tensor one = ops::full(Shape{1}, 0.f, Device::CUDA);
    all_reduce(one, ReduceOp::Sum);
    cuda_bridge::synchronize();
  }

 private:
  int nccl_op(ReduceOp op, const char* what) {
    switch (op) {
      case ReduceOp::Sum: return nccl::kSum;
      case ReduceOp::Max: return nccl::kMax;
      case ReduceOp::Min: return nccl::kMin;
      case ReduceOp::Avg:
        if (nccl::version() < 21000)
          fail(what, ": op 'avg' needs NCCL >= 2.10 (", nccl::status(), "); use 'sum' and divide by the world size");
        return nccl::kAvg;
    }
    return nccl::kSum;
  }
  void check(const char* op, nccl::Result r) {
    if (r == nccl::kSuccess) return;
    failed_ = true;
    fail(op, " (nccl, rank ", rank_, " of ", size_, "): ", nccl::api().GetErrorString(r), " (ncclResult_t ", r, ")");
  }
  nccl::Comm comm_;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_nccl_group(TcpStore& store, int rank, int size, std::chrono::milliseconds timeout) {
  if (!cuda_bridge::available())
    fail("initProcessGroup: backend 'nccl' needs a CUDA device: ", cuda_bridge::unavailable_reason(),
         "; use backend 'gloo' for CPU tensors");
  const nccl::Api& a = nccl::api();  // throws naming every path tried
  nccl::UniqueId id;
  std::memset(&id, 0, sizeof id);
  if (rank == 0) {
    const nccl::Result r = a.GetUniqueId(&id);
    if (r != nccl::kSuccess) fail("initProcessGroup (nccl): ncclGetUniqueId failed: ", a.GetErrorString(r));
    store.set("nccl/id", std::vector<char>(id.internal, id.internal + nccl::kUniqueIdBytes));
  } else {
    const std::vector<char> v = store.get("nccl/id", timeout);
    if (v.size() != static_cast<size_t>(nccl::kUniqueIdBytes))
      fail("initProcessGroup (nccl): the unique id from rank 0 has ", v.size(), " bytes, expected ", nccl::kUniqueIdBytes);
    std::memcpy(id.internal, v.data(), v.size());
  }
  nccl::Comm comm = nullptr;
  const nccl::Result r = a.CommInitRank(&comm, size, id, rank);
  if (r != nccl::kSuccess)
    fail("initProcessGroup (nccl, rank ", rank, " of ", size, "): ncclCommInitRank failed: ", a.GetErrorString(r));
  return std::make_unique<NcclGroup>(comm, rank, size);
}

}  // namespace dist
#endif  // FSNN_WITH_CUDA

namespace dist {
std::string nccl_status() {
#ifdef FSNN_WITH_CUDA
  return nccl::status();
#else
  return "not available: this addon was built without CUDA (NCCL needs the CUDA build)";
#endif
}
}  // namespace dist
}  // namespace fsnn
