// Neural-network ops: softmax family and losses, linear, conv2d, pooling, batch norm, dropout.
import type { Conv2dAttrs, MaxPool2dAttrs } from '../../types/native';
import { runKernel } from '../kernels/run-kernel';
import { needsGrad, record } from '../autograd/node';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { reserve } from '../random/generator';
import * as ew from './elementwise';
import { matmul, spikeMatmul } from './linalg';
import { isSpikes, spikesIf } from './spike-marks';
import { markLinearOutput } from './linear-marks';
import { gather, reshape } from './layout';
import { sumTo } from './broadcast';
import { mean, sum } from './reduce';
import { assertTensor, composite, mm, normalizeDim, wrap } from './util';
import { isInt32Array } from '../typed-arrays';
import { intPair } from '../shape';

/** Softmax along `dim` (default the last): e^x / sum e^x, computed with the maximum subtracted. */
export function softmax(x: Tensor, dim = -1): Tensor {
  assertTensor(x, 'softmax');
  const d = normalizeDim(dim, x.ndim, 'softmax');
  const y = wrap(runKernel('softmax', [x.handle], { dim: d }));
  // dx = y * (g - sum(g * y, dim))
  return record(y, 'softmax', [x], (g) => {
    const gy = wrap(runKernel('binary', [g.handle, y.handle], { op: 'mul' }));
    const s = wrap(runKernel('reduce', [gy.handle], { op: 'sum', dims: [d], keepdim: true }));
    const centered = wrap(runKernel('binary', [g.handle, s.handle], { op: 'sub' }));
    return [wrap(runKernel('binary', [y.handle, centered.handle], { op: 'mul' }))];
  });
}

