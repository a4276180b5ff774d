#include "ops.h"

#include "kernel_registry.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <set>
#include <tuple>

namespace fsnn {

namespace {
std::atomic<size_t> g_live[2];
}

Storage::~Storage() {
  if (ptr) backend->deallocate(ptr, bytes);
  g_live[static_cast<int>(backend->device())] -= bytes;
}

namespace ops {

size_t live_bytes(Device device) { return g_live[static_cast<int>(device)].load(); }

namespace {

const char* kMoveHint = "move them to one device with .to('cpu') or .to('cuda')";

void check_live(const char* op, const Tensor& t, const char* what = "input") {
  if (!t.storage) fail(op, ": the ", what, " tensor was disposed; keep it alive (do not dispose() it, or return it from tidy()) until the op has run");
}

void check_float(const char* op, const Tensor& t, const char* what = "input") {
  check_live(op, t, what);
  if (t.dtype != DType::Float32)
    fail(op, ": the ", what, " is an int32 index tensor (", t.describe(), "); this op takes float32 tensors");
}

void check_same_device(const char* op, const std::vector<const Tensor*>& ts) {
  for (const Tensor* t : ts) check_live(op, *t);
  for (const Tensor* t : ts)
    if (t->device != ts[0]->device) {
      std::string list;
      for (const Tensor* u : ts) list += (list.empty() ? "" : ", ") + u->describe();
      fail(op, ": tensors are on different devices (", list, "); ", kMoveHint);
    }
}

int64_t normalize_dim(const char* op, int64_t dim, int64_t ndim, const Shape& shape) {
  const int64_t n = std::max<int64_t>(ndim, 1);
  if (dim < -n || dim >= n)
    fail(op, ": dim ", dim, " is out of range for a tensor of shape ", format_shape(shape), " (valid: ", -n, " to ", n - 1, ")");
  return dim < 0 ? dim + n : dim;
}

void check_shape_valid(const char* op, const Shape& s) {
  try {
    (void)shape_numel(s);
  } catch (const Error& e) {
    fail(op, ": ", e.what());
  }
}

Shape broadcast_shapes(const char* op, const std::vector<const Tensor*>& ts) {
  size_t nd = 0;
  for (auto* t : ts) nd = std::max(nd, t->shape.size());
  Shape out(nd, 1);
  for (size_t k = 0; k < nd; ++k) {
    for (auto* t : ts) {
      const int64_t i = static_cast<int64_t>(t->shape.size()) - static_cast<int64_t>(nd) + static_cast<int64_t>(k);
      if (i < 0) continue;
      const int64_t d = t->shape[i];
      if (d == 1) continue;
      if (out[k] == 1) out[k] = d;
      else if (out[k] != d) {
        std::string list;
        for (auto* u : ts) list += (list.empty() ? "" : " and ") + format_shape(u->shape);
        fail(op, ": cannot broadcast shapes ", list, " (", device_name(ts[0]->device), "): dimension ",
             static_cast<int64_t>(k) - static_cast<int64_t>(nd), " has sizes ", out[k], " and ", d,
             "; sizes must match or be 1 — reshape an operand or add a size-1 dimension");
      }
    }
  }
  return out;
}

BroadcastPlan make_plan(const Shape& out, const std::vector<const Tensor*>& ts) {
  const size_t nd = out.size();
  BroadcastPlan plan;
  plan.same_shape = true;
  std::vector<Shape> strides;
  for (auto* t : ts) {
    if (t->shape != out) plan.same_shape = false;
    Shape st(nd, 0);
    const Shape cs = contiguous_strides(t->shape);
    for (size_t k = 0; k < nd; ++k) {
      const int64_t i = static_cast<int64_t>(t->shape.size()) - static_cast<int64_t>(nd) + static_cast<int64_t>(k);
      if (i >= 0 && t->shape[i] != 1) st[k] = cs[i];
    }
    strides.push_back(st);
  }
  // Coalesce dims d, d+1 when every input's memory is contiguous across them; drop size-1 dims.
  Shape cshape;
  std::vector<Shape> cstr(ts.size());
  for (size_t k = 0; k < nd; ++k) {
    if (out[k] == 1) continue;
    bool merge = !cshape.empty();
    for (size_t j = 0; merge && j < ts.size(); ++j)
      if (cstr[j].back() != strides[j][k] * out[k]) merge = false;
    if (merge) {
      cshape.back() *= out[k];
      for (size_t j = 0; j < ts.size(); ++j) cstr[j].back() = strides[j][k];
    } else {
      cshape.push_back(out[k]);
      for (size_t j = 0; j < ts.size(); ++j) cstr[j].push_back(strides[j][k]);
    }
  }
  if (cshape.empty()) {
    cshape.push_back(1);
    for (auto& s : cstr) s.push_back(0);
  }
  plan.shape = cshape;
  plan.strides = cstr;
  return plan;
}

void check_labels(const char* op, const std::vector<int32_t>& idx, int64_t bound, const Shape& shape, int64_t dim) {
  for (size_t i = 0; i < idx.size(); ++i)
    if (idx[i] < 0 || idx[i] >= bound)
      fail(op, ": index ", idx[i], " at position ", i, " is out of range for dimension ", dim, " of size ", bound,
           " (tensor shape ", format_shape(shape), "); indices must lie in [0, ", bound, ")");
}

}  // namespace

Tensor empty(const Shape& shape, Device device, DType dtype) {
  check_shape_valid("empty", shape);
  Backend& be = backend_for(device);
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * 4;
  void* p = be.allocate(bytes);
  Tensor t;
  t.storage = std::make_shared<Storage>(&be, p, bytes);
  g_live[static_cast<int>(device)] += bytes;
  t.shape = shape;
  t.device = device;
  t.dtype = dtype;
  return t;
}

namespace {
// empty() for an op's result: size errors and allocation failures (out of memory, CUDA unavailable)
// name the op.
Tensor empty_for(const char* op, const Shape& shape, Device device, DType dtype = DType::Float32) {
  check_shape_valid(op, shape);
  try {
    return empty(shape, device, dtype);
  } catch (const Error& e) {
    fail(op, ": ", e.what());
  }
}
}  // namespace

Tensor from_host(const void* data, const Shape& shape, Device device, DType dtype) {
  Tensor t = empty_for("tensor", shape, device, dtype);
  t.storage->backend->copy_from_host(t.storage->ptr, data, t.storage->bytes);
  return t;
}

void to_host(const Tensor& t, void* dst) {
  check_live("toArray", t);
  t.storage->backend->copy_to_host(dst, t.storage->ptr, static_cast<size_t>(t.numel()) * 4);
}

Tensor to_device(const Tensor& t, Device device) {
  check_live("to", t);
  if (t.device == device) return clone(t);
  Tensor out = empty_for("to", t.shape, device, t.dtype);
  std::vector<float> host(static_cast<size_t>(t.numel()));
  to_host(t, host.data());
  out.storage->backend->copy_from_host(out.storage->ptr, host.data(), out.storage->bytes);
  return out;
}

Tensor clone(const Tensor& t) {
  check_live("clone", t);
  Tensor out = empty(t.shape, t.device, t.dtype);
  out.storage->backend->copy_device(out.storage->ptr, t.storage->ptr, static_cast<size_t>(t.numel()) * 4);
  return out;
}

Tensor reshape(const Tensor& t, Shape shape) {
  check_live("reshape", t);
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) fail("reshape: only one dimension can be -1 (got ", format_shape(shape), ")");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      fail("reshape: invalid size ", shape[i], " in ", format_shape(shape), "; sizes must be >= 0 or a single -1");
    }
  }
  {
    Shape known_dims;
    for (size_t i = 0; i < shape.size(); ++i)
      if (static_cast<int64_t>(i) != infer) known_dims.push_back(shape[i]);
    check_shape_valid("reshape", known_dims);
    known = shape_numel(known_dims);
  }
  if (infer >= 0) {
    if (known == 0 || t.numel() % known != 0)
      fail("reshape: cannot infer -1 in ", format_shape(shape), " for ", t.numel(), " elements (input ", t.describe(), ")");
    shape[infer] = t.numel() / known;
  }
  check_shape_valid("reshape", shape);
  if (shape_numel(shape) != t.numel())
    fail("reshape: cannot view ", t.describe(), " (", t.numel(), " elements) as ", format_shape(shape), " (",
         shape_numel(shape), " elements); the element counts must match");
  Tensor out = t;
  out.shape = shape;
  return out;
}

