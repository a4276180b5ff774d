// The kernel registry (kernel_registry.h): attribute decoding by field name and the name -> entry table,
// both expanded from kernels.def.
#include "kernel_registry.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <unordered_map>

namespace fsnn {
namespace {

[[noreturn]] void bad_attr(const char* kernel, const char* field, const std::string& what) {
  fail("runKernel('", kernel, "'): attribute '", field, "' ", what);
}

const char* kind_name(AttrValue::Kind k) {
  switch (k) {
    case AttrValue::Kind::Number: return "a number";
    case AttrValue::Kind::Bool: return "a boolean";
    case AttrValue::Kind::String: return "a string";
    case AttrValue::Kind::NumberList: return "an array";
    case AttrValue::Kind::Int32Array: return "an Int32Array";
    case AttrValue::Kind::Float64Array: return "a Float64Array";
  }
  return "?";
}

int64_t to_int(const char* kernel, const char* field, double d) {
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 4611686018427387904.0)
    bad_attr(kernel, field, "must be an integer (within +-2^62), got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

void want(const char* kernel, const char* field, const AttrValue& v, AttrValue::Kind k, const char* expected) {
  if (v.kind != k) bad_attr(kernel, field, std::string("must be ") + expected + ", got " + kind_name(v.kind));
}

void decode_value(const char* k, const char* f, const AttrValue& v, float& out) {
  want(k, f, v, AttrValue::Kind::Number, "a number");
  out = static_cast<float>(v.number);
}
void decode_value(const char* k, const char* f, const AttrValue& v, double& out) {
  want(k, f, v, AttrValue::Kind::Number, "a number");
  out = v.number;
}
void decode_value(const char* k, const char* f, const AttrValue& v, int64_t& out) {
  want(k, f, v, AttrValue::Kind::Number, "an integer");
  out = to_int(k, f, v.number);
}
void decode_value(const char* k, const char* f, const AttrValue& v, bool& out) {
  want(k, f, v, AttrValue::Kind::Bool, "a boolean");
  out = v.boolean;
}
void decode_value(const char* k, const char* f, const AttrValue& v, std::vector<int64_t>& out) {
  want(k, f, v, AttrValue::Kind::NumberList, "an array of integers");
  out.resize(v.numbers.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = to_int(k, f, v.numbers[i]);
}
void decode_value(const char* k, const char* f, const AttrValue& v, std::vector<int32_t>& out) {
  want(k, f, v, AttrValue::Kind::Int32Array,
       "an Int32Array (indices and labels travel as Int32Array; convert with Int32Array.from(...))");
  out = v.ints;
}
void decode_value(const char* k, const char* f, const AttrValue& v, std::vector<double>& out) {
  if (v.kind != AttrValue::Kind::Float64Array && v.kind != AttrValue::Kind::NumberList)
    bad_attr(k, f, std::string("must be a Float64Array, got ") + kind_name(v.kind));
  out = v.numbers;
}
template <typename E>
std::string enum_list() {
  std::string valid;
  for (const auto& [name, value] : EnumNames<E>::list()) valid += std::string(valid.empty() ? "'" : ", '") + name + "'";
  return valid;
}
template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
void decode_value(const char* k, const char* f, const AttrValue& v, E& out) {
  if (v.kind != AttrValue::Kind::String) bad_attr(k, f, "must be one of " + enum_list<E>() + ", got " + kind_name(v.kind));
  for (const auto& [name, value] : EnumNames<E>::list())
    if (v.string == name) {
      out = value;
      return;
    }
  bad_attr(k, f, "'" + v.string + "' is unknown; use one of " + enum_list<E>());
}

template <typename T>
void decode_field(const AttrMap& m, const char* kernel, const char* field, bool required, T& out) {
  const AttrValue* v = m.find(field);
  if (!v) {
    if (required) bad_attr(kernel, field, "is required");
    return;  // the declared default stays
  }
  decode_value(kernel, field, *v, out);
}

// decode(map, attrs) per kernel.
#define FSNN_KERNEL(name, outputs, kind)                           \
  void decode(const AttrMap& m, kernels::name##_attrs& a) {        \
    const char* kernel = #name;                                    \
    (void)kernel;                                                  \
    (void)m;                                                       \
    (void)a;
#define FSNN_ATTR(name, field, type, default_value) decode_field(m, kernel, #field, false, a.field);
#define FSNN_ATTR_REQ(name, field, type) decode_field(m, kernel, #field, true, a.field);
#define FSNN_KERNEL_END(name) }
#include "kernels.def"

std::unordered_map<std::string, KernelEntry> build_registry() {
  std::unordered_map<std::string, KernelEntry> r;
#define FSNN_KERNEL(kname, n_outputs, kernel_kind)                                 \
  {                                                                                \
    KernelEntry e;                                                                 \
    e.name = #kname;                                                               \
    e.outputs = n_outputs;                                                         \
    e.kind = KernelKind::kernel_kind;                                              \
    e.run = [](const KernelInputs& in, const AttrMap& m) -> KernelOutputs {        \
      kernels::kname##_attrs a;                                                    \
      decode(m, a);                                                                \
      return kernels::kname(in, a);                                                \
    };
#define FSNN_INPUT(kname, input) e.inputs.push_back({#input, InputKind::Tensor});
#define FSNN_INPUT_OPT(kname, input) e.inputs.push_back({#input, InputKind::Optional});
#define FSNN_INPUT_LIST(kname, input) e.inputs.push_back({#input, InputKind::List});
#define FSNN_ATTR(kname, field, type, default_value) e.attrs.push_back(#field);
#define FSNN_ATTR_REQ(kname, field, type) e.attrs.push_back(#field);
#define FSNN_KERNEL_END(kname) \
  r.emplace(e.name, std::move(e)); \
  }
#include "kernels.def"
  return r;
}

const std::unordered_map<std::string, KernelEntry>& registry() {
  static const std::unordered_map<std::string, KernelEntry> r = build_registry();
  return r;
}

// The entries sorted by name, for lookups by a name that is not a std::string.
const std::vector<const KernelEntry*>& sorted_entries() {
  static const std::vector<const KernelEntry*> v = [] {
    std::vector<const KernelEntry*> s;
    for (const auto& [n, e] : registry()) s.push_back(&e);
    std::sort(s.begin(), s.end(), [](const KernelEntry* a, const KernelEntry* b) { return std::strcmp(a->name, b->name) < 0; });
    return s;
  }();
  return v;
}

std::string input_list(const KernelEntry& k) {
  std::string s;
  for (const auto& [name, kind] : k.inputs)
    s += std::string(s.empty() ? "" : ", ") + name + (kind == InputKind::Optional ? "?" : kind == InputKind::List ? "..." : "");
  return s;
}

}  // namespace

const KernelEntry& kernel_entry(const std::string& name) {
  const auto& r = registry();
  auto it = r.find(name);
  if (it == r.end()) {
    std::vector<std::string> names;
    for (const auto& [n, e] : r) names.push_back(n);
    std::sort(names.begin(), names.end());
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    fail("runKernel: no kernel named '", name, "'; the kernels are: ", list);
  }
  return it->second;
}

const KernelEntry& kernel_entry(const char* name, size_t len) {
  const auto& v = sorted_entries();
  size_t lo = 0, hi = v.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const int c = std::strncmp(v[mid]->name, name, len);
    if (c == 0 && v[mid]->name[len] == '\0') return *v[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;  // (an equal prefix: the entry's name is longer and sorts after `name`)
  }
  return kernel_entry(std::string(name, len));  // the error listing the kernels
}

KernelOutputs run_kernel(const KernelEntry& k, const KernelInputs& in, const AttrMap& attrs) {
  const bool list = !k.inputs.empty() && k.inputs.back().second == InputKind::List;
  const size_t fixed = k.inputs.size() - (list ? 1 : 0);
  if (list ? in.size() < fixed + 1 : in.size() != fixed)
    fail("runKernel('", k.name, "'): takes ", list ? "at least " : "", fixed + (list ? 1 : 0), " input tensor",
         fixed + (list ? 1 : 0) == 1 ? "" : "s", " (", input_list(k), "), got ", in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const InputKind kind = i < fixed ? k.inputs[i].second : InputKind::List;
    if (!in[i] && kind != InputKind::Optional)
      fail("runKernel('", k.name, "'): input ", i, " (", i < fixed ? k.inputs[i].first : k.inputs.back().first,
           ") is null; it must be a tensor");
  }
  return k.run(in, attrs);
}

void finalize_program(KernelProgram& p) {
  const int fixed = 1 + static_cast<int>(p.constants.size());
  if (p.slots < fixed || p.output < 0 || p.output >= p.slots) fail("replay: the program's slots are inconsistent");
  std::vector<int> defined_at(p.slots, -2), last_use(p.slots, -1);
  for (int s = 0; s < fixed; ++s) defined_at[s] = -1;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    auto& st = p.steps[i];
    if (st.kernel->kind == KernelKind::random)
      fail("replay: step ", i, " calls the random kernel '", st.kernel->name, "', whose numbers would repeat on every replay; "
           "put the model in eval mode (dropout draws random masks only in training)");
    for (int s : st.inputs) {
      if (s == -1) continue;
      if (s < 0 || s >= p.slots || defined_at[s] == -2)
        fail("replay: step ", i, " (", st.kernel->name, ") reads slot ", s, " before any step wrote it");
      last_use[s] = static_cast<int>(i);
    }
    for (int s : st.outputs) {
      if (s == -1) continue;
      if (s < fixed || s >= p.slots) fail("replay: step ", i, " (", st.kernel->name, ") writes slot ", s, ", which it may not");
      defined_at[s] = static_cast<int>(i);
    }
  }
  if (defined_at[p.output] == -2) fail("replay: no step writes the program's output");
  for (auto& st : p.steps) st.release.clear();
  for (int s = fixed; s < p.slots; ++s)
    if (s != p.output && last_use[s] >= 0) p.steps[last_use[s]].release.push_back(s);
}

Tensor replay_program(const KernelProgram& p, const Tensor& x) {
  if (!x.storage) fail("replay: the input tensor was disposed");
  if (x.shape != p.input_shape || x.device != p.input_device)
    fail("replay: the program was recorded for a ", device_name(p.input_device), " input of shape ", format_shape(p.input_shape),
         ", got ", x.describe());
  std::vector<Tensor> slot(p.slots);
  slot[0] = x;
  for (size_t c = 0; c < p.constants.size(); ++c) slot[1 + c] = p.constants[c];
  KernelInputs in;
  for (const auto& st : p.steps) {
    in.clear();
    for (int s : st.inputs) in.push_back(s < 0 ? nullptr : &slot[s]);
    KernelOutputs out = run_kernel(*st.kernel, in, st.attrs);
    for (size_t o = 0; o < st.outputs.size() && o < out.size(); ++o)
      if (st.outputs[o] >= 0) slot[st.outputs[o]] = std::move(out[o]);
    for (int s : st.release) slot[s] = Tensor{};
  }
  return slot[p.output];
}

}  // namespace fsnn
