// fsnn_gloo.so: the Gloo collectives behind the C interface of gloo_plugin_api.h. It is the only code
// that links libgloo (see native/distributed/gloo_group.cc for how the addon opens it). Every Gloo
// exception (::gloo::Exception, IoException, EnforceNotMet) is caught here and returned as a message.
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "../gloo_plugin_api.h"

namespace {

void write_err(char* err, size_t cap, const std::string& m) {
  if (cap == 0) return;
  std::snprintf(err, cap, "%s", m.c_str());
}

// The addon's TcpStore seen as a Gloo store. Failures become gloo::IoException inside the plugin.
class ForwardingStore : public ::gloo::rendezvous::Store {
 public:
  ForwardingStore(const fsnn_store_fns& f, std::chrono::milliseconds timeout) : f_(f), timeout_(timeout) {}
  void set(const std::string& key, const std::vector<char>& data) override {
    char err[1024] = {0};
    if (f_.set(f_.self, key.c_str(), data.data(), data.size(), err, sizeof err)) throw ::gloo::IoException(err);
  }
  std::vector<char> get(const std::string& key) override {
    char err[1024] = {0};
    char* data = nullptr;
    size_t n = 0;
    if (f_.get(f_.self, key.c_str(), timeout_.count(), &data, &n, err, sizeof err)) throw ::gloo::IoException(err);
    std::vector<char> v(data, data + n);
    f_.free_value(data);
    return v;
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    std::vector<const char*> k;
    for (const auto& s : keys) k.push_back(s.c_str());
    char err[1024] = {0};
    if (f_.wait(f_.self, k.data(), k.size(), timeout.count(), err, sizeof err)) throw ::gloo::IoException(err);
  }

 private:
  fsnn_store_fns f_;
  std::chrono::milliseconds timeout_;
};

struct Group {
  std::shared_ptr<::gloo::rendezvous::Context> context;
  std::shared_ptr<::gloo::transport::Device> device;
  uint32_t tag = 0;  // collectives run one at a time, in the same order on every rank
};

template <typename F>
int guarded(char* err, size_t cap, F&& f) {
  try {
    f();
    return 0;
  } catch (const ::gloo::IoException& e) {
    write_err(err, cap, std::string("gloo I/O error (a peer exited, failed or timed out): ") + e.what());
  } catch (const ::gloo::Exception& e) {
    write_err(err, cap, std::string("gloo error: ") + e.what());
  } catch (const std::exception& e) {
    write_err(err, cap, e.what());
  } catch (...) {
    write_err(err, cap, "gloo: unknown C++ exception");
  }
  return 1;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int fsnn_gloo_abi(void) { return FSNN_GLOO_ABI; }

__attribute__((visibility("default"))) int fsnn_gloo_connect(const fsnn_store_fns* store, const char* file_store,
                                                             const char* hostname, const char* iface, int rank, int size,
                                                             int64_t timeout_ms, void** ctx, char* err, size_t cap) {
  *ctx = nullptr;
  return guarded(err, cap, [&] {
    ::gloo::transport::tcp::attr attr;
    if (iface && *iface) attr.iface = iface;  // GLOO_SOCKET_IFNAME
    else attr.hostname = hostname;
    auto group = std::make_unique<Group>();
    group->device = ::gloo::transport::tcp::CreateDevice(attr);
    group->context = std::make_shared<::gloo::rendezvous::Context>(rank, size);
    group->context->setTimeout(std::chrono::milliseconds(timeout_ms));
    if (file_store && *file_store) {
      ::gloo::rendezvous::FileStore fs(file_store);
      ::gloo::rendezvous::PrefixStore prefixed("gloo", fs);
      group->context->connectFullMesh(prefixed, group->device);
    } else {
      ForwardingStore fwd(*store, std::chrono::milliseconds(timeout_ms));
      ::gloo::rendezvous::PrefixStore prefixed("gloo", fwd);
      group->context->connectFullMesh(prefixed, group->device);
    }
    *ctx = group.release();
  });
}

__attribute__((visibility("default"))) int fsnn_gloo_allreduce(void* ctx, float* data, size_t n, int op, char* err,
                                                               size_t cap) {
  const int rc = guarded(err, cap, [&] {
    Group& g = *static_cast<Group*>(ctx);
    if (n == 0 || g.context->size == 1) return;
    ::gloo::AllreduceOptions opts(g.context);
    opts.setOutput(data, n);
    opts.setTag(g.tag++);
    void (*fn)(void*, const void*, const void*, size_t) = &::gloo::sum<float>;
    if (op == FSNN_MAX) fn = &::gloo::max<float>;
    if (op == FSNN_MIN) fn = &::gloo::min<float>;
    opts.setReduceFunction(fn);
    ::gloo::allreduce(opts);
  });
  if (rc == 0 && op == FSNN_AVG) {
    // avg = sum / size (PyTorch's ReduceOp.AVG)
    const float size = static_cast<float>(static_cast<Group*>(ctx)->context->size);
    for (size_t i = 0; i < n; ++i) data[i] /= size;
  }
  return rc;
}

__attribute__((visibility("default"))) int fsnn_gloo_broadcast(void* ctx, float* data, size_t n, int root, char* err,
                                                               size_t cap) {
  return guarded(err, cap, [&] {
    Group& g = *static_cast<Group*>(ctx);
    if (n == 0 || g.context->size == 1) return;
    ::gloo::BroadcastOptions opts(g.context);
    opts.setOutput(data, n);
    opts.setRoot(root);
    opts.setTag(g.tag++);
    ::gloo::broadcast(opts);
  });
}

__attribute__((visibility("default"))) int fsnn_gloo_allgather(void* ctx, const float* in, float* out, size_t n,
                                                               char* err, size_t cap) {
  return guarded(err, cap, [&] {
    Group& g = *static_cast<Group*>(ctx);
    if (g.context->size == 1 || n == 0) {
      if (n) std::memcpy(out, in, n * sizeof(float));
      return;
    }
    ::gloo::AllgatherOptions opts(g.context);
    opts.setInput(const_cast<float*>(in), n);
    opts.setOutput(out, n * static_cast<size_t>(g.context->size));
    opts.setTag(g.tag++);
    ::gloo::allgather(opts);
  });
}

__attribute__((visibility("default"))) int fsnn_gloo_barrier(void* ctx, char* err, size_t cap) {
  return guarded(err, cap, [&] {
    Group& g = *static_cast<Group*>(ctx);
    if (g.context->size == 1) return;
    ::gloo::BarrierOptions opts(g.context);
    opts.setTag(g.tag++);
    ::gloo::barrier(opts);
  });
}

__attribute__((visibility("default"))) void fsnn_gloo_destroy(void* ctx) {
  try {
    delete static_cast<Group*>(ctx);
  } catch (...) {
  }
}
}
