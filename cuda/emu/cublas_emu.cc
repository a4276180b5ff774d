// A host GEMM behind the cuBLAS entry points that cuda_blas.cu resolves by name (cuBLAS v2 ABI,
// column-major):  C = alpha op(A) op(B) + beta C,  op(A) m x k, op(B) k x n, C m x n.
// It first applies cuBLAS's argument rules and answers CUBLAS_STATUS_INVALID_VALUE where cuBLAS would
// (printing the "parameter number N had an illegal value" line, as cuBLAS does), so a wrong leading
// dimension fails here as it would on the GPU. Every operand's extent must lie inside one device block
// (cuBLAS would fault otherwise). TF32 math mode rounds the inputs to TF32 (10 mantissa bits) first.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emu_internal.h"

namespace fsnn_emu {

namespace {
typedef int Status;
constexpr Status kSuccess = 0, kNotInitialized = 1, kInvalidValue = 7, kExecutionFailed = 13;
constexpr int kOpN = 0, kOpT = 1, kOpC = 2;
constexpr int kTf32Math = 3;

struct Handle {
  int magic = 0x5eed;
  int math = 0;
  cudaStream_t stream = nullptr;
};

Status illegal(const char* fn, int param, const std::string& why) {
  std::fprintf(stderr, " ** On entry to %s parameter number %d had an illegal value (fsnn CUDA emulator: %s)\n", fn,
               param, why.c_str());
  return kInvalidValue;
}

// Round to the nearest TF32 value (8-bit exponent, 10-bit mantissa), ties to even.
float to_tf32(float v) {
  if (!std::isfinite(v)) return v;
  uint32_t b;
  std::memcpy(&b, &v, 4);
  const uint32_t lsb = (b >> 13) & 1u;
  b += 0x0fffu + lsb;
  b &= ~uint32_t(0x1fff);
  float r;
  std::memcpy(&r, &b, 4);
  return r;
}

// The rules of cublasSgemm: operation codes, non-negative sizes, lda >= max(1, rows of A as stored),
// ldb likewise, ldc >= max(1, m). Returns kSuccess or the status after printing the complaint.
Status check_args(const char* fn, const Handle* h, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc) {
  if (!h || h->magic != 0x5eed) return kNotInitialized;
  if (ta != kOpN && ta != kOpT && ta != kOpC) return illegal(fn, 2, "transa = " + std::to_string(ta));
  if (tb != kOpN && tb != kOpT && tb != kOpC) return illegal(fn, 3, "transb = " + std::to_string(tb));
  if (m < 0) return illegal(fn, 4, "m = " + std::to_string(m) + " < 0");
  if (n < 0) return illegal(fn, 5, "n = " + std::to_string(n) + " < 0");
  if (k < 0) return illegal(fn, 6, "k = " + std::to_string(k) + " < 0");
  const int arows = ta == kOpN ? m : k, brows = tb == kOpN ? k : n;
  if (lda < std::max(1, arows))
    return illegal(fn, 9, "lda = " + std::to_string(lda) + " < max(1, " + (ta == kOpN ? "m" : "k") + " = " +
                              std::to_string(arows) + ")");
  if (ldb < std::max(1, brows))
    return illegal(fn, 11, "ldb = " + std::to_string(ldb) + " < max(1, " + (tb == kOpN ? "k" : "n") + " = " +
                               std::to_string(brows) + ")");
  if (ldc < std::max(1, m))
    return illegal(fn, 14, "ldc = " + std::to_string(ldc) + " < max(1, m = " + std::to_string(m) + ")");
  return kSuccess;
}

// Bytes spanned by a column-major rows x cols matrix with leading dimension ld.
size_t extent(int rows, int cols, int ld) {
  if (rows == 0 || cols == 0) return 0;
  return (size_t(cols - 1) * size_t(ld) + size_t(rows)) * sizeof(float);
}

bool in_device(const char* fn, const char* what, const float* p, size_t bytes) {
  if (bytes == 0) return true;
  std::string why;
  if (device_range(p, bytes, &why)) return true;
  set_error(cudaErrorIllegalAddress,
            std::string(fn) + " would access operand " + what + " out of bounds: " + why, true);
  return false;
}

// One product; the operands have been checked.
void gemm_one(const Handle* h, int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda,
              const float* B, int ldb, float beta, float* C, int ldc, std::vector<float>& pa, std::vector<float>& col) {
  const bool tf32 = h->math == kTf32Math;
  // op(A) packed column-major m x k.
  pa.resize(size_t(m) * size_t(k));
  for (int p = 0; p < k; ++p)
    for (int i = 0; i < m; ++i) {
      const float v = ta == kOpN ? A[size_t(p) * lda + i] : A[size_t(i) * lda + p];
      pa[size_t(p) * m + i] = tf32 ? to_tf32(v) : v;
    }
  col.resize(size_t(m));
  for (int j = 0; j < n; ++j) {
    std::fill(col.begin(), col.end(), 0.f);
    for (int p = 0; p < k; ++p) {
      float b = tb == kOpN ? B[size_t(j) * ldb + p] : B[size_t(p) * ldb + j];
      if (tf32) b = to_tf32(b);
      const float* ap = pa.data() + size_t(p) * m;
      float* c = col.data();
      for (int i = 0; i < m; ++i) c[i] += ap[i] * b;
    }
    float* cj = C + size_t(j) * ldc;
    if (beta == 0.f) {
      for (int i = 0; i < m; ++i) cj[i] = alpha * col[size_t(i)];  // C is not read when beta == 0
    } else {
      for (int i = 0; i < m; ++i) cj[i] = alpha * col[size_t(i)] + beta * cj[i];
    }
  }
}

Status run(const char* fn, const Handle* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A,
           int lda, long long sa, const float* B, int ldb, long long sb, const float* beta, float* C, int ldc,
           long long sc, int batch) {
  if (Status s = check_args(fn, h, ta, tb, m, n, k, lda, ldb, ldc)) return s;
  if (batch < 0) return illegal(fn, 18, "batchCount = " + std::to_string(batch) + " < 0");
  if (m == 0 || n == 0 || batch == 0) return kSuccess;
  if (sticky_error()) return kExecutionFailed;
  const int arows = ta == kOpN ? m : k, acols = ta == kOpN ? k : m;
  const int brows = tb == kOpN ? k : n, bcols = tb == kOpN ? n : k;
  for (int b : {0, batch - 1}) {
    if (!in_device(fn, "A", A + b * sa, extent(arows, acols, lda)) ||
        !in_device(fn, "B", B + b * sb, extent(brows, bcols, ldb)) ||
        !in_device(fn, "C", C + b * sc, extent(m, n, ldc)))
      return kExecutionFailed;
  }
  std::vector<float> pa, col;
  for (int b = 0; b < batch; ++b)
    gemm_one(h, ta, tb, m, n, k, *alpha, A + b * sa, lda, B + b * sb, ldb, *beta, C + b * sc, ldc, pa, col);
  const void* written[1] = {C};
  check_red_zones_of(written, 1, fn);
  return kSuccess;
}

// ---- the entry points (resolved by name through cublas_symbol) ----
Status create(Handle** h) {
  *h = new Handle();
  return kSuccess;
}
Status set_stream(Handle* h, cudaStream_t s) {
  if (!h) return kNotInitialized;
  h->stream = s;
  return kSuccess;
}
Status set_math_mode(Handle* h, int mode) {
  if (!h) return kNotInitialized;
  h->math = mode;
  return kSuccess;
}
Status sgemm(Handle* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
             const float* B, int ldb, const float* beta, float* C, int ldc) {
  return run("cublasSgemm_v2", h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
Status sgemm_strided(Handle* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                     long long sa, const float* B, int ldb, long long sb, const float* beta, float* C, int ldc,
                     long long sc, int batch) {
  return run("cublasSgemmStridedBatched", h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch);
}
}  // namespace

void* cublas_symbol(const char* name) {
  const std::string s = name;
  if (s == "cublasCreate_v2") return reinterpret_cast<void*>(&create);
  if (s == "cublasSetStream_v2") return reinterpret_cast<void*>(&set_stream);
  if (s == "cublasSetMathMode") return reinterpret_cast<void*>(&set_math_mode);
  if (s == "cublasSgemm_v2") return reinterpret_cast<void*>(&sgemm);
  if (s == "cublasSgemmStridedBatched") return reinterpret_cast<void*>(&sgemm_strided);
  return nullptr;
}

}  // namespace fsnn_emu
