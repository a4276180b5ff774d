// Where the run-time loaders (cuBLAS: cuda/cublas_loader.cc, NCCL: native/distributed/nccl_loader.cc)
// look for NVIDIA libraries that are opened with dlopen: the CUDA toolkit folders and the python
// site-packages that pip's nvidia-* wheels install into.
#pragma once
#include <glob.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace fsnn {
namespace library_search {

// The CUDA toolkit's target folder name (/usr/local/cuda/targets/<this>/lib).
#if defined(__x86_64__)
inline constexpr const char* kCudaTarget = "x86_64-linux";
#elif defined(__aarch64__)
inline constexpr const char* kCudaTarget = "sbsa-linux";
#else
inline constexpr const char* kCudaTarget = "unknown-linux";
#endif

// Files matching a glob pattern, newest version last (glob sorts names).
inline std::vector<std::string> glob_files(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g;
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
  globfree(&g);
  return out;
}

// CUDA toolkit images: /usr/local/cuda, /usr/local/cuda-13.0, ... (lib64, then targets/<arch>/lib).
inline std::vector<std::string> cuda_toolkit_lib_dirs() {
  std::vector<std::string> dirs = glob_files("/usr/local/cuda*/lib64");
  for (const std::string& d : glob_files(std::string("/usr/local/cuda*/targets/") + kCudaTarget + "/lib")) dirs.push_back(d);
  return dirs;
}

// The usual system, conda and user site-packages folders (existing ones only).
inline std::vector<std::string> python_site_package_dirs() {
  std::vector<std::string> sites;
  for (const char* pat : {"/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages",
                          "/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
                          "/opt/conda/lib/python3*/site-packages"})
    for (const std::string& d : glob_files(pat)) sites.push_back(d);
  if (const char* home = std::getenv("HOME"))
    for (const std::string& d : glob_files(std::string(home) + "/.local/lib/python3*/site-packages")) sites.push_back(d);
  return sites;
}

}  // namespace library_search
}  // namespace fsnn
