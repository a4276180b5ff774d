// Runs a kernel grid on the host: blocks one after another, the threads of a block as fibers on the
// calling OS thread. A fiber runs until it reaches a barrier or exits; when every fiber of the block
// is parked, the scheduler releases the barriers that are complete (__syncthreads: all threads of the
// block; a warp collective: every lane of its mask, with the same op and mask) and runs the released
// fibers again, in thread order. If no barrier can complete (threads exited or wait at different
// barriers) the launch fails with a description of the deadlock instead of hanging.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "emu_fiber.h"
#include "emu_internal.h"

namespace fsnn_emu {

thread_local __attribute__((tls_model("initial-exec"))) const uint3* tls_thread_idx = nullptr;
thread_local __attribute__((tls_model("initial-exec"))) const BlockInfo* tls_block = nullptr;

namespace {

#ifdef __SANITIZE_ADDRESS__
constexpr size_t kStackBytes = size_t(512) << 10;
#else
constexpr size_t kStackBytes = size_t(64) << 10;
#endif
constexpr size_t kArenaBytes = size_t(256) << 10;  // > the largest opt-in shared memory of any GPU (227 KiB)
constexpr size_t kStaticSharedMax = size_t(48) << 10;

enum class State : uint8_t { NotStarted, Ready, AtBlockBarrier, AtWarpOp, Done };

struct Fiber {
  uint3 tid;
  int linear = 0, lane = 0, warp = 0;
  State state = State::NotStarted;
  Context ctx;
  int stack = -1;  // index into Worker::stacks while the fiber is started and not done
  // The warp collective the fiber waits at.
  WarpOp op = kWarpSync;
  unsigned mask = 0;
  uint64_t value = 0, result = 0;
  int src = -1;
  const char* what = "";
};

struct SharedSite {
  const void* site;
  size_t offset, bytes;
};

// Per OS thread: the fibers, their stacks, the shared-memory arena and the block being run.
struct Worker {
  std::vector<Fiber> fibers;
  std::vector<FiberStack> stacks;
  std::vector<int> free_stacks;
  Context scheduler;
  Fiber* current = nullptr;
  BlockInfo info;
  KernelBody body{};
  int nthreads = 0, done = 0, at_block_barrier = 0;
  // shared memory
  std::unique_ptr<unsigned char[]> arena{new unsigned char[kArenaBytes + 64]};
  unsigned char* arena_base = nullptr;
  size_t dynamic_bytes = 0, static_end = 0, shared_limit = 0;
  std::vector<SharedSite> sites;
  // failure of the running block
  bool failed = false;
  std::string error;

