// The JavaScript handle of a native tensor (see tensor_handle.cc for its lifetime rules).
#pragma once
#include "napi_config.h"
#include "tensor.h"

namespace fsnn {

// Defines the TensorHandle class once per addon instance; returns its constructor.
Napi::Function init_tensor_handle_class(Napi::Env env);
// A new handle owning t. owns_new_storage: report t's bytes to V8 (false for views such as reshape).
Napi::Object wrap_tensor(Napi::Env env, Tensor t, bool owns_new_storage = true);
// The tensor behind a handle; `what` names the caller in the error for a non-handle or a disposed one.
Tensor& tensor_of(const Napi::Value& v, const char* what);

}  // namespace fsnn
