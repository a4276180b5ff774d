// A small persistent thread pool for the CPU backend.
// parallel_for(n, grain, fn) splits [0, n) into fixed contiguous chunks of at least `grain` items
// (a few per thread) and runs fn(begin, end) on each, the pool's threads and the caller's claiming
// chunks as they come free. fn must not depend on which thread runs a chunk, or on how many chunks
// one thread runs; a chunk must never wait for another chunk to start. Nested calls run serially.
#pragma once
#include <cstdint>
#include <functional>

namespace fsnn {
namespace cpu {

// Number of worker threads (FSNN_NUM_THREADS, else std::thread::hardware_concurrency()).
int num_threads();

// Resizes the pool to n threads (1 <= n <= max_threads()); waits for a parallel_for in flight.
// Throws std::invalid_argument for a count out of range.
void set_num_threads(int n);

// The largest count set_num_threads accepts: max(4 x hardware threads, 256).
int max_threads();

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace cpu
}  // namespace fsnn