/** log(softmax(x)) along `dim`, computed stably. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  assertTensor(x, 'logSoftmax');
  const d = normalizeDim(dim, x.ndim, 'logSoftmax');
  const y = wrap(runKernel('softmax', [x.handle], { dim: d, log: true }));
  // dx = g - softmax(x) * sum(g, dim)
  return record(y, 'logSoftmax', [x], (g) => {
    const s = wrap(runKernel('reduce', [g.handle], { op: 'sum', dims: [d], keepdim: true }));
    const p = wrap(runKernel('unary', [y.handle], { op: 'exp' }));
    const ps = wrap(runKernel('binary', [p.handle, s.handle], { op: 'mul' }));
    return [wrap(runKernel('binary', [g.handle, ps.handle], { op: 'sub' }))];
  });
}

/** How a loss combines the per-sample values: 'mean' (default), 'sum', or 'none' (one value per sample). */
export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(r: string, op: string): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${op}: reduction '${r}' is unknown; use 'mean', 'sum' or 'none'`);
  return r;
}

function reduceLoss(losses: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? losses : reduction === 'sum' ? sum(losses) : mean(losses);
}

/** Negative log-likelihood of log-probabilities logp [N, C] at integer labels (Int32Array of length N). */
export function nllLoss(logp: Tensor, labels: Int32Array, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction(opts.reduction ?? 'mean', 'nllLoss');
  checkLabels(logp, labels, 'nllLoss');
  return composite([logp], () => {
    const picked = gather(logp, 1, labels, [labels.length, 1]);
    return reduceLoss(ew.neg(reshape(picked, [labels.length])), reduction);
  });
}

function checkLabels(logits: Tensor, labels: unknown, op: string): void {
  assertTensor(logits, op, 'logits');
  if (logits.ndim !== 2) throw new Error(`${op}: logits must be [N, C], got [${logits.shape}]; reshape time-major outputs (e.g. average over T first)`);
  if (!isInt32Array(labels))
    throw new TypeError(`${op}: labels must be an Int32Array of class indices, got ${labels?.constructor?.name ?? typeof labels}; convert with Int32Array.from(labels)`);
  const [N, C] = logits.shape;
  if (labels.length !== N) throw new Error(`${op}: got ${labels.length} labels for ${N} rows of logits [${logits.shape}]; give one label per row`);
  for (let i = 0; i < labels.length; i++)
    if (labels[i] < 0 || labels[i] >= C)
      throw new Error(`${op}: label ${labels[i]} at position ${i} is out of range for ${C} classes; labels must lie in [0, ${C})`);
}

/** Cross-entropy of raw logits [N, C] against Int32Array labels (log-softmax + NLL, numerically stable). */
export function crossEntropy(logits: Tensor, labels: Int32Array, opts: { reduction?: Reduction } = {}): Tensor {
  checkLabels(logits, labels, 'crossEntropy');
  return composite([logits], () => nllLoss(logSoftmax(logits, 1), labels, opts));
}

/** Mean squared error (reduction 'mean', 'sum' or 'none', as torch.nn.functional.mse_loss). */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  assertTensor(input, 'mseLoss');
  assertTensor(target, 'mseLoss', 'target');
  if (input.shape.join(',') !== target.shape.join(','))
    throw new Error(`mseLoss: input [${input.shape}] and target [${target.shape}] must have the same shape`);
  const reduction = checkReduction(opts.reduction ?? 'mean', 'mseLoss');
  return composite([input, target], () => reduceLoss(ew.square(ew.sub(input, target)), reduction));
}

/**
 * y = x W^T + b over the last dim of x (any leading dims). A spike input (a neuron's output, its views
 * and max-pools: lib/ops/spike-marks.ts) goes through spikeMatmul, which sums over its active inputs
 * when the firing rate makes that faster (same result up to float summation order).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  assertTensor(x, 'linear');
  const inF = weight.shape[1];
  if (x.shape[x.ndim - 1] !== inF)
    throw new Error(`linear: input [${x.shape}] has ${x.shape[x.ndim - 1]} features but the weight [${weight.shape}] expects ${inF}`);
  const lead = x.shape.slice(0, -1);
  return composite([x, weight, bias], () => {
    const x2 = x.ndim === 2 ? x : reshape(x, [-1, inF]);
    let y: Tensor;
    const oneNode = !isSpikes(x2) && !!bias && bias.ndim === 1 && bias.shape[0] === weight.shape[0];
    if (oneNode) {
      y = denseLinear(x2, weight, bias!);
    } else {
      y = isSpikes(x2) ? spikeMatmul(x2, weight) : matmul(x2, weight, { transB: true });
      if (bias) y = ew.add(y, bias);
    }
    const out = x.ndim === 2 ? y : reshape(y, [...lead, weight.shape[0]]);
    // A neuron fed by this output may fold the weight and bias gradients into its backward (linear-marks.ts).
    return oneNode && out.requiresGrad ? markLinearOutput(out, { x: x2, weight, bias: bias! }) : out;
  });
}

/**
 * x [M, K] W^T + b as one kernel and one autograd node. On the CPU with few input features (K <= 16) the
 * output is written in one pass ('linear': the bias added to each rounded product), and the weight and bias
 * gradients come from one pass over the output gradient (linearWeightBiasGrad, K <= 4), where the product
 * and the add, or the product and the bias's column sum, would each stream all of it.
 */
function denseLinear(x2: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const y = wrap(runKernel('linear', [x2.handle, weight.handle, bias.handle], {}));
  return record(y, 'linear', [x2, weight, bias], (g) => {
    const gx = x2.requiresGrad ? mm(g, weight, false, false) : null;
    if (weight.requiresGrad && bias.requiresGrad) {
      const [gw, gb] = runKernel('linearWeightBiasGrad', [g.handle, x2.handle], {});
      return [gx, wrap(gw), wrap(gb)];
    }
    const gw = weight.requiresGrad ? mm(g, x2, true, false) : null;
    return [gx, gw, bias.requiresGrad ? sumTo(g, bias.shape) : null];
  });
}

/** Options of conv2d (as torch.nn.functional.conv2d). */
export interface Conv2dOptions {
  /** Step of the window (default 1). */
  stride?: number | [number, number];
  /** Zeros added on each side (default 0). */
  padding?: number | [number, number];
  /** Spacing of the kernel elements (default 1). */
  dilation?: number | [number, number];
  /** Channel groups convolved separately (default 1). */
  groups?: number;
}

/** Checked conv2d kernel attributes (integer stride, dilation, groups >= 1, padding >= 0). @internal */
export function convArgs(opts: Conv2dOptions, op: string): Conv2dAttrs {
  const [sh, sw] = intPair(opts.stride, 1, 'stride', op, 1), [ph, pw] = intPair(opts.padding, 0, 'padding', op, 0);
  const [dh, dw] = intPair(opts.dilation, 1, 'dilation', op, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isSafeInteger(groups) || groups < 1) throw new Error(`${op}: groups must be an integer >= 1, got ${groups}`);
  return { strideH: sh, strideW: sw, padH: ph, padW: pw, dilH: dh, dilW: dw, groups };
}

/** 2-D convolution of x [N, C, H, W] with weight [O, C / groups, kh, kw] and an optional bias [O]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  assertTensor(x, 'conv2d');
  const args = convArgs(opts, 'conv2d');
  return composite([x, weight, bias], () => {
    const out = wrap(runKernel('conv2d', [x.handle, weight.handle], args));
    const y = record(out, 'conv2d', [x, weight], (g) => [
      x.requiresGrad ? wrap(runKernel('conv2dBackwardInput', [g.handle, weight.handle], { ...args, inputShape: x.shape.slice() })) : null,
      weight.requiresGrad ? wrap(runKernel('conv2dBackwardWeight', [g.handle, x.handle], { ...args, weightShape: weight.shape.slice() })) : null,
    ]);
    return bias ? ew.add(y, reshape(bias, [1, -1, 1, 1])) : y;
  });
}

/** Options of maxPool2d / avgPool2d (as PyTorch). */
export interface Pool2dOptions {
  /** Step of the window (default: the kernel size). */
  stride?: number | [number, number];
  /** Padding on each side (default 0). */
  padding?: number | [number, number];
  /** Round the output size up instead of down (default false). */
  ceilMode?: boolean;
  /** avgPool2d: count padded zeros in the mean (default true). */
  countIncludePad?: boolean;
}
/** Checked pooling kernel attributes (integer kernel >= 1, stride >= 1, padding >= 0). @internal */
export function poolArgs(kernel: number | [number, number], opts: Pool2dOptions, op = 'pool2d'): MaxPool2dAttrs & { countIncludePad: boolean } {
  const [kh, kw] = intPair(kernel, 2, 'kernel size', op, 1);
  const [sh, sw] = intPair(opts.stride ?? [kh, kw], 1, 'stride', op, 1);
  const [ph, pw] = intPair(opts.padding, 0, 'padding', op, 0);
  return { kH: kh, kW: kw, strideH: sh, strideW: sw, padH: ph, padW: pw, ceilMode: !!opts.ceilMode, countIncludePad: opts.countIncludePad ?? true };
}

/** Max pooling of x [N, C, H, W]. */
export function maxPool2d(x: Tensor, kernel: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  assertTensor(x, 'maxPool2d');
  const args = poolArgs(kernel, opts, 'maxPool2d');
  const [out, idx] = runKernel('maxPool2d', [x.handle], args);
  const indices = wrap(idx);
  // The argmax positions are needed only by the backward rule.
  if (!needsGrad([x])) {
    indices.dispose();
    return spikesIf(x, wrap(out));
  }
  return record(spikesIf(x, wrap(out)), 'maxPool2d', [x], (g) => [wrap(runKernel('maxPool2dBackward', [g.handle, indices.handle], { ...args, inputShape: x.shape.slice() }))]);
}

/** Average pooling of x [N, C, H, W]. */
export function avgPool2d(x: Tensor, kernel: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  assertTensor(x, 'avgPool2d');
  const args = poolArgs(kernel, opts, 'avgPool2d');
  const out = wrap(runKernel('avgPool2d', [x.handle], args));
  return record(out, 'avgPool2d', [x], (g) => [wrap(runKernel('avgPool2dBackward', [g.handle], { ...args, inputShape: x.shape.slice() }))]);
}

/** Options of batchNorm (as torch.nn.functional.batch_norm). */
export interface BatchNormOptions {
  /** Running mean [C], updated in training mode and used in eval mode. */
  runningMean?: Tensor | null;
  /** Running variance [C] (unbiased), as runningMean. */
  runningVar?: Tensor | null;
  /** Scale gamma [C]. */
  weight?: Tensor | null;
  /** Shift beta [C]. */
  bias?: Tensor | null;
  /** Normalise with the batch statistics (true) or the running ones (false). */
  training: boolean;
  /** Weight of the batch in the running statistics (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalisation over channel dim 1 of x [N, C, ...]: statistics over every dim but 1.
 * Training normalises with the batch statistics (biased variance) and updates the running ones
 * (unbiased variance, as PyTorch); eval uses the running statistics.
 */
export function batchNorm(x: Tensor, opts: BatchNormOptions): Tensor {
  assertTensor(x, 'batchNorm');
  if (x.ndim < 2) throw new Error(`batchNorm: input must be [N, C, ...], got [${x.shape}]`);
  const C = x.shape[1];
  const eps = opts.eps ?? 1e-5, momentum = opts.momentum ?? 0.1;
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  return composite([x, opts.weight, opts.bias], () => batchNormBody(x, opts, C, eps, momentum, dims, bshape));
}

function batchNormBody(x: Tensor, opts: BatchNormOptions, C: number, eps: number, momentum: number, dims: number[], bshape: number[]): Tensor {
  let normed: Tensor;
  if (opts.training) {
    const n = dims.reduce((a, i) => a * x.shape[i], 1);
    if (n <= 1) throw new Error(`batchNorm: training needs more than one value per channel, got input [${x.shape}]`);
    const mu = mean(x, dims, true);
    const centered = ew.sub(x, mu);
    const varB = mean(ew.square(centered), dims, true);
    normed = ew.mul(centered, ew.pow(ew.add(varB, eps), -0.5));
    if (opts.runningMean && opts.runningVar) {
      const rm = opts.runningMean, rv = opts.runningVar;
      // The update's temporaries are not part of the graph: free them at once.
      tidy(() => {
        const scaled = (t: Tensor, s: number) => wrap(runKernel('unary', [t.handle], { op: 'affine', p0: s, p1: 0 }));
        const flat = (t: Tensor) => wrap(runKernel('reshape', [t.handle], { shape: [C] }));
        const blend = (running: Tensor, batch: Tensor) =>
          wrap(runKernel('binary', [scaled(running, 1 - momentum).handle, scaled(batch, momentum).handle], { op: 'add' }));
        // running = (1 - momentum) running + momentum batch (the variance unbiased: n / (n - 1))
        runKernel('copy', [rm.handle, blend(rm, flat(mu)).handle]);
        runKernel('copy', [rv.handle, blend(rv, scaled(flat(varB), n / (n - 1))).handle]);
      });
    }
  } else {
    if (!opts.runningMean || !opts.runningVar) throw new Error('batchNorm: eval mode needs runningMean and runningVar');
    normed = ew.mul(ew.sub(x, reshape(opts.runningMean, bshape)), ew.pow(ew.add(reshape(opts.runningVar, bshape), eps), -0.5));
  }
  if (opts.weight) normed = ew.mul(normed, reshape(opts.weight, bshape));
  if (opts.bias) normed = ew.add(normed, reshape(opts.bias, bshape));
  return normed;
}

/** Zeroes each element with probability p and scales the rest by 1/(1-p) (training only). */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p = ${p} must lie in [0, 1)`);
  if (!training || p === 0) return x;
  const { seed, offset } = reserve(x.numel);
  return composite([x], () => {
    const mask = wrap(runKernel('random', [], { kind: 'bernoulli', shape: x.shape.slice(), seed, offset, p: 1 - p, device: x.device }));
    return ew.mul(x, ew.mul(mask, 1 / (1 - p)));
  });
}

export { sumTo };