  Worker() {
    uintptr_t a = reinterpret_cast<uintptr_t>(arena.get());
    arena_base = reinterpret_cast<unsigned char*>((a + 63) & ~uintptr_t(63));
  }
  ~Worker() {
    for (auto& s : stacks) free_stack(s);
  }
};

Worker& worker() {
  thread_local Worker w;
  return w;
}

std::string fmt_uint3(uint3 v) {
  return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
}

// Leaves the running fiber and returns to the block's scheduler.
void yield_to_scheduler(Worker& w) {
  Fiber* f = w.current;
  switch_context(&f->ctx, &w.scheduler);
}

void fiber_main(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  Fiber* f = w.current;
  try {
    w.body.call(w.body.ctx);
  } catch (const std::exception& e) {
    if (!w.failed) {
      w.failed = true;
      w.error = std::string("an exception escaped the kernel in thread ") + fmt_uint3(f->tid) + ": " + e.what();
    }
  } catch (...) {
    if (!w.failed) {
      w.failed = true;
      w.error = "an exception escaped the kernel in thread " + fmt_uint3(f->tid);
    }
  }
  f->state = State::Done;
  ++w.done;
  w.free_stacks.push_back(f->stack);  // nothing runs on this stack after the switch below
  f->stack = -1;
  switch_context(&f->ctx, &w.scheduler);
  std::abort();  // a finished fiber is never resumed
}

void resume(Worker& w, Fiber& f) {
  if (f.state == State::NotStarted) {
    if (w.free_stacks.empty()) {
      w.stacks.push_back(make_stack(kStackBytes));
      w.free_stacks.push_back(int(w.stacks.size()) - 1);
    }
    f.stack = w.free_stacks.back();
    w.free_stacks.pop_back();
    prepare_context(&f.ctx, w.stacks[size_t(f.stack)], &fiber_main, &w);
  }
  f.state = State::Ready;
  w.current = &f;
  tls_thread_idx = &f.tid;
  switch_context(&w.scheduler, &f.ctx);
  w.current = nullptr;
}

const char* state_name(State s) {
  switch (s) {
    case State::NotStarted: return "not started";
    case State::Ready: return "running";
    case State::AtBlockBarrier: return "waiting at __syncthreads()";
    case State::AtWarpOp: return "waiting at a warp collective";
    case State::Done: return "exited";
  }
  return "?";
}

std::string hex(unsigned v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

// Releases the warp collectives whose lanes have all arrived; returns how many groups completed, or -1
// after recording an error (a lane reads from a lane outside the mask, mismatched ops).
int release_warp_ops(Worker& w) {
  int released = 0;
  const int nwarps = (w.nthreads + 31) / 32;
  for (int wp = 0; wp < nwarps; ++wp) {
    const int base = wp * 32, nl = std::min(32, w.nthreads - base);
    for (int l = 0; l < nl; ++l) {
      Fiber& f = w.fibers[size_t(base + l)];
      if (f.state != State::AtWarpOp) continue;
      const unsigned m = f.mask;
      bool complete = true;
      for (int k = 0; k < 32 && complete; ++k) {
        if (!(m >> k & 1u)) continue;
        if (k >= nl) {
          w.failed = true;
          w.error = std::string(f.what) + " in thread " + fmt_uint3(f.tid) + ": the mask " + hex(m) + " names lane " +
                    std::to_string(k) + ", which does not exist (the block has " + std::to_string(w.nthreads) +
                    " threads)";
          return -1;
        }
        const Fiber& g = w.fibers[size_t(base + k)];
        if (g.state != State::AtWarpOp || g.mask != m) complete = false;
      }
      if (!complete) continue;
      // Every lane of m waits with mask m: check the ops agree, then exchange.
      unsigned ballot = 0;
      for (int k = 0; k < nl; ++k) {
        const Fiber& g = w.fibers[size_t(base + k)];
        if (!(m >> k & 1u)) continue;
        if (g.op != f.op) {
          w.failed = true;
          w.error = "warp " + std::to_string(wp) + ": lanes of mask " + hex(m) + " meet at different collectives (" +
                    f.what + " in thread " + fmt_uint3(f.tid) + ", " + g.what + " in thread " + fmt_uint3(g.tid) + ")";
          return -1;
        }
        if (g.value) ballot |= 1u << k;
      }
      for (int k = 0; k < nl; ++k) {
        Fiber& g = w.fibers[size_t(base + k)];
        if (!(m >> k & 1u)) continue;
        if (g.op == kWarpShuffle) {
          const int s = g.src - base;
          if (s < 0 || s >= 32 || !(m >> s & 1u)) {
            w.failed = true;
            w.error = std::string(g.what) + " in thread " + fmt_uint3(g.tid) + " reads lane " + std::to_string(s) +
                      ", which is not in the mask " + hex(m) + " (undefined on the GPU)";
            return -1;
          }
          g.result = w.fibers[size_t(g.src)].value;
        } else if (g.op == kWarpBallot) {
          g.result = ballot;
        }
        g.state = State::Ready;
      }
      ++released;
    }
  }
  return released;
}

std::string deadlock_report(Worker& w) {
  int exited = 0, at_block = 0, at_warp = 0;
  const Fiber *first_exit = nullptr, *first_block = nullptr, *first_warp = nullptr;
  for (int i = 0; i < w.nthreads; ++i) {
    const Fiber& f = w.fibers[size_t(i)];
    if (f.state == State::Done) {
      ++exited;
      if (!first_exit) first_exit = &f;
    } else if (f.state == State::AtBlockBarrier) {
      ++at_block;
      if (!first_block) first_block = &f;
    } else if (f.state == State::AtWarpOp) {
      ++at_warp;
      if (!first_warp) first_warp = &f;
    }
  }
  std::string o = "deadlock: no barrier of the block can complete (" + std::to_string(w.nthreads) + " threads: " +
                  std::to_string(exited) + " exited, " + std::to_string(at_block) + " wait at __syncthreads(), " +
                  std::to_string(at_warp) + " wait at a warp collective)";
  if (first_block && exited)
    o += "; __syncthreads() needs every thread of the block, but thread " + fmt_uint3(first_exit->tid) +
         " has exited while thread " + fmt_uint3(first_block->tid) + " waits";
  if (first_warp) {
    o += std::string("; ") + first_warp->what + " (mask " + hex(first_warp->mask) + ") in thread " +
         fmt_uint3(first_warp->tid) + " waits for lanes that";
    for (int k = 0; k < 32; ++k) {
      if (!(first_warp->mask >> k & 1u)) continue;
      const int idx = first_warp->warp * 32 + k;
      if (idx >= w.nthreads) continue;
      const Fiber& g = w.fibers[size_t(idx)];
      if (g.state != State::AtWarpOp || g.mask != first_warp->mask) {
        o += std::string(" are elsewhere (lane ") + std::to_string(k) + " is " + state_name(g.state) +
             (g.state == State::AtWarpOp ? std::string(" with mask ") + hex(g.mask) : std::string()) + ")";
        break;
      }
    }
  }
  if (first_block && first_warp) o += "; threads of the block wait at different barriers (divergent code)";
  return o;
}

// Runs one block; false (with w.error set) when it faulted or deadlocked.
bool run_block(Worker& w) {
  w.done = 0;
  w.at_block_barrier = 0;
  w.sites.clear();
  w.static_end = w.dynamic_bytes;
  std::memset(w.arena_base, 0xFF, w.dynamic_bytes);  // NaN bytes: unwritten shared memory reads as NaN
  for (int i = 0; i < w.nthreads; ++i) {
    Fiber& f = w.fibers[size_t(i)];
    f.state = State::NotStarted;
    f.stack = -1;
  }
  for (;;) {
    for (int i = 0; i < w.nthreads; ++i) {
      Fiber& f = w.fibers[size_t(i)];
      if (f.state == State::NotStarted || f.state == State::Ready) {
        resume(w, f);
        if (w.failed) return false;
      }
    }
    if (w.done == w.nthreads) return true;
    const int warps = release_warp_ops(w);
    if (warps < 0) return false;
    if (warps > 0) continue;
    if (w.at_block_barrier == w.nthreads) {
      for (int i = 0; i < w.nthreads; ++i) w.fibers[size_t(i)].state = State::Ready;
      w.at_block_barrier = 0;
      continue;
    }
    w.failed = true;
    w.error = deadlock_report(w);
    return false;
  }
}

// Abandons the fibers of a failed block (their stacks are reused; kernels own no resources).
void reset_after_failure(Worker& w) {
  w.free_stacks.clear();
  for (size_t i = 0; i < w.stacks.size(); ++i) w.free_stacks.push_back(int(i));
}

std::unordered_map<const void*, int>& dynamic_smem_limits() {
  static std::unordered_map<const void*, int> m;
  return m;
}
std::mutex& attr_mu() {
  static std::mutex m;
  return m;
}

Fiber& current_fiber(const char* what) {
  Worker& w = worker();
  if (!w.current) {
    std::fprintf(stderr, "fsnn CUDA emulator: %s called outside a kernel\n", what);
    std::abort();
  }
  return *w.current;
}

}  // namespace

// ---- device-side entry points ----
void block_barrier() {
  Worker& w = worker();
  Fiber& f = current_fiber("__syncthreads");
  f.state = State::AtBlockBarrier;
  ++w.at_block_barrier;
  yield_to_scheduler(w);
}

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int src_lane, const char* what) {
  Worker& w = worker();
  Fiber& f = current_fiber(what);
  if (!(mask >> f.lane & 1u)) {
    w.failed = true;
    w.error = std::string(what) + " in thread " + fmt_uint3(f.tid) + ": the calling lane " + std::to_string(f.lane) +
              " is not in the mask " + hex(mask) + " (undefined on the GPU)";
    yield_to_scheduler(w);
  }
  f.op = op;
  f.mask = mask;
  f.value = value;
  f.src = src_lane < 0 ? -1 : f.warp * 32 + src_lane;
  f.what = what;
  f.state = State::AtWarpOp;
  yield_to_scheduler(w);
  return f.result;
}

int lane_id() { return current_fiber("a warp intrinsic").lane; }

void* shared_static(const void* site, size_t bytes, size_t align) {
  Worker& w = worker();
  for (const SharedSite& s : w.sites)
    if (s.site == site) return w.arena_base + s.offset;
  size_t static_bytes = 0;
  for (const SharedSite& s : w.sites) static_bytes += s.bytes;
  if (static_bytes + bytes > kStaticSharedMax) {
    w.failed = true;
    w.error = "static shared memory of " + std::to_string(static_bytes + bytes) +
              " bytes exceeds the 48 KiB a kernel may declare statically (nvcc would refuse it)";
    yield_to_scheduler(w);
  }
  const size_t off = (w.static_end + align - 1) / align * align;
  if (off + bytes > w.shared_limit) {
    w.failed = true;
    w.error = "shared memory of the block (" + std::to_string(w.dynamic_bytes) + " bytes dynamic + " +
              std::to_string(static_bytes + bytes) + " bytes static) exceeds the limit of " +
              std::to_string(w.shared_limit) + " bytes";
    yield_to_scheduler(w);
  }
  std::memset(w.arena_base + off, 0xFF, bytes);
  w.sites.push_back(SharedSite{site, off, bytes});
  w.static_end = off + bytes;
  return w.arena_base + off;
}

void* shared_dynamic() { return worker().arena_base; }

void device_fault(const char* what) {
  Worker& w = worker();
  current_fiber(what);
  w.failed = true;
  w.error = what;
  yield_to_scheduler(w);
  std::abort();
}

}  // namespace fsnn_emu