Tensor full(const Shape& shape, float value, Device device) {
  Tensor t = empty_for("zeros/ones/full", shape, device);
  backend_for(device).fill(t, value);
  return t;
}

void fill_(Tensor& dst, float value) {
  check_float("fill_", dst);
  dst.storage->backend->fill(dst, value);
  ++dst.storage->version;
}

Tensor unary(UnaryOp op, const Tensor& x, float p0, float p1) {
  check_float("unary", x);
  Tensor out = empty(x.shape, x.device);
  x.storage->backend->unary(op, x, out, p0, p1);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  static const char* names[] = {"add", "sub", "mul", "div", "maximum", "minimum", "gt", "ge", "lt", "le", "eq", "ne"};
  const char* name = names[static_cast<int>(op)];
  check_float(name, a);
  check_float(name, b);
  check_same_device(name, {&a, &b});
  const Shape shape = broadcast_shapes(name, {&a, &b});
  Tensor out = empty_for(name, shape, a.device);
  if (out.numel() == 0) return out;
  a.storage->backend->binary(op, a, b, out, make_plan(shape, {&a, &b}));
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_float("where", cond, "condition");
  check_float("where", a);
  check_float("where", b);
  check_same_device("where", {&cond, &a, &b});
  const Shape shape = broadcast_shapes("where", {&cond, &a, &b});
  Tensor out = empty_for("where", shape, a.device);
  if (out.numel() == 0) return out;
  a.storage->backend->where(cond, a, b, out, make_plan(shape, {&cond, &a, &b}));
  return out;
}

void axpy_(Tensor& out, float alpha, const Tensor& x) {
  check_float("add_", out);
  check_float("add_", x);
  check_same_device("add_", {&out, &x});
  if (out.shape != x.shape)
    fail("add_: in-place accumulation needs equal shapes, got ", out.describe(), " += ", x.describe());
  out.storage->backend->axpy(alpha, x, out);
  ++out.storage->version;
}

void copy_(Tensor& dst, const Tensor& src) {
  check_live("copy_", dst);
  check_live("copy_", src);
  if (dst.numel() != src.numel())
    fail("copy_: cannot copy ", src.describe(), " into ", dst.describe(), "; the element counts must match");
  const size_t bytes = static_cast<size_t>(src.numel()) * 4;
  if (dst.device == src.device) {
    dst.storage->backend->copy_device(dst.storage->ptr, src.storage->ptr, bytes);
  } else {
    std::vector<float> host(static_cast<size_t>(src.numel()));
    to_host(src, host.data());
    dst.storage->backend->copy_from_host(dst.storage->ptr, host.data(), bytes);
  }
  ++dst.storage->version;
}

std::pair<Tensor, Tensor> reduce(ReduceOp op, const Tensor& x, std::vector<int64_t> dims, bool keepdim,
                                 bool want_indices) {
  static const char* names[] = {"sum", "mean", "max", "min"};
  const char* name = names[static_cast<int>(op)];
  check_float(name, x);
  const int64_t nd = x.dim();
  if (dims.empty())
    for (int64_t d = 0; d < nd; ++d) dims.push_back(d);
  for (auto& d : dims) d = normalize_dim(name, d, nd, x.shape);
  std::sort(dims.begin(), dims.end());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end())
    fail(name, ": dims ", format_shape(dims), " repeat a dimension; list each dimension once");
  if (nd == 0) dims.clear();
  std::vector<bool> reduced(nd, false);
  int64_t R = 1;
  for (int64_t d : dims) {
    reduced[d] = true;
    R *= x.shape[d];
  }
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && R == 0)
    fail(name, ": cannot reduce over an empty dimension of ", x.describe(), "; max/min of no elements is undefined");
  Shape out_shape;
  for (int64_t d = 0; d < nd; ++d) {
    if (!reduced[d]) out_shape.push_back(x.shape[d]);
    else if (keepdim) out_shape.push_back(1);
  }
  Tensor source = x;
  ReducePlan plan;
  const bool contiguous_block = dims.empty() || dims.back() - dims.front() + 1 == static_cast<int64_t>(dims.size());
  if (contiguous_block) {
    for (int64_t d = 0; d < (dims.empty() ? nd : dims.front()); ++d) plan.outer *= x.shape[d];
    plan.reduce = R;
    for (int64_t d = dims.empty() ? nd : dims.back() + 1; d < nd; ++d) plan.inner *= x.shape[d];
  } else {
    std::vector<int64_t> perm;
    for (int64_t d = 0; d < nd; ++d)
      if (!reduced[d]) perm.push_back(d);
    for (int64_t d : dims) perm.push_back(d);
    source = permute(x, perm);
    plan.outer = x.numel() / std::max<int64_t>(R, 1);
    if (R == 0) plan.outer = 1;
    plan.reduce = R;
    plan.inner = 1;
  }
  Tensor out = empty(out_shape, x.device);
  Tensor idx;
  if (want_indices) idx = empty(out_shape, x.device, DType::Int32);
  if (out.numel() > 0) x.storage->backend->reduce(op, source, plan, out, want_indices ? &idx : nullptr);
  return {out, idx};
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transA, bool transB) {
  check_float("matmul", a);
  check_float("matmul", b);
  check_same_device("matmul", {&a, &b});
  if (a.dim() < 2 || b.dim() < 2)
    fail("matmul: both operands need at least 2 dims, got ", a.describe(), " and ", b.describe(),
         "; reshape a vector to [1, n] or [n, 1]");
  const int64_t aM = a.shape[a.dim() - 2], aK = a.shape[a.dim() - 1];
  const int64_t bK = b.shape[b.dim() - 2], bN = b.shape[b.dim() - 1];
  const int64_t M = transA ? aK : aM, K = transA ? aM : aK;
  const int64_t K2 = transB ? bN : bK, N = transB ? bK : bN;
  if (K != K2)
    fail("matmul: inner dimensions differ: ", a.describe(), transA ? "^T" : "", " has ", K, " columns but ",
         b.describe(), transB ? "^T" : "", " has ", K2, " rows; the contracted sizes must be equal");
  Tensor abatch = a, bbatch = b;
  abatch.shape.resize(a.dim() - 2);
  bbatch.shape.resize(b.dim() - 2);
  const Shape batch_shape = broadcast_shapes("matmul (batch dims)", {&abatch, &bbatch});
  MatmulPlan plan;
  plan.M = M;
  plan.N = N;
  plan.K = K;
  plan.transA = transA;
  plan.transB = transB;
  plan.lda = aK;
  plan.ldb = bN;
  plan.batch = shape_numel(batch_shape);
  const size_t bnd = batch_shape.size();
  auto batch_strides = [&](const Tensor& t, int64_t mat) {
    Shape st(bnd, 0);
    const Shape cs = contiguous_strides(t.shape);
    for (size_t k = 0; k < bnd; ++k) {
      const int64_t i = static_cast<int64_t>(t.shape.size()) - static_cast<int64_t>(bnd) + static_cast<int64_t>(k);
      if (i >= 0 && t.shape[i] != 1) st[k] = cs[i];
    }
    (void)mat;
    return st;
  };
  const Shape ast = batch_strides(abatch, aM * aK), bst = batch_strides(bbatch, bK * bN);
  plan.a_offsets.resize(plan.batch);
  plan.b_offsets.resize(plan.batch);
  for (int64_t i = 0; i < plan.batch; ++i) {
    int64_t rem = i, ao = 0, bo = 0;
    for (int64_t k = static_cast<int64_t>(bnd) - 1; k >= 0; --k) {
      const int64_t c = rem % batch_shape[k];
      rem /= batch_shape[k];
      ao += c * ast[k];
      bo += c * bst[k];
    }
    // Batch strides computed on the batch-only shape count matrices; scale to floats.
    plan.a_offsets[i] = ao * aM * aK;
    plan.b_offsets[i] = bo * bK * bN;
  }
  Shape out_shape = batch_shape;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty_for("matmul", out_shape, a.device);
  if (out.numel() == 0) return out;
  if (K == 0) {
    a.storage->backend->fill(out, 0.f);
    return out;
  }
  a.storage->backend->matmul(a, b, out, plan);
  return out;
}

