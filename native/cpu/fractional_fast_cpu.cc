// CPU fractional neuron op with the fast (sum-of-exponentials) history. Equations: fractional_fast_cpu.h.
#include "fractional_fast_cpu.h"
#include "cpu_features.h"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"  // 64-byte vectors in inline helpers: ABI note, not an error
#endif

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../error.h"
#include "../fractional_fast_order.h"
#include "../surrogate.h"
#include "column_sum.h"
#include "cpu_allocator.h"
#include "parallel.h"
#include "vec8.h"

#define FSNN_INLINE inline __attribute__((always_inline))
#if (defined(__x86_64__) || defined(__i386__))
#define FSNN_FAST_X86 1
#include <immintrin.h>
#define FSNN_AVX2 __attribute__((target("avx2,fma")))
#define FSNN_AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#endif
namespace fsnn {
namespace cpu {
namespace {

constexpr int kNB = 16;  // neurons per block: two 8-float vectors (two AVX2 registers)
// A block's 16 lanes as two native 8-float vectors (a single 64-byte GNU vector is lowered poorly by GCC
// without AVX-512: through general registers).
typedef int32_t v8i __attribute__((vector_size(32)));
// Element-wise copies (lo, hi) rather than the implicit 64-byte struct copy, which GCC lowers through
// general-purpose registers or 16-byte moves; a ymm load of data just stored that way cannot be forwarded
// from the store buffer and stalls, and the state and ring copies sit on the recurrence's critical path.
struct vf {
  v8 lo, hi;
  vf() : lo{}, hi{} {}
  vf(const v8& l, const v8& h) : lo(l), hi(h) {}
  vf(const vf& o) : lo(o.lo), hi(o.hi) {}
  vf& operator=(const vf& o) {
    lo = o.lo;
    hi = o.hi;
    return *this;
  }
};
FSNN_INLINE vf operator+(const vf& a, const vf& b) { return {a.lo + b.lo, a.hi + b.hi}; }
FSNN_INLINE vf operator-(const vf& a, const vf& b) { return {a.lo - b.lo, a.hi - b.hi}; }
FSNN_INLINE vf operator*(const vf& a, const vf& b) { return {a.lo * b.lo, a.hi * b.hi}; }
FSNN_INLINE vf operator/(const vf& a, const vf& b) { return {a.lo / b.lo, a.hi / b.hi}; }
FSNN_INLINE vf& operator+=(vf& a, const vf& b) { return a = a + b; }
FSNN_INLINE vf vset(float s) {
  const v8 b = {s, s, s, s, s, s, s, s};
  return {b, b};
}
// a * b + c, contracted to one vfmadd per half in the AVX2+FMA entry points (as the rest of this file's
// arithmetic is): the fused multiply-add of surrogate_arctan_of.
struct FmaLanes {
  template <class V>
  FSNN_INLINE V operator()(const V& a, const V& b, const V& c) const { return a * b + c; }
};
// 1 where x >= 0, else 0 (NaN gives 0): the spike.
FSNN_INLINE v8 step8(const v8& x) { return (v8)((v8i)(x >= v8{}) & (v8i)(v8{1, 1, 1, 1, 1, 1, 1, 1})); }
FSNN_INLINE vf step(const vf& x) { return {step8(x.lo), step8(x.hi)}; }
FSNN_INLINE float lane(const vf& x, int i) { return i < 8 ? x.lo[i] : x.hi[i - 8]; }
// surrogate.h's surrogate on every lane (surrogate_grad_lanes: vectorized per kind).
FSNN_INLINE vf surrogate_lanes(Surrogate kind, const vf& x, float s) {
  alignas(32) float xs[kNB], out[kNB];
  store8(xs, x.lo);
  store8(xs + 8, x.hi);
  surrogate_grad_lanes<kNB>(kind, xs, s, out);
  return {load8(out), load8(out + 8)};
}
// A block's 16 lanes as one 64-byte vector: one AVX-512 register (the AVX-512 body's block type). The same
// memory layout as vf (16 consecutive floats), so the staging and the state buffers serve both.
typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
FSNN_INLINE v16 step(const v16& x) {
  const v16 one = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  return (v16)((v16i)(x >= v16{}) & (v16i)one);
}
FSNN_INLINE float lane(const v16& x, int i) { return x[i]; }
FSNN_INLINE v16 surrogate_lanes(Surrogate kind, const v16& x, float s) {
  alignas(64) float xs[kNB], out[kNB];
  std::memcpy(xs, &x, sizeof(x));
  surrogate_grad_lanes<kNB>(kind, xs, s, out);
  v16 r;
  std::memcpy(&r, out, sizeof(r));
  return r;
}

// The per-type pieces the block code is written with: broadcast, unaligned load / store, the non-finite lane mask.
template <class V>
FSNN_INLINE V bcast(float s);
template <>
FSNN_INLINE vf bcast<vf>(float s) { return vset(s); }
template <>
FSNN_INLINE v16 bcast<v16>(float s) {
  // Lane 0 to all lanes: one broadcast (GCC 12 lowers a 16-element initializer list, or a vector-scalar
  // operation, to 16 masked broadcasts).
  return __builtin_shuffle(v16{s}, v16i{});
}
template <class V>
FSNN_INLINE V vload(const float* p);
template <>
FSNN_INLINE vf vload<vf>(const float* p) { return {load8(p), load8(p + 8)}; }  // load8 / store8: vec8.h
template <>
FSNN_INLINE v16 vload<v16>(const float* p) {
  v16 r;
  std::memcpy(&r, p, sizeof(r));
  return r;
}
FSNN_INLINE void vstore(float* p, const vf& x) {
  store8(p, x.lo);
  store8(p + 8, x.hi);
}
FSNN_INLINE void vstore(float* p, const v16& x) { std::memcpy(p, &x, sizeof(x)); }
template <class V>
struct LaneMaskOf;
template <>
struct LaneMaskOf<vf> {
  typedef v8i type;  // the halves' masks OR-ed together
};
template <>
struct LaneMaskOf<v16> {
  typedef v16i type;
};
template <class V>
using LaneMask = typename LaneMaskOf<V>::type;
// Lanes set where v is Inf or NaN (v - v is NaN exactly then).
FSNN_INLINE void mark_non_finite(v8i& nf, const vf& v) { nf |= (v.lo - v.lo != v8{}) | (v.hi - v.hi != v8{}); }
FSNN_INLINE void mark_non_finite(v16i& nf, const v16& v) { nf |= (v - v != v16{}); }
template <class M>
FSNN_INLINE bool any_lane(const M& m) {
  bool any = false;
  for (size_t i = 0; i < sizeof(M) / sizeof(int32_t); ++i) any = any || m[i] != 0;
  return any;
}

// sum += x with Kahan compensation comp (the zero-decay node: a plain running sum over up to T values).
template <class V>
FSNN_INLINE void kahan_add(V& sum, V& comp, const V& x) {
  const V y = x - comp;
  const V t = sum + y;
  comp = (t - sum) - y;
  sum = t;
}
template <class V>
FSNN_INLINE double hsum(const V& x) {
  double s = 0.0;
  for (int i = 0; i < kNB; ++i) s += double(lane(x, i));
  return s;
}

struct FastCtx {
  int64_t T, N, L0, Q, mask;  // mask + 1: ring length, a power of two >= L0 + 1
  bool lif;
  float tau, inv_tau, thr, thr_tau, opc, c, inv_K0;
  // Products of the above, formed once here (float, as the loops formed them): in memory they are broadcast
  // operands of the vector arithmetic, where a scalar computed in the loop would need a broadcast per use.
  float inv_tau2, thr_tau2, arctan_k, arctan_h;
  Surrogate surrogate;
  float scale;
  const float* K;   // K[L], L = 1..L0-1 (0 for L > T); K[0] unused
  const float* cq;  // c_q
  const float* mu;  // mu_q (mu_0 = 0)
  const v16* cq16;  // c_q and mu_q broadcast to 16 lanes (64-byte aligned): an operand in memory for the
  const v16* mu16;  // vector arithmetic, instead of a broadcast per use (the AVX2 body reads their halves)
};

// x_k from v_k and I_k, evaluated as the exact kernel does (fractional_cpu.cc x_of).
template <bool LIF, class V>
FSNN_INLINE V x_of(const FastCtx& c, const V& v, const V& in) {
  const V xb = in / bcast<V>(c.tau) - bcast<V>(c.thr);
  return LIF ? v * bcast<V>(c.opc) + xb : v + xb;
}

// One state's step: s += x - mu s, acc += c s, and with kGrad g += w s (one 8- or 16-lane register W).
template <bool kGrad, class W>
FSNN_INLINE void soe_state_step(W& s, const W& x, const W& mu, const W& cq, W& acc, W& g, const W& w) {
  s += x - mu * s;
  acc += cq * s;
  if (kGrad) g += w * s;
}

// With kPin, pins x to a vector register at this point: each later use reads the register, where GCC would
// otherwise fold a load of x into every instruction that uses it (in the two-step pass, S_q, mu_q and c_q
// were each loaded twice). The AVX2 and AVX-512 bodies pin (their targets have registers of W's width); the
// portable body cannot. Same bits; measured on the 2-core Zen 5 at T = 4,096, N = 16,384 (alternated builds):
// AVX-512 forward 64 -> 57 ms and backward 102 -> 98 ms (medians of the best of 7), AVX2 forward 15-20 % faster.
template <bool kPin, class W>
FSNN_INLINE void in_register(W& x) {
  if constexpr (kPin) asm("" : "+v"(x));
}

// One step of the decaying SOE states q = 1..Q-1 on one register W of lanes (the zero node S[0] is summed
// apart, with Kahan): S_q += x - mu_q S_q; returns sum_{q>=1} c_q S_q over four accumulators, summed as
// ((a0 + a1) + (a2 + a3)). With kGrad, also G_q += w S_q (the adjoint's dL/dc_q). The forward and the adjoint
// both advance this way. State q of these lanes is at S[stride q]; c_q and mu_q come from memory already
// broadcast, at the same stride (mu[stride q], cq[stride q]).
template <bool kGrad, bool kPin, class W>
FSNN_INLINE W advance_lanes(int64_t Q, const W* mu, const W* cq, W* S, W* G, int64_t stride, const W& x, const W& w) {
  W a[4] = {};
  for_each_decaying_state(Q, [&](int64_t q, int r) __attribute__((always_inline)) {
    W s = S[stride * q], g{};
    if (kGrad) g = G[stride * q];
    in_register<kPin>(s);
    soe_state_step<kGrad>(s, x, mu[stride * q], cq[stride * q], a[r], g, w);
    S[stride * q] = s;
    if (kGrad) G[stride * q] = g;
  });
  return (a[0] + a[1]) + (a[2] + a[3]);
}
// Two consecutive steps at once (x1 then x2; with kGrad w1 then w2): each state is loaded and stored once for
// both, and the results are the same bits as two advance_lanes calls (the same operations on each state and
// each accumulator, in the same order). The two steps' accumulators take eight registers.
template <bool kGrad, bool kPin, class W>
FSNN_INLINE void advance_lanes2(int64_t Q, const W* mu, const W* cq, W* S, W* G, int64_t stride, const W& x1,
                                const W& x2, const W& w1, const W& w2, W& out1, W& out2) {
  W a[4] = {}, b[4] = {};
  for_each_decaying_state(Q, [&](int64_t q, int r) __attribute__((always_inline)) {
    W m = mu[stride * q], k = cq[stride * q];
    W s = S[stride * q], g{};
    if (kGrad) g = G[stride * q];
    in_register<kPin>(m);
    in_register<kPin>(k);
    in_register<kPin>(s);
    if (kGrad) in_register<kPin>(g);
    soe_state_step<kGrad>(s, x1, m, k, a[r], g, w1);
    soe_state_step<kGrad>(s, x2, m, k, b[r], g, w2);
    S[stride * q] = s;
    if (kGrad) G[stride * q] = g;
  });
  out1 = (a[0] + a[1]) + (a[2] + a[3]);
  out2 = (b[0] + b[1]) + (b[2] + b[3]);
}

// The block versions. A vf is {lo, hi}: viewed as v8 arrays, element 2q is state q's low half and 2q + 1 its
// high half; each half advances on its own, so that its accumulators, x and the state fit in the 16 AVX2
// registers. The 16-lane tables, viewed the same way, give each half its broadcast c_q and mu_q at 2q. A v16
// block is one AVX-512 register: the same operations per lane in the same order.
FSNN_INLINE const v8* halves(const v16* t) { return reinterpret_cast<const v8*>(t); }
template <bool kGrad, bool kPin>
FSNN_INLINE vf advance_soe_states(const FastCtx& c, vf* S, const vf& x, vf* G, const vf& w) {
  v8* s = reinterpret_cast<v8*>(S);
  v8* g = reinterpret_cast<v8*>(G);
  const v8 *mu = halves(c.mu16), *cq = halves(c.cq16);
  return {advance_lanes<kGrad, kPin>(c.Q, mu, cq, s, g, 2, x.lo, w.lo),
          advance_lanes<kGrad, kPin>(c.Q, mu, cq, s + 1, kGrad ? g + 1 : nullptr, 2, x.hi, w.hi)};
}
template <bool kGrad, bool kPin>
FSNN_INLINE void advance_soe_states2(const FastCtx& c, vf* S, const vf& x1, const vf& x2, vf* G, const vf& w1,
                                     const vf& w2, vf& out1, vf& out2) {
  v8* s = reinterpret_cast<v8*>(S);
  v8* g = reinterpret_cast<v8*>(G);
  const v8 *mu = halves(c.mu16), *cq = halves(c.cq16);
  advance_lanes2<kGrad, kPin>(c.Q, mu, cq, s, g, 2, x1.lo, x2.lo, w1.lo, w2.lo, out1.lo, out2.lo);
  advance_lanes2<kGrad, kPin>(c.Q, mu, cq, s + 1, kGrad ? g + 1 : nullptr, 2, x1.hi, x2.hi, w1.hi, w2.hi, out1.hi,
                        out2.hi);
}
template <bool kGrad, bool kPin>
FSNN_INLINE v16 advance_soe_states(const FastCtx& c, v16* S, const v16& x, v16* G, const v16& w) {
  return advance_lanes<kGrad, kPin>(c.Q, c.mu16, c.cq16, S, G, 1, x, w);
}
template <bool kGrad, bool kPin>
FSNN_INLINE void advance_soe_states2(const FastCtx& c, v16* S, const v16& x1, const v16& x2, v16* G, const v16& w1,
                                     const v16& w2, v16& out1, v16& out2) {
  advance_lanes2<kGrad, kPin>(c.Q, c.mu16, c.cq16, S, G, 1, x1, x2, w1, w2, out1, out2);
}

// ---------------------------------------------------------------------------------------------
// Memory: a worker takes a slab of W neurons (whole blocks) and walks through time in chunks of kChunk
// steps. Each chunk's rows of the [T, N] arrays are copied into a contiguous staging buffer [kChunk][ld]
// (one memcpy of W floats per row: the strided rows of a column would otherwise miss the caches on every
// step when N is a power of two), the slab's blocks advance over the chunk from there, and the outputs
// are copied back. The blocks' states (Q + ring + a few vectors each) stay in the worker's buffer.
// ---------------------------------------------------------------------------------------------
constexpr int64_t kChunk = 64;    // time steps per staged chunk
constexpr int64_t kMaxSlab = 256; // neurons per slab (at most)

// Prefetches that overlap a block's memory traffic with its arithmetic: while the block computes staged row i
// of a chunk, the cache line of its 16 lanes in row i of the next chunk's inputs is fetched (the next stage_in
// then copies from the cache, not from memory), and so is the line of row i of this chunk's outputs (the
// stage_out after the chunk then writes to lines already owned). A worker's chunk otherwise waits for memory
// with its arithmetic idle, and then computes with the memory idle. Null rows are skipped.
struct RowPrefetch {
  static constexpr int kMaxIn = 4, kMaxOut = 2;
  const float* in[kMaxIn] = {};  // this block's lanes in the first row of the next chunk
  float* out[kMaxOut] = {};      // this block's lanes in the first row of this chunk
  int64_t in_rows = 0;           // rows of the next chunk (0: none)
  int64_t stride = 0;            // row stride of the [T, N] arrays (N)
};
FSNN_INLINE void prefetch_row(const RowPrefetch& pf, int64_t i) {
  if (i < pf.in_rows)
    for (const float* p : pf.in)
      if (p) __builtin_prefetch(p + i * pf.stride, 0, 3);
  for (float* p : pf.out)
    if (p) __builtin_prefetch(p + i * pf.stride, 1, 3);
}

int64_t ring_len(const FastCtx& c) { return c.mask + 1; }
// Forward state per block: H [Q] (H[0]: the zero node's sum), ring [R], v [1], the zero node's compensation [1].
int64_t fwd_state(const FastCtx& c) { return c.Q + ring_len(c) + 2; }
// Backward state per block: P [Q], G [Q], gk [L0], qr [R], tacc [1], P[0]'s compensation [1].
int64_t bwd_state(const FastCtx& c) { return 2 * c.Q + c.L0 + ring_len(c) + 2; }

// Steps k0..k1-1 of one block; row k of the staged arrays at (k - k0) * ld. nf: lanes set where a membrane
// value was Inf or NaN (v - v is NaN exactly then).
template <bool LIF, bool kPin, class V>
FSNN_INLINE void forward_chunk(const FastCtx& c, const float* sI, float* sS, float* sV, int64_t ld, int64_t k0,
                               int64_t k1, V* st, LaneMask<V>& nf, const RowPrefetch& pf) {
  const int64_t L0 = c.L0, Q = c.Q, mask = c.mask;
  V* H = st;
  V* ring = H + Q;
  V& vstate = ring[mask + 1];
  V& H0c = ring[mask + 2];
  V v = vstate;
  const float c0 = c.cq[0];
  // The far sums of steps n and n + 1 need v up to n + 1 - L0 <= n - 1 only: with n >= L0 they are
  // computed together before step n runs (advance_soe_states2), and step n + 1 then uses the second.
  V pending_far{};
  bool have_pending = false;
  for (int64_t k = k0; k < k1; ++k) {
    const int64_t n = k + 1, o = (k - k0) * ld;
    prefetch_row(pf, k - k0);
    const V in = vload<V>(sI + o);
    const V s = step(x_of<LIF>(c, v, in));
    vstore(sS + o, s);
    // f = dv/tau - s thr/tau, with dv/tau rounded on its own. s thr/tau is exact (s is 0 or 1); written first,
    // it is the product GCC fuses into the subtraction, in the two-half and the 16-lane bodies alike (fusing
    // dv/tau instead would round differently).
    const V s_thr = s * bcast<V>(c.thr_tau);
    const V f = (LIF ? in - v : in) * bcast<V>(c.inv_tau) - s_thr;
    V far;
    if (have_pending) {
      far = pending_far;
      have_pending = false;
    } else if (n >= L0 && k + 1 < k1) {
      const V x1 = ring[(n - L0) & mask], x2 = ring[(n + 1 - L0) & mask];
      V d1, d2;
      kahan_add(H[0], H0c, x1);
      const V h01 = H[0];
      kahan_add(H[0], H0c, x2);
      advance_soe_states2<false, kPin>(c, H, x1, x2, nullptr, V{}, V{}, d1, d2);
      far = bcast<V>(c0) * h01 + d1;
      pending_far = bcast<V>(c0) * H[0] + d2;
      have_pending = true;
    } else {
      V decaying{};
      if (n >= L0) {
        const V xo = ring[(n - L0) & mask];
        kahan_add(H[0], H0c, xo);
        decaying = advance_soe_states<false, kPin>(c, H, xo, nullptr, V{});
      }
      far = bcast<V>(c0) * H[0] + decaying;
    }
    V near{};
    for (int64_t L = 1; L < L0; ++L) near += bcast<V>(c.K[L]) * ring[(n - L) & mask];  // slots before v_0 are 0
    v = (f - near - far) * bcast<V>(c.inv_K0);
    mark_non_finite(nf, v);
    ring[n & mask] = v;
    vstore(sV + o, v);
  }
  vstate = v;
}

// Iterations j = j1..j0 (descending) of one block's adjoint. Staged rows: sI, sgS, sgI hold row j and
// sV, sgV row j - 1 of iteration j, at (j - j0) * ld. out[0..L0-1] += gK_L, out[L0..L0+Q-1] += dL/dc_q,
// out[L0+Q] += dL/dtau (this block's share).
template <bool LIF, bool kPin, class V>
FSNN_INLINE void backward_chunk(const FastCtx& c, const float* sI, const float* sV, const float* sgS,
                                const float* sgV, float* sgI, int64_t ld, int64_t j0, int64_t j1, V* st, double* out,
                                const RowPrefetch& pf) {
  const int64_t T = c.T, L0 = c.L0, Q = c.Q, mask = c.mask;
  V* P = st;
  V* G = P + Q;
  V* gk = G + Q;
  V* qr = gk + L0;
  V& tacc = qr[mask + 1];
  V& P0c = qr[mask + 2];
  const float c0 = c.cq[0];
  const V inv_tau2 = bcast<V>(c.inv_tau2), thr_tau2 = bcast<V>(c.thr_tau2);
  V pending_far{};  // far sum of the next iteration, when computed together with this one
  bool have_pending = false;
  for (int64_t j = j1; j >= j0; --j) {
    const int64_t o = (j - j0) * ld;
    const V vj = j == 0 ? V{} : vload<V>(sV + o);
    V local{};
    if (j < T) {  // the local terms of step j: spike surrogate, gI_j, dL/dtau
      prefetch_row(pf, j - j0);
      const V in = vload<V>(sI + o);
      const V x = x_of<LIF>(c, vj, in);
      V sg;
      if (c.surrogate == Surrogate::Arctan) {  // surrogate.h's arctan on all lanes at once
        sg = surrogate_arctan_of(x, bcast<V>(c.arctan_k), bcast<V>(c.arctan_h), bcast<V>(1.0f), FmaLanes{});
      } else {
        sg = surrogate_lanes(c.surrogate, x, c.scale);
      }
      const V a = vload<V>(sgS + o) * sg;
      const V dv_tau = (LIF ? in - vj : in) * inv_tau2;
      const V qj = qr[j & mask];
      vstore(sgI + o, (a + qj) * bcast<V>(c.inv_tau));
      // The spike s_j = step(x_j), recomputed from the same v_j and I_j by the same x_of as the forward's
      // (the same bits), instead of reading the [T, N] spike tensor back: one stream of memory less.
      tacc = qj * (step(x) * thr_tau2 - dv_tau) + (tacc - a * dv_tau);
      const V c_qj = bcast<V>(c.c) * qj;  // written first: the product fused into the sum in both bodies
      local = a * bcast<V>(c.opc) + c_qj;
    }
    if (j >= 1) {  // u_j and q_{j-1}
      const V qin = qr[(j - 1 + L0) & mask];
      V far;
      if (have_pending) {  // computed with iteration j + 1
        far = pending_far;
        have_pending = false;
      } else if (j - 1 >= std::max<int64_t>(j0, 1) && j % kFracSumChunk != 0) {
        // Iterations j and j - 1 together: q_{j-2+L0} is already known (L0 >= 2), and no float64 flush of
        // G falls between them, so G sees the same additions in the same order. (The zero node's G[0] can
        // still differ in its last bit from one iteration at a time: the compiler may fuse its
        // multiply-add in one place and not the other.)
        const V qin2 = qr[(j - 2 + L0) & mask];
        const V vj2 = vload<V>(sV + o - ld);
        kahan_add(P[0], P0c, qin);
        G[0] += vj * P[0];
        const V p01 = P[0];
        kahan_add(P[0], P0c, qin2);
        G[0] += vj2 * P[0];
        V d1, d2;
        advance_soe_states2<true, kPin>(c, P, qin, qin2, G, vj, vj2, d1, d2);
        far = bcast<V>(c0) * p01 + d1;
        pending_far = bcast<V>(c0) * P[0] + d2;
        have_pending = true;
      } else {
        kahan_add(P[0], P0c, qin);
        G[0] += vj * P[0];
        far = bcast<V>(c0) * P[0] + advance_soe_states<true, kPin>(c, P, qin, G, vj);
      }
      V near{};
      for (int64_t L = 1; L < L0; ++L) near += bcast<V>(c.K[L]) * qr[(j - 1 + L) & mask];  // slots past q_{T-1} are 0
      const V u = (sgV ? vload<V>(sgV + o) : V{}) + local - near - far;
      qr[(j - 1) & mask] = u * bcast<V>(c.inv_K0);
      for (int64_t L = 0; L < L0; ++L) gk[L] += vj * qr[(j - 1 + L) & mask];
    }
    if (j % kFracSumChunk == 0) {  // float32 chunk sums into float64
      for (int64_t L = 0; L < L0; ++L) out[L] -= hsum(gk[L]), gk[L] = V{};
      for (int64_t q = 0; q < Q; ++q) out[L0 + q] -= hsum(G[q]), G[q] = V{};
      out[L0 + Q] += hsum(tacc);
      tacc = V{};
    }
  }
}

struct FastJob {
  FastCtx c;
  const float *I, *V, *gS, *gV;
  float *spikes, *vout, *gI;
  std::atomic<bool>* non_finite;  // forward: set when a membrane value was Inf or NaN
  uint16_t* spike_bits;           // forward (AVX-512 body): the spikes as bits, 16 per block and step, or null
  int64_t W;      // slab width (a multiple of kNB)
  double* parts;  // backward: [blocks][L0 + Q + 1]
  const LinearFoldSums* fold;  // backward: fold the linear layer before the neuron instead of writing gI
  double* fold_acc;            // with fold: [K + 1][N] per-neuron float64 sums (row 0: of dL/dI; 1 + k: of dL/dI x_k)
};

// Rows r0..r1-1 of X [T, N] at neurons n0..n0+nv-1 into dst [r1 - r0][ld] (the padding lanes stay as they are).
void stage_in(const float* X, int64_t N, int64_t n0, int64_t nv, int64_t r0, int64_t r1, float* dst, int64_t ld) {
  for (int64_t r = r0; r < r1; ++r) std::memcpy(dst + (r - r0) * ld, X + r * N + n0, size_t(nv) * sizeof(float));
}
void stage_out(const float* src, int64_t ld, int64_t r0, int64_t r1, float* X, int64_t N, int64_t n0, int64_t nv) {
  for (int64_t r = r0; r < r1; ++r) std::memcpy(X + r * N + n0, src + (r - r0) * ld, size_t(nv) * sizeof(float));
}
// The fold (fractional_fast_cpu.h): staged rows r0..r1-1 of dL/dI at neurons n0..n0+nv-1 into the per-neuron
// sums, acc[0][n] += g and acc[1 + k][n] += g x[r N / F + n / F][k] (a product of two floats is exact in
// float64, so the sums are the same with or without a fused multiply-add).
FSNN_INLINE void fold_rows(const FastJob& j, const float* src, int64_t ld, int64_t r0, int64_t r1, int64_t n0,
                           int64_t nv) {
  const LinearFoldSums& f = *j.fold;
  const int64_t N = j.c.N, K = f.K, F = f.F, per_row = N / F;
  for (int64_t r = r0; r < r1; ++r) {
    const float* g = src + (r - r0) * ld;
    for (int64_t n = n0; n < n0 + nv;) {  // runs of neurons that read the same row of x
      const int64_t b = n / F, end = std::min(n0 + nv, (b + 1) * F), m = end - n;
      const float* xr = f.x + (r * per_row + b) * K;
      const float* gn = g + (n - n0);
      double* acc = j.fold_acc + n;
      for (int64_t i = 0; i < m; ++i) acc[i] += double(gn[i]);
      for (int64_t k = 0; k < K; ++k) {
        const double xk = xr[k];
        double* a = acc + (1 + k) * N;
        for (int64_t i = 0; i < m; ++i) a[i] += double(gn[i]) * xk;
      }
      n = end;
    }
  }
}

// Row stride of the staging: the slab plus one cache line, so that consecutive rows fall into different sets.
int64_t staging_ld(int64_t W) { return W + kNB; }

#ifdef FSNN_FAST_X86
// The staged spikes of rows k0..k1-1 (neurons n0..n0+nv-1, nv a multiple of 16) as bits: halfword
// (k N + n) / 16 holds neurons n..n+15 of step k, bit i set where spike n + i is 1 (Storage::spike_bits).
FSNN_AVX512 void pack_spike_bits(const float* sS, int64_t ld, int64_t k0, int64_t k1, int64_t n0, int64_t nv, int64_t N,
                                 uint16_t* bits) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t k = k0; k < k1; ++k) {
    const float* row = sS + (k - k0) * ld;
    uint16_t* out = bits + (k * N + n0) / kNB;
    for (int64_t i = 0; i < nv; i += kNB)
      out[i / kNB] = static_cast<uint16_t>(_mm512_cmp_ps_mask(_mm512_loadu_ps(row + i), zero, _CMP_NEQ_OQ));
  }
}
#endif

template <bool LIF, bool kPin, class V>
FSNN_INLINE void forward_slabs(const FastJob& j, int64_t s0, int64_t s1) {
  const FastCtx& c = j.c;
  const int64_t W = j.W, ld = staging_ld(W), SB = fwd_state(c), nbw = W / kNB;
  // The worker's buffer (64-byte aligned, from the allocator's cache), zeroed per slab below.
  HostScratch<float> scratch(size_t(3 * kChunk * ld / kNB + nbw * SB) * kNB);
  V* buf = reinterpret_cast<V*>(scratch.data());
  float* sI = reinterpret_cast<float*>(buf);
  float* sS = sI + kChunk * ld;
  float* sV = sS + kChunk * ld;
  V* states = buf + 3 * kChunk * ld / kNB;
  LaneMask<V> nf{};
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t n0 = s * W, nv = std::min(W, c.N - n0), nb = (nv + kNB - 1) / kNB;
    std::fill(reinterpret_cast<float*>(buf), reinterpret_cast<float*>(buf + 3 * kChunk * ld / kNB + nbw * SB), 0.0f);
    for (int64_t k0 = 0; k0 < c.T; k0 += kChunk) {
      const int64_t k1 = std::min(c.T, k0 + kChunk);
      stage_in(j.I, c.N, n0, nv, k0, k1, sI, ld);
      for (int64_t b = 0; b < nb; ++b) {
        RowPrefetch pf;
        const int64_t at = n0 + b * kNB;
        pf.stride = c.N;
        pf.in_rows = std::min(c.T, k1 + kChunk) - k1;
        if (pf.in_rows > 0) pf.in[0] = j.I + k1 * c.N + at;
        pf.out[0] = j.spikes + k0 * c.N + at;
        if (j.vout) pf.out[1] = j.vout + k0 * c.N + at;
        forward_chunk<LIF, kPin, V>(c, sI + b * kNB, sS + b * kNB, sV + b * kNB, ld, k0, k1, states + b * SB, nf, pf);
      }
#ifdef FSNN_FAST_X86
      if constexpr (std::is_same<V, v16>::value)
        if (j.spike_bits) pack_spike_bits(sS, ld, k0, k1, n0, nv, c.N, j.spike_bits);
#endif
      stage_out(sS, ld, k0, k1, j.spikes, c.N, n0, nv);
      if (j.vout) stage_out(sV, ld, k0, k1, j.vout, c.N, n0, nv);
    }
  }
  if (any_lane(nf)) j.non_finite->store(true, std::memory_order_relaxed);
}

