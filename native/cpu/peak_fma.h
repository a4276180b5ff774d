// Measured single-precision FMA peak of this machine, reported beside the GEMM and
// fractional-kernel benchmarks so their GFLOP/s can be read as a fraction of what the cores can do.
#pragma once

namespace fsnn {
namespace cpu {

// Runs independent chains of vector FMAs on `threads` threads (std::thread, started together) for
// about `seconds` in all and returns the total rate in GFLOP/s, counting 2 flops per FMA lane.
// The time is cut into runs of 50 ms and the best run is reported (other processes on a shared
// machine can only slow a run down).
// Uses 8-wide AVX2 FMA where the CPU has it (run-time check, no -march needed); elsewhere a portable
// multiply-add loop that the compiler vectorises for the build's baseline ISA.
// threads <= 0 means fsnn::cpu::num_threads(); seconds <= 0 means 0.2.
double measure_peak_gflops(int threads, double seconds);

// Which loop measure_peak_gflops runs here: "avx2-fma" or "generic".
const char* peak_fma_kernel();

}  // namespace cpu
}  // namespace fsnn