namespace {
// Both spike products take 2-D float operands on one device whose rows (dim 0) pair up.
void check_spike_operands(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name,
                          int64_t a_dim, int64_t b_dim, const char* paired) {
  check_float(op, a, a_name);
  check_float(op, b, b_name);
  check_same_device(op, {&a, &b});
  if (a.dim() != 2 || b.dim() != 2)
    fail(op, ": ", a_name, " and ", b_name, " must be 2-D, got ", a.describe(), " and ", b.describe(),
         "; flatten the leading dims into rows first");
  if (a.shape[a_dim] != b.shape[b_dim])
    fail(op, ": ", a_name, " ", a.describe(), " and ", b_name, " ", b.describe(), " differ in ", paired, " (",
         a.shape[a_dim], " vs ", b.shape[b_dim], "); they must be equal");
}
}  // namespace

Tensor spike_matmul(const Tensor& x, const Tensor& w, SpikePath path) {
  check_spike_operands("spikeMatmul", x, "x", w, "w", 1, 1, "the input features (x's dim 1, w's dim 1)");
  if (x.device != Device::CPU) return matmul(x, w, false, true);
  Tensor out = empty_for("spikeMatmul", {x.shape[0], w.shape[0]}, x.device);
  if (out.numel() == 0) return out;
  x.storage->backend->spike_matmul(x, w, path, out);
  return out;
}

Tensor spike_matmul_weight_grad(const Tensor& g, const Tensor& x, SpikePath path) {
  check_spike_operands("spikeMatmulWeightGrad", g, "g", x, "x", 0, 0, "the rows (dim 0 of both)");
  if (x.device != Device::CPU) return matmul(g, x, true, false);
  Tensor out = empty_for("spikeMatmulWeightGrad", {g.shape[1], x.shape[1]}, x.device);
  if (out.numel() == 0) return out;
  x.storage->backend->spike_matmul_weight_grad(g, x, path, out);
  return out;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  for (const Tensor* t : {&x, &w, &bias}) check_float("linear", *t);
  check_same_device("linear", {&x, &w, &bias});
  if (x.shape.size() != 2 || w.shape.size() != 2 || bias.shape.size() != 1 || x.shape[1] != w.shape[1] ||
      bias.shape[0] != w.shape[0])
    fail("linear: x [M, K], w [N, K] and bias [N] do not fit: got ", x.describe(), ", ", w.describe(), " and ",
         bias.describe());
  Tensor out = empty_for("linear", {x.shape[0], w.shape[0]}, x.device);
  if (out.numel() > 0 && x.device == Device::CPU && x.storage->backend->linear_one_pass(x, w, bias, out)) return out;
  return binary(BinaryOp::Add, matmul(x, w, false, true), bias);
}

std::pair<Tensor, Tensor> linear_weight_bias_grad(const Tensor& g, const Tensor& x) {
  check_float("linearWeightBiasGrad", g);
  check_float("linearWeightBiasGrad", x);
  check_same_device("linearWeightBiasGrad", {&g, &x});
  if (g.shape.size() != 2 || x.shape.size() != 2 || g.shape[0] != x.shape[0])
    fail("linearWeightBiasGrad: g [M, N] and x [M, K] must be 2-D with the same rows, got ", g.describe(), " and ",
         x.describe());
  if (x.device != Device::CPU || x.shape[1] > kLinearGradOnePassMaxK || g.shape[0] == 0)
    return {matmul(g, x, true, false), reduce(ReduceOp::Sum, g, {0}, false).first};
  Tensor gw = empty_for("linearWeightBiasGrad", {g.shape[1], x.shape[1]}, x.device);
  Tensor gb = empty_for("linearWeightBiasGrad", {g.shape[1]}, x.device);
  if (gb.numel() > 0) x.storage->backend->linear_weight_bias_grad(g, x, gw, gb);
  return {std::move(gw), std::move(gb)};
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& perm_in) {
  check_float("permute", x);
  const int64_t nd = x.dim();
  if (static_cast<int64_t>(perm_in.size()) != nd)
    fail("permute: got ", perm_in.size(), " dims ", format_shape(perm_in), " for ", x.describe(), "; give one entry per dimension");
  std::vector<int64_t> perm(perm_in);
  std::vector<bool> seen(nd, false);
  for (auto& p : perm) {
    p = normalize_dim("permute", p, nd, x.shape);
    if (seen[p]) fail("permute: dimension ", p, " appears twice in ", format_shape(perm_in), "; give a permutation of 0..", nd - 1);
    seen[p] = true;
  }
  Shape out_shape(nd);
  for (int64_t d = 0; d < nd; ++d) out_shape[d] = x.shape[perm[d]];
  Tensor out = empty(out_shape, x.device);
  if (out.numel() > 0) x.storage->backend->permute(x, perm, out);
  return out;
}

namespace {
struct SliceGeom {
  int64_t outer = 1, dim = 0, inner = 1, start = 0, step = 1, out_dim = 0, axis = 0;
};
SliceGeom slice_geometry(const char* op, const Shape& shape, int64_t dim, int64_t start, int64_t end, int64_t step) {
  SliceGeom g;
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd == 0) fail(op, ": cannot slice a 0-d tensor; reshape it to [1] first");
  g.axis = normalize_dim(op, dim, nd, shape);
  if (step <= 0) fail(op, ": step must be >= 1, got ", step);
  const int64_t size = shape[g.axis];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  for (int64_t d = 0; d < g.axis; ++d) g.outer *= shape[d];
  for (int64_t d = g.axis + 1; d < nd; ++d) g.inner *= shape[d];
  g.dim = size;
  g.start = start;
  g.step = step;
  g.out_dim = (end - start + step - 1) / step;
  return g;
}
}  // namespace

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  check_float("slice", x);
  const SliceGeom g = slice_geometry("slice", x.shape, dim, start, end, step);
  Shape out_shape = x.shape;
  out_shape[g.axis] = g.out_dim;
  Tensor out = empty(out_shape, x.device);
  if (out.numel() > 0) x.storage->backend->slice(x, g.outer, g.dim, g.inner, g.start, g.step, g.out_dim, out);
  return out;
}

