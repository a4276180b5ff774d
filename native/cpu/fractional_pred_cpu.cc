// CPU predictor (method 'pred'): see fractional_pred_cpu.h.
#include "fractional_pred_cpu.h"

#include <algorithm>
#include <vector>

#include "../error.h"
#include "../fractional_history.h"
#include "../fractional_pred_fast_neuron.h"
#include "../fractional_pred_neuron.h"
#include "parallel.h"

namespace fsnn {
namespace cpu {
namespace {

constexpr int64_t kPredGroups = 64;  // fixed neuron groups of the float64 sums

std::vector<float> float_kernel(const FractionalParams& p) {
  if (p.T > 0 && p.K == nullptr) fail("fractional pred: kernel K (length T + 1) is missing");
  std::vector<float> b(size_t(p.T) + 1, 0.0f);
  for (int64_t L = 1; L <= p.T; ++L) b[size_t(L)] = float(p.K[L]);
  return b;
}

void check_params(const char* op, const FractionalParams& p) {
  if (!p.predictor) fail(op, ": called for a method that is not 'pred'");
  if (p.T < 0 || p.N < 0) fail(op, ": T and N must be >= 0 (got T=", p.T, ", N=", p.N, ")");
  if (p.memory < 1) fail(op, ": memory must be >= 1 (got ", p.memory, ")");
  if (!(p.tau != 0.0f)) fail(op, ": tau must be nonzero (got ", p.tau, ")");
}

// The fast history's constants; near receives b_1..b_{L0-1} (0 past T).
PredFastConsts make_fast_consts(const char* op, const FractionalParams& p, std::vector<float>& near) {
  const FractionalFastHistory& f = *p.fast;
  if (p.memory < p.T + 1) fail(op, ": the fast history needs the full history (memory ", p.memory, " < T + 1)");
  if (p.T > 0 && p.K == nullptr) fail(op, ": kernel K (length T + 1) is missing");
  if (f.L0 < 2 || f.Q < 1 || int64_t(f.c.size()) != f.Q || int64_t(f.mu.size()) != f.Q || f.mu[0] != 0.0f)
    fail(op, ": malformed fast history (L0 ", f.L0, ", Q ", f.Q, ")");
  near.assign(size_t(f.L0), 0.0f);
  for (int64_t L = 1; L < f.L0 && L <= p.T; ++L) near[size_t(L)] = float(p.K[L]);
  return make_pred_fast_consts(p, f.L0, f.Q, near.data(), f.c.data(), f.mu.data());
}

void pred_fast_forward(const FractionalParams& p, const float* I, float* spikes, float* v) {
  std::vector<float> near;
  const PredFastConsts c = make_fast_consts("fractional_pred_forward", p, near);
  parallel_for(p.N, 16, [&](int64_t n0, int64_t n1) {
    std::vector<float> H(size_t(c.Q)), ring(size_t(c.mask + 1));
    for (int64_t n = n0; n < n1; ++n) pred_fast_forward_neuron(c, n, I, spikes, v, H.data(), ring.data());
  });
}

// gK [L0 + Q] (zeroed by the caller).
void pred_fast_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes, const float* gS,
                        const float* gV, float* gI, double* gK, double* gTau) {
  std::vector<float> near;
  const PredFastConsts c = make_fast_consts("fractional_pred_backward", p, near);
  const int64_t N = p.N, W = c.L0 + c.Q;
  const int64_t groups = std::min<int64_t>(N, kPredGroups);
  std::vector<double> gk_groups(size_t(groups * W), 0.0), gtau_groups(size_t(groups), 0.0);
  parallel_for(groups, 1, [&](int64_t g0, int64_t g1) {
    std::vector<float> P(size_t(c.Q)), ring(size_t(c.mask + 1));
    for (int64_t g = g0; g < g1; ++g) {
      double* gk = gk_groups.data() + g * W;
      for (int64_t n = g * N / groups; n < (g + 1) * N / groups; ++n)
        gtau_groups[size_t(g)] +=
            pred_fast_backward_neuron(c, n, I, v, spikes, gS, gV, gI, P.data(), ring.data(), gk, gk + c.L0);
    }
  });
  for (int64_t g = 0; g < groups; ++g) {  // group order: independent of the threads
    for (int64_t i = 0; i < W; ++i) gK[i] += gk_groups[size_t(g * W + i)];
    if (gTau) *gTau += gtau_groups[size_t(g)];
  }
}

}  // namespace

void fractional_pred_forward(const FractionalParams& p, const float* I, float* spikes, float* v) {
  check_params("fractional_pred_forward", p);
  if (p.T == 0 || p.N == 0) return;
  if (!I || !spikes) fail("fractional_pred_forward: I and spikes must not be null");
  if (p.fast) return pred_fast_forward(p, I, spikes, v);
  const std::vector<float> b = float_kernel(p);
  const PredConsts c = make_pred_consts(p, b.data());
  parallel_for(p.N, 16, [&](int64_t n0, int64_t n1) {
    std::vector<float> F(static_cast<size_t>(c.T));
    for (int64_t n = n0; n < n1; ++n) pred_forward_neuron(c, n, I, spikes, v, F.data(), 1);
  });
}

void fractional_pred_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes,
                              const float* gS, const float* gV, float* gI, double* gK, double* gTau) {
  check_params("fractional_pred_backward", p);
  if (gK == nullptr) fail("fractional_pred_backward: gK (length T + 1) is required");
  const int64_t T = p.T, N = p.N;
  std::fill(gK, gK + (p.fast ? p.fast->width() : T + 1), 0.0);
  if (gTau) *gTau = 0.0;
  if (T == 0 || N == 0) return;
  if (!I || !v || !spikes || !gS || !gI)
    fail("fractional_pred_backward: I, v, spikes, gS and gI must not be null (v is the trace saved by the forward)");
  if (p.fast) return pred_fast_backward(p, I, v, spikes, gS, gV, gI, gK, gTau);
  const std::vector<float> b = float_kernel(p);
  const PredConsts c = make_pred_consts(p, b.data());
  const int64_t groups = std::min<int64_t>(N, kPredGroups);
  std::vector<double> gk_groups(size_t(groups) * size_t(T + 1), 0.0), gtau_groups(size_t(groups), 0.0);
  parallel_for(groups, 1, [&](int64_t g0, int64_t g1) {
    std::vector<float> F(static_cast<size_t>(T)), U(static_cast<size_t>(T));
    for (int64_t g = g0; g < g1; ++g) {
      double* gk = gk_groups.data() + g * (T + 1);
      for (int64_t n = g * N / groups; n < (g + 1) * N / groups; ++n) {
        gtau_groups[size_t(g)] += pred_backward_neuron(c, n, I, v, spikes, gS, gV, gI, F.data(), U.data(), 1);
        for (int64_t L = 1; L <= c.M; ++L) gk[L] += pred_grad_b_neuron(c, L, F.data(), U.data(), 1);
      }
    }
  });
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t L = 0; L <= T; ++L) gK[L] += gk_groups[size_t(g * (T + 1) + L)];
    if (gTau) *gTau += gtau_groups[size_t(g)];
  }
}

}  // namespace cpu
}  // namespace fsnn
