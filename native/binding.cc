// The N-API binding: runKernel (every op, by name: kernels.def), program replay (inference), the
// creation of tensors from host data, and information queries. Arguments are converted by
// napi_args.h and handles live in tensor_handle.cc; every check and every dispatch happens in ops.cc.
// Any C++ exception becomes a JS Error, so a bad call never takes the process down.
#include "napi_config.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cpu/cpu_allocator.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_features.h"
#include "cpu/parallel.h"
#include "cpu/peak_fma.h"
#include "cuda_bridge.h"
#include "distributed/distributed.h"
#include "kernel_registry.h"
#include "napi_args.h"
#include "ops.h"
#include "tensor_handle.h"

namespace fsnn {
namespace {

// ---- creation from host data (not kernels: their input is a host array, not a tensor) ----
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

// ---- runKernel(name, inputs, attrs) ----
const KernelEntry& KernelNameArg(Napi::Env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) throw Error("runKernel: the kernel name must be a string");
  char buf[64];
  size_t len = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf8(env, v, buf, sizeof(buf), &len), kernel_entry(""));
  return kernel_entry(buf, len);
}

// The property keys of each kernel's attributes as JavaScript strings, made once per thread's
// environment (napi_get_named_property would make the key from UTF-8 on every call).
const std::vector<napi_value>& AttrKeys(napi_env env, const KernelEntry& k) {
  struct Cache {
    napi_env env = nullptr;
    std::unordered_map<const KernelEntry*, std::vector<napi_ref>> refs;
  };
  thread_local Cache cache;
  thread_local std::vector<napi_value> keys;
  if (cache.env != env) {
    cache.env = env;
    cache.refs.clear();
  }
  auto it = cache.refs.find(&k);
  if (it == cache.refs.end()) {
    std::vector<napi_ref> refs;
    for (const char* field : k.attrs) {
      napi_value s;
      napi_ref r;
      NAPI_THROW_IF_FAILED(env, napi_create_string_utf8(env, field, NAPI_AUTO_LENGTH, &s), keys);
      NAPI_THROW_IF_FAILED(env, napi_create_reference(env, s, 1, &r), keys);
      refs.push_back(r);
    }
    it = cache.refs.emplace(&k, std::move(refs)).first;
  }
  keys.resize(it->second.size());
  for (size_t i = 0; i < keys.size(); ++i) napi_get_reference_value(env, it->second[i], &keys[i]);
  return keys;
}

// A JavaScript attribute value, copied into napi-free form.
bool AttrFromJs(Napi::Env env, napi_value v, const KernelEntry& k, const char* field, AttrValue& out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  switch (t) {
    case napi_undefined:
    case napi_null:
      return false;
    case napi_number:
      out.kind = AttrValue::Kind::Number;
      napi_get_value_double(env, v, &out.number);
      return true;
    case napi_boolean:
      out.kind = AttrValue::Kind::Bool;
      napi_get_value_bool(env, v, &out.boolean);
      return true;
    case napi_string: {
      out.kind = AttrValue::Kind::String;
      out.string = Napi::Value(env, v).As<Napi::String>().Utf8Value();
      return true;
    }
    default:
      break;
  }
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type tt;
    size_t n = 0;
    void* data = nullptr;
    napi_get_typedarray_info(env, v, &tt, &n, &data, nullptr, nullptr);
    if (tt == napi_int32_array) {
      out.kind = AttrValue::Kind::Int32Array;
      out.ints.assign(static_cast<const int32_t*>(data), static_cast<const int32_t*>(data) + n);
      return true;
    }
    if (tt == napi_float64_array) {
      out.kind = AttrValue::Kind::Float64Array;
      out.numbers.assign(static_cast<const double*>(data), static_cast<const double*>(data) + n);
      return true;
    }
    fail("runKernel('", k.name, "'): attribute '", field, "' is a typed array of an unsupported type; use an Int32Array, a Float64Array or an array");
  }
  napi_is_array(env, v, &is);
  if (is) {
    uint32_t n = 0;
    napi_get_array_length(env, v, &n);
    out.kind = AttrValue::Kind::NumberList;
    out.numbers.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      napi_value e;
      napi_get_element(env, v, i, &e);
      napi_valuetype et;
      napi_typeof(env, e, &et);
      if (et != napi_number) fail("runKernel('", k.name, "'): attribute '", field, "' must hold only numbers (entry ", i, " is not)");
      napi_get_value_double(env, e, &out.numbers[i]);
    }
    return true;
  }
  fail("runKernel('", k.name, "'): attribute '", field, "' has an unsupported type (an object or a function)");
}

