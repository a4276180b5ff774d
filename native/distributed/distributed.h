// fsnn.distributed's native half: process groups (Gloo, NCCL), their collectives and the TCP store.
#pragma once
#include "../napi_config.h"

namespace fsnn {
// Adds exports.distributed (the functions lib/distributed/native-api.ts declares).
void init_distributed(Napi::Env env, Napi::Object exports);
}  // namespace fsnn
