// Spike function and surrogate derivatives of the fractional neuron op: the single place these
// formulas live. Included by the CPU backend and by the CUDA kernels, so everything here is inline,
// host/device, and uses only C math functions that exist on the device (fabsf, fmaf) and exp_f32.h's
// exp, which rounds the same on the host and the device (so the backends' gradients agree bit for bit).
//
// x = v + dv - threshold; the spike is H(x) = 1 when x >= 0. The backward replaces dH/dx by a
// smooth surrogate sg(x) with scale s (FractionalParams::scale):
//   arctan:           s / 2 / (1 + (pi/2 * s * x)^2)
//   sigmoid:          s * sig(s x) * (1 - sig(s x))
//   piecewise_linear: 1 / (2 s) where |x| <= s, else 0
//   gaussian:         exp(-x^2 / (2 s^2)) / (sqrt(2 pi) s)
#pragma once
#include <math.h>

#include "exp_f32.h"
#include "host_device.h"
#include "fractional_op.h"

namespace fsnn {

// Heaviside spike: 1 when x >= 0 (NaN gives 0).
FSNN_HD inline float spike_fn(float x) { return x >= 0.0f ? 1.0f : 0.0f; }

// The arctan surrogate on any float type F (float, or a vector of lanes with *, /): h / fma(a, a, one) with
// a = k x, where k = pi/2 s and h = s/2 come rounded once to float (broadcast to F) and fma is a fused
// multiply-add of F (one rounding: each lane then rounds as the scalar form does).
template <class F, class Fma>
FSNN_HD inline F surrogate_arctan_of(const F& x, const F& k, const F& h, const F& one, const Fma& fma) {
  const F a = k * x;
  return h / fma(a, a, one);
}
struct FmaFloat {
  FSNN_HD float operator()(float a, float b, float c) const { return fmaf(a, b, c); }
};

// The arctan surrogate's k = pi/2 s and h = s/2, rounded to float.
FSNN_HD inline float surrogate_arctan_k(float s) { return 1.57079632679489662f * s; }
FSNN_HD inline float surrogate_arctan_h(float s) { return 0.5f * s; }

FSNN_HD inline float surrogate_arctan(float x, float s) {
  // 1 + a^2 as one fused multiply-add, written out so that every compiler (nvcc, GCC with or without
  // FMA contraction, the CUDA emulator) rounds it the same way.
  return surrogate_arctan_of(x, surrogate_arctan_k(s), surrogate_arctan_h(s), 1.0f, FmaFloat{});
}

FSNN_HD inline float surrogate_sigmoid(float x, float s) {
  // sig(z) = 1 / (1 + exp(-z)); exp overflows to inf for very negative z, giving sig = 0: fine.
  const float sig = 1.0f / (1.0f + exp_f32(-s * x));
  return s * sig * (1.0f - sig);
}

FSNN_HD inline float surrogate_piecewise_linear(float x, float s) {
  return fabsf(x) <= s ? 0.5f / s : 0.0f;
}

FSNN_HD inline float surrogate_gaussian(float x, float s) {
  // 1 / sqrt(2 pi) = 0.398942280401432678
  return exp_f32(-(x * x) / (2.0f * s * s)) * (0.398942280401432678f / s);
}

// dS/dx for the surrogate `kind` (kind is usually known outside the loop; the switch then hoists).
FSNN_HD inline float surrogate_grad(Surrogate kind, float x, float s) {
  switch (kind) {
    case Surrogate::Sigmoid: return surrogate_sigmoid(x, s);
    case Surrogate::PiecewiseLinear: return surrogate_piecewise_linear(x, s);
    case Surrogate::Gaussian: return surrogate_gaussian(x, s);
    case Surrogate::Arctan:
    default: return surrogate_arctan(x, s);
  }
}

#ifndef __CUDA_ARCH__
// sg[i] = surrogate_grad(kind, x[i], s) for i < n, for the CPU's vector kernels: the switch outside
// one lane loop per kind, so that each loop vectorizes where it is inlined (a switch per lane keeps
// every lane scalar). Always inlined, so it takes the vector width of its caller's target.
template <int n>
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
inline void surrogate_grad_lanes(Surrogate kind, const float* x, float s, float* sg) {
  switch (kind) {
    case Surrogate::Sigmoid:
      for (int i = 0; i < n; ++i) sg[i] = surrogate_sigmoid(x[i], s);
      break;
    case Surrogate::PiecewiseLinear:
      for (int i = 0; i < n; ++i) sg[i] = surrogate_piecewise_linear(x[i], s);
      break;
    case Surrogate::Gaussian:
      for (int i = 0; i < n; ++i) sg[i] = surrogate_gaussian(x[i], s);
      break;
    case Surrogate::Arctan:
    default:
      for (int i = 0; i < n; ++i) sg[i] = surrogate_arctan(x[i], s);
      break;
  }
}
#endif

}  // namespace fsnn
