// fsnn.optim: optimizers (SGD, Adam, AdamW) and learning-rate schedulers, with PyTorch's semantics.
export { Optimizer, mergeOptions } from './optimizer';
export type { OptimizerOptions, ParamGroup, ParamGroupInput, ParamsInput, ParamState, StateDictEntry, OptimizerStateDict, StateSpec } from './optimizer';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam } from './adam';
export type { AdamOptions } from './adam';
export { AdamW } from './adamw';
export type { AdamWOptions } from './adamw';
export { LRScheduler, StepLR, CosineAnnealingLR } from './lr-scheduler';
export type { LRSchedulerStateDict, StepLROptions, CosineAnnealingLROptions } from './lr-scheduler';
