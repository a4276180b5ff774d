// The per-thread bodies of the CUDA fractional-neuron kernels (equations: ../native/fractional_op.h).
// Everything here is __host__ __device__: cuda_fractional.cu launches it on the GPU and
// cuda/tools/frac_emulate.cc runs the very same code on the CPU, thread by thread, to check it bit for
// bit against the CPU backend (native/cpu/fractional_cpu.cc) on a machine without a GPU.
//
// Design (see cuda_fractional.cu for the launch side):
//  * Forward: ONE kernel per layer, one thread per neuron n (all [T, N] arrays time-major, element (k, n)
//    at k*N + n, so a warp's accesses to a time row are coalesced). The thread runs the whole T-step
//    recurrence. The history v_1..v_T lives in the [T, N] trace buffer in global memory (the saved v, or
//    a scratch buffer) and is read back through L1/L2. Steps are processed in tiles of S: at the start of
//    a tile, the part of the S history sums that uses v_j, j <= k0 (the "far" history) is computed in one
//    sweep, G history values at a time, each loaded value feeding S accumulators (register tiling, as in
//    the CPU kernel): the O(T^2) history sum costs T^2 / (2 S) loads instead of T^2 / 2. Inside the tile,
//    the "near" history (the tile's own new values) stays in registers. The K coefficients used by a
//    group form a sliding window of S + G - 1 values loaded from shared memory (a uniform address per
//    warp: a broadcast, no bank conflicts).
//  * The sum for every v_{k+1} is ONE fma chain from the oldest history value to the newest, exactly as
//    the CPU kernel forms it (its tiles only regroup that same chain), and the step formulas use the same
//    roundings (explicit fma / mul / add, no contraction), so forward values agree bit for bit with the
//    CPU backend's AVX2-FMA kernel.
//  * Backward: one reverse-time kernel of the same structure for q_k = dL/df_k (stored in a [T, N]
//    scratch), writing dI and the per-block dL/dtau. Then a correlation kernel for
//    dK_L = -sum_n sum_j q_j v_{j+1-L}: each CTA owns 32 neurons (one per lane) x 64 lags (8 per
//    thread) and stages chunks of q and v in shared memory; each thread keeps one fma chain per
//    (neuron, lag) over ascending j, then the 32 neurons are added in double across the warp and the
//    neuron blocks in double in a fixed order: deterministic.
//  * dK and dtau are summed in the order that native/fractional_op.h defines for both backends (float32
//    chains over chunks of kFracSumChunk steps, with the CPU kernel's chunk boundaries, then float64):
//    every float32 partial equals the CPU's bit for bit, so the results agree to float64 rounding.
#pragma once
#include <math.h>
#include <stdint.h>

#include "../native/fractional_op.h"
#include "../native/surrogate.h"

#ifdef __CUDACC__
#define FC_HD __host__ __device__ __forceinline__
#else
#define FC_HD inline
#endif
// Full unrolling: register arrays indexed by compile-time constants stay in registers.
#if defined(__CUDACC__)
#define FC_UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && !defined(__clang__)
#define FC_UNROLL _Pragma("GCC unroll 32")
#else
#define FC_UNROLL
#endif

