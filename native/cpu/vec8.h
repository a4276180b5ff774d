// The 8-float GNU vector (one AVX2 register, or two SSE/NEON halves where the target has no AVX) and its
// unaligned load and store, for the CPU kernels written with GCC/Clang vector extensions.
#pragma once
#include <cstring>

#if !(defined(__GNUC__) || defined(__clang__))
#error "native/cpu/vec8.h needs GCC/Clang vector extensions"
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"  // 32-byte vectors passed by value: ABI note, not an error
#endif

namespace fsnn {
namespace cpu {

typedef float v8 __attribute__((vector_size(32)));

// Unaligned: one 32-byte copy each (a vmovups under AVX).
inline __attribute__((always_inline)) v8 load8(const float* p) {
  v8 r;
  std::memcpy(&r, p, sizeof(r));
  return r;
}
inline __attribute__((always_inline)) void store8(float* p, const v8& x) { std::memcpy(p, &x, sizeof(x)); }

}  // namespace cpu
}  // namespace fsnn
