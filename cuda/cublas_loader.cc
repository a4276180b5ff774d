#include "cublas_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

#ifdef FSNN_CUDA_EMU
#include "emu/emu_internal.h"
#endif

#include "../native/library_search.h"

namespace fsnn {
namespace cublas {

namespace {
std::mutex g_mu;
void* g_handle = nullptr;
std::string g_status = "not loaded yet";

using library_search::kCudaTarget;

// site-packages (and dist-packages) folders of the python3 on the PATH, asked at run time.
std::vector<std::string> python_site_dirs() {
  std::vector<std::string> dirs;
  if (std::getenv("FSNN_CUBLAS_NO_PYTHON")) return dirs;
  FILE* p = popen(
      "python3 -c \"import site,sys; print('\\n'.join(site.getsitepackages()+[site.getusersitepackages()]))\" "
      "2>/dev/null",
      "r");
  if (!p) return dirs;
  char line[4096];
  while (std::fgets(line, sizeof line, p)) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (!s.empty()) dirs.push_back(s);
  }
  pclose(p);
  return dirs;
}
}  // namespace

// The folders searched after the sonames.
std::vector<std::string> search_dirs() {
  std::vector<std::string> dirs = library_search::cuda_toolkit_lib_dirs();
  // pip's nvidia-cublas wheels: <site-packages>/nvidia/cublas/lib (the python3 on the PATH first).
  std::vector<std::string> sites = python_site_dirs();
  for (const std::string& d : library_search::python_site_package_dirs()) sites.push_back(d);
  for (const std::string& s : sites) dirs.push_back(s + "/nvidia/cublas/lib");
  return dirs;
}

std::vector<std::string> candidate_paths() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("FSNN_CUBLAS")) c.push_back(env);
  for (const char* so : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) c.push_back(so);
  std::set<std::string> seen(c.begin(), c.end());
  for (const std::string& d : search_dirs())
    for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
      const std::string f = d + "/" + name;
      if (seen.insert(f).second && access(f.c_str(), F_OK) == 0) c.push_back(f);
    }
  return c;
}

#ifndef FSNN_CUDA_EMU
void* library() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_handle) return g_handle;
  std::string tried;
  for (const auto& path : candidate_paths()) {
    if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      g_handle = h;
      g_status = "loaded " + path;
      return h;
    }
    const char* err = dlerror();
    tried += "\n  " + path + ": " + (err ? err : "not found");
  }
  std::string empty_dirs;
  for (const std::string& d : search_dirs()) {
    bool has = false;  // a library there is listed above with its dlopen error
    for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"})
      has = has || access((d + "/" + name).c_str(), F_OK) == 0;
    if (!has) empty_dirs += "\n  " + d + ": no libcublas.so.13 / .12 / libcublas.so";
  }
  g_status = "cuBLAS could not be loaded; tried:" + tried + empty_dirs +
             "\n  (folders searched: /usr/local/cuda*/lib64, /usr/local/cuda*/targets/" + kCudaTarget +
             "/lib, <python site-packages>/nvidia/cublas/lib)"
             "\nInstall the CUDA toolkit's cuBLAS (libcublas), `pip install nvidia-cublas-cu13`, or set FSNN_CUBLAS "
             "to the full path of libcublas.so";
  throw std::runtime_error(g_status);
}

void* symbol(const char* name) {
  void* h = library();
  void* s = dlsym(h, name);
  if (!s) throw std::runtime_error(std::string("cuBLAS: symbol ") + name + " not found in the loaded library (" + g_status + ")");
  return s;
}
#else
// The emulator: the host GEMM replaces the library; the search above is still reported (not opened).
void* library() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_handle) {
    std::string paths;
    for (const auto& p : candidate_paths()) paths += (paths.empty() ? "" : ", ") + p;
    g_status = "emulated by the host GEMM of cuda/emu/cublas_emu.cc (a GPU build would try: " + paths + ")";
    g_handle = reinterpret_cast<void*>(&fsnn_emu::cublas_symbol);
  }
  return g_handle;
}

void* symbol(const char* name) {
  library();
  void* s = fsnn_emu::cublas_symbol(name);
  if (!s) throw std::runtime_error(std::string("cuBLAS: symbol ") + name + " is not emulated (cuda/emu/cublas_emu.cc)");
  return s;
}
#endif

std::string status() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_status;
}

}  // namespace cublas
}  // namespace fsnn
