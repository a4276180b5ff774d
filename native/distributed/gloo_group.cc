// The Gloo process group: opens fsnn_gloo.so (built next to the addon when libgloo-dev is found; see
// gloo_plugin_api.h for why it is a plugin) and forwards each collective to it.
// Search: $FSNN_GLOO_PLUGIN, else fsnn_gloo.so in the folder of the loaded addon.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "process_group.h"

namespace fsnn {
namespace dist {

namespace {

struct GlooApi {
  fsnn_gloo_connect_fn connect = nullptr;
  fsnn_gloo_allreduce_fn allreduce = nullptr;
  fsnn_gloo_broadcast_fn broadcast = nullptr;
  fsnn_gloo_allgather_fn allgather = nullptr;
  fsnn_gloo_barrier_fn barrier = nullptr;
  fsnn_gloo_destroy_fn destroy = nullptr;
};

std::mutex g_mu;
GlooApi g_api;
bool g_loaded = false;
std::string g_status = "not loaded yet";

#ifdef FSNN_HAVE_GLOO
constexpr bool kBuiltWithGloo = true;
#else
constexpr bool kBuiltWithGloo = false;
#endif

std::string addon_folder() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&addon_folder), &info) && info.dli_fname) {
    std::string f = info.dli_fname;
    const size_t slash = f.rfind('/');
    return slash == std::string::npos ? "." : f.substr(0, slash);
  }
  return ".";
}

const GlooApi& api() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_loaded) return g_api;
  const char* env = std::getenv("FSNN_GLOO_PLUGIN");
  const std::string path = env && *env ? env : addon_folder() + "/fsnn_gloo.so";
  const std::string install =
      "install Gloo (Debian/Ubuntu: apt-get install libgloo-dev) and rebuild the addon (npm run build:native), "
      "or use backend 'nccl' for CUDA tensors";
  if (access(path.c_str(), F_OK) != 0) {
    g_status = kBuiltWithGloo && !env
                   ? "the Gloo plugin " + path + " is missing (the addon was built with Gloo, but the plugin was not " +
                         "copied next to it); rebuild with npm run build:native"
                   : env ? "FSNN_GLOO_PLUGIN=" + path + " does not exist"
                         : "this addon was built without Gloo (libgloo-dev was not found at build time; no " + path +
                               "): " + install;
    throw Error("backend 'gloo': " + g_status);
  }
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    g_status = "could not load the Gloo plugin " + path + ": " + (e ? e : "unknown dlopen error") +
               " (it needs libgloo.so.0: " + install + ")";
    throw Error("backend 'gloo': " + g_status);
  }
  auto abi = reinterpret_cast<fsnn_gloo_abi_fn>(dlsym(h, "fsnn_gloo_abi"));
  GlooApi a;
  a.connect = reinterpret_cast<fsnn_gloo_connect_fn>(dlsym(h, "fsnn_gloo_connect"));
  a.allreduce = reinterpret_cast<fsnn_gloo_allreduce_fn>(dlsym(h, "fsnn_gloo_allreduce"));
  a.broadcast = reinterpret_cast<fsnn_gloo_broadcast_fn>(dlsym(h, "fsnn_gloo_broadcast"));
  a.allgather = reinterpret_cast<fsnn_gloo_allgather_fn>(dlsym(h, "fsnn_gloo_allgather"));
  a.barrier = reinterpret_cast<fsnn_gloo_barrier_fn>(dlsym(h, "fsnn_gloo_barrier"));
  a.destroy = reinterpret_cast<fsnn_gloo_destroy_fn>(dlsym(h, "fsnn_gloo_destroy"));
  if (!abi || abi() != FSNN_GLOO_ABI || !a.connect || !a.allreduce || !a.broadcast || !a.allgather || !a.barrier ||
      !a.destroy) {
    dlclose(h);
    g_status = "the Gloo plugin " + path + " does not match this addon (another version); rebuild with npm run build:native";
    throw Error("backend 'gloo': " + g_status);
  }
  g_api = a;
  g_loaded = true;
  g_status = "loaded " + path;
  return g_api;
}

