// fsnn.nn.utils: helpers around training (as torch.nn.utils).
export { clipGradNorm_, clipGradValue_, gradNorm } from './clip-grad';
export type { ClipGradNormOptions, GradSource } from './clip-grad';
