// Development harness for the CPU fractional neuron op (native/cpu/fractional_cpu.cc).
// Build: benchmarks/native/build_fractional.sh  ->  build/fractional_harness
//
//   fractional_harness [check] [bench] [--quick] [--generic] [--cpu-time] [--fwd-only]
//                      [--N n] [--T t,t,...] [--M m] [--reps r]
//
// check: (1) forward vs a straightforward float64 reference (LIF/IF, every surrogate, memory windows
//        M = 1, 2, 5, T+1, N = 1, 3, 37 and larger odd N; spikes equal, v to float rounding, and the
//        one-step residual of every v_{k+1}); (2) the float64 reference adjoint vs central finite
//        differences (smooth case without spikes, and with spikes through a frozen-spike forward whose
//        spike readout is the surrogate's antiderivative); (3) the float32 backward vs the float64
//        reference adjoint run on the same saved trace; (4) dL/dalpha through Grünwald–Letnikov
//        weights K(alpha) and dL/dtau, float32 op vs the float64 pipeline.
// bench: forward / inference / backward timings (best of --reps) at N = 131072 and T in
//        {16, 64, 256, 1024}, with GFMA/s, the fraction of the measured FMA peak
//        (native/cpu/peak_fma.h), and the time of the forward's memory traffic alone.
//        --generic: portable kernels; --cpu-time: process CPU time / threads instead of wall time
//        (steadier on a shared machine); --fwd-only: skip the backward; --M: memory window.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <atomic>
#include <time.h>

#include "cpu/fractional_cpu.h"
#include "cpu/parallel.h"
#include "cpu/peak_fma.h"
#include "fractional_op.h"
#include "surrogate.h"

using namespace fsnn;
using std::vector;