Tensor slice_backward(const Tensor& grad, const Shape& input_shape, int64_t dim, int64_t start, int64_t end,
                      int64_t step) {
  check_float("slice_backward", grad);
  const SliceGeom g = slice_geometry("slice_backward", input_shape, dim, start, end, step);
  Shape expect = input_shape;
  expect[g.axis] = g.out_dim;
  if (expect != grad.shape)
    fail("slice_backward: gradient ", grad.describe(), " does not match the slice shape ", format_shape(expect));
  Tensor out = full(input_shape, 0.f, grad.device);
  if (grad.numel() > 0)
    grad.storage->backend->slice_backward(grad, g.outer, g.dim, g.inner, g.start, g.step, g.out_dim, out);
  return out;
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  if (xs.empty()) fail("concat: got no tensors; pass at least one");
  std::vector<const Tensor*> ptrs;
  for (auto& x : xs) {
    check_float("concat", x);
    ptrs.push_back(&x);
  }
  check_same_device("concat", ptrs);
  const Shape& s0 = xs[0].shape;
  const int64_t axis = normalize_dim("concat", dim, static_cast<int64_t>(s0.size()), s0);
  if (s0.empty()) fail("concat: cannot concatenate 0-d tensors; use stack, or reshape them to [1]");
  int64_t total = 0;
  for (auto& x : xs) {
    if (x.shape.size() != s0.size()) fail("concat: tensors have different ranks: ", format_shape(s0), " and ", format_shape(x.shape));
    for (size_t d = 0; d < s0.size(); ++d)
      if (static_cast<int64_t>(d) != axis && x.shape[d] != s0[d])
        fail("concat: shapes ", format_shape(s0), " and ", format_shape(x.shape), " differ in dimension ", d,
             " (only dimension ", axis, ", the concat dimension, may differ)");
    total += x.shape[axis];
  }
  Shape out_shape = s0;
  out_shape[axis] = total;
  Tensor out = empty(out_shape, xs[0].device);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s0[d];
  for (size_t d = axis + 1; d < s0.size(); ++d) inner *= s0[d];
  int64_t col = 0;
  for (auto& x : xs) {
    const int64_t row = x.shape[axis] * inner;
    if (row > 0 && outer > 0) x.storage->backend->copy_block(x, outer, row, out, total * inner, col);
    col += row;
  }
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const std::vector<int32_t>& idx) {
  check_float("indexSelect", x);
  const int64_t axis = normalize_dim("indexSelect", dim, x.dim(), x.shape);
  if (x.dim() == 0) fail("indexSelect: cannot index a 0-d tensor");
  check_labels("indexSelect", idx, x.shape[axis], x.shape, axis);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  Shape out_shape = x.shape;
  out_shape[axis] = static_cast<int64_t>(idx.size());
  Tensor out = empty(out_shape, x.device);
  if (out.numel() > 0)
    x.storage->backend->index_select(x, outer, x.shape[axis], inner, idx.data(), static_cast<int64_t>(idx.size()), out);
  return out;
}

Tensor index_add(const Shape& shape, int64_t dim, const std::vector<int32_t>& idx, const Tensor& src) {
  check_float("indexAdd", src);
  const int64_t axis = normalize_dim("indexAdd", dim, static_cast<int64_t>(shape.size()), shape);
  check_labels("indexAdd", idx, shape[axis], shape, axis);
  Shape expect = shape;
  expect[axis] = static_cast<int64_t>(idx.size());
  if (expect != src.shape) fail("indexAdd: source ", src.describe(), " should have shape ", format_shape(expect));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  Tensor out = full(shape, 0.f, src.device);
  if (src.numel() > 0)
    src.storage->backend->index_add(src, outer, shape[axis], inner, idx.data(), static_cast<int64_t>(idx.size()), out);
  return out;
}

namespace {
void check_gather_index(const char* op, const Shape& full, int64_t axis, const std::vector<int32_t>& idx,
                        const Shape& ishape) {
  if (ishape.size() != full.size())
    fail(op, ": index shape ", format_shape(ishape), " must have the same number of dims as the tensor ", format_shape(full));
  if (shape_numel(ishape) != static_cast<int64_t>(idx.size()))
    fail(op, ": index data has ", idx.size(), " entries but its shape ", format_shape(ishape), " needs ", shape_numel(ishape));
  for (size_t d = 0; d < full.size(); ++d)
    if (static_cast<int64_t>(d) != axis && ishape[d] > full[d])
      fail(op, ": index shape ", format_shape(ishape), " exceeds the tensor shape ", format_shape(full), " in dimension ", d);
  check_labels(op, idx, full[axis], full, axis);
}
}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const std::vector<int32_t>& idx, const Shape& ishape) {
  check_float("gather", x);
  const int64_t axis = normalize_dim("gather", dim, x.dim(), x.shape);
  check_gather_index("gather", x.shape, axis, idx, ishape);
  Tensor out = empty(ishape, x.device);
  if (out.numel() > 0) x.storage->backend->gather(x, axis, idx.data(), ishape, out);
  return out;
}

