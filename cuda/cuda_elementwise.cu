// CUDA elementwise ops: fill, unary, broadcast binary, where, axpy; Philox random numbers; fused
// optimizer steps. Formulas mirror native/cpu (cpu_elementwise.cc, cpu_random_optim.cc); where the CPU
// code rounds a product before adding it (it is compiled without FMA contraction), the kernels use the
// _rn intrinsics so nvcc does not fuse them either.
#include <cmath>
#include <cstring>

#include "../native/philox.h"
#include "cuda_backend.h"

namespace fsnn {
namespace cuda {

namespace {

__global__ void fill_kernel(float* o, int64_t n, float v) {
  FSNN_GRID_LOOP(i, n) o[i] = v;
}

// ---- unary ----
struct UNeg { float p0, p1; __device__ float operator()(float v) const { return -v; } };
struct UExp { float p0, p1; __device__ float operator()(float v) const { return expf(v); } };
struct ULog { float p0, p1; __device__ float operator()(float v) const { return logf(v); } };
struct USqrt { float p0, p1; __device__ float operator()(float v) const { return __fsqrt_rn(v); } };
struct UAbs { float p0, p1; __device__ float operator()(float v) const { return fabsf(v); } };
struct URelu { float p0, p1; __device__ float operator()(float v) const { return v > 0.f ? v : 0.f; } };
struct USigmoid {
  float p0, p1;
  __device__ float operator()(float v) const {
    return v >= 0.f ? __fdiv_rn(1.f, 1.f + expf(-v)) : __fdiv_rn(expf(v), 1.f + expf(v));
  }
};
struct UTanh { float p0, p1; __device__ float operator()(float v) const { return tanhf(v); } };
struct USquare { float p0, p1; __device__ float operator()(float v) const { return __fmul_rn(v, v); } };
struct UPow { float p0, p1; __device__ float operator()(float v) const { return powf(v, p0); } };
struct UClamp { float p0, p1; __device__ float operator()(float v) const { return v < p0 ? p0 : (v > p1 ? p1 : v); } };
struct UInRange { float p0, p1; __device__ float operator()(float v) const { return (v >= p0 && v <= p1) ? 1.f : 0.f; } };
struct USign { float p0, p1; __device__ float operator()(float v) const { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); } };
struct UAffine { float p0, p1; __device__ float operator()(float v) const { return __fadd_rn(__fmul_rn(p0, v), p1); } };
struct URecip { float p0, p1; __device__ float operator()(float v) const { return __fdiv_rn(1.f, v); } };

template <class F>
__global__ void unary_kernel(const float* __restrict__ x, float* __restrict__ o, int64_t n, F f) {
  FSNN_GRID_LOOP(i, n) o[i] = f(x[i]);
}

template <class F>
void launch_unary(const float* x, float* o, int64_t n, F f) {
  launch(unary_kernel<F>, grid_for(n, kThreads), kThreads, 0, the_backend().stream(), x, o, n, f);
  check_launch("unary");
}

// ---- binary ----
struct BAdd { __device__ float operator()(float x, float y) const { return __fadd_rn(x, y); } };
struct BSub { __device__ float operator()(float x, float y) const { return __fsub_rn(x, y); } };
struct BMul { __device__ float operator()(float x, float y) const { return __fmul_rn(x, y); } };
struct BDiv { __device__ float operator()(float x, float y) const { return __fdiv_rn(x, y); } };
struct BMax { __device__ float operator()(float x, float y) const { return x >= y ? x : y; } };
struct BMin { __device__ float operator()(float x, float y) const { return x <= y ? x : y; } };
struct BGt { __device__ float operator()(float x, float y) const { return x > y ? 1.f : 0.f; } };
struct BGe { __device__ float operator()(float x, float y) const { return x >= y ? 1.f : 0.f; } };
struct BLt { __device__ float operator()(float x, float y) const { return x < y ? 1.f : 0.f; } };
struct BLe { __device__ float operator()(float x, float y) const { return x <= y ? 1.f : 0.f; } };
struct BEq { __device__ float operator()(float x, float y) const { return x == y ? 1.f : 0.f; } };
struct BNe { __device__ float operator()(float x, float y) const { return x != y ? 1.f : 0.f; } };

// Offsets of element i of a broadcast plan in each input (IT: 32-bit index math when it fits).
template <int NIn, typename IT>
__device__ __forceinline__ void bcast_offsets(const BcastArgs<NIn>& a, IT i, IT (&off)[NIn]) {
#pragma unroll
  for (int k = 0; k < NIn; ++k) off[k] = 0;
  for (int d = a.nd - 1; d >= 0; --d) {
    const IT s = static_cast<IT>(a.shape[d]);
    const IT c = i % s;
    i /= s;
#pragma unroll
    for (int k = 0; k < NIn; ++k) off[k] += c * static_cast<IT>(a.stride[k][d]);
  }
}

template <class F>
__global__ void binary_flat_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ o,
                                   int64_t n, F f) {
  FSNN_GRID_LOOP(i, n) o[i] = f(a[i], b[i]);
}

template <class F, typename IT>
__global__ void binary_bcast_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ o,
                                    IT n, BcastArgs<2> args, F f) {
  for (IT i = IT(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += IT(blockDim.x) * gridDim.x) {
    IT off[2];
    bcast_offsets<2, IT>(args, i, off);
    o[i] = f(a[off[0]], b[off[1]]);
  }
}

template <typename IT>
__global__ void where_kernel(const float* __restrict__ c, const float* __restrict__ a, const float* __restrict__ b,
                             float* __restrict__ o, IT n, BcastArgs<3> args) {
  for (IT i = IT(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += IT(blockDim.x) * gridDim.x) {
    IT off[3];
    bcast_offsets<3, IT>(args, i, off);
    o[i] = c[off[0]] != 0.f ? a[off[1]] : b[off[2]];
  }
}

template <int NIn>
BcastArgs<NIn> make_bcast(const BroadcastPlan& plan, const char* op) {
  BcastArgs<NIn> a{};
  const size_t nd = plan.shape.size();
  if (nd > size_t(kMaxDims))
    fail(op, ": the broadcast needs ", nd, " dimensions after merging contiguous ones; the CUDA backend supports ",
         kMaxDims, "; reshape the operands to fewer dimensions");
  a.nd = static_cast<int>(nd);
  for (size_t d = 0; d < nd; ++d) {
    a.shape[d] = plan.shape[d];
    for (int k = 0; k < NIn; ++k) a.stride[k][d] = plan.strides[k][d];
  }
  return a;
}

// True when every offset of the plan fits in 32 bits (numel and each input's extent).
template <int NIn>
bool fits32(const BcastArgs<NIn>& a, int64_t n) {
  if (n >= (int64_t(1) << 31)) return false;
  for (int k = 0; k < NIn; ++k) {
    int64_t ext = 0;
    for (int d = 0; d < a.nd; ++d) ext += (a.shape[d] - 1) * a.stride[k][d];
    if (ext >= (int64_t(1) << 31)) return false;
  }
  return true;
}

template <class F>
void launch_binary(const Tensor& at, const Tensor& bt, Tensor& out, const BroadcastPlan& plan, F f) {
  const int64_t n = out.numel();
  cudaStream_t s = the_backend().stream();
  if (plan.same_shape) {
    launch(binary_flat_kernel<F>, grid_for(n, kThreads), kThreads, 0, s, at.data(), bt.data(), out.data(), n, f);
  } else {
    const BcastArgs<2> args = make_bcast<2>(plan, "binary");
    if (fits32(args, n))
      launch(binary_bcast_kernel<F, uint32_t>, grid_for(n, kThreads), kThreads, 0, s, at.data(), bt.data(), out.data(), uint32_t(n), args, f);
    else
      launch(binary_bcast_kernel<F, uint64_t>, grid_for(n, kThreads), kThreads, 0, s, at.data(), bt.data(), out.data(), uint64_t(n), args, f);
  }
  check_launch("binary");
}

__global__ void axpy_kernel(float alpha, const float* __restrict__ x, float* __restrict__ o, int64_t n) {
  FSNN_GRID_LOOP(i, n) o[i] = __fadd_rn(o[i], __fmul_rn(alpha, x[i]));
}

// ---- random ----
__global__ void random_kernel(int kind, uint64_t seed, uint64_t offset, float p, float* __restrict__ o, int64_t n) {
  FSNN_GRID_LOOP(i, n) {
    const uint64_t idx = offset + static_cast<uint64_t>(i);
    float r;
    if (kind == int(RandomKind::Uniform)) r = philox_uniform(seed, idx);
    else if (kind == int(RandomKind::Normal)) r = philox_normal(seed, idx);
    else r = philox_uniform(seed, idx) < p ? 1.f : 0.f;
    o[i] = r;
  }
}

// ---- optimizers (one launch per parameter; a multi-tensor variant would take a device array of
// {param, grad, m, v, n} descriptors and loop over them in one grid: the place for it is here) ----
struct AdamArgs {
  float lr, beta1, beta2, eps, wd, omb1, omb2, step, bc2_sqrt, decay;
  int decoupled, amsgrad, maximize;
};

__global__ void adam_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, float* __restrict__ vmax, int64_t n, AdamArgs a) {
  FSNN_GRID_LOOP(i, n) {
    float gi = a.maximize ? -g[i] : g[i];
    float pi = p[i];
    if (a.wd != 0.f) {
      if (a.decoupled) pi = __fmul_rn(pi, a.decay);
      else gi = __fadd_rn(gi, __fmul_rn(a.wd, pi));
    }
    const float mi = __fadd_rn(__fmul_rn(a.beta1, m[i]), __fmul_rn(a.omb1, gi));
    const float vi0 = __fadd_rn(__fmul_rn(a.beta2, v[i]), __fmul_rn(__fmul_rn(a.omb2, gi), gi));
    m[i] = mi;
    v[i] = vi0;
    float vi = vi0;
    if (vmax) {
      const float vm = vmax[i] > vi ? vmax[i] : vi;
      vmax[i] = vm;
      vi = vm;
    }
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), a.bc2_sqrt), a.eps);
    p[i] = __fsub_rn(pi, __fdiv_rn(__fmul_rn(a.step, mi), denom));
  }
}

