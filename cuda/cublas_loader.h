// cuBLAS is never linked: it is opened with dlopen the first time a GPU matmul needs it.
// Order tried: $FSNN_CUBLAS, libcublas.so.13, libcublas.so.12, libcublas.so.
#pragma once
#include <string>

namespace fsnn {
namespace cublas {

// Loads the library (once) and returns its handle, or throws an error naming every path tried.
void* library();
// Resolves a symbol from the loaded library, or throws naming the symbol and the library.
void* symbol(const char* name);
// "loaded <path>", "not loaded yet", or the failure with every path tried.
std::string status();

}  // namespace cublas
}  // namespace fsnn
