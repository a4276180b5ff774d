// CPU random numbers (Philox, philox.h), fused optimizer steps, and the fractional op's dispatch.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../philox.h"
#include "cpu_allocator.h"
#include "cpu_backend.h"
#include "cpu_features.h"
#include "fractional_cpu.h"
#include "fractional_pred_cpu.h"
#include "fractional_fast_cpu.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {

namespace {
// f(i, u) for i in [i0, i1), u the uniform at stream index offset + i: each Philox block serves the run
// of consecutive indices it covers (4 uniforms), computed once where the run starts.
template <class F>
inline void for_each_uniform(uint64_t seed, uint64_t offset, int64_t i0, int64_t i1, F&& f) {
  PhiloxBlock ub{};
  for (int64_t i = i0; i < i1; ++i) {
    const uint64_t idx = offset + static_cast<uint64_t>(i);
    if (i == i0 || (idx & 3) == 0) ub = philox_uniform_block(seed, idx >> 2);
    f(i, philox_uniform_of(ub, idx));
  }
}
}  // namespace

void CpuBackend::random(RandomKind kind, uint64_t seed, uint64_t offset, float p, Tensor& out) {
  float* o = out.data();
  // A block per run of the elements it covers (a normal pair, or 4 uniforms: for_each_uniform).
  parallel_for(out.numel(), 1 << 12, [&](int64_t i0, int64_t i1) {
    if (kind == RandomKind::Normal) {
      PhiloxPolar pb{};
      for (int64_t i = i0; i < i1; ++i) {
        const uint64_t idx = offset + static_cast<uint64_t>(i);
        if (i == i0 || (idx & 1) == 0) pb = philox_normal_block(seed, idx >> 1);
        o[i] = philox_normal_of(pb, idx);
      }
      return;
    }
    if (kind == RandomKind::Uniform)
      for_each_uniform(seed, offset, i0, i1, [&](int64_t i, float u) { o[i] = u; });
    else
      for_each_uniform(seed, offset, i0, i1, [&](int64_t i, float u) { o[i] = u < p ? 1.f : 0.f; });
  });
}

void CpuBackend::bernoulli_steps(const Tensor& probs, uint64_t seed, uint64_t offset, Tensor& out) {
  const float* pr = probs.data();
  float* o = out.data();
  const int64_t n = probs.numel();
  parallel_for(out.numel(), 1 << 12, [&](int64_t i0, int64_t i1) {
    int64_t j = i0 % n;  // probs index of element i
    for_each_uniform(seed, offset, i0, i1, [&](int64_t i, float u) {
      o[i] = u < pr[j] ? 1.f : 0.f;
      if (++j == n) j = 0;
    });
  });
}

