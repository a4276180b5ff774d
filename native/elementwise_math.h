// The elementwise formulas, the single place they live: one functor per unary and binary op, with a
// host and a device operator(), and one dispatch from the op's enum to its functor. The CPU backend
// (cpu/cpu_elementwise.cc) and the CUDA kernels (cuda/cuda_elementwise.cu) both apply these.
//
// Rounding: every product, quotient and sum is rounded on its own. On the device the _rn intrinsics
// keep nvcc from fusing a*b + c into an FMA; the host builds have no FMA contraction (baseline x86-64,
// and -ffp-contract=off for the emulated CUDA build), so both give the same bits.
#pragma once
#include <math.h>

#include "backend.h"
#include "host_device.h"
#include "surrogate.h"

namespace fsnn {
namespace elementwise {

#if defined(__CUDA_ARCH__)
FSNN_HD inline float mul(float a, float b) { return __fmul_rn(a, b); }
FSNN_HD inline float add(float a, float b) { return __fadd_rn(a, b); }
FSNN_HD inline float sub(float a, float b) { return __fsub_rn(a, b); }
FSNN_HD inline float div(float a, float b) { return __fdiv_rn(a, b); }
FSNN_HD inline float sqrt_rn(float a) { return __fsqrt_rn(a); }
#else
FSNN_HD inline float mul(float a, float b) { return a * b; }
FSNN_HD inline float add(float a, float b) { return a + b; }
FSNN_HD inline float sub(float a, float b) { return a - b; }
FSNN_HD inline float div(float a, float b) { return a / b; }
FSNN_HD inline float sqrt_rn(float a) { return sqrtf(a); }
#endif

// Unary: y = f(x; p0, p1).
struct Neg { float p0, p1; FSNN_HD float operator()(float v) const { return -v; } };
struct Exp { float p0, p1; FSNN_HD float operator()(float v) const { return expf(v); } };
struct Log { float p0, p1; FSNN_HD float operator()(float v) const { return logf(v); } };
struct Sqrt { float p0, p1; FSNN_HD float operator()(float v) const { return sqrt_rn(v); } };
struct Abs { float p0, p1; FSNN_HD float operator()(float v) const { return fabsf(v); } };
struct Relu { float p0, p1; FSNN_HD float operator()(float v) const { return v > 0.f ? v : 0.f; } };
// sigmoid(v) = 1 / (1 + e^-v) for v >= 0, e^v / (1 + e^v) below (no overflow either way)
struct Sigmoid {
  float p0, p1;
  FSNN_HD float operator()(float v) const {
    return v >= 0.f ? div(1.f, add(1.f, expf(-v))) : div(expf(v), add(1.f, expf(v)));
  }
};
struct Tanh { float p0, p1; FSNN_HD float operator()(float v) const { return tanhf(v); } };
struct Pow { float p0, p1; FSNN_HD float operator()(float v) const { return powf(v, p0); } };             // v^p0
struct Clamp { float p0, p1; FSNN_HD float operator()(float v) const { return v < p0 ? p0 : (v > p1 ? p1 : v); } };
struct InRange { float p0, p1; FSNN_HD float operator()(float v) const { return (v >= p0 && v <= p1) ? 1.f : 0.f; } };
struct Sign { float p0, p1; FSNN_HD float operator()(float v) const { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); } };
struct Affine { float p0, p1; FSNN_HD float operator()(float v) const { return add(mul(p0, v), p1); } };  // p0 v + p1
struct Reciprocal { float p0, p1; FSNN_HD float operator()(float v) const { return div(1.f, v); } };
struct Square { float p0, p1; FSNN_HD float operator()(float v) const { return mul(v, v); } };

// Binary: z = f(x, y). Comparisons give 1 or 0; maximum/minimum keep x on ties.
struct Add { FSNN_HD float operator()(float x, float y) const { return add(x, y); } };
struct Sub { FSNN_HD float operator()(float x, float y) const { return sub(x, y); } };
struct Mul { FSNN_HD float operator()(float x, float y) const { return mul(x, y); } };
struct Div { FSNN_HD float operator()(float x, float y) const { return div(x, y); } };
struct Maximum { FSNN_HD float operator()(float x, float y) const { return x >= y ? x : y; } };
struct Minimum { FSNN_HD float operator()(float x, float y) const { return x <= y ? x : y; } };
struct Gt { FSNN_HD float operator()(float x, float y) const { return x > y ? 1.f : 0.f; } };
struct Ge { FSNN_HD float operator()(float x, float y) const { return x >= y ? 1.f : 0.f; } };
struct Lt { FSNN_HD float operator()(float x, float y) const { return x < y ? 1.f : 0.f; } };
struct Le { FSNN_HD float operator()(float x, float y) const { return x <= y ? 1.f : 0.f; } };
struct Eq { FSNN_HD float operator()(float x, float y) const { return x == y ? 1.f : 0.f; } };
struct Ne { FSNN_HD float operator()(float x, float y) const { return x != y ? 1.f : 0.f; } };

// apply(functor) with the functor of `op` (host code: the backends pass a lambda that runs their loop).
template <class Apply>
void with_unary(UnaryOp op, float p0, float p1, Apply&& apply) {
  switch (op) {
    case UnaryOp::Neg: return apply(Neg{p0, p1});
    case UnaryOp::Exp: return apply(Exp{p0, p1});
    case UnaryOp::Log: return apply(Log{p0, p1});
    case UnaryOp::Sqrt: return apply(Sqrt{p0, p1});
    case UnaryOp::Abs: return apply(Abs{p0, p1});
    case UnaryOp::Relu: return apply(Relu{p0, p1});
    case UnaryOp::Sigmoid: return apply(Sigmoid{p0, p1});
    case UnaryOp::Tanh: return apply(Tanh{p0, p1});
    case UnaryOp::Pow:
      if (p0 == 2.f) return apply(Square{p0, p1});  // x^2 exactly (powf may differ by an ulp)
      return apply(Pow{p0, p1});
    case UnaryOp::Clamp: return apply(Clamp{p0, p1});
    case UnaryOp::InRange: return apply(InRange{p0, p1});
    case UnaryOp::Sign: return apply(Sign{p0, p1});
    case UnaryOp::Affine: return apply(Affine{p0, p1});
    case UnaryOp::Reciprocal: return apply(Reciprocal{p0, p1});
    case UnaryOp::Square: return apply(Square{p0, p1});
  }
}

template <class Apply>
void with_binary(BinaryOp op, Apply&& apply) {
  switch (op) {
    case BinaryOp::Add: return apply(Add{});
    case BinaryOp::Sub: return apply(Sub{});
    case BinaryOp::Mul: return apply(Mul{});
    case BinaryOp::Div: return apply(Div{});
    case BinaryOp::Maximum: return apply(Maximum{});
    case BinaryOp::Minimum: return apply(Minimum{});
    case BinaryOp::Gt: return apply(Gt{});
    case BinaryOp::Ge: return apply(Ge{});
    case BinaryOp::Lt: return apply(Lt{});
    case BinaryOp::Le: return apply(Le{});
    case BinaryOp::Eq: return apply(Eq{});
    case BinaryOp::Ne: return apply(Ne{});
  }
}

}  // namespace elementwise
}  // namespace fsnn
