// Development harness for the CPU backend's built-in SGEMM (native/cpu/sgemm_builtin.cc):
//   1. correctness against a naive double-accumulating reference (and OpenBLAS alongside), over
//      odd shapes, all transpose combinations, padded leading dimensions, alpha/beta cases, both
//      micro-kernels, and calls from inside a parallel_for body;
//   2. GFLOP/s of builtin vs OpenBLAS at n = 256 / 512 / 1024 (same thread count), next to the
//      measured FMA peak of the machine.
// Build with benchmarks/native/build.sh.
// Usage: sgemm_harness [--quick] [--no-bench] [--sizes 256,512,1024] [--seconds S] [--rounds R]
// Threads: FSNN_NUM_THREADS (the pool's size; OpenBLAS is set to the same count).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../native/cpu/parallel.h"
#include "../../native/cpu/peak_fma.h"
#include "../../native/cpu/sgemm_builtin.h"

using fsnn::cpu::sgemm_builtin;

namespace {

struct Case {
  int64_t M, N, K;
  bool ta, tb;
  int64_t pad_a, pad_b, pad_c;  // extra leading-dimension columns
  float alpha, beta;
};

// op(A) is M x K, op(B) is K x N.
double ref_entry(const Case& c, const std::vector<float>& A, int64_t lda, const std::vector<float>& B,
                 int64_t ldb, int64_t i, int64_t j, double* abs_sum) {
  double s = 0.0, as = 0.0;
  for (int64_t k = 0; k < c.K; ++k) {
    const double a = c.ta ? A[k * lda + i] : A[i * lda + k];
    const double b = c.tb ? B[j * ldb + k] : B[k * ldb + j];
    s += a * b;
    as += std::fabs(a * b);
  }
  *abs_sum = as;
  return s;
}

const float kSentinel = -12345.5f;

struct CheckResult {
  bool ok = true;
  double worst = 0.0;  // max |err| / (|alpha| * sum|a*b| + |beta*c0| + tiny), in units of 2^-24
};

using GemmFn = void (*)(const Case&, const float*, int64_t, const float*, int64_t, float*, int64_t);

void run_builtin(const Case& c, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                 int64_t ldc) {
  sgemm_builtin(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc);
}

void run_openblas(const Case& c, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                  int64_t ldc) {
  cblas_sgemm(CblasRowMajor, c.ta ? CblasTrans : CblasNoTrans, c.tb ? CblasTrans : CblasNoTrans,
              int(c.M), int(c.N), int(c.K), c.alpha, A, int(std::max<int64_t>(lda, 1)), B,
              int(std::max<int64_t>(ldb, 1)), c.beta, C, int(std::max<int64_t>(ldc, 1)));
}

// Calls the builtin from inside a parallel_for body (it must then run serially and still be right).
void run_builtin_nested(const Case& c, const float* A, int64_t lda, const float* B, int64_t ldb,
                        float* C, int64_t ldc) {
  fsnn::cpu::parallel_for(2, 1, [&](int64_t b, int64_t e) {
    for (int64_t x = b; x < e; ++x) {
      if (x == 0) sgemm_builtin(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B, ldb, c.beta, C, ldc);
    }
  });
}

CheckResult check_case(const Case& c, GemmFn fn, std::mt19937& rng) {
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int64_t lda = a_cols + c.pad_a, ldb = b_cols + c.pad_b, ldc = c.N + c.pad_c;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> A(size_t(std::max<int64_t>(a_rows * lda, 1)), kSentinel);
  std::vector<float> B(size_t(std::max<int64_t>(b_rows * ldb, 1)), kSentinel);
  std::vector<float> C(size_t(std::max<int64_t>(c.M * ldc, 1)), kSentinel);
  for (int64_t i = 0; i < a_rows; ++i)
    for (int64_t j = 0; j < a_cols; ++j) A[i * lda + j] = dist(rng);
  for (int64_t i = 0; i < b_rows; ++i)
    for (int64_t j = 0; j < b_cols; ++j) B[i * ldb + j] = dist(rng);
  // Padding of A and B holds NaN: reading it would poison the result.
  for (int64_t i = 0; i < a_rows; ++i)
    for (int64_t j = a_cols; j < lda; ++j) A[i * lda + j] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 0; i < b_rows; ++i)
    for (int64_t j = b_cols; j < ldb; ++j) B[i * ldb + j] = std::numeric_limits<float>::quiet_NaN();
  // alpha == 0: A and B must not be read at all (BLAS semantics), so make every element NaN.
  if (c.alpha == 0.0f) {
    std::fill(A.begin(), A.end(), std::numeric_limits<float>::quiet_NaN());
    std::fill(B.begin(), B.end(), std::numeric_limits<float>::quiet_NaN());
  }
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j)
      C[i * ldc + j] = c.beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : dist(rng);
  const std::vector<float> C0 = C;

  fn(c, A.data(), lda, B.data(), ldb, C.data(), ldc);

  CheckResult r;
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const float got = C[i * ldc + j];
      if (j >= c.N) {  // padding of C must be untouched
        if (std::memcmp(&got, &C0[i * ldc + j], sizeof(float)) != 0) r.ok = false;
        continue;
      }
      double abs_sum = 0.0;
      const double dot = c.alpha == 0.0f ? 0.0 : ref_entry(c, A, lda, B, ldb, i, j, &abs_sum);
      const double c0 = C0[i * ldc + j];
      const double want = double(c.alpha) * dot + (c.beta == 0.0f ? 0.0 : double(c.beta) * c0);
      const double scale = std::fabs(c.alpha) * abs_sum + (c.beta == 0.0f ? 0.0 : std::fabs(c.beta * c0)) + 1e-30;
      const double err = std::fabs(double(got) - want) / scale * 16777216.0;  // in units of 2^-24
      if (!std::isfinite(got) || !(err <= 2.0 * double(c.K) + 4.0)) r.ok = false;
      if (std::isfinite(err)) r.worst = std::max(r.worst, err);
      else r.worst = std::numeric_limits<double>::infinity();
    }
  }
  return r;
}

