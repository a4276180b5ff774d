// Matmul through cuBLAS, which is never linked: cublas_loader.cc opens it with dlopen on first use and
// the few entry points used here are declared below (no cuBLAS headers are needed to build).
//
// Row-major C = op(A) op(B) is computed as the column-major product C^T = op(B)^T op(A)^T: the operands
// swap places and keep their transpose flags. Batches with uniform offsets (including stride 0 for a
// broadcast operand) go to cublasSgemmStridedBatched in one call; others loop over the plan's offsets.
// A single product with a long K and a small C (a weight gradient over T x B rows: C [10, 256] or
// [256, 1] from K = 4.2M rows) is split along K (split_k_chunks): one strided-batched call computes
// the chunks' partial products, and a fixed-order kernel adds them.
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "cublas_loader.h"
#include "cuda_backend.h"
#include "launch.h"

namespace fsnn {
namespace cuda {

namespace {
// The cuBLAS v2 ABI (cublas_api.h): an opaque handle, int-sized enums.
typedef struct cublasContext* cublasHandle_t;
typedef int cublasStatus_t;                      // CUBLAS_STATUS_SUCCESS = 0
typedef int cublasOperation_t;                   // CUBLAS_OP_N = 0, CUBLAS_OP_T = 1
typedef int cublasMath_t;                        // CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3
constexpr cublasOperation_t kOpN = 0, kOpT = 1;
constexpr cublasMath_t kDefaultMath = 0, kTf32Math = 3;

typedef cublasStatus_t (*CreateFn)(cublasHandle_t*);
typedef cublasStatus_t (*SetStreamFn)(cublasHandle_t, cudaStream_t);
typedef cublasStatus_t (*SetMathModeFn)(cublasHandle_t, cublasMath_t);
typedef cublasStatus_t (*SgemmFn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const float*,
                                  const float*, int, const float*, int, const float*, float*, int);
typedef cublasStatus_t (*SgemmStridedFn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                         const float*, const float*, int, long long, const float*, int, long long,
                                         const float*, float*, int, long long, int);

struct Cublas {
  cublasHandle_t handle = nullptr;
  SetMathModeFn set_math = nullptr;
  SgemmFn sgemm = nullptr;
  SgemmStridedFn sgemm_strided = nullptr;
  int math = -1;  // mode last set on the handle
};

std::atomic<bool> g_tf32{false};
std::mutex g_mu;  // a cuBLAS handle must not be used by two host threads at once
Cublas* g_cublas = nullptr;

const char* status_name(cublasStatus_t s) {
  switch (s) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != 0) {
    std::ostringstream o;
    o << "cuBLAS " << what << " failed: " << status_name(s) << " (" << s << ")";
    if (s == 3) o << "; the GPU may be out of memory: free tensors with dispose() or tidy(), or call cuda.emptyCache()";
    throw Error(o.str());
  }
}

// Loads cuBLAS and creates the handle on the backend's stream (once). Called with g_mu held.
Cublas& cublas_locked(cudaStream_t stream) {
  if (g_cublas) return *g_cublas;
  Cublas c;
  try {
    auto create = reinterpret_cast<CreateFn>(cublas::symbol("cublasCreate_v2"));
    auto set_stream = reinterpret_cast<SetStreamFn>(cublas::symbol("cublasSetStream_v2"));
    c.set_math = reinterpret_cast<SetMathModeFn>(cublas::symbol("cublasSetMathMode"));
    c.sgemm = reinterpret_cast<SgemmFn>(cublas::symbol("cublasSgemm_v2"));
    c.sgemm_strided = reinterpret_cast<SgemmStridedFn>(cublas::symbol("cublasSgemmStridedBatched"));
    check_cublas(create(&c.handle), "cublasCreate");
    check_cublas(set_stream(c.handle, stream), "cublasSetStream");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(std::string("matmul on the GPU needs cuBLAS: ") + e.what());
  }
  g_cublas = new Cublas(c);  // lives for the process (destroying it at exit could run after the driver)
  return *g_cublas;
}

void check_int(const char* what, int64_t v) {
  if (v > INT_MAX)
    fail("matmul: ", what, " = ", v, " exceeds cuBLAS's 32-bit limit; split the product into smaller pieces");
}
}  // namespace

bool matmul_tf32() { return g_tf32.load(); }
void set_matmul_tf32(bool tf32) { g_tf32.store(tf32); }

void CudaBackend::gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                       int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta, float* C,
                       int64_t ldc, int64_t strideC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  check_int("M", M);
  check_int("N", N);
  check_int("K", K);
  check_int("lda", lda);
  check_int("ldb", ldb);
  check_int("ldc", ldc);
  std::lock_guard<std::mutex> lock(g_mu);
  Cublas& cb = cublas_locked(stream_);
  const int math = g_tf32.load() ? kTf32Math : kDefaultMath;
  if (cb.math != math) {
    check_cublas(cb.set_math(cb.handle, math), "cublasSetMathMode");
    cb.math = math;
  }
  // Column-major: C^T (N x M) = op(B)^T (N x K) . op(A)^T (K x M).
  const cublasOperation_t opB = transB ? kOpT : kOpN, opA = transA ? kOpT : kOpN;
  if (batch == 1) {
    check_cublas(cb.sgemm(cb.handle, opB, opA, int(N), int(M), int(K), &alpha, B, int(ldb), A, int(lda), &beta, C,
                          int(ldc)),
                 "sgemm");
    return;
  }
  constexpr int64_t kMaxBatch = 65535;  // per call (grid limits of some cuBLAS kernels)
  for (int64_t b0 = 0; b0 < batch; b0 += kMaxBatch) {
    const int64_t nb = std::min(kMaxBatch, batch - b0);
    check_cublas(cb.sgemm_strided(cb.handle, opB, opA, int(N), int(M), int(K), &alpha, B + b0 * strideB, int(ldb),
                                  strideB, A + b0 * strideA, int(lda), strideA, &beta, C + b0 * strideC, int(ldc),
                                  strideC, int(nb)),
                 "sgemmStridedBatched");
  }
}

