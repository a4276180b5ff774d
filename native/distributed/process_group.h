// A process group: `size` processes that run collectives together (PyTorch's ProcessGroup). Backends:
// Gloo for CPU tensors (gloo_group.cc) and NCCL for CUDA tensors (nccl_group.cc). Collectives are in
// place, as in PyTorch: all_reduce overwrites its tensor with the reduction over the ranks.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "../tensor.h"
#include "gloo_plugin_api.h"
#include "tcp_store.h"

namespace fsnn {
namespace dist {

enum class ReduceOp : int { Sum = FSNN_SUM, Avg = FSNN_AVG, Max = FSNN_MAX, Min = FSNN_MIN };

class ProcessGroup {
 public:
  ProcessGroup(int rank, int size) : rank_(rank), size_(size) {}
  virtual ~ProcessGroup() = default;
  int rank() const { return rank_; }
  int size() const { return size_; }
  virtual const char* backend() const = 0;
  virtual Device device() const = 0;  // the tensors this backend works on
  // true: a call only enqueues work on the device stream (NCCL), so it never blocks the host and an
  // async call is complete when it returns; false: a call does the transfer itself (Gloo), and async
  // calls run on the group's worker thread.
  virtual bool stream_ordered() const = 0;
  virtual void all_reduce(const Tensor& t, ReduceOp op) = 0;
  virtual void broadcast(const Tensor& t, int root) = 0;
  virtual void all_gather(const Tensor& out, const Tensor& in) = 0;  // out: size * in.numel() values
  virtual void reduce_scatter(const Tensor& out, const Tensor& in, ReduceOp op) = 0;  // in: size * out.numel()
  virtual void barrier() = 0;

 protected:
  int rank_, size_;
};

// Runs jobs in order on one thread: the collectives of every rank must be issued in the same order,
// so one FIFO per group keeps that order while the JavaScript thread goes on (DDP's overlap).
class WorkQueue {
 public:
  WorkQueue();
  ~WorkQueue();
  // Returns the job's ticket; wait(ticket) blocks until it has run and rethrows its error.
  uint64_t submit(std::function<void()> job);
  void wait(uint64_t ticket);
  bool done(uint64_t ticket);
  // The first failure: every later job fails with it at once (the group is unusable, as after an NCCL abort).
  std::string failure();

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<uint64_t, std::function<void()>>> jobs_;
  std::map<uint64_t, std::string> errors_;  // finished tickets that failed, until waited for
  uint64_t next_ = 1, finished_ = 0;
  std::string failure_;
  bool stop_ = false;
  std::thread thread_;
};

// Opens fsnn_gloo.so and connects a Gloo group; throws an error that says how to get Gloo when the
// plugin or libgloo is missing. file_store: Gloo's FileStore folder (file:// init), else the TCP store.
std::unique_ptr<ProcessGroup> make_gloo_group(TcpStore* store, const std::string& file_store, const std::string& hostname,
                                              const std::string& iface, int rank, int size,
                                              std::chrono::milliseconds timeout);
// What loading the Gloo plugin found: "loaded <path>", "not loaded yet", or the failure.
std::string gloo_status();

#ifdef FSNN_WITH_CUDA
// Loads NCCL (dlopen) and makes the communicator; the unique id travels through the store.
std::unique_ptr<ProcessGroup> make_nccl_group(TcpStore& store, int rank, int size, std::chrono::milliseconds timeout);
#endif
std::string nccl_status();

}  // namespace dist
}  // namespace fsnn
