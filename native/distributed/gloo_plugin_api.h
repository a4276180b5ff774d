// The C interface between the addon and fsnn_gloo.so, the plugin that holds every use of Gloo.
// The addon never links libgloo: it opens the plugin with dlopen when a 'gloo' process group is made,
// so the addon (and the prebuild) loads on machines without libgloo. No C++ exception crosses this
// interface: each function returns 0 on success, or non-zero with a message written to err.
#pragma once
#include <stddef.h>
#include <stdint.h>

extern "C" {

#define FSNN_GLOO_ABI 1

// The rendezvous store, provided by the addon (its TcpStore). get returns a malloc'd buffer the plugin
// frees with fsnn_store_fns.free_value.
struct fsnn_store_fns {
  void* self;
  int (*set)(void* self, const char* key, const char* data, size_t n, char* err, size_t cap);
  int (*get)(void* self, const char* key, int64_t timeout_ms, char** data, size_t* n, char* err, size_t cap);
  int (*wait)(void* self, const char* const* keys, size_t nkeys, int64_t timeout_ms, char* err, size_t cap);
  void (*free_value)(char* data);
};

// Reduction codes (the order of lib/distributed's ReduceOp names).
enum fsnn_reduce_op { FSNN_SUM = 0, FSNN_AVG = 1, FSNN_MAX = 2, FSNN_MIN = 3 };

typedef int (*fsnn_gloo_abi_fn)(void);
// Connects rank `rank` of `size` through the store (or, with file_store set, Gloo's FileStore in that
// folder) over TCP on `hostname` (the address this host is reached at) or, when iface is not empty, on
// that network interface. *ctx receives the group.
typedef int (*fsnn_gloo_connect_fn)(const fsnn_store_fns* store, const char* file_store, const char* hostname,
                                    const char* iface, int rank, int size, int64_t timeout_ms, void** ctx, char* err,
                                    size_t cap);
typedef int (*fsnn_gloo_allreduce_fn)(void* ctx, float* data, size_t n, int op, char* err, size_t cap);
typedef int (*fsnn_gloo_broadcast_fn)(void* ctx, float* data, size_t n, int root, char* err, size_t cap);
// out has size * n elements: rank r's n values land at out + r * n.
typedef int (*fsnn_gloo_allgather_fn)(void* ctx, const float* in, float* out, size_t n, char* err, size_t cap);
typedef int (*fsnn_gloo_barrier_fn)(void* ctx, char* err, size_t cap);
typedef void (*fsnn_gloo_destroy_fn)(void* ctx);
}
