// Inference plans: a sequential model compiled to a list of steps that native code runs without
// calling back into JavaScript, so that a whole forward pass can run on the libuv pool (AsyncWorker).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ops.h"

namespace fsnn {

struct PlanStep {
  enum class Kind { Linear, Fractional, Flatten, Conv2d, MaxPool2d, AvgPool2d, MeanOverTime } kind;
  Tensor weight, bias;  // Linear / Conv2d (bias may be empty)
  std::vector<double> K;  // Fractional
  FractionalParams frac;
  ops::Conv2dArgs conv;
  ops::Pool2dArgs pool;
  int64_t start_dim = 2;  // Flatten
};

// Runs the steps on x (time-major [T, B, ...]); no autograd state is kept.
Tensor run_plan(const std::vector<PlanStep>& steps, const Tensor& x);

}  // namespace fsnn
