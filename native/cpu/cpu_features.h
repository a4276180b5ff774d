// What the CPU the addon runs on can do, for the kernels that pick an AVX2 + FMA body at run time (the
// addon is built without -march, so those bodies carry a function-level target attribute instead).
#pragma once

namespace fsnn {
namespace cpu {

// True on x86-64 CPUs with AVX2 and FMA (checked once); false elsewhere.
inline bool cpu_has_avx2_fma() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace cpu
}  // namespace fsnn
