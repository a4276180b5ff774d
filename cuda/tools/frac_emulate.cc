// Runs the CUDA fractional kernels' per-thread code (cuda/fractional_core.h) on the CPU, thread by
// thread and CTA by CTA, and compares it with the CPU backend (native/cpu/fractional_cpu.cc): forward
// spikes and v bit for bit, q / dI bit for bit, dK and dtau to 1e-9 relative (both backends sum them in
// the order native/fractional_op.h defines, so they differ only by float64 rounding). The per-thread
// code is the same whether the K table is in shared or in global memory (FSNN_CUDA_FRAC_GLOBAL_K only
// moves the pointer), so one emulation covers both paths. Needs no GPU. Build and run:
//   cuda/tools/run_frac_emulate.sh
// (not part of the addon: cmake globs only cuda/*.cu and cuda/*.cc).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../../native/cpu/fractional_cpu.h"
#include "../fractional_core.h"

using namespace fsnn;
using namespace fsnn::cuda;

namespace {

struct Result {
  std::vector<float> spikes, v, gI, Q;
  std::vector<double> gK;  // hi + lo of the float32 pairs the op returns
  double gTau = 0;
};

// The launch side of cuda_fractional.cu, emulated: forward threads, reverse threads, correlation CTAs,
// the fixed-order double reductions (column sums in blocks of 256 rows, 8 slices each; then the blocks
// in order) and the float32 hi/lo output. S: the tile size (cuda_fractional.cu picks kFracS or kFracSLong).
template <int S>
Result emulate(const FractionalParams& p, const std::vector<float>& I, const std::vector<float>& gS,
               const std::vector<float>* gV) {
  const FracConsts c = make_frac_consts(p);
  std::vector<float> Kz(frac_kz_len(p.T));
  make_frac_kz(p, c.M, Kz.data());
  const int64_t T = p.T, N = p.N;
  Result r;
  r.spikes.assign(T * N, 0.f);
  r.v.assign(T * N, 0.f);
  for (int64_t n = 0; n < N; ++n) frac_forward_thread<S>(c, n, I.data(), r.spikes.data(), r.v.data(), Kz.data());
  r.gI.assign(T * N, 0.f);
  r.Q.assign(T * N, 0.f);
  // Reverse kernel: blocks of 64 threads; dL/dtau per warp of 32 neurons (xor tree in double) into
  // column ld - 1 of that neuron block's row of the partial sums.
  const int64_t Lmax = std::min<int64_t>(T - 1, c.M - 1);
  const int64_t nLT = (Lmax + kCorrTL) / kCorrTL, nNB = (N + 31) / 32, ld = Lmax + 2;
  std::vector<double> part(nNB * ld, 0.0);
  auto warp_tree = [](double* lanes) {
    for (int off = 16; off >= 1; off >>= 1) {
      double nx[32];
      for (int l = 0; l < 32; ++l) nx[l] = lanes[l] + lanes[l ^ off];
      std::memcpy(lanes, nx, sizeof(nx));
    }
    return lanes[0];
  };
  for (int64_t nb = 0; nb < nNB; ++nb) {
    double lanes[32] = {};
    for (int l = 0; l < 32; ++l) {
      const int64_t n = nb * 32 + l;
      if (n < N)
        lanes[l] = frac_reverse_thread<S>(c, n, I.data(), r.v.data(), r.spikes.data(), gS.data(),
                                          gV ? gV->data() : nullptr, r.gI.data(), r.Q.data(), Kz.data());
    }
    part[nb * ld + ld - 1] = warp_tree(lanes);
  }
  // Correlation CTAs.
  static float Qs[kCorrTJ][32], Hs[kCorrHR][32];
  for (int64_t nb = 0; nb < nNB; ++nb)
    for (int64_t lt = 0; lt < nLT; ++lt) {
      const int64_t L0 = lt * kCorrTL;
      std::vector<float> acc(kCorrWarps * 32 * kCorrRL, 0.f);
      std::vector<double> dacc(kCorrWarps * 32 * kCorrRL, 0.0);
      for (int64_t j0 = L0; j0 < T; j0 += kCorrTJ) {
        for (int tid = 0; tid < kCorrWarps * 32; ++tid) corr_stage(tid, T, N, nb * 32, L0, j0, r.Q.data(), r.v.data(), Qs, Hs);
        for (int tid = 0; tid < kCorrWarps * 32; ++tid) {
          const int w = tid >> 5;
          corr_compute(w, tid & 31, j0 - L0 - int64_t(kCorrRL) * w, Qs, Hs, &acc[tid * kCorrRL], &dacc[tid * kCorrRL]);
        }
      }
      for (int w = 0; w < kCorrWarps; ++w)
        for (int l = 0; l < kCorrRL; ++l) {
          double lanes[32];
          for (int ln = 0; ln < 32; ++ln) {
            const int i = (w * 32 + ln) * kCorrRL + l;
            lanes[ln] = dacc[i] + double(acc[i]);
          }
          const double d = warp_tree(lanes);
          const int64_t L = L0 + w * kCorrRL + l;
          if (L <= Lmax) part[nb * ld + L] = d;
        }
    }
  // Column sums: stage 1 (blocks of 256 rows, 8 slices of every 8th row, slices in order), stage 2.
  const int64_t kRows = 256, kSl = 8, srows = (nNB + kRows - 1) / kRows;
  std::vector<double> sums(srows * ld, 0.0);
  for (int64_t by = 0; by < srows; ++by)
    for (int64_t col = 0; col < ld; ++col) {
      double sl[kSl];
      for (int64_t y = 0; y < kSl; ++y) {
        double s = 0;
        for (int64_t rr = by * kRows + y; rr < std::min(nNB, (by + 1) * kRows); rr += kSl) s += part[rr * ld + col];
        sl[y] = s;
      }
      double t = 0;
      for (int64_t y = 0; y < kSl; ++y) t += sl[y];
      sums[by * ld + col] = t;
    }
  auto hilo = [](double x) {
    const float hi = float(x), lo = float(x - double(hi));
    return double(hi) + double(lo);
  };
  r.gK.assign(T + 1, 0.0);
  for (int64_t L = 0; L <= Lmax; ++L) {
    double s = 0;
    for (int64_t by = 0; by < srows; ++by) s += sums[by * ld + L];
    r.gK[L] = hilo(-s);
  }
  double t = 0;
  for (int64_t by = 0; by < srows; ++by) t += sums[by * ld + ld - 1];
  r.gTau = hilo(t);
  return r;
}

int g_fail = 0;
constexpr double kGate = 1e-9;  // dK (max abs error / max |dK|) and dtau relative error

template <typename F>
void cmp_bits(const char* what, const std::string& tag, const std::vector<F>& a, const std::vector<F>& b) {
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(F)) != 0 && !(a[i] == 0 && b[i] == 0)) {
      if (first < 0) first = int64_t(i);
      ++bad;
    }
  if (bad) {
    ++g_fail;
    std::printf("  MISMATCH %s %s: %lld of %zu differ, first at %lld: %.9g vs %.9g\n", tag.c_str(), what, (long long)bad,
                a.size(), (long long)first, double(a[first]), double(b[first]));
  }
}

