// Which tensors are the output of a linear layer y = x W^T + b (linear() in ./nn.ts, the one-node path) and
// of what. The fractional neuron reads the mark: when its input current is such an output and x needs no
// gradient, dL/dI is only ever reduced into the layer's weight and bias gradients, so the neuron's backward
// folds that reduction into its own pass over time (native: FractionalLinearFold) instead of writing dL/dI
// [T, B, F] and handing it to the layer's backward, which would read it all back. A mark, as spike-marks.ts.
import type { Tensor } from '../tensor';

/** The operands of a linear layer's output. */
export interface LinearOrigin {
  /** The layer's input as rows [M, K] (M = the output's numel / F). */
  readonly x: Tensor;
  /** Weight [F, K]. */
  readonly weight: Tensor;
  /** Bias [F]. */
  readonly bias: Tensor;
}

const origins = new WeakMap<Tensor, LinearOrigin>();

/** Marks y as x W^T + b over its last dimension; returns y. */
export function markLinearOutput<T extends Tensor>(y: T, origin: LinearOrigin): T {
  origins.set(y, origin);
  return y;
}

/** The operands t was computed from, when t is a marked linear output. */
export function linearOrigin(t: Tensor): LinearOrigin | undefined {
  return origins.get(t);
}
