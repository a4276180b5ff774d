// Philox4x32-10, a counter-based generator: the same (seed, counter) gives the same numbers on any
// device. Mapping of element idx (shared with lib/random/philox.ts; the tests compare them):
//   uniform:  block b = idx / 4, lane idx % 4, counter (b_lo, b_hi, 0, 0);  u = (x >> 8) * 2^-24
//   normal:   block b = idx / 2, counter (b_lo, b_hi, 1, 0);  u1 = ((x0 >> 8) + 1) * 2^-24, u2 = (x1 >> 8) * 2^-24
//             r = sqrt(-2 ln u1);  even idx: r cos(2 pi u2), odd idx: r sin(2 pi u2)   (in double, rounded to float)
//   key = (seed mod 2^32, seed / 2^32)
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define FSNN_PHILOX_HD __host__ __device__
#else
#define FSNN_PHILOX_HD
#endif

namespace fsnn {

struct PhiloxBlock {
  uint32_t x[4];
};

FSNN_PHILOX_HD inline PhiloxBlock philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                                uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  PhiloxBlock out;
  out.x[0] = c0;
  out.x[1] = c1;
  out.x[2] = c2;
  out.x[3] = c3;
  return out;
}

// The uniform block b: elements 4b .. 4b + 3 (a loop over consecutive elements computes it once per 4).
FSNN_PHILOX_HD inline PhiloxBlock philox_uniform_block(uint64_t seed, uint64_t b) {
  return philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 0, 0, static_cast<uint32_t>(seed),
                       static_cast<uint32_t>(seed >> 32));
}
// Element idx of its uniform block r = philox_uniform_block(seed, idx / 4).
FSNN_PHILOX_HD inline float philox_uniform_of(const PhiloxBlock& r, uint64_t idx) {
  return static_cast<float>(r.x[idx & 3] >> 8) * (1.0f / 16777216.0f);
}
FSNN_PHILOX_HD inline float philox_uniform(uint64_t seed, uint64_t idx) {
  return philox_uniform_of(philox_uniform_block(seed, idx >> 2), idx);
}

// The polar pair of normal block b (elements 2b, 2b + 1): radius sqrt(-2 ln u1) and angle 2 pi u2.
struct PhiloxPolar {
  double radius, angle;
};
FSNN_PHILOX_HD inline PhiloxPolar philox_normal_block(uint64_t seed, uint64_t b) {
  const PhiloxBlock r = philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 1, 0,
                                      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  const double u1 = (static_cast<double>(r.x[0] >> 8) + 1.0) * (1.0 / 16777216.0);
  const double u2 = static_cast<double>(r.x[1] >> 8) * (1.0 / 16777216.0);
  return {sqrt(-2.0 * log(u1)), 6.283185307179586 * u2};
}
// Element idx of its normal block p = philox_normal_block(seed, idx / 2).
FSNN_PHILOX_HD inline float philox_normal_of(const PhiloxPolar& p, uint64_t idx) {
  return static_cast<float>((idx & 1) ? p.radius * sin(p.angle) : p.radius * cos(p.angle));
}
FSNN_PHILOX_HD inline float philox_normal(uint64_t seed, uint64_t idx) {
  return philox_normal_of(philox_normal_block(seed, idx >> 1), idx);
}

}  // namespace fsnn