Tensor scatter_add(const Shape& shape, int64_t dim, const std::vector<int32_t>& idx, const Shape& ishape,
                   const Tensor& src) {
  check_float("scatterAdd", src);
  const int64_t axis = normalize_dim("scatterAdd", dim, static_cast<int64_t>(shape.size()), shape);
  check_gather_index("scatterAdd", shape, axis, idx, ishape);
  if (src.shape != ishape) fail("scatterAdd: source ", src.describe(), " must have the index shape ", format_shape(ishape));
  Tensor out = full(shape, 0.f, src.device);
  if (src.numel() > 0) src.storage->backend->scatter_add(src, axis, idx.data(), ishape, out);
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "logSoftmax" : "softmax";
  check_float(name, x);
  if (x.dim() == 0) fail(name, ": needs at least 1 dim, got a 0-d tensor");
  const int64_t axis = normalize_dim(name, dim, x.dim(), x.shape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape[d];
  Tensor out = empty(x.shape, x.device);
  if (out.numel() > 0) x.storage->backend->softmax(x, outer, x.shape[axis], inner, log, out);
  return out;
}

namespace {
Conv2dParams conv_params(const char* op, const Shape& xs, const Shape& ws, const Conv2dArgs& a) {
  if (xs.size() != 4) fail(op, ": input must be [N, C, H, W], got ", format_shape(xs), "; fold time into the batch first");
  if (ws.size() != 4) fail(op, ": weight must be [O, C/groups, KH, KW], got ", format_shape(ws));
  if (a.groups < 1 || a.stride_h < 1 || a.stride_w < 1 || a.dil_h < 1 || a.dil_w < 1 || a.pad_h < 0 || a.pad_w < 0)
    fail(op, ": stride, dilation and groups must be >= 1 and padding >= 0");
  Conv2dParams p{};
  p.N = xs[0]; p.C = xs[1]; p.H = xs[2]; p.W = xs[3];
  p.O = ws[0]; p.KH = ws[2]; p.KW = ws[3];
  if (p.KH < 1 || p.KW < 1 || ws[1] < 1 || p.O < 1)
    fail(op, ": weight ", format_shape(ws), " has a zero-size dimension; a convolution needs at least one output channel, "
         "one input channel per group and a kernel of at least 1x1");
  p.stride_h = a.stride_h; p.stride_w = a.stride_w; p.pad_h = a.pad_h; p.pad_w = a.pad_w;
  p.dil_h = a.dil_h; p.dil_w = a.dil_w; p.groups = a.groups;
  if (p.C % p.groups || p.O % p.groups)
    fail(op, ": groups = ", p.groups, " must divide both the input channels (", p.C, ") and the output channels (", p.O, ")");
  if (ws[1] != p.C / p.groups)
    fail(op, ": weight ", format_shape(ws), " expects ", ws[1] * p.groups, " input channels but the input ", format_shape(xs),
         " has ", p.C, "; the weight's dim 1 must be C/groups = ", p.C / p.groups);
  p.OH = (p.H + 2 * p.pad_h - p.dil_h * (p.KH - 1) - 1) / p.stride_h + 1;
  p.OW = (p.W + 2 * p.pad_w - p.dil_w * (p.KW - 1) - 1) / p.stride_w + 1;
  if (p.OH <= 0 || p.OW <= 0)
    fail(op, ": the kernel (", p.KH, "x", p.KW, ", dilation ", p.dil_h, ") is larger than the padded input ", format_shape(xs),
         "; use a smaller kernel or more padding");
  return p;
}

Pool2dParams pool_params(const char* op, const Shape& xs, const Pool2dArgs& a) {
  if (xs.size() != 4) fail(op, ": input must be [N, C, H, W], got ", format_shape(xs), "; fold time into the batch first");
  if (a.kh < 1 || a.kw < 1 || a.stride_h < 1 || a.stride_w < 1 || a.pad_h < 0 || a.pad_w < 0)
    fail(op, ": kernel and stride must be >= 1 and padding >= 0");
  if (a.pad_h * 2 > a.kh || a.pad_w * 2 > a.kw) fail(op, ": padding must be at most half the kernel size");
  Pool2dParams p{};
  p.N = xs[0]; p.C = xs[1]; p.H = xs[2]; p.W = xs[3];
  p.kh = a.kh; p.kw = a.kw; p.stride_h = a.stride_h; p.stride_w = a.stride_w; p.pad_h = a.pad_h; p.pad_w = a.pad_w;
  p.count_include_pad = a.count_include_pad;
  auto out_size = [&](int64_t in, int64_t k, int64_t s, int64_t pad) {
    const int64_t span = in + 2 * pad - k;
    int64_t o = (a.ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (a.ceil_mode && (o - 1) * s >= in + pad) --o;  // the last window must start inside the input
    return o;
  };
  p.OH = out_size(p.H, p.kh, p.stride_h, p.pad_h);
  p.OW = out_size(p.W, p.kw, p.stride_w, p.pad_w);
  if (p.OH <= 0 || p.OW <= 0) fail(op, ": the window ", p.kh, "x", p.kw, " is larger than the input ", format_shape(xs));
  return p;
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dArgs& a) {
  check_float("conv2d", x);
  check_float("conv2d", w, "weight");
  check_same_device("conv2d", {&x, &w});
  const Conv2dParams p = conv_params("conv2d", x.shape, w.shape, a);
  Tensor out = empty_for("conv2d", {p.N, p.O, p.OH, p.OW}, x.device);
  if (out.numel() > 0) x.storage->backend->conv2d(x, w, out, p);
  return out;
}

namespace {
void check_grad_shape(const char* op, const Tensor& grad, const Shape& expected, DType dtype = DType::Float32,
                      const char* what = "gradient") {
  if (grad.dtype != dtype) fail(op, ": the ", what, " ", grad.describe(), " has the wrong dtype");
  if (grad.shape != expected)
    fail(op, ": the ", what, " ", grad.describe(), " does not match the op's output shape ", format_shape(expected));
}
}  // namespace

Tensor conv2d_backward_input(const Tensor& grad, const Tensor& w, const Shape& x_shape, const Conv2dArgs& a) {
  check_same_device("conv2d_backward_input", {&grad, &w});
  check_shape_valid("conv2d_backward_input", x_shape);
  check_float("conv2d_backward_input", w, "weight");
  const Conv2dParams p = conv_params("conv2d_backward_input", x_shape, w.shape, a);
  check_grad_shape("conv2d_backward_input", grad, {p.N, p.O, p.OH, p.OW});
  Tensor out = empty(x_shape, grad.device);
  if (out.numel() > 0) grad.storage->backend->conv2d_backward_input(grad, w, out, p);
  return out;
}

Tensor conv2d_backward_weight(const Tensor& grad, const Tensor& x, const Shape& w_shape, const Conv2dArgs& a) {
  check_same_device("conv2d_backward_weight", {&grad, &x});
  check_shape_valid("conv2d_backward_weight", w_shape);
  check_float("conv2d_backward_weight", x);
  const Conv2dParams p = conv_params("conv2d_backward_weight", x.shape, w_shape, a);
  check_grad_shape("conv2d_backward_weight", grad, {p.N, p.O, p.OH, p.OW});
  Tensor out = empty(w_shape, grad.device);
  if (out.numel() > 0) grad.storage->backend->conv2d_backward_weight(grad, x, out, p);
  return out;
}

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Pool2dArgs& a) {
  check_float("maxPool2d", x);
  const Pool2dParams p = pool_params("maxPool2d", x.shape, a);
  Tensor out = empty({p.N, p.C, p.OH, p.OW}, x.device);
  Tensor idx = empty({p.N, p.C, p.OH, p.OW}, x.device, DType::Int32);
  if (out.numel() > 0) x.storage->backend->max_pool2d(x, out, idx, p);
  return {out, idx};
}

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& x_shape, const Pool2dArgs& a) {
  const char* op = "maxPool2d_backward";
  check_same_device(op, {&grad, &indices});
  check_shape_valid(op, x_shape);
  const Pool2dParams p = pool_params(op, x_shape, a);
  check_grad_shape(op, grad, {p.N, p.C, p.OH, p.OW});
  check_grad_shape(op, indices, {p.N, p.C, p.OH, p.OW}, DType::Int32, "index tensor");
  if (indices.device == Device::CPU) {
    // Each index points into its own H x W plane; one out of range would write outside the output.
    const int32_t* ix = indices.idata();
    const int64_t plane = p.H * p.W, n = indices.numel();
    for (int64_t i = 0; i < n; ++i)
      if (ix[i] < 0 || ix[i] >= plane)
        fail(op, ": index ", ix[i], " at position ", i, " is outside the ", p.H, "x", p.W, " input plane; pass the indices maxPool2d returned");
  }
  Tensor out = empty(x_shape, grad.device);
  if (out.numel() > 0) grad.storage->backend->max_pool2d_backward(grad, indices, out, p);
  return out;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dArgs& a) {
  check_float("avgPool2d", x);
  const Pool2dParams p = pool_params("avgPool2d", x.shape, a);
  Tensor out = empty({p.N, p.C, p.OH, p.OW}, x.device);
  if (out.numel() > 0) x.storage->backend->avg_pool2d(x, out, p);
  return out;
}

Tensor avg_pool2d_backward(const Tensor& grad, const Shape& x_shape, const Pool2dArgs& a) {
  check_float("avgPool2d_backward", grad);
  check_shape_valid("avgPool2d_backward", x_shape);
  const Pool2dParams p = pool_params("avgPool2d_backward", x_shape, a);
  check_grad_shape("avgPool2d_backward", grad, {p.N, p.C, p.OH, p.OW});
  Tensor out = empty(x_shape, grad.device);
  if (out.numel() > 0) grad.storage->backend->avg_pool2d_backward(grad, out, p);
  return out;
}

Tensor random(RandomKind kind, const Shape& shape, uint64_t seed, uint64_t offset, float p, Device device) {
  if (kind == RandomKind::Bernoulli && !(p >= 0.f && p <= 1.f))
    fail("bernoulli: probability ", p, " is outside [0, 1]");
  Tensor out = empty_for("random", shape, device);
  if (out.numel() > 0) backend_for(device).random(kind, seed, offset, p, out);
  return out;
}

Tensor bernoulli_steps(const Tensor& probs, int64_t steps, uint64_t seed, uint64_t offset) {
  check_float("bernoulliSteps", probs, "probabilities");
  if (steps < 1) fail("bernoulliSteps: steps = ", steps, " must be >= 1 (the time steps to draw)");
  if (probs.device == Device::CPU) {  // elsewhere the draw acts as if clamped (p > 1: always, p < 0 or NaN: never)
    const float* p = probs.data();
    for (int64_t i = 0; i < probs.numel(); ++i)
      if (!(p[i] >= 0.f && p[i] <= 1.f))
        fail("bernoulliSteps: probability ", i, " is ", p[i], ", outside [0, 1]; rescale the input (e.g. divide raw pixels by 255) or clamp it");
  }
  Shape shape = probs.shape;
  shape.insert(shape.begin(), steps);
  Tensor out = empty_for("bernoulliSteps", shape, probs.device);
  if (out.numel() > 0) probs.storage->backend->bernoulli_steps(probs, seed, offset, out);
  return out;
}

namespace {
void fail_non_finite_input(const char* op, const Tensor& I, int64_t i, int64_t N) {
  fail(op, ": the input current ", I.describe(), " holds a non-finite value (", I.data()[i], ") at time step ", i / N,
       ", neuron ", i % N, "; check the layer before this neuron (learning rate, inputs) for NaN or Inf");
}
// scan_input: also scan I for a non-finite value (the forward on the CPU skips it: its membrane scan
// finds any, since a non-finite I_k makes v_{k+1} non-finite; fractional_forward then names I).
void check_fractional(const char* op, const Tensor& I, const FractionalParams& p, bool scan_input = true) {
  check_float(op, I, "input current");
  if (I.dim() < 2) fail(op, ": input current must be time-major [T, B, ...], got ", I.describe());
  if (I.shape[0] < 1) fail(op, ": T = 0 time steps; the input current needs at least one step");
  if ((p.static_input ? 1 : p.T) != I.shape[0] || p.N != I.numel() / I.shape[0])
    fail(op, ": internal shape mismatch between params and ", I.describe());
  if (!p.K) fail(op, ": no kernel given");
  if (!p.predictor && (!(p.K[0] > 0) || !std::isfinite(p.K[0])))
    fail(op, ": K_0 = ", p.K[0], " must be positive and finite; give at least one positive coefficient");
  for (int64_t L = 0; L <= p.T; ++L)
    if (!std::isfinite(p.K[L])) fail(op, ": kernel value K_", L, " = ", p.K[L], " is not finite");
  if (p.memory < 1) fail(op, ": memory window ", p.memory, " must be >= 1 (1 keeps no history; omit it for full history)");
  if (!(p.tau > 0) || !std::isfinite(p.tau)) fail(op, ": tau = ", p.tau, " must be positive and finite");
  if (!std::isfinite(p.threshold)) fail(op, ": threshold must be finite");
  if (!(p.scale > 0)) fail(op, ": surrogate scale ", p.scale, " must be positive");
  if (scan_input) {
    const int64_t i = I.storage->backend->first_non_finite(I);
    if (i != kNotScanned && i < I.numel()) fail_non_finite_input(op, I, i, p.N);
  }
}
}  // namespace

FractionalResult fractional_forward(const Tensor& I, const FractionalParams& p, bool save_trace) {
  // On the CPU the membrane is always computed and checked (the fast kernels as they compute it, the others
  // by a scan): float32 overflow inside the recurrence (e.g. an input current of 3e38) gives an Inf/NaN
  // membrane whose spikes would be silently wrong. That check also finds a non-finite input (it makes the
  // next membrane value non-finite), so I is scanned beforehand only on other devices, and on the CPU only
  // to tell the two causes apart.
  const bool check = I.device == Device::CPU;
  check_fractional("fractionalNeuron", I, p, !check);
  FractionalResult r;
  Shape out_shape = I.shape;
  out_shape[0] = p.T;  // a static input [1, ...] gives T steps
  r.spikes = empty(out_shape, I.device);
  if (save_trace || check) r.v = empty(out_shape, I.device);
  const int64_t i = I.storage->backend->fractional_forward(p, I, r.spikes, save_trace || check ? &r.v : nullptr);
  if (check) {
    if (i != kNotScanned && i < r.v.numel()) {
      const int64_t j = I.storage->backend->first_non_finite(I);
      if (j != kNotScanned && j < I.numel()) fail_non_finite_input("fractionalNeuron", I, j, p.N);
      fail("fractionalNeuron: the membrane potential overflowed float32 (", r.v.data()[i], ") at time step ", i / p.N, ", neuron ",
           i % p.N, " although the input current is finite. Either the input is too large (|I| near the float32 limit "
           "3.4e38): scale the inputs or the preceding layer's weights down; or the time step h is too large for "
           "tau = ", p.tau, " (the discrete scheme grows without bound when h / tau is large): use a smaller step h "
           "(the spacing of xTime) or a larger tau");
    }
  }
  if (!save_trace) r.v = Tensor{};
  return r;
}

namespace {
// T, N and the memory cap from I; the kernel from the kernel module's cache (checked there); the history
// resolved for T, method, window and device (fractional_history.h), and the fast history when it runs.
struct FractionalSetup {
  std::shared_ptr<const FractionalKernel> kernel;
  std::shared_ptr<const FractionalFastHistory> fast;  // null: the exact history
};
// steps > 0: I is one step [1, ...] that holds at each of `steps` time steps (a static input).
FractionalSetup fractional_setup(const char* op, const Tensor& I, FractionalKernelSpec spec, FractionalHistory history,
                                 FractionalParams& p, int64_t steps) {
  check_float(op, I, "input current");
  if (I.dim() < 2) fail(op, ": input current must be time-major [T, B, ...], got ", I.describe());
  if (I.shape[0] < 1) fail(op, ": T = 0 time steps; the input current needs at least one step");
  if (steps < 0) fail(op, ": steps = ", steps, " must be >= 1 (the time steps a one-step static input holds for), or 0 for none");
  if (steps > 0 && I.shape[0] != 1)
    fail(op, ": steps = ", steps, " repeats a one-step static input [1, B, ...] over the time steps, but the current is ", I.describe(),
         "; pass the one step, or leave steps out for a time-major current [T, B, ...]");
  const int64_t T = steps > 0 ? steps : I.shape[0];
  spec.T = T;
  FractionalSetup s;
  s.kernel = cached_fractional_kernel(spec);
  p.T = T;
  p.N = I.numel() / I.shape[0];
  if (p.memory > p.T + 1) p.memory = p.T + 1;
  p.K = s.kernel->K.data();
  p.predictor = fractional_method_is_predictor(spec.method);
  if (resolve_fractional_history(history, spec.method, p.T, p.memory, I.storage->backend->fast_history_from_t(), op) ==
      FractionalHistory::Fast) {
    s.fast = cached_fractional_fast_history(spec);
    p.fast = s.fast.get();
  }
  return s;
}

// out [rows] = the chain of the pairs x [2, n] through the host table [rows][n] (Backend::fractional_chain).
Tensor chain(const Tensor& x, const double* table, int64_t rows) {
  Tensor out = empty({rows}, x.device);
  x.storage->backend->fractional_chain(x, table, rows, out);
  return out;
}
}  // namespace

// A static input for a backend that does not read one itself: the T steps materialised.
Tensor repeat_steps(const Tensor& I, int64_t T) { return concat(std::vector<Tensor>(static_cast<size_t>(T), I), 0); }

FractionalResult fractional_forward(const Tensor& I, const FractionalKernelSpec& kernel, FractionalParams p,
                                    bool save_trace, FractionalHistory history, int64_t steps) {
  const FractionalSetup s = fractional_setup("fractionalNeuron", I, kernel, history, p, steps);
  if (steps > 0 && !I.storage->backend->fractional_static_input(p)) return fractional_forward(repeat_steps(I, p.T), p, save_trace);
  p.static_input = steps > 0;
  return fractional_forward(I, p, save_trace);
}

FractionalGrads fractional_backward(const Tensor& I, const Tensor& v, const Tensor& spikes, const Tensor& gS,
                                    const Tensor* gV, const FractionalKernelSpec& kernel, FractionalParams p,
                                    const FractionalGradRequest& want, FractionalHistory history, int64_t steps,
                                    const Tensor* linear_x) {
  const char* op = "fractionalNeuron.backward";
  const FractionalSetup s = fractional_setup(op, I, kernel, history, p, steps);
  const FractionalKernel* k = s.kernel.get();
  const bool repeat = steps > 0 && !I.storage->backend->fractional_static_input(p);
  const Tensor Irep = repeat ? repeat_steps(I, p.T) : Tensor{};
  const Tensor& Iop = repeat ? Irep : I;  // what the backend reads
  p.static_input = steps > 0 && !repeat;
  check_fractional(op, Iop, p, !want.input_checked);
  std::vector<const Tensor*> all = {&I, &v, &spikes, &gS};
  if (gV) all.push_back(gV);
  check_same_device(op, all);
  Shape out_shape = I.shape;
  out_shape[0] = p.T;
  for (size_t i = 1; i < all.size(); ++i)
    if (all[i]->shape != out_shape)
      fail(op, ": ", all[i]->describe(), " does not match the ", p.T, " steps of the input current ", I.describe());
  if (!std::isfinite(want.tau_scale)) fail(op, ": the tau gradient scale ", want.tau_scale, " is not finite");
  FractionalGrads g;
  int64_t F = 0;  // the linear layer's outputs (I's last dimension)
  if (linear_x) {
    check_float(op, *linear_x, "linear layer input");
    check_same_device(op, {&I, linear_x});
    F = I.shape.back();
    if (steps > 0) fail(op, ": a linear layer's input cannot be folded into a static input's backward");
    if (linear_x->dim() != 2 || linear_x->shape[0] * F != I.numel())
      fail(op, ": the linear layer input ", linear_x->describe(), " must be [rows, K] with rows x ", F,
           " = the current's ", I.numel(), " values (", I.describe(), ")");
  }
  const bool fold = linear_x && I.storage->backend->fractional_folds_linear(p);
  FractionalLinearFold lf;
  if (fold) {
    g.gLinearWeight = empty({F, linear_x->shape[1]}, I.device);
    g.gLinearBias = empty({F}, I.device);
    lf.x = linear_x;
    lf.gW = &g.gLinearWeight;
    lf.gB = &g.gLinearBias;
    p.linear_fold = &lf;
  } else {
    g.gI = empty(Iop.shape, I.device);
  }
  // dL/dK_0..K_T (exact), or dL/dK_0..K_{L0-1} then dL/dc_q (fast; the chain tables match).
  Tensor gK = empty({2, s.fast ? s.fast->width() : p.T + 1}, I.device);
  Tensor gTau = empty({2}, I.device);
  I.storage->backend->fractional_backward(p, Iop, v, spikes, gS, gV, g.gI, gK, gTau);
  if (repeat) g.gI = reduce(ReduceOp::Sum, g.gI, {0}, true).first;  // dL/dI = sum_k dL/dI_k
  if (linear_x && !fold) {  // the layer's gradients from dL/dI, formed in full
    std::tie(g.gLinearWeight, g.gLinearBias) = linear_weight_bias_grad(reshape(g.gI, {linear_x->shape[0], F}), *linear_x);
    g.gI = Tensor{};
  }
  // The chain next to the sums, on I's device: gAlpha_m = sum_L dL/dK_L dK_L/dalpha_m,
  // gWeight_m = sum_L dL/dK_L dK_L/dw_m, gTau = dL/dtau tau_scale (float64 products and sums).
  const double* dAlpha = s.fast ? s.fast->dAlpha.data() : k->dAlpha.data();
  const double* dWeight = s.fast ? s.fast->dWeight.data() : k->dWeight.data();
  if (want.alpha && k->terms > 0) g.gAlpha = chain(gK, dAlpha, k->terms);
  if (want.weight && k->terms > 0) g.gWeight = chain(gK, dWeight, k->terms);
  if (want.tau) g.gTau = chain(reshape(gTau, {2, 1}), &want.tau_scale, 1);
  if (want.pairs) {
    g.gK = std::move(gK);
    g.gTauPair = std::move(gTau);
  }
  return g;
}

void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* vmax, const AdamParams& p) {
  std::vector<const Tensor*> all = {&param, &grad, &m, &v};
  if (vmax) all.push_back(vmax);
  check_same_device("adam.step", all);
  for (auto* t : all)
    if (t->shape != param.shape) fail("adam.step: state ", t->describe(), " does not match the parameter ", param.describe());
  param.storage->backend->adam_step(param, grad, m, v, vmax, p);
  ++param.storage->version;
}

