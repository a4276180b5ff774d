#include "cpu_allocator.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../error.h"

namespace fsnn {
namespace cpu {

namespace {
constexpr size_t kAlign = 64;
// At most this many blocks are cached (whatever their size): a loop that frees very many tiny
// tensors at once keeps a bounded bookkeeping, and the oldest blocks are released first.
constexpr size_t kMaxCachedBlocks = size_t(1) << 16;

constexpr long kDefaultCacheMB = 1024;

// FSNN_CPU_CACHE_MB when set (a hard cap; 0 turns the cache off), else -1.
long cache_mb_override() {
  static const long mb = [] {
    const char* env = std::getenv("FSNN_CPU_CACHE_MB");
    if (!env) return -1L;
    const long v = std::atol(env);
    return v < 0 ? 0L : v;
  }();
  return mb;
}

// Cached blocks in the order they were freed (oldest first, the eviction order), and per rounded
// size the positions of that size's blocks in the same order: allocation reuses the newest block of
// its size (the one most likely still in the processor's caches), eviction releases the oldest of all.
struct Cache {
  using Order = std::list<std::pair<size_t, void*>>;
  std::mutex mu;
  Order order;
  std::unordered_map<size_t, std::deque<Order::iterator>> by_size;
  size_t bytes = 0;   // cached
  size_t in_use = 0;  // handed out and not yet freed
  size_t peak = 0;    // the most ever in use at once
  // How many bytes the cache may hold now. Without FSNN_CPU_CACHE_MB: as much as keeps the process's
  // footprint (in use + cached) within its own peak of memory in use plus 1 GiB. A step whose tensors
  // add up to several GiB (a long sequence) then finds them again next step instead of the kernel's
  // fresh zeroed pages. The 1 GiB of slack matters there: blocks are reused by exact size, so a step
  // can miss on one size while blocks of others wait in the cache, and a bound of exactly the peak
  // would evict (and the next step fault again) a block of several hundred MB every step.
  size_t limit() const {
    const long mb = cache_mb_override();
    if (mb >= 0) return size_t(mb) << 20;
    return (peak - in_use) + (size_t(kDefaultCacheMB) << 20);
  }
  void trim() {
    while (bytes > 0 && (bytes > limit() || order.size() > kMaxCachedBlocks)) evict_oldest();
  }
  // Releases the oldest cached block (the caller holds the lock; the cache is not empty).
  void evict_oldest() {
    auto [size, p] = order.front();
    auto slot = by_size.find(size);
    slot->second.pop_front();  // the oldest block of its size is the oldest block overall of that size
    if (slot->second.empty()) by_size.erase(slot);
    order.pop_front();
    bytes -= size;
    std::free(p);
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: blocks may be freed during process exit
  return *c;
}

// Blocks of at least kHugeFrom bytes are whole 2 MiB pages, 2 MiB aligned, and asked for as transparent
// huge pages (madvise; the kernel may still give small ones). Their first touch then faults once per
// 2 MiB instead of once per 4 KiB, and walking their rows misses the TLB far less.
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugeFrom = size_t(8) << 20;
size_t rounded(size_t bytes) {
  if (bytes >= kHugeFrom) return (bytes + kHugePage - 1) / kHugePage * kHugePage;
  return (bytes + kAlign - 1) / kAlign * kAlign;
}
void* system_allocate(size_t size) {
  if (size < kHugeFrom) return std::aligned_alloc(kAlign, size);
  void* p = std::aligned_alloc(kHugePage, size);
#ifdef MADV_HUGEPAGE
  if (p) madvise(p, size, MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
#endif
  return p;
}

}  // namespace

void* host_allocate(size_t bytes) {
  const size_t size = rounded(bytes == 0 ? 4 : bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto slot = c.by_size.find(size);
    if (slot != c.by_size.end()) {
      auto it = slot->second.back();
      slot->second.pop_back();
      if (slot->second.empty()) c.by_size.erase(slot);
      void* p = it->second;
      c.order.erase(it);
      c.bytes -= size;
      c.in_use += size;
      c.peak = std::max(c.peak, c.in_use);
      return p;
    }
  }
  void* p = system_allocate(size);
  if (!p) {
    host_empty_cache();
    p = system_allocate(size);
  }
  if (!p)
    fail("out of memory: could not allocate ", bytes, " bytes on the cpu; free tensors with dispose() or tidy(), or use smaller batches");
  std::lock_guard<std::mutex> lock(c.mu);
  c.in_use += size;
  c.peak = std::max(c.peak, c.in_use);
  c.trim();  // a new block: the cache may now hold more than the footprint allows
  return p;
}

void host_deallocate(void* ptr, size_t bytes) {
  if (!ptr) return;
  const size_t size = rounded(bytes == 0 ? 4 : bytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.in_use -= size;
  if (size > c.limit()) {
    std::free(ptr);
    return;
  }
  c.order.emplace_back(size, ptr);
  c.by_size[size].push_back(std::prev(c.order.end()));
  c.bytes += size;
  c.trim();
}

HostMemoryStats host_memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.in_use, c.bytes, c.peak};
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