std::vector<Case> make_cases(bool quick) {
  std::vector<Case> cases;
  const int64_t shapes[][3] = {
      {1, 1, 1},     {7, 13, 5},     {129, 65, 257}, {0, 5, 3},    {5, 0, 3},      {4, 6, 0},
      {6, 16, 1},    {6, 16, 256},   {12, 32, 512},  {5, 15, 17},  {1, 300, 70},   {300, 1, 70},
      {17, 17, 1},   {33, 100, 1},   {145, 31, 300}, {64, 64, 64}, {100, 200, 300}, {257, 129, 513},
      {31, 1000, 9}, {1000, 31, 9},  {2, 2, 1000},   {150, 4100, 20}, {4103, 40, 33},
  };
  const float alphas[] = {1.0f, -0.75f};
  const float betas[] = {0.0f, 1.0f, 0.5f};
  int variant = 0;
  for (const auto& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      for (float beta : betas) {
        ++variant;
        if (quick && variant % 3 != 0) continue;
        Case c;
        c.M = s[0];
        c.N = s[1];
        c.K = s[2];
        c.ta = t & 1;
        c.tb = (t >> 1) & 1;
        c.pad_a = (variant % 2) ? 3 : 0;
        c.pad_b = (variant % 3) ? 0 : 5;
        c.pad_c = (variant % 4 == 1) ? 7 : 0;
        c.alpha = alphas[variant % 2];
        c.beta = beta;
        cases.push_back(c);
      }
    }
  }
  // Random shapes and settings.
  std::mt19937 rng(99);
  const int random_cases = quick ? 24 : 120;
  for (int r = 0; r < random_cases; ++r) {
    auto dim = [&](int hi) { return int64_t(1 + rng() % hi); };
    Case c;
    c.M = dim(r % 4 == 0 ? 400 : 40);
    c.N = dim(r % 4 == 1 ? 400 : 40);
    c.K = dim(r % 4 == 2 ? 700 : 40);
    c.ta = rng() & 1;
    c.tb = rng() & 1;
    c.pad_a = rng() % 3 ? 0 : int64_t(rng() % 9);
    c.pad_b = rng() % 3 ? 0 : int64_t(rng() % 9);
    c.pad_c = rng() % 3 ? 0 : int64_t(rng() % 9);
    const float ab[] = {1.0f, -1.0f, 0.5f, 2.0f};
    const float bb[] = {0.0f, 1.0f, -0.25f, 0.0f};
    c.alpha = ab[rng() % 4];
    c.beta = bb[rng() % 4];
    cases.push_back(c);
  }
  if (!quick) {
    // K beyond one 4096-deep super-chunk, and row/column chunking of the packed operands.
    cases.push_back({7, 9, 5000, false, false, 1, 0, 2, 1.0f, 0.0f});
    cases.push_back({7, 9, 5000, true, true, 0, 3, 0, -0.5f, 1.0f});
    cases.push_back({1100, 20, 4100, false, true, 0, 0, 0, 1.0f, 0.5f});
    cases.push_back({20, 1100, 4100, true, false, 2, 0, 1, 1.0f, 0.0f});
  }
  // alpha == 0: A and B must not be read; C = beta * C.
  cases.push_back({9, 11, 7, false, false, 1, 2, 3, 0.0f, 0.5f});
  cases.push_back({9, 11, 7, true, true, 0, 0, 0, 0.0f, 0.0f});
  return cases;
}

