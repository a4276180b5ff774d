// The emulated CUDA runtime API on the host: errors (sticky and not), the one device and its
// properties, streams and events (work runs synchronously at enqueue time, so a stream is always idle),
// pinned host memory, and copies that check their device ranges.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "emu_internal.h"

struct fsnn_emu_stream {
  unsigned flags;
};
struct fsnn_emu_event {
  unsigned flags;
};

namespace fsnn_emu {

namespace {
std::mutex g_err_mu;
cudaError_t g_last = cudaSuccess;
cudaError_t g_sticky = cudaSuccess;
std::map<int, std::string> g_detail_text;  // code -> "standard text; emulator: detail" (stable storage)

long env_long(const char* name, long fallback, long lo, long hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end || x < lo || x > hi) {
    std::fprintf(stderr, "fsnn CUDA emulator: ignoring %s=%s (expected an integer in [%ld, %ld])\n", name, v, lo, hi);
    return fallback;
  }
  return x;
}

const char* base_text(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorECCUncorrectable: return "uncorrectable ECC error encountered";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorAssert: return "device-side assert triggered";
    case cudaErrorHardwareStackError: return "hardware stack error";
    case cudaErrorIllegalInstruction: return "an illegal instruction was encountered";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorInvalidPc: return "invalid program counter";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

struct Props {
  cudaDeviceProp p;
  Props() {
    std::memset(&p, 0, sizeof p);
    std::snprintf(p.name, sizeof p.name, "fsnn CUDA emulator (host CPU)");
    p.totalGlobalMem = size_t(env_long("FSNN_EMU_MEMORY_MB", 8192, 1, 1L << 24)) << 20;
    p.sharedMemPerBlock = size_t(48) << 10;
    p.sharedMemPerBlockOptin = 232448;  // 227 KiB, as sm_90
    p.regsPerBlock = 65536;
    p.warpSize = 32;
    p.maxThreadsPerBlock = 1024;
    p.maxThreadsDim[0] = 1024;
    p.maxThreadsDim[1] = 1024;
    p.maxThreadsDim[2] = 64;
    p.maxGridSize[0] = 0x7fffffff;
    p.maxGridSize[1] = 65535;
    p.maxGridSize[2] = 65535;
    p.major = 9;
    p.minor = 0;
    p.multiProcessorCount = int(env_long("FSNN_EMU_SMS", 4, 1, 1024));
    p.maxThreadsPerMultiProcessor = 2048;
  }
};

bool is_device(const void* p, size_t n, std::string* why) { return device_range(p, n, why); }
}  // namespace

cudaError_t set_error(cudaError_t err, const std::string& detail, bool sticky) {
  std::lock_guard<std::mutex> lock(g_err_mu);
  if (g_sticky != cudaSuccess) return g_sticky;  // the first fault is the one reported
  g_last = err;
  if (sticky) g_sticky = err;
  g_detail_text[int(err)] = std::string(base_text(err)) + "; emulator: " + detail;
  if (std::getenv("FSNN_EMU_VERBOSE")) std::fprintf(stderr, "fsnn CUDA emulator: %s\n", detail.c_str());
  return err;
}

cudaError_t sticky_error() {
  std::lock_guard<std::mutex> lock(g_err_mu);
  return g_sticky;
}

const cudaDeviceProp& device_properties() {
  static const Props props;
  return props.p;
}

}  // namespace fsnn_emu

using fsnn_emu::set_error;
using fsnn_emu::sticky_error;

