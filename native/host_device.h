// FSNN_HD marks a function that nvcc compiles for both the host and the device; the host compiler
// (and the CUDA emulator) sees a plain inline function.
#pragma once

#ifdef __CUDACC__
#define FSNN_HD __host__ __device__
#else
#define FSNN_HD
#endif
