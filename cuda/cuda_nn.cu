// CUDA softmax, conv2d (im2col + cuBLAS GEMM, col2im as a gather: deterministic, no atomics) and 2-D
// pooling. Semantics mirror native/cpu/cpu_nn.cc and cpu_linalg.cc; the pooling and col2im backward
// passes gather each input element's contributions in the order the CPU adds them.
#include <algorithm>
#include <cmath>

#include "../native/pool_window.h"
#include "cuda_backend.h"

namespace fsnn {
namespace cuda {

namespace {

// ---------------------------------------------------------------------------------------------
// Softmax: y_c = exp(x_c - max) / sum exp(x - max), log-softmax x_c - max - log sum (sum in double).
// ---------------------------------------------------------------------------------------------
__global__ void softmax_rows(const float* __restrict__ x, float* __restrict__ out, int64_t rows, int64_t C,
                             int64_t inner, bool log_out) {
  FSNN_GRID_LOOP(r, rows) {
    const int64_t o = r / inner, in = r % inner;
    const float* px = x + o * C * inner + in;
    float* po = out + o * C * inner + in;
    float mx = -INFINITY;
    for (int64_t c = 0; c < C; ++c) {
      const float v = px[c * inner];
      mx = (mx < v) ? v : mx;  // std::max: NaN never replaces mx
    }
    double sum = 0.0;
    for (int64_t c = 0; c < C; ++c) sum += exp(double(px[c * inner] - mx));
    if (log_out) {
      const float lse = float(log(sum)) + mx;
      for (int64_t c = 0; c < C; ++c) po[c * inner] = px[c * inner] - lse;
    } else {
      const double inv = 1.0 / sum;
      for (int64_t c = 0; c < C; ++c) po[c * inner] = float(exp(double(px[c * inner] - mx)) * inv);
    }
  }
}

// inner == 1 and long rows: one warp per row.
__global__ void softmax_rows_warp(const float* __restrict__ x, float* __restrict__ out, int64_t rows, int64_t C,
                                  bool log_out) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t r = warp; r < rows; r += nwarps) {
    const float* px = x + r * C;
    float* po = out + r * C;
    float mx = -INFINITY;
    for (int64_t c = lane; c < C; c += 32) mx = (mx < px[c]) ? px[c] : mx;
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) {
      const float o = __shfl_xor_sync(0xffffffffu, mx, off);
      mx = (mx < o) ? o : mx;
    }
    double sum = 0.0;
    for (int64_t c = lane; c < C; c += 32) sum += exp(double(px[c] - mx));
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (log_out) {
      const float lse = float(log(sum)) + mx;
      for (int64_t c = lane; c < C; c += 32) po[c] = px[c] - lse;
    } else {
      const double inv = 1.0 / sum;
      for (int64_t c = lane; c < C; c += 32) po[c] = float(exp(double(px[c] - mx)) * inv);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// im2col / col2im. cols for image n: [C * KH * KW][OH * OW], row (c, kh, kw); a group's rows are
// contiguous (rows g * cpg * KH * KW ...).
// ---------------------------------------------------------------------------------------------
__global__ void im2col_kernel(const float* __restrict__ x, float* __restrict__ cols, int64_t n_images, Conv2dParams p) {
  const int64_t ohw = p.OH * p.OW, rows = p.C * p.KH * p.KW;
  const int64_t total = n_images * rows * ohw;
  FSNN_GRID_LOOP(e, total) {
    const int64_t pos = e % ohw, row = (e / ohw) % rows, n = e / (ohw * rows);
    const int64_t c = row / (p.KH * p.KW), kh = (row / p.KW) % p.KH, kw = row % p.KW;
    const int64_t oh = pos / p.OW, ow = pos % p.OW;
    const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dil_h;
    const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dil_w;
    cols[e] = (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) ? x[((n * p.C + c) * p.H + ih) * p.W + iw] : 0.f;
  }
}

// grad_x[n, c, ih, iw] = sum over (kh, kw) (in that order, as the CPU's col2im adds them) of the one
// cols entry that im2col read from (ih, iw), if any.
__global__ void col2im_kernel(const float* __restrict__ cols, float* __restrict__ gx, int64_t n_images, Conv2dParams p) {
  const int64_t ohw = p.OH * p.OW, rows = p.C * p.KH * p.KW;
  const int64_t total = n_images * p.C * p.H * p.W;
  FSNN_GRID_LOOP(e, total) {
    const int64_t iw = e % p.W, ih = (e / p.W) % p.H, c = (e / (p.W * p.H)) % p.C, n = e / (p.W * p.H * p.C);
    const float* cn = cols + n * rows * ohw;
    float acc = 0.f;
    for (int64_t kh = 0; kh < p.KH; ++kh) {
      const int64_t hh = ih + p.pad_h - kh * p.dil_h;
      if (hh < 0 || hh % p.stride_h) continue;
      const int64_t oh = hh / p.stride_h;
      if (oh >= p.OH) continue;
      for (int64_t kw = 0; kw < p.KW; ++kw) {
        const int64_t ww = iw + p.pad_w - kw * p.dil_w;
        if (ww < 0 || ww % p.stride_w) continue;
        const int64_t ow = ww / p.stride_w;
        if (ow >= p.OW) continue;
        acc += cn[((c * p.KH + kh) * p.KW + kw) * ohw + oh * p.OW + ow];
      }
    }
    gx[e] = acc;
  }
}

// dst[e] += sum_{b < nb} src[b * count + e] (sequential in b).
__global__ void sum_batches_add(const float* __restrict__ src, float* __restrict__ dst, int64_t nb, int64_t count) {
  FSNN_GRID_LOOP(e, count) {
    float s = dst[e];
    for (int64_t b = 0; b < nb; ++b) s += src[b * count + e];
    dst[e] = s;
  }
}

// Images per chunk so that the column buffer stays under ~256 MiB.
int64_t images_per_chunk(const Conv2dParams& p) {
  const int64_t per_image = p.C * p.KH * p.KW * p.OH * p.OW * 4;
  const int64_t budget = int64_t(256) << 20;
  return std::max<int64_t>(1, std::min<int64_t>(p.N, budget / std::max<int64_t>(per_image, 1)));
}

// ---------------------------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------------------------
__global__ void max_pool_kernel(const float* __restrict__ x, float* __restrict__ out, int32_t* __restrict__ ids,
                                Pool2dParams p) {
  const int64_t total = p.N * p.C * p.OH * p.OW;
  FSNN_GRID_LOOP(e, total) {
    const int64_t ow = e % p.OW, oh = (e / p.OW) % p.OH, q = e / (p.OW * p.OH);
    const float* plane = x + q * p.H * p.W;
    float best;
    int32_t best_i;
    pool_max_window(plane, p, oh, ow, best, best_i);
    out[e] = best;
    ids[e] = best_i;
  }
}

// Outputs whose window (before clipping) covers input row i: o*s - pad <= i <= o*s - pad + k - 1.
__device__ __forceinline__ void window_range(int64_t i, int64_t k, int64_t s, int64_t pad, int64_t O, int64_t& lo,
                                             int64_t& hi) {
  const int64_t a = i + pad - k + 1;  // o*s >= a
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = (i + pad) / s;  // i + pad >= 0
  if (hi > O - 1) hi = O - 1;
}

__global__ void max_pool_backward_kernel(const float* __restrict__ g, const int32_t* __restrict__ ids,
                                         float* __restrict__ gx, Pool2dParams p) {
  const int64_t total = p.N * p.C * p.H * p.W;
  FSNN_GRID_LOOP(e, total) {
    const int64_t iw = e % p.W, ih = (e / p.W) % p.H, q = e / (p.W * p.H);
    int64_t h0, h1, w0, w1;
    window_range(ih, p.kh, p.stride_h, p.pad_h, p.OH, h0, h1);
    window_range(iw, p.kw, p.stride_w, p.pad_w, p.OW, w0, w1);
    const int32_t me = int32_t(ih * p.W + iw);
    const int64_t base = q * p.OH * p.OW;
    float acc = 0.f;
    for (int64_t oh = h0; oh <= h1; ++oh)
      for (int64_t ow = w0; ow <= w1; ++ow) {
        const int64_t oi = base + oh * p.OW + ow;
        if (ids[oi] == me) acc += g[oi];
      }
    gx[e] = acc;
  }
}

__device__ __forceinline__ int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

__global__ void avg_pool_kernel(const float* __restrict__ x, float* __restrict__ out, Pool2dParams p) {
  const int64_t total = p.N * p.C * p.OH * p.OW;
  FSNN_GRID_LOOP(e, total) {
    const int64_t ow = e % p.OW, oh = (e / p.OW) % p.OH, q = e / (p.OW * p.OH);
    const float* plane = x + q * p.H * p.W;
    const PoolWindow w = pool_avg_window(p, oh, ow);
    double sum = 0.0;
    for (int64_t ih = imax(w.h0, 0); ih < imin(w.h1, p.H); ++ih)
      for (int64_t iw = imax(w.w0, 0); iw < imin(w.w1, p.W); ++iw) sum += plane[ih * p.W + iw];
    out[e] = float(sum / double(pool_avg_divisor(p, w)));
  }
}

__global__ void avg_pool_backward_kernel(const float* __restrict__ g, float* __restrict__ gx, Pool2dParams p) {
  const int64_t total = p.N * p.C * p.H * p.W;
  FSNN_GRID_LOOP(e, total) {
    const int64_t iw = e % p.W, ih = (e / p.W) % p.H, q = e / (p.W * p.H);
    int64_t h0, h1, w0, w1;
    window_range(ih, p.kh, p.stride_h, p.pad_h, p.OH, h0, h1);
    window_range(iw, p.kw, p.stride_w, p.pad_w, p.OW, w0, w1);
    const int64_t base = q * p.OH * p.OW;
    float acc = 0.f;
    for (int64_t oh = h0; oh <= h1; ++oh)
      for (int64_t ow = w0; ow <= w1; ++ow) {
        // The window is clipped at H + pad: (ih, iw) must lie inside the clipped window too.
        const PoolWindow w = pool_avg_window(p, oh, ow);
        if (ih >= w.h1 || iw >= w.w1) continue;
        acc += __fdiv_rn(g[base + oh * p.OW + ow], float(pool_avg_divisor(p, w)));
      }
    gx[e] = acc;
  }
}

}  // namespace

void CudaBackend::softmax(const Tensor& x, int64_t outer, int64_t C, int64_t inner, bool log, Tensor& out) {
  const int64_t rows = outer * inner;
  if (rows == 0 || C == 0) return;
  if (inner == 1 && C >= 64) {
    const int64_t blocks = std::min<int64_t>((rows * 32 + kThreads - 1) / kThreads, int64_t(sm_count_) * 32);
    launch(softmax_rows_warp, unsigned(blocks), kThreads, 0, stream_, x.data(), out.data(), rows, C, log);
  } else {
    launch(softmax_rows, grid_for(rows, kThreads), kThreads, 0, stream_, x.data(), out.data(), rows, C, inner, log);
  }
  check_launch(log ? "logSoftmax" : "softmax");
}

void CudaBackend::conv2d(const Tensor& xt, const Tensor& wt, Tensor& out, const Conv2dParams& p) {
  const int64_t cpg = p.C / p.groups, opg = p.O / p.groups, ohw = p.OH * p.OW, kk = cpg * p.KH * p.KW;
  const int64_t rows = p.C * p.KH * p.KW, chunk = images_per_chunk(p);
  DeviceTemp cols(size_t(chunk * rows * ohw) * 4);
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    const int64_t nc = std::min(chunk, p.N - n0);
    launch(im2col_kernel, grid_for(nc * rows * ohw, kThreads), kThreads, 0, stream_, xt.data() + n0 * p.C * p.H * p.W, cols.as<float>(), nc, p);
    check_launch("conv2d (im2col)");
    for (int64_t g = 0; g < p.groups; ++g)
      // out[n, g] [opg, ohw] = W_g [opg, kk] . cols[n, g] [kk, ohw]
      gemm(false, false, opg, ohw, kk, 1.f, wt.data() + g * opg * kk, kk, 0, cols.as<float>() + g * kk * ohw, ohw,
           rows * ohw, 0.f, out.data() + (n0 * p.O + g * opg) * ohw, ohw, p.O * ohw, nc);
  }
}

void CudaBackend::conv2d_backward_input(const Tensor& gt, const Tensor& wt, Tensor& gx, const Conv2dParams& p) {
  const int64_t cpg = p.C / p.groups, opg = p.O / p.groups, ohw = p.OH * p.OW, kk = cpg * p.KH * p.KW;
  const int64_t rows = p.C * p.KH * p.KW, chunk = images_per_chunk(p);
  DeviceTemp cols(size_t(chunk * rows * ohw) * 4);
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    const int64_t nc = std::min(chunk, p.N - n0);
    for (int64_t g = 0; g < p.groups; ++g)
      // cols[n, g] [kk, ohw] = W_g^T [kk, opg] . grad[n, g] [opg, ohw]
      gemm(true, false, kk, ohw, opg, 1.f, wt.data() + g * opg * kk, kk, 0, gt.data() + (n0 * p.O + g * opg) * ohw,
           ohw, p.O * ohw, 0.f, cols.as<float>() + g * kk * ohw, ohw, rows * ohw, nc);
    launch(col2im_kernel, grid_for(nc * p.C * p.H * p.W, kThreads), kThreads, 0, stream_, cols.as<float>(), gx.data() + n0 * p.C * p.H * p.W, nc, p);
    check_launch("conv2d backward (col2im)");
  }
}