template <bool LIF, bool kPin, class V>
FSNN_INLINE void backward_slabs(const FastJob& j, int64_t s0, int64_t s1) {
  const FastCtx& c = j.c;
  const int64_t T = c.T, W = j.W, ld = staging_ld(W), SB = bwd_state(c), nbw = W / kNB, PW = c.L0 + c.Q + 1;
  const int64_t CL = kChunk * ld / kNB;  // vectors per staged array
  HostScratch<float> scratch(size_t(5 * CL + nbw * SB) * kNB);  // as forward_slabs': zeroed per slab below
  V* buf = reinterpret_cast<V*>(scratch.data());
  float* sI = reinterpret_cast<float*>(buf);
  float* sV = sI + kChunk * ld;
  float* sgS = sV + kChunk * ld;
  float* sgV = sgS + kChunk * ld;
  float* sgI = sgV + kChunk * ld;
  V* states = buf + 5 * CL;
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t n0 = s * W, nv = std::min(W, c.N - n0), nb = (nv + kNB - 1) / kNB;
    std::fill(reinterpret_cast<float*>(buf), reinterpret_cast<float*>(buf + 5 * CL + nbw * SB), 0.0f);
    // Iterations j = T..0 in chunks [j0, j1]; row j of I, gS, gI (j < T) and row j - 1 of V, gV (j >= 1).
    for (int64_t j1 = T; j1 >= 0; j1 -= kChunk) {
      const int64_t j0 = std::max<int64_t>(0, j1 - kChunk + 1);
      const int64_t a0 = j0, a1 = std::min(j1 + 1, T);                           // rows of I, gS, gI
      const int64_t b0 = std::max<int64_t>(j0, 1), b1 = j1 + 1;                  // iterations with a V row
      if (a1 > a0) {
        stage_in(j.I, c.N, n0, nv, a0, a1, sI, ld);
        stage_in(j.gS, c.N, n0, nv, a0, a1, sgS, ld);
      }
      stage_in(j.V, c.N, n0, nv, b0 - 1, b1 - 1, sV + (b0 - j0) * ld, ld);
      if (j.gV) stage_in(j.gV, c.N, n0, nv, b0 - 1, b1 - 1, sgV + (b0 - j0) * ld, ld);
      // The next chunk, iterations [nj0, j0 - 1]: rows nj0.. of I and gS, and from max(nj0 - 1, 0) of V and gV.
      const int64_t nj0 = std::max<int64_t>(0, j0 - kChunk), vrow = std::max<int64_t>(nj0 - 1, 0);
      for (int64_t b = 0; b < nb; ++b) {
        RowPrefetch pf;
        const int64_t at = n0 + b * kNB;
        pf.stride = c.N;
        pf.in_rows = j0 - nj0;
        if (pf.in_rows > 0) {
          pf.in[0] = j.I + nj0 * c.N + at;
          pf.in[1] = j.gS + nj0 * c.N + at;
          pf.in[2] = j.V + vrow * c.N + at;
          if (j.gV) pf.in[3] = j.gV + vrow * c.N + at;
        }
        if (j.gI) pf.out[0] = j.gI + j0 * c.N + at;
        backward_chunk<LIF, kPin, V>(c, sI + b * kNB, sV + b * kNB, sgS + b * kNB, j.gV ? sgV + b * kNB : nullptr,
                               sgI + b * kNB, ld, j0, j1, states + b * SB, j.parts + (n0 / kNB + b) * PW, pf);
      }
      if (a1 > a0) {
        if (j.fold) fold_rows(j, sgI, ld, a0, a1, n0, nv);
        else stage_out(sgI, ld, a0, a1, j.gI, c.N, n0, nv);
      }
    }
  }
}