struct SgdArgs {
  float lr, momentum, dampening, wd, one_minus_damp;
  int nesterov, first, maximize;
};

__global__ void sgd_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ buf, int64_t n,
                           SgdArgs s) {
  FSNN_GRID_LOOP(i, n) {
    float gi = s.maximize ? -g[i] : g[i];
    const float pi = p[i];
    if (s.wd != 0.f) gi = __fadd_rn(gi, __fmul_rn(s.wd, pi));
    if (buf) {
      const float b = s.first ? gi : __fadd_rn(__fmul_rn(s.momentum, buf[i]), __fmul_rn(s.one_minus_damp, gi));
      buf[i] = b;
      gi = s.nesterov ? __fadd_rn(gi, __fmul_rn(s.momentum, b)) : b;
    }
    p[i] = __fsub_rn(pi, __fmul_rn(s.lr, gi));
  }
}

}  // namespace

void CudaBackend::fill(Tensor& out, float value) {
  const int64_t n = out.numel();
  if (n == 0) return;
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if (bits == 0) {
    check(cudaMemsetAsync(out.data(), 0, size_t(n) * 4, stream_), "fill (memset)");
    return;
  }
  launch(fill_kernel, grid_for(n, kThreads), kThreads, 0, stream_, out.data(), n, value);
  check_launch("fill");
}