// The optimizer loops are instantiated per option combination (the options are template arguments)
// over __restrict pointers, so each is a plain loop the compiler vectorises (this file is built with
// -fno-math-errno, so sqrt is one instruction; sqrt, division and the rest are correctly rounded in
// every lane, so the result is bit-identical to the scalar loop).
namespace {
enum class Decay { None, L2, Decoupled };

// Adam / AdamW (PyTorch semantics):
//   g = grad (+ wd * p for Adam);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= lr * wd * p (AdamW);  p -= lr * (m / bc1) / (sqrt(v' / bc2) + eps), v' = max(vmax, v) with amsgrad
template <bool kMaximize, Decay kDecay, bool kAmsgrad>
inline __attribute__((always_inline)) void adam_body(float* __restrict p, const float* __restrict g, float* __restrict m,
                                                     float* __restrict v, float* __restrict vmax, int64_t i0, int64_t i1,
                                                     const AdamParams& a, float step, float bc2_sqrt) {
  const float beta1 = a.beta1, beta2 = a.beta2, omb1 = a.one_minus_beta1, omb2 = a.one_minus_beta2, eps = a.eps;
  const float wd = a.weight_decay, shrink = 1.f - a.lr * a.weight_decay;
  for (int64_t i = i0; i < i1; ++i) {
    float gi = kMaximize ? -g[i] : g[i];
    float pi = p[i];
    if (kDecay == Decay::Decoupled) pi *= shrink;
    if (kDecay == Decay::L2) gi += wd * pi;
    const float mi = beta1 * m[i] + omb1 * gi;
    float vi = beta2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (kAmsgrad) {
      vi = vmax[i] > vi ? vmax[i] : vi;
      vmax[i] = vi;
    }
    p[i] = pi - step * mi / (std::sqrt(vi) / bc2_sqrt + eps);
  }
}

template <bool kMaximize, Decay kDecay, bool kAmsgrad>
void adam_range_generic(float* p, const float* g, float* m, float* v, float* vmax, int64_t i0, int64_t i1, const AdamParams& a,
                        float step, float bc2_sqrt) {
  adam_body<kMaximize, kDecay, kAmsgrad>(p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt);
}
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
// The same loop in 8-float AVX registers (twice the SSE width of the generic build, for its two
// divisions and square root per element). The target has no FMA, so nothing is contracted: every
// operation rounds as in the generic loop, bit for bit.
template <bool kMaximize, Decay kDecay, bool kAmsgrad>
__attribute__((target("avx2"))) void adam_range_avx2(float* p, const float* g, float* m, float* v, float* vmax, int64_t i0,
                                                     int64_t i1, const AdamParams& a, float step, float bc2_sqrt) {
  adam_body<kMaximize, kDecay, kAmsgrad>(p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt);
}
#define FSNN_ADAM_AVX2 1
#endif

template <bool kMaximize, Decay kDecay, bool kAmsgrad>
void adam_range(float* p, const float* g, float* m, float* v, float* vmax, int64_t i0, int64_t i1, const AdamParams& a,
                float step, float bc2_sqrt) {
#ifdef FSNN_ADAM_AVX2
  if (cpu_has_avx2_fma()) return adam_range_avx2<kMaximize, kDecay, kAmsgrad>(p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt);
#endif
  adam_range_generic<kMaximize, kDecay, kAmsgrad>(p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt);
}

template <bool kMaximize, Decay kDecay>
void adam_range(bool amsgrad, float* p, const float* g, float* m, float* v, float* vmax, int64_t i0, int64_t i1, const AdamParams& a,
                float step, float bc2_sqrt) {
  if (amsgrad) adam_range<kMaximize, kDecay, true>(p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt);
  else adam_range<kMaximize, kDecay, false>(p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt);
}

template <bool kMaximize>
void adam_range(Decay decay, bool amsgrad, float* p, const float* g, float* m, float* v, float* vmax, int64_t i0, int64_t i1,
                const AdamParams& a, float step, float bc2_sqrt) {
  switch (decay) {
    case Decay::None: adam_range<kMaximize, Decay::None>(amsgrad, p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt); break;
    case Decay::L2: adam_range<kMaximize, Decay::L2>(amsgrad, p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt); break;
    case Decay::Decoupled: adam_range<kMaximize, Decay::Decoupled>(amsgrad, p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt); break;
  }
}

// SGD (PyTorch semantics): g += wd p;  buf = g (first step) or momentum buf + (1 - dampening) g;
//   g = nesterov ? g + momentum buf : buf;  p -= lr g
template <bool kMaximize, bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>
void sgd_range(float* __restrict p, const float* __restrict g, float* __restrict buf, int64_t i0, int64_t i1, const SgdParams& s) {
  const float lr = s.lr, wd = s.weight_decay, momentum = s.momentum, keep = 1.f - s.dampening;
  for (int64_t i = i0; i < i1; ++i) {
    float gi = kMaximize ? -g[i] : g[i];
    const float pi = p[i];
    if (kDecay) gi += wd * pi;
    if (kMomentum) {
      const float b = kFirst ? gi : momentum * buf[i] + keep * gi;
      buf[i] = b;
      gi = kNesterov ? gi + momentum * b : b;
    }
    p[i] = pi - lr * gi;
  }
}

template <bool kMaximize, bool kDecay>
void sgd_range(bool momentum, bool first, bool nesterov, float* p, const float* g, float* buf, int64_t i0, int64_t i1, const SgdParams& s) {
  if (!momentum) return sgd_range<kMaximize, kDecay, false, false, false>(p, g, buf, i0, i1, s);
  if (first) {
    if (nesterov) sgd_range<kMaximize, kDecay, true, true, true>(p, g, buf, i0, i1, s);
    else sgd_range<kMaximize, kDecay, true, true, false>(p, g, buf, i0, i1, s);
  } else {
    if (nesterov) sgd_range<kMaximize, kDecay, true, false, true>(p, g, buf, i0, i1, s);
    else sgd_range<kMaximize, kDecay, true, false, false>(p, g, buf, i0, i1, s);
  }
}
}  // namespace

void CpuBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& mt, Tensor& vt, Tensor* vmaxt, const AdamParams& a) {
  float* p = param.data();
  const float* g = grad.data();
  float* m = mt.data();
  float* v = vt.data();
  float* vmax = vmaxt ? vmaxt->data() : nullptr;
  const float step = static_cast<float>(a.lr / a.bias_correction1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(a.bias_correction2));
  const Decay decay = a.weight_decay == 0.f ? Decay::None : a.decoupled ? Decay::Decoupled : Decay::L2;
  parallel_for(param.numel(), 1 << 14, [&](int64_t i0, int64_t i1) {
    if (a.maximize) adam_range<true>(decay, vmax != nullptr, p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt);
    else adam_range<false>(decay, vmax != nullptr, p, g, m, v, vmax, i0, i1, a, step, bc2_sqrt);
  });
}

