// The pooling windows, shared by the CPU and CUDA backends (host and device).
//   max: the largest element of the window of output (oh, ow) and its index ih*W + iw in the plane;
//        NaN wins (as in PyTorch), padding never does.
//   avg: the window [h0, h1) x [w0, w1) clipped to the padded input; its divisor is the clipped window's
//        area (count_include_pad) or the number of real input elements in it (at least 1).
#pragma once
#include <cstdint>

#include "backend.h"

#ifdef __CUDACC__
#define FSNN_POOL_HD __host__ __device__ inline
#else
#define FSNN_POOL_HD inline
#endif

namespace fsnn {

FSNN_POOL_HD void pool_max_window(const float* plane, const Pool2dParams& p, int64_t oh, int64_t ow, float& best,
                                  int32_t& best_i) {
  best = -__builtin_inff();
  best_i = -1;
  for (int64_t kh = 0; kh < p.kh; ++kh) {
    const int64_t ih = oh * p.stride_h - p.pad_h + kh;
    if (ih < 0 || ih >= p.H) continue;
    for (int64_t kw = 0; kw < p.kw; ++kw) {
      const int64_t iw = ow * p.stride_w - p.pad_w + kw;
      if (iw < 0 || iw >= p.W) continue;
      const float v = plane[ih * p.W + iw];
      if (v > best || best_i < 0 || v != v) {
        best = v;
        best_i = static_cast<int32_t>(ih * p.W + iw);
      }
    }
  }
}

struct PoolWindow {
  int64_t h0, h1, w0, w1;  // clipped to the padded input, not to the input
};

FSNN_POOL_HD PoolWindow pool_avg_window(const Pool2dParams& p, int64_t oh, int64_t ow) {
  PoolWindow w;
  w.h0 = oh * p.stride_h - p.pad_h;
  w.w0 = ow * p.stride_w - p.pad_w;
  w.h1 = w.h0 + p.kh < p.H + p.pad_h ? w.h0 + p.kh : p.H + p.pad_h;
  w.w1 = w.w0 + p.kw < p.W + p.pad_w ? w.w0 + p.kw : p.W + p.pad_w;
  return w;
}

FSNN_POOL_HD int64_t pool_avg_divisor(const Pool2dParams& p, const PoolWindow& w) {
  if (p.count_include_pad) return (w.h1 - w.h0) * (w.w1 - w.w0);
  const int64_t hc = (w.h1 < p.H ? w.h1 : p.H) - (w.h0 > 0 ? w.h0 : 0);
  const int64_t wc = (w.w1 < p.W ? w.w1 : p.W) - (w.w0 > 0 ? w.w0 : 0);
  const int64_t count = (hc > 0 && wc > 0) ? hc * wc : 0;
  return count > 1 ? count : 1;
}

}  // namespace fsnn
