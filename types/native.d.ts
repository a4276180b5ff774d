// Declarations of the native addon (native/binding.cc). Only lib/ calls these directly.
export interface NativeHandle {
  readonly shape: number[];
  readonly device: 'cpu' | 'cuda';
  readonly dtype: 'float32' | 'int32';
  readonly disposed: boolean;
  readonly byteSize: number;
  dispose(): void;
  toFloat32Array(): Float32Array;
  toInt32Array(): Int32Array;
  readAsync(): Promise<Float32Array | Int32Array>;
}

export interface ConvArgs { strideH: number; strideW: number; padH: number; padW: number; dilH: number; dilW: number; groups: number }
export interface PoolArgs { kH: number; kW: number; strideH: number; strideW: number; padH: number; padW: number; countIncludePad?: boolean; ceilMode?: boolean }
export interface FractionalNativeParams {
  kind: 'lif' | 'if';
  tau: number;
  threshold: number;
  surrogate: 'arctan' | 'sigmoid' | 'piecewise_linear' | 'gaussian';
  scale: number;
  memory: number;
}
export interface AdamNativeParams { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean; amsgrad: boolean; maximize: boolean; step: number }
export interface SgdNativeParams { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; firstStep: boolean; maximize: boolean }

export interface NativeAddon {
  TensorHandle: Function;
  fromFloat32(data: Float32Array, shape: number[], device: string): NativeHandle;
  fromInt32(data: Int32Array, shape: number[], device: string): NativeHandle;
  empty(shape: number[], device: string): NativeHandle;
  full(shape: number[], value: number, device: string): NativeHandle;
  reshape(t: NativeHandle, shape: number[]): NativeHandle;
  clone(t: NativeHandle): NativeHandle;
  to(t: NativeHandle, device: string): NativeHandle;
  copy_(dst: NativeHandle, src: NativeHandle): void;
  fill_(t: NativeHandle, value: number): void;
  axpy_(out: NativeHandle, alpha: number, x: NativeHandle): void;
  unary(op: number, x: NativeHandle, p0?: number, p1?: number): NativeHandle;
  binary(op: number, a: NativeHandle, b: NativeHandle): NativeHandle;
  where(c: NativeHandle, a: NativeHandle, b: NativeHandle): NativeHandle;
  reduce(op: number, x: NativeHandle, dims: number[], keepdim: boolean, wantIndices: false): NativeHandle;
  reduce(op: number, x: NativeHandle, dims: number[], keepdim: boolean, wantIndices: true): [NativeHandle, NativeHandle];
  matmul(a: NativeHandle, b: NativeHandle, transA: boolean, transB: boolean): NativeHandle;
  permute(x: NativeHandle, perm: number[]): NativeHandle;
  slice(x: NativeHandle, dim: number, start: number, end: number, step: number): NativeHandle;
  sliceBackward(g: NativeHandle, shape: number[], dim: number, start: number, end: number, step: number): NativeHandle;
  concat(xs: NativeHandle[], dim: number): NativeHandle;
  indexSelect(x: NativeHandle, dim: number, idx: Int32Array): NativeHandle;
  indexAdd(shape: number[], dim: number, idx: Int32Array, src: NativeHandle): NativeHandle;
  gather(x: NativeHandle, dim: number, idx: Int32Array, ishape: number[]): NativeHandle;
  scatterAdd(shape: number[], dim: number, idx: Int32Array, ishape: number[], src: NativeHandle): NativeHandle;
  softmax(x: NativeHandle, dim: number, log: boolean): NativeHandle;
  conv2d(x: NativeHandle, w: NativeHandle, args: ConvArgs): NativeHandle;
  conv2dBackwardInput(g: NativeHandle, w: NativeHandle, xShape: number[], args: ConvArgs): NativeHandle;
  conv2dBackwardWeight(g: NativeHandle, x: NativeHandle, wShape: number[], args: ConvArgs): NativeHandle;
  maxPool2d(x: NativeHandle, args: PoolArgs): [NativeHandle, NativeHandle];
  maxPool2dBackward(g: NativeHandle, idx: NativeHandle, xShape: number[], args: PoolArgs): NativeHandle;
  avgPool2d(x: NativeHandle, args: PoolArgs): NativeHandle;
  avgPool2dBackward(g: NativeHandle, xShape: number[], args: PoolArgs): NativeHandle;
  random(kind: number, shape: number[], seed: number, offset: number, p: number, device: string): NativeHandle;
  fractionalForward(I: NativeHandle, K: Float64Array, params: FractionalNativeParams, saveTrace: boolean): { spikes: NativeHandle; v: NativeHandle | null };
  /**
   * dK and dtau stay on I's device as float32 pairs x = hi + lo (float64 precision to ~2^-48):
   * gK [2, T + 1] (row 0 hi, row 1 lo), gTau [2].
   */
  fractionalBackward(I: NativeHandle, v: NativeHandle, spikes: NativeHandle, gS: NativeHandle, gV: NativeHandle | null, K: Float64Array,
    params: FractionalNativeParams): { gI: NativeHandle; gK: NativeHandle; gTau: NativeHandle };
  runPlan(steps: PlanStep[], x: NativeHandle): NativeHandle;
  runPlanAsync(steps: PlanStep[], x: NativeHandle): Promise<NativeHandle>;
  adamStep(p: NativeHandle, g: NativeHandle, m: NativeHandle, v: NativeHandle, vmax: NativeHandle | null, params: AdamNativeParams): void;
  sgdStep(p: NativeHandle, g: NativeHandle, buf: NativeHandle | null, params: SgdNativeParams): void;
  /** Resizes the CPU thread pool (and OpenBLAS); returns the count in force. */
  setNumThreads(n: number): number;
  info(): { threads: number; blas: 'openblas' | 'builtin'; openblas: boolean; cpu: string; cudaCompiled: boolean };
  liveBytes(device: string): number;
  measurePeakGflops(threads: number, seconds: number): number;
  cudaIsAvailable(): boolean;
  cudaCompiled(): boolean;
  cudaDeviceCount(): number;
  cudaDeviceName(index?: number): string;
  cudaUnavailableReason(): string;
  cudaSelfTest(): string;
  cublasStatus(): string;
}

export type PlanStep =
  | { kind: 'linear'; weight: NativeHandle; bias: NativeHandle | null }
  | { kind: 'fractional'; K: Float64Array; params: FractionalNativeParams }
  | { kind: 'flatten'; startDim: number }
  | { kind: 'conv2d'; weight: NativeHandle; bias: NativeHandle | null; args: ConvArgs }
  | { kind: 'maxpool2d' | 'avgpool2d'; args: PoolArgs }
  | { kind: 'meanOverTime' };
