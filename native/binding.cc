// The N-API binding: tensor handles and one JS function per op. Arguments are converted here;
// every check and every dispatch happens in ops.cc. Any C++ exception becomes a JS Error, so a bad
// call never takes the process down.
//
// Handles and garbage collection. Research code trains in synchronous loops that never yield to the
// event loop. With a stable Node-API module version, Node defers every finalizer to a SetImmediate,
// so the native side of each handle (and of every handle ever disposed) piles up until the loop
// turns. This file is therefore compiled against the experimental Node-API version, under which Node
// (>= 18.19 / 20.10, node_api_post_finalizer and "run finalizers directly from GC", nodejs/node#42651)
// runs finalizers during GC itself; such a "basic" finalizer may not call into JS or any Node-API
// that touches the GC state. The handle is a plain napi_wrap with a runtime-owned reference (no
// userland napi_ref whose deletion would have to be posted back to the loop), and its finalizer only
// frees C++ memory; the external-memory bookkeeping it owes V8 is settled by the next handle created.
#undef NAPI_VERSION
#define NAPI_EXPERIMENTAL
#define NAPI_VERSION 2147483647  // NAPI_VERSION_EXPERIMENTAL
#include <napi.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/peak_fma.h"
#include "cuda_bridge.h"
#include "ops.h"
#include "plan_runner.h"

namespace fsnn {
namespace {

Napi::FunctionReference* g_handle_ctor = nullptr;
// Marks objects made by TensorHandle::Wrap, so no other object (a prototype copy, another addon's
// wrapped object) is ever taken for a handle.
const napi_type_tag kHandleTag = {0x6673'6e6e'7465'6e73ULL, 0x6f72'6861'6e64'6c65ULL};
// Bytes reported to V8 for handles that GC has since finalized; a finalizer may not call
// napi_adjust_external_memory, so the next Wrap (on the JS thread, outside GC) settles the sum.
int64_t g_unreported_release = 0;

Napi::Value Guarded(const Napi::CallbackInfo& info, Napi::Value (*f)(const Napi::CallbackInfo&));

// What a handle owns natively: the tensor (shared storage, shape) and the bytes reported to V8.
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
        Getter<GetDisposed>("disposed"), Getter<GetBytes>("byteSize"),
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
    int64_t change = -g_unreported_release;
    g_unreported_release = 0;
    if (owns_new_storage && h->tensor.storage) {
      h->reported = static_cast<int64_t>(h->tensor.storage->bytes);
      change += h->reported;
    }
    if (change) Napi::MemoryManagement::AdjustExternalMemory(env, change);
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
    g_unreported_release += h->reported;
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
    if (reported) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -reported);
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

// ---- argument conversion ----
Tensor& T(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i) throw Error(std::string(op) + ": missing tensor argument " + std::to_string(i));
  return TensorHandle::From(info[i], op);
}
Tensor* OptT(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return &TensorHandle::From(info[i], op);
}
double Num(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Error(std::string(op) + ": argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}
// An integer that fits int64 exactly (|d| <= 2^62): converting a larger double is undefined behaviour.
int64_t IntValue(double d, const std::string& what) {
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 4611686018427387904.0)
    throw Error(what + " must be an integer (within +-2^62), got " + std::to_string(d));
  return static_cast<int64_t>(d);
}
int64_t Int(const Napi::CallbackInfo& info, size_t i, const char* op) {
  return IntValue(Num(info, i, op), std::string(op) + ": argument " + std::to_string(i));
}
constexpr int kUnaryOpCount = static_cast<int>(UnaryOp::Square) + 1;
constexpr int kBinaryOpCount = static_cast<int>(BinaryOp::Ne) + 1;
constexpr int kReduceOpCount = static_cast<int>(ReduceOp::Min) + 1;
constexpr int kRandomKindCount = static_cast<int>(RandomKind::Bernoulli) + 1;
// An op code (UnaryOp, BinaryOp, ...) in [0, count).
template <typename E>
E Code(const Napi::CallbackInfo& info, size_t i, const char* op, int count) {
  const int64_t v = Int(info, i, op);
  if (v < 0 || v >= count) throw Error(std::string(op) + ": op code " + std::to_string(v) + " is unknown (valid: 0 to " + std::to_string(count - 1) + ")");
  return static_cast<E>(v);
}
bool Bool(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].ToBoolean().Value(); }
Shape ShapeArg(const Napi::Value& v, const char* op) {
  if (!v.IsArray()) throw Error(std::string(op) + ": shape must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  Shape s(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a[i];
    if (!e.IsNumber()) throw Error(std::string(op) + ": shape entries must be integers");
    s[i] = IntValue(e.As<Napi::Number>().DoubleValue(), std::string(op) + ": shape entry " + std::to_string(i));
  }
  return s;
}
std::vector<int32_t> IndexArg(const Napi::Value& v, const char* op) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Error(std::string(op) + ": indices must be an Int32Array (class labels and indices travel as Int32Array); convert with Int32Array.from(...)");
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}
Device DeviceArg(const Napi::Value& v, const char* op) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  throw Error(std::string(op) + ": unknown device '" + s + "'; use 'cpu' or 'cuda'");
}
double Field(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}
// An integer option (stride, padding, kernel size, ...): a fraction such as 1.5 is an error, not truncated.
int64_t IntField(const Napi::Object& o, const char* key, int64_t fallback, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Error(std::string(op) + ": option " + key + " must be an integer");
  return IntValue(v.As<Napi::Number>().DoubleValue(), std::string(op) + ": option " + key);
}
bool BoolField(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}
Napi::Object ObjArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || !info[i].IsObject()) throw Error(std::string(op) + ": argument " + std::to_string(i) + " must be an options object");
  return info[i].As<Napi::Object>();
}
Napi::Value W(const Napi::CallbackInfo& info, Tensor t) { return TensorHandle::Wrap(info.Env(), std::move(t)); }

