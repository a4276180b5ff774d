// A time-invariant input (direct encoding shows the same image at every step): the layers before the
// first neuron layer would compute the same thing T times, so SNNWrapper.forward(x, xTime,
// { staticInput: true }) runs them once on one step [1, B, ...] and the first neuron layer repeats its
// input current over the T steps (as SpikingJelly computes a static stem once):
//   forward   I_t = I                      for t = 1..T   ([1, B, ...] -> [T, B, ...])
//   backward  dL/dI = sum_t dL/dI_t                       (the backward of a broadcast over T)
// The repeat is a materialised copy, because the fractional op reads [T, B, ...]; one concatenation
// of T references is one copying pass (measured 2-2.5x faster than expand's zero fill + broadcast add).
import { noGrad } from '../autograd/grad-mode';
import { record } from '../autograd/node';
import { concat } from '../ops/layout';
import { sum } from '../ops/reduce';
import { Tensor } from '../tensor';

/** What SNNWrapper.forward puts in the neuron context for a static input (see ./neuron-context.ts). */
export interface StaticSteps {
  /** The number of time steps T the one-step input stands for. */
  readonly steps: number;
  /** Set by the first neuron layer that runs, once it has repeated its input current over the steps. */
  repeated: boolean;
}

/** I [1, B, ...] -> [T, B, ...], every step a copy of I; the gradient of I is the sum over the T steps. */
export function repeatOverTime(I: Tensor, T: number): Tensor {
  if (I.ndim < 1 || I.shape[0] !== 1) throw new Error(`repeatOverTime: the input must be one time step [1, B, ...], got [${I.shape}]`);
  if (!Number.isInteger(T) || T < 1) throw new Error(`repeatOverTime: T = ${T} must be a positive integer`);
  if (T === 1) return I;
  const out = noGrad(() => concat(new Array<Tensor>(T).fill(I), 0));
  return record(out, 'repeatOverTime', [I], (g) => [sum(g, 0, true)]);
}
