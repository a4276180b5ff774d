// The order in which the fast history's far sum adds its Q states, shared by the CPU kernel
// (cpu/fractional_fast_cpu.cc) and the CUDA kernels (cuda/cuda_fractional_fast.cu):
//   sum_{q>=1} c_q S_q = (a0 + a1) + (a2 + a3),  state q into a_{(q-1) mod 4} over whole groups of four,
//   the rest into a_0;
// four dependent chains of Q/4 multiply-adds per step instead of one of Q.
#pragma once
#include <cstdint>

namespace fsnn {

#ifdef __CUDACC__
#define FSNN_ORDER_INLINE __host__ __device__ __forceinline__
#define FSNN_ORDER_UNROLL _Pragma("unroll")
#else
#define FSNN_ORDER_INLINE inline __attribute__((always_inline))
#define FSNN_ORDER_UNROLL
#endif

// one(q, r) for the decaying states q = 1 .. Q - 1, r the accumulator state q's term goes into.
// QU = 0: runtime loops (the CPU kernel, the generic CUDA kernels). QU > 0: unrolled up to QU states
// (q < QU only; Q <= QU), so that a register array indexed by q stays in registers.
template <int QU = 0, class Fn>
FSNN_ORDER_INLINE void for_each_decaying_state(int64_t Q, const Fn& one) {
  if constexpr (QU == 0) {
    int64_t q = 1;
    for (; q + 3 < Q; q += 4) {
      one(q, 0);
      one(q + 1, 1);
      one(q + 2, 2);
      one(q + 3, 3);
    }
    for (; q < Q; ++q) one(q, 0);
  } else {
    FSNN_ORDER_UNROLL
    for (int q = 1; q < QU; q += 4) {
      if (q + 3 < Q) {  // (q + k < QU: true whenever this runs; it keeps the unrolled indices in bounds)
        one(q, 0);
        if (q + 1 < QU) one(q + 1, 1);
        if (q + 2 < QU) one(q + 2, 2);
        if (q + 3 < QU) one(q + 3, 3);
      } else {  // the rest (at most three), into accumulator 0
        if (q < Q) one(q, 0);
        if (q + 1 < QU && q + 1 < Q) one(q + 1, 0);
        if (q + 2 < QU && q + 2 < Q) one(q + 2, 0);
      }
    }
  }
}

}  // namespace fsnn
