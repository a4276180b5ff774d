// CPU fractional neuron op with the fast (sum-of-exponentials) history. Equations: fractional_fast_cpu.h.
#include "fractional_fast_cpu.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../error.h"
#include "../surrogate.h"
#include "parallel.h"

#if !(defined(__GNUC__) || defined(__clang__))
#error "fractional_fast_cpu.cc uses GCC/Clang vector extensions"
#endif
#define FSNN_INLINE inline __attribute__((always_inline))
#if (defined(__x86_64__) || defined(__i386__))
#define FSNN_FAST_X86 1
#define FSNN_AVX2 __attribute__((target("avx2,fma")))
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace fsnn {
namespace cpu {
namespace {

constexpr int kNB = 16;  // neurons per block: one 16-float vector (two AVX2 registers)
typedef float vf __attribute__((vector_size(64)));
typedef double vd __attribute__((vector_size(128)));
typedef int32_t vi __attribute__((vector_size(64)));

FSNN_INLINE vf vset(float s) { return vf{} + s; }
FSNN_INLINE vd widen(const vf& x) { return __builtin_convertvector(x, vd); }
FSNN_INLINE vf narrow(const vd& x) { return __builtin_convertvector(x, vf); }
// 1 where x >= 0, else 0 (NaN gives 0): the spike.
FSNN_INLINE vf step(const vf& x) { return (vf)((vi)(x >= vset(0.0f)) & (vi)vset(1.0f)); }
// Row of a [T, N] array at the block's nv <= kNB neurons (the rest zero).
FSNN_INLINE vf load(const float* p, int64_t nv) {
  float t[kNB] = {};
  std::memcpy(t, p, size_t(nv) * sizeof(float));
  vf r;
  std::memcpy(&r, t, sizeof(r));
  return r;
}
FSNN_INLINE void store(float* p, const vf& x, int64_t nv) { std::memcpy(p, &x, size_t(nv) * sizeof(float)); }
FSNN_INLINE double hsum(const vf& x) {
  double s = 0.0;
  for (int i = 0; i < kNB; ++i) s += double(x[i]);
  return s;
}
FSNN_INLINE double hsum(const vd& x) {
  double s = 0.0;
  for (int i = 0; i < kNB; ++i) s += x[i];
  return s;
}

struct FastCtx {
  int64_t T, N, L0, Q, mask;  // mask + 1: ring length, a power of two >= L0 + 1
  bool lif;
  float tau, inv_tau, thr, thr_tau, opc, c, inv_K0;
  Surrogate surrogate;
  float scale;
  const float* K;   // K[L], L = 1..L0-1 (0 for L > T); K[0] unused
  const float* cq;  // c_q
  const float* mu;  // mu_q (mu_0 = 0)
};

// x_k from v_k and I_k, evaluated as the exact kernel does (fractional_cpu.cc x_of).
template <bool LIF>
FSNN_INLINE vf x_of(const FastCtx& c, const vf& v, const vf& in) {
  const vf xb = in / vset(c.tau) - vset(c.thr);
  return LIF ? v * vset(c.opc) + xb : v + xb;
}

template <bool LIF>
FSNN_INLINE void forward_block(const FastCtx& c, const float* I, float* spikes, float* vout, int64_t nv, vf* H, vf* ring) {
  const int64_t T = c.T, N = c.N, L0 = c.L0, Q = c.Q, mask = c.mask;
  for (int64_t q = 0; q < Q; ++q) H[q] = vf{};
  for (int64_t r = 0; r <= mask; ++r) ring[r] = vf{};
  vd H0{};  // the zero-decay node: a running sum, in float64
  vf v{};
  const float c0 = c.cq[0];
  for (int64_t k = 0; k < T; ++k) {
    const int64_t n = k + 1;
    const vf in = load(I + k * N, nv);
    const vf s = step(x_of<LIF>(c, v, in));
    store(spikes + k * N, s, nv);
    const vf f = (LIF ? in - v : in) * vset(c.inv_tau) - s * vset(c.thr_tau);
    vf a0{}, a1{}, a2{}, a3{};
    if (n >= L0) {
      const vf xo = ring[(n - L0) & mask];
      H0 += widen(xo);
      int64_t q = 1;
      for (; q + 3 < Q; q += 4) {
        vf h0 = H[q], h1 = H[q + 1], h2 = H[q + 2], h3 = H[q + 3];
        h0 += xo - vset(c.mu[q]) * h0;
        h1 += xo - vset(c.mu[q + 1]) * h1;
        h2 += xo - vset(c.mu[q + 2]) * h2;
        h3 += xo - vset(c.mu[q + 3]) * h3;
        H[q] = h0, H[q + 1] = h1, H[q + 2] = h2, H[q + 3] = h3;
        a0 += vset(c.cq[q]) * h0;
        a1 += vset(c.cq[q + 1]) * h1;
        a2 += vset(c.cq[q + 2]) * h2;
        a3 += vset(c.cq[q + 3]) * h3;
      }
      for (; q < Q; ++q) {
        vf h = H[q];
        h += xo - vset(c.mu[q]) * h;
        H[q] = h;
        a0 += vset(c.cq[q]) * h;
      }
    }
    const vf far = vset(c0) * narrow(H0) + ((a0 + a1) + (a2 + a3));
    vf near{};
    for (int64_t L = 1; L < L0; ++L) near += vset(c.K[L]) * ring[(n - L) & mask];  // slots before v_0 are 0
    v = (f - near - far) * vset(c.inv_K0);
    ring[n & mask] = v;
    if (vout) store(vout + k * N, v, nv);
  }
}

// out[0..L0-1] += gK_L, out[L0..L0+Q-1] += dL/dc_q, out[L0+Q] += dL/dtau (this block's share).
template <bool LIF>
FSNN_INLINE void backward_block(const FastCtx& c, const float* I, const float* V, const float* S, const float* gS,
                                const float* gV, float* gI, int64_t nv, vf* P, vf* G, vf* gk, vf* qr, double* out) {
  const int64_t T = c.T, N = c.N, L0 = c.L0, Q = c.Q, mask = c.mask;
  for (int64_t q = 0; q < Q; ++q) P[q] = G[q] = vf{};
  for (int64_t L = 0; L < L0; ++L) gk[L] = vf{};
  for (int64_t r = 0; r <= mask; ++r) qr[r] = vf{};  // q_j = 0 for j >= T
  vd P0{}, G0{};
  vf tacc{};
  const float c0 = c.cq[0];
  const vf inv_tau2 = vset(c.inv_tau * c.inv_tau), thr_tau2 = vset(c.thr_tau * c.inv_tau);
  for (int64_t j = T; j >= 0; --j) {
    const vf vj = j == 0 ? vf{} : load(V + (j - 1) * N, nv);
    vf local{};
    if (j < T) {  // the local terms of step j: spike surrogate, gI_j, dL/dtau
      const vf in = load(I + j * N, nv);
      const vf x = x_of<LIF>(c, vj, in);
      vf sg;
      for (int i = 0; i < kNB; ++i) sg[i] = surrogate_grad(c.surrogate, x[i], c.scale);
      const vf a = load(gS + j * N, nv) * sg;
      const vf dv_tau = (LIF ? in - vj : in) * inv_tau2;
      const vf qj = qr[j & mask];
      store(gI + j * N, (a + qj) * vset(c.inv_tau), nv);
      tacc = qj * (load(S + j * N, nv) * thr_tau2 - dv_tau) + (tacc - a * dv_tau);
      local = a * vset(c.opc) + vset(c.c) * qj;
    }
    if (j >= 1) {  // u_j and q_{j-1}
      const vf qin = qr[(j - 1 + L0) & mask];
      P0 += widen(qin);
      G0 += widen(vj) * P0;
      vf a0{}, a1{}, a2{}, a3{};
      int64_t q = 1;
      for (; q + 3 < Q; q += 4) {
        vf p0 = P[q], p1 = P[q + 1], p2 = P[q + 2], p3 = P[q + 3];
        p0 += qin - vset(c.mu[q]) * p0;
        p1 += qin - vset(c.mu[q + 1]) * p1;
        p2 += qin - vset(c.mu[q + 2]) * p2;
        p3 += qin - vset(c.mu[q + 3]) * p3;
        P[q] = p0, P[q + 1] = p1, P[q + 2] = p2, P[q + 3] = p3;
        a0 += vset(c.cq[q]) * p0;
        a1 += vset(c.cq[q + 1]) * p1;
        a2 += vset(c.cq[q + 2]) * p2;
        a3 += vset(c.cq[q + 3]) * p3;
        G[q] += vj * p0;
        G[q + 1] += vj * p1;
        G[q + 2] += vj * p2;
        G[q + 3] += vj * p3;
      }
      for (; q < Q; ++q) {
        vf p = P[q];
        p += qin - vset(c.mu[q]) * p;
        P[q] = p;
        a0 += vset(c.cq[q]) * p;
        G[q] += vj * p;
      }
      const vf far = vset(c0) * narrow(P0) + ((a0 + a1) + (a2 + a3));
      vf near{};
      for (int64_t L = 1; L < L0; ++L) near += vset(c.K[L]) * qr[(j - 1 + L) & mask];  // slots past q_{T-1} are 0
      const vf u = (gV ? load(gV + (j - 1) * N, nv) : vf{}) + local - near - far;
      qr[(j - 1) & mask] = u * vset(c.inv_K0);
      for (int64_t L = 0; L < L0; ++L) gk[L] += vj * qr[(j - 1 + L) & mask];
    }
    if (j % kFracSumChunk == 0) {  // float32 chunk sums into float64
      for (int64_t L = 0; L < L0; ++L) out[L] -= hsum(gk[L]), gk[L] = vf{};
      for (int64_t q = 1; q < Q; ++q) out[L0 + q] -= hsum(G[q]), G[q] = vf{};
      out[L0 + Q] += hsum(tacc);
      tacc = vf{};
    }
  }
  out[L0] -= hsum(G0);
}

struct FastJob {
  FastCtx c;
  const float *I, *V, *S, *gS, *gV;
  float *spikes, *vout, *gI;
  double* parts;  // backward: [blocks][L0 + Q + 1]
};

// Per-worker scratch of n vectors, 64-byte aligned (std::vector<vf> would drop the vector type's alignment).
struct Scratch {
  std::vector<float> mem;
  vf* get(int64_t n) {
    mem.assign(size_t(n) * kNB + kNB, 0.0f);
    const uintptr_t a = (reinterpret_cast<uintptr_t>(mem.data()) + 63) & ~uintptr_t(63);
    return reinterpret_cast<vf*>(a);
  }
};

template <bool LIF>
FSNN_INLINE void forward_range(const FastJob& j, int64_t b0, int64_t b1) {
  Scratch scratch;
  vf* buf = scratch.get(j.c.Q + j.c.mask + 1);
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t n0 = b * kNB, nv = std::min<int64_t>(kNB, j.c.N - n0);
    forward_block<LIF>(j.c, j.I + n0, j.spikes + n0, j.vout ? j.vout + n0 : nullptr, nv, buf, buf + j.c.Q);
  }
}
template <bool LIF>
FSNN_INLINE void backward_range(const FastJob& j, int64_t b0, int64_t b1) {
  const FastCtx& c = j.c;
  Scratch scratch;
  vf* buf = scratch.get(2 * c.Q + c.L0 + c.mask + 1);
  const int64_t W = c.L0 + c.Q + 1;
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t n0 = b * kNB, nv = std::min<int64_t>(kNB, c.N - n0);
    backward_block<LIF>(c, j.I + n0, j.V + n0, j.S + n0, j.gS + n0, j.gV ? j.gV + n0 : nullptr, j.gI + n0, nv,
                        buf, buf + c.Q, buf + 2 * c.Q, buf + 2 * c.Q + c.L0,
                        j.parts + b * W);
  }
}

void forward_generic(const FastJob& j, int64_t b0, int64_t b1) {
  if (j.c.lif) forward_range<true>(j, b0, b1);
  else forward_range<false>(j, b0, b1);
}
void backward_generic(const FastJob& j, int64_t b0, int64_t b1) {
  if (j.c.lif) backward_range<true>(j, b0, b1);
  else backward_range<false>(j, b0, b1);
}
#ifdef FSNN_FAST_X86
FSNN_AVX2 void forward_avx2(const FastJob& j, int64_t b0, int64_t b1) {
  if (j.c.lif) forward_range<true>(j, b0, b1);
  else forward_range<false>(j, b0, b1);
}
FSNN_AVX2 void backward_avx2(const FastJob& j, int64_t b0, int64_t b1) {
  if (j.c.lif) backward_range<true>(j, b0, b1);
  else backward_range<false>(j, b0, b1);
}
bool has_avx2() {
  __builtin_cpu_init();
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#endif

// Validates p and fills the context; store receives the float tables.
FastCtx make_ctx(const char* op, const FractionalParams& p, std::vector<float>& store) {
  if (!p.fast) fail(op, ": no fast history given");
  const FractionalFastHistory& f = *p.fast;
  if (p.T < 0 || p.N < 0) fail(op, ": T and N must be >= 0 (got T=", p.T, ", N=", p.N, ")");
  if (p.memory < p.T + 1) fail(op, ": the fast history needs the full history (memory ", p.memory, " < T + 1)");
  if (!(p.tau != 0.0f)) fail(op, ": tau must be nonzero (got ", p.tau, ")");
  if (p.T > 0 && (!p.K || !(p.K[0] != 0.0))) fail(op, ": kernel K (length T + 1, K[0] != 0) is missing");
  if (f.L0 < 2 || f.Q < 1 || int64_t(f.c.size()) != f.Q || int64_t(f.mu.size()) != f.Q || f.mu[0] != 0.0f)
    fail(op, ": malformed fast history (L0 ", f.L0, ", Q ", f.Q, ")");
  FastCtx c{};
  c.T = p.T;
  c.N = p.N;
  c.L0 = f.L0;
  c.Q = f.Q;
  int64_t ring = 1;
  while (ring < f.L0 + 1) ring *= 2;
  c.mask = ring - 1;
  const bool lif = p.kind == NeuronKind::LIF;
  const double cd = lif ? -1.0 / double(p.tau) : 0.0;
  c.tau = p.tau;
  c.inv_tau = float(1.0 / double(p.tau));
  c.thr = p.threshold;
  c.thr_tau = p.threshold / p.tau;
  c.c = float(cd);
  c.opc = float(1.0 + cd);
  c.lif = lif;
  c.surrogate = p.surrogate;
  c.scale = p.scale;
  c.inv_K0 = p.T > 0 ? float(1.0 / double(float(p.K[0]))) : 1.0f;
  store.assign(size_t(f.L0), 0.0f);
  for (int64_t L = 1; L < f.L0 && L <= p.T; ++L) store[size_t(L)] = float(p.K[L]);
  c.K = store.data();
  c.cq = f.c.data();
  c.mu = f.mu.data();
  return c;
}

template <class Fn>
void run_blocks(int64_t nblocks, const Fn& fn) {
  parallel_for(nblocks, 1, [&](int64_t b0, int64_t b1) { fn(b0, b1); });
}

}  // namespace

void fractional_fast_forward(const FractionalParams& p, const float* I, float* spikes, float* v) {
  std::vector<float> store;
  FastJob j{};
  j.c = make_ctx("fractional_fast_forward", p, store);
  if (p.T == 0 || p.N == 0) return;
  if (!I || !spikes) fail("fractional_fast_forward: I and spikes must not be null");
  j.I = I;
  j.spikes = spikes;
  j.vout = v;
  const int64_t nblocks = (p.N + kNB - 1) / kNB;
#ifdef FSNN_FAST_X86
  if (has_avx2()) return run_blocks(nblocks, [&](int64_t b0, int64_t b1) { forward_avx2(j, b0, b1); });
#endif
  run_blocks(nblocks, [&](int64_t b0, int64_t b1) { forward_generic(j, b0, b1); });
}

void fractional_fast_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes,
                              const float* gS, const float* gV, float* gI, double* gK, double* gTau) {
  std::vector<float> store;
  FastJob j{};
  j.c = make_ctx("fractional_fast_backward", p, store);
  if (gK == nullptr) fail("fractional_fast_backward: gK (length L0 + Q) is required");
  const int64_t W = j.c.L0 + j.c.Q;
  std::fill(gK, gK + W, 0.0);
  if (gTau) *gTau = 0.0;
  if (p.T == 0 || p.N == 0) return;
  if (!I || !v || !spikes || !gS || !gI)
    fail("fractional_fast_backward: I, v, spikes, gS and gI must not be null (v is the trace saved by the forward)");
  const int64_t nblocks = (p.N + kNB - 1) / kNB;
  std::vector<double> parts(size_t(nblocks * (W + 1)), 0.0);
  j.I = I;
  j.V = v;
  j.S = spikes;
  j.gS = gS;
  j.gV = gV;
  j.gI = gI;
  j.parts = parts.data();
  bool done = false;
#ifdef FSNN_FAST_X86
  if (has_avx2()) {
    run_blocks(nblocks, [&](int64_t b0, int64_t b1) { backward_avx2(j, b0, b1); });
    done = true;
  }
#endif
  if (!done) run_blocks(nblocks, [&](int64_t b0, int64_t b1) { backward_generic(j, b0, b1); });
  double tau = 0.0;
  for (int64_t b = 0; b < nblocks; ++b) {  // block order: independent of the threads
    const double* src = parts.data() + b * (W + 1);
    for (int64_t i = 0; i < W; ++i) gK[i] += src[i];
    tau += src[W];
  }
  if (gTau) *gTau = tau;
}

}  // namespace cpu
}  // namespace fsnn
