#include "plan_runner.h"

namespace fsnn {

namespace {
// [T, B, ...] -> [T*B, ...] view for 2-D ops, and back.
Tensor fold_time(const Tensor& x) {
  Shape s(x.shape.begin() + 1, x.shape.end());
  s[0] *= x.shape[0];
  return ops::reshape(x, s);
}
Tensor unfold_time(const Tensor& y, int64_t T) {
  Shape s = y.shape;
  s[0] /= T;
  s.insert(s.begin(), T);
  return ops::reshape(y, s);
}

// Every step checks what it reads (a plan can come from any caller of the addon's runPlan).
void check_weight(const PlanStep& st, size_t dims, const char* layer, const Tensor& x, size_t min_x_dims) {
  if (!st.weight.storage || st.weight.dtype != DType::Float32 || st.weight.shape.size() != dims)
    fail("inference plan: the ", layer, " weight must be a live float32 ", dims, "-D tensor, got ",
         st.weight.storage ? st.weight.describe() : std::string("a disposed tensor"));
  if (st.bias.storage && (st.bias.dtype != DType::Float32 || st.bias.shape != Shape{st.weight.shape[0]}))
    fail("inference plan: the ", layer, " bias ", st.bias.describe(), " must be float32 [", st.weight.shape[0], "]");
  if (x.shape.size() < min_x_dims)
    fail("inference plan: the ", layer, " layer needs an input with at least ", min_x_dims, " dimensions ([T, B, ...]), got ",
         format_shape(x.shape));
}
}  // namespace

Tensor run_plan(const std::vector<PlanStep>& steps, const Tensor& input) {
  Tensor x = input;
  if (!x.storage || x.dtype != DType::Float32 || x.shape.size() < 2 || x.shape[0] < 1)
    fail("inference plan: the input must be a live float32 time-major tensor [T, B, ...] with T >= 1, got ",
         x.storage ? x.describe() : std::string("a disposed tensor"));
  for (const PlanStep& st : steps) {
    switch (st.kind) {
      case PlanStep::Kind::Linear: {
        // y = x W^T + b over the last dim
        check_weight(st, 2, "linear", x, 1);
        const int64_t in = st.weight.shape[1];
        if (x.shape.back() != in)
          fail("inference plan: linear layer expects ", in, " features, got ", format_shape(x.shape));
        Shape out_shape = x.shape;
        out_shape.back() = st.weight.shape[0];
        Tensor y = ops::matmul(ops::reshape(x, {-1, in}), st.weight, false, true);
        if (st.bias.storage) y = ops::binary(BinaryOp::Add, y, st.bias);
        x = ops::reshape(y, out_shape);
        break;
      }
      case PlanStep::Kind::Fractional: {
        if (x.shape.size() < 2) fail("inference plan: a neuron layer needs a time-major input [T, B, ...], got ", format_shape(x.shape));
        if (st.K.empty()) fail("inference plan: a neuron layer has an empty kernel");
        FractionalParams p = st.frac;
        p.T = x.shape[0];
        p.N = x.numel() / p.T;
        if (static_cast<int64_t>(st.K.size()) < p.T + 1)
          fail("inference plan: the neuron kernel was built for T = ", st.K.size() - 1, " steps but the input has T = ", p.T);
        p.K = st.K.data();
        if (p.memory > p.T + 1) p.memory = p.T + 1;
        x = ops::fractional_forward(x, p, false).spikes;
        break;
      }
      case PlanStep::Kind::Flatten: {
        const int64_t nd = static_cast<int64_t>(x.shape.size());
        if (st.start_dim < 0 || st.start_dim >= nd)
          fail("inference plan: Flatten(startDim = ", st.start_dim, ") is out of range for an input of shape ",
               format_shape(x.shape), " (valid: 0 to ", nd - 1, ")");
        Shape s(x.shape.begin(), x.shape.begin() + st.start_dim);
        s.push_back(-1);
        x = ops::reshape(x, s);
        break;
      }
      case PlanStep::Kind::Conv2d: {
        check_weight(st, 4, "conv2d", x, 5);
        const int64_t T = x.shape[0];
        Tensor y = ops::conv2d(fold_time(x), st.weight, st.conv);
        if (st.bias.storage) y = ops::binary(BinaryOp::Add, y, ops::reshape(st.bias, {1, -1, 1, 1}));
        x = unfold_time(y, T);
        break;
      }
      case PlanStep::Kind::MaxPool2d:
        if (x.shape.size() != 5) fail("inference plan: a pooling layer needs an input [T, B, C, H, W], got ", format_shape(x.shape));
        x = unfold_time(ops::max_pool2d(fold_time(x), st.pool).first, x.shape[0]);
        break;
      case PlanStep::Kind::AvgPool2d:
        if (x.shape.size() != 5) fail("inference plan: a pooling layer needs an input [T, B, C, H, W], got ", format_shape(x.shape));
        x = unfold_time(ops::avg_pool2d(fold_time(x), st.pool), x.shape[0]);
        break;
      case PlanStep::Kind::MeanOverTime:
        x = ops::reduce(ReduceOp::Mean, x, {0}, false).first;
        break;
    }
  }
  return x;
}

}  // namespace fsnn