namespace {

// Grünwald–Letnikov weights K_L = h^-alpha (-1)^L binom(alpha, L).
vector<double> gl_kernel(int64_t T, double alpha, double h) {
  vector<double> K(T + 1);
  double w = 1.0;
  const double scale = std::pow(h, -alpha);
  for (int64_t L = 0; L <= T; ++L) {
    if (L > 0) w *= 1.0 - (alpha + 1.0) / double(L);
    K[L] = scale * w;
  }
  return K;
}

// Antiderivative of the surrogate (its value, in place of the Heaviside, in the frozen-spike FD check).
double surrogate_primitive(Surrogate kind, double x, double s) {
  const double pi = 3.14159265358979323846;
  switch (kind) {
    case Surrogate::Sigmoid: return 1.0 / (1.0 + std::exp(-s * x));
    case Surrogate::PiecewiseLinear: return std::min(1.0, std::max(0.0, x / (2.0 * s) + 0.5));
    case Surrogate::Gaussian: return 0.5 * (1.0 + std::erf(x / (s * std::sqrt(2.0))));
    case Surrogate::Arctan:
    default: return std::atan(pi / 2.0 * s * x) / pi + 0.5;
  }
}
double surrogate_grad_d(Surrogate kind, double x, double s) {
  const double pi = 3.14159265358979323846;
  switch (kind) {
    case Surrogate::Sigmoid: {
      const double g = 1.0 / (1.0 + std::exp(-s * x));
      return s * g * (1.0 - g);
    }
    case Surrogate::PiecewiseLinear: return std::fabs(x) <= s ? 0.5 / s : 0.0;
    case Surrogate::Gaussian: return std::exp(-x * x / (2.0 * s * s)) / (std::sqrt(2.0 * pi) * s);
    case Surrogate::Arctan:
    default: {
      const double a = pi / 2.0 * s * x;
      return s / 2.0 / (1.0 + a * a);
    }
  }
}

struct RefParams {
  int64_t T, N, M;
  bool lif;
  double tau, thr, scale;
  Surrogate sur;
  vector<double> K;
};

RefParams ref_of(const FractionalParams& p) {
  RefParams r;
  r.T = p.T;
  r.N = p.N;
  r.M = std::min<int64_t>(p.memory, p.T + 1);
  r.lif = p.kind == NeuronKind::LIF;
  r.tau = p.tau;
  r.thr = p.threshold;
  r.scale = p.scale;
  r.sur = p.surrogate;
  r.K.assign(p.K, p.K + p.T + 1);
  return r;
}

// Straightforward float64 forward. frozen (optional, [T,N]): spikes used in f instead of H(x).
// xs receives x_k. Returns v (row k = v_{k+1}) and spikes.
void ref_forward(const RefParams& p, const vector<double>& I, vector<double>& S, vector<double>& Vout,
                 vector<double>* xs = nullptr, const vector<double>* frozen = nullptr) {
  const int64_t T = p.T, N = p.N;
  S.assign(T * N, 0.0);
  Vout.assign(T * N, 0.0);
  if (xs) xs->assign(T * N, 0.0);
  vector<double> h(T + 1);
  for (int64_t n = 0; n < N; ++n) {
    h[0] = 0.0;
    for (int64_t k = 0; k < T; ++k) {
      const double in = I[k * N + n];
      const double dv = p.lif ? (-h[k] + in) / p.tau : in / p.tau;
      const double x = h[k] + dv - p.thr;
      const double s = x >= 0 ? 1.0 : 0.0;
      const double sf = frozen ? (*frozen)[k * N + n] : s;
      const double f = dv - sf * p.thr / p.tau;
      double acc = 0.0;
      for (int64_t L = 1; L <= std::min<int64_t>(k, p.M - 1); ++L) acc += p.K[L] * h[k + 1 - L];
      h[k + 1] = (f - acc) / p.K[0];
      S[k * N + n] = s;
      Vout[k * N + n] = h[k + 1];
      if (xs) (*xs)[k * N + n] = x;
    }
  }
}

// Straightforward float64 adjoint (the recurrence of fractional_op.h) on a given trace.
void ref_backward(const RefParams& p, const vector<double>& I, const vector<double>& V, const vector<double>& S,
                  const vector<double>& gS, const vector<double>* gV, vector<double>& gI, vector<double>& gK,
                  double& gTau) {
  const int64_t T = p.T, N = p.N, M = p.M;
  gI.assign(T * N, 0.0);
  gK.assign(T + 1, 0.0);
  gTau = 0.0;
  const double c = p.lif ? -1.0 / p.tau : 0.0;
  vector<double> h(T + 1), q(T), dv(T), sg(T);
  for (int64_t n = 0; n < N; ++n) {
    h[0] = 0.0;
    for (int64_t k = 0; k < T; ++k) h[k + 1] = V[k * N + n];
    for (int64_t k = 0; k < T; ++k) {
      const double in = I[k * N + n];
      dv[k] = p.lif ? (-h[k] + in) / p.tau : in / p.tau;
      sg[k] = surrogate_grad_d(p.sur, h[k] + dv[k] - p.thr, p.scale);
    }
    auto gv = [&](int64_t k) { return gV ? (*gV)[(k - 1) * N + n] : 0.0; };  // dL/dv_k
    q[T - 1] = gv(T) / p.K[0];
    for (int64_t k = T - 1; k >= 1; --k) {
      double u = gv(k) + gS[k * N + n] * sg[k] * (1.0 + c) + c * q[k];
      for (int64_t L = 1; L <= std::min<int64_t>(M - 1, T - k); ++L) u -= p.K[L] * q[k - 1 + L];
      q[k - 1] = u / p.K[0];
    }
    for (int64_t k = 0; k < T; ++k) {
      const double a = gS[k * N + n] * sg[k];
      gI[k * N + n] = (a + q[k]) / p.tau;
      gTau += a * (-dv[k] / p.tau) + q[k] * (-dv[k] / p.tau + S[k * N + n] * p.thr / (p.tau * p.tau));
    }
    for (int64_t L = 0; L <= std::min<int64_t>(T - 1, M - 1); ++L)
      for (int64_t j = L; j < T; ++j) gK[L] -= q[j] * h[j + 1 - L];
  }
}

// Loss of the frozen-spike forward: sum gS * sigma(x) + sum gV * v (sigma' = surrogate).
double frozen_loss(const RefParams& p, const vector<double>& I, const vector<double>& frozen, const vector<double>& gS,
                   const vector<double>& gV) {
  vector<double> S, V, xs;
  ref_forward(p, I, S, V, &xs, &frozen);
  double L = 0.0;
  for (size_t i = 0; i < V.size(); ++i) L += gS[i] * surrogate_primitive(p.sur, xs[i], p.scale) + gV[i] * V[i];
  return L;
}

double max_abs(const vector<double>& a) {
  double m = 0.0;
  for (double x : a) m = std::max(m, std::fabs(x));
  return m;
}

const char* sur_name(Surrogate s) {
  switch (s) {
    case Surrogate::Sigmoid: return "sigmoid";
    case Surrogate::PiecewiseLinear: return "pwl";
    case Surrogate::Gaussian: return "gaussian";
    default: return "arctan";
  }
}

int g_failures = 0;
void verdict(bool ok, const char* what) {
  if (!ok) {
    ++g_failures;
    std::printf("    ^^^ FAIL: %s\n", what);
  }
}

struct Problem {
  FractionalParams p;
  vector<double> K;
  vector<float> I;
};

Problem make_problem(int64_t T, int64_t N, int64_t M, NeuronKind kind, Surrogate sur, double alpha, float Ilo,
                     float Ihi, uint32_t seed) {
  Problem pr;
  pr.K = gl_kernel(T, alpha, 0.5);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> U(Ilo, Ihi);
  pr.I.resize(T * N);
  for (auto& x : pr.I) x = U(rng);
  FractionalParams& p = pr.p;
  p.T = T;
  p.N = N;
  p.kind = kind;
  p.tau = seed % 2 ? 0.5f : 2.0f;
  p.threshold = 1.0f;
  p.surrogate = sur;
  p.scale = sur == Surrogate::PiecewiseLinear ? 0.5f : (sur == Surrogate::Gaussian ? 0.4f : 4.0f);
  p.memory = M;
  p.K = pr.K.data();
  return pr;
}

// ---------------------------------------------------------------------------------------------
// (1) forward vs float64 reference, (3) backward vs float64 reference adjoint on the float trace
// ---------------------------------------------------------------------------------------------
void check_forward_backward(int64_t T, int64_t N, int64_t M, NeuronKind kind, Surrogate sur, bool with_gV,
                            uint32_t seed) {
  Problem pr = make_problem(T, N, M, kind, sur, 0.6, -0.5f, 2.5f, seed);
  const FractionalParams& p = pr.p;
  vector<float> S(T * N), V(T * N), S2(T * N);
  cpu::fractional_forward(p, pr.I.data(), S.data(), V.data());
  cpu::fractional_forward(p, pr.I.data(), S2.data(), nullptr);  // inference path: same spikes
  const RefParams rp = ref_of(p);
  vector<double> Id(pr.I.begin(), pr.I.end()), Sd, Vd, xs;
  ref_forward(rp, Id, Sd, Vd, &xs);
  // Spike mismatches; v compared on neurons whose spike trains agree.
  int64_t mism = 0, bad_neurons = 0, infer_mism = 0, nspikes = 0;
  double vmax = 0.0, verr = 0.0, min_abs_x_at_mism = 1e30;
  for (int64_t n = 0; n < N; ++n) {
    bool agree = true;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t i = k * N + n;
      nspikes += S[i] != 0.0f;
      infer_mism += S[i] != S2[i];
      if (double(S[i]) != Sd[i]) {
        ++mism;
        agree = false;
        min_abs_x_at_mism = std::min(min_abs_x_at_mism, std::fabs(xs[i]));
      }
    }
    if (!agree) {
      ++bad_neurons;
      continue;
    }
    for (int64_t k = 0; k < T; ++k) {
      const int64_t i = k * N + n;
      vmax = std::max(vmax, std::fabs(Vd[i]));
      verr = std::max(verr, std::fabs(double(V[i]) - Vd[i]));
    }
  }
  // Local (one-step) residual: v_{k+1} recomputed in float64 from the float history must match the float
  // result to float rounding. The global error above also carries the amplification of the dynamics.
  double loc = 0.0;
  int64_t loc_spk = 0;
  {
    vector<double> h(T + 1);
    for (int64_t n = 0; n < N; ++n) {
      h[0] = 0.0;
      for (int64_t k = 0; k < T; ++k) h[k + 1] = V[k * N + n];
      for (int64_t k = 0; k < T; ++k) {
        const double in = pr.I[k * N + n];
        const double dv = rp.lif ? (-h[k] + in) / rp.tau : in / rp.tau;
        const double x = h[k] + dv - rp.thr;
        const double s = x >= 0 ? 1.0 : 0.0;
        if (s != S[k * N + n] && std::fabs(x) > 1e-5 * (std::fabs(h[k]) + std::fabs(dv) + rp.thr)) ++loc_spk;
        const double f = dv - double(S[k * N + n]) * rp.thr / rp.tau;
        // Magnitude of the terms rounded into v_{k+1} (cancellation in f or in the sum is not an error).
        double acc = 0.0, mag = (std::fabs(h[k]) + std::fabs(in)) / rp.tau + std::fabs(dv) + rp.thr / rp.tau;
        for (int64_t L = 1; L <= std::min<int64_t>(k, rp.M - 1); ++L) {
          acc += rp.K[L] * h[k + 1 - L];
          mag += std::fabs(rp.K[L] * h[k + 1 - L]);
        }
        const double want = (f - acc) / rp.K[0];
        loc = std::max(loc, std::fabs(h[k + 1] - want) / (mag / std::fabs(rp.K[0]) + 1e-30));
      }
    }
  }
  // Backward: float32 implementation vs float64 adjoint on the same (float) trace.
  std::mt19937 rng(seed * 7 + 1);
  std::normal_distribution<float> G(0.0f, 1.0f);
  vector<float> gS(T * N), gV(T * N), gI(T * N);
  for (auto& x : gS) x = G(rng);
  for (auto& x : gV) x = with_gV ? 0.3f * G(rng) : 0.0f;
  vector<double> gK(T + 1);
  double gTau = 0.0;
  cpu::fractional_backward(p, pr.I.data(), V.data(), S.data(), gS.data(), with_gV ? gV.data() : nullptr, gI.data(),
                           gK.data(), &gTau);
  vector<double> Vf(V.begin(), V.end()), Sf(S.begin(), S.end()), gSd(gS.begin(), gS.end()),
      gVd(gV.begin(), gV.end()), rgI, rgK;
  double rgTau;
  ref_backward(rp, Id, Vf, Sf, gSd, with_gV ? &gVd : nullptr, rgI, rgK, rgTau);
  double eI = 0.0, eK = 0.0, eKrel = 0.0;
  for (size_t i = 0; i < rgI.size(); ++i) eI = std::max(eI, std::fabs(gI[i] - rgI[i]));
  const double sK = max_abs(rgK);
  for (int64_t L = 0; L <= T; ++L) {
    eK = std::max(eK, std::fabs(gK[L] - rgK[L]));
    if (std::fabs(rgK[L]) > 1e-3 * sK) eKrel = std::max(eKrel, std::fabs(gK[L] - rgK[L]) / std::fabs(rgK[L]));
  }
  const double eIrel = eI / std::max(1e-30, max_abs(rgI)), eKmax = eK / std::max(1e-30, sK);
  const double eTau = std::fabs(gTau - rgTau) / std::max(1e-30, std::fabs(rgTau));
  std::printf("  %-3s T=%-4lld N=%-4lld M=%-4lld %-8s gV=%d tau=%.1f | spikes %6lld, mism %lld (nrn %lld, min|x| %.0e), "
              "infer-mism %lld, v err/max %.1e, local %.1e | gI %.1e gK %.1e (per-L %.1e) gTau %.1e\n",
              kind == NeuronKind::LIF ? "LIF" : "IF", (long long)T, (long long)N, (long long)M, sur_name(sur),
              int(with_gV), double(p.tau), (long long)nspikes, (long long)mism, (long long)bad_neurons,
              mism ? min_abs_x_at_mism : 0.0, (long long)infer_mism, verr / std::max(1e-30, vmax), loc, eIrel, eKmax,
              eKrel, eTau);
  verdict(infer_mism == 0, "inference-mode spikes differ from training-mode spikes");
  verdict(mism == 0 || min_abs_x_at_mism < 1e-4, "spike mismatch away from the threshold");
  verdict(loc < 1e-5 && loc_spk == 0, "one-step residual of v / spikes");
  // The global error is only bounded where the recursion does not amplify errors: |(c - K_1)/K_0| < 1.
  const double cref = rp.lif ? -1.0 / rp.tau : 0.0, K1ref = rp.M >= 2 && T >= 1 ? rp.K[1] : 0.0;
  if (std::fabs((cref - K1ref) / rp.K[0]) < 1.0)
    verdict(verr / std::max(1e-30, vmax) < 1e-3, "v error vs float64 forward");
  verdict(eIrel < 1e-4 && eKmax < 1e-4 && eTau < 1e-4, "backward vs float64 adjoint");
  // Zero pattern of gK beyond the window.
  for (int64_t L = std::min<int64_t>(T - 1, M - 1) + 1; L <= T; ++L)
    if (gK[L] != 0.0) {
      verdict(false, "gK nonzero beyond min(T-1, M-1)");
      break;
    }
}