// Every exported function goes through Guard: C++ exceptions become JS Errors.
Napi::Value Guarded(const Napi::CallbackInfo& info, Napi::Value (*f)(const Napi::CallbackInfo&)) {
  try {
    return f(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "out of memory: an allocation failed; free tensors with dispose() or tidy(), or use smaller batches");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guard(const Napi::CallbackInfo& info) {
  return Guarded(info, F);
}

// ---- creation and movement ----
Napi::Value FromFloat32(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Error("tensor: data must be a Float32Array");
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  Shape s = ShapeArg(info[1], "tensor");
  if (shape_numel(s) != static_cast<int64_t>(a.ElementLength()))
    throw Error("tensor: " + std::to_string(a.ElementLength()) + " values do not fill shape " + format_shape(s) + " (" +
                std::to_string(shape_numel(s)) + " elements); give a shape whose product is the data length");
  return W(info, ops::from_host(a.Data(), s, DeviceArg(info[2], "tensor")));
}
Napi::Value FromInt32(const Napi::CallbackInfo& info) {
  std::vector<int32_t> v = IndexArg(info[0], "tensor");
  Shape s = ShapeArg(info[1], "tensor");
  if (shape_numel(s) != static_cast<int64_t>(v.size())) throw Error("tensor: Int32Array length does not match shape " + format_shape(s));
  return W(info, ops::from_host(v.data(), s, DeviceArg(info[2], "tensor"), DType::Int32));
}
Napi::Value Empty(const Napi::CallbackInfo& info) { return W(info, ops::empty(ShapeArg(info[0], "empty"), DeviceArg(info[1], "empty"))); }
Napi::Value Full(const Napi::CallbackInfo& info) {
  return W(info, ops::full(ShapeArg(info[0], "full"), static_cast<float>(Num(info, 1, "full")), DeviceArg(info[2], "full")));
}
Napi::Value Reshape(const Napi::CallbackInfo& info) {
  return TensorHandle::Wrap(info.Env(), ops::reshape(T(info, 0, "reshape"), ShapeArg(info[1], "reshape")), false);
}
Napi::Value Clone(const Napi::CallbackInfo& info) { return W(info, ops::clone(T(info, 0, "clone"))); }
Napi::Value To(const Napi::CallbackInfo& info) { return W(info, ops::to_device(T(info, 0, "to"), DeviceArg(info[1], "to"))); }
Napi::Value Copy(const Napi::CallbackInfo& info) {
  ops::copy_(T(info, 0, "copy_"), T(info, 1, "copy_"));
  return info.Env().Undefined();
}
Napi::Value Fill(const Napi::CallbackInfo& info) {
  ops::fill_(T(info, 0, "fill_"), static_cast<float>(Num(info, 1, "fill_")));
  return info.Env().Undefined();
}
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  ops::axpy_(T(info, 0, "add_"), static_cast<float>(Num(info, 1, "add_")), T(info, 2, "add_"));
  return info.Env().Undefined();
}

// ---- elementwise, reductions, linear algebra ----
Napi::Value Unary(const Napi::CallbackInfo& info) {
  return W(info, ops::unary(Code<UnaryOp>(info, 0, "unary", kUnaryOpCount), T(info, 1, "unary"),
                            static_cast<float>(info.Length() > 2 ? Num(info, 2, "unary") : 0),
                            static_cast<float>(info.Length() > 3 ? Num(info, 3, "unary") : 0)));
}
Napi::Value Binary(const Napi::CallbackInfo& info) {
  return W(info, ops::binary(Code<BinaryOp>(info, 0, "binary", kBinaryOpCount), T(info, 1, "binary"), T(info, 2, "binary")));
}
Napi::Value Where(const Napi::CallbackInfo& info) {
  return W(info, ops::where(T(info, 0, "where"), T(info, 1, "where"), T(info, 2, "where")));
}
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  const bool want = Bool(info, 4);
  auto r = ops::reduce(Code<ReduceOp>(info, 0, "reduce", kReduceOpCount), T(info, 1, "reduce"), ShapeArg(info[2], "reduce"),
                       Bool(info, 3), want);
  if (!want) return W(info, std::move(r.first));
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a[0u] = W(info, std::move(r.first));
  a[1u] = W(info, std::move(r.second));
  return a;
}
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  return W(info, ops::matmul(T(info, 0, "matmul"), T(info, 1, "matmul"), Bool(info, 2), Bool(info, 3)));
}

