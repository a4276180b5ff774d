// Layers. Every layer takes time-major input [T, B, ...] and folds T into the batch where it must;
// they also accept plain batches without a time axis.
import { full, rand } from '../creation';
import { runKernel } from '../kernels/run-kernel';
import * as F from '../ops/nn';
import { reshape, flatten } from '../ops/layout';
import { intPair } from '../shape';
import { Tensor } from '../tensor';
import { Module } from './module';
import { Parameter } from './parameter';

/** U(-bound, bound) as a Parameter (PyTorch's default init for Linear/Conv: bound = 1/sqrt(fan_in)). */
function uniformParameter(shape: number[], bound: number): Parameter {
  const u = rand(shape);
  const t = new Tensor(runKernel('unary', [u.handle], { op: 'affine', p0: 2 * bound, p1: -bound }));
  u.dispose();
  return new Parameter(t);
}

function checkPositiveInt(v: number, what: string, layer: string): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${layer}: ${what} must be a positive integer, got ${v}`);
}

/**
 * Layers run one after another: the output of each is the input of the next (as torch.nn.Sequential).
 * Children are named "0", "1", ... in the state dict.
 */
export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TypeError(`Sequential: argument ${i} is not a Module`);
      this.registerModule(String(i), m);
    });
  }
  /** Number of layers. */
  get length(): number {
    return this._modules.size;
  }
  /** Layer `i` (from 0); an error names the count when there is no such layer. */
  at(i: number): Module {
    const m = this._modules.get(String(i));
    if (!m) throw new Error(`Sequential: no layer ${i} (it has ${this.length})`);
    return m;
  }
  /** Runs the layers in order. */
  forward(x: unknown): unknown {
    let out = x;
    for (const m of this._modules.values()) out = m.forward(out);
    return out;
  }
}

/** y = x W^T + b over the last dim; weight [out, in]. */
export class Linear extends Module {
  /** Weight [out, in], initialised uniform in ±1/sqrt(in) (PyTorch's default). */
  weight: Parameter;
  /** Bias [out], or null when built with { bias: false }. */
  bias: Parameter | null;
  /**
   * @param inFeatures Input features (the last dimension of x).
   * @param outFeatures Output features.
   * @param opts `bias: false` for a layer without bias.
   */
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    checkPositiveInt(inFeatures, 'inFeatures', 'Linear');
    checkPositiveInt(outFeatures, 'outFeatures', 'Linear');
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = uniformParameter([outFeatures, inFeatures], bound);
    this.bias = opts.bias === false ? null : uniformParameter([outFeatures], bound);
  }
  /** x [..., in] -> x W^T + b [..., out]. */
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** Folds [T, B, C, H, W] into [T*B, C, H, W] for 2-D ops, and back. */
function over2d(x: Tensor, layer: string, fn: (x4: Tensor) => Tensor): Tensor {
  if (x.ndim === 4) return fn(x);
  if (x.ndim !== 5) throw new Error(`${layer}: expected [T, B, C, H, W] (or [N, C, H, W]), got [${x.shape}]`);
  const [T, B] = x.shape;
  const y = fn(reshape(x, [T * B, ...x.shape.slice(2)]));
  return reshape(y, [T, B, ...y.shape.slice(1)]);
}

/** 2-D convolution (cross-correlation, as torch.nn.Conv2d) over [N, C, H, W] or time-major [T, B, C, H, W]. */
export class Conv2d extends Module {
  /** Weight [out, in / groups, kh, kw]. */
  weight: Parameter;
  /** Bias [out], or null with { bias: false }. */
  bias: Parameter | null;
  /** Stride, padding, dilation and groups as given. */
  readonly options: F.Conv2dOptions;
  /**
   * @param inChannels Input channels.
   * @param outChannels Output channels.
   * @param kernelSize Kernel size: one number or [kh, kw].
   * @param opts Stride, padding, dilation, groups, and `bias: false` for no bias.
   */
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | [number, number],
    opts: F.Conv2dOptions & { bias?: boolean } = {}) {
    super();
    checkPositiveInt(inChannels, 'inChannels', 'Conv2d');
    checkPositiveInt(outChannels, 'outChannels', 'Conv2d');
    const [kh, kw] = intPair(kernelSize, 1, 'kernelSize', 'Conv2d', 1);
    const groups = opts.groups ?? 1;
    checkPositiveInt(groups, 'groups', 'Conv2d');
    if (inChannels % groups || outChannels % groups) throw new Error(`Conv2d: groups = ${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    F.convArgs(opts, 'Conv2d'); // stride, padding and dilation are checked here, not at the first forward
    const bound = 1 / Math.sqrt((inChannels / groups) * kh * kw);
    this.weight = uniformParameter([outChannels, inChannels / groups, kh, kw], bound);
    this.bias = opts.bias === false ? null : uniformParameter([outChannels], bound);
    this.options = { stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups };
  }
  /** The convolution of x (4-d, or 5-d time-major folded into the batch). */
  forward(x: Tensor): Tensor {
    return over2d(x, 'Conv2d', (x4) => F.conv2d(x4, this.weight, this.bias, this.options));
  }
}

/** Max pooling over [N, C, H, W] or time-major [T, B, C, H, W] (as torch.nn.MaxPool2d). */
export class MaxPool2d extends Module {
  /**
   * @param kernelSize Window size: one number or [h, w].
   * @param options Stride (default: the window), padding, ceilMode.
   */
  constructor(readonly kernelSize: number | [number, number], readonly options: F.Pool2dOptions = {}) {
    super();
    F.poolArgs(kernelSize, options, 'MaxPool2d');
  }
  /** The pooled x. */
  forward(x: Tensor): Tensor {
    return over2d(x, 'MaxPool2d', (x4) => F.maxPool2d(x4, this.kernelSize, this.options));
  }
}