// ---------------------------------------------------------------------------------------------
// (2) float64 adjoint vs central finite differences
// ---------------------------------------------------------------------------------------------
void check_fd(int64_t T, int64_t N, int64_t M, NeuronKind kind, Surrogate sur, bool spiking, uint32_t seed) {
  // No spikes: inputs far below threshold (and threshold raised); spiking: the usual range.
  Problem pr = make_problem(T, N, M, kind, sur, 0.6, spiking ? -0.5f : -0.2f, spiking ? 2.5f : 0.3f, seed);
  if (!spiking) pr.p.threshold = 50.0f;
  RefParams rp = ref_of(pr.p);
  vector<double> I(pr.I.begin(), pr.I.end()), S, V, xs;
  ref_forward(rp, I, S, V, &xs);
  std::mt19937 rng(seed + 99);
  std::normal_distribution<double> G(0.0, 1.0);
  vector<double> gS(T * N), gV(T * N);
  for (auto& x : gS) x = G(rng);
  for (auto& x : gV) x = 0.5 * G(rng);
  vector<double> gI, gK;
  double gTau;
  ref_backward(rp, I, V, S, gS, &gV, gI, gK, gTau);
  double min_abs_x = 1e30;
  int64_t nspk = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    min_abs_x = std::min(min_abs_x, std::fabs(xs[i]));
    nspk += S[i] != 0.0;
  }
  const vector<double> frozen = S;
  auto loss = [&](const RefParams& q, const vector<double>& In) { return frozen_loss(q, In, frozen, gS, gV); };
  const double eps = 1e-6;
  double eI = 0.0, sI = 0.0;
  for (int64_t i = 0; i < T * N; ++i) {
    vector<double> Ip = I, Im = I;
    Ip[i] += eps;
    Im[i] -= eps;
    const double fd = (loss(rp, Ip) - loss(rp, Im)) / (2 * eps);
    eI = std::max(eI, std::fabs(fd - gI[i]));
    sI = std::max(sI, std::fabs(fd));
  }
  double eK = 0.0, sK = 0.0;
  for (int64_t L = 0; L <= T; ++L) {
    RefParams rpp = rp, rpm = rp;
    const double h = eps * std::max(1.0, std::fabs(rp.K[L]));
    rpp.K[L] += h;
    rpm.K[L] -= h;
    const double fd = (loss(rpp, I) - loss(rpm, I)) / (2 * h);
    eK = std::max(eK, std::fabs(fd - gK[L]));
    sK = std::max(sK, std::fabs(fd));
  }
  RefParams tp = rp, tm = rp;
  tp.tau += eps;
  tm.tau -= eps;
  const double fdTau = (loss(tp, I) - loss(tm, I)) / (2 * eps);
  const double eT = std::fabs(fdTau - gTau) / std::max(1e-30, std::fabs(fdTau));
  std::printf("  FD %-3s T=%-3lld N=%lld M=%-3lld %-8s %s (spikes %lld, min|x| %.2f) | gI %.1e  gK %.1e  gTau %.1e\n",
              kind == NeuronKind::LIF ? "LIF" : "IF", (long long)T, (long long)N, (long long)M, sur_name(sur),
              spiking ? "spiking " : "no-spike", (long long)nspk, min_abs_x, eI / sI, eK / sK, eT);
  verdict(eI / sI < 1e-6 && eK / sK < 1e-6 && eT < 1e-6, "adjoint vs finite differences");
}