// ---- layout ----
Napi::Value Permute(const Napi::CallbackInfo& info) { return W(info, ops::permute(T(info, 0, "permute"), ShapeArg(info[1], "permute"))); }
Napi::Value Slice(const Napi::CallbackInfo& info) {
  return W(info, ops::slice(T(info, 0, "slice"), Int(info, 1, "slice"), Int(info, 2, "slice"), Int(info, 3, "slice"), Int(info, 4, "slice")));
}
Napi::Value SliceBackward(const Napi::CallbackInfo& info) {
  return W(info, ops::slice_backward(T(info, 0, "slice"), ShapeArg(info[1], "slice"), Int(info, 2, "slice"),
                                     Int(info, 3, "slice"), Int(info, 4, "slice"), Int(info, 5, "slice")));
}
Napi::Value Concat(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) throw Error("concat: expected an array of tensors");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<Tensor> xs;
  for (uint32_t i = 0; i < a.Length(); ++i) xs.push_back(TensorHandle::From(a.Get(i), "concat"));
  return W(info, ops::concat(xs, Int(info, 1, "concat")));
}
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return W(info, ops::index_select(T(info, 0, "indexSelect"), Int(info, 1, "indexSelect"), IndexArg(info[2], "indexSelect")));
}
Napi::Value IndexAdd(const Napi::CallbackInfo& info) {
  return W(info, ops::index_add(ShapeArg(info[0], "indexAdd"), Int(info, 1, "indexAdd"), IndexArg(info[2], "indexAdd"), T(info, 3, "indexAdd")));
}
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return W(info, ops::gather(T(info, 0, "gather"), Int(info, 1, "gather"), IndexArg(info[2], "gather"), ShapeArg(info[3], "gather")));
}
Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  return W(info, ops::scatter_add(ShapeArg(info[0], "scatterAdd"), Int(info, 1, "scatterAdd"), IndexArg(info[2], "scatterAdd"),
                                  ShapeArg(info[3], "scatterAdd"), T(info, 4, "scatterAdd")));
}

