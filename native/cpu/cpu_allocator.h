// Host memory for CPU tensors: 64-byte aligned blocks. Freed blocks of every size are kept in a cache
// keyed by their size (rounded up to 64 bytes) and handed out again, so that a training loop that
// allocates the same buffers every step does not pay the kernel's page faults each time (glibc returns
// large blocks to the OS with munmap, and trims the heap's top) nor malloc's bookkeeping. The cache
// holds at most 65536 blocks, and at most (peak in use - now in use) + 1 GiB bytes: the footprint
// (in use + cached) stays within the most the process ever had in use plus 1 GiB, so steps of several
// GiB reuse their blocks too. Past either bound the oldest blocks are released. FSNN_CPU_CACHE_MB sets a fixed bound instead (0 turns the cache off). Cached blocks are
// not live: native.liveBytes counts the tensors' storages only.
#pragma once
#include <cstddef>

namespace fsnn {
namespace cpu {

void* host_allocate(size_t bytes);
void host_deallocate(void* ptr, size_t bytes);
struct HostMemoryStats {
  size_t in_use = 0;  // handed out and not yet freed (tensor storages, rounded to 64 bytes)
  size_t cached = 0;  // freed and kept for reuse
  size_t peak = 0;    // the most ever in use at once
};
HostMemoryStats host_memory_stats();
// Returns every cached block to the system.
void host_empty_cache();

// Scratch memory of n Ts from the cache above, uninitialized, returned when it goes out of scope. For
// kernels' large temporaries: a std::vector of tens of MB is a fresh mmap (page faults, zeroing) on
// every call, which on this kind of virtual machine costs more than the kernel's arithmetic.
template <class T>
class HostScratch {
 public:
  explicit HostScratch(size_t n) : bytes_(n * sizeof(T)), p_(static_cast<T*>(host_allocate(bytes_))) {}
  ~HostScratch() { host_deallocate(p_, bytes_); }
  HostScratch(const HostScratch&) = delete;
  HostScratch& operator=(const HostScratch&) = delete;
  T* data() { return p_; }
  const T* data() const { return p_; }
  T& operator[](size_t i) { return p_[i]; }

 private:
  size_t bytes_;
  T* p_;
};

}  // namespace cpu
}  // namespace fsnn