void forward_generic(const FastJob& j, int64_t s0, int64_t s1) {
  if (j.c.lif) forward_slabs<true, false, vf>(j, s0, s1);
  else forward_slabs<false, false, vf>(j, s0, s1);
}
void backward_generic(const FastJob& j, int64_t s0, int64_t s1) {
  if (j.c.lif) backward_slabs<true, false, vf>(j, s0, s1);
  else backward_slabs<false, false, vf>(j, s0, s1);
}
#ifdef FSNN_FAST_X86
FSNN_AVX2 void forward_avx2(const FastJob& j, int64_t s0, int64_t s1) {
  if (j.c.lif) forward_slabs<true, true, vf>(j, s0, s1);
  else forward_slabs<false, true, vf>(j, s0, s1);
}
FSNN_AVX2 void backward_avx2(const FastJob& j, int64_t s0, int64_t s1) {
  if (j.c.lif) backward_slabs<true, true, vf>(j, s0, s1);
  else backward_slabs<false, true, vf>(j, s0, s1);
}
// The same bodies on one 16-lane register per block (v16): the same operations per lane in the same order,
// so the same bits as the AVX2 body; twice the registers and half the instructions.
FSNN_AVX512 void forward_avx512(const FastJob& j, int64_t s0, int64_t s1) {
  if (j.c.lif) forward_slabs<true, true, v16>(j, s0, s1);
  else forward_slabs<false, true, v16>(j, s0, s1);
}
FSNN_AVX512 void backward_avx512(const FastJob& j, int64_t s0, int64_t s1) {
  if (j.c.lif) backward_slabs<true, true, v16>(j, s0, s1);
  else backward_slabs<false, true, v16>(j, s0, s1);
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
  c.inv_tau2 = c.inv_tau * c.inv_tau;
  c.thr_tau2 = c.thr_tau * c.inv_tau;
  c.arctan_k = surrogate_arctan_k(c.scale);
  c.arctan_h = surrogate_arctan_h(c.scale);
  c.inv_K0 = p.T > 0 ? float(1.0 / double(float(p.K[0]))) : 1.0f;
  store.assign(size_t(f.L0) + 32 * size_t(f.Q) + 16, 0.0f);
  for (int64_t L = 1; L < f.L0 && L <= p.T; ++L) store[size_t(L)] = float(p.K[L]);
  // [Q][16] c, then [Q][16] mu (64-byte aligned)
  float* tables = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(store.data() + f.L0) + 63) & ~uintptr_t(63));
  for (int64_t q = 0; q < f.Q; ++q)
    for (int i = 0; i < 16; ++i) tables[16 * q + i] = f.c[size_t(q)], tables[16 * (f.Q + q) + i] = f.mu[size_t(q)];
  c.K = store.data();
  c.cq = f.c.data();
  c.mu = f.mu.data();
  c.cq16 = reinterpret_cast<const v16*>(tables);
  c.mu16 = reinterpret_cast<const v16*>(tables + 16 * f.Q);
  return c;
}