// ---- neural-network ops ----
Napi::Value Softmax(const Napi::CallbackInfo& info) { return W(info, ops::softmax(T(info, 0, "softmax"), Int(info, 1, "softmax"), Bool(info, 2))); }
ops::Conv2dArgs ConvArgs(const Napi::Object& o, const char* op = "conv2d") {
  ops::Conv2dArgs a;
  a.stride_h = IntField(o, "strideH", 1, op); a.stride_w = IntField(o, "strideW", 1, op);
  a.pad_h = IntField(o, "padH", 0, op); a.pad_w = IntField(o, "padW", 0, op);
  a.dil_h = IntField(o, "dilH", 1, op); a.dil_w = IntField(o, "dilW", 1, op);
  a.groups = IntField(o, "groups", 1, op);
  return a;
}
ops::Pool2dArgs PoolArgs(const Napi::Object& o, const char* op = "pool2d") {
  ops::Pool2dArgs a;
  a.kh = IntField(o, "kH", 2, op); a.kw = IntField(o, "kW", 2, op);
  a.stride_h = IntField(o, "strideH", a.kh, op); a.stride_w = IntField(o, "strideW", a.kw, op);
  a.pad_h = IntField(o, "padH", 0, op); a.pad_w = IntField(o, "padW", 0, op);
  a.count_include_pad = BoolField(o, "countIncludePad", true);
  a.ceil_mode = BoolField(o, "ceilMode", false);
  return a;
}
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  return W(info, ops::conv2d(T(info, 0, "conv2d"), T(info, 1, "conv2d"), ConvArgs(ObjArg(info, 2, "conv2d"))));
}
Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {
  return W(info, ops::conv2d_backward_input(T(info, 0, "conv2d"), T(info, 1, "conv2d"), ShapeArg(info[2], "conv2d"), ConvArgs(ObjArg(info, 3, "conv2d"))));
}
Napi::Value Conv2dBackwardWeight(const Napi::CallbackInfo& info) {
  return W(info, ops::conv2d_backward_weight(T(info, 0, "conv2d"), T(info, 1, "conv2d"), ShapeArg(info[2], "conv2d"), ConvArgs(ObjArg(info, 3, "conv2d"))));
}
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  auto r = ops::max_pool2d(T(info, 0, "maxPool2d"), PoolArgs(ObjArg(info, 1, "maxPool2d")));
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a[0u] = W(info, std::move(r.first));
  a[1u] = W(info, std::move(r.second));
  return a;
}
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  return W(info, ops::max_pool2d_backward(T(info, 0, "maxPool2d"), T(info, 1, "maxPool2d"), ShapeArg(info[2], "maxPool2d"), PoolArgs(ObjArg(info, 3, "maxPool2d"))));
}
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  return W(info, ops::avg_pool2d(T(info, 0, "avgPool2d"), PoolArgs(ObjArg(info, 1, "avgPool2d"))));
}
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  return W(info, ops::avg_pool2d_backward(T(info, 0, "avgPool2d"), ShapeArg(info[1], "avgPool2d"), PoolArgs(ObjArg(info, 2, "avgPool2d"))));
}
Napi::Value Random(const Napi::CallbackInfo& info) {
  const double seed = Num(info, 2, "random"), offset = Num(info, 3, "random");
  if (seed < 0 || seed > 9007199254740991.0 || seed != std::floor(seed)) throw Error("random: seed must be an integer in [0, 2^53)");
  return W(info, ops::random(Code<RandomKind>(info, 0, "random", kRandomKindCount), ShapeArg(info[1], "random"),
                             static_cast<uint64_t>(seed), static_cast<uint64_t>(offset), static_cast<float>(Num(info, 4, "random")),
                             DeviceArg(info[5], "random")));
}

