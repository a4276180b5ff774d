// exp(x) in float32 that rounds the same on every backend: the CPU (GCC, with or without FMA
// contraction), nvcc's device code and the CUDA emulator. The C library's expf and CUDA's device expf
// differ in the last bit for some x (device expf is within 2 ulp), which is enough to move the
// fractional op's dK and dtau sums by ~1e-8 relative between the backends; the surrogates that need
// exp (sigmoid, gaussian) use this one instead.
//
//   exp(x) = 2^n * exp(r),  n = round(x / ln 2),  r = x - n ln 2 (|r| <= ln 2 / 2, ln 2 in two parts)
//   exp(r) ~ sum_{j=0..7} r^j / j!   (truncation < 1e-8 relative on |r| <= 0.347)
// Every step is an IEEE operation with one rounding (fmaf; the scaling by 2^n as two exact powers of
// two), so both give the same bits. Accuracy: within 1 ulp of the correctly rounded exp for every float
// in [-103, 88.7] (checked exhaustively); x >= 88.72284 gives inf, x < -103.98 gives 0, NaN gives NaN.
#pragma once
#include <math.h>

#include <cstdint>
#include <cstring>

#include "host_device.h"

namespace fsnn {

// 2^e as a float, for e in [-126, 127] (a normal power of two: the exponent field alone).
FSNN_HD inline float pow2_normal(int e) {
#ifdef __CUDA_ARCH__
  return __int_as_float((e + 127) << 23);
#else
  const uint32_t bits = uint32_t(e + 127) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

// a >= b and a < b as quiet comparisons (no floating-point exception for NaN): GCC, which by
// default treats a signalling comparison as a possible trap, then turns the selects below into vector
// blends.
FSNN_HD inline bool quiet_ge(float a, float b) {
#ifdef __CUDA_ARCH__
  return a >= b;
#else
  return __builtin_isgreaterequal(a, b);
#endif
}
FSNN_HD inline bool quiet_lt(float a, float b) {
#ifdef __CUDA_ARCH__
  return a < b;
#else
  return __builtin_isless(a, b);
#endif
}

FSNN_HD inline float exp_f32(float x) {
  // Straight-line code (selects of inputs, no calls), so that a loop over lanes vectorizes on the CPU.
  // The ends need no test of their own: x >= 89 (+inf too) is computed as 89, where p 2^128 overflows
  // to inf as exp does from ln(FLT_MAX) = 88.72284 on; x < -104 (-inf too) as -104, where p 2^-150
  // rounds to 0 as exp does below -103.972; NaN flows through as NaN.
  // xc: x clamped to [-104, 89], NaN kept; xn: the same with NaN as -104, for n (never NaN, so its
  // conversion to int below is defined). They differ only for NaN.
  float xc = quiet_lt(x, -104.0f) ? -104.0f : x;
  xc = quiet_ge(xc, 89.0f) ? 89.0f : xc;
  float xn = quiet_ge(x, -104.0f) ? x : -104.0f;
  xn = quiet_lt(xn, 89.0f) ? xn : 89.0f;
  // n = round(xn log2 e): adding 1.5 * 2^23 rounds to an integer in the float's last place.
  const float shifter = 12582912.0f;
  const float t = fmaf(xn, 1.44269504088896341f, shifter);
  const float n = t - shifter;
  // r = xc - n ln2, with ln2 = 0.693145751953125 (exact in 16 bits) + 1.42860682030941723e-6
  float r = fmaf(-n, 0.693145751953125f, xc);
  r = fmaf(-n, 1.42860682030941723e-6f, r);
  // Horner: 1 + r (1 + r (1/2 + r (1/6 + r (1/24 + r (1/120 + r (1/720 + r / 5040))))))
  float p = 1.98412698412698413e-4f;
  p = fmaf(p, r, 1.38888888888888889e-3f);
  p = fmaf(p, r, 8.33333333333333333e-3f);
  p = fmaf(p, r, 4.16666666666666667e-2f);
  p = fmaf(p, r, 1.66666666666666667e-1f);
  p = fmaf(p, r, 0.5f);
  p = fmaf(p, r, 1.0f);
  p = fmaf(p, r, 1.0f);
  // p 2^n with n in [-150, 128], in two exact powers: the first product is exact (a normal result), the
  // second rounds once, as ldexpf(p, n) does (subnormal results and overflow included).
  const int ni = static_cast<int>(n);
  const int n1 = ni / 2, n2 = ni - n1;
  return (p * pow2_normal(n1)) * pow2_normal(n2);
}

}  // namespace fsnn
