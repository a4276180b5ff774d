// The JavaScript functions of fsnn.distributed (exports.distributed; lib/distributed/native-api.ts
// declares them). A group is referred to by a number. Collectives are in place; with `async` they
// return a ticket for wait(): Gloo runs them on the group's WorkQueue thread, NCCL enqueues them on
// the CUDA stream (complete, from the host's point of view, when the call returns).
#include "distributed.h"

#include <unistd.h>

#include <map>
#include <memory>

#include "../napi_args.h"
#include "process_group.h"
#include "rendezvous.h"

namespace fsnn {
namespace dist {
namespace {

struct Group {
  std::unique_ptr<TcpStore> store;  // null with file:// init
  std::unique_ptr<ProcessGroup> pg;
  std::unique_ptr<WorkQueue> queue;  // Gloo only
  std::chrono::milliseconds timeout{60000};
};

// Never destroyed: at process exit no destructor may join a thread blocked in a collective.
std::map<int, std::unique_ptr<Group>>& g_groups = *new std::map<int, std::unique_ptr<Group>>();
int g_next_group = 1;

Group& group_of(const Napi::CallbackInfo& info, const char* op) {
  const int64_t id = Int(info, 0, op);
  auto it = g_groups.find(static_cast<int>(id));
  if (it == g_groups.end())
    fail(op, ": no process group ", id, " (it was destroyed, or initProcessGroup was not called)");
  return *it->second;
}

std::string StrField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
}

// Runs `job` now (NCCL: it only enqueues) or on the queue; returns 0 when complete, else the ticket.
Napi::Value run(const Napi::CallbackInfo& info, Group& g, bool async, std::function<void()> job) {
  if (!g.queue) {
    job();
    return Napi::Number::New(info.Env(), 0);
  }
  const uint64_t ticket = g.queue->submit(std::move(job));
  if (!async) {
    g.queue->wait(ticket);
    return Napi::Number::New(info.Env(), 0);
  }
  return Napi::Number::New(info.Env(), static_cast<double>(ticket));
}

ReduceOp OpArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  const int64_t v = Int(info, i, op);
  if (v < 0 || v > 3) fail(op, ": reduce op code ", v, " is unknown (0 sum, 1 avg, 2 max, 3 min)");
  return static_cast<ReduceOp>(v);
}

// initProcessGroup({ backend, rank, worldSize, masterAddr, masterPort, filePath, timeoutMs, hostname, iface })
Napi::Value InitGroup(const Napi::CallbackInfo& info) {
  Napi::Object o = ObjArg(info, 0, "initProcessGroup");
  const std::string backend = StrField(o, "backend");
  const int64_t rank = IntField(o, "rank", -1, "initProcessGroup");
  const int64_t size = IntField(o, "worldSize", -1, "initProcessGroup");
  const int64_t timeout_ms = IntField(o, "timeoutMs", 60000, "initProcessGroup");
  if (size < 1) fail("initProcessGroup: worldSize must be >= 1, got ", size);
  if (rank < 0 || rank >= size) fail("initProcessGroup: rank ", rank, " is outside 0..", size - 1, " (worldSize ", size, ")");
  if (timeout_ms < 1) fail("initProcessGroup: timeoutMs must be positive");
  if (backend != "gloo" && backend != "nccl") fail("initProcessGroup: unknown backend '", backend, "'; use 'gloo' or 'nccl'");
#ifndef FSNN_WITH_CUDA
  if (backend == "nccl")
    fail("initProcessGroup: backend 'nccl' needs the CUDA build of the addon (this one was built without CUDA); "
         "use backend 'gloo' for CPU tensors");
#endif
  const std::chrono::milliseconds timeout(timeout_ms);
  const std::string file = StrField(o, "filePath");
  auto g = std::make_unique<Group>();
  g->timeout = timeout;
  if (file.empty()) {
    const std::string addr = StrField(o, "masterAddr");
    const int64_t port = IntField(o, "masterPort", -1, "initProcessGroup");
    g->store = std::make_unique<TcpStore>(addr, static_cast<int>(port), rank == 0, timeout);
    rendezvous(*g->store, static_cast<int>(rank), static_cast<int>(size), timeout);
  }
  if (backend == "gloo") {
    g->pg = make_gloo_group(g->store.get(), file, StrField(o, "hostname"), StrField(o, "iface"), static_cast<int>(rank),
                            static_cast<int>(size), timeout);
    g->queue = std::make_unique<WorkQueue>();
  } else {
#ifdef FSNN_WITH_CUDA
    if (!g->store)
      fail("initProcessGroup: backend 'nccl' exchanges its unique id through the TCP store: use initMethod 'env://' "
           "(MASTER_ADDR, MASTER_PORT), not file://");
    g->pg = make_nccl_group(*g->store, static_cast<int>(rank), static_cast<int>(size), timeout);
#else
    fail("initProcessGroup: backend 'nccl' needs the CUDA build of the addon (this one was built without CUDA); "
         "use backend 'gloo' for CPU tensors");
#endif
  }
  const int id = g_next_group++;
  g_groups[id] = std::move(g);
  return Napi::Number::New(info.Env(), id);
}

Napi::Value DestroyGroup(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "destroyProcessGroup");
  const int id = static_cast<int>(Int(info, 0, "destroyProcessGroup"));
  const bool healthy = !g.queue || g.queue->failure().empty();
  if (g.queue) g.queue.reset();  // runs what is queued, then joins the thread
  if (g.store && healthy) farewell(*g.store, g.pg->rank(), g.pg->size(), g.timeout);
  g_groups.erase(id);
  return info.Env().Undefined();
}

