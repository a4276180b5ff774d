// Declarations of the native addon (native/binding.cc). Only lib/ calls these directly, and ops go
// through lib/kernels/run-kernel.ts. The kernel types between the "generated kernels" markers come
// from native/kernels.def (npm run gen:kernels); the rest is written by hand.
export interface NativeHandle {
  readonly shape: number[];
  readonly device: 'cpu' | 'cuda';
  readonly dtype: 'float32' | 'int32';
  readonly disposed: boolean;
  readonly byteSize: number;
  /** Whether another native tensor (a view, a recorded program, work in flight) holds the same storage. */
  readonly sharesStorage: boolean;
  dispose(): void;
  toFloat32Array(): Float32Array;
  toInt32Array(): Int32Array;
  readAsync(): Promise<Float32Array | Int32Array>;
}

export interface FractionalNativeParams {
  kind: 'lif' | 'if';
  tau: number;
  threshold: number;
  surrogate: 'arctan' | 'sigmoid' | 'piecewise_linear' | 'gaussian';
  scale: number;
  memory: number;
  /** 'exact' | 'fast' | 'auto' (default 'auto'): the forward's history, given to the backward too. */
  history?: 'exact' | 'fast' | 'auto';
  /** > 0: the current is one step [1, ...] that holds for this many steps (a static input); given to the backward too. */
  steps?: number;
}
/** Which parameter gradients native fractionalBackward chains (see there). */
export interface FractionalGradRequest {
  alpha: boolean; weight: boolean; tauScale?: number | null; pairs?: boolean;
  /** I is the current of the forward this backward follows, which found it finite: no second scan. */
  inputChecked?: boolean;
  /**
   * I = x W^T + b is a linear layer's output over its last dim F, and this is x as rows [M, K] (M F = I's
   * numel): the layer's weight and bias gradients come back (gLinearWeight [F, K], gLinearBias [F]) in place
   * of gI, folded into the neuron's own pass where the device can (native/fractional_op.h).
   */
  linearInput?: NativeHandle | null;
}
export interface FractionalNativeGrads {
  /** dL/dI; null when linearInput was given. */
  gI: NativeHandle | null; gAlpha: NativeHandle | null; gWeight: NativeHandle | null; gTau: NativeHandle | null;
  gLinearWeight?: NativeHandle; gLinearBias?: NativeHandle;
  gK?: NativeHandle; gTauPair?: NativeHandle;
}

/** One recorded kernel call of an inference program: slots index the program's values (see compileProgram). */
export interface ProgramStep {
  kernel: KernelName;
  /** Input slots (null for an absent optional input). */
  inputs: (number | null)[];
  attrs: object;
  /** Output slots (null for an output nobody uses). */
  outputs: (number | null)[];
}
/** An inference program: slot 0 is the input, slots 1..constants.length the captured tensors. */
export interface ProgramDesc {
  steps: ProgramStep[];
  constants: NativeHandle[];
  inputShape: number[];
  device: 'cpu' | 'cuda';
  slots: number;
  output: number;
}
/** A compiled program (opaque). */
export type NativeProgram = { readonly __nativeProgram: unique symbol };

export interface NativeAddon {
  TensorHandle: Function;
  /** Runs the kernel `name` of native/kernels.def; attrs are read by field name (see the Kernels map). */
  runKernel<N extends KernelName>(name: N, inputs: Kernels[N]['inputs'], attrs?: Kernels[N]['attrs']): Kernels[N]['output'];
  /** Checks a recorded program and prepares it for replay (off the JavaScript thread: nothing in it refers to JavaScript). */
  compileProgram(desc: ProgramDesc): NativeProgram;
  replay(program: NativeProgram, x: NativeHandle): NativeHandle;
  /** replay() on the libuv thread pool. */
  replayAsync(program: NativeProgram, x: NativeHandle): Promise<NativeHandle>;
  /** Per handle, how many in-place writes its storage has had (copy_, fill_, add_, optimizer steps). */
  storageVersions(handles: NativeHandle[]): Float64Array;
  fromFloat32(data: Float32Array, shape: number[], device: string): NativeHandle;
  fromInt32(data: Int32Array, shape: number[], device: string): NativeHandle;

  // ---- the fractional op's backward and the kernel module (native/binding.cc FractionalBackward,
  // FractionalKernelTables); the forward is the kernel fractionalForward ----
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
  /** The fast (sum-of-exponentials) history's size for T steps: near window L0, states Q, range Lmax. */
  fractionalFastInfo(method: string, alphas: Float64Array, weights: Float64Array, h: number, T: number): { L0: number; Q: number; Lmax: number };

  /** Resizes the CPU thread pool (and OpenBLAS); returns the count in force. */
  setNumThreads(n: number): number;
  info(): { threads: number; blas: 'openblas' | 'builtin'; openblas: boolean; avx2: boolean; avx512: boolean; cpu: string; cudaCompiled: boolean };
  liveBytes(device: string): number;
  cpuMemoryStats(): { allocatedBytes: number; cachedBytes: number; peakAllocatedBytes: number };
  measurePeakGflops(threads: number, seconds: number): number;
  cudaIsAvailable(): boolean;
  cudaCompiled(): boolean;
  cudaDeviceCount(): number;
  cudaDeviceName(index?: number): string;
  cudaUnavailableReason(): string;
  cudaSelfTest(): string;
  cublasStatus(): string;
}

