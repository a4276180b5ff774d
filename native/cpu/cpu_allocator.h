// Host memory for CPU tensors: 64-byte aligned blocks. Freed blocks of every size are kept in a cache
// keyed by their size (rounded up to 64 bytes) and handed out again, so that a training loop that
// allocates the same buffers every step does not pay the kernel's page faults each time (glibc returns
// large blocks to the OS with munmap, and trims the heap's top) nor malloc's bookkeeping. The cache
// holds at most FSNN_CPU_CACHE_MB (default 1024) MiB and at most 65536 blocks; past either bound the
// oldest blocks are released. FSNN_CPU_CACHE_MB=0 turns the cache off. Cached blocks are not live:
// native.liveBytes counts the tensors' storages only.
#pragma once
#include <cstddef>

namespace fsnn {
namespace cpu {

void* host_allocate(size_t bytes);
void host_deallocate(void* ptr, size_t bytes);
// Bytes held in the cache (not in use by tensors).
size_t host_cached_bytes();
// Returns every cached block to the system.
void host_empty_cache();

}  // namespace cpu
}  // namespace fsnn
