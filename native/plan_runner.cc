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
}  // namespace

Tensor run_plan(const std::vector<PlanStep>& steps, const Tensor& input) {
  Tensor x = input;
  for (const PlanStep& st : steps) {
    switch (st.kind) {
      case PlanStep::Kind::Linear: {
        // y = x W^T + b over the last dim
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
        Shape s(x.shape.begin(), x.shape.begin() + st.start_dim);
        s.push_back(-1);
        x = ops::reshape(x, s);
        break;
      }
      case PlanStep::Kind::Conv2d: {
        const int64_t T = x.shape[0];
        Tensor y = ops::conv2d(fold_time(x), st.weight, st.conv);
        if (st.bias.storage) y = ops::binary(BinaryOp::Add, y, ops::reshape(st.bias, {1, -1, 1, 1}));
        x = unfold_time(y, T);
        break;
      }
      case PlanStep::Kind::MaxPool2d:
        x = unfold_time(ops::max_pool2d(fold_time(x), st.pool).first, x.shape[0]);
        break;
      case PlanStep::Kind::AvgPool2d:
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