// Slab width: the neurons spread over the threads, whole blocks, at most kMaxSlab. (The sums are kept per
// block of kNB neurons, so the width does not change the results.)
int64_t slab_width(int64_t N) {
  const int64_t per = (N + num_threads() - 1) / std::max(1, num_threads());
  return std::min<int64_t>(kMaxSlab, std::max<int64_t>(kNB, (per + kNB - 1) / kNB * kNB));
}

template <class Fn>
void run_slabs(const FastJob& j, const Fn& fn) {
  const int64_t nslabs = (j.c.N + j.W - 1) / j.W;
  parallel_for(nslabs, 1, [&](int64_t s0, int64_t s1) { fn(j, s0, s1); });
}

}  // namespace

bool fractional_fast_records_spike_bits(const FractionalParams& p) {
#ifdef FSNN_FAST_X86
  return cpu_has_avx512() && p.N % kNB == 0;
#else
  (void)p;
  return false;
#endif
}

bool fractional_fast_forward(const FractionalParams& p, const float* I, float* spikes, float* v, uint16_t* spike_bits) {
  if (spike_bits && !fractional_fast_records_spike_bits(p))
    fail("fractional_fast_forward: spike bits asked of a body that does not record them (fractional_fast_records_spike_bits)");
  std::vector<float> store;
  FastJob j{};
  j.c = make_ctx("fractional_fast_forward", p, store);
  if (p.T == 0 || p.N == 0) return true;
  if (!I || !spikes) fail("fractional_fast_forward: I and spikes must not be null");
  std::atomic<bool> non_finite{false};
  j.I = I;
  j.spikes = spikes;
  j.vout = v;
  j.non_finite = &non_finite;
  j.W = slab_width(p.N);
#ifdef FSNN_FAST_X86
  if (cpu_has_avx512()) {
    j.spike_bits = spike_bits;
    run_slabs(j, forward_avx512);
  } else if (cpu_has_avx2_fma())
    run_slabs(j, forward_avx2);
  else
#endif
    run_slabs(j, forward_generic);
  return !non_finite.load();
}