double rel(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::fabs(a[i] - b[i]));
    den = std::max(den, std::fabs(b[i]));
  }
  return num / std::max(den, 1e-300);
}

// Multi-term L1 / Grunwald-Letnikov-like coefficients: K_0 > 0, K_L < 0 decaying (scaled by h^-alpha).
std::vector<double> make_K(int64_t T, double alpha, double h, bool gl) {
  std::vector<double> K(T + 1);
  const double ha = std::pow(h, -alpha);
  if (gl) {
    double w = 1.0;
    for (int64_t L = 0; L <= T; ++L) {
      K[L] = w * ha;
      w *= (L - alpha) / (L + 1.0);
    }
  } else {
    auto b = [&](int64_t j) { return std::pow(double(j + 1), 1 - alpha) - std::pow(double(j), 1 - alpha); };
    const double g = ha / std::tgamma(2 - alpha);
    K[0] = g;
    for (int64_t L = 1; L <= T; ++L) K[L] = g * (b(L) - b(L - 1));
  }
  return K;
}

}  // namespace

int main() {
  std::mt19937 rng(1234);
  struct Case {
    int64_t T, N, memory;
    NeuronKind kind;
    Surrogate sur;
    double alpha;
    bool gl, gv;
    float tau = 0.5f;
  };
  std::vector<Case> cases;
  const int64_t Ts[] = {1, 2, 7, 9, 64, 129, 300, 512, 1000};
  for (int64_t T : Ts) {
    cases.push_back({T, 45, T + 1, NeuronKind::LIF, Surrogate::Arctan, 0.6, false, true});
    cases.push_back({T, 33, T + 1, NeuronKind::IF, Surrogate::Arctan, 0.3, true, false});
    cases.push_back({T, 70, 5, NeuronKind::LIF, Surrogate::Sigmoid, 0.8, true, true});
    cases.push_back({T, 31, 1, NeuronKind::LIF, Surrogate::PiecewiseLinear, 0.5, false, false, 2.0f});  // stable: |a1| < 1
    cases.push_back({T, 64, 2, NeuronKind::LIF, Surrogate::Gaussian, 0.4, false, true});
    cases.push_back({T, 40, 77, NeuronKind::LIF, Surrogate::Arctan, 0.7, false, true});
    cases.push_back({T, 100, T + 1, NeuronKind::LIF, Surrogate::Sigmoid, 0.35, false, true, 2.0f});
  }
  // Long T (the case that failed the old gate: 5.2e-6), and many neuron blocks (several column-sum blocks).
  cases.push_back({4096, 40, 4097, NeuronKind::LIF, Surrogate::Gaussian, 0.5, false, true});
  cases.push_back({4096, 33, 4097, NeuronKind::IF, Surrogate::Arctan, 0.3, true, false});
  cases.push_back({40, 9000, 41, NeuronKind::LIF, Surrogate::Arctan, 0.6, false, true});
  std::uniform_real_distribution<float> U(-1.f, 1.f);
  for (const Case& cs : cases) {
    FractionalParams p;
    p.T = cs.T;
    p.N = cs.N;
    p.kind = cs.kind;
    p.tau = cs.tau;
    p.threshold = 1.0f;
    p.surrogate = cs.sur;
    p.scale = 5.0f;
    p.memory = cs.memory;
    const std::vector<double> K = make_K(cs.T, cs.alpha, 0.5, cs.gl);
    p.K = K.data();
    std::vector<float> I(cs.T * cs.N), gS(cs.T * cs.N), gV(cs.T * cs.N);
    for (auto& x : I) x = 1.2f + 1.5f * U(rng);
    for (auto& x : gS) x = U(rng);
    for (auto& x : gV) x = 0.1f * U(rng);
    const std::string tag = "T=" + std::to_string(cs.T) + " N=" + std::to_string(cs.N) + " M=" +
                            std::to_string(cs.memory) + (cs.kind == NeuronKind::LIF ? " lif" : " if") + " sur=" +
                            std::to_string(int(cs.sur)) + (cs.gl ? " gl" : " l1") + (cs.gv ? " gV" : "");
    const int before = g_fail;
    // CPU backend
    std::vector<float> cs_spk(I.size()), cs_v(I.size()), cs_gI(I.size());
    std::vector<double> cs_gK(cs.T + 1);
    double cs_tau = 0;
    cpu::fractional_forward(p, I.data(), cs_spk.data(), cs_v.data());
    cpu::fractional_backward(p, I.data(), cs_v.data(), cs_spk.data(), gS.data(), cs.gv ? gV.data() : nullptr, cs_gI.data(),
                             cs_gK.data(), &cs_tau);
    double rk = 0, rt = 0;
    for (int s = 0; s < 2; ++s) {
      const Result e = s == 0 ? emulate<kFracS>(p, I, gS, cs.gv ? &gV : nullptr)
                              : emulate<kFracSLong>(p, I, gS, cs.gv ? &gV : nullptr);
      const std::string t = tag + (s == 0 ? " S=8" : " S=16");
      cmp_bits("spikes", t, e.spikes, cs_spk);
      cmp_bits("v", t, e.v, cs_v);
      cmp_bits("gI", t, e.gI, cs_gI);
      const double ek = rel(e.gK, cs_gK), et = std::fabs(e.gTau - cs_tau) / std::max(std::fabs(cs_tau), 1e-30);
      rk = std::max(rk, ek);
      rt = std::max(rt, et);
      if (ek > kGate || et > kGate) {
        ++g_fail;
        std::printf("  MISMATCH %s: gK rel %.3g, gTau %.9g vs %.9g\n", t.c_str(), ek, e.gTau, cs_tau);
      }
    }
    double spk = 0;
    for (float s : cs_spk) spk += s;
    std::printf("%s %s  (spike rate %.3f, gK rel %.2g, gTau rel %.2g)\n", g_fail == before ? "ok  " : "FAIL", tag.c_str(),
                spk / double(cs_spk.size()), rk, rt);
  }
  std::printf("%s: %d mismatching case(s); cpu kernel %s\n", g_fail ? "FAILED" : "PASSED", g_fail,
              cpu::fractional_cpu_kernel());
  return g_fail ? 1 : 0;
}
