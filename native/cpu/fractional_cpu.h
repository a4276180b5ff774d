// CPU implementation of the fractional neuron op (equations in ../fractional_op.h).
//
// Layout: every [T, N] array is time-major, element (k, n) at k * N + n, dense.
//
// Design: neurons are processed in blocks of kBlock (a multiple of the 8-float vector). Each block
// keeps its own history v_0..v_T contiguous in a private [T+1][block] buffer, so the O(T^2) history
// sum  sum_L K_L v_{k+1-L}  reads only cache-resident memory and is vectorised over the block's
// neurons. The sum is register-tiled over several future time steps at once: for steps k0..k0+R-1 the
// part of each sum that uses history up to v_{k0} is one GEMM-like sweep (each loaded history vector
// feeds R accumulators), then the small triangle inside the tile is finished step by step. The
// backward runs the same scheme in reverse time on q_j = dL/df_j, then a register-tiled correlation
// of q with the history gives dL/dK. Blocks are handed out to fsnn::cpu::parallel_for's threads
// dynamically; reductions (gK, gTau) go through fixed groups of blocks summed in a fixed order, so
// results do not depend on the number of threads.
//
// The AVX2+FMA kernels are compiled with a function-level target attribute and picked at run time;
// elsewhere a portable build of the same code runs (no -march flag needed).
#pragma once
#include <cstdint>

#include "../fractional_op.h"

namespace fsnn {
namespace cpu {

// Forward over all T steps.
//   I, spikes: [T, N]. v: [T, N] receives v_1..v_T (row k holds v_{k+1}), or nullptr when nothing is
//   to be saved (inference). K: p.K[0..T] (float64, converted to float32 once); the loop runs in float32.
// Throws fsnn::Error for invalid parameters (T or N < 0, memory < 1, tau == 0, K[0] == 0, K null).
void fractional_forward(const FractionalParams& p, const float* I, float* spikes, float* v);

// Exact discrete adjoint of fractional_forward (the spike in f is detached; ds/dx is the surrogate).
//   I, v, spikes: as given to / saved by the forward. gS: dL/ds [T, N]. gV: dL/dv_1..v_T [T, N]
//   (row k is dL/dv_{k+1}) or nullptr (zero).
//   Writes gI [T, N]; gK [T + 1] (dL/dK_L summed over all neurons; 0 for L > min(T-1, M-1));
//   *gTau (dL/dtau summed over all neurons) when gTau != nullptr. gK must not be nullptr.
void fractional_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes,
                         const float* gS, const float* gV, float* gI, double* gK, double* gTau);

// Name of the kernel variant in use, e.g. "avx2-fma 16x4" or "generic 16x4" (neurons per block x
// time steps per register tile).
const char* fractional_cpu_kernel();

// For tests and benchmarks: force the portable kernels even where AVX2/FMA is available (false
// restores run-time dispatch). Not meant for use concurrently with running ops.
void fractional_cpu_force_generic(bool force);

}  // namespace cpu
}  // namespace fsnn