// ---------------------------------------------------------------------------------------------
// (4) what the JS tests will compare: d loss / d alpha through K(alpha) (Grünwald–Letnikov weights)
//     and d loss / d tau, float32 pipeline vs the float64 pipeline (forward and adjoint in float64)
// ---------------------------------------------------------------------------------------------
void check_alpha_grad(int64_t T, int64_t N, int64_t M, NeuronKind kind, double alpha, uint32_t seed) {
  Problem pr = make_problem(T, N, M, kind, Surrogate::Arctan, alpha, -0.5f, 2.5f, seed);
  const FractionalParams& p = pr.p;
  std::mt19937 rng(seed + 5);
  std::normal_distribution<float> G(0.0f, 1.0f);
  vector<float> S(T * N), V(T * N), gS(T * N), gV(T * N), gI(T * N);
  for (auto& x : gS) x = G(rng);
  for (auto& x : gV) x = 0.1f * G(rng);
  cpu::fractional_forward(p, pr.I.data(), S.data(), V.data());
  vector<double> gK(T + 1);
  double gTau = 0.0;
  cpu::fractional_backward(p, pr.I.data(), V.data(), S.data(), gS.data(), gV.data(), gI.data(), gK.data(), &gTau);
  const RefParams rp = ref_of(p);
  vector<double> Id(pr.I.begin(), pr.I.end()), Sd, Vd, gSd(gS.begin(), gS.end()), gVd(gV.begin(), gV.end()), rgI, rgK;
  double rgTau = 0.0;
  ref_forward(rp, Id, Sd, Vd);
  int64_t mism = 0;
  for (size_t i = 0; i < Sd.size(); ++i) mism += Sd[i] != double(S[i]);
  ref_backward(rp, Id, Vd, Sd, gSd, &gVd, rgI, rgK, rgTau);
  // dK_L / d alpha by central differences of the float64 kernel.
  const double e = 1e-6;
  const vector<double> Kp = gl_kernel(T, alpha + e, 0.5), Km = gl_kernel(T, alpha - e, 0.5);
  // Also the float64 adjoint on the float32 trace: separates the adjoint's own rounding from the
  // forward's.
  vector<double> Vf(V.begin(), V.end()), Sf(S.begin(), S.end()), tgI, tgK;
  double tgTau = 0.0;
  ref_backward(rp, Id, Vf, Sf, gSd, &gVd, tgI, tgK, tgTau);
  double ga = 0.0, rga = 0.0, tga = 0.0, mag = 0.0;
  for (int64_t L = 0; L <= T; ++L) {
    const double d = (Kp[L] - Km[L]) / (2 * e);
    ga += gK[L] * d;
    rga += rgK[L] * d;
    tga += tgK[L] * d;
    mag += std::fabs(rgK[L] * d);
  }
  const double ea = std::fabs(ga - rga) / std::fabs(rga), et = std::fabs(gTau - rgTau) / std::fabs(rgTau);
  // Where |(c - K_1)/K_0| >= 1 the recursion itself amplifies rounding (v grows like a^k): float32
  // and float64 then part ways whatever the implementation; those cases are shown, not judged.
  const double cref = rp.lif ? -1.0 / rp.tau : 0.0, a = (cref - (M >= 2 ? rp.K[1] : 0.0)) / rp.K[0];
  const bool stable = std::fabs(a) < 1.0;
  std::printf("  %-3s T=%-4lld N=%-5lld M=%-4lld alpha=%.2f tau=%.1f%s | spike mism %lld | dL/dalpha %.6e vs %.6e: rel "
              "%.1e (sum|terms|/|sum| %.0f; vs float64 adjoint on the float32 trace %.1e) | dL/dtau rel %.1e\n",
              kind == NeuronKind::LIF ? "LIF" : "IF", (long long)T, (long long)N, (long long)M, alpha, rp.tau,
              stable ? "" : " (unstable: not judged)", (long long)mism, ga, rga, ea, mag / std::fabs(rga),
              std::fabs(ga - tga) / std::fabs(tga), et);
  if (mism == 0 && stable) verdict(ea < 1e-3 && et < 1e-3, "alpha / tau gradient vs float64 pipeline (1e-3)");
}

