// The caching device allocator and the pinned upload ring (see cuda_backend.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "cuda_backend.h"

namespace fsnn {
namespace cuda {

namespace {
constexpr size_t kSmallLimit = size_t(1) << 20;  // below: 512-byte classes
constexpr size_t kMinBlock = 512;

std::string mib(uint64_t bytes) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << double(bytes) / (1024.0 * 1024.0) << " MiB";
  return o.str();
}
}  // namespace

AllocatorMode allocator_mode_from_env() {
  AllocatorMode m;
  const char* env = std::getenv("FSNN_CUDA_ALLOC");
  if (!env || !*env) return m;
  std::stringstream ss(env);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "exact") m.exact = true;
    else if (item == "poison") m.poison = true;
    else if (item == "cache" || item.empty()) continue;
    else
      throw Error("FSNN_CUDA_ALLOC='" + std::string(env) + "': unknown mode '" + item +
                  "'; use exact, poison, exact,poison, or leave it unset for the caching allocator");
  }
  return m;
}

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes < kMinBlock) return kMinBlock;
  if (bytes < kSmallLimit) return (bytes + kMinBlock - 1) / kMinBlock * kMinBlock;
  // Four classes per power of two: 1, 1.25, 1.5, 1.75 x 2^k (at most 25% slack).
  size_t p = kSmallLimit;
  while (p <= bytes / 2) p *= 2;
  const size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  // exact: the requested size (at least 1 byte, so every tensor has its own address), never cached.
  const size_t size = mode_.exact ? std::max<size_t>(bytes, 1) : round_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  ++st_.num_requests;
  void* ptr = nullptr;
  auto it = mode_.exact ? free_.end() : free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    ++st_.num_cache_hits;
    st_.cached_bytes -= size;
  } else {
    cudaError_t err = cudaMalloc(&ptr, size);
    if (err == cudaErrorMemoryAllocation) {
      // Out of memory: give every cached block back to the driver and try once more.
      cudaGetLastError();
      const uint64_t cached = st_.cached_bytes;
      ++st_.num_oom_retries;
      empty_cache_locked();
      err = cudaMalloc(&ptr, size);
      if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        cudaGetLastError();
        std::ostringstream o;
        o << "CUDA out of memory: could not allocate " << mib(size) << " (a request of " << bytes
          << " bytes); tensors hold " << mib(st_.allocated_bytes) << ", the cache held " << mib(cached)
          << " (released and retried), the GPU has " << mib(free_b) << " free of " << mib(total_b)
          << ". Free tensors with dispose() or tidy(), use a smaller batch or fewer time steps, or call "
             "cuda.emptyCache() if other processes share the GPU";
        throw Error(o.str());
      }
    }
    if (err != cudaSuccess) throw_cuda_error(err, "cudaMalloc");
    ++st_.num_allocs;
    st_.reserved_bytes += size;
  }
  live_[ptr] = size;
  st_.allocated_bytes += size;
  if (st_.allocated_bytes > st_.peak_allocated_bytes) st_.peak_allocated_bytes = st_.allocated_bytes;
  if (mode_.poison) check(cudaMemsetAsync(ptr, 0xFF, size, stream_), "cudaMemsetAsync (FSNN_CUDA_ALLOC=poison)");
  return ptr;
}

void CachingAllocator::release(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(ptr);
  if (it == live_.end()) return;  // not ours (never happens); ignore rather than abort
  const size_t size = it->second;
  live_.erase(it);
  st_.allocated_bytes -= size;
  if (mode_.exact) {
    // cudaFree waits for the device, so work still enqueued on the block completes first. Release runs
    // in destructors and must not throw: a failure here is a sticky fault that the next op reports.
    if (cudaFree(ptr) != cudaSuccess) cudaGetLastError();
    ++st_.num_frees;
    st_.reserved_bytes -= size;
    return;
  }
  st_.cached_bytes += size;
  free_[size].push_back(ptr);
}

void CachingAllocator::empty_cache_locked() {
  // Blocks in the cache may still be read or written by enqueued work: wait for the stream first.
  cudaStreamSynchronize(stream_);
  for (auto& kv : free_) {
    for (void* p : kv.second) {
      cudaFree(p);
      ++st_.num_frees;
      st_.reserved_bytes -= kv.first;
      st_.cached_bytes -= kv.first;
    }
    kv.second.clear();
  }
  free_.clear();
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  empty_cache_locked();
}

AllocatorStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return st_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  st_.peak_allocated_bytes = st_.allocated_bytes;
}

// ---------------------------------------------------------------------------------------------

UploadRing::UploadRing(cudaStream_t stream) : stream_(stream) {
  void* h = nullptr;
  if (cudaMallocHost(&h, kChunks * kChunkBytes) != cudaSuccess) {
    cudaGetLastError();
    return;  // pageable uploads only
  }
  for (int i = 0; i < kChunks; ++i) {
    if (cudaEventCreateWithFlags(&done_[i], cudaEventDisableTiming) != cudaSuccess) {
      cudaGetLastError();
      for (int j = 0; j < i; ++j) cudaEventDestroy(done_[j]);
      cudaFreeHost(h);
      return;
    }
  }
  host_ = static_cast<char*>(h);
}

void UploadRing::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (!host_ || bytes > kChunkBytes) {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "copy to the GPU");
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  const size_t need = (bytes + 255) / 256 * 256;
  if (offset_ + need > kChunkBytes) {
    // Leave this chunk: its copies complete when this event does.
    check(cudaEventRecord(done_[chunk_], stream_), "cudaEventRecord (upload ring)");
    pending_[chunk_] = true;
    chunk_ = (chunk_ + 1) % kChunks;
    offset_ = 0;
    if (pending_[chunk_]) {
      check(cudaEventSynchronize(done_[chunk_]), "cudaEventSynchronize (upload ring)");
      pending_[chunk_] = false;
    }
  }
  char* staging = host_ + size_t(chunk_) * kChunkBytes + offset_;
  std::memcpy(staging, src, bytes);
  check(cudaMemcpyAsync(dst, staging, bytes, cudaMemcpyHostToDevice, stream_), "copy to the GPU");
  offset_ += need;
}

}  // namespace cuda
}  // namespace fsnn