void CudaBackend::conv2d_backward_weight(const Tensor& gt, const Tensor& xt, Tensor& gw, const Conv2dParams& p) {
  const int64_t cpg = p.C / p.groups, opg = p.O / p.groups, ohw = p.OH * p.OW, kk = cpg * p.KH * p.KW;
  const int64_t rows = p.C * p.KH * p.KW, chunk = images_per_chunk(p);
  check(cudaMemsetAsync(gw.data(), 0, size_t(gw.numel()) * 4, stream_), "conv2d backward (zero)");
  DeviceTemp cols(size_t(chunk * rows * ohw) * 4);
  DeviceTemp part(size_t(chunk * opg * kk) * 4);  // per-image dW_g, then summed in image order
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    const int64_t nc = std::min(chunk, p.N - n0);
    launch(im2col_kernel, grid_for(nc * rows * ohw, kThreads), kThreads, 0, stream_, xt.data() + n0 * p.C * p.H * p.W, cols.as<float>(), nc, p);
    check_launch("conv2d backward (im2col)");
    for (int64_t g = 0; g < p.groups; ++g) {
      // part[n] [opg, kk] = grad[n, g] [opg, ohw] . cols[n, g]^T [ohw, kk]
      gemm(false, true, opg, kk, ohw, 1.f, gt.data() + (n0 * p.O + g * opg) * ohw, ohw, p.O * ohw,
           cols.as<float>() + g * kk * ohw, ohw, rows * ohw, 0.f, part.as<float>(), kk, opg * kk, nc);
      launch(sum_batches_add, grid_for(opg * kk, kThreads), kThreads, 0, stream_, part.as<float>(), gw.data() + g * opg * kk, nc, opg * kk);
      check_launch("conv2d backward (weight sum)");
    }
  }
}