Napi::Value GroupInfo(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "groupInfo");
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("rank", g.pg->rank());
  o.Set("worldSize", g.pg->size());
  o.Set("backend", g.pg->backend());
  o.Set("device", device_name(g.pg->device()));
  return o;
}

Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "allReduce");
  Tensor t = T(info, 1, "allReduce");
  const ReduceOp op = OpArg(info, 2, "allReduce");
  ProcessGroup* pg = g.pg.get();
  ++t.storage->version;  // written in place, as copy_ writes (Storage::version): captured values must be re-read
  return run(info, g, Bool(info, 3), [pg, t, op] { pg->all_reduce(t, op); });
}

Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "broadcast");
  Tensor t = T(info, 1, "broadcast");
  const int64_t root = Int(info, 2, "broadcast");
  if (root < 0 || root >= g.pg->size()) fail("broadcast: src ", root, " is outside 0..", g.pg->size() - 1);
  ProcessGroup* pg = g.pg.get();
  ++t.storage->version;
  return run(info, g, Bool(info, 3), [pg, t, root] { pg->broadcast(t, static_cast<int>(root)); });
}

Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "allGather");
  Tensor out = T(info, 1, "allGather"), in = T(info, 2, "allGather");
  if (out.numel() != in.numel() * g.pg->size())
    fail("allGather: the output has ", out.numel(), " elements but worldSize x input = ", g.pg->size(), " x ", in.numel());
  if (out.device != in.device) fail("allGather: input and output must be on the same device");
  ProcessGroup* pg = g.pg.get();
  ++out.storage->version;
  return run(info, g, Bool(info, 3), [pg, out, in] { pg->all_gather(out, in); });
}

Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "reduceScatter");
  Tensor out = T(info, 1, "reduceScatter"), in = T(info, 2, "reduceScatter");
  const ReduceOp op = OpArg(info, 3, "reduceScatter");
  if (in.numel() != out.numel() * g.pg->size())
    fail("reduceScatter: the input has ", in.numel(), " elements but worldSize x output = ", g.pg->size(), " x ", out.numel());
  if (out.device != in.device) fail("reduceScatter: input and output must be on the same device");
  ProcessGroup* pg = g.pg.get();
  ++out.storage->version;
  return run(info, g, Bool(info, 4), [pg, out, in, op] { pg->reduce_scatter(out, in, op); });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "barrier");
  ProcessGroup* pg = g.pg.get();
  return run(info, g, Bool(info, 1), [pg] { pg->barrier(); });
}

Napi::Value Wait(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "wait");
  const int64_t ticket = Int(info, 1, "wait");
  if (ticket > 0 && g.queue) g.queue->wait(static_cast<uint64_t>(ticket));
  return info.Env().Undefined();
}

Napi::Value IsCompleted(const Napi::CallbackInfo& info) {
  Group& g = group_of(info, "isCompleted");
  const int64_t ticket = Int(info, 1, "isCompleted");
  return Napi::Boolean::New(info.Env(), ticket <= 0 || !g.queue || g.queue->done(static_cast<uint64_t>(ticket)));
}

Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
#ifdef FSNN_HAVE_GLOO
  o.Set("glooBuilt", true);
#else
  o.Set("glooBuilt", false);
#endif
  o.Set("gloo", gloo_status());
  o.Set("nccl", nccl_status());
  return o;
}


}  // namespace
}  // namespace dist

#define FSNN_DIST_EXPORT(name, fn) d.Set(name, Napi::Function::New<Guard<fn>>(env, name))

void init_distributed(Napi::Env env, Napi::Object exports) {
  using namespace dist;
  Napi::Object d = Napi::Object::New(env);
  FSNN_DIST_EXPORT("initProcessGroup", InitGroup);
  FSNN_DIST_EXPORT("destroyProcessGroup", DestroyGroup);
  FSNN_DIST_EXPORT("groupInfo", GroupInfo);
  FSNN_DIST_EXPORT("allReduce", AllReduce);
  FSNN_DIST_EXPORT("broadcast", Broadcast);
  FSNN_DIST_EXPORT("allGather", AllGather);
  FSNN_DIST_EXPORT("reduceScatter", ReduceScatter);
  FSNN_DIST_EXPORT("barrier", Barrier);
  FSNN_DIST_EXPORT("wait", Wait);
  FSNN_DIST_EXPORT("isCompleted", IsCompleted);
  FSNN_DIST_EXPORT("status", Status);
  exports.Set("distributed", d);
}

}  // namespace fsnn
