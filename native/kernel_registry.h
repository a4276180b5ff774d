// The kernel registry: kernels.def expanded into one attrs struct per kernel (named fields with their
// defaults), the decoding of those fields by name from a napi-free AttrMap, and the name -> entry
// table that runKernel and program replay look kernels up in. Nothing here touches Node-API, so a
// kernel call decoded on the JavaScript thread can run on any thread.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ops.h"

namespace fsnn {

// One attribute value as it came from JavaScript (decoded on the JavaScript thread).
struct AttrValue {
  enum class Kind { Number, Bool, String, NumberList, Int32Array, Float64Array };
  Kind kind = Kind::Number;
  double number = 0;
  bool boolean = false;
  std::string string;
  std::vector<double> numbers;  // NumberList, Float64Array
  std::vector<int32_t> ints;    // Int32Array
};

// Attributes by field name; absent fields take the declared default. A kernel has a few attributes,
// so a flat list searched in order is the cheapest map. Names are the static field names of the
// kernel table (KernelEntry::attrs), so the map stores the pointers, not copies.
class AttrMap {
 public:
  void reserve(size_t n) { items_.reserve(n); }
  void set(const char* name, AttrValue v) { items_.emplace_back(name, std::move(v)); }
  const AttrValue* find(const char* name) const {
    for (const auto& [k, v] : items_)
      if (std::strcmp(k, name) == 0) return &v;
    return nullptr;
  }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<std::pair<const char*, AttrValue>> items_;
};

enum class KernelKind { pure, inplace, random };
enum class InputKind { Tensor, Optional, List };

// A kernel's outputs in declaration order; a tensor without storage is an absent (null) output.
using KernelOutputs = std::vector<Tensor>;
// A kernel's inputs in declaration order; null for an absent optional input.
using KernelInputs = std::vector<Tensor*>;

struct KernelEntry {
  const char* name = "";
  int outputs = 1;
  KernelKind kind = KernelKind::pure;
  std::vector<std::pair<const char*, InputKind>> inputs;
  std::vector<const char*> attrs;  // field names, in declaration order
  KernelOutputs (*run)(const KernelInputs& in, const AttrMap& attrs) = nullptr;
};

// The entry of a kernel; an unknown name is an error listing the known ones.
const KernelEntry& kernel_entry(const std::string& name);
// The same for a name of `len` bytes (no allocation: the binding's per-call path).
const KernelEntry& kernel_entry(const char* name, size_t len);
// Checks the inputs against the declaration (count, nulls), decodes the attributes and runs the kernel.
KernelOutputs run_kernel(const KernelEntry& k, const KernelInputs& in, const AttrMap& attrs);

// A recorded sequence of kernel calls (an inference program): replayed natively, by name, with no
// JavaScript in between, so a whole forward pass can run on the libuv pool. Values live in slots:
// slot 0 is the program's input, slots 1..constants.size() the captured tensors (parameters,
// buffers, constants made outside the program), the rest the steps' outputs, each released after
// its last use.
struct KernelProgram {
  struct Step {
    const KernelEntry* kernel = nullptr;
    std::vector<int> inputs;   // slots; -1 for an absent optional input
    AttrMap attrs;
    std::vector<int> outputs;  // slots; -1 for an output nobody uses
    std::vector<int> release;  // slots whose last use is this step
  };
  std::vector<Step> steps;
  std::vector<Tensor> constants;
  Shape input_shape;
  Device input_device = Device::CPU;
  int slots = 1;
  int output = 0;
};
// Checks the program (slots defined before use, no random kernel) and computes the release lists.
void finalize_program(KernelProgram& p);
// Runs the program on x (x must have the recorded shape and device); returns the output slot's tensor.
Tensor replay_program(const KernelProgram& p, const Tensor& x);

// The JavaScript names of each enumeration of kernels.def: EnumNames<E>::list() holds the
// (name, value) pairs in declaration order.
template <typename E>
struct EnumNames;
#define FSNN_ENUM(E)                                                              \
  template <>                                                                     \
  struct EnumNames<E> {                                                           \
    static const std::vector<std::pair<const char*, E>>& list() {                 \
      static const std::vector<std::pair<const char*, E>> v = {
#define FSNN_ENUM_VALUE(E, C, js) {#js, E::C},
#define FSNN_ENUM_END(E) \
  };                     \
  return v;              \
  }                      \
  };
#define FSNN_NAMES(E) FSNN_ENUM(E)
#define FSNN_NAME(E, C, js) FSNN_ENUM_VALUE(E, C, js)
#define FSNN_NAMES_END(E) FSNN_ENUM_END(E)
#include "kernels.def"

// The C++ types of the attribute types named in kernels.def.
namespace attr_type {
using f32 = float;
using f64 = double;
using i64 = int64_t;
using boolean = bool;
using shape = std::vector<int64_t>;
using i32s = std::vector<int32_t>;
using f64s = std::vector<double>;
// every enumeration of kernels.def (FSNN_ENUM and FSNN_NAMES alike)
#define FSNN_ENUM(E) using E = ::fsnn::E;
#define FSNN_NAMES(E) using E = ::fsnn::E;
#include "kernels.def"
}  // namespace attr_type

// Per kernel: struct <name>_attrs, and the entry <name>(inputs, attrs), defined in ops.cc.
namespace kernels {
#define FSNN_KERNEL(name, outputs, kind) struct name##_attrs {
#define FSNN_ATTR(name, field, type, default_value) attr_type::type field = default_value;
#define FSNN_ATTR_REQ(name, field, type) attr_type::type field{};
#define FSNN_KERNEL_END(name) \
  };                          \
  KernelOutputs name(const KernelInputs& in, const name##_attrs& a);
#include "kernels.def"
}  // namespace kernels

// Defines the entry of a kernel declared in kernels.def: FSNN_KERNEL_ENTRY(unary) { return {ops::unary(...)}; }
// `in` holds the inputs (checked against the declaration), `a` the decoded attributes.
#define FSNN_KERNEL_ENTRY(name) KernelOutputs kernels::name(const KernelInputs& in, const kernels::name##_attrs& a)

}  // namespace fsnn