void sgd_step(Tensor& param, const Tensor& grad, Tensor* buf, const SgdParams& p) {
  std::vector<const Tensor*> all = {&param, &grad};
  if (buf) all.push_back(buf);
  check_same_device("sgd.step", all);
  for (auto* t : all)
    if (t->shape != param.shape) fail("sgd.step: state ", t->describe(), " does not match the parameter ", param.describe());
  param.storage->backend->sgd_step(param, grad, buf, p);
  ++param.storage->version;
}

}  // namespace ops

// ---------------------------------------------------------------------------------------------
// Kernel entries (kernels.def): each turns a kernel's inputs and decoded attributes into the checked
// op above. Inputs arrive checked against the declaration (count; no null where one is required).
// ---------------------------------------------------------------------------------------------
namespace {
ops::Conv2dArgs conv_args(int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups) {
  ops::Conv2dArgs c;
  c.stride_h = sh; c.stride_w = sw; c.pad_h = ph; c.pad_w = pw; c.dil_h = dh; c.dil_w = dw; c.groups = groups;
  return c;
}
template <typename A>
ops::Conv2dArgs conv_args(const A& a) { return conv_args(a.strideH, a.strideW, a.padH, a.padW, a.dilH, a.dilW, a.groups); }
template <typename A>
ops::Pool2dArgs pool_args(const A& a, bool count_include_pad) {
  ops::Pool2dArgs p;
  p.kh = a.kH; p.kw = a.kW; p.stride_h = a.strideH; p.stride_w = a.strideW; p.pad_h = a.padH; p.pad_w = a.padW;
  p.ceil_mode = a.ceilMode;
  p.count_include_pad = count_include_pad;
  return p;
}
}  // namespace

