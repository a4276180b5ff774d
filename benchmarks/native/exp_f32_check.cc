// Checks native/exp_f32.h's exp_f32 (the surrogates' exp, which must round alike on the CPU and the
// GPU): every k-th float of [-104, 89] (k = argv[1], default 1: all 2.3e9) through a loop the compiler
// may vectorize, against exp in float64 rounded to float32, plus the special inputs. Prints
//   checked N max_ulp U over1 C digest D specials ok|FAILED
// (D: a hash of every result's bits, so that builds with different flags can be compared) and exits 1
// when an error exceeds 1 ulp or a special input is wrong.
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "exp_f32.h"

namespace {
uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}
float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
// Position of a non-negative float on the integer line (exp is never negative).
int64_t ulp_index(float f) { return int64_t(bits(f)); }

void run_block(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = fsnn::exp_f32(x[i]);
}
}  // namespace

int main(int argc, char** argv) {
  const uint32_t stride = argc > 1 ? uint32_t(std::strtoul(argv[1], nullptr, 10)) : 1;
  if (stride == 0) return 2;
  // The floats of [-104, 89], walked by bit pattern: negatives from -104 up to -0, then +0 up to 89.
  std::vector<float> xs, ys;
  xs.reserve(1 << 20);
  uint64_t checked = 0, over1 = 0, digest = 1469598103934665603ull;
  int64_t max_ulp = 0;
  float worst = 0.0f;
  auto flush = [&]() {
    ys.resize(xs.size());
    run_block(xs.data(), ys.data(), xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      const float want = float(std::exp(double(xs[i])));
      const int64_t d = std::llabs(ulp_index(ys[i]) - ulp_index(want));
      if (d > max_ulp) max_ulp = d, worst = xs[i];
      if (d > 1) ++over1;
      digest = (digest ^ bits(ys[i])) * 1099511628211ull;
    }
    checked += xs.size();
    xs.clear();
  };
  const uint32_t neg_end = bits(-104.0f), pos_end = bits(89.0f);
  for (uint64_t b = 0x80000000u; b <= neg_end; b += stride) {
    xs.push_back(from_bits(uint32_t(b)));
    if (xs.size() == xs.capacity()) flush();
  }
  for (uint64_t b = 0; b <= pos_end; b += stride) {
    xs.push_back(from_bits(uint32_t(b)));
    if (xs.size() == xs.capacity()) flush();
  }
  flush();
  // Special inputs: NaN, the infinities, both ends of the range and past them.
  const float inf = INFINITY;
  bool ok = std::isnan(fsnn::exp_f32(NAN)) && fsnn::exp_f32(inf) == inf && fsnn::exp_f32(-inf) == 0.0f &&
            fsnn::exp_f32(0.0f) == 1.0f && fsnn::exp_f32(-0.0f) == 1.0f && fsnn::exp_f32(88.72284f) == inf &&
            fsnn::exp_f32(89.0f) == inf && fsnn::exp_f32(1000.0f) == inf && fsnn::exp_f32(-104.0f) == 0.0f &&
            fsnn::exp_f32(-1000.0f) == 0.0f && std::isfinite(fsnn::exp_f32(88.72283f)) &&
            fsnn::exp_f32(-103.0f) > 0.0f;
  std::printf("checked %" PRIu64 " max_ulp %" PRId64 " (x = %.9g) over1 %" PRIu64 " digest %016" PRIx64 " specials %s\n",
              checked, max_ulp, double(worst), over1, digest, ok ? "ok" : "FAILED");
  return ok && max_ulp <= 1 ? 0 : 1;
}