// ---- the fractional neuron op ----
struct KernelArg {
  std::vector<double> K;
};
// Neuron options shared by the op and inference plans (T, N and K are filled in by the caller).
FractionalParams NeuronOptions(const Napi::Object& o, const char* op) {
  FractionalParams p;
  const std::string kind = o.Get("kind").IsString() ? o.Get("kind").As<Napi::String>().Utf8Value() : "lif";
  if (kind != "lif" && kind != "if") throw Error(std::string(op) + ": neuron kind '" + kind + "' is unknown; use 'lif' or 'if'");
  p.kind = kind == "if" ? NeuronKind::IF : NeuronKind::LIF;
  const std::string sg = o.Get("surrogate").IsString() ? o.Get("surrogate").As<Napi::String>().Utf8Value() : "arctan";
  if (sg == "arctan") p.surrogate = Surrogate::Arctan;
  else if (sg == "sigmoid") p.surrogate = Surrogate::Sigmoid;
  else if (sg == "piecewise_linear") p.surrogate = Surrogate::PiecewiseLinear;
  else if (sg == "gaussian") p.surrogate = Surrogate::Gaussian;
  else throw Error(std::string(op) + ": surrogate '" + sg + "' is unknown; use 'arctan', 'sigmoid', 'piecewise_linear' or 'gaussian'");
  p.tau = static_cast<float>(Field(o, "tau", 0.5));
  p.threshold = static_cast<float>(Field(o, "threshold", 1.0));
  p.scale = static_cast<float>(Field(o, "scale", 5.0));
  p.memory = IntField(o, "memory", int64_t{1} << 53, op);
  return p;
}

std::vector<double> KernelArg(const Napi::Value& kv, const char* op) {
  if (!kv.IsTypedArray() || kv.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Error(std::string(op) + ": the kernel K must be a Float64Array of length T + 1");
  Napi::Float64Array ka = kv.As<Napi::Float64Array>();
  return std::vector<double>(ka.Data(), ka.Data() + ka.ElementLength());
}

FractionalParams FracParams(const Tensor& I, const std::vector<double>& K, const Napi::Object& o, const char* op) {
  FractionalParams p = NeuronOptions(o, op);
  if (!I.storage) throw Error(std::string(op) + ": the input current tensor was disposed");
  p.T = I.dim() > 0 ? I.shape[0] : 0;
  p.N = p.T > 0 ? I.numel() / p.T : 0;
  if (static_cast<int64_t>(K.size()) < p.T + 1)
    throw Error(std::string(op) + ": the kernel has " + std::to_string(K.size()) + " values but T = " + std::to_string(p.T) +
                " steps need T + 1 = " + std::to_string(p.T + 1));
  if (p.memory > p.T + 1) p.memory = p.T + 1;
  p.K = K.data();
  return p;
}
Napi::Value FractionalForward(const Napi::CallbackInfo& info) {
  const char* op = "fractionalNeuron";
  Tensor& I = T(info, 0, op);
  const std::vector<double> K = KernelArg(info[1], op);
  FractionalParams p = FracParams(I, K, ObjArg(info, 2, op), op);
  ops::FractionalResult r = ops::fractional_forward(I, p, Bool(info, 3));
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("spikes", W(info, std::move(r.spikes)));
  out.Set("v", r.v.storage ? W(info, std::move(r.v)) : info.Env().Null());
  return out;
}
Napi::Value FractionalBackward(const Napi::CallbackInfo& info) {
  const char* op = "fractionalNeuron.backward";
  Tensor& I = T(info, 0, op);
  const std::vector<double> K = KernelArg(info[5], op);
  FractionalParams p = FracParams(I, K, ObjArg(info, 6, op), op);
  ops::FractionalGrads g = ops::fractional_backward(I, T(info, 1, op), T(info, 2, op), T(info, 3, op), OptT(info, 4, op), p);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("gI", W(info, std::move(g.gI)));
  out.Set("gK", W(info, std::move(g.gK)));      // [2, T + 1] hi/lo pairs, on I's device
  out.Set("gTau", W(info, std::move(g.gTau)));  // [2] hi/lo
  return out;
}

// ---- inference plans ----
Napi::Object ObjField(const Napi::Object& o, const char* key, uint32_t step) {
  Napi::Value v = o.Get(key);
  if (!v.IsObject()) throw Error("inferencePlan: step " + std::to_string(step) + " needs an object '" + key + "'");
  return v.As<Napi::Object>();
}
std::vector<PlanStep> PlanArg(const Napi::Value& v) {
  const char* op = "inferencePlan";
  if (!v.IsArray()) throw Error("inferencePlan: steps must be an array");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<PlanStep> steps;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value sv = a.Get(i);
    if (!sv.IsObject()) throw Error("inferencePlan: step " + std::to_string(i) + " is not an object");
    Napi::Object o = sv.As<Napi::Object>();
    const std::string kind = o.Get("kind").IsString() ? o.Get("kind").As<Napi::String>().Utf8Value() : "";
    PlanStep st{};
    auto tensor_field = [&](const char* key, bool optional) -> Tensor {
      Napi::Value tv = o.Get(key);
      if (optional && (tv.IsNull() || tv.IsUndefined())) return Tensor{};
      return TensorHandle::From(tv, op);
    };
    if (kind == "linear") {
      st.kind = PlanStep::Kind::Linear;
      st.weight = tensor_field("weight", false);
      st.bias = tensor_field("bias", true);
    } else if (kind == "fractional") {
      st.kind = PlanStep::Kind::Fractional;
      st.K = KernelArg(o.Get("K"), op);
      if (st.K.empty()) throw Error("inferencePlan: empty kernel");
      st.frac = NeuronOptions(ObjField(o, "params", i), op);
    } else if (kind == "flatten") {
      st.kind = PlanStep::Kind::Flatten;
      st.start_dim = IntField(o, "startDim", 2, op);
    } else if (kind == "conv2d") {
      st.kind = PlanStep::Kind::Conv2d;
      st.weight = tensor_field("weight", false);
      st.bias = tensor_field("bias", true);
      st.conv = ConvArgs(ObjField(o, "args", i), op);
    } else if (kind == "maxpool2d" || kind == "avgpool2d") {
      st.kind = kind == "maxpool2d" ? PlanStep::Kind::MaxPool2d : PlanStep::Kind::AvgPool2d;
      st.pool = PoolArgs(ObjField(o, "args", i), op);
    } else if (kind == "meanOverTime") {
      st.kind = PlanStep::Kind::MeanOverTime;
    } else {
      throw Error("inferencePlan: step " + std::to_string(i) + " has unknown kind '" + kind + "'");
    }
    steps.push_back(std::move(st));
  }
  return steps;
}

