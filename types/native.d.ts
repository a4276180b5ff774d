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
/** Which parameter gradients native fractionalBackward chains (see there). */
export interface FractionalGradRequest { alpha: boolean; weight: boolean; tauScale?: number | null; pairs?: boolean }
export interface FractionalNativeGrads {
  gI: NativeHandle; gAlpha: NativeHandle | null; gWeight: NativeHandle | null; gTau: NativeHandle | null;
  gK?: NativeHandle; gTauPair?: NativeHandle;
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
  // ---- fractional op and kernel module (native/binding.cc FractionalForward / FractionalBackward /
  // FractionalKernelTables; kept together for the generated kernel table) ----
  /**
   * The neuron layer over all T = I.shape[0] steps. The kernel K_0..K_T of (method, alphas, weights, h) comes
   * from the native kernel module's cache (weights and alphas ignored for 'euler').
   */
  fractionalForward(I: NativeHandle, method: string, alphas: Float64Array, weights: Float64Array, h: number,
    params: FractionalNativeParams, saveTrace: boolean): { spikes: NativeHandle; v: NativeHandle | null };
  /**
   * The exact adjoint, with the chain to the parameters done natively next to dL/dK on I's device (no host
   * read): gAlpha / gWeight [terms] (null unless asked, and for 'euler'), gTau [1] = dL/dtau * tauScale (null
   * unless tauScale is given). With pairs: also dL/dK and dL/dtau as float32 pairs x = hi + lo (float64
   * precision to ~2^-48): gK [2, T + 1] (row 0 hi, row 1 lo), gTauPair [2] (tests, diagnostics).
   */
  fractionalBackward(I: NativeHandle, v: NativeHandle, spikes: NativeHandle, gS: NativeHandle, gV: NativeHandle | null,
    method: string, alphas: Float64Array, weights: Float64Array, h: number, params: FractionalNativeParams,
    want: FractionalGradRequest): FractionalNativeGrads;
  /** K_0..K_T and dK/dalpha_m, dK/dw_m (one Float64Array per term) of the kernel module, in float64. */
  fractionalKernel(method: string, alphas: Float64Array, weights: Float64Array, h: number, T: number):
    { method: string; K: Float64Array; dAlpha: Float64Array[]; dWeight: Float64Array[] };
  // ---- end of the fractional entries ----
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
