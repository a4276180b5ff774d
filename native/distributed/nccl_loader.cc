// Opening NCCL with dlopen (nccl_loader.h).
#include "nccl_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>

#include "../error.h"
#include "../library_search.h"

namespace fsnn {
namespace nccl {

namespace {
std::mutex g_mu;
Api g_api{};
bool g_loaded = false;
int g_version = 0;
std::string g_status = "not loaded yet";

#if defined(__aarch64__)
const char* kArch = "aarch64";
#else
const char* kArch = "x86_64";
#endif
using library_search::glob_files;
using library_search::kCudaTarget;

std::vector<std::string> search_dirs() {
  std::vector<std::string> dirs = library_search::cuda_toolkit_lib_dirs();
  dirs.push_back(std::string("/usr/lib/") + kArch + "-linux-gnu");
  std::vector<std::string> sites = library_search::python_site_package_dirs();
  if (const char* venv = std::getenv("VIRTUAL_ENV"))
    for (const auto& d : glob_files(std::string(venv) + "/lib/python3*/site-packages")) sites.push_back(d);
  for (const auto& s : sites) dirs.push_back(s + "/nvidia/nccl/lib");
  return dirs;
}

template <typename F>
void resolve(void* h, const char* name, F*& out, bool required) {
  out = reinterpret_cast<F*>(dlsym(h, name));
  if (!out && required) fail("NCCL: symbol ", name, " not found in the loaded library (", g_status, ")");
}
}  // namespace

std::vector<std::string> candidate_paths() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("FSNN_NCCL")) {
    if (*env) return {env};  // an explicit choice is the only one tried
  }
  c.push_back("libnccl.so.2");
  c.push_back("libnccl.so");
  std::set<std::string> seen(c.begin(), c.end());
  for (const auto& d : search_dirs())
    for (const char* name : {"libnccl.so.2", "libnccl.so"}) {
      const std::string f = d + "/" + name;
      if (seen.insert(f).second && access(f.c_str(), F_OK) == 0) c.push_back(f);
    }
  return c;
}

const Api& api() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_loaded) return g_api;
  std::string tried;
  void* h = nullptr;
  std::string path;
  for (const auto& p : candidate_paths()) {
    h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) {
      path = p;
      break;
    }
    const char* e = dlerror();
    tried += "\n  " + p + ": " + (e ? e : "not found");
  }
  if (!h) {
    g_status = "NCCL could not be loaded; tried:" + tried +
               "\n  (folders searched: /usr/local/cuda*/lib64, /usr/local/cuda*/targets/" + kCudaTarget + "/lib, /usr/lib/" +
               kArch + "-linux-gnu, <python site-packages>/nvidia/nccl/lib)"
               "\nInstall NCCL (the CUDA images' libnccl2 package, or `pip install nvidia-nccl-cu12`), or set FSNN_NCCL "
               "to the full path of libnccl.so.2; or use backend 'gloo' with CPU tensors";
    fail("backend 'nccl': ", g_status);
  }
  g_status = "loaded " + path;
  Api a{};
  resolve(h, "ncclGetVersion", a.GetVersion, true);
  resolve(h, "ncclGetUniqueId", a.GetUniqueId, true);
  resolve(h, "ncclCommInitRank", a.CommInitRank, true);
  resolve(h, "ncclCommDestroy", a.CommDestroy, true);
  resolve(h, "ncclCommAbort", a.CommAbort, true);
  resolve(h, "ncclCommGetAsyncError", a.CommGetAsyncError, true);
  resolve(h, "ncclGetErrorString", a.GetErrorString, true);
  resolve(h, "ncclAllReduce", a.AllReduce, true);
  resolve(h, "ncclBroadcast", a.Broadcast, true);
  resolve(h, "ncclAllGather", a.AllGather, true);
  resolve(h, "ncclReduceScatter", a.ReduceScatter, true);
  int v = 0;
  if (a.GetVersion(&v) != kSuccess) v = 0;
  g_version = v;
  // NCCL >= 2.9 encodes x.y.z as x*10000 + y*100 + z; older as x*1000 + y*100 + z.
  const int major = v >= 10000 ? v / 10000 : v / 1000, minor = v >= 10000 ? (v / 100) % 100 : (v / 100) % 10, patch = v % 100;
  g_status += " (NCCL " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) + ")";
  g_api = a;
  g_loaded = true;
  return g_api;
}

std::string status() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_status;
}

int version() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_version;
}

}  // namespace nccl
}  // namespace fsnn
