// CUDA elementwise ops: fill, unary, broadcast binary, where, axpy; Philox random numbers; fused
// optimizer steps. The unary and binary formulas are native/elementwise_math.h's (shared with the CPU);
// the others mirror native/cpu (cpu_random_optim.cc): where the CPU code rounds a product before adding
// it (it is compiled without FMA contraction), the kernels use the _rn intrinsics so nvcc does not fuse
// them either.
#include <cmath>
#include <cstring>

#include "../native/elementwise_math.h"
#include "../native/philox.h"
#include "cuda_backend.h"

namespace fsnn {
namespace cuda {

namespace {

__global__ void fill_kernel(float* o, int64_t n, float v) {
  FSNN_GRID_LOOP(i, n) o[i] = v;
}

// ---- unary ----
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

// out[i] = 1 if uniform(offset + i) < p[i mod n] else 0 (Backend::bernoulli_steps)
__global__ void bernoulli_steps_kernel(const float* __restrict__ p, int64_t n, uint64_t seed, uint64_t offset,
                                       float* __restrict__ o, int64_t total) {
  FSNN_GRID_LOOP(i, total) o[i] = philox_uniform(seed, offset + static_cast<uint64_t>(i)) < p[i % n] ? 1.f : 0.f;
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
  elementwise::with_unary(op, p0, p1, [&](auto f) { launch_unary(x, o, n, f); });
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out, const BroadcastPlan& plan) {
  if (out.numel() == 0) return;
  elementwise::with_binary(op, [&](auto f) { launch_binary(a, b, out, plan, f); });
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

void CudaBackend::bernoulli_steps(const Tensor& probs, uint64_t seed, uint64_t offset, Tensor& out) {
  const int64_t total = out.numel();
  if (total == 0) return;
  launch(bernoulli_steps_kernel, grid_for(total, kThreads), kThreads, 0, stream_, probs.data(), probs.numel(), seed, offset,
         out.data(), total);
  check_launch("bernoulliSteps");
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