void run_checks() {
  std::printf("(2) float64 adjoint recurrence vs central finite differences of a float64 forward\n");
  const Surrogate surs[] = {Surrogate::Arctan, Surrogate::Sigmoid, Surrogate::PiecewiseLinear, Surrogate::Gaussian};
  for (NeuronKind kind : {NeuronKind::LIF, NeuronKind::IF})
    for (int64_t M : {int64_t(1), int64_t(2), int64_t(5), int64_t(13)}) {
      check_fd(12, 3, M, kind, Surrogate::Arctan, false, 11 + M);
      for (Surrogate s : surs) check_fd(12, 3, M, kind, s, true, 17 + M + int(s));
    }

  std::printf("(1)+(3) float32 forward vs float64 forward; float32 backward vs float64 adjoint on the same trace\n"
              "        (errors: v max abs err / max |v|; gI, gK max abs err / max |ref|; gK per-L worst relative\n"
              "         over |gK_L| > 1e-3 max; gTau relative)\n");
  for (int64_t T : {int64_t(1), int64_t(7), int64_t(40), int64_t(129)})
    for (int64_t N : {int64_t(1), int64_t(3), int64_t(37)})
      for (NeuronKind kind : {NeuronKind::LIF, NeuronKind::IF}) {
        const int64_t Ms[] = {1, 2, 5, T + 1};
        for (int64_t M : Ms) {
          if (T == 1 && M > 2) continue;
          check_forward_backward(T, N, M, kind, Surrogate::Arctan, (T + N + M) % 2 == 0, uint32_t(T * 131 + N * 7 + M));
        }
        for (Surrogate s : {Surrogate::Sigmoid, Surrogate::PiecewiseLinear, Surrogate::Gaussian})
          check_forward_backward(T, N, T + 1, kind, s, true, uint32_t(T * 17 + N + int(s)));
      }
  // Larger N: many blocks, reduction groups, a partial last block, both threads.
  for (int64_t M : {int64_t(3), int64_t(300)})
    check_forward_backward(300, 1000 + 5, M, NeuronKind::LIF, Surrogate::Arctan, true, 4242 + uint32_t(M));
  check_forward_backward(16, 1000, 17, NeuronKind::LIF, Surrogate::Sigmoid, true, 77);
  check_forward_backward(40, 777, 41, NeuronKind::IF, Surrogate::Arctan, false, 78);
  check_forward_backward(64, 4096, 65, NeuronKind::LIF, Surrogate::Arctan, true, 79);
  // >= 8 MiB outputs: non-temporal stores (aligned rows, and rows alternately misaligned).
  check_forward_backward(64, 32768, 65, NeuronKind::LIF, Surrogate::Arctan, true, 80);
  check_forward_backward(64, 32769, 20, NeuronKind::IF, Surrogate::Gaussian, true, 81);

  std::printf("(4) dL/dalpha (= sum_L gK_L dK_L/dalpha) and dL/dtau: float32 op vs float64 forward + adjoint\n");
  for (NeuronKind kind : {NeuronKind::LIF, NeuronKind::IF})
    for (double alpha : {0.3, 0.6, 0.9}) {
      check_alpha_grad(32, 200, 33, kind, alpha, 900 + uint32_t(alpha * 10));
      check_alpha_grad(256, 100, 257, kind, alpha, 910 + uint32_t(alpha * 10));
      check_alpha_grad(100, 100, 10, kind, alpha, 920 + uint32_t(alpha * 10));
      check_alpha_grad(1024, 24, 1025, kind, alpha, 930 + uint32_t(alpha * 10));
    }
}

