// CPU softmax and pooling.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "../pool_window.h"
#include "cpu_backend.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {

// y_c = exp(x_c - max) / sum exp(x - max);  log-softmax: x_c - max - log sum exp(x - max).
void CpuBackend::softmax(const Tensor& xt, int64_t outer, int64_t C, int64_t inner, bool log, Tensor& out) {
  const float* x = xt.data();
  float* o = out.data();
  parallel_for(outer * inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, C)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ou = r / inner, in = r % inner;
      const float* px = x + ou * C * inner + in;
      float* po = o + ou * C * inner + in;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < C; ++c) mx = std::max(mx, px[c * inner]);
      double sum = 0;
      for (int64_t c = 0; c < C; ++c) sum += std::exp(static_cast<double>(px[c * inner] - mx));
      if (log) {
        const float lse = static_cast<float>(std::log(sum)) + mx;
        for (int64_t c = 0; c < C; ++c) po[c * inner] = px[c * inner] - lse;
      } else {
        const double inv = 1.0 / sum;
        for (int64_t c = 0; c < C; ++c) po[c * inner] = static_cast<float>(std::exp(static_cast<double>(px[c * inner] - mx)) * inv);
      }
    }
  });
}

void CpuBackend::max_pool2d(const Tensor& xt, Tensor& out, Tensor& indices, const Pool2dParams& p) {
  const float* x = xt.data();
  float* o = out.data();
  int32_t* id = indices.idata();
  parallel_for(p.N * p.C, 1, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const float* plane = x + q * p.H * p.W;
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          float best;
          int32_t best_i;
          pool_max_window(plane, p, oh, ow, best, best_i);
          const int64_t oi = (q * p.OH + oh) * p.OW + ow;
          o[oi] = best;
          id[oi] = best_i;
        }
    }
  });
}

void CpuBackend::max_pool2d_backward(const Tensor& gt, const Tensor& indices, Tensor& gx, const Pool2dParams& p) {
  const float* g = gt.data();
  const int32_t* id = indices.idata();
  float* o = gx.data();
  std::memset(o, 0, sizeof(float) * gx.numel());
  parallel_for(p.N * p.C, 1, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q)
      for (int64_t i = 0; i < p.OH * p.OW; ++i) {
        const int64_t oi = q * p.OH * p.OW + i;
        if (id[oi] >= 0) o[q * p.H * p.W + id[oi]] += g[oi];
      }
  });
}

namespace {
// Calls fn(ih, iw) over the real input elements of the window of (oh, ow); returns its divisor.
template <typename Fn>
int64_t avg_window(const Pool2dParams& p, int64_t oh, int64_t ow, Fn fn) {
  const PoolWindow w = pool_avg_window(p, oh, ow);
  for (int64_t ih = std::max<int64_t>(w.h0, 0); ih < std::min(w.h1, p.H); ++ih)
    for (int64_t iw = std::max<int64_t>(w.w0, 0); iw < std::min(w.w1, p.W); ++iw) fn(ih, iw);
  return pool_avg_divisor(p, w);
}
}  // namespace

void CpuBackend::avg_pool2d(const Tensor& xt, Tensor& out, const Pool2dParams& p) {
  const float* x = xt.data();
  float* o = out.data();
  parallel_for(p.N * p.C, 1, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const float* plane = x + q * p.H * p.W;
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          double sum = 0;
          const int64_t div = avg_window(p, oh, ow, [&](int64_t ih, int64_t iw) { sum += plane[ih * p.W + iw]; });
          o[(q * p.OH + oh) * p.OW + ow] = static_cast<float>(sum / div);
        }
    }
  });
}

void CpuBackend::avg_pool2d_backward(const Tensor& gt, Tensor& gx, const Pool2dParams& p) {
  const float* g = gt.data();
  float* o = gx.data();
  std::memset(o, 0, sizeof(float) * gx.numel());
  parallel_for(p.N * p.C, 1, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      float* plane = o + q * p.H * p.W;
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          // First pass finds the divisor, second spreads the gradient.
          const int64_t div = avg_window(p, oh, ow, [](int64_t, int64_t) {});
          const float share = g[(q * p.OH + oh) * p.OW + ow] / static_cast<float>(div);
          avg_window(p, oh, ow, [&](int64_t ih, int64_t iw) { plane[ih * p.W + iw] += share; });
        }
    }
  });
}

}  // namespace cpu
}  // namespace fsnn