// ---- generated kernels (scripts/gen-kernels.js from native/kernels.def; do not edit by hand) ----
export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'relu' | 'sigmoid' | 'tanh' | 'pow' | 'clamp' | 'inRange' | 'sign' | 'affine' | 'reciprocal' | 'square';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';
export type RandomKind = 'uniform' | 'normal' | 'bernoulli';
export type SpikePath = 'auto' | 'sparse' | 'dense';
export type Device = 'cpu' | 'cuda';
export type NeuronKind = 'lif' | 'if';
export type FractionalMethod = 'l1' | 'gl' | 'euler' | 'pred' | 'trap';
export type FractionalHistory = 'exact' | 'fast' | 'auto';
export type Surrogate = 'arctan' | 'sigmoid' | 'piecewise_linear' | 'gaussian';

export interface FullAttrs { shape: number[]; value?: number; device: Device }
export interface ReshapeAttrs { shape: number[] }
export interface CloneAttrs { }
export interface ToAttrs { device: Device }
export interface CopyAttrs { }
export interface FillAttrs { value: number }
export interface AxpyAttrs { alpha?: number }
export interface UnaryAttrs { op: UnaryOp; p0?: number; p1?: number }
export interface BinaryAttrs { op: BinaryOp }
export interface WhereAttrs { }
export interface ReduceAttrs { op: ReduceOp; dims?: number[]; keepdim?: boolean }
export interface ReduceWithIndicesAttrs { op: ReduceOp; dims?: number[]; keepdim?: boolean }
export interface MatmulAttrs { transA?: boolean; transB?: boolean }
export interface SpikeMatmulAttrs { path?: SpikePath }
export interface SpikeMatmulWeightGradAttrs { path?: SpikePath }
export interface LinearAttrs { }
export interface LinearWeightBiasGradAttrs { }
export interface PermuteAttrs { perm: number[] }
export interface SliceAttrs { dim: number; start?: number; end: number; step?: number }
export interface SliceBackwardAttrs { inputShape: number[]; dim: number; start?: number; end: number; step?: number }
export interface ConcatAttrs { dim?: number }
export interface IndexSelectAttrs { dim: number; index: Int32Array }
export interface IndexAddAttrs { shape: number[]; dim: number; index: Int32Array }
export interface GatherAttrs { dim: number; index: Int32Array; indexShape: number[] }
export interface ScatterAddAttrs { shape: number[]; dim: number; index: Int32Array; indexShape: number[] }
export interface SoftmaxAttrs { dim: number; log?: boolean }
export interface Conv2dAttrs { strideH?: number; strideW?: number; padH?: number; padW?: number; dilH?: number; dilW?: number; groups?: number }
export interface Conv2dBackwardInputAttrs { inputShape: number[]; strideH?: number; strideW?: number; padH?: number; padW?: number; dilH?: number; dilW?: number; groups?: number }
export interface Conv2dBackwardWeightAttrs { weightShape: number[]; strideH?: number; strideW?: number; padH?: number; padW?: number; dilH?: number; dilW?: number; groups?: number }
export interface MaxPool2dAttrs { kH: number; kW: number; strideH: number; strideW: number; padH?: number; padW?: number; ceilMode?: boolean }
export interface MaxPool2dBackwardAttrs { inputShape: number[]; kH: number; kW: number; strideH: number; strideW: number; padH?: number; padW?: number; ceilMode?: boolean }
export interface AvgPool2dAttrs { kH: number; kW: number; strideH: number; strideW: number; padH?: number; padW?: number; ceilMode?: boolean; countIncludePad?: boolean }
export interface AvgPool2dBackwardAttrs { inputShape: number[]; kH: number; kW: number; strideH: number; strideW: number; padH?: number; padW?: number; ceilMode?: boolean; countIncludePad?: boolean }
export interface RandomAttrs { kind: RandomKind; shape: number[]; seed: number; offset?: number; p?: number; device: Device }
export interface BernoulliStepsAttrs { steps: number; seed: number; offset?: number }
export interface FractionalForwardAttrs { method?: FractionalMethod; alphas: Float64Array; weights: Float64Array; h?: number; kind?: NeuronKind; tau?: number; threshold?: number; surrogate?: Surrogate; scale?: number; memory?: number; saveTrace?: boolean; history?: FractionalHistory; steps?: number }
export interface AdamStepAttrs { lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; decoupled?: boolean; amsgrad?: boolean; maximize?: boolean; step: number }
export interface SgdStepAttrs { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean; firstStep?: boolean; maximize?: boolean }