void CudaBackend::unary(UnaryOp op, const Tensor& xt, Tensor& out, float p0, float p1) {
  const float* x = xt.data();
  float* o = out.data();
  const int64_t n = xt.numel();
  if (n == 0) return;
  switch (op) {
    case UnaryOp::Neg: return launch_unary(x, o, n, UNeg{p0, p1});
    case UnaryOp::Exp: return launch_unary(x, o, n, UExp{p0, p1});
    case UnaryOp::Log: return launch_unary(x, o, n, ULog{p0, p1});
    case UnaryOp::Sqrt: return launch_unary(x, o, n, USqrt{p0, p1});
    case UnaryOp::Abs: return launch_unary(x, o, n, UAbs{p0, p1});
    case UnaryOp::Relu: return launch_unary(x, o, n, URelu{p0, p1});
    case UnaryOp::Sigmoid: return launch_unary(x, o, n, USigmoid{p0, p1});
    case UnaryOp::Tanh: return launch_unary(x, o, n, UTanh{p0, p1});
    case UnaryOp::Pow:
      if (p0 == 2.f) return launch_unary(x, o, n, USquare{p0, p1});
      return launch_unary(x, o, n, UPow{p0, p1});
    case UnaryOp::Clamp: return launch_unary(x, o, n, UClamp{p0, p1});
    case UnaryOp::InRange: return launch_unary(x, o, n, UInRange{p0, p1});
    case UnaryOp::Sign: return launch_unary(x, o, n, USign{p0, p1});
    case UnaryOp::Affine: return launch_unary(x, o, n, UAffine{p0, p1});
    case UnaryOp::Reciprocal: return launch_unary(x, o, n, URecip{p0, p1});
    case UnaryOp::Square: return launch_unary(x, o, n, USquare{p0, p1});
  }
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) {
  if (out.numel() == 0) return;
  switch (op) {
    case BinaryOp::Add: return launch_binary(a, b, out, plan, BAdd{});
    case BinaryOp::Sub: return launch_binary(a, b, out, plan, BSub{});
    case BinaryOp::Mul: return launch_binary(a, b, out, plan, BMul{});
    case BinaryOp::Div: return launch_binary(a, b, out, plan, BDiv{});
    case BinaryOp::Maximum: return launch_binary(a, b, out, plan, BMax{});
    case BinaryOp::Minimum: return launch_binary(a, b, out, plan, BMin{});
    case BinaryOp::Gt: return launch_binary(a, b, out, plan, BGt{});
    case BinaryOp::Ge: return launch_binary(a, b, out, plan, BGe{});
    case BinaryOp::Lt: return launch_binary(a, b, out, plan, BLt{});
    case BinaryOp::Le: return launch_binary(a, b, out, plan, BLe{});
    case BinaryOp::Eq: return launch_binary(a, b, out, plan, BEq{});
    case BinaryOp::Ne: return launch_binary(a, b, out, plan, BNe{});
  }
}