FSNN_KERNEL_ENTRY(full) { return {ops::full(a.shape, a.value, a.device)}; }
FSNN_KERNEL_ENTRY(reshape) { return {ops::reshape(*in[0], a.shape)}; }
FSNN_KERNEL_ENTRY(clone) { return {ops::clone(*in[0])}; }
FSNN_KERNEL_ENTRY(to) { return {ops::to_device(*in[0], a.device)}; }
FSNN_KERNEL_ENTRY(copy) {
  ops::copy_(*in[0], *in[1]);
  return {};
}
FSNN_KERNEL_ENTRY(fill) {
  ops::fill_(*in[0], a.value);
  return {};
}
FSNN_KERNEL_ENTRY(axpy) {
  ops::axpy_(*in[0], a.alpha, *in[1]);
  return {};
}
FSNN_KERNEL_ENTRY(unary) { return {ops::unary(a.op, *in[0], a.p0, a.p1)}; }
FSNN_KERNEL_ENTRY(binary) { return {ops::binary(a.op, *in[0], *in[1])}; }
FSNN_KERNEL_ENTRY(where) { return {ops::where(*in[0], *in[1], *in[2])}; }
FSNN_KERNEL_ENTRY(reduce) { return {ops::reduce(a.op, *in[0], a.dims, a.keepdim, false).first}; }
FSNN_KERNEL_ENTRY(reduceWithIndices) {
  if (a.op != ReduceOp::Max && a.op != ReduceOp::Min)
    fail("reduceWithIndices: op must be 'max' or 'min' (only they have positions); use the kernel 'reduce' for sums and means");
  auto r = ops::reduce(a.op, *in[0], a.dims, a.keepdim, true);
  return {std::move(r.first), std::move(r.second)};
}
FSNN_KERNEL_ENTRY(matmul) { return {ops::matmul(*in[0], *in[1], a.transA, a.transB)}; }
FSNN_KERNEL_ENTRY(spikeMatmul) { return {ops::spike_matmul(*in[0], *in[1], a.path)}; }
FSNN_KERNEL_ENTRY(spikeMatmulWeightGrad) { return {ops::spike_matmul_weight_grad(*in[0], *in[1], a.path)}; }
FSNN_KERNEL_ENTRY(linear) { return {ops::linear(*in[0], *in[1], *in[2])}; }
FSNN_KERNEL_ENTRY(linearWeightBiasGrad) {
  auto r = ops::linear_weight_bias_grad(*in[0], *in[1]);
  return {std::move(r.first), std::move(r.second)};
}
FSNN_KERNEL_ENTRY(permute) { return {ops::permute(*in[0], a.perm)}; }
FSNN_KERNEL_ENTRY(slice) { return {ops::slice(*in[0], a.dim, a.start, a.end, a.step)}; }
FSNN_KERNEL_ENTRY(sliceBackward) { return {ops::slice_backward(*in[0], a.inputShape, a.dim, a.start, a.end, a.step)}; }
FSNN_KERNEL_ENTRY(concat) {
  std::vector<Tensor> xs;
  xs.reserve(in.size());
  for (Tensor* t : in) xs.push_back(*t);
  return {ops::concat(xs, a.dim)};
}
FSNN_KERNEL_ENTRY(indexSelect) { return {ops::index_select(*in[0], a.dim, a.index)}; }
FSNN_KERNEL_ENTRY(indexAdd) { return {ops::index_add(a.shape, a.dim, a.index, *in[0])}; }
FSNN_KERNEL_ENTRY(gather) { return {ops::gather(*in[0], a.dim, a.index, a.indexShape)}; }
FSNN_KERNEL_ENTRY(scatterAdd) { return {ops::scatter_add(a.shape, a.dim, a.index, a.indexShape, *in[0])}; }
FSNN_KERNEL_ENTRY(softmax) { return {ops::softmax(*in[0], a.dim, a.log)}; }
FSNN_KERNEL_ENTRY(conv2d) { return {ops::conv2d(*in[0], *in[1], conv_args(a))}; }
FSNN_KERNEL_ENTRY(conv2dBackwardInput) { return {ops::conv2d_backward_input(*in[0], *in[1], a.inputShape, conv_args(a))}; }
FSNN_KERNEL_ENTRY(conv2dBackwardWeight) { return {ops::conv2d_backward_weight(*in[0], *in[1], a.weightShape, conv_args(a))}; }
FSNN_KERNEL_ENTRY(maxPool2d) {
  auto r = ops::max_pool2d(*in[0], pool_args(a, true));
  return {std::move(r.first), std::move(r.second)};
}
FSNN_KERNEL_ENTRY(maxPool2dBackward) {
  return {ops::max_pool2d_backward(*in[0], *in[1], a.inputShape, pool_args(a, true))};
}
FSNN_KERNEL_ENTRY(avgPool2d) { return {ops::avg_pool2d(*in[0], pool_args(a, a.countIncludePad))}; }
FSNN_KERNEL_ENTRY(avgPool2dBackward) {
  return {ops::avg_pool2d_backward(*in[0], a.inputShape, pool_args(a, a.countIncludePad))};
}
namespace {
// A Philox stream position from JavaScript: seed in [0, 2^53), offset >= 0.
void check_philox_position(const char* op, int64_t seed, int64_t offset) {
  if (seed < 0 || seed >= (int64_t{1} << 53)) fail(op, ": seed must be an integer in [0, 2^53), got ", seed);
  if (offset < 0) fail(op, ": offset must be >= 0, got ", offset);
}
}  // namespace
FSNN_KERNEL_ENTRY(random) {
  check_philox_position("random", a.seed, a.offset);
  return {ops::random(a.kind, a.shape, static_cast<uint64_t>(a.seed), static_cast<uint64_t>(a.offset), a.p, a.device)};
}
FSNN_KERNEL_ENTRY(bernoulliSteps) {
  check_philox_position("bernoulliSteps", a.seed, a.offset);
  return {ops::bernoulli_steps(*in[0], a.steps, static_cast<uint64_t>(a.seed), static_cast<uint64_t>(a.offset))};
}
FSNN_KERNEL_ENTRY(fractionalForward) {
  FractionalKernelSpec spec;
  spec.method = a.method;
  spec.alphas = a.alphas;
  spec.weights = a.weights;
  spec.h = a.h;
  FractionalParams p;
  p.kind = a.kind;
  p.surrogate = a.surrogate;
  p.tau = a.tau;
  p.threshold = a.threshold;
  p.scale = a.scale;
  p.memory = a.memory;
  ops::FractionalResult r = ops::fractional_forward(*in[0], spec, p, a.saveTrace, a.history, a.steps);
  return {std::move(r.spikes), std::move(r.v)};
}
FSNN_KERNEL_ENTRY(adamStep) {
  AdamParams p{};
  p.lr = static_cast<float>(a.lr);
  p.beta1 = static_cast<float>(a.beta1);
  p.beta2 = static_cast<float>(a.beta2);
  p.one_minus_beta1 = static_cast<float>(1.0 - a.beta1);  // in double, then rounded (as PyTorch)
  p.one_minus_beta2 = static_cast<float>(1.0 - a.beta2);
  p.eps = static_cast<float>(a.eps);
  p.weight_decay = static_cast<float>(a.weightDecay);
  p.decoupled = a.decoupled;
  p.amsgrad = a.amsgrad;
  p.maximize = a.maximize;
  p.bias_correction1 = 1.0 - std::pow(a.beta1, a.step);
  p.bias_correction2 = 1.0 - std::pow(a.beta2, a.step);
  ops::adam_step(*in[0], *in[1], *in[2], *in[3], in[4], p);
  return {};
}
FSNN_KERNEL_ENTRY(sgdStep) {
  SgdParams p{};
  p.lr = static_cast<float>(a.lr);
  p.momentum = static_cast<float>(a.momentum);
  p.dampening = static_cast<float>(a.dampening);
  p.weight_decay = static_cast<float>(a.weightDecay);
  p.nesterov = a.nesterov;
  p.first_step = a.firstStep;
  p.maximize = a.maximize;
  ops::sgd_step(*in[0], *in[1], in[2], p);
  return {};
}

}  // namespace fsnn
