// Host memory for CPU tensors: 64-byte aligned blocks; freed blocks of 1 MiB or more are kept in a
// small cache keyed by size and handed out again, so that a training loop that allocates the same
// large buffers every step does not pay the kernel's page faults (glibc returns such blocks to the OS
// with munmap) each time. The cache holds at most FSNN_CPU_CACHE_MB (default 1024) MiB; past that the
// oldest blocks are released.
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