void CpuBackend::sgd_step(Tensor& param, const Tensor& grad, Tensor* buft, const SgdParams& s) {
  float* p = param.data();
  const float* g = grad.data();
  float* buf = buft ? buft->data() : nullptr;
  const bool momentum = buf != nullptr;
  parallel_for(param.numel(), 1 << 14, [&](int64_t i0, int64_t i1) {
    if (s.maximize) {
      if (s.weight_decay != 0.f) sgd_range<true, true>(momentum, s.first_step, s.nesterov, p, g, buf, i0, i1, s);
      else sgd_range<true, false>(momentum, s.first_step, s.nesterov, p, g, buf, i0, i1, s);
    } else {
      if (s.weight_decay != 0.f) sgd_range<false, true>(momentum, s.first_step, s.nesterov, p, g, buf, i0, i1, s);
      else sgd_range<false, false>(momentum, s.first_step, s.nesterov, p, g, buf, i0, i1, s);
    }
  });
}

int64_t CpuBackend::fractional_forward(const FractionalParams& p, const Tensor& I, Tensor& spikes, Tensor* v) {
  if (p.predictor) {
    cpu::fractional_pred_forward(p, I.data(), spikes.data(), v ? v->data() : nullptr);
  } else if (p.fast) {
    // The fast kernels check the membrane as they compute it: a scan only to find where it went wrong. The
    // spikes are also kept as bits where the kernel records them (Storage::spike_bits).
    // (From the allocator's cache; the kernel writes every halfword but those past T N / 16 in the last word.)
    const int64_t words = cpu::fractional_fast_records_spike_bits(p) ? (p.T * p.N + 63) / 64 : 0;
    std::shared_ptr<uint64_t> bits;
    if (words > 0) {
      const size_t bytes = size_t(words) * sizeof(uint64_t);
      bits.reset(static_cast<uint64_t*>(host_allocate(bytes)), [bytes](uint64_t* b) { host_deallocate(b, bytes); });
      bits.get()[words - 1] = 0;
    }
    const bool finite = cpu::fractional_fast_forward(p, I.data(), spikes.data(), v ? v->data() : nullptr,
                                                     reinterpret_cast<uint16_t*>(bits.get()));
    if (bits) {
      spikes.storage->spike_bits = std::move(bits);
      spikes.storage->spike_bits_words = words;
      spikes.storage->spike_bits_version = spikes.storage->version.load();
    }
    if (finite) return v ? v->numel() : kNotScanned;
  } else {
    cpu::fractional_forward(p, I.data(), spikes.data(), v ? v->data() : nullptr);
  }
  return v ? first_non_finite(*v) : kNotScanned;
}

void CpuBackend::fractional_backward(const FractionalParams& p, const Tensor& I, const Tensor& v, const Tensor& spikes,
                                     const Tensor& gS, const Tensor* gV, Tensor& gI, Tensor& gK, Tensor& gTau) {
  const int64_t n = gK.numel() / 2;  // T + 1, or L0 + Q with the fast history
  std::vector<double> gk(static_cast<size_t>(n), 0.0);
  double gtau = 0.0;
  if (p.predictor)
    cpu::fractional_pred_backward(p, I.data(), v.data(), spikes.data(), gS.data(), gV ? gV->data() : nullptr,
                                  gI.data(), gk.data(), &gtau);
  else if (p.fast && p.linear_fold) {
    // The linear layer's sums in float64, rounded once into its gradients (fractional_folds_linear).
    const FractionalLinearFold& lf = *p.linear_fold;
    cpu::LinearFoldSums fold;
    fold.x = lf.x->data();
    fold.K = lf.x->shape[1];
    fold.F = lf.gB->numel();
    std::vector<double> gw(size_t(fold.F * fold.K)), gb(size_t(fold.F));
    fold.gW = gw.data();
    fold.gB = gb.data();
    cpu::fractional_fast_backward(p, I.data(), v.data(), spikes.data(), gS.data(), gV ? gV->data() : nullptr, nullptr,
                                  gk.data(), &gtau, &fold);
    std::transform(gw.begin(), gw.end(), lf.gW->data(), [](double d) { return static_cast<float>(d); });
    std::transform(gb.begin(), gb.end(), lf.gB->data(), [](double d) { return static_cast<float>(d); });
  } else if (p.fast)
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