// The attributes the kernel declares, read by field name from a JavaScript object.
AttrMap AttrsFromJs(Napi::Env env, napi_value obj, const KernelEntry& k) {
  AttrMap m;
  napi_valuetype t;
  napi_typeof(env, obj, &t);
  if (t == napi_undefined || t == napi_null) return m;
  if (t != napi_object) fail("runKernel('", k.name, "'): attrs must be an object");
  const std::vector<napi_value>& keys = AttrKeys(env, k);
  m.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    napi_value v;
    NAPI_THROW_IF_FAILED(env, napi_get_property(env, obj, keys[i], &v), m);
    AttrValue a;
    if (AttrFromJs(env, v, k, k.attrs[i], a)) m.set(k.attrs[i], std::move(a));
  }
  return m;
}

KernelInputs InputsFromJs(napi_env env, napi_value v, const KernelEntry& k) {
  bool is = false;
  napi_is_array(env, v, &is);
  if (!is) fail("runKernel('", k.name, "'): inputs must be an array of tensor handles (or null)");
  uint32_t n = 0;
  napi_get_array_length(env, v, &n);
  KernelInputs in(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value e;
    NAPI_THROW_IF_FAILED(env, napi_get_element(env, v, i, &e), in);
    napi_valuetype t;
    napi_typeof(env, e, &t);
    in[i] = t == napi_null || t == napi_undefined ? nullptr : &tensor_of(Napi::Value(env, e), k.name);
  }
  return in;
}

bool SharesStorage(const Tensor& t, const KernelInputs& in) {
  for (const Tensor* x : in)
    if (x && x->storage == t.storage) return true;
  return false;
}

Napi::Value OutputsToJs(Napi::Env env, const KernelEntry& k, KernelOutputs& out, const KernelInputs& in) {
  if (k.outputs == 0) return env.Undefined();
  auto one = [&](size_t i) -> Napi::Value {
    if (i >= out.size() || !out[i].storage) return env.Null();
    const bool view = SharesStorage(out[i], in);
    return wrap_tensor(env, std::move(out[i]), !view);
  };
  if (k.outputs == 1) return one(0);
  Napi::Array a = Napi::Array::New(env, k.outputs);
  for (int i = 0; i < k.outputs; ++i) a[static_cast<uint32_t>(i)] = one(i);
  return a;
}

Napi::Value RunKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelEntry& k = KernelNameArg(env, info[0]);
  KernelInputs in = InputsFromJs(env, info[1], k);
  AttrMap attrs = AttrsFromJs(env, info[2], k);
  KernelOutputs out = run_kernel(k, in, attrs);
  return OutputsToJs(env, k, out, in);
}

// ---- inference programs: compileProgram(desc) -> program; replay(program, x); replayAsync(program, x) ----
using ProgramRef = std::shared_ptr<KernelProgram>;

std::vector<int> SlotList(const Napi::Value& v, const char* what, uint32_t step) {
  if (!v.IsArray()) fail("compileProgram: step ", step, " needs an array '", what, "' of slot numbers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    out[i] = e.IsNull() || e.IsUndefined() ? -1 : static_cast<int>(IntValue(e.As<Napi::Number>().DoubleValue(), "compileProgram: a slot"));
  }
  return out;
}

