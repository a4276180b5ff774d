// Special functions for the fractional kernels (fractional_kernel.cc), in float64, for real x > 0:
//   gamma(x)   = Gamma(x)
//   lgamma(x)  = ln Gamma(x)
//   digamma(x) = psi(x) = d/dx ln Gamma(x)
//
// All three use the same plan: shift the argument up to y >= kShiftTo with the recurrences
//   Gamma(x) = Gamma(x + N) / (x (x+1) ... (x+N-1)),   psi(x) = psi(x + N) - sum_{i<N} 1/(x+i),
// then evaluate the Stirling / asymptotic series, whose Bernoulli terms are below 1e-16 there:
//   ln Gamma(y) = (y - 1/2) ln y - y + ln(2 pi)/2 + sum_k B_2k / (2k (2k-1) y^(2k-1))
//   psi(y)      = ln y - 1/(2y) - sum_k B_2k / (2k y^(2k))
// Relative accuracy is a few ulps (about 1e-15) except lgamma near its zeros at 1 and 2 and digamma
// near its zero at 1.4616..., where the error is absolute (a few ulps of the terms). Gamma is exactly
// (n-1)! at the integers n <= 23 (so l1 with alpha = 1 reduces exactly to Euler).
// The caller checks the domain (x finite and > 0); outside it the results are meaningless.
#pragma once
#include <cmath>

namespace fsnn {
namespace special {

constexpr double kShiftTo = 10.0;
constexpr double kHalfLn2Pi = 0.9189385332046727;  // ln(2 pi) / 2
constexpr double kSqrt2Pi = 2.5066282746310002;

// sum_k B_2k / (2k (2k-1) y^(2k-1)) (Horner in 1/y^2).
inline double stirling_correction(double y) {
  static constexpr double c[] = {1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188, -691.0 / 360360, 1.0 / 156,
                                 -3617.0 / 122400};
  const double r = 1.0 / y, r2 = r * r;
  double s = 0.0;
  for (int k = int(sizeof(c) / sizeof(c[0])) - 1; k >= 0; --k) s = s * r2 + c[k];
  return s * r;
}

// (n-1)! for a positive integer n <= 171, by exact multiplication while exact (n <= 23).
inline double factorial_of_pred(double n) {
  double f = 1.0;
  for (double i = 2.0; i < n; i += 1.0) f *= i;
  return f;
}

inline bool is_integer(double x) { return std::floor(x) == x; }

inline double gamma(double x) {
  if (is_integer(x) && x <= 171.0) return factorial_of_pred(x);
  if (x > 171.7) return INFINITY;
  double y = x, denom = 1.0;
  while (y < kShiftTo) {
    denom *= y;
    y += 1.0;
  }
  // Gamma(y) = sqrt(2 pi) y^(y - 1/2) e^(-y) exp(correction); the power is split so it cannot overflow.
  const double t = std::pow(y, (y - 0.5) / 2.0);
  const double g = kSqrt2Pi * t * (t * std::exp(-y)) * std::exp(stirling_correction(y));
  return g / denom;
}

inline double lgamma(double x) {
  if (is_integer(x) && x <= 171.0) return std::log(factorial_of_pred(x));
  double y = x, denom = 1.0;
  while (y < kShiftTo) {
    denom *= y;
    y += 1.0;
  }
  const double ly = (y - 0.5) * std::log(y) - y + kHalfLn2Pi + stirling_correction(y);
  return denom == 1.0 ? ly : ly - std::log(denom);
}

inline double digamma(double x) {
  static constexpr double c[] = {1.0 / 12, -1.0 / 120, 1.0 / 252, -1.0 / 240, 1.0 / 132, -691.0 / 32760, 1.0 / 12};
  double y = x, shift = 0.0;
  while (y < kShiftTo) {
    shift += 1.0 / y;
    y += 1.0;
  }
  const double r2 = 1.0 / (y * y);
  double s = 0.0;
  for (int k = int(sizeof(c) / sizeof(c[0])) - 1; k >= 0; --k) s = s * r2 + c[k];
  return std::log(y) - 0.5 / y - s * r2 - shift;
}

}  // namespace special
}  // namespace fsnn
