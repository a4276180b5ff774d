#include "cublas_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace fsnn {
namespace cublas {

namespace {
std::mutex g_mu;
void* g_handle = nullptr;
std::string g_status = "not loaded yet";
}  // namespace

void* library() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_handle) return g_handle;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("FSNN_CUBLAS")) candidates.push_back(env);
  candidates.insert(candidates.end(), {"libcublas.so.13", "libcublas.so.12", "libcublas.so"});
  std::string tried;
  for (const auto& path : candidates) {
    if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      g_handle = h;
      g_status = "loaded " + path;
      return h;
    }
    const char* err = dlerror();
    tried += "\n  " + path + ": " + (err ? err : "not found");
  }
  g_status = "cuBLAS could not be loaded; tried:" + tried +
             "\nInstall the CUDA toolkit's cuBLAS (libcublas) or set FSNN_CUBLAS to the full path of libcublas.so";
  throw std::runtime_error(g_status);
}

void* symbol(const char* name) {
  void* h = library();
  void* s = dlsym(h, name);
  if (!s) throw std::runtime_error(std::string("cuBLAS: symbol ") + name + " not found in the loaded library (" + g_status + ")");
  return s;
}

std::string status() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_status;
}

}  // namespace cublas
}  // namespace fsnn