// desc: { steps: [{ kernel, inputs: slot[], attrs, outputs: slot[] }], constants: handle[], inputShape, device, slots, output }
Napi::Value CompileProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object d = ObjArg(info, 0, "compileProgram");
  auto p = std::make_shared<KernelProgram>();
  Napi::Value cv = d.Get("constants");
  if (!cv.IsArray()) fail("compileProgram: constants must be an array of tensor handles");
  Napi::Array ca = cv.As<Napi::Array>();
  for (uint32_t i = 0; i < ca.Length(); ++i) p->constants.push_back(tensor_of(ca.Get(i), "compileProgram"));
  p->input_shape = ShapeArg(d.Get("inputShape"), "compileProgram");
  p->input_device = DeviceArg(d.Get("device"), "compileProgram");
  p->slots = static_cast<int>(IntField(d, "slots", 1, "compileProgram"));
  p->output = static_cast<int>(IntField(d, "output", 0, "compileProgram"));
  Napi::Value sv = d.Get("steps");
  if (!sv.IsArray()) fail("compileProgram: steps must be an array");
  Napi::Array sa = sv.As<Napi::Array>();
  for (uint32_t i = 0; i < sa.Length(); ++i) {
    Napi::Value e = sa.Get(i);
    if (!e.IsObject()) fail("compileProgram: step ", i, " is not an object");
    Napi::Object o = e.As<Napi::Object>();
    KernelProgram::Step st;
    st.kernel = &KernelNameArg(env, o.Get("kernel"));
    st.inputs = SlotList(o.Get("inputs"), "inputs", i);
    st.outputs = SlotList(o.Get("outputs"), "outputs", i);
    st.attrs = AttrsFromJs(env, o.Get("attrs"), *st.kernel);
    p->steps.push_back(std::move(st));
  }
  finalize_program(*p);
  return Napi::External<ProgramRef>::New(env, new ProgramRef(std::move(p)), [](Napi::Env, ProgramRef* r) { delete r; });
}

ProgramRef ProgramArg(const Napi::CallbackInfo& info, const char* op) {
  if (info.Length() < 1 || !info[0].IsExternal()) fail(op, ": the first argument must be a program from compileProgram");
  return *info[0].As<Napi::External<ProgramRef>>().Data();
}

Napi::Value Replay(const Napi::CallbackInfo& info) {
  ProgramRef p = ProgramArg(info, "replay");
  return W(info, replay_program(*p, T(info, 1, "replay")));
}

// Runs a whole program on the libuv pool; the JavaScript thread stays free meanwhile.
class ReplayWorker : public Napi::AsyncWorker {
 public:
  ReplayWorker(Napi::Env env, ProgramRef program, Tensor x)
      : Napi::AsyncWorker(env), program_(std::move(program)), x_(std::move(x)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      out_ = replay_program(*program_, x_);
      if (out_.storage) out_.storage->backend->synchronize();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(wrap_tensor(Env(), std::move(out_))); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  ProgramRef program_;
  Tensor x_, out_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value ReplayAsync(const Napi::CallbackInfo& info) {
  auto* w = new ReplayWorker(info.Env(), ProgramArg(info, "replayAsync"), T(info, 1, "replayAsync"));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// storageVersions(handles): each handle's storage write count (see Storage::version).
Napi::Value StorageVersions(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) fail("storageVersions: expected an array of tensor handles");
  Napi::Array a = info[0].As<Napi::Array>();
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i)
    out[i] = static_cast<double>(tensor_of(a.Get(i), "storageVersions").storage->version.load());
  return out;
}

// ---- the fractional neuron op: the kernel tables, and the backward (the forward is the kernel fractionalForward) ----
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

// The kernel's terms: a Float64Array (orders or weights; empty for euler).
std::vector<double> TermsArg(const Napi::CallbackInfo& info, size_t i, const char* what, const char* op) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Error(std::string(op) + ": the " + what + " must be a Float64Array (one value per term)");
  Napi::Float64Array a = v.As<Napi::Float64Array>();
  return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
}
// (method, alphas, weights, h) at arguments i..i+3; T is the input's (ops.cc) or given (fractionalKernel).
FractionalKernelSpec KernelSpecArg(const Napi::CallbackInfo& info, size_t i, double T, const char* op) {
  const std::string method = info[i].ToString().Utf8Value();
  std::vector<double> alphas = TermsArg(info, i + 1, "orders alphas", op), weights = TermsArg(info, i + 2, "weights", op);
  const double h = info[i + 3].IsNumber() ? info[i + 3].As<Napi::Number>().DoubleValue() : NAN;
  return fractional_kernel_spec(method, std::move(alphas), std::move(weights), h, T);
}
Napi::Float64Array Float64Out(Napi::Env env, const double* data, int64_t n) {
  Napi::Float64Array a = Napi::Float64Array::New(env, size_t(n));
  std::memcpy(a.Data(), data, size_t(n) * sizeof(double));
  return a;
}