// ---- the TcpStore behind the plugin's C store interface ----
int store_set(void* self, const char* key, const char* data, size_t n, char* err, size_t cap) {
  try {
    static_cast<TcpStore*>(self)->set(key, std::vector<char>(data, data + n));
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(err, cap, "%s", e.what());
    return 1;
  }
}
int store_get(void* self, const char* key, int64_t timeout_ms, char** data, size_t* n, char* err, size_t cap) {
  try {
    const std::vector<char> v = static_cast<TcpStore*>(self)->get(key, std::chrono::milliseconds(timeout_ms));
    *data = static_cast<char*>(std::malloc(v.size() ? v.size() : 1));
    if (!*data) throw std::bad_alloc();
    if (!v.empty()) std::memcpy(*data, v.data(), v.size());
    *n = v.size();
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(err, cap, "%s", e.what());
    return 1;
  }
}
int store_wait(void* self, const char* const* keys, size_t nkeys, int64_t timeout_ms, char* err, size_t cap) {
  try {
    static_cast<TcpStore*>(self)->wait(std::vector<std::string>(keys, keys + nkeys), std::chrono::milliseconds(timeout_ms));
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(err, cap, "%s", e.what());
    return 1;
  }
}
void store_free(char* data) { std::free(data); }

void check_cpu(const Tensor& t, const char* op) {
  if (t.device != Device::CPU)
    fail(op, ": backend 'gloo' works on CPU tensors, but the tensor is ", t.describe(),
         "; use backend 'nccl' for CUDA tensors, or move it with .to('cpu')");
  if (t.dtype != DType::Float32) fail(op, ": collectives take float32 tensors, got ", t.describe());
}

class GlooGroup final : public ProcessGroup {
 public:
  GlooGroup(void* ctx, int rank, int size) : ProcessGroup(rank, size), ctx_(ctx) {}
  ~GlooGroup() override { api().destroy(ctx_); }
  const char* backend() const override { return "gloo"; }
  Device device() const override { return Device::CPU; }
  bool stream_ordered() const override { return false; }

  void all_reduce(const Tensor& t, ReduceOp op) override {
    check_cpu(t, "allReduce");
    call("allReduce", [&](char* err, size_t cap) {
      return api().allreduce(ctx_, t.data(), static_cast<size_t>(t.numel()), static_cast<int>(op), err, cap);
    });
  }
  void broadcast(const Tensor& t, int root) override {
    check_cpu(t, "broadcast");
    call("broadcast", [&](char* err, size_t cap) {
      return api().broadcast(ctx_, t.data(), static_cast<size_t>(t.numel()), root, err, cap);
    });
  }
  void all_gather(const Tensor& out, const Tensor& in) override {
    check_cpu(out, "allGather");
    check_cpu(in, "allGather");
    call("allGather", [&](char* err, size_t cap) {
      return api().allgather(ctx_, in.data(), out.data(), static_cast<size_t>(in.numel()), err, cap);
    });
  }
  // Gloo's reduce-scatter needs a power-of-two-friendly layout; a full all-reduce of a copy of the input,
  // then this rank's block, gives the same values (rank r receives block r of the reduction).
  void reduce_scatter(const Tensor& out, const Tensor& in, ReduceOp op) override {
    check_cpu(out, "reduceScatter");
    check_cpu(in, "reduceScatter");
    const size_t n = static_cast<size_t>(out.numel());
    std::vector<float> work(in.data(), in.data() + static_cast<size_t>(in.numel()));
    call("reduceScatter", [&](char* err, size_t cap) {
      return api().allreduce(ctx_, work.data(), work.size(), static_cast<int>(op), err, cap);
    });
    if (n) std::memcpy(out.data(), work.data() + static_cast<size_t>(rank_) * n, n * sizeof(float));
  }
  void barrier() override {
    call("barrier", [&](char* err, size_t cap) { return api().barrier(ctx_, err, cap); });
  }

 private:
  template <typename F>
  void call(const char* op, F&& f) {
    char err[2048] = {0};
    if (f(err, sizeof err)) fail(op, " (gloo, rank ", rank_, " of ", size_, "): ", err);
  }
  void* ctx_;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_gloo_group(TcpStore* store, const std::string& file_store, const std::string& hostname,
                                              const std::string& iface, int rank, int size,
                                              std::chrono::milliseconds timeout) {
  const GlooApi& a = api();
  fsnn_store_fns fns{store, &store_set, &store_get, &store_wait, &store_free};
  void* ctx = nullptr;
  char err[2048] = {0};
  if (a.connect(store ? &fns : nullptr, file_store.c_str(), hostname.c_str(), iface.c_str(), rank, size, timeout.count(),
                &ctx, err, sizeof err))
    fail("initProcessGroup (gloo, rank ", rank, " of ", size, "): connecting the ranks failed: ", err);
  return std::make_unique<GlooGroup>(ctx, rank, size);
}

std::string gloo_status() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_status;
}

}  // namespace dist
}  // namespace fsnn
