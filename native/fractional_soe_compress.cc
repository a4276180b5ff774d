// Fewer SOE nodes for the same accuracy (fractional_soe.h: compress_soe).
//
// The trapezoid rule in ln s spaces its nodes evenly over the whole range its error analysis needs; for a
// finite window of lags [L0, Lmax] that is about twice the nodes an exponential sum needs. Here the nodes
// are a geometric grid from s = 1/Lmax to s = 10^1.25/L0 plus the zero-decay node, and each weight vector is
// refit by weighted least squares to the trapezoid sums it replaces:
//   min_c  sum_r rho_r^2 (sum_q c_q exp(-s_q l_r) - t(l_r))^2,   rho_r = 1 / (the accuracy measure's scale at l_r)
// for t = K (weights summed over terms), dK/dalpha_m and dK/dw_m. The nodes depend only on (L0, Lmax, P), so
// the terms of a layer still share them. P grows from an estimate until every fit's relative error on the
// fitted lags and on the lags between them is below tol.
//
// dc/dalpha is the fit of the trapezoid's dK/dalpha, not the derivative of the fitted c (the row scales depend
// on alpha): the two differ by the fit's residual, O(tol) relative, like every other error of the SOE.
#include <algorithm>
#include <cmath>

#include "error.h"
#include "fractional_soe.h"