void CudaBackend::where(const Tensor& c, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const BcastArgs<3> args = make_bcast<3>(plan, "where");
  if (fits32(args, n))
    launch(where_kernel<uint32_t>, grid_for(n, kThreads), kThreads, 0, stream_, c.data(), a.data(), b.data(), out.data(), uint32_t(n), args);
  else
    launch(where_kernel<uint64_t>, grid_for(n, kThreads), kThreads, 0, stream_, c.data(), a.data(), b.data(), out.data(), uint64_t(n), args);
  check_launch("where");
}

void CudaBackend::axpy(float alpha, const Tensor& x, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  launch(axpy_kernel, grid_for(n, kThreads), kThreads, 0, stream_, alpha, x.data(), out.data(), n);
  check_launch("add_ (axpy)");
}

// Not scanned on the GPU: reading the answer back would make the host wait for the stream on every
// fractional forward (the CPU scans; the CUDA kernels propagate Inf/NaN into the spikes' inputs).
int64_t CudaBackend::first_non_finite(const Tensor&) { return kNotScanned; }

void CudaBackend::random(RandomKind kind, uint64_t seed, uint64_t offset, float p, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  launch(random_kernel, grid_for(n, kThreads), kThreads, 0, stream_, int(kind), seed, offset, p, out.data(), n);
  check_launch("random");
}

void CudaBackend::adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* vmax, const AdamParams& a) {
  const int64_t n = param.numel();
  if (n == 0) return;
  AdamArgs k{};
  k.lr = a.lr;
  k.beta1 = a.beta1;
  k.beta2 = a.beta2;
  k.eps = a.eps;
  k.wd = a.weight_decay;
  k.omb1 = a.one_minus_beta1;
  k.omb2 = a.one_minus_beta2;
  k.step = static_cast<float>(a.lr / a.bias_correction1);
  k.bc2_sqrt = static_cast<float>(std::sqrt(a.bias_correction2));
  k.decay = 1.f - a.lr * a.weight_decay;  // float arithmetic, as the CPU step
  k.decoupled = a.decoupled;
  k.amsgrad = a.amsgrad;
  k.maximize = a.maximize;
  launch(adam_kernel, grid_for(n, kThreads), kThreads, 0, stream_, param.data(), grad.data(), m.data(), v.data(), vmax ? vmax->data() : nullptr, n, k);
  check_launch("adam.step");
}

void CudaBackend::sgd_step(Tensor& param, const Tensor& grad, Tensor* buf, const SgdParams& s) {
  const int64_t n = param.numel();
  if (n == 0) return;
  SgdArgs k{};
  k.lr = s.lr;
  k.momentum = s.momentum;
  k.dampening = s.dampening;
  k.wd = s.weight_decay;
  k.one_minus_damp = 1.f - s.dampening;
  k.nesterov = s.nesterov;
  k.first = s.first_step;
  k.maximize = s.maximize;
  launch(sgd_kernel, grid_for(n, kThreads), kThreads, 0, stream_, param.data(), grad.data(), buf ? buf->data() : nullptr, n, k);
  check_launch("sgd.step");
}

}  // namespace cuda
}  // namespace fsnn
