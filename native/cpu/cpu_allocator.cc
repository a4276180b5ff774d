#include "cpu_allocator.h"

#include <cstdlib>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "../error.h"

namespace fsnn {
namespace cpu {

namespace {
constexpr size_t kAlign = 64;
// At most this many blocks are cached (whatever their size): a loop that frees very many tiny
// tensors at once keeps a bounded bookkeeping, and the oldest blocks are released first.
constexpr size_t kMaxCachedBlocks = size_t(1) << 16;

size_t cache_limit() {
  static const size_t limit = [] {
    const char* env = std::getenv("FSNN_CPU_CACHE_MB");
    const long mb = env ? std::atol(env) : 1024;
    return static_cast<size_t>(mb < 0 ? 0 : mb) << 20;
  }();
  return limit;
}

// Cached blocks in the order they were freed (oldest first, the eviction order), and per rounded
// size the positions of that size's blocks in the same order: allocation reuses the newest block of
// its size (the one most likely still in the processor's caches), eviction releases the oldest of all.
struct Cache {
  using Order = std::list<std::pair<size_t, void*>>;
  std::mutex mu;
  Order order;
  std::unordered_map<size_t, std::deque<Order::iterator>> by_size;
  size_t bytes = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: blocks may be freed during process exit
  return *c;
}

size_t rounded(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// Releases the oldest cached block (the caller holds the lock; the cache is not empty).
void evict_oldest(Cache& c) {
  auto [size, p] = c.order.front();
  auto slot = c.by_size.find(size);
  slot->second.pop_front();  // the oldest block of its size is the oldest block overall of that size
  if (slot->second.empty()) c.by_size.erase(slot);
  c.order.pop_front();
  c.bytes -= size;
  std::free(p);
}
}  // namespace

void* host_allocate(size_t bytes) {
  const size_t size = rounded(bytes == 0 ? 4 : bytes);
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto slot = c.by_size.find(size);
    if (slot != c.by_size.end()) {
      auto it = slot->second.back();
      slot->second.pop_back();
      if (slot->second.empty()) c.by_size.erase(slot);
      void* p = it->second;
      c.order.erase(it);
      c.bytes -= size;
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlign, size);
  if (!p) {
    host_empty_cache();
    p = std::aligned_alloc(kAlign, size);
  }
  if (!p)
    fail("out of memory: could not allocate ", bytes, " bytes on the cpu; free tensors with dispose() or tidy(), or use smaller batches");
  return p;
}

void host_deallocate(void* ptr, size_t bytes) {
  if (!ptr) return;
  const size_t size = rounded(bytes == 0 ? 4 : bytes);
  if (size > cache_limit()) {
    std::free(ptr);
    return;
  }
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.order.emplace_back(size, ptr);
  c.by_size[size].push_back(std::prev(c.order.end()));
  c.bytes += size;
  while (c.bytes > cache_limit() || c.order.size() > kMaxCachedBlocks) evict_oldest(c);
}

size_t host_cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.bytes;
}

void host_empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, p] : c.order) std::free(p);
  c.order.clear();
  c.by_size.clear();
  c.bytes = 0;
}

}  // namespace cpu
}  // namespace fsnn