namespace fsnn {
namespace cuda {

// Rounded arithmetic that the compiler may not contract or reassociate (device: the _rn intrinsics;
// host: fmaf forms, exact and never contracted, so that the emulator can be compiled with FMA
// contraction on, as the CPU backend's AVX2-FMA kernels and nvcc (-fmad=true) compile surrogate.h).
FC_HD float f_fma(float a, float b, float c) {
#ifdef __CUDA_ARCH__
  return __fmaf_rn(a, b, c);
#else
  return fmaf(a, b, c);
#endif
}
FC_HD float f_mul(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return fmaf(a, b, -0.0f);  // exactly a*b, and immune to contraction
#endif
}
FC_HD float f_add(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return fmaf(a, 1.0f, b);
#endif
}
FC_HD float f_sub(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fsub_rn(a, b);
#else
  return fmaf(-b, 1.0f, a);
#endif
}
FC_HD float f_div(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

// Scalars of one layer, computed on the host exactly as the CPU backend's make_ctx does.
struct FracConsts {
  int64_t T, N, M;  // M clamped to [1, T + 1]
  int lif;
  int surrogate;
  float scale;
  float tau, inv_tau, thr, thr_tau;
  float opc;         // 1 + c, c = -1/tau (LIF) or 0 (IF)
  float K0, inv_K0;
  float a1;          // (c - K_1) / K_0
  float thr_tau_K0;  // threshold / (tau K_0)
  float inv_tau2;    // inv_tau^2
  float thr_tau2;    // thr_tau * inv_tau
};

// Steps per tile (S) and history values per group of the far sweep (G = S): 8, or 16 for long T (half
// the far-history loads, twice the registers: 157 / 194 for forward / reverse on sm_90, no spills).
constexpr int kFracS = 8;
constexpr int kFracSLong = 16;
constexpr int64_t kFracLongT = 512;  // T >= this uses kFracSLong
// Length of the zero-padded coefficient table Kz: indices up to T + 2S - 3 are read (any S <= 16).
inline int64_t frac_kz_len(int64_t T) { return T + 2 * kFracSLong + 2; }

// Host: the constants of fractional_cpu.cc's make_ctx, and the coefficient table
//   Kz[0] = Kz[1] = 0 (K_1 is folded into a1), Kz[L] = float(K_L) for 2 <= L <= T and L < M, else 0.
inline FracConsts make_frac_consts(const FractionalParams& p) {
  FracConsts c{};
  c.T = p.T;
  c.N = p.N;
  c.M = p.memory < p.T + 1 ? p.memory : p.T + 1;
  c.lif = p.kind == NeuronKind::LIF ? 1 : 0;
  c.surrogate = static_cast<int>(p.surrogate);
  c.scale = p.scale;
  c.tau = p.tau;
  c.inv_tau = float(1.0 / double(p.tau));
  c.thr = p.threshold;
  c.thr_tau = p.threshold / p.tau;
  const double cd = c.lif ? -1.0 / double(p.tau) : 0.0;
  c.opc = float(1.0 + cd);
  const double K0 = float(p.K[0]);
  const double K1 = (c.M >= 2 && p.T >= 1) ? double(float(p.K[1])) : 0.0;
  c.K0 = float(K0);
  c.inv_K0 = float(1.0 / K0);
  c.a1 = float((cd - K1) / K0);
  c.thr_tau_K0 = float(double(p.threshold) / (double(p.tau) * K0));
  c.inv_tau2 = c.inv_tau * c.inv_tau;
  c.thr_tau2 = c.thr_tau * c.inv_tau;
  return c;
}

inline void make_frac_kz(const FractionalParams& p, int64_t M, float* Kz) {
  const int64_t n = frac_kz_len(p.T);
  for (int64_t L = 0; L < n; ++L) Kz[L] = (L >= 2 && L <= p.T && L < M) ? float(p.K[L]) : 0.0f;
}

// x_k from v_k = h and I_k, as the CPU kernel evaluates it.
FC_HD float frac_x(const FracConsts& c, float h, float in) {
  const float xb = f_sub(f_div(in, c.tau), c.thr);
  return c.lif ? f_fma(h, c.opc, xb) : f_add(h, xb);
}

// ------------------------------------------------------------------------------------------------
// Forward, one neuron. I, spikes, V: [T, N]; V receives v_1..v_T (row k = v_{k+1}) and is read back as
// the history. Kz: the coefficient table (shared memory on the device).
// ------------------------------------------------------------------------------------------------
template <int S>
FC_HD void frac_forward_thread(const FracConsts& c, int64_t n, const float* __restrict__ I, float* __restrict__ spikes,
                               float* V, const float* Kz) {
  constexpr int G = S;
  const int64_t T = c.T, N = c.N, M = c.M;
  float kn[S];  // near coefficients K_2..K_{S-1} (index = lag)
FC_UNROLL
  for (int L = 0; L < S; ++L) kn[L] = Kz[L];
  float h = 0.0f;  // v_k
  for (int64_t k0 = 0; k0 < T; k0 += S) {
    // Prefetch the tile's inputs: their latency hides behind the far sweep.
    float in[S];
FC_UNROLL
    for (int r = 0; r < S; ++r) in[r] = (k0 + r < T) ? I[(k0 + r) * N + n] : 0.0f;
    float acc[S];
FC_UNROLL
    for (int r = 0; r < S; ++r) acc[r] = 0.0f;
    // Far history v_j, jlo <= j <= k0, for the outputs k = k0 + r (lag L = k0 + r + 1 - j; L = 1, i.e.
    // r = 0 and j = k0, has coefficient 0 in Kz: K_1 v_k is folded into a1). Groups of G end at k0;
    // the first may reach below jlo, where v reads as 0.
    const int64_t jlo = (k0 + 2 - M) > 1 ? (k0 + 2 - M) : 1;
    if (k0 >= jlo) {
      const int64_t ngroups = (k0 - jlo + G) / G;
      int64_t jg = k0 - ngroups * G + 1;
      float vc[G];
FC_UNROLL
      for (int t = 0; t < G; ++t) vc[t] = (jg + t >= jlo) ? V[(jg + t - 1) * N + n] : 0.0f;
      for (; jg <= k0; jg += G) {
        float vn[G];  // the next group, loaded while this one is summed
        const bool more = jg + G <= k0;
FC_UNROLL
        for (int t = 0; t < G; ++t) vn[t] = more ? V[(jg + G + t - 1) * N + n] : 0.0f;
        const int64_t d = k0 + 1 - jg;  // lag of (r = 0, t = 0)
        float kw[S + G - 1];            // kw[r - t + G - 1] = K_{d + r - t}
FC_UNROLL
        for (int i = 0; i < S + G - 1; ++i) kw[i] = Kz[d - G + 1 + i];
FC_UNROLL
        for (int t = 0; t < G; ++t)
FC_UNROLL
          for (int r = 0; r < S; ++r) acc[r] = f_fma(kw[r - t + G - 1], vc[t], acc[r]);
FC_UNROLL
        for (int t = 0; t < G; ++t) vc[t] = vn[t];
      }
    }
    // The tile's steps; vt[i] = v_{k0 + i} (near history, registers).
    float vt[S];
    vt[0] = h;
FC_UNROLL
    for (int r = 0; r < S; ++r) {
      const int64_t k = k0 + r;
      if (k < T) {
        float a = acc[r];
FC_UNROLL
        for (int i = 1; i < r; ++i) a = f_fma(kn[r + 1 - i], vt[i], a);  // j = k0 + i ascending, lag r + 1 - i
        const float pI = f_div(in[r], c.tau);
        const float x = c.lif ? f_fma(h, c.opc, f_sub(pI, c.thr)) : f_add(h, f_sub(pI, c.thr));
        // v_{k+1} = v_k a1 + (pI - rest) / K0 - s_k thr/(tau K0), rounded as the CPU kernel's AVX2-FMA
        // build forms it: t = round(v_k a1); no spike: fma(pI - rest, 1/K0, t); spike:
        // t + fma(pI - rest, 1/K0, -thr/(tau K0)).
        const float t = f_mul(h, c.a1), u = f_sub(pI, a);
        const float vnew = x >= 0.0f ? f_add(t, f_fma(u, c.inv_K0, -c.thr_tau_K0)) : f_fma(u, c.inv_K0, t);
        spikes[k * N + n] = x >= 0.0f ? 1.0f : 0.0f;
        V[k * N + n] = vnew;
        h = vnew;
        if (r + 1 < S) vt[r + 1] = vnew;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Reverse-time adjoint, one neuron. Inputs I, V (v_1..v_T), Sp (spikes), gS, gV (dL/dv_1..v_T, may be
// null). Writes gI and Q (q_k = dL/df_k, the history of this recurrence and the input of the dK
// correlation). Returns this neuron's dL/dtau, summed as fractional_op.h orders it.
//   q_{T-1} = gV_T / K_0;  q_{k-1} = q_k a1 + (P_k - rest_k) / K_0,  rest_k = sum_{L=2}^{min(M-1, T-k)} K_L q_{k-1+L}
//   P_k = gV_k + a_k (1 + c),  a_k = gS_k sg(x_k),  gI_k = (a_k + q_k) / tau
//   dL/dtau = sum_k [ q_k (s_k thr/tau^2 - dv_k/tau) - a_k dv_k/tau ]
// ------------------------------------------------------------------------------------------------
template <int S>
FC_HD double frac_reverse_thread(const FracConsts& c, int64_t n, const float* __restrict__ I, const float* __restrict__ V,
                                const float* __restrict__ Sp, const float* __restrict__ gS, const float* __restrict__ gV,
                                float* __restrict__ gI, float* Q, const float* Kz) {
  constexpr int G = S;
  const int64_t T = c.T, N = c.N, M = c.M;
  const Surrogate sk = static_cast<Surrogate>(c.surrogate);
  float kn[S];
FC_UNROLL
  for (int L = 0; L < S; ++L) kn[L] = Kz[L];
  float q = gV ? f_div(gV[(T - 1) * N + n], c.K0) : 0.0f;  // q_{T-1}
  Q[(T - 1) * N + n] = q;
  float tau_f = 0.0f;   // the float32 chain of the current chunk (descending k)
  double tau_d = 0.0;   // the chunks so far
  for (int64_t k0 = T - 1; k0 >= 0; k0 -= S) {
    // Prefetch the tile's inputs (steps k = k0 - r).
    float in[S], hv[S], sp[S], gs[S], gv[S];
FC_UNROLL
    for (int r = 0; r < S; ++r) {
      const int64_t k = k0 - r;
      const bool ok = k >= 0;
      in[r] = ok ? I[k * N + n] : 0.0f;
      hv[r] = (k >= 1) ? V[(k - 1) * N + n] : 0.0f;
      sp[r] = ok ? Sp[k * N + n] : 0.0f;
      gs[r] = ok ? gS[k * N + n] : 0.0f;
      gv[r] = (gV && k >= 1) ? gV[(k - 1) * N + n] : 0.0f;
    }
    float acc[S];
FC_UNROLL
    for (int r = 0; r < S; ++r) acc[r] = 0.0f;
    // Far part: known q_j, k0 <= j <= jhi, for the outputs of steps k = k0 - r (lag L = j + 1 - k0 + r),
    // summed from the largest j down (the CPU's order). Groups of G end at k0; the first may reach
    // above jhi, where q reads as 0.
    const int64_t jhi = (k0 + M - 2) < (T - 1) ? (k0 + M - 2) : (T - 1);
    if (jhi >= k0) {
      const int64_t ngroups = (jhi - k0 + G) / G;
      int64_t jg = k0 + ngroups * G - 1;  // group: j = jg - t, t = 0..G-1
      float qc[G];
FC_UNROLL
      for (int t = 0; t < G; ++t) qc[t] = (jg - t <= jhi) ? Q[(jg - t) * N + n] : 0.0f;
      for (; jg >= k0; jg -= G) {
        float qn[G];
        const bool more = jg - G >= k0;
FC_UNROLL
        for (int t = 0; t < G; ++t) qn[t] = more ? Q[(jg - G - t) * N + n] : 0.0f;
        const int64_t d = jg + 1 - k0;  // lag of (r = 0, t = 0)
        float kw[S + G - 1];            // kw[r - t + G - 1] = K_{d + r - t}
FC_UNROLL
        for (int i = 0; i < S + G - 1; ++i) kw[i] = Kz[d - G + 1 + i];
FC_UNROLL
        for (int t = 0; t < G; ++t)
FC_UNROLL
          for (int r = 0; r < S; ++r) acc[r] = f_fma(kw[r - t + G - 1], qc[t], acc[r]);
FC_UNROLL
        for (int t = 0; t < G; ++t) qc[t] = qn[t];
      }
    }
    float qt[S];  // qt[i] = q_{k0 - i}
    qt[0] = q;
FC_UNROLL
    for (int r = 0; r < S; ++r) {
      const int64_t k = k0 - r;
      if (k >= 0) {
        const float h = hv[r];
        const float x = frac_x(c, h, in[r]);
        const float dv_tau = f_mul(c.lif ? f_sub(in[r], h) : in[r], c.inv_tau2);
        const float a = f_mul(gs[r], surrogate_grad(sk, x, c.scale));
        const float D = f_sub(f_mul(sp[r], c.thr_tau2), dv_tau);
        gI[k * N + n] = f_mul(f_add(a, q), c.inv_tau);
        tau_f = f_fma(q, D, f_sub(tau_f, f_mul(a, dv_tau)));
        if (k % kFracSumChunk == 0) {
          tau_d += double(tau_f);
          tau_f = 0.0f;
        }
        if (k >= 1) {
          float s = acc[r];
FC_UNROLL
          for (int i = 1; i < r; ++i) s = f_fma(kn[r + 1 - i], qt[i], s);  // j = k0 - i descending, lag r + 1 - i
          const float P = f_fma(a, c.opc, gv[r]);
          const float qn = f_fma(f_sub(P, s), c.inv_K0, f_mul(q, c.a1));
          Q[(k - 1) * N + n] = qn;
          q = qn;
          if (r + 1 < S) qt[r + 1] = qn;
        }
      }
    }
  }
  return tau_d;
}

// ------------------------------------------------------------------------------------------------
// dK correlation: CTA = kCorrWarps warps; 32 neurons (lane = neuron) x kCorrTL lags (kCorrRL per warp).
// Shared chunks: Qs[kCorrTJ][32] = q_j, j = j0..j0+TJ-1 and Hs[kCorrHR][32] = v_i (v_0 = 0),
// i = ibase..ibase+HR-1 with ibase = j0 + 1 - L0 - (TL - 1). Each thread accumulates
//   acc[l] += q_j * v_{j+1-L},  L = L0 + RL*warp + l,  j ascending over all chunks,
// in float32, moved into the float64 dacc[l] at j = L0 + RL*warp + m kFracSumChunk, m >= 1 (the warp's
// lag tile is the CPU's: fractional_op.h). The warp's chain starts at j = L0 <= its tile's start; the
// extra terms are products with v_{<= 0} = 0 and leave the chain at +0.
// ------------------------------------------------------------------------------------------------
constexpr int kCorrRL = kFracLagTile;
constexpr int kCorrWarps = 8;
constexpr int kCorrTL = kCorrRL * kCorrWarps;  // 64 lags per CTA
constexpr int kCorrTJ = 64;                    // j per chunk
constexpr int kCorrHR = kCorrTJ + kCorrTL;     // 128 >= TJ + TL - 1 rows of v per chunk
static_assert(kFracSumChunk % kCorrRL == 0, "float32 chunks end on a group of kCorrRL steps");

// Staging by thread `tid` of kCorrWarps*32 threads: the chunk starting at j0 for neurons n0..n0+31.
FC_HD void corr_stage(int tid, int64_t T, int64_t N, int64_t n0, int64_t L0, int64_t j0, const float* Q, const float* V,
                      float (*Qs)[32], float (*Hs)[32]) {
  const int lane = tid & 31;
  const int64_t n = n0 + lane;
  const bool nok = n < N;
  for (int r = tid >> 5; r < kCorrTJ; r += kCorrWarps) {
    const int64_t j = j0 + r;
    Qs[r][lane] = (nok && j < T) ? Q[j * N + n] : 0.0f;
  }
  const int64_t ibase = j0 + 1 - L0 - (kCorrTL - 1);
  for (int r = tid >> 5; r < kCorrHR; r += kCorrWarps) {
    const int64_t i = ibase + r;
    Hs[r][lane] = (nok && i >= 1 && i <= T) ? V[(i - 1) * N + n] : 0.0f;
  }
}

// The chunk's contribution for thread (warp, lane); jr0 = j0 - (L0 + RL*warp): j relative to the start
// of the warp's lag tile.
FC_HD void corr_compute(int warp, int lane, int64_t jr0, const float (*Qs)[32], const float (*Hs)[32], float* acc,
                        double* dacc) {
  constexpr int RL = kCorrRL;
  // For j = j0 + jj and lag L0 + RL*warp + l the v row is jj + (TL - 1) - RL*warp - l.
  const int rbase = (kCorrTL - 1) - RL * warp;
  float hw[2 * RL - 1];  // hw[t] = Hs[jg + rbase - (RL - 1) + t]: rows of the group jg..jg+RL-1
FC_UNROLL
  for (int t = 0; t < RL - 1; ++t) hw[t + RL] = Hs[rbase - (RL - 1) + t][lane];  // shifted down below
  for (int jg = 0; jg < kCorrTJ; jg += RL) {
    const int64_t jr = jr0 + jg;  // a multiple of RL
    if (jr > 0 && jr % kFracSumChunk == 0) {
FC_UNROLL
      for (int l = 0; l < RL; ++l) {
        dacc[l] += double(acc[l]);
        acc[l] = 0.0f;
      }
    }
FC_UNROLL
    for (int t = 0; t < RL - 1; ++t) hw[t] = hw[t + RL];
FC_UNROLL
    for (int t = RL - 1; t < 2 * RL - 1; ++t) hw[t] = Hs[jg + rbase - (RL - 1) + t][lane];
FC_UNROLL
    for (int jj = 0; jj < RL; ++jj) {
      const float qv = Qs[jg + jj][lane];
FC_UNROLL
      for (int l = 0; l < RL; ++l) acc[l] = f_fma(qv, hw[jj + (RL - 1) - l], acc[l]);
    }
  }
}

}  // namespace cuda
}  // namespace fsnn
