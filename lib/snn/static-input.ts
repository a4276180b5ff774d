// A time-invariant input (direct encoding shows the same image at every step): the layers before the
// first neuron layer would compute the same thing T times, so SNNWrapper.forward(x, xTime,
// { staticInput: true }) runs them once on one step [1, B, ...] and the first neuron layer holds its
// input current for the T steps (as SpikingJelly computes a static stem once):
//   forward   I_t = I                      for t = 1..T   ([1, B, ...] -> [T, B, ...])
//   backward  dL/dI = sum_t dL/dI_t                       (the backward of a broadcast over T)
// The fractional op does both (its `steps` option): the CPU's exact kernels read the one step in place
// and sum its gradient over the steps as they go; elsewhere the op repeats the step first.

/** What SNNWrapper.forward puts in the neuron context for a static input (see ./neuron-context.ts). */
export interface StaticSteps {
  /** The number of time steps T the one-step input stands for. */
  readonly steps: number;
  /** Set by the first neuron layer that runs, once it has taken the one step as its input for the T steps. */
  repeated: boolean;
}
