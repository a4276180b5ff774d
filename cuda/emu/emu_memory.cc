// Emulated device memory: each cudaMalloc block is host memory between two red zones filled with the
// 8-byte word 0xFFF4DEADFFF4DEAD (aligned to the address, so an out-of-bounds read there sees NaN as
// float and as double). The block itself starts filled with 0xFF bytes (NaN too), as GPU memory starts
// with garbage; the two patterns differ, so writing poison or NaN into a red zone is still seen. The red zones are checked after every kernel launch,
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
constexpr uint64_t kRedWord = 0xFFF4DEADFFF4DEADull;
// The red-zone byte expected at `offset` from the (256-aligned) start of the allocation.
inline unsigned char red_byte(size_t offset) { return static_cast<unsigned char>(kRedWord >> (8 * (offset & 7))); }

struct DeviceBlock {
  unsigned char* raw;
  size_t bytes;
  uint64_t serial;  // the n-th cudaMalloc
};

std::mutex g_mu;
std::map<uintptr_t, DeviceBlock> g_blocks;  // user address -> block
size_t g_in_use = 0;
uint64_t g_serial = 0;

// Index (from `from`) of the first damaged byte of the red zone [raw + from, raw + from + n), or -1.
long damaged(const unsigned char* raw, size_t from, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (raw[from + i] != red_byte(from + i)) return long(i);
  return -1;
}
void fill_red(unsigned char* raw, size_t from, size_t n) {
  for (size_t i = 0; i < n; ++i) raw[from + i] = red_byte(from + i);
}

// Empty string when intact, else the description.
std::string check_block(uintptr_t user, const DeviceBlock& b) {
  const long lo = damaged(b.raw, 0, kRedZone);
  const long hi = damaged(b.raw, kRedZone + b.bytes, kRedZone);
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
  fill_red(raw, 0, kRedZone);
  std::memset(raw + kRedZone, kFill, bytes);
  fill_red(raw, kRedZone + bytes, total - kRedZone - bytes);
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