#define FSNN_EMU_STICKY()                       \
  do {                                          \
    if (cudaError_t s_ = sticky_error()) return s_; \
  } while (0)

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return set_error(cudaErrorInvalidValue, "cudaGetDeviceCount: null pointer", false);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  FSNN_EMU_STICKY();
  if (device != 0) return set_error(cudaErrorInvalidDevice, "the emulator has one device (0)", false);
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return set_error(cudaErrorInvalidDevice, "the emulator has one device (0)", false);
  *prop = fsnn_emu::device_properties();
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
  FSNN_EMU_STICKY();
  fsnn_emu::check_red_zones("the work enqueued before cudaDeviceSynchronize");
  return sticky_error();
}
cudaError_t cudaGetLastError() {
  std::lock_guard<std::mutex> lock(fsnn_emu::g_err_mu);
  const cudaError_t e = fsnn_emu::g_last;
  fsnn_emu::g_last = fsnn_emu::g_sticky;
  return e;
}
cudaError_t cudaPeekAtLastError() {
  std::lock_guard<std::mutex> lock(fsnn_emu::g_err_mu);
  return fsnn_emu::g_last;
}
const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
#define FSNN_EMU_NAME(x) \
  case x: return #x;
    FSNN_EMU_NAME(cudaSuccess)
    FSNN_EMU_NAME(cudaErrorInvalidValue)
    FSNN_EMU_NAME(cudaErrorMemoryAllocation)
    FSNN_EMU_NAME(cudaErrorInitializationError)
    FSNN_EMU_NAME(cudaErrorInvalidConfiguration)
    FSNN_EMU_NAME(cudaErrorInvalidDevicePointer)
    FSNN_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    FSNN_EMU_NAME(cudaErrorNoDevice)
    FSNN_EMU_NAME(cudaErrorInvalidDevice)
    FSNN_EMU_NAME(cudaErrorECCUncorrectable)
    FSNN_EMU_NAME(cudaErrorInvalidResourceHandle)
    FSNN_EMU_NAME(cudaErrorNotReady)
    FSNN_EMU_NAME(cudaErrorIllegalAddress)
    FSNN_EMU_NAME(cudaErrorLaunchOutOfResources)
    FSNN_EMU_NAME(cudaErrorAssert)
    FSNN_EMU_NAME(cudaErrorHardwareStackError)
    FSNN_EMU_NAME(cudaErrorIllegalInstruction)
    FSNN_EMU_NAME(cudaErrorMisalignedAddress)
    FSNN_EMU_NAME(cudaErrorInvalidPc)
    FSNN_EMU_NAME(cudaErrorLaunchFailure)
#undef FSNN_EMU_NAME
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t err) {
  std::lock_guard<std::mutex> lock(fsnn_emu::g_err_mu);
  auto it = fsnn_emu::g_detail_text.find(int(err));
  if (it != fsnn_emu::g_detail_text.end()) return it->second.c_str();
  return fsnn_emu::base_text(err);
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  FSNN_EMU_STICKY();
  return fsnn_emu::device_malloc(ptr, bytes);
}
cudaError_t cudaFree(void* ptr) {
  FSNN_EMU_STICKY();
  return fsnn_emu::device_free(ptr);
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  FSNN_EMU_STICKY();
  *ptr = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
  if (!*ptr) return set_error(cudaErrorMemoryAllocation, "cudaMallocHost: the host is out of memory", false);
  return cudaSuccess;
}
cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  FSNN_EMU_STICKY();
  const size_t total = fsnn_emu::device_properties().totalGlobalMem;
  *total_bytes = total;
  *free_bytes = total - fsnn_emu::device_bytes_in_use();
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  FSNN_EMU_STICKY();
  if (bytes == 0) return cudaSuccess;
  std::string why;
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind == cudaMemcpyHostToHost || kind == cudaMemcpyDefault) {
    // fine: plain host copy (cudaMemcpyDefault infers the direction; both sides are host memory here)
  } else if (kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToHost && kind != cudaMemcpyDeviceToDevice) {
    return set_error(cudaErrorInvalidMemcpyDirection, "cudaMemcpy: unknown direction", false);
  }
  if (dst_dev && !fsnn_emu::is_device(dst, bytes, &why))
    return set_error(cudaErrorInvalidValue, "cudaMemcpy of " + std::to_string(bytes) + " bytes: destination: " + why,
                     false);
  if (src_dev && !fsnn_emu::is_device(src, bytes, &why))
    return set_error(cudaErrorInvalidValue, "cudaMemcpy of " + std::to_string(bytes) + " bytes: source: " + why, false);
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
  if (e != cudaSuccess) return e;
  return sticky_error();
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
  FSNN_EMU_STICKY();
  if (bytes == 0) return cudaSuccess;
  std::string why;
  if (!fsnn_emu::is_device(dst, bytes, &why))
    return set_error(cudaErrorInvalidValue, "cudaMemset of " + std::to_string(bytes) + " bytes: " + why, false);
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) { return cudaMemsetAsync(dst, value, bytes, nullptr); }

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  FSNN_EMU_STICKY();
  *stream = new fsnn_emu_stream{flags};
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  // Work ran at enqueue time, and each launch checked the red zones of the blocks it was given.
  return sticky_error();
}
cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  FSNN_EMU_STICKY();
  *event = new fsnn_emu_event{flags};
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
  FSNN_EMU_STICKY();
  if (!event) return set_error(cudaErrorInvalidResourceHandle, "cudaEventRecord: null event", false);
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  FSNN_EMU_STICKY();
  if (!event) return set_error(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: null event", false);
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  FSNN_EMU_STICKY();
  return event ? cudaSuccess : cudaErrorInvalidResourceHandle;
}
