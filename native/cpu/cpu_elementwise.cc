// CPU elementwise ops: memory, fill, unary, broadcast binary, where, axpy, the non-finite scan.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cpu_allocator.h"
#include "cpu_backend.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;

// Calls fn(out_offset, in_offsets..., count) for contiguous inner runs of a broadcast plan.
template <int NIn, typename Fn>
void for_each_run(const BroadcastPlan& plan, Fn fn) {
  const int64_t nd = static_cast<int64_t>(plan.shape.size());
  const int64_t inner = plan.shape[nd - 1];
  const int64_t rows = shape_numel(plan.shape) / (inner == 0 ? 1 : inner);
  if (inner == 0) return;
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off[NIn] = {};
      int64_t rem = r;
      for (int64_t d = nd - 2; d >= 0; --d) {
        const int64_t i = rem % plan.shape[d];
        rem /= plan.shape[d];
        for (int k = 0; k < NIn; ++k) off[k] += i * plan.strides[k][d];
      }
      int64_t inner_stride[NIn];
      for (int k = 0; k < NIn; ++k) inner_stride[k] = plan.strides[k][nd - 1];
      fn(r * inner, off, inner_stride, inner);
    }
  });
}

template <typename Op>
void binary_kernel(const float* a, const float* b, float* out, const BroadcastPlan& plan, Op op) {
  if (plan.same_shape) {
    const int64_t n = shape_numel(plan.shape);
    parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) out[i] = op(a[i], b[i]);
    });
    return;
  }
  for_each_run<2>(plan, [&](int64_t o, const int64_t* off, const int64_t* st, int64_t n) {
    const float* pa = a + off[0];
    const float* pb = b + off[1];
    float* po = out + o;
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]);
    } else if (st[0] == 1 && st[1] == 0) {
      const float vb = *pb;
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], vb);
    } else if (st[0] == 0 && st[1] == 1) {
      const float va = *pa;
      for (int64_t i = 0; i < n; ++i) po[i] = op(va, pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i * st[0]], pb[i * st[1]]);
    }
  });
}

template <typename Op>
void unary_kernel(const float* x, float* out, int64_t n, Op op) {
  parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) out[i] = op(x[i]);
  });
}
}  // namespace

void* CpuBackend::allocate(size_t bytes) { return host_allocate(bytes); }
void CpuBackend::deallocate(void* ptr, size_t bytes) { host_deallocate(ptr, bytes); }
void CpuBackend::copy_from_host(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
void CpuBackend::copy_to_host(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
void CpuBackend::copy_device(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }

void CpuBackend::fill(Tensor& out, float value) {
  float* o = out.data();
  parallel_for(out.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) o[i] = value;
  });
}

void CpuBackend::unary(UnaryOp op, const Tensor& xt, Tensor& out, float p0, float p1) {
  const float* x = xt.data();
  float* o = out.data();
  const int64_t n = xt.numel();
  switch (op) {
    case UnaryOp::Neg: return unary_kernel(x, o, n, [](float v) { return -v; });
    case UnaryOp::Exp: return unary_kernel(x, o, n, [](float v) { return std::exp(v); });
    case UnaryOp::Log: return unary_kernel(x, o, n, [](float v) { return std::log(v); });
    case UnaryOp::Sqrt: return unary_kernel(x, o, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::Abs: return unary_kernel(x, o, n, [](float v) { return std::fabs(v); });
    case UnaryOp::Relu: return unary_kernel(x, o, n, [](float v) { return v > 0.f ? v : 0.f; });
    case UnaryOp::Sigmoid:
      return unary_kernel(x, o, n, [](float v) {
        return v >= 0.f ? 1.f / (1.f + std::exp(-v)) : std::exp(v) / (1.f + std::exp(v));
      });
    case UnaryOp::Tanh: return unary_kernel(x, o, n, [](float v) { return std::tanh(v); });
    case UnaryOp::Pow:
      if (p0 == 2.f) return unary_kernel(x, o, n, [](float v) { return v * v; });
      return unary_kernel(x, o, n, [p0](float v) { return std::pow(v, p0); });
    case UnaryOp::Clamp: return unary_kernel(x, o, n, [p0, p1](float v) { return v < p0 ? p0 : (v > p1 ? p1 : v); });
    case UnaryOp::InRange: return unary_kernel(x, o, n, [p0, p1](float v) { return (v >= p0 && v <= p1) ? 1.f : 0.f; });
    case UnaryOp::Sign: return unary_kernel(x, o, n, [](float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); });
    case UnaryOp::Affine: return unary_kernel(x, o, n, [p0, p1](float v) { return p0 * v + p1; });
    case UnaryOp::Reciprocal: return unary_kernel(x, o, n, [](float v) { return 1.f / v; });
    case UnaryOp::Square: return unary_kernel(x, o, n, [](float v) { return v * v; });
  }
}