Napi::Value RunPlan(const Napi::CallbackInfo& info) {
  return W(info, run_plan(PlanArg(info[0]), T(info, 1, "runPlan")));
}

// Runs a whole inference plan on the libuv pool; the JavaScript thread stays free meanwhile.
class PlanWorker : public Napi::AsyncWorker {
 public:
  PlanWorker(Napi::Env env, std::vector<PlanStep> steps, Tensor x)
      : Napi::AsyncWorker(env), steps_(std::move(steps)), x_(std::move(x)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      out_ = run_plan(steps_, x_);
      if (out_.storage) out_.storage->backend->synchronize();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(TensorHandle::Wrap(Env(), std::move(out_))); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::vector<PlanStep> steps_;
  Tensor x_, out_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value RunPlanAsync(const Napi::CallbackInfo& info) {
  auto* w = new PlanWorker(info.Env(), PlanArg(info[0]), T(info, 1, "runPlanAsync"));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- fused optimizer steps ----
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Object o = ObjArg(info, 5, "adam.step");
  AdamParams a{};
  a.lr = static_cast<float>(Field(o, "lr", 1e-3));
  const double b1 = Field(o, "beta1", 0.9), b2 = Field(o, "beta2", 0.999);
  a.beta1 = static_cast<float>(b1);
  a.beta2 = static_cast<float>(b2);
  a.one_minus_beta1 = static_cast<float>(1.0 - b1);
  a.one_minus_beta2 = static_cast<float>(1.0 - b2);
  a.eps = static_cast<float>(Field(o, "eps", 1e-8));
  a.weight_decay = static_cast<float>(Field(o, "weightDecay", 0));
  a.decoupled = BoolField(o, "decoupled", false);
  a.amsgrad = BoolField(o, "amsgrad", false);
  a.maximize = BoolField(o, "maximize", false);
  const double step = Field(o, "step", 1);
  a.bias_correction1 = 1.0 - std::pow(b1, step);
  a.bias_correction2 = 1.0 - std::pow(b2, step);
  ops::adam_step(T(info, 0, "adam.step"), T(info, 1, "adam.step"), T(info, 2, "adam.step"), T(info, 3, "adam.step"),
                 OptT(info, 4, "adam.step"), a);
  return info.Env().Undefined();
}
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Napi::Object o = ObjArg(info, 3, "sgd.step");
  SgdParams s{};
  s.lr = static_cast<float>(Field(o, "lr", 1e-3));
  s.momentum = static_cast<float>(Field(o, "momentum", 0));
  s.dampening = static_cast<float>(Field(o, "dampening", 0));
  s.weight_decay = static_cast<float>(Field(o, "weightDecay", 0));
  s.nesterov = BoolField(o, "nesterov", false);
  s.first_step = BoolField(o, "firstStep", false);
  s.maximize = BoolField(o, "maximize", false);
  ops::sgd_step(T(info, 0, "sgd.step"), T(info, 1, "sgd.step"), OptT(info, 2, "sgd.step"), s);
  return info.Env().Undefined();
}

// ---- information ----
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", cpu::num_threads());
  o.Set("blas", cpu::blas_mode());
  o.Set("openblas", cpu::has_openblas());
  o.Set("cpu", backend_for(Device::CPU).info());
  o.Set("cudaCompiled", cuda_bridge::compiled());
  return o;
}
// setNumThreads(n): resizes the CPU pool (and OpenBLAS, when built in) to n threads; returns the count in force.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int n = static_cast<int>(Int(info, 0, "setNumThreads"));
  cpu::set_num_threads(n);
  cpu::set_blas_threads(n);
  return Napi::Number::New(info.Env(), cpu::num_threads());
}
Napi::Value LiveBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ops::live_bytes(DeviceArg(info[0], "liveBytes"))));
}
Napi::Value PeakGflops(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cpu::measure_peak_gflops(static_cast<int>(Int(info, 0, "peak")), Num(info, 1, "peak")));
}
Napi::Value CudaAvailable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cuda_bridge::available()); }
Napi::Value CudaCompiled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cuda_bridge::compiled()); }
Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), cuda_bridge::device_count()); }
Napi::Value CudaDeviceName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), cuda_bridge::device_name(info.Length() > 0 ? static_cast<int>(Int(info, 0, "deviceName")) : 0));
}
Napi::Value CudaUnavailableReason(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), cuda_bridge::unavailable_reason()); }
Napi::Value CudaSelfTest(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), cuda_bridge::self_test()); }
Napi::Value CublasStatus(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), cuda_bridge::cublas_status()); }
// cudaMemoryStats(resetPeak?: boolean): the CUDA caching allocator's counters (zeros without CUDA).
Napi::Value CudaMemoryStats(const Napi::CallbackInfo& info) {
  const cuda_bridge::MemoryStats s = cuda_bridge::memory_stats(Bool(info, 0));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("allocatedBytes", s.allocated_bytes);
  o.Set("reservedBytes", s.reserved_bytes);
  o.Set("cachedBytes", s.cached_bytes);
  o.Set("peakAllocatedBytes", s.peak_allocated_bytes);
  o.Set("numAllocs", s.num_allocs);
  o.Set("numFrees", s.num_frees);
  o.Set("numCacheHits", s.num_cache_hits);
  o.Set("numRequests", s.num_requests);
  o.Set("numOomRetries", s.num_oom_retries);
  o.Set("hostReads", s.host_reads);
  return o;
}
Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info) {
  cuda_bridge::empty_cache();
  return info.Env().Undefined();
}
// cudaSetMatmulPrecision(p?: 'highest' | 'tf32'): sets (when given) and returns the precision in force.
Napi::Value CudaSetMatmulPrecision(const Napi::CallbackInfo& info) {
  const std::string p = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (info.Length() > 0 && !info[0].IsString() && !info[0].IsUndefined())
    throw Error("setMatmulPrecision: the precision must be 'highest' or 'tf32'");
  return Napi::String::New(info.Env(), cuda_bridge::matmul_precision(p));
}
Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  cuda_bridge::synchronize();
  return info.Env().Undefined();
}

