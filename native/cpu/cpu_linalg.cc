// CPU matmul and conv2d. conv2d lowers to GEMM through im2col:
//   out[n, o, :] = W[o, :] · cols[n]   with cols[(c, kh, kw), (oh, ow)] = x[n, c, oh*s - p + kh*d, ...]
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cpu_allocator.h"
#include "cpu_backend.h"
#include "cpu_features.h"
#include "parallel.h"
#include "sgemm_builtin.h"
#include "sgemm_small_k.h"

#ifdef FSNN_HAVE_CBLAS
#include <cblas.h>
#endif

namespace fsnn {
namespace cpu {

bool has_openblas() {
#ifdef FSNN_HAVE_CBLAS
  return true;
#else
  return false;
#endif
}

const char* blas_mode() {
  const char* env = std::getenv("FSNN_BLAS");
  if (!has_openblas() || (env && std::string(env) == "builtin")) return "builtin";
  return "openblas";
}

namespace {
// One thread pool for all CPU work. OpenBLAS is kept single-threaded: its own workers spin between calls
// and would compete with the pool's for the same cores (on a 2-core machine each pool then waits for a
// core the other holds). A large product is split instead into panels of C, one per pool thread, each
// an OpenBLAS call of its own.
void blas_single_threaded() {
#ifdef FSNN_HAVE_CBLAS
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
#endif
}

// Products below this many multiply-adds run as one call (a split would cost more than it saves).
constexpr double kSplitMacs = 1 << 20;

#ifdef FSNN_HAVE_CBLAS
void sgemm_openblas(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                    const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}
#endif
}  // namespace

void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K >= 1 && K <= kSmallK && alpha != 0.0f) {  // a short inner dimension: one pass per row of C
    sgemm_small_k(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#ifdef FSNN_HAVE_CBLAS
  if (std::string(blas_mode()) == "openblas" && K > 0) {
    blas_single_threaded();
    const int64_t threads = num_threads();
    const double macs = double(M) * double(N) * double(K);
    if (threads <= 1 || macs < kSplitMacs) {
      sgemm_openblas(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return;
    }
    // Panels of whole 16-row (or 16-column) strips of C along its longer side: C rows [r0, r1) take rows
    // r0.. of op(A); C columns [c0, c1) take columns c0.. of op(B).
    const bool rows = M >= N;
    const int64_t extent = rows ? M : N, strips = (extent + 15) / 16;
    const int64_t panels = std::min<int64_t>(threads, strips);
    parallel_for(panels, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t s0 = strips * p / panels * 16, s1 = std::min(extent, strips * (p + 1) / panels * 16);
        if (s0 >= s1) continue;
        if (rows)
          sgemm_openblas(transA, transB, s1 - s0, N, K, alpha, transA ? A + s0 : A + s0 * lda, lda, B, ldb, beta,
                         C + s0 * ldc, ldc);
        else
          sgemm_openblas(transA, transB, M, s1 - s0, K, alpha, A, lda, transB ? B + s0 * ldb : B + s0, ldb, beta,
                         C + s0, ldc);
      }
    });
    return;
  }
#endif
  sgemm_builtin(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void CpuBackend::matmul(const Tensor& a, const Tensor& b, Tensor& out, const MatmulPlan& p) {
  const float* A = a.data();
  const float* B = b.data();
  float* C = out.data();
  for (int64_t i = 0; i < p.batch; ++i)
    gemm(p.transA, p.transB, p.M, p.N, p.K, 1.f, A + p.a_offsets[i], p.lda, B + p.b_offsets[i], p.ldb, 0.f,
         C + i * p.M * p.N, p.N);
}

namespace {
// cols [C/g * KH * KW, OH * OW] for image n, group g.
void im2col(const float* x, const Conv2dParams& p, int64_t cpg, float* cols) {
  const int64_t ohw = p.OH * p.OW;
  parallel_for(cpg * p.KH * p.KW, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r / (p.KH * p.KW), kh = (r / p.KW) % p.KH, kw = r % p.KW;
      float* dst = cols + r * ohw;
      const float* plane = x + c * p.H * p.W;
      for (int64_t oh = 0; oh < p.OH; ++oh) {
        const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dil_h;
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dil_w;
          dst[oh * p.OW + ow] = (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) ? plane[ih * p.W + iw] : 0.f;
        }
      }
    }
  });
}

// The adjoint of im2col: accumulates cols back into the image planes.
void col2im(const float* cols, const Conv2dParams& p, int64_t cpg, float* x) {
  const int64_t ohw = p.OH * p.OW;
  parallel_for(cpg, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* plane = x + c * p.H * p.W;
      for (int64_t kh = 0; kh < p.KH; ++kh)
        for (int64_t kw = 0; kw < p.KW; ++kw) {
          const float* src = cols + ((c * p.KH + kh) * p.KW + kw) * ohw;
          for (int64_t oh = 0; oh < p.OH; ++oh) {
            const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dil_h;
            if (ih < 0 || ih >= p.H) continue;
            for (int64_t ow = 0; ow < p.OW; ++ow) {
              const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dil_w;
              if (iw >= 0 && iw < p.W) plane[ih * p.W + iw] += src[oh * p.OW + ow];
            }
          }
        }
    }
  });
}
}  // namespace

