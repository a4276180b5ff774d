// fsnn.fractional: the kernel module (its K_L formulas live once, natively: native/fractional_kernel.h),
// the neuron op, and a float64 reference solver for linear problems.
export { buildKernel, chainKernelGradient, applyKernel } from './kernel';
export type { FractionalKernel, FractionalMethod } from './kernel';
export { fractionalNeuron, SURROGATES, HISTORIES } from './op';
export type { FractionalHistory, FractionalNeuronOptions, FractionalNeuronResult, NeuronKind, SurrogateName } from './op';
export { solveLinear } from './reference';
export type { LinearProblem } from './reference';