void fractional_fast_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes,
                              const float* gS, const float* gV, float* gI, double* gK, double* gTau,
                              const LinearFoldSums* fold) {
  std::vector<float> store;
  FastJob j{};
  j.c = make_ctx("fractional_fast_backward", p, store);
  if (gK == nullptr) fail("fractional_fast_backward: gK (length L0 + Q) is required");
  const int64_t W = j.c.L0 + j.c.Q;
  std::fill(gK, gK + W, 0.0);
  if (gTau) *gTau = 0.0;
  if (fold && fold->gW && fold->gB) {
    std::fill(fold->gW, fold->gW + fold->F * fold->K, 0.0);
    std::fill(fold->gB, fold->gB + fold->F, 0.0);
  }
  if (p.T == 0 || p.N == 0) return;
  if (!I || !v || !spikes || !gS || (!gI && !fold))
    fail("fractional_fast_backward: I, v, spikes, gS and gI must not be null (v is the trace saved by the forward)");
  std::vector<double> fold_acc;
  if (fold) {
    if (!fold->x || !fold->gW || !fold->gB || fold->K < 1 || fold->F < 1 || p.N % fold->F != 0)
      fail("fractional_fast_backward: the linear fold needs x, gW, gB, K >= 1 and F dividing N (got K ", fold->K,
           ", F ", fold->F, ", N ", p.N, ")");
    fold_acc.assign(size_t((fold->K + 1) * p.N), 0.0);
  }
  const int64_t nblocks = (p.N + kNB - 1) / kNB;
  std::vector<double> parts(size_t(nblocks * (W + 1)), 0.0);
  j.I = I;
  j.V = v;
  (void)spikes;  // not read: the backward recomputes each spike from v and I (backward_chunk)
  j.gS = gS;
  j.gV = gV;
  j.gI = gI;
  j.W = slab_width(p.N);
  j.parts = parts.data();
  j.fold = fold;
  j.fold_acc = fold ? fold_acc.data() : nullptr;
#ifdef FSNN_FAST_X86
  if (cpu_has_avx512())
    run_slabs(j, backward_avx512);
  else if (cpu_has_avx2_fma())
    run_slabs(j, backward_avx2);
  else
#endif
    run_slabs(j, backward_generic);
  double tau = 0.0;
  for (int64_t b = 0; b < nblocks; ++b) {  // block order: independent of the threads
    const double* src = parts.data() + b * (W + 1);
    for (int64_t i = 0; i < W; ++i) gK[i] += src[i];
    tau += src[W];
  }
  if (gTau) *gTau = tau;
  if (fold) {  // the per-neuron sums over n / F ascending: neurons f, f + F, ... in order (column_sum.h)
    const int64_t N = p.N, K = fold->K, F = fold->F;
    for (int64_t f = 0; f < F; ++f) {
      fold->gB[f] = add_block_sums(fold_acc.data() + f, N / F, F);
      for (int64_t k = 0; k < K; ++k) fold->gW[f * K + k] = add_block_sums(fold_acc.data() + (1 + k) * N + f, N / F, F);
    }
  }
}

}  // namespace cpu
}  // namespace fsnn
