// CPU random numbers (Philox, philox.h), fused optimizer steps, and the fractional op's dispatch.
#include <cmath>
#include <vector>

#include "../philox.h"
#include "cpu_backend.h"
#include "fractional_cpu.h"
#include "fractional_fast_cpu.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {

void CpuBackend::random(RandomKind kind, uint64_t seed, uint64_t offset, float p, Tensor& out) {
  float* o = out.data();
  parallel_for(out.numel(), 1 << 12, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const uint64_t idx = offset + static_cast<uint64_t>(i);
      switch (kind) {
        case RandomKind::Uniform: o[i] = philox_uniform(seed, idx); break;
        case RandomKind::Normal: o[i] = philox_normal(seed, idx); break;
        case RandomKind::Bernoulli: o[i] = philox_uniform(seed, idx) < p ? 1.f : 0.f; break;
      }
    }
  });
}

// Adam / AdamW (PyTorch semantics):
//   g = grad (+ wd * p for Adam);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= lr * wd * p (AdamW);  p -= lr * (m / bc1) / (sqrt(v' / bc2) + eps), v' = max(vmax, v) with amsgrad
void CpuBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& mt, Tensor& vt, Tensor* vmaxt, const AdamParams& a) {
  float* p = param.data();
  const float* g = grad.data();
  float* m = mt.data();
  float* v = vt.data();
  float* vmax = vmaxt ? vmaxt->data() : nullptr;
  const float step = static_cast<float>(a.lr / a.bias_correction1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(a.bias_correction2));
  parallel_for(param.numel(), 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float gi = a.maximize ? -g[i] : g[i];
      if (a.weight_decay != 0.f) {
        if (a.decoupled) p[i] *= 1.f - a.lr * a.weight_decay;
        else gi += a.weight_decay * p[i];
      }
      m[i] = a.beta1 * m[i] + a.one_minus_beta1 * gi;
      v[i] = a.beta2 * v[i] + a.one_minus_beta2 * gi * gi;
      float vi = v[i];
      if (vmax) {
        vmax[i] = vmax[i] > vi ? vmax[i] : vi;
        vi = vmax[i];
      }
      p[i] -= step * m[i] / (std::sqrt(vi) / bc2_sqrt + a.eps);
    }
  });
}

// SGD (PyTorch semantics): g += wd p;  buf = g (first step) or momentum buf + (1 - dampening) g;
//   g = nesterov ? g + momentum buf : buf;  p -= lr g
void CpuBackend::sgd_step(Tensor& param, const Tensor& grad, Tensor* buft, const SgdParams& s) {
  float* p = param.data();
  const float* g = grad.data();
  float* buf = buft ? buft->data() : nullptr;
  parallel_for(param.numel(), 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float gi = s.maximize ? -g[i] : g[i];
      if (s.weight_decay != 0.f) gi += s.weight_decay * p[i];
      if (buf) {
        buf[i] = s.first_step ? gi : s.momentum * buf[i] + (1.f - s.dampening) * gi;
        gi = s.nesterov ? gi + s.momentum * buf[i] : buf[i];
      }
      p[i] -= s.lr * gi;
    }
  });
}

void CpuBackend::fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) {
  if (p.fast)
    cpu::fractional_fast_forward(p, I.data(), spikes.data(), v ? v->data() : nullptr);
  else
    cpu::fractional_forward(p, I.data(), spikes.data(), v ? v->data() : nullptr);
}

void CpuBackend::fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                                     const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) {
  const int64_t n = gK.numel() / 2;  // T + 1, or L0 + Q with the fast history
  std::vector<double> gk(static_cast<size_t>(n), 0.0);
  double gtau = 0.0;
  if (p.fast)
    cpu::fractional_fast_backward(p, I.data(), v.data(), spikes.data(), gS.data(), gV ? gV->data() : nullptr,
                                  gI.data(), gk.data(), &gtau);
  else
    cpu::fractional_backward(p, I.data(), v.data(), spikes.data(), gS.data(), gV ? gV->data() : nullptr, gI.data(),
                             gk.data(), &gtau);
  // float32 pairs hi = float(x), lo = float(x - hi) (backend.h)
  float* k = gK.data();
  for (int64_t L = 0; L < n; ++L) {
    const float hi = static_cast<float>(gk[size_t(L)]);
    k[L] = hi;
    k[n + L] = static_cast<float>(gk[size_t(L)] - double(hi));
  }
  const float thi = static_cast<float>(gtau);
  gTau.data()[0] = thi;
  gTau.data()[1] = static_cast<float>(gtau - double(thi));
}

}  // namespace cpu
}  // namespace fsnn