// ---------------------------------------------------------------------------------------------
// (3) benchmark
// ---------------------------------------------------------------------------------------------
// Wall time, or with --cpu-time the process CPU time divided by the thread count (steadier than wall
// time on a shared machine: time spent descheduled is not counted).
bool g_cpu_time = false;
bool g_fwd_only = false;  // --fwd-only: skip the backward (profiling)
double now_s() {
  if (g_cpu_time) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec)) / double(cpu::num_threads());
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The machine's FMA peak: the best of several short measurements (on a shared machine a single one
// can land in a busy moment), all threads together or threads x one thread. Updated before every
// benchmark row; the table uses the best so far.
double g_peak_gflops = 0.0;
void update_peak(int times) {
  for (int i = 0; i < times; ++i) {
    g_peak_gflops = std::max(g_peak_gflops, cpu::measure_peak_gflops(0, 0.15));
    g_peak_gflops = std::max(g_peak_gflops, cpu::num_threads() * cpu::measure_peak_gflops(1, 0.1));
  }
}

// The forward's memory traffic alone, for reference: read I and write two [T, N] outputs, slab by slab
// like the op (1008 columns, a contiguous staging copy, non-temporal stores), on all threads, no
// arithmetic. Where the forward takes about this long it is bound by memory bandwidth.
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2"))) void copy_rows_stream(float* d, const float* s, int64_t n) {
  int64_t j = 0;
  if ((reinterpret_cast<uintptr_t>(d) & 31) == 0)
    for (; j + 8 <= n; j += 8) _mm256_stream_ps(d + j, _mm256_loadu_ps(s + j));
  for (; j < n; ++j) d[j] = s[j];
}
__attribute__((target("avx2"))) void stream_fence() { _mm_sfence(); }
#else
void copy_rows_stream(float* d, const float* s, int64_t n) { std::memcpy(d, s, sizeof(float) * n); }
void stream_fence() {}
#endif
double forward_traffic_ms(int64_t T, int64_t N, const float* I, float* S, float* V, int reps) {
  const int64_t W = 1008, nslabs = (N + W - 1) / W;
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_s();
    std::atomic<int64_t> next{0};
    cpu::parallel_for(cpu::num_threads(), 1, [&](int64_t, int64_t) {
      vector<float> buf(size_t(T) * W);
      for (int64_t s = next.fetch_add(1); s < nslabs; s = next.fetch_add(1)) {
        const int64_t n0 = s * W, nv = std::min(W, N - n0);
        for (int64_t k = 0; k < T; ++k) std::memcpy(&buf[k * W], I + k * N + n0, sizeof(float) * nv);
        for (int64_t k = 0; k < T; ++k) copy_rows_stream(S + k * N + n0, &buf[k * W], nv);
        for (int64_t k = 0; k < T; ++k) copy_rows_stream(V + k * N + n0, &buf[k * W], nv);
        stream_fence();
      }
    });
    best = std::min(best, now_s() - t0);
  }
  return best * 1e3;
}