void CudaBackend::max_pool2d(const Tensor& x, Tensor& out, Tensor& indices, const Pool2dParams& p) {
  const int64_t n = p.N * p.C * p.OH * p.OW;
  if (n == 0) return;
  launch(max_pool_kernel, grid_for(n, kThreads), kThreads, 0, stream_, x.data(), out.data(), indices.idata(), p);
  check_launch("maxPool2d");
}

void CudaBackend::max_pool2d_backward(const Tensor& grad, const Tensor& indices, Tensor& gx, const Pool2dParams& p) {
  const int64_t n = p.N * p.C * p.H * p.W;
  if (n == 0) return;
  launch(max_pool_backward_kernel, grid_for(n, kThreads), kThreads, 0, stream_, grad.data(), indices.idata(), gx.data(), p);
  check_launch("maxPool2d backward");
}

void CudaBackend::avg_pool2d(const Tensor& x, Tensor& out, const Pool2dParams& p) {
  const int64_t n = p.N * p.C * p.OH * p.OW;
  if (n == 0) return;
  launch(avg_pool_kernel, grid_for(n, kThreads), kThreads, 0, stream_, x.data(), out.data(), p);
  check_launch("avgPool2d");
}

void CudaBackend::avg_pool2d_backward(const Tensor& grad, Tensor& gx, const Pool2dParams& p) {
  const int64_t n = p.N * p.C * p.H * p.W;
  if (n == 0) return;
  launch(avg_pool_backward_kernel, grid_for(n, kThreads), kThreads, 0, stream_, grad.data(), gx.data(), p);
  check_launch("avgPool2d backward");
}

}  // namespace cuda
}  // namespace fsnn
