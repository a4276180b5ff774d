// cuBLAS is never linked: it is opened with dlopen the first time a GPU matmul needs it.
// Order tried: $FSNN_CUBLAS, the sonames libcublas.so.13 / .12 / libcublas.so (the loader's own search:
// LD_LIBRARY_PATH, ldconfig), then the folders where CUDA images and wheels keep it:
// /usr/local/cuda*/lib64, /usr/local/cuda*/targets/<arch>-linux/lib, and nvidia/cublas/lib of a Python
// install (the site-packages of the python3 found on the PATH, and the usual install prefixes).
// In the emulator build (FSNN_CUDA_EMU) the host GEMM of cuda/emu/cublas_emu.cc stands in for it.
#pragma once
#include <string>
#include <vector>

namespace fsnn {
namespace cublas {

// Loads the library (once) and returns its handle, or throws an error naming every path tried.
void* library();
// Resolves a symbol from the loaded library, or throws naming the symbol and the library.
void* symbol(const char* name);
// "loaded <path>", "not loaded yet", or the failure with every path tried.
std::string status();
// The candidates in the order tried (files that exist, for the folder searches).
std::vector<std::string> candidate_paths();

}  // namespace cublas
}  // namespace fsnn
