// What the CPU the addon runs on can do, for the kernels that pick an AVX2 + FMA body at run time (the
// addon is built without -march, so those bodies carry a function-level target attribute instead).
#pragma once
#include <cstdlib>

namespace fsnn {
namespace cpu {

// True on x86-64 CPUs with AVX2 and FMA (checked once), unless the environment sets FSNN_CPU_NO_AVX2=1: every
// kernel then runs its portable body (as on a CPU without AVX2; tests compare those bodies); false elsewhere.
inline bool cpu_has_avx2_fma() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = [] {
    __builtin_cpu_init();
    const char* off = std::getenv("FSNN_CPU_NO_AVX2");
    if (off && off[0] == '1') return false;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

// True on x86-64 CPUs (and kernels) with AVX-512F, AVX-512DQ, AVX2 and FMA, checked once (GCC's check includes
// the kernel's ZMM state support), unless the environment sets FSNN_CPU_NO_AVX512=1: the kernels with an
// AVX-512 body (the fast fractional history, the column sums, the linear weight+bias gradient; each the same
// bits as its AVX2 body) then run the AVX2 one.
inline bool cpu_has_avx512() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = [] {
    __builtin_cpu_init();
    const char* off = std::getenv("FSNN_CPU_NO_AVX512");
    if (off && off[0] == '1') return false;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && cpu_has_avx2_fma();
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace cpu
}  // namespace fsnn

// FSNN_CPU_DISPATCH(name, params, args, body) defines `void name params`, which runs `body args` compiled
// for AVX-512, for AVX2 + FMA and portably, picking the widest the CPU has (cpu_has_avx512, then
// cpu_has_avx2_fma). body must be always_inline, so that each copy is compiled for its target. The same
// source runs in each: the wider copies do the same operations in wider registers, so they give the same bits
// wherever body's order of operations does not depend on the vector width.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FSNN_CPU_DISPATCH(name, params, args, body)                                     \
  __attribute__((target("avx512f,avx512dq,avx2,fma"))) inline void name##_avx512 params { \
    body args;                                                                          \
  }                                                                                     \
  __attribute__((target("avx2,fma"))) inline void name##_avx2 params { body args; }      \
  inline void name params {                                                             \
    if (::fsnn::cpu::cpu_has_avx512()) return name##_avx512 args;                       \
    if (::fsnn::cpu::cpu_has_avx2_fma()) return name##_avx2 args;                       \
    body args;                                                                          \
  }
// FSNN_CPU_DISPATCH_LANES: the same, for a body templated on its vector width in floats, body<W>: 16 in the
// AVX-512 copy, 8 in the AVX2 one and 4 in the portable one (GCC lowers a GNU vector wider than the target's
// registers poorly).
#define FSNN_CPU_DISPATCH_LANES(name, params, args, body)                                         \
  __attribute__((target("avx512f,avx512dq,avx2,fma"))) inline void name##_avx512 params {       \
    body<16> args;                                                                              \
  }                                                                                             \
  __attribute__((target("avx2,fma"))) inline void name##_avx2 params { body<8> args; }           \
  inline void name params {                                                                     \
    if (::fsnn::cpu::cpu_has_avx512()) return name##_avx512 args;                               \
    if (::fsnn::cpu::cpu_has_avx2_fma()) return name##_avx2 args;                               \
    body<4> args;                                                                               \
  }
#else
#define FSNN_CPU_DISPATCH(name, params, args, body) \
  inline void name params { body args; }
#define FSNN_CPU_DISPATCH_LANES(name, params, args, body) \
  inline void name params { body<4> args; }
#endif