namespace {
// C[j] = sum over s < S of P[s * MN + j], s ascending, accumulated in float64 (one thread per element).
__global__ void add_split_k_partials(const float* __restrict__ P, int64_t S, int64_t MN, float* __restrict__ C) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= MN) return;
  double s = 0.0;
  for (int64_t r = 0; r < S; ++r) s += double(P[r * MN + j]);
  C[j] = float(s);
}

// How many chunks of K a single M x N x K product is computed in: 1 (no split) unless K is long and C
// small, when cuBLAS has only C's few tiles to spread over the SMs and each walks all of K. Chunks of
// kSplitKRows rows, at most kSplitKMaxChunks. FSNN_CUDA_SPLITK=0 turns the split off (read at each
// call, so that a benchmark can compare both in one process); any other value but 'auto' is an error.
constexpr int64_t kSplitKMinK = int64_t(1) << 16, kSplitKMaxC = int64_t(1) << 16;
constexpr int64_t kSplitKRows = 8192, kSplitKMaxChunks = 512;
int64_t split_k_chunks(int64_t M, int64_t N, int64_t K) {
  const char* e = std::getenv("FSNN_CUDA_SPLITK");
  if (e && *e && std::strcmp(e, "auto") != 0) {
    if (std::strcmp(e, "0") == 0) return 1;
    fail("matmul: FSNN_CUDA_SPLITK=", e, " is not understood; use 0 (no split along K) or auto, or unset it");
  }
  if (K < kSplitKMinK || M * N > kSplitKMaxC) return 1;
  return std::min(kSplitKMaxChunks, K / kSplitKRows);
}
}  // namespace

// C = op(A) op(B) (one product, C contiguous) as S partial products over chunks of K, then their sum.
void CudaBackend::gemm_split_k(bool transA, bool transB, int64_t M, int64_t N, int64_t K, int64_t S, const float* A,
                               int64_t lda, const float* B, int64_t ldb, float* C) {
  const int64_t Kc = K / S, tail = K - S * Kc, parts = S + (tail > 0 ? 1 : 0), MN = M * N;
  // Chunk s starts at row s * Kc of K: in A at s * Kc columns (rows if A is transposed), likewise B.
  const int64_t sA = Kc * (transA ? lda : 1), sB = Kc * (transB ? 1 : ldb);
  DeviceTemp P(size_t(parts * MN) * sizeof(float));
  gemm(transA, transB, M, N, Kc, 1.f, A, lda, sA, B, ldb, sB, 0.f, P.as<float>(), N, MN, S);
  if (tail) gemm(transA, transB, M, N, tail, 1.f, A + S * sA, lda, 0, B + S * sB, ldb, 0, 0.f, P.as<float>() + S * MN, N, 0, 1);
  launch(add_split_k_partials, unsigned((MN + 255) / 256), 256, 0, stream_, (const float*)P.as<float>(), parts, MN, C);
  check_launch("matmul (sum of the split-K partial products)");
}

void CudaBackend::matmul(const Tensor& a, const Tensor& b, Tensor& out, const MatmulPlan& p) {
  const int64_t batch = p.batch;
  if (batch == 0 || p.M == 0 || p.N == 0) return;
  const float* A = a.data();
  const float* B = b.data();
  float* C = out.data();
  const int64_t sc = p.M * p.N;
  bool uniform = true;
  const int64_t sa = batch > 1 ? p.a_offsets[1] - p.a_offsets[0] : 0;
  const int64_t sb = batch > 1 ? p.b_offsets[1] - p.b_offsets[0] : 0;
  for (int64_t i = 0; i < batch && uniform; ++i)
    if (p.a_offsets[i] != p.a_offsets[0] + i * sa || p.b_offsets[i] != p.b_offsets[0] + i * sb) uniform = false;
  const int64_t chunks = batch == 1 ? split_k_chunks(p.M, p.N, p.K) : 1;
  if (chunks > 1) return gemm_split_k(p.transA, p.transB, p.M, p.N, p.K, chunks, A + p.a_offsets[0], p.lda,
                                      B + p.b_offsets[0], p.ldb, C);
  if (uniform) {
    gemm(p.transA, p.transB, p.M, p.N, p.K, 1.f, A + p.a_offsets[0], p.lda, sa, B + p.b_offsets[0], p.ldb, sb, 0.f, C,
         p.N, sc, batch);
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    gemm(p.transA, p.transB, p.M, p.N, p.K, 1.f, A + p.a_offsets[i], p.lda, 0, B + p.b_offsets[i], p.ldb, 0, 0.f,
         C + i * sc, p.N, 0, 1);
}

}  // namespace cuda
}  // namespace fsnn
