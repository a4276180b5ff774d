// Every file that includes <napi.h> includes it through here, so that all of them see the same
// Node-API version: the experimental one, under which basic finalizers run during GC (tensor_handle.cc).
#pragma once
#undef NAPI_VERSION
#define NAPI_EXPERIMENTAL
#define NAPI_VERSION 2147483647  // NAPI_VERSION_EXPERIMENTAL
#include <napi.h>
