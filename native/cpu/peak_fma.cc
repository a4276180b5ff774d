#include "peak_fma.h"
#include "cpu_features.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "parallel.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FSNN_PEAK_X86 1
#include <immintrin.h>
#endif

namespace fsnn {
namespace cpu {
namespace {

// 12 independent accumulator chains: enough to cover FMA latency x issue width on current cores
// (4-5 cycles x 2 pipes), and they fit the 16 vector registers with the two constants.
constexpr int kChains = 12;
constexpr int kLanes = 8;
constexpr long kItersPerBatch = 1 << 15;  // FMAs per chain between clock reads

// Every chain iterates x <- x * m + c with fixed point 1, so values stay normal forever.
constexpr float kMul = 0.999f;
constexpr float kAdd = 0.001f;

using Loop = float (*)(long iters, float seed);

float loop_generic(long iters, float seed) {
  float acc[kChains][kLanes];
  for (int i = 0; i < kChains; ++i)
    for (int j = 0; j < kLanes; ++j) acc[i][j] = seed + 0.01f * float(i * kLanes + j);
  const float m = kMul, c = kAdd;
  for (long it = 0; it < iters; ++it) {
    for (int i = 0; i < kChains; ++i)
      for (int j = 0; j < kLanes; ++j) acc[i][j] = acc[i][j] * m + c;
  }
  float s = 0.0f;
  for (int i = 0; i < kChains; ++i)
    for (int j = 0; j < kLanes; ++j) s += acc[i][j];
  return s;
}

#ifdef FSNN_PEAK_X86
__attribute__((target("avx2,fma"))) float loop_avx2(long iters, float seed) {
  const __m256 m = _mm256_set1_ps(kMul);
  const __m256 c = _mm256_set1_ps(kAdd);
  const __m256 step = _mm256_setr_ps(0.f, .01f, .02f, .03f, .04f, .05f, .06f, .07f);
  __m256 x0 = _mm256_add_ps(_mm256_set1_ps(seed + 0.0f), step);
  __m256 x1 = _mm256_add_ps(_mm256_set1_ps(seed + 0.1f), step);
  __m256 x2 = _mm256_add_ps(_mm256_set1_ps(seed + 0.2f), step);
  __m256 x3 = _mm256_add_ps(_mm256_set1_ps(seed + 0.3f), step);
  __m256 x4 = _mm256_add_ps(_mm256_set1_ps(seed + 0.4f), step);
  __m256 x5 = _mm256_add_ps(_mm256_set1_ps(seed + 0.5f), step);
  __m256 x6 = _mm256_add_ps(_mm256_set1_ps(seed + 0.6f), step);
  __m256 x7 = _mm256_add_ps(_mm256_set1_ps(seed + 0.7f), step);
  __m256 x8 = _mm256_add_ps(_mm256_set1_ps(seed + 0.8f), step);
  __m256 x9 = _mm256_add_ps(_mm256_set1_ps(seed + 0.9f), step);
  __m256 x10 = _mm256_add_ps(_mm256_set1_ps(seed + 1.0f), step);
  __m256 x11 = _mm256_add_ps(_mm256_set1_ps(seed + 1.1f), step);
  for (long it = 0; it < iters; ++it) {
    x0 = _mm256_fmadd_ps(x0, m, c);
    x1 = _mm256_fmadd_ps(x1, m, c);
    x2 = _mm256_fmadd_ps(x2, m, c);
    x3 = _mm256_fmadd_ps(x3, m, c);
    x4 = _mm256_fmadd_ps(x4, m, c);
    x5 = _mm256_fmadd_ps(x5, m, c);
    x6 = _mm256_fmadd_ps(x6, m, c);
    x7 = _mm256_fmadd_ps(x7, m, c);
    x8 = _mm256_fmadd_ps(x8, m, c);
    x9 = _mm256_fmadd_ps(x9, m, c);
    x10 = _mm256_fmadd_ps(x10, m, c);
    x11 = _mm256_fmadd_ps(x11, m, c);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)),
                           _mm256_add_ps(_mm256_add_ps(x4, x5), _mm256_add_ps(x6, x7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(x8, x9), _mm256_add_ps(x10, x11)));
  alignas(32) float lanes[kLanes];
  _mm256_store_ps(lanes, s);
  float total = 0.0f;
  for (float v : lanes) total += v;
  return total;
}

#endif

Loop select_loop() {
#ifdef FSNN_PEAK_X86
  static const bool avx2 = cpu_has_avx2_fma();
  if (avx2) return loop_avx2;
#endif
  return loop_generic;
}

// One timed run of `seconds` on `threads` threads started together; total GFLOP/s.
double measure_once(Loop loop, int threads, double seconds) {
  using Clock = std::chrono::steady_clock;

  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point start;
  const auto duration = std::chrono::duration<double>(seconds);
  std::vector<long> batches(threads, 0);
  std::vector<Clock::time_point> ends(threads);
  std::vector<float> sinks(threads, 0.0f);

  // Timed part of thread t: whole batches until `seconds` have passed since the common start.
  auto timed = [&](int t, float sink) {
    long n = 0;
    Clock::time_point now;
    do {
      sink += loop(kItersPerBatch, sink * 1e-6f);
      ++n;
      now = Clock::now();
    } while (now - start < duration);
    batches[t] = n;
    ends[t] = now;
    sinks[t] = sink;
  };

  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const float warm = loop(kItersPerBatch / 4, 1.0f + t);  // warm up (clocks, caches)
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      timed(t, warm);
    });
  }
  // The calling thread is thread 0; the clock starts once every thread is warm.
  while (ready.load() < threads - 1) std::this_thread::yield();
  const float warm = loop(kItersPerBatch / 4, 0.5f);
  start = Clock::now();
  go.store(true, std::memory_order_release);
  timed(0, warm);
  for (auto& th : pool) th.join();

  Clock::time_point last = start;
  double total_batches = 0.0;
  for (int t = 0; t < threads; ++t) {
    last = std::max(last, ends[t]);
    total_batches += double(batches[t]);
  }
  // Keep the results observable so the loops cannot be dropped.
  volatile float keep = 0.0f;
  for (float s : sinks) keep = keep + s;
  (void)keep;
  const double elapsed = std::chrono::duration<double>(last - start).count();
  const double flops = total_batches * double(kItersPerBatch) * kChains * kLanes * 2.0;
  return elapsed > 0.0 ? flops / elapsed * 1e-9 : 0.0;
}

}  // namespace

const char* peak_fma_kernel() { return select_loop() == loop_generic ? "generic" : "avx2-fma"; }

double measure_peak_gflops(int threads, double seconds) {
  if (threads <= 0) threads = num_threads();
  if (!(seconds > 0.0)) seconds = 0.2;
  // Short runs, best one kept: on a shared machine a run that other processes interrupted reads low,
  // never high, so the best short run is the closest to what the cores can do.
  const double slice = std::min(seconds, 0.05);
  const int runs = std::max(1, int(seconds / slice + 0.5));
  double best = 0.0;
  for (int r = 0; r < runs; ++r) best = std::max(best, measure_once(select_loop(), threads, slice));
  return best;
}

}  // namespace cpu
}  // namespace fsnn