bool run_correctness(bool quick) {
  std::mt19937 rng(12345);
  const auto cases = make_cases(quick);
  struct Variant {
    const char* name;
    GemmFn fn;
    bool generic;
  } variants[] = {
      {"builtin", run_builtin, false},
      {"builtin-generic", run_builtin, true},
      {"builtin-nested", run_builtin_nested, false},
      {"openblas", run_openblas, false},
  };
  bool all_ok = true;
  for (const auto& v : variants) {
    fsnn::cpu::sgemm_builtin_force_generic(v.generic);
    int failed = 0;
    double worst = 0.0;
    for (const auto& c : cases) {
      const CheckResult r = check_case(c, v.fn, rng);
      worst = std::max(worst, r.worst);
      if (!r.ok) {
        ++failed;
        if (failed <= 5) {
          std::printf("  FAIL %-16s M=%lld N=%lld K=%lld ta=%d tb=%d pads=%lld/%lld/%lld alpha=%g beta=%g err=%.3g ulp\n",
                      v.name, (long long)c.M, (long long)c.N, (long long)c.K, c.ta, c.tb, (long long)c.pad_a,
                      (long long)c.pad_b, (long long)c.pad_c, c.alpha, c.beta, r.worst);
        }
      }
    }
    std::printf("correctness %-16s %s  %zu cases, %d failed, worst error %.2f x 2^-24 of sum|a*b| (%s)\n",
                v.name, failed ? "FAIL" : "ok  ", cases.size(), failed, worst,
                v.fn == run_openblas ? openblas_get_corename() : fsnn::cpu::sgemm_builtin_kernel());
    // OpenBLAS is checked for information (the env note warns about wrong results on some CPUs).
    if (v.fn != run_openblas) all_ok = all_ok && failed == 0;
  }
  fsnn::cpu::sgemm_builtin_force_generic(false);
  return all_ok;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Per-call wall times (seconds) of `calls` back-to-back calls, after one warm-up call.
template <typename F>
void time_calls(F&& call, int calls, std::vector<double>* out) {
  call();  // warm-up (packing buffers, pool, caches)
  for (int r = 0; r < calls; ++r) {
    const double t0 = now_s();
    call();
    out->push_back(now_s() - t0);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void run_bench(const std::vector<int64_t>& sizes, int rounds, double min_s, double peak) {
  std::printf("\n%6s %5s | %15s | %15s | %13s | %6s %6s\n", "n", "op", "builtin GFLOP/s", "OpenBLAS GFLOP/s",
              "ratio", "b/peak", "o/peak");
  std::printf("%6s %5s | %15s | %15s | %13s | %6s %6s\n", "", "", "best (median)", "best (median)", "best (median)",
              "best", "best");
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  struct Op {
    const char* name;
    bool ta, tb;
  };
  for (int64_t n : sizes) {
    std::vector<float> A(size_t(n * n)), B(size_t(n * n)), C(size_t(n * n), 0.0f);
    for (auto& x : A) x = dist(rng);
    for (auto& x : B) x = dist(rng);
    const double flops = 2.0 * double(n) * double(n) * double(n);
    const Op ops[] = {{"NN", false, false}, {"NT", false, true}, {"TN", true, false}};
    for (const Op& op : ops) {
      if (op.ta || op.tb) {
        if (n != sizes.back()) continue;  // transposed variants only at the largest size
      }
      // The machine may be shared: time single calls, alternating small groups of builtin and
      // OpenBLAS calls so background load hits both alike; report the best call (least disturbed)
      // and the median.
      std::vector<double> tb, to;
      const int group = std::max(1, int(0.02 / (flops / (peak * 1e9) + 1e-9)));  // ~20 ms at peak
      const double deadline = now_s() + min_s;
      for (int r = 0; r < rounds || now_s() < deadline; ++r) {
        time_calls([&] { sgemm_builtin(op.ta, op.tb, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, C.data(), n); },
                   group, &tb);
        time_calls(
            [&] {
              cblas_sgemm(CblasRowMajor, op.ta ? CblasTrans : CblasNoTrans, op.tb ? CblasTrans : CblasNoTrans,
                          int(n), int(n), int(n), 1.0f, A.data(), int(n), B.data(), int(n), 0.0f, C.data(), int(n));
            },
            group, &to);
        // OpenBLAS's idle workers keep spinning for ~0.1 s after a call (THREAD_TIMEOUT 2^28
        // cycles), which would take a core from the next builtin group: let them go to sleep.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      const double bb = flops / *std::min_element(tb.begin(), tb.end()) * 1e-9;
      const double bo = flops / *std::min_element(to.begin(), to.end()) * 1e-9;
      const double mb = flops / median(tb) * 1e-9, mo = flops / median(to) * 1e-9;
      std::printf("%6lld %5s | %6.1f (%6.1f) | %6.1f (%6.1f) | %4.0f%% (%4.0f%%) | %5.0f%% %5.0f%%\n", (long long)n,
                  op.name, bb, mb, bo, mo, 100.0 * bb / bo, 100.0 * mb / mo, 100.0 * bb / peak, 100.0 * bo / peak);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, bench = true;
  std::vector<int64_t> sizes = {256, 512, 1024};
  int rounds = 7;
  double seconds = 2.0;  // timing window per (size, op)
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
      rounds = 3;
      seconds = 0.5;
    } else if (!std::strcmp(argv[i], "--no-bench")) {
      bench = false;
    } else if (!std::strcmp(argv[i], "--sizes") && i + 1 < argc) {
      sizes.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ",")) sizes.push_back(std::atoll(p));
    } else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    }
  }

  const int threads = fsnn::cpu::num_threads();
  openblas_set_num_threads(threads);
  const char* ct = std::getenv("OPENBLAS_CORETYPE");
  const char* l2 = std::getenv("OPENBLAS_L2_SIZE");
  const char* ont = std::getenv("OPENBLAS_NUM_THREADS");
  std::printf("threads: builtin pool %d, OpenBLAS %d (OPENBLAS_NUM_THREADS=%s)\n", threads,
              openblas_get_num_threads(), ont ? ont : "(unset)");
  std::printf("OpenBLAS: core %s | config: %s | OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s\n",
              openblas_get_corename(), openblas_get_config(), ct ? ct : "(unset)", l2 ? l2 : "(unset)");
  std::printf("builtin kernel: %s\n", fsnn::cpu::sgemm_builtin_kernel());

  const bool ok = run_correctness(quick);
  if (!bench) return ok ? 0 : 1;

  const double peak_1 = fsnn::cpu::measure_peak_gflops(1, 1.0);
  const double peak = fsnn::cpu::measure_peak_gflops(threads, 1.0);
  std::printf("\nmeasured FMA peak (%s): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n",
              fsnn::cpu::peak_fma_kernel(), peak_1, peak, threads);
  run_bench(sizes, rounds, seconds, peak);
  return ok ? 0 : 1;
}
