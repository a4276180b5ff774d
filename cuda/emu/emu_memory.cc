// Emulated device memory: each cudaMalloc block is host memory between two red zones of 0xFF bytes
// (an out-of-bounds read there sees NaN for float and double). The block itself starts filled with
// 0xFF too, as GPU memory starts with garbage. The red zones are checked after every kernel launch,
// copy and synchronization, and when the block is freed: a damaged red zone is an out-of-bounds write,
// reported as a sticky cudaErrorIllegalAddress that names the block and what ran just before.
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "emu_internal.h"

namespace fsnn_emu {

namespace {
constexpr size_t kRedZone = 256;  // bytes on each side (a multiple of 256: blocks stay 256-byte aligned)
constexpr unsigned char kFill = 0xFF;

struct DeviceBlock {
  unsigned char* raw;
  size_t bytes;
  uint64_t serial;  // the n-th cudaMalloc
};

std::mutex g_mu;
std::map<uintptr_t, DeviceBlock> g_blocks;  // user address -> block
size_t g_in_use = 0;
uint64_t g_serial = 0;

// Offset of the first damaged byte of a red zone, or -1.
long damaged(const unsigned char* p, size_t n) {
  const uint64_t all = ~uint64_t(0);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    if (v != all)
      for (size_t k = i; k < i + 8; ++k)
        if (p[k] != kFill) return long(k);
  }
  return -1;
}

// Empty string when intact, else the description.
std::string check_block(uintptr_t user, const DeviceBlock& b) {
  const long lo = damaged(b.raw, kRedZone);
  const long hi = damaged(b.raw + kRedZone + b.bytes, kRedZone);
  if (lo < 0 && hi < 0) return "";
  std::string o = "out-of-bounds write detected by the emulator's red zones: ";
  if (hi >= 0)
    o += "byte " + std::to_string(hi) + " past the end";
  else
    o += "byte " + std::to_string(long(kRedZone) - lo) + " before the start";
  char addr[32];
  std::snprintf(addr, sizeof addr, "%#lx", static_cast<unsigned long>(user));
  o += " of the device block at " + std::string(addr) + " (" + std::to_string(b.bytes) + " bytes, cudaMalloc #" +
       std::to_string(b.serial) + ") was overwritten";
  return o;
}
}  // namespace

cudaError_t device_malloc(void** ptr, size_t bytes) {
  if (!ptr) return set_error(cudaErrorInvalidValue, "cudaMalloc: null pointer argument", false);
  const cudaDeviceProp& p = device_properties();
  std::lock_guard<std::mutex> lock(g_mu);
  if (bytes > p.totalGlobalMem || g_in_use + bytes > p.totalGlobalMem) {
    *ptr = nullptr;
    return set_error(cudaErrorMemoryAllocation,
                     "cudaMalloc of " + std::to_string(bytes) + " bytes: the emulated device has " +
                         std::to_string(p.totalGlobalMem - g_in_use) + " of " + std::to_string(p.totalGlobalMem) +
                         " bytes free (FSNN_EMU_MEMORY_MB sets its size)",
                     false);
  }
  const size_t total = (kRedZone + bytes + kRedZone + 255) / 256 * 256;
  unsigned char* raw = static_cast<unsigned char*>(std::aligned_alloc(256, total));
  if (!raw) {
    *ptr = nullptr;
    return set_error(cudaErrorMemoryAllocation, "cudaMalloc: the host is out of memory", false);
  }
  std::memset(raw, kFill, total);
  unsigned char* user = raw + kRedZone;
  g_blocks[reinterpret_cast<uintptr_t>(user)] = DeviceBlock{raw, bytes, ++g_serial};
  g_in_use += bytes;
  *ptr = user;
  return cudaSuccess;
}

cudaError_t device_free(void* ptr) {
  if (!ptr) return cudaSuccess;
  std::string bad;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_blocks.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == g_blocks.end())
      return set_error(cudaErrorInvalidDevicePointer,
                       "cudaFree of a pointer that is not the start of a live device block (double free, or not from "
                       "cudaMalloc)",
                       false);
    bad = check_block(it->first, it->second);
    g_in_use -= it->second.bytes;
    std::free(it->second.raw);
    g_blocks.erase(it);
  }
  if (!bad.empty()) return set_error(cudaErrorIllegalAddress, bad + "; found when the block was freed", true);
  return cudaSuccess;
}

size_t device_bytes_in_use() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_in_use;
}

bool device_range(const void* p, size_t bytes, std::string* why) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_blocks.upper_bound(a);
  if (it == g_blocks.begin()) {
    if (why) *why = "the address is not in any device block";
    return false;
  }
  --it;
  const uintptr_t start = it->first, end = start + it->second.bytes;
  if (a >= end && !(bytes == 0 && a == end)) {
    if (why) *why = "the address is not in any device block";
    return false;
  }
  if (a + bytes > end) {
    if (why)
      *why = "the range of " + std::to_string(bytes) + " bytes at offset " + std::to_string(a - start) +
             " runs past the end of its device block of " + std::to_string(it->second.bytes) + " bytes by " +
             std::to_string(a + bytes - end) + " bytes";
    return false;
  }
  return true;
}

bool check_red_zones_of(const void* const* ptrs, int n, const std::string& launch) {
  std::string bad;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (int i = 0; i < n && bad.empty(); ++i) {
      if (!ptrs[i]) continue;
      const uintptr_t a = reinterpret_cast<uintptr_t>(ptrs[i]);
      auto it = g_blocks.upper_bound(a);
      if (it == g_blocks.begin()) continue;
      --it;
      if (a > it->first + it->second.bytes) continue;  // not a device block (host pointer)
      bad = check_block(it->first, it->second);
    }
  }
  if (bad.empty()) return true;
  set_error(cudaErrorIllegalAddress, bad + "; found after the launch " + launch, true);
  return false;
}

bool check_red_zones(const char* after) {
  std::string bad;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (const auto& kv : g_blocks) {
      bad = check_block(kv.first, kv.second);
      if (!bad.empty()) break;
    }
  }
  if (bad.empty()) return true;
  set_error(cudaErrorIllegalAddress, bad + "; found after " + std::string(after), true);
  return false;
}

}  // namespace fsnn_emu
