// The N-API binding: one JS function per op. Arguments are converted by napi_args.h and handles live
// in tensor_handle.cc; every check and every dispatch happens in ops.cc. Any C++ exception becomes a
// JS Error, so a bad call never takes the process down.
#include "napi_config.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/peak_fma.h"
#include "cuda_bridge.h"
#include "distributed/distributed.h"
#include "napi_args.h"
#include "ops.h"
#include "plan_runner.h"
#include "tensor_handle.h"

namespace fsnn {
namespace {

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
  return wrap_tensor(info.Env(), ops::reshape(T(info, 0, "reshape"), ShapeArg(info[1], "reshape")), false);
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
  for (uint32_t i = 0; i < a.Length(); ++i) xs.push_back(tensor_of(a.Get(i), "concat"));
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

// fractionalForward(I, method, alphas, weights, h, params, saveTrace) -> { spikes, v | null }
Napi::Value FractionalForward(const Napi::CallbackInfo& info) {
  const char* op = "fractionalNeuron";
  Tensor& I = T(info, 0, op);
  const FractionalKernelSpec spec = KernelSpecArg(info, 1, 1, op);  // T: the input's (ops.cc)
  ops::FractionalResult r = ops::fractional_forward(I, spec, NeuronOptions(ObjArg(info, 5, op), op), Bool(info, 6));
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("spikes", W(info, std::move(r.spikes)));
  out.Set("v", r.v.storage ? W(info, std::move(r.v)) : info.Env().Null());
  return out;
}
// fractionalBackward(I, v, spikes, gS, gV | null, method, alphas, weights, h, params,
//                    { alpha, weight, tauScale?, pairs? }) -> { gI, gAlpha, gWeight, gTau (null when not asked), gK?, gTauPair? }
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
  ops::FractionalGrads g = ops::fractional_backward(I, T(info, 1, op), T(info, 2, op), T(info, 3, op), OptT(info, 4, op),
                                                    spec, NeuronOptions(ObjArg(info, 9, op), op), want);
  Napi::Env env = info.Env();
  auto opt = [&](Tensor& t) -> Napi::Value { return t.storage ? W(info, std::move(t)) : env.Null(); };
  Napi::Object out = Napi::Object::New(env);
  out.Set("gI", W(info, std::move(g.gI)));
  out.Set("gAlpha", opt(g.gAlpha));
  out.Set("gWeight", opt(g.gWeight));
  out.Set("gTau", opt(g.gTau));
  if (want.pairs) {
    out.Set("gK", W(info, std::move(g.gK)));              // [2, T + 1] hi/lo pairs, on I's device
    out.Set("gTauPair", W(info, std::move(g.gTauPair)));  // [2] hi/lo
  }
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
      return tensor_of(tv, op);
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
  void OnOK() override { deferred_.Resolve(wrap_tensor(Env(), std::move(out_))); }
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
  exports.Set("TensorHandle", init_tensor_handle_class(env));
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
  FSNN_EXPORT("fractionalKernel", FractionalKernelTables);
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
  init_distributed(env, exports);
  return exports;
}

}  // namespace
}  // namespace fsnn

Napi::Object InitFsnn(Napi::Env env, Napi::Object exports) { return fsnn::Init(env, exports); }
NODE_API_MODULE(fsnn, InitFsnn)
