// fsnn.training: the reusable training loop (fit) and its ready-made callbacks.
export { fit, NonFiniteLossError } from './fit';
export type { FitOptions, FitResult, FitBatch, FitContext, FitOptimizer, StepOutput, BatchInfo, EpochInfo, Callback } from './fit';
export { progressBar, epochLogger, modelCheckpoint } from './callbacks';
export type { ProgressBarOptions, ModelCheckpointOptions } from './callbacks';
