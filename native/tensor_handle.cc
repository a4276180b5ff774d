// Tensor handles.
//
//
// Handles and garbage collection. Research code trains in synchronous loops that never yield to the
// event loop. With a stable Node-API module version, Node defers every finalizer to a SetImmediate,
// so the native side of each handle (and of every handle ever disposed) piles up until the loop
// turns. This file is therefore compiled against the experimental Node-API version, under which Node
// (>= 18.19 / 20.10, node_api_post_finalizer and "run finalizers directly from GC", nodejs/node#42651)
// runs finalizers during GC itself; such a "basic" finalizer may not call into JS or any Node-API
// that touches the GC state. The handle is a plain napi_wrap with a runtime-owned reference (no
// userland napi_ref whose deletion would have to be posted back to the loop), and its finalizer only
#include "tensor_handle.h"

#include <cstring>
#include <string>
#include <vector>

#include "napi_args.h"
#include "ops.h"

namespace fsnn {
namespace {

Napi::FunctionReference* g_handle_ctor = nullptr;
// Marks objects made by TensorHandle::Wrap, so no other object (a prototype copy, another addon's
// wrapped object) is ever taken for a handle.
const napi_type_tag kHandleTag = {0x6673'6e6e'7465'6e73ULL, 0x6f72'6861'6e64'6c65ULL};
// What V8 is told about the native memory behind live handles (napi_adjust_external_memory), so that
// it collects handles dropped without dispose() when their native memory grows. V8 starts a full
// marking whenever its external total rises more than 64 MB above the level of its last GC; a training
// step that creates and disposes a few hundred MB of tensors each time then paid for a concurrent
// marking every step (12-20 % of the CPU samples, on 2 cores; a T=64, B=256, 784-512-10 step took
// 168-177 ms instead of 96-99 ms with no reporting at all). So the bytes of live handles are counted
// at once, and V8 is told the count only when it has moved by kReportStep since the last report:
// churn inside a step nets out, and memory that really grows (or handles that leak) still reaches V8.
// Per JS thread (each worker thread has its own V8 heap); finalizers run on that thread, inside GC,
// where napi_adjust_external_memory may not be called, so they only update the count.
constexpr int64_t kReportStep = int64_t(512) << 20;
thread_local int64_t t_live_bytes = 0;      // bytes owned by this thread's live handles
thread_local int64_t t_reported_bytes = 0;  // what V8 was last told

// Tells V8 the live count when it has moved by kReportStep or more since the last report.
void settle_external_memory(napi_env env) {
  const int64_t change = t_live_bytes - t_reported_bytes;
  if (change < kReportStep && change > -kReportStep) return;
  int64_t adjusted = 0;
  if (napi_adjust_external_memory(env, change, &adjusted) == napi_ok) t_reported_bytes = t_live_bytes;
}


// What a handle owns natively: the tensor (shared storage, shape) and the bytes it adds to t_live_bytes.
struct HandleData {
  Tensor tensor;
  int64_t reported = 0;
};

class TensorHandle {
 public:
  static Napi::Function Init(Napi::Env env) {
    const auto method = static_cast<napi_property_attributes>(napi_writable | napi_configurable);
    const napi_property_descriptor props[] = {
        Getter<GetShape>("shape"), Getter<GetDevice>("device"), Getter<GetDtype>("dtype"),
        Getter<GetDisposed>("disposed"), Getter<GetBytes>("byteSize"), Getter<GetSharesStorage>("sharesStorage"),
        Method<Dispose>("dispose", method), Method<ToFloat32Array>("toFloat32Array", method),
        Method<ToInt32Array>("toInt32Array", method), Method<ReadAsync>("readAsync", method)};
    napi_value cls;
    NAPI_THROW_IF_FAILED(env, napi_define_class(env, "TensorHandle", NAPI_AUTO_LENGTH, Construct, nullptr,
                                                sizeof(props) / sizeof(props[0]), props, &cls),
                         Napi::Function());
    return Napi::Function(env, cls);
  }

  static Napi::Object Wrap(Napi::Env env, Tensor t, bool owns_new_storage = true) {
    Napi::Object obj = g_handle_ctor->New({});
    auto* h = new HandleData{std::move(t), 0};
    napi_status st = napi_wrap(env, obj, h, Finalize, nullptr, nullptr);
    if (st == napi_ok) st = napi_type_tag_object(env, obj, &kHandleTag);
    if (st != napi_ok) {
      delete h;
      NAPI_THROW_IF_FAILED(env, st, Napi::Object());
    }
    if (owns_new_storage && h->tensor.storage) {
      h->reported = static_cast<int64_t>(h->tensor.storage->bytes);
      t_live_bytes += h->reported;
    }
    settle_external_memory(env);
    return obj;
  }

  static HandleData* Data(const Napi::Value& v) {
    if (!v.IsObject()) return nullptr;
    bool tagged = false;
    if (napi_check_object_type_tag(v.Env(), v, &kHandleTag, &tagged) != napi_ok || !tagged) return nullptr;
    void* p = nullptr;
    if (napi_unwrap(v.Env(), v, &p) != napi_ok) return nullptr;
    return static_cast<HandleData*>(p);
  }

  static Tensor& From(const Napi::Value& v, const char* what) {
    HandleData* h = Data(v);
    if (!h) throw Error(std::string(what) + ": expected a tensor handle");
    if (!h->tensor.storage) throw Error(std::string(what) + ": the tensor was disposed; it cannot be used after dispose()");
    return h->tensor;
  }