/** Per kernel: its inputs (tensor handles; null for an absent optional input), attributes and result. */
export interface Kernels {
  full: { inputs: []; attrs: FullAttrs; output: NativeHandle };
  reshape: { inputs: [x: NativeHandle]; attrs: ReshapeAttrs; output: NativeHandle };
  clone: { inputs: [x: NativeHandle]; attrs: CloneAttrs; output: NativeHandle };
  to: { inputs: [x: NativeHandle]; attrs: ToAttrs; output: NativeHandle };
  copy: { inputs: [dst: NativeHandle, src: NativeHandle]; attrs: CopyAttrs; output: void };
  fill: { inputs: [dst: NativeHandle]; attrs: FillAttrs; output: void };
  axpy: { inputs: [out: NativeHandle, x: NativeHandle]; attrs: AxpyAttrs; output: void };
  unary: { inputs: [x: NativeHandle]; attrs: UnaryAttrs; output: NativeHandle };
  binary: { inputs: [a: NativeHandle, b: NativeHandle]; attrs: BinaryAttrs; output: NativeHandle };
  where: { inputs: [cond: NativeHandle, a: NativeHandle, b: NativeHandle]; attrs: WhereAttrs; output: NativeHandle };
  reduce: { inputs: [x: NativeHandle]; attrs: ReduceAttrs; output: NativeHandle };
  reduceWithIndices: { inputs: [x: NativeHandle]; attrs: ReduceWithIndicesAttrs; output: [NativeHandle, NativeHandle] };
  matmul: { inputs: [a: NativeHandle, b: NativeHandle]; attrs: MatmulAttrs; output: NativeHandle };
  spikeMatmul: { inputs: [x: NativeHandle, w: NativeHandle]; attrs: SpikeMatmulAttrs; output: NativeHandle };
  spikeMatmulWeightGrad: { inputs: [g: NativeHandle, x: NativeHandle]; attrs: SpikeMatmulWeightGradAttrs; output: NativeHandle };
  linear: { inputs: [x: NativeHandle, w: NativeHandle, bias: NativeHandle]; attrs: LinearAttrs; output: NativeHandle };
  linearWeightBiasGrad: { inputs: [g: NativeHandle, x: NativeHandle]; attrs: LinearWeightBiasGradAttrs; output: [NativeHandle, NativeHandle] };
  permute: { inputs: [x: NativeHandle]; attrs: PermuteAttrs; output: NativeHandle };
  slice: { inputs: [x: NativeHandle]; attrs: SliceAttrs; output: NativeHandle };
  sliceBackward: { inputs: [grad: NativeHandle]; attrs: SliceBackwardAttrs; output: NativeHandle };
  concat: { inputs: NativeHandle[]; attrs: ConcatAttrs; output: NativeHandle };
  indexSelect: { inputs: [x: NativeHandle]; attrs: IndexSelectAttrs; output: NativeHandle };
  indexAdd: { inputs: [src: NativeHandle]; attrs: IndexAddAttrs; output: NativeHandle };
  gather: { inputs: [x: NativeHandle]; attrs: GatherAttrs; output: NativeHandle };
  scatterAdd: { inputs: [src: NativeHandle]; attrs: ScatterAddAttrs; output: NativeHandle };
  softmax: { inputs: [x: NativeHandle]; attrs: SoftmaxAttrs; output: NativeHandle };
  conv2d: { inputs: [x: NativeHandle, weight: NativeHandle]; attrs: Conv2dAttrs; output: NativeHandle };
  conv2dBackwardInput: { inputs: [grad: NativeHandle, weight: NativeHandle]; attrs: Conv2dBackwardInputAttrs; output: NativeHandle };
  conv2dBackwardWeight: { inputs: [grad: NativeHandle, x: NativeHandle]; attrs: Conv2dBackwardWeightAttrs; output: NativeHandle };
  maxPool2d: { inputs: [x: NativeHandle]; attrs: MaxPool2dAttrs; output: [NativeHandle, NativeHandle] };
  maxPool2dBackward: { inputs: [grad: NativeHandle, indices: NativeHandle]; attrs: MaxPool2dBackwardAttrs; output: NativeHandle };
  avgPool2d: { inputs: [x: NativeHandle]; attrs: AvgPool2dAttrs; output: NativeHandle };
  avgPool2dBackward: { inputs: [grad: NativeHandle]; attrs: AvgPool2dBackwardAttrs; output: NativeHandle };
  random: { inputs: []; attrs: RandomAttrs; output: NativeHandle };
  bernoulliSteps: { inputs: [probs: NativeHandle]; attrs: BernoulliStepsAttrs; output: NativeHandle };
  fractionalForward: { inputs: [current: NativeHandle]; attrs: FractionalForwardAttrs; output: [NativeHandle, NativeHandle] };
  adamStep: { inputs: [param: NativeHandle, grad: NativeHandle, m: NativeHandle, v: NativeHandle, vmax: NativeHandle | null]; attrs: AdamStepAttrs; output: void };
  sgdStep: { inputs: [param: NativeHandle, grad: NativeHandle, momentumBuffer: NativeHandle | null]; attrs: SgdStepAttrs; output: void };
}
export type KernelName = keyof Kernels;
// ---- end of generated kernels ----