// fractionalKernel(method, alphas, weights, h, T) -> { K, dAlpha: [per term], dWeight: [per term] } (Float64Arrays)
Napi::Value FractionalKernelTables(const Napi::CallbackInfo& info) {
  const double T = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : NAN;
  const FractionalKernel k = build_fractional_kernel(KernelSpecArg(info, 0, T, "fractionalKernel"));
  Napi::Env env = info.Env();
  const int64_t n = k.T + 1;
  Napi::Array dA = Napi::Array::New(env, size_t(k.terms)), dW = Napi::Array::New(env, size_t(k.terms));
  for (int64_t m = 0; m < k.terms; ++m) {
    dA.Set(uint32_t(m), Float64Out(env, k.dAlpha.data() + m * n, n));
    dW.Set(uint32_t(m), Float64Out(env, k.dWeight.data() + m * n, n));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("method", fractional_method_name(k.method));
  out.Set("K", Float64Out(env, k.K.data(), n));
  out.Set("dAlpha", dA);
  out.Set("dWeight", dW);
  return out;
}

// fractionalFastInfo(method, alphas, weights, h, T) -> { L0, Q, Lmax }: the fast history's size for T steps
// (fractional_history.h; built and cached as the op would).
Napi::Value FractionalFastInfo(const Napi::CallbackInfo& info) {
  const double T = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : NAN;
  const auto f = cached_fractional_fast_history(KernelSpecArg(info, 0, T, "fractionalFastInfo"));
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("L0", double(f->L0));
  out.Set("Q", double(f->Q));
  out.Set("Lmax", double(f->soe->Lmax));
  return out;
}

// fractionalBackward(I, v, spikes, gS, gV | null, method, alphas, weights, h, params,
//                    { alpha, weight, tauScale?, pairs?, inputChecked?, linearInput? })
//   -> { gI (null with linearInput), gAlpha, gWeight, gTau (null when not asked), gLinearWeight?, gLinearBias?, gK?, gTauPair? }
Napi::Value FractionalBackward(const Napi::CallbackInfo& info) {
  const char* op = "fractionalNeuron.backward";
  Tensor& I = T(info, 0, op);
  const FractionalKernelSpec spec = KernelSpecArg(info, 5, 1, op);
  const Napi::Object w = ObjArg(info, 10, op);
  ops::FractionalGradRequest want;
  want.alpha = BoolField(w, "alpha", false);
  want.weight = BoolField(w, "weight", false);
  const Napi::Value ts = w.Get("tauScale");
  want.tau = ts.IsNumber();
  if (want.tau) want.tau_scale = ts.As<Napi::Number>().DoubleValue();
  want.pairs = BoolField(w, "pairs", false);
  want.input_checked = BoolField(w, "inputChecked", false);
  const Napi::Object params = ObjArg(info, 9, op);
  const Napi::Value hv = params.Get("history");  // as given to the forward (kernel attribute; default 'auto')
  const FractionalHistory history =
      hv.IsString() ? fractional_history_from_name(hv.As<Napi::String>().Utf8Value()) : FractionalHistory::Auto;
  const int64_t steps = IntField(params, "steps", 0, op);  // as given to the forward (kernel attribute; 0: none)
  const Napi::Value lx = w.Get("linearInput");  // the linear layer's input x [M, K] (ops.h), or absent
  const Tensor* linear_x = lx.IsNull() || lx.IsUndefined() ? nullptr : &tensor_of(lx, op);
  ops::FractionalGrads g = ops::fractional_backward(I, T(info, 1, op), T(info, 2, op), T(info, 3, op), OptT(info, 4, op),
                                                    spec, NeuronOptions(params, op), want, history, steps, linear_x);
  Napi::Env env = info.Env();
  auto opt = [&](Tensor& t) -> Napi::Value { return t.storage ? W(info, std::move(t)) : env.Null(); };
  Napi::Object out = Napi::Object::New(env);
  out.Set("gI", opt(g.gI));
  if (linear_x) {
    out.Set("gLinearWeight", W(info, std::move(g.gLinearWeight)));
    out.Set("gLinearBias", W(info, std::move(g.gLinearBias)));
  }
  out.Set("gAlpha", opt(g.gAlpha));
  out.Set("gWeight", opt(g.gWeight));
  out.Set("gTau", opt(g.gTau));
  if (want.pairs) {
    out.Set("gK", W(info, std::move(g.gK)));              // [2, T + 1] hi/lo pairs, on I's device
    out.Set("gTauPair", W(info, std::move(g.gTauPair)));  // [2] hi/lo
  }
  return out;
}

// ---- information ----
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", cpu::num_threads());
  o.Set("blas", cpu::blas_mode());
  o.Set("openblas", cpu::has_openblas());
  o.Set("avx2", cpu::cpu_has_avx2_fma());  // the CPU bodies in use (cpu/cpu_features.h)
  o.Set("avx512", cpu::cpu_has_avx512());
  o.Set("cpu", backend_for(Device::CPU).info());
  o.Set("cudaCompiled", cuda_bridge::compiled());
  return o;
}
// setNumThreads(n): resizes the CPU pool (which also splits the OpenBLAS products) to n threads; returns the count in force.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int n = static_cast<int>(Int(info, 0, "setNumThreads"));
  cpu::set_num_threads(n);
  return Napi::Number::New(info.Env(), cpu::num_threads());
}
// cpuMemoryStats(): the CPU allocator's counters (cpu/cpu_allocator.h).
Napi::Value CpuMemoryStats(const Napi::CallbackInfo& info) {
  const cpu::HostMemoryStats s = cpu::host_memory_stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("allocatedBytes", static_cast<double>(s.in_use));
  o.Set("cachedBytes", static_cast<double>(s.cached));
  o.Set("peakAllocatedBytes", static_cast<double>(s.peak));
  return o;
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
  exports.Set("TensorHandle", init_tensor_handle_class(env));
  FSNN_EXPORT("runKernel", RunKernel);
  FSNN_EXPORT("compileProgram", CompileProgram);
  FSNN_EXPORT("replay", Replay);
  FSNN_EXPORT("replayAsync", ReplayAsync);
  FSNN_EXPORT("storageVersions", StorageVersions);
  FSNN_EXPORT("fromFloat32", FromFloat32);
  FSNN_EXPORT("fromInt32", FromInt32);
  FSNN_EXPORT("fractionalBackward", FractionalBackward);
  FSNN_EXPORT("fractionalKernel", FractionalKernelTables);
  FSNN_EXPORT("fractionalFastInfo", FractionalFastInfo);
  // information
  FSNN_EXPORT("info", Info);
  FSNN_EXPORT("setNumThreads", SetNumThreads);
  FSNN_EXPORT("liveBytes", LiveBytes);
  FSNN_EXPORT("cpuMemoryStats", CpuMemoryStats);
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
  init_distributed(env, exports);
  return exports;
}

}  // namespace
}  // namespace fsnn

Napi::Object InitFsnn(Napi::Env env, Napi::Object exports) { return fsnn::Init(env, exports); }
NODE_API_MODULE(fsnn, InitFsnn)
