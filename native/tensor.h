// A device buffer with a shape. float32 (or int32 for index results), contiguous, row-major.
// Storage is shared between views made by reshape; it is freed when the last view lets go.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "error.h"

namespace fsnn {

enum class Device : int { CPU = 0, CUDA = 1 };
enum class DType : int { Float32 = 0, Int32 = 1 };
using Shape = std::vector<int64_t>;

class Backend;

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

struct Storage {
  Backend* backend = nullptr;
  void* ptr = nullptr;
  size_t bytes = 0;
  // Bumped by every in-place write (copy_, fill_, add_, optimizer steps): who captured this storage
  // (an inference program) can tell that its values changed.
  std::atomic<uint64_t> version{0};
  // Set where an op wrote this storage as spikes (values exactly 0 or 1) and recorded them as bits too: bit e
  // (of 64-bit word e / 64) is set where element e is 1. Valid only while version == spike_bits_version (an
  // in-place write makes it stale). The spike-sparse products (cpu/spike_matmul.cc) read their active
  // inputs from it instead of scanning 32 bits per element.
  std::shared_ptr<const uint64_t> spike_bits;  // ceil(numel / 64) words
  int64_t spike_bits_words = 0;
  uint64_t spike_bits_version = 0;
  Storage(Backend* b, void* p, size_t n) : backend(b), ptr(p), bytes(n) {}
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

// The largest element count any buffer may have (2^60 elements = 2^62 bytes): far beyond any real
// memory, and small enough that numel * 4 and the allocators' rounding cannot overflow.
constexpr int64_t kMaxElements = int64_t{1} << 60;

// The element count of a shape: the one shape product every op uses. It checks each size and the
// product as it goes, so a shape whose product would overflow (or exceed kMaxElements) is an error,
// never a wrapped-around count. A size-0 dimension makes the product 0 whatever the others are.
inline int64_t shape_numel(const Shape& s) {
  for (int64_t d : s)
    if (d < 0) fail("shape ", format_shape(s), " has a negative size; every dimension must be >= 0");
  for (int64_t d : s)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : s) {
    if (n > kMaxElements / d)
      fail("shape ", format_shape(s), " is too large: it has more than 2^60 elements (over 2^62 bytes), more than any "
           "device can allocate; use a smaller shape or smaller batches");
    n *= d;
  }
  return n;
}

struct Tensor {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Device device = Device::CPU;
  DType dtype = DType::Float32;

  int64_t numel() const { return shape_numel(shape); }
  int64_t dim() const { return static_cast<int64_t>(shape.size()); }
  float* data() const { return static_cast<float*>(storage->ptr); }
  int32_t* idata() const { return static_cast<int32_t*>(storage->ptr); }
  std::string describe() const {
    return std::string(device_name(device)) + (dtype == DType::Int32 ? " int32 " : " ") + format_shape(shape);
  }
};

// t's spike bits (Storage::spike_bits) when they are current and cover its elements, else null.
inline const uint64_t* spike_bits_of(const Tensor& t) {
  const Storage* st = t.storage.get();
  if (!st || !st->spike_bits || st->spike_bits_version != st->version.load()) return nullptr;
  if (st->spike_bits_words * 64 < t.numel()) return nullptr;
  return st->spike_bits.get();
}

// Row-major strides of a shape (in elements).
inline Shape contiguous_strides(const Shape& s) {
  Shape st(s.size(), 1);
  for (int64_t i = static_cast<int64_t>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

}  // namespace fsnn
