// Conversion of JavaScript arguments for the binding, with errors that name the op and the argument,
// and Guard, through which every exported function turns C++ exceptions into JavaScript errors.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "backend.h"
#include "tensor_handle.h"

namespace fsnn {

inline Tensor& T(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i) throw Error(std::string(op) + ": missing tensor argument " + std::to_string(i));
  return tensor_of(info[i], op);
}
inline Tensor* OptT(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return &tensor_of(info[i], op);
}
inline double Num(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Error(std::string(op) + ": argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}
// An integer that fits int64 exactly (|d| <= 2^62): converting a larger double is undefined behaviour.
inline int64_t IntValue(double d, const std::string& what) {
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 4611686018427387904.0)
    throw Error(what + " must be an integer (within +-2^62), got " + std::to_string(d));
  return static_cast<int64_t>(d);
}
inline int64_t Int(const Napi::CallbackInfo& info, size_t i, const char* op) {
  return IntValue(Num(info, i, op), std::string(op) + ": argument " + std::to_string(i));
}
inline bool Bool(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].ToBoolean().Value(); }
inline Shape ShapeArg(const Napi::Value& v, const char* op) {
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
inline std::vector<int32_t> IndexArg(const Napi::Value& v, const char* op) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Error(std::string(op) + ": indices must be an Int32Array (class labels and indices travel as Int32Array); convert with Int32Array.from(...)");
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}
inline Device DeviceArg(const Napi::Value& v, const char* op) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  throw Error(std::string(op) + ": unknown device '" + s + "'; use 'cpu' or 'cuda'");
}
inline double Field(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}
// An integer option (stride, padding, kernel size, ...): a fraction such as 1.5 is an error, not truncated.
inline int64_t IntField(const Napi::Object& o, const char* key, int64_t fallback, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Error(std::string(op) + ": option " + key + " must be an integer");
  return IntValue(v.As<Napi::Number>().DoubleValue(), std::string(op) + ": option " + key);
}
inline bool BoolField(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}
inline Napi::Object ObjArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (info.Length() <= i || !info[i].IsObject()) throw Error(std::string(op) + ": argument " + std::to_string(i) + " must be an options object");
  return info[i].As<Napi::Object>();
}
inline Napi::Value W(const Napi::CallbackInfo& info, Tensor t) { return wrap_tensor(info.Env(), std::move(t)); }

// Every exported function goes through Guard: C++ exceptions become JS Errors.
inline Napi::Value Guarded(const Napi::CallbackInfo& info, Napi::Value (*f)(const Napi::CallbackInfo&)) {
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
inline Napi::Value Guard(const Napi::CallbackInfo& info) {
  return Guarded(info, F);
}

}  // namespace fsnn
