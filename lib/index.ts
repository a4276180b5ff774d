// fractional-snn: fractional-order spiking neural networks in TypeScript.
import './ops/methods';

export { Tensor, getDefaultDevice, setDefaultDevice } from './tensor';
export type { Device, NestedArray } from './tensor';
export { tensor, intTensor, zeros, ones, full, zerosLike, onesLike, arange, rand, randn, bernoulli, uniform } from './creation';
export type { CreateOptions } from './creation';
export { tidy, keep, dispose } from './memory';
export { noGrad, isGradEnabled } from './autograd/grad-mode';
export { manualSeed, getRngState, setRngState } from './random/generator';
export * as ops from './ops';
export * as cuda from './cuda';
export * as nn from './nn';
export * as metrics from './metrics';
export { LIFNeuron, IFNeuron, BaseNeuron } from './snn/neurons';
export type { NeuronOptions } from './snn/neurons';
export { SNNWrapper } from './snn/wrapper';
export type { SNNWrapperOptions, ForwardOptions } from './snn/wrapper';
export { parseAlphaConfig } from './snn/alpha-config';
export * as fractional from './fractional';
export { native } from './native';