cudaError_t fsnn_emu_func_set_attribute(const void* func, cudaFuncAttribute attr, int value) {
  using namespace fsnn_emu;
  if (cudaError_t s = sticky_error()) return s;
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    const cudaDeviceProp& p = device_properties();
    if (value < 0 || size_t(value) > p.sharedMemPerBlockOptin)
      return set_error(cudaErrorInvalidValue,
                       "cudaFuncSetAttribute: MaxDynamicSharedMemorySize " + std::to_string(value) +
                           " exceeds the device's opt-in limit of " + std::to_string(p.sharedMemPerBlockOptin) +
                           " bytes",
                       false);
    std::lock_guard<std::mutex> lock(attr_mu());
    dynamic_smem_limits()[func] = value;
  }
  return cudaSuccess;
}

namespace fsnn_emu {

void run_grid(const void* kernel, const char* signature, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t,
              KernelBody body, const void* const* ptrs, int nptrs) {
  if (sticky_error()) return;
  const cudaDeviceProp& p = device_properties();
  const uint64_t nthreads = uint64_t(block.x) * block.y * block.z;
  std::string sig = signature;
  {
    const size_t k = sig.find("[with ");
    if (k != std::string::npos) sig = sig.substr(k);
  }
  auto config_error = [&](const std::string& why) {
    set_error(cudaErrorInvalidConfiguration, why + " (launch " + sig + ")", false);
  };
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0)
    return config_error("a grid or block dimension is 0");
  if (nthreads > uint64_t(p.maxThreadsPerBlock) || block.x > unsigned(p.maxThreadsDim[0]) ||
      block.y > unsigned(p.maxThreadsDim[1]) || block.z > unsigned(p.maxThreadsDim[2]))
    return config_error("block " + std::to_string(block.x) + "x" + std::to_string(block.y) + "x" +
                        std::to_string(block.z) + " exceeds the 1024 threads (1024 x 1024 x 64) a block may have");
  if (grid.x > unsigned(p.maxGridSize[0]) || grid.y > unsigned(p.maxGridSize[1]) || grid.z > unsigned(p.maxGridSize[2]))
    return config_error("grid exceeds 2^31-1 x 65535 x 65535 blocks");
  size_t limit = p.sharedMemPerBlock;
  {
    std::lock_guard<std::mutex> lock(attr_mu());
    auto it = dynamic_smem_limits().find(kernel);
    if (it != dynamic_smem_limits().end()) limit = std::max(limit, size_t(it->second));
  }
  if (shared_bytes > limit) {
    set_error(cudaErrorInvalidValue,
              "dynamic shared memory of " + std::to_string(shared_bytes) + " bytes exceeds the kernel's limit of " +
                  std::to_string(limit) + " bytes (above 48 KiB, cudaFuncSetAttribute must raise it first) (launch " +
                  sig + ")",
              false);
    return;
  }