namespace fsnn {
namespace {

constexpr double kTopDecades = 1.25;  // highest node: 10^1.25 / L0 (measured: fewer nodes than 1 or 1.5)

// Lags l = L - L0 to fit: every l < 64, then 48 per decade up to Lmax - L0. `between` gets a lag between each
// pair of consecutive log-spaced ones (the fit is checked there too).
void fit_lags(int64_t span, std::vector<double>& lags, std::vector<double>& between) {
  for (int64_t l = 0; l <= std::min<int64_t>(span, 63); ++l) lags.push_back(double(l));
  for (double x = std::log10(64.0);; x += 1.0 / 48) {
    const double l = std::min(double(span), std::round(std::pow(10.0, x)));
    if (l > lags.back()) {
      const double mid = std::round(std::sqrt(l * lags.back()));
      if (mid > lags.back() && mid < l) between.push_back(mid);
      lags.push_back(l);
    }
    if (l >= double(span)) break;
  }
}

// sum_q c_q exp(-s_q l) (float64).
double eval_at(const std::vector<double>& s, const std::vector<double>& c, double l) {
  double sum = 0;
  for (size_t q = 0; q < s.size(); ++q) sum += c[q] * std::exp(-s[q] * l);
  return sum;
}

// One target of the fit: its values at the lags and the scale of its accuracy measure there.
struct Target {
  std::vector<double> at, scale;        // at the fitted lags
  std::vector<double> at_b, scale_b;    // between them
};

// min || diag(1/scale) (E c - t) ||_2 with E[r][q] = exp(-s_q l_r), by Householder QR (E is ill-conditioned
// but the residual is what matters, and QR gives a backward-stable one). Returns the weights and, through
// err, max |E c - t| / scale over the fitted and the in-between lags.
std::vector<double> fit_target(const std::vector<double>& s, const std::vector<double>& lags,
                               const std::vector<double>& between, const Target& t, double& err) {
  const size_t R = lags.size(), P = s.size();
  double tmax = 0;
  for (double v : t.at) tmax = std::max(tmax, std::fabs(v));
  std::vector<double> c(P, 0.0);
  if (tmax == 0) {  // an identically zero kernel (l1 or gl at alpha = 1)
    err = 0;
    return c;
  }
  std::vector<double> A(R * P), b(R);  // row-major, scaled rows
  for (size_t r = 0; r < R; ++r) {
    const double w = 1.0 / t.scale[r];
    for (size_t q = 0; q < P; ++q) A[r * P + q] = w * std::exp(-s[q] * lags[r]);
    b[r] = w * t.at[r];
  }
  std::vector<double> diag(P);
  for (size_t k = 0; k < P; ++k) {  // Householder reflection of column k, rows k..R-1
    double norm = 0;
    for (size_t r = k; r < R; ++r) norm = std::hypot(norm, A[r * P + k]);
    const double alpha = A[k * P + k] > 0 ? -norm : norm;
    diag[k] = alpha;
    if (norm == 0) continue;
    A[k * P + k] -= alpha;  // v = x - alpha e_k, stored in column k
    double vv = 0;
    for (size_t r = k; r < R; ++r) vv += A[r * P + k] * A[r * P + k];
    if (vv == 0) continue;
    for (size_t j = k + 1; j < P; ++j) {
      double d = 0;
      for (size_t r = k; r < R; ++r) d += A[r * P + k] * A[r * P + j];
      const double f = 2 * d / vv;
      for (size_t r = k; r < R; ++r) A[r * P + j] -= f * A[r * P + k];
    }
    double d = 0;
    for (size_t r = k; r < R; ++r) d += A[r * P + k] * b[r];
    const double f = 2 * d / vv;
    for (size_t r = k; r < R; ++r) b[r] -= f * A[r * P + k];
  }
  for (size_t k = P; k-- > 0;) {  // R c = Q^T b
    double sum = b[k];
    for (size_t j = k + 1; j < P; ++j) sum -= A[k * P + j] * c[j];
    c[k] = diag[k] != 0 ? sum / diag[k] : 0.0;
  }
  err = 0;
  for (size_t r = 0; r < R; ++r) err = std::max(err, std::fabs(eval_at(s, c, lags[r]) - t.at[r]) / t.scale[r]);
  for (size_t r = 0; r < between.size(); ++r)
    err = std::max(err, std::fabs(eval_at(s, c, between[r]) - t.at_b[r]) / t.scale_b[r]);
  return c;
}

// The zero node and P - 1 nodes from 1/Lmax to 10^kTopDecades / L0, evenly spaced in ln s.
std::vector<double> geometric_nodes(int64_t L0, int64_t Lmax, size_t P) {
  std::vector<double> s(P, 0.0);
  const double lo = std::log(1.0 / double(Lmax)), hi = std::log(std::pow(10.0, kTopDecades) / double(L0));
  for (size_t q = 1; q < P; ++q) s[q] = std::exp(lo + (hi - lo) * double(q - 1) / double(std::max<size_t>(P - 2, 1)));
  return s;
}

}  // namespace

SoeApprox compress_soe(const SoeApprox& fine, const std::vector<double>& weights, double tol) {
  const size_t terms = fine.dc_dalpha.size();
  if (weights.size() != terms) fail("compress_soe: ", weights.size(), " weights for ", terms, " terms");
  if (!(tol >= 1e-12 && tol <= 1e-3)) fail("compress_soe: tol = ", tol, " must be in [1e-12, 1e-3]");
  const int64_t span = fine.Lmax - fine.L0;
  std::vector<double> lags, between;
  fit_lags(span, lags, between);

  // The targets from the fine sums, with the scales of README-soe.md's accuracy measure (floored at 1e-12 of
  // the value at L0): K against sum_m |K_m|; dK/dalpha_m against max(|dK/dalpha_m|, |K_m|); dK/dw_m against itself.
  auto values = [&](const std::vector<double>& c, const std::vector<double>& at) {
    std::vector<double> v(at.size());
    for (size_t r = 0; r < at.size(); ++r) v[r] = eval_at(fine.s, c, at[r]);
    return v;
  };
  std::vector<Target> targets(1 + 2 * terms);
  Target& K = targets[0];
  K.at = values(fine.c, lags);
  K.at_b = values(fine.c, between);
  K.scale.assign(lags.size(), 0.0);
  K.scale_b.assign(between.size(), 0.0);
  for (size_t m = 0; m < terms; ++m) {
    Target& dw = targets[1 + 2 * m];
    Target& da = targets[2 + 2 * m];
    dw.at = values(fine.dc_dweight[m], lags);
    dw.at_b = values(fine.dc_dweight[m], between);
    da.at = values(fine.dc_dalpha[m], lags);
    da.at_b = values(fine.dc_dalpha[m], between);
    da.scale.resize(lags.size());
    da.scale_b.resize(between.size());
    for (size_t r = 0; r < lags.size(); ++r) {
      const double Km = std::fabs(weights[m] * dw.at[r]);
      K.scale[r] += Km;
      da.scale[r] = std::max(std::fabs(da.at[r]), Km);
    }
    for (size_t r = 0; r < between.size(); ++r) {
      const double Km = std::fabs(weights[m] * dw.at_b[r]);
      K.scale_b[r] += Km;
      da.scale_b[r] = std::max(std::fabs(da.at_b[r]), Km);
    }
    dw.scale = dw.at;
    dw.scale_b = dw.at_b;
    for (double& x : dw.scale) x = std::fabs(x);
    for (double& x : dw.scale_b) x = std::fabs(x);
  }
  for (Target& t : targets) {  // the floor: 1e-12 of the scale at L0 (for the lags between, the same floor)
    const double floor = 1e-12 * std::max(t.scale[0], 1e-300);
    for (double& x : t.scale) x = std::max(x, floor);
    for (double& x : t.scale_b) x = std::max(x, floor);
  }

  // P from an estimate, growing until every target fits; the trapezoid set itself when no smaller one does.
  // At tol 3e-8 and L0 = 4 the fits need 18-19 nodes at Lmax = 256, 24-25 at 4096, 31-32 at 65536 and 41-44
  // at 1e7 (benchmarks/native/soe_check.cc): about 9.5 + 5 per decade of Lmax / L0.
  const double decades = std::log10(double(std::max<int64_t>(fine.Lmax, 2)) / double(fine.L0));
  const double digits = std::max(0.0, std::log10(3e-8 / tol));  // a tighter tol needs more nodes
  const size_t start = size_t(std::max(6.0, std::floor(9.5 + 5.0 * decades + 4.0 * digits)));
  for (size_t P = start; P < fine.nodes(); ++P) {
    const std::vector<double> s = geometric_nodes(fine.L0, fine.Lmax, P);
    std::vector<std::vector<double>> fits;
    bool ok = true;
    for (const Target& t : targets) {
      double err = 0;
      fits.push_back(fit_target(s, lags, between, t, err));
      if (!(err <= tol)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    SoeApprox a = fine;
    a.tol = tol;
    a.du = std::log(s[P - 1] / s[1]) / double(std::max<size_t>(P - 2, 1));
    a.s = s;
    a.decay.resize(P);
    for (size_t q = 0; q < P; ++q) a.decay[q] = std::exp(-s[q]);
    a.c = fits[0];
    for (size_t m = 0; m < terms; ++m) {
      a.dc_dweight[m] = fits[1 + 2 * m];
      a.dc_dalpha[m] = fits[2 + 2 * m];
    }
    return a;
  }
  return fine;
}

}  // namespace fsnn
