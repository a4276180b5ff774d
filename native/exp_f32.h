// exp(x) in float32 that rounds the same on every backend: the CPU (GCC, with or without FMA
// contraction), nvcc's device code and the CUDA emulator. The C library's expf and CUDA's device expf
// differ in the last bit for some x (device expf is within 2 ulp), which is enough to move the
// fractional op's dK and dtau sums by ~1e-8 relative between the backends; the surrogates that need
// exp (sigmoid, gaussian) use this one instead.
//
//   exp(x) = 2^n * exp(r),  n = round(x / ln 2),  r = x - n ln 2 (|r| <= ln 2 / 2, ln 2 in two parts)
//   exp(r) ~ sum_{j=0..7} r^j / j!   (truncation < 1e-8 relative on |r| <= 0.347)
// Every step is an IEEE operation with one rounding (fmaf, ldexpf are exact or correctly rounded on
// both sides), so both give the same bits. Accuracy: within 2 ulp of exp over the normal range;
// x > 88.7228 gives inf, x < -103.98 gives 0, NaN gives NaN.
#pragma once
#include <math.h>

#include "host_device.h"

namespace fsnn {

FSNN_HD inline float exp_f32(float x) {
  if (!(x < 88.72284f)) return x != x ? x : INFINITY;  // NaN stays NaN; above ln(FLT_MAX): inf
  if (x < -103.98f) return 0.0f;                          // below half the smallest subnormal
  // n = round(x log2 e): adding 1.5 * 2^23 rounds to an integer in the float's last place.
  const float shifter = 12582912.0f;
  const float t = fmaf(x, 1.44269504088896341f, shifter);
  const float n = t - shifter;
  // r = x - n ln2, with ln2 = 0.693145751953125 (exact in 16 bits) + 1.42860682030941723e-6
  float r = fmaf(-n, 0.693145751953125f, x);
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
  return ldexpf(p, static_cast<int>(n));
}

}  // namespace fsnn