void CpuBackend::conv2d(const Tensor& xt, const Tensor& wt, Tensor& out, const Conv2dParams& p) {
  const int64_t cpg = p.C / p.groups, opg = p.O / p.groups, ohw = p.OH * p.OW, kk = cpg * p.KH * p.KW;
  HostScratch<float> cols(static_cast<size_t>(kk * ohw));  // written whole before each use (im2col, or gemm with beta 0)
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t g = 0; g < p.groups; ++g) {
      im2col(xt.data() + (n * p.C + g * cpg) * p.H * p.W, p, cpg, cols.data());
      gemm(false, false, opg, ohw, kk, 1.f, wt.data() + g * opg * kk, kk, cols.data(), ohw, 0.f,
           out.data() + (n * p.O + g * opg) * ohw, ohw);
    }
}

void CpuBackend::conv2d_backward_input(const Tensor& gt, const Tensor& wt, Tensor& gx, const Conv2dParams& p) {
  const int64_t cpg = p.C / p.groups, opg = p.O / p.groups, ohw = p.OH * p.OW, kk = cpg * p.KH * p.KW;
  HostScratch<float> cols(static_cast<size_t>(kk * ohw));  // written whole before each use (im2col, or gemm with beta 0)
  std::memset(gx.data(), 0, sizeof(float) * gx.numel());
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t g = 0; g < p.groups; ++g) {
      // cols = W_g^T [kk, opg] · grad [opg, ohw]
      gemm(true, false, kk, ohw, opg, 1.f, wt.data() + g * opg * kk, kk, gt.data() + (n * p.O + g * opg) * ohw, ohw,
           0.f, cols.data(), ohw);
      col2im(cols.data(), p, cpg, gx.data() + (n * p.C + g * cpg) * p.H * p.W);
    }
}

void CpuBackend::conv2d_backward_weight(const Tensor& gt, const Tensor& xt, Tensor& gw, const Conv2dParams& p) {
  const int64_t cpg = p.C / p.groups, opg = p.O / p.groups, ohw = p.OH * p.OW, kk = cpg * p.KH * p.KW;
  HostScratch<float> cols(static_cast<size_t>(kk * ohw));  // written whole before each use (im2col, or gemm with beta 0)
  std::memset(gw.data(), 0, sizeof(float) * gw.numel());
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t g = 0; g < p.groups; ++g) {
      im2col(xt.data() + (n * p.C + g * cpg) * p.H * p.W, p, cpg, cols.data());
      // dW_g [opg, kk] += grad [opg, ohw] · cols^T [ohw, kk]
      gemm(false, true, opg, kk, ohw, 1.f, gt.data() + (n * p.O + g * opg) * ohw, ohw, cols.data(), ohw, 1.f,
           gw.data() + g * opg * kk, kk);
    }
}

// x [M, K] w^T + bias in one pass over the output for K <= kSmallK (sgemm_small_k's bias row); false otherwise.
bool CpuBackend::linear_one_pass(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) {
  const int64_t M = x.shape[0], K = x.shape[1], N = w.shape[0];
  if (K < 1 || K > kSmallK) return false;
  sgemm_small_k(false, true, M, N, K, 1.0f, x.data(), K, w.data(), K, 0.0f, out.data(), N, bias.data());
  return true;
}

std::string CpuBackend::info() const {
  return std::string("cpu: ") + std::to_string(num_threads()) + " threads, sgemm " + blas_mode() +
         (has_openblas() ? " (OpenBLAS built in)" : " (no BLAS found at build time)") + ", vector bodies " +
         (cpu_has_avx512() ? "AVX-512" : cpu_has_avx2_fma() ? "AVX2" : "portable");
}

}  // namespace cpu
}  // namespace fsnn
