#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fsnn {
namespace cpu {
namespace {

thread_local bool in_parallel_region = false;

class ThreadPool {
 public:
  explicit ThreadPool(int n) { start(n); }
  ~ThreadPool() { stop(); }
  int size() const { return size_.load(); }

  // Replaces the workers by n - 1 new ones (the caller's thread is the n-th); waits for a run in flight.
  void resize(int n) {
    std::unique_lock<std::mutex> call_lock(call_mu_);
    if (n == size_.load()) return;
    stop();
    start(n);
  }

  // Splits [0, n) into fixed contiguous chunks (up to kChunksPerThread per pool thread, at least `grain`
  // items each) that the calling thread and the workers claim from a shared counter, and runs fn on
  // each; returns when every chunk has finished. Claiming instead of one chunk per thread: on a shared
  // or virtual machine a worker is often late (descheduled, or yielding its core to another process),
  // and the caller then runs the chunks that worker would have had instead of waiting for it. A worker
  // that wakes after the region closed runs nothing (see loop()). Returns the first exception thrown by
  // any chunk; after it no further chunk starts.
  std::exception_ptr run_chunks(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    std::unique_lock<std::mutex> call_lock(call_mu_);
    const int64_t chunks = std::min<int64_t>(int64_t(size_.load()) * kChunksPerThread, (n + grain - 1) / grain);
    const int64_t chunk = (n + chunks - 1) / chunks;
    std::atomic<int64_t> next{0};
    std::exception_ptr error;
    std::mutex error_mu;
    const std::function<void(int)> task = [&](int) {
      for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
        const int64_t begin = c * chunk, end = std::min(n, begin + chunk);
        if (begin >= end) continue;
        try {
          fn(begin, end);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (!error) error = std::current_exception();
          next.store(chunks);
        }
      }
    };
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      task_.store(&task, std::memory_order_relaxed);
      gen = generation_.fetch_add(1) + 1;
      open_.store(gen);  // after task_: a worker that sees the region open sees its task
    }
    cv_.notify_all();  // cheap when every worker is still spinning (no waiters)
    in_parallel_region = true;
    task(0);
    in_parallel_region = false;
    // Close the region, then wait for the workers inside it (they hold `task`, which lives on this stack).
    open_.store(0);
    if (!spin_until([this] { return active_.load() == 0; })) {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [this] { return active_.load() == 0; });
    }
    task_.store(nullptr, std::memory_order_relaxed);
    return error;
  }

 private:
  void start(int n) {
    uint64_t now;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = false;
      now = generation_;
    }
    size_.store(n);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, now] { loop(i, now); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++generation_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }
  // A worker waits for a generation it has not seen; `seen` starts at the generation it was created in.
  // It enters a region by counting itself in `active_` and only then checking that the region is still
  // open: the caller closes it before waiting for active_ == 0, so either the caller waits for this
  // worker, or the worker sees the region closed and leaves without touching its task.
  void loop(int index, uint64_t seen) {
    for (;;) {
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        if (stop_) return;
      }
      active_.fetch_add(1);
      if (open_.load() == seen) {
        in_parallel_region = true;
        (*task_.load(std::memory_order_relaxed))(index);
        in_parallel_region = false;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (active_.fetch_sub(1) == 1) done_cv_.notify_one();
      }
    }
  }

  // Polls until ready() or the spin window passed; true when ready. A training step calls the pool
  // every few tens of microseconds, with gaps of up to about a millisecond of JS work between calls,
  // and waking a thread blocked on a condition variable costs more than a small op itself on a virtual
  // machine (its idle vCPU halts). So workers keep polling for the next task for a while before they
  // sleep, and the caller polls for their completion. Past the first 50 us the poll yields the core
  // on every round, so that with more runnable threads than cores (other processes, other pools) the
  // spinner gives its core to them instead of holding it for a whole time slice.
  template <class Ready>
  static bool spin_until(const Ready& ready) {
    static const std::chrono::nanoseconds window = spin_window();
    constexpr std::chrono::microseconds kPauseOnly{50};
    const auto start = std::chrono::steady_clock::now();
    bool polite = false;
    for (int i = 0;; ++i) {
      if (ready()) return true;
      if (polite) {
        std::this_thread::yield();
      } else {
        cpu_relax();
      }
      if (polite || (i & 63) == 63) {
        const auto spent = std::chrono::steady_clock::now() - start;
        if (spent > window) return ready();
        polite = spent > kPauseOnly;
      }
    }
  }
  // FSNN_SPIN_US (microseconds, 0 = sleep at once), else 2 ms: step-time medians on the 2-core test
  // machine were 10-15 % lower with 1 ms than with 0.2 ms, and flat from 1 to 20 ms.
  static std::chrono::nanoseconds spin_window() {
    if (const char* env = std::getenv("FSNN_SPIN_US")) {
      char* end = nullptr;
      const long long us = std::strtoll(env, &end, 10);
      if (end != env && *end == '\0' && us >= 0) return std::chrono::microseconds(std::min<long long>(us, 1000000));
    }
    return std::chrono::microseconds(2000);
  }
  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  std::atomic<int> size_{1};
  std::vector<std::thread> workers_;
  std::mutex mu_, call_mu_;
  std::condition_variable cv_, done_cv_;
  // Chunks per pool thread in a region: enough that a late worker's share is taken by the others in
  // pieces, few enough that each chunk stays long against the cost of claiming it.
  static constexpr int64_t kChunksPerThread = 4;
  std::atomic<const std::function<void(int)>*> task_{nullptr};
  std::atomic<uint64_t> open_{0};  // the generation of the region still open to workers, else 0
  std::atomic<int> active_{0};     // workers inside a region
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
};

int hardware_threads() {
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

int configured_threads() {
  if (const char* env = std::getenv("FSNN_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return hardware_threads();
}

ThreadPool& pool() {
  static ThreadPool instance(configured_threads());
  return instance;
}

}  // namespace

int num_threads() { return pool().size(); }

int max_threads() { return std::max(4 * hardware_threads(), 256); }

void set_num_threads(int n) {
  if (n < 1 || n > max_threads()) throw std::invalid_argument("the thread count must be between 1 and " + std::to_string(max_threads()));
  if (in_parallel_region) throw std::logic_error("the thread count cannot change inside a parallel region");
  pool().resize(n);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  ThreadPool& p = pool();
  // Serial when one chunk suffices, the pool has one thread, or this is already a pool thread.
  if (in_parallel_region || p.size() <= 1 || n <= grain) {
    fn(0, n);
    return;
  }
  // An exception in any chunk (on any thread) is rethrown here once all chunks ended, so that it
  // becomes a JS error instead of terminating the process.
  if (std::exception_ptr error = p.run_chunks(n, grain, fn)) std::rethrow_exception(error);
}

}  // namespace cpu
}  // namespace fsnn