void CpuBackend::binary(BinaryOp op, const Tensor& at, const Tensor& bt, Tensor& out, const BroadcastPlan& plan) {
  const float* a = at.data();
  const float* b = bt.data();
  float* o = out.data();
  switch (op) {
    case BinaryOp::Add: return binary_kernel(a, b, o, plan, [](float x, float y) { return x + y; });
    case BinaryOp::Sub: return binary_kernel(a, b, o, plan, [](float x, float y) { return x - y; });
    case BinaryOp::Mul: return binary_kernel(a, b, o, plan, [](float x, float y) { return x * y; });
    case BinaryOp::Div: return binary_kernel(a, b, o, plan, [](float x, float y) { return x / y; });
    case BinaryOp::Maximum: return binary_kernel(a, b, o, plan, [](float x, float y) { return x >= y ? x : y; });
    case BinaryOp::Minimum: return binary_kernel(a, b, o, plan, [](float x, float y) { return x <= y ? x : y; });
    case BinaryOp::Gt: return binary_kernel(a, b, o, plan, [](float x, float y) { return x > y ? 1.f : 0.f; });
    case BinaryOp::Ge: return binary_kernel(a, b, o, plan, [](float x, float y) { return x >= y ? 1.f : 0.f; });
    case BinaryOp::Lt: return binary_kernel(a, b, o, plan, [](float x, float y) { return x < y ? 1.f : 0.f; });
    case BinaryOp::Le: return binary_kernel(a, b, o, plan, [](float x, float y) { return x <= y ? 1.f : 0.f; });
    case BinaryOp::Eq: return binary_kernel(a, b, o, plan, [](float x, float y) { return x == y ? 1.f : 0.f; });
    case BinaryOp::Ne: return binary_kernel(a, b, o, plan, [](float x, float y) { return x != y ? 1.f : 0.f; });
  }
}

void CpuBackend::where(const Tensor& ct, const Tensor& at, const Tensor& bt, Tensor& out, const BroadcastPlan& plan) {
  const float* c = ct.data();
  const float* a = at.data();
  const float* b = bt.data();
  float* o = out.data();
  for_each_run<3>(plan, [&](int64_t oo, const int64_t* off, const int64_t* st, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      o[oo + i] = c[off[0] + i * st[0]] != 0.f ? a[off[1] + i * st[1]] : b[off[2] + i * st[2]];
  });
}

void CpuBackend::axpy(float alpha, const Tensor& xt, Tensor& out) {
  const float* x = xt.data();
  float* o = out.data();
  parallel_for(out.numel(), kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) o[i] += alpha * x[i];
  });
}

// One parallel scan whose chunks first take the largest exponent field (an integer max, which
// vectorises); all ones means Inf or NaN, and only such a chunk is searched element by element.
int64_t CpuBackend::first_non_finite(const Tensor& t) {
  const float* x = t.data();
  std::atomic<int64_t> first{t.numel()};
  const uint32_t* bits = reinterpret_cast<const uint32_t*>(x);
  parallel_for(t.numel(), 1 << 16, [&](int64_t b, int64_t e) {
    uint32_t max_exp = 0;
    for (int64_t i = b; i < e; ++i) {
      const uint32_t ex = bits[i] & 0x7f800000u;
      max_exp = ex > max_exp ? ex : max_exp;
    }
    if (max_exp != 0x7f800000u) return;
    for (int64_t i = b; i < e; ++i)
      if (!std::isfinite(x[i])) {
        int64_t cur = first.load();
        while (i < cur && !first.compare_exchange_weak(cur, i)) {}
        return;
      }
  });
  return first.load();
}

}  // namespace cpu
}  // namespace fsnn
