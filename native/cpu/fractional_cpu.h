// CPU implementation of the fractional neuron op (equations in ../fractional_op.h).
//
// Layout: every [T, N] array is time-major, element (k, n) at k * N + n, dense.
//
// Design:
//  * Neurons are processed in blocks of 24 (three 8-float vectors). Each block keeps its history
//    v_0..v_T contiguous in a private [T+1][24] buffer, so the O(T^2) history sum
//    sum_L K_L v_{k+1-L} reads only cache-resident memory and is vectorised over the block.
//  * The sum is register-tiled over 4 future time steps: for steps k0..k0+3 the part of each sum
//    that uses history up to v_k0 is one sweep (12 accumulators; each loaded history vector feeds
//    4 FMAs, each broadcast coefficient 3), then the small triangle inside the tile is finished step
//    by step. The step itself is arranged so that v_k -> v_{k+1} is one FMA, a compare and a blend.
//  * The backward runs the same scheme in reverse time on q_j = dL/df_j, then a register-tiled
//    correlation of q with the history gives dL/dK.
//  * Memory: workers take slabs of up to ~1000 neurons (whole cache lines per row), copy the slab's
//    rows into a contiguous staging buffer, compute there and copy the results back (non-temporal
//    stores for outputs of 16 MiB or more). This keeps the strided [T, N] traffic efficient even when
//    N is a power of two (every row of a column then maps to the same cache sets).
//  * Slabs are handed out to fsnn::cpu::parallel_for's threads dynamically. Reductions (gK, gTau)
//    go through at most 256 fixed groups of slabs, each summed in a fixed order, then added in a
//    fixed order: results do not depend on the number of threads.
//  * The AVX2+FMA kernels are compiled with a function-level target attribute and picked at run
//    time; elsewhere a portable build of the same code runs (no -march flag needed).
//
// Rounding: the loops run in float32 (K is converted once). The step is evaluated in an algebraically
// identical but re-associated form (see fractional_cpu.cc), and the history is summed oldest first,
// so v can differ from a literal float32 evaluation by a few ulps per step; a spike can then differ
// only where x_k is within that rounding of the threshold.
#pragma once
#include <cstdint>

#include "../fractional_op.h"

namespace fsnn {
namespace cpu {

// Forward over all T steps.
//   I, spikes: [T, N] (I: [N] when p.static_input, the same current at every step). v: [T, N] receives v_1..v_T (row k holds v_{k+1}), or nullptr when nothing is
//   to be saved (inference; the history then lives only in per-thread buffers). K: p.K[0..T]
//   (float64, converted to float32 once); the loop runs in float32.
// Throws fsnn::Error for invalid parameters (T or N < 0, memory < 1, tau == 0, K null or K[0] == 0,
// null arrays).
void fractional_forward(const FractionalParams& p, const float* I, float* spikes, float* v);

// Exact discrete adjoint of fractional_forward (the spike in f is detached; ds/dx is the surrogate).
//   I, v, spikes: as given to / saved by the forward. gS: dL/ds [T, N]. gV: dL/dv_1..v_T [T, N]
//   (row k is dL/dv_{k+1}) or nullptr (zero).
//   Writes gI [T, N] (with p.static_input: I and gI are [N], gI = sum_k dL/dI_k in float64, k ascending);
//   gK [T + 1] (dL/dK_L summed over all neurons in the order fractional_op.h defines:
//   float32 chunks of 128 steps per neuron, then float64; 0 for L > min(T-1, M-1)); *gTau (dL/dtau
//   summed over all neurons, likewise) when gTau != nullptr. gK must not be nullptr.
void fractional_backward(const FractionalParams& p, const float* I, const float* v, const float* spikes,
                         const float* gS, const float* gV, float* gI, double* gK, double* gTau);

// Name of the kernel variant in use, e.g. "avx2-fma 24x4" or "generic 24x4" (neurons per block x
// time steps per register tile).
const char* fractional_cpu_kernel();

// For tests and benchmarks: force the portable kernels even where AVX2/FMA is available (false
// restores run-time dispatch). Not meant for use concurrently with running ops.
void fractional_cpu_force_generic(bool force);

}  // namespace cpu
}  // namespace fsnn