  Worker& w = worker();
  if (w.current) {
    std::fprintf(stderr, "fsnn CUDA emulator: a kernel launched from inside a kernel (dynamic parallelism) is not supported\n");
    std::abort();
  }
  w.nthreads = int(nthreads);
  if (w.fibers.size() < nthreads) w.fibers.resize(nthreads);
  for (unsigned z = 0, i = 0; z < block.z; ++z)
    for (unsigned y = 0; y < block.y; ++y)
      for (unsigned x = 0; x < block.x; ++x, ++i) {
        Fiber& f = w.fibers[i];
        f.tid = uint3{x, y, z};
        f.linear = int(i);
        f.lane = int(i % 32);
        f.warp = int(i / 32);
      }
  w.body = body;
  w.dynamic_bytes = shared_bytes;
  w.shared_limit = std::min(p.sharedMemPerBlockOptin, kArenaBytes);
  w.failed = false;
  w.error.clear();
  w.info.grid_dim = grid;
  w.info.block_dim = block;
  tls_block = &w.info;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        w.info.block_idx = uint3{bx, by, bz};
        if (!run_block(w)) {
          reset_after_failure(w);
          tls_block = nullptr;
          tls_thread_idx = nullptr;
          set_error(cudaErrorLaunchFailure,
                    "kernel fault in block " + fmt_uint3(w.info.block_idx) + " of a " + std::to_string(grid.x) + "x" +
                        std::to_string(grid.y) + "x" + std::to_string(grid.z) + " grid of " +
                        std::to_string(block.x) + "x" + std::to_string(block.y) + "x" + std::to_string(block.z) +
                        " blocks: " + w.error + " (launch " + sig + ")",
                    true);
          return;
        }
      }
  tls_block = nullptr;
  tls_thread_idx = nullptr;
  check_red_zones_of(ptrs, nptrs, sig);
}

}  // namespace fsnn_emu
