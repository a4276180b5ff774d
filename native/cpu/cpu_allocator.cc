#include "cpu_allocator.h"

#include <cstdlib>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "../error.h"

namespace fsnn {
namespace cpu {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMinCached = size_t(1) << 20;

size_t cache_limit() {
  static const size_t limit = [] {
    const char* env = std::getenv("FSNN_CPU_CACHE_MB");
    const long mb = env ? std::atol(env) : 1024;
    return static_cast<size_t>(mb < 0 ? 0 : mb) << 20;
  }();
  return limit;
}

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> by_size;  // rounded size -> block
  std::list<std::pair<size_t, void*>> order;  // oldest first, for eviction
  size_t bytes = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: blocks may be freed during process exit
  return *c;
}

size_t rounded(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

void forget(Cache& c, size_t size, void* p) {
  for (auto it = c.order.begin(); it != c.order.end(); ++it)
    if (it->second == p) {
      c.order.erase(it);
      break;
    }
  c.bytes -= size;
}
}  // namespace

void* host_allocate(size_t bytes) {
  const size_t size = rounded(bytes == 0 ? 4 : bytes);
  if (size >= kMinCached) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.by_size.find(size);
    if (it != c.by_size.end()) {
      void* p = it->second;
      c.by_size.erase(it);
      forget(c, size, p);
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlign, size);
  if (!p && size >= kMinCached) {
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
  if (size < kMinCached || size > cache_limit()) {
    std::free(ptr);
    return;
  }
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.by_size.emplace(size, ptr);
  c.order.emplace_back(size, ptr);
  c.bytes += size;
  while (c.bytes > cache_limit() && !c.order.empty()) {
    auto [old_size, old_ptr] = c.order.front();
    c.order.pop_front();
    auto range = c.by_size.equal_range(old_size);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second == old_ptr) {
        c.by_size.erase(it);
        break;
      }
    c.bytes -= old_size;
    std::free(old_ptr);
  }
}

size_t host_cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.bytes;
}

void host_empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, p] : c.by_size) std::free(p);
  c.by_size.clear();
  c.order.clear();
  c.bytes = 0;
}

}  // namespace cpu
}  // namespace fsnn