#define FSNN_EXPORT(name, fn) exports.Set(name, Napi::Function::New<Guard<fn>>(env, name))

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  g_handle_ctor = new Napi::FunctionReference(Napi::Persistent(TensorHandle::Init(env)));
  exports.Set("TensorHandle", g_handle_ctor->Value());
  FSNN_EXPORT("fromFloat32", FromFloat32);
  FSNN_EXPORT("fromInt32", FromInt32);
  FSNN_EXPORT("empty", Empty);
  FSNN_EXPORT("full", Full);
  FSNN_EXPORT("reshape", Reshape);
  FSNN_EXPORT("clone", Clone);
  FSNN_EXPORT("to", To);
  FSNN_EXPORT("copy_", Copy);
  FSNN_EXPORT("fill_", Fill);
  FSNN_EXPORT("axpy_", Axpy);
  FSNN_EXPORT("unary", Unary);
  FSNN_EXPORT("binary", Binary);
  FSNN_EXPORT("where", Where);
  FSNN_EXPORT("reduce", Reduce);
  FSNN_EXPORT("matmul", Matmul);
  FSNN_EXPORT("permute", Permute);
  FSNN_EXPORT("slice", Slice);
  FSNN_EXPORT("sliceBackward", SliceBackward);
  FSNN_EXPORT("concat", Concat);
  FSNN_EXPORT("indexSelect", IndexSelect);
  FSNN_EXPORT("indexAdd", IndexAdd);
  FSNN_EXPORT("gather", Gather);
  FSNN_EXPORT("scatterAdd", ScatterAdd);
  FSNN_EXPORT("softmax", Softmax);
  FSNN_EXPORT("conv2d", Conv2d);
  FSNN_EXPORT("conv2dBackwardInput", Conv2dBackwardInput);
  FSNN_EXPORT("conv2dBackwardWeight", Conv2dBackwardWeight);
  FSNN_EXPORT("maxPool2d", MaxPool2d);
  FSNN_EXPORT("maxPool2dBackward", MaxPool2dBackward);
  FSNN_EXPORT("avgPool2d", AvgPool2d);
  FSNN_EXPORT("avgPool2dBackward", AvgPool2dBackward);
  FSNN_EXPORT("random", Random);
  FSNN_EXPORT("fractionalForward", FractionalForward);
  FSNN_EXPORT("fractionalBackward", FractionalBackward);
  FSNN_EXPORT("runPlan", RunPlan);
  FSNN_EXPORT("runPlanAsync", RunPlanAsync);
  FSNN_EXPORT("adamStep", AdamStep);
  FSNN_EXPORT("sgdStep", SgdStep);
  FSNN_EXPORT("info", Info);
  FSNN_EXPORT("setNumThreads", SetNumThreads);
  FSNN_EXPORT("liveBytes", LiveBytes);
  FSNN_EXPORT("measurePeakGflops", PeakGflops);
  FSNN_EXPORT("cudaIsAvailable", CudaAvailable);
  FSNN_EXPORT("cudaCompiled", CudaCompiled);
  FSNN_EXPORT("cudaDeviceCount", CudaDeviceCount);
  FSNN_EXPORT("cudaDeviceName", CudaDeviceName);
  FSNN_EXPORT("cudaUnavailableReason", CudaUnavailableReason);
  FSNN_EXPORT("cudaSelfTest", CudaSelfTest);
  FSNN_EXPORT("cublasStatus", CublasStatus);
  FSNN_EXPORT("cudaMemoryStats", CudaMemoryStats);
  FSNN_EXPORT("cudaEmptyCache", CudaEmptyCache);
  FSNN_EXPORT("cudaSetMatmulPrecision", CudaSetMatmulPrecision);
  FSNN_EXPORT("cudaSynchronize", CudaSynchronize);
  return exports;
}

}  // namespace
}  // namespace fsnn

Napi::Object InitFsnn(Napi::Env env, Napi::Object exports) { return fsnn::Init(env, exports); }
NODE_API_MODULE(fsnn, InitFsnn)