void run_bench(int64_t N, const vector<int64_t>& Ts, int reps, int64_t bench_M) {
  std::printf("\nbenchmark: N=%lld, LIF, arctan, %s, %d threads, kernel %s\n", (long long)N,
              bench_M > 0 ? ("memory " + std::to_string(bench_M)).c_str() : "full history", cpu::num_threads(),
              cpu::fractional_cpu_kernel());
  std::printf("  (forward: the FMAs of the history sum, N * sum_k min(k, M-1); backward: adjoint sum + gK correlation)\n");
  std::printf("  (traffic ms: the forward's reads and writes alone, no arithmetic; see forward_traffic_ms)\n");
  std::printf("  %5s %8s | %10s %10s %10s %12s %9s %6s | %10s %9s %6s | %s\n", "T", "N", "fwd ms", "infer ms",
              "traffic ms", "nrn-steps/s", "GFMA/s", "%peak", "bwd ms", "GFMA/s", "%peak", "best of");
  for (int64_t T : Ts) {
    Problem pr = make_problem(T, N, bench_M > 0 ? bench_M : T + 1, NeuronKind::LIF, Surrogate::Arctan, 0.6, -0.5f,
                              2.5f, 5);
    const FractionalParams& p = pr.p;
    vector<float> S(T * N), V(T * N), gS(T * N), gI(T * N);
    for (size_t i = 0; i < gS.size(); ++i) gS[i] = float((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    vector<double> gK(T + 1);
    double gTau;
    const int64_t M = std::min<int64_t>(p.memory, T + 1);
    double fwd_fma = 0, bwd_fma = 0;
    for (int64_t k = 0; k < T; ++k) fwd_fma += double(std::min<int64_t>(k, M - 1));
    for (int64_t k = 1; k < T; ++k) bwd_fma += double(std::min<int64_t>(M - 1, T - k));
    for (int64_t L = 0; L <= std::min<int64_t>(T - 1, M - 1); ++L) bwd_fma += double(T - L);
    fwd_fma *= double(N);
    bwd_fma *= double(N);
    const int r = T >= 1024 ? std::max(1, reps / 2) : reps;
    // Warm-up (page faults, caches)
    cpu::fractional_forward(p, pr.I.data(), S.data(), V.data());
    double tf = 1e30, ti = 1e30, tb = 1e30;
    for (int i = 0; i < r; ++i) {
      double t0 = now_s();
      cpu::fractional_forward(p, pr.I.data(), S.data(), V.data());
      tf = std::min(tf, now_s() - t0);
      t0 = now_s();
      cpu::fractional_forward(p, pr.I.data(), S.data(), nullptr);
      ti = std::min(ti, now_s() - t0);
    }
    if (!g_fwd_only) cpu::fractional_backward(p, pr.I.data(), V.data(), S.data(), gS.data(), nullptr, gI.data(), gK.data(), &gTau);
    for (int i = 0; i < r && !g_fwd_only; ++i) {
      const double t0 = now_s();
      cpu::fractional_backward(p, pr.I.data(), V.data(), S.data(), gS.data(), nullptr, gI.data(), gK.data(), &gTau);
      tb = std::min(tb, now_s() - t0);
    }
    if (g_fwd_only) tb = std::numeric_limits<double>::quiet_NaN();
    update_peak(2);
    const double peak_gfma = g_peak_gflops / 2.0;
    const double gf = fwd_fma / tf * 1e-9, gb = bwd_fma / tb * 1e-9;
    const double traffic = forward_traffic_ms(T, N, pr.I.data(), S.data(), V.data(), r);
    std::printf("  %5lld %8lld | %10.2f %10.2f %10.2f %12.3e %9.1f %5.1f%% | %10.2f %9.1f %5.1f%% | %d\n",
                (long long)T, (long long)N, tf * 1e3, ti * 1e3, traffic, double(T) * double(N) / tf, gf,
                100.0 * gf / peak_gfma, tb * 1e3, gb, 100.0 * gb / peak_gfma, r);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool do_check = false, do_bench = false, quick = false;
  int64_t N = 131072, bench_M = 0;
  int reps = 5;
  vector<int64_t> Ts = {16, 64, 256, 1024};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "check") do_check = true;
    else if (a == "bench") do_bench = true;
    else if (a == "--quick") quick = true;
    else if (a == "--generic") cpu::fractional_cpu_force_generic(true);
    else if (a == "--cpu-time") g_cpu_time = true;
    else if (a == "--fwd-only") g_fwd_only = true;
    else if (a == "--N" && i + 1 < argc) N = std::atoll(argv[++i]);
    else if (a == "--M" && i + 1 < argc) bench_M = std::atoll(argv[++i]);
    else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--T" && i + 1 < argc) {
      Ts.clear();
      std::string s = argv[++i];
      size_t pos = 0;
      while (pos < s.size()) {
        size_t e = s.find(',', pos);
        if (e == std::string::npos) e = s.size();
        Ts.push_back(std::atoll(s.substr(pos, e - pos).c_str()));
        pos = e + 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [check] [bench] [--quick] [--generic] [--cpu-time] [--N n] [--T t,t,...] [--M m] [--reps r]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!do_check && !do_bench) do_check = do_bench = true;
  if (quick) {
    reps = 2;
    if (Ts.size() == 4) Ts = {16, 64, 256};
  }
  std::printf("fractional CPU op: kernel %s, %d threads\n", cpu::fractional_cpu_kernel(), cpu::num_threads());
  if (do_check) {
    run_checks();
    std::printf("checks: %s (%d failures)\n", g_failures ? "FAILED" : "all passed", g_failures);
  }
  if (do_bench) {
    update_peak(3);
    run_bench(N, Ts, reps, bench_M);
    std::printf("measured FMA peak (%s, %d threads, best of %s): %.1f GFLOP/s = %.1f GFMA/s\n", cpu::peak_fma_kernel(),
                cpu::num_threads(), "all measurements", g_peak_gflops, g_peak_gflops / 2.0);
  }
  return g_failures ? 1 : 0;
}