 private:
  template <Napi::Value (*F)(const Napi::CallbackInfo&)>
  static Napi::Value G(const Napi::CallbackInfo& info) { return Guarded(info, F); }
  template <Napi::Value (*F)(const Napi::CallbackInfo&)>
  static napi_property_descriptor Getter(const char* name) {
    napi_property_descriptor d{};
    d.utf8name = name;
    d.getter = Napi::details::TemplatedCallback<G<F>>;
    d.attributes = napi_configurable;
    return d;
  }
  template <Napi::Value (*F)(const Napi::CallbackInfo&)>
  static napi_property_descriptor Method(const char* name, napi_property_attributes attributes) {
    napi_property_descriptor d{};
    d.utf8name = name;
    d.method = Napi::details::TemplatedCallback<G<F>>;
    d.attributes = attributes;
    return d;
  }

  // new TensorHandle() from JavaScript makes an empty object that no op accepts (it carries no tag).
  static napi_value Construct(napi_env env, napi_callback_info info) {
    napi_value self = nullptr;
    napi_get_cb_info(env, info, nullptr, nullptr, &self, nullptr);
    return self;
  }
  // A basic finalizer: runs inside GC, so it frees C++ memory only.
  static void Finalize(napi_env, void* data, void*) {
    auto* h = static_cast<HandleData*>(data);
    t_live_bytes -= h->reported;
    delete h;
  }
  static HandleData& Self(const Napi::CallbackInfo& info) {
    HandleData* h = Data(info.This());
    if (!h) throw Error("TensorHandle: method called on an object that is not a tensor handle");
    return *h;
  }
  static Tensor& Live(const Napi::CallbackInfo& info, const char* what) {
    HandleData& h = Self(info);
    if (!h.tensor.storage) throw Error(std::string(what) + ": the tensor was disposed; read it before calling dispose()");
    return h.tensor;
  }
  static Napi::Value GetShape(const Napi::CallbackInfo& info) {
    const Shape& s = Self(info).tensor.shape;
    Napi::Array a = Napi::Array::New(info.Env(), s.size());
    for (size_t i = 0; i < s.size(); ++i) a[i] = Napi::Number::New(info.Env(), static_cast<double>(s[i]));
    return a;
  }
  static Napi::Value GetDevice(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), device_name(Self(info).tensor.device));
  }
  static Napi::Value GetDtype(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), Self(info).tensor.dtype == DType::Int32 ? "int32" : "float32");
  }
  // Whether another native tensor (a view, a recorded program, work in flight) holds this handle's storage.
  static Napi::Value GetSharesStorage(const Napi::CallbackInfo& info) {
    const Tensor& t = Self(info).tensor;
    return Napi::Boolean::New(info.Env(), t.storage && t.storage.use_count() > 1);
  }
  static Napi::Value GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !Self(info).tensor.storage); }
  static Napi::Value GetBytes(const Napi::CallbackInfo& info) {
    const Tensor& t = Self(info).tensor;
    return Napi::Number::New(info.Env(), t.storage ? static_cast<double>(t.numel() * 4) : 0.0);
  }
  // Releases everything the handle owns natively at once; only the small HandleData shell waits for GC.
  static Napi::Value Dispose(const Napi::CallbackInfo& info) {
    HandleData& h = Self(info);
    const int64_t reported = h.reported;
    h.tensor = Tensor{};
    h.reported = 0;
    t_live_bytes -= reported;
    settle_external_memory(info.Env());
    return info.Env().Undefined();
  }
  static Napi::Value ToFloat32Array(const Napi::CallbackInfo& info) {
    Tensor& t = Live(info, "toFloat32Array");
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(t.numel()));
    ops::to_host(t, out.Data());
    return out;
  }
  static Napi::Value ToInt32Array(const Napi::CallbackInfo& info) {
    Tensor& t = Live(info, "toInt32Array");
    Napi::Int32Array out = Napi::Int32Array::New(info.Env(), static_cast<size_t>(t.numel()));
    ops::to_host(t, out.Data());
    return out;
  }
  // Copies the data to the host on the libuv pool and resolves with a typed array.
  static Napi::Value ReadAsync(const Napi::CallbackInfo& info);
};

class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, Tensor t)
      : Napi::AsyncWorker(env), tensor_(std::move(t)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      host_.resize(static_cast<size_t>(tensor_.numel()));
      ops::to_host(tensor_, host_.data());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (tensor_.dtype == DType::Int32) {
      auto out = Napi::Int32Array::New(env, host_.size());
      std::memcpy(out.Data(), host_.data(), host_.size() * 4);
      deferred_.Resolve(out);
    } else {
      auto out = Napi::Float32Array::New(env, host_.size());
      std::memcpy(out.Data(), host_.data(), host_.size() * 4);
      deferred_.Resolve(out);
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Tensor tensor_;  // holds a reference to the storage while the copy runs
  std::vector<float> host_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value TensorHandle::ReadAsync(const Napi::CallbackInfo& info) {
  auto* w = new ReadWorker(info.Env(), Live(info, "data"));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}


}  // namespace

Napi::Function init_tensor_handle_class(Napi::Env env) {
  Napi::Function ctor = TensorHandle::Init(env);
  g_handle_ctor = new Napi::FunctionReference(Napi::Persistent(ctor));
  return ctor;
}
Napi::Object wrap_tensor(Napi::Env env, Tensor t, bool owns_new_storage) { return TensorHandle::Wrap(env, std::move(t), owns_new_storage); }
Tensor& tensor_of(const Napi::Value& v, const char* what) { return TensorHandle::From(v, what); }

}  // namespace fsnn