/** Average pooling over [N, C, H, W] or time-major [T, B, C, H, W] (as torch.nn.AvgPool2d). */
export class AvgPool2d extends Module {
  /**
   * @param kernelSize Window size: one number or [h, w].
   * @param options Stride (default: the window), padding, ceilMode, countIncludePad.
   */
  constructor(readonly kernelSize: number | [number, number], readonly options: F.Pool2dOptions = {}) {
    super();
    F.poolArgs(kernelSize, options, 'AvgPool2d');
  }
  /** The pooled x. */
  forward(x: Tensor): Tensor {
    return over2d(x, 'AvgPool2d', (x4) => F.avgPool2d(x4, this.kernelSize, this.options));
  }
}

/** Flattens everything after the time and batch dims: [T, B, ...] -> [T, B, prod(...)]. */
export class Flatten extends Module {
  /**
   * @param startDim First dimension flattened (default 2: after time and batch).
   * @param endDim Last dimension flattened (default -1).
   */
  constructor(readonly startDim = 2, readonly endDim = -1) {
    super();
    // Dims 0 and 1 are time and batch: flattening them would mix time steps or samples.
    if (!Number.isSafeInteger(startDim) || startDim < 2)
      throw new Error(`Flatten: startDim = ${startDim} must be an integer >= 2 (dims 0 and 1 of [T, B, ...] are time and batch); ` +
        'use Flatten() to flatten every feature dim');
    if (!Number.isSafeInteger(endDim) || (endDim !== -1 && endDim < startDim))
      throw new Error(`Flatten: endDim = ${endDim} must be -1 (the last dim) or an integer >= startDim (${startDim})`);
  }
  /** x with dimensions startDim..endDim merged into one. */
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/** Returns its input unchanged (a placeholder layer). */
export class Identity extends Module {
  /** x itself. */
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** In training mode zeroes each element with probability p and scales the rest by 1/(1-p); in eval mode returns x. */
export class Dropout extends Module {
  /** @param p Probability of zeroing an element (default 0.5). */
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p = ${p} must lie in [0, 1)`);
  }
  /** x with dropout applied in training mode. */
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

/**
 * Batch normalisation. On time-major input the statistics are taken over T·B (and the spatial dims)
 * jointly; spikeDE normalises each time step separately. Running statistics follow PyTorch.
 */
abstract class BatchNormBase extends Module {
  /** Scale gamma [numFeatures] (null when affine is false). */
  weight: Parameter | null;
  /** Shift beta [numFeatures] (null when affine is false). */
  bias: Parameter | null;
  /**
   * @param numFeatures Channels C.
   * @param opts eps (default 1e-5), momentum (0.1), affine (true: learn a scale and a shift), trackRunningStats
   * (true: keep running mean and variance for eval mode), as in PyTorch.
   */
  constructor(readonly numFeatures: number, readonly opts: {
    /** Added to the variance (default 1e-5). */
    eps?: number;
    /** Weight of the new batch in the running statistics (default 0.1). */
    momentum?: number;
    /** Learn a scale and a shift (default true). */
    affine?: boolean;
    /** Keep running mean and variance for eval mode (default true). */
    trackRunningStats?: boolean;
  } = {}) {
    super();
    checkPositiveInt(numFeatures, 'numFeatures', 'BatchNorm');
    const affine = opts.affine ?? true;
    this.weight = affine ? new Parameter(full([numFeatures], 1)) : null;
    this.bias = affine ? new Parameter(full([numFeatures], 0)) : null;
    if (opts.trackRunningStats ?? true) {
      this.registerBuffer('runningMean', full([numFeatures], 0));
      this.registerBuffer('runningVar', full([numFeatures], 1));
    }
  }
  /** Normalises a 2-d [N, C] or 4-d [N, C, H, W] input. */
  protected run(x: Tensor): Tensor {
    return F.batchNorm(x, {
      runningMean: this._buffers.get('runningMean') ?? null,
      runningVar: this._buffers.get('runningVar') ?? null,
      weight: this.weight,
      bias: this.bias,
      training: this.training || !this._buffers.has('runningMean'),
      momentum: this.opts.momentum ?? 0.1,
      eps: this.opts.eps ?? 1e-5,
    });
  }
}

/** BatchNorm1d over time-major [T, B, C] or [T, B, C, L] (and a plain batch [N, C]). */
export class BatchNorm1d extends BatchNormBase {
  /** Normalises each channel over the batch (and time and length). */
  forward(x: Tensor): Tensor {
    if (x.ndim === 2) return this.run(x);
    if (x.ndim === 3 || x.ndim === 4) {
      const [T, B] = x.shape;
      return reshape(this.run(reshape(x, [T * B, ...x.shape.slice(2)])), x.shape.slice());
    }
    throw new Error(`BatchNorm1d: expected [T, B, C] or [T, B, C, L], got [${x.shape}]`);
  }
}

/** BatchNorm2d over [T, B, C, H, W] (and [N, C, H, W]). */
export class BatchNorm2d extends BatchNormBase {
  /** Normalises each channel over the batch (and time and space). */
  forward(x: Tensor): Tensor {
    return over2d(x, 'BatchNorm2d', (x4) => this.run(x4));
  }
}
