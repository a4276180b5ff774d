// Neural-network ops: softmax family and losses, linear, conv2d, pooling, batch norm, dropout.
import type { ConvArgs, PoolArgs } from '../../types/native';
import { native } from '../native';
import { needsGrad, record } from '../autograd/node';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { reserve } from '../random/generator';
import * as ew from './elementwise';
import { matmul } from './linalg';
import { reshape } from './layout';
import { mean, sum, sumTo } from './reduce';
import { assertTensor, composite, normalizeDim, wrap } from './util';
import { isInt32Array } from '../typed-arrays';
import { intPair } from '../shape';

/** Softmax along `dim` (default the last): e^x / sum e^x, computed with the maximum subtracted. */
export function softmax(x: Tensor, dim = -1): Tensor {
  assertTensor(x, 'softmax');
  const d = normalizeDim(dim, x.ndim, 'softmax');
  const y = wrap(native.softmax(x.handle, d, false));
  // dx = y * (g - sum(g * y, dim))
  return record(y, 'softmax', [x], (g) => {
    const gy = wrap(native.binary(2, g.handle, y.handle));
    const s = wrap(native.reduce(0, gy.handle, [d], true, false));
    return [wrap(native.binary(2, y.handle, wrap(native.binary(1, g.handle, s.handle)).handle))];
  });
}

/** log(softmax(x)) along `dim`, computed stably. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  assertTensor(x, 'logSoftmax');
  const d = normalizeDim(dim, x.ndim, 'logSoftmax');
  const y = wrap(native.softmax(x.handle, d, true));
  // dx = g - softmax(x) * sum(g, dim)
  return record(y, 'logSoftmax', [x], (g) => {
    const s = wrap(native.reduce(0, g.handle, [d], true, false));
    const p = wrap(native.unary(1, y.handle));
    return [wrap(native.binary(1, g.handle, wrap(native.binary(2, p.handle, s.handle)).handle))];
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
  const { gather } = require('./layout') as typeof import('./layout');
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

/** y = x W^T + b over the last dim of x (any leading dims). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  assertTensor(x, 'linear');
  const inF = weight.shape[1];
  if (x.shape[x.ndim - 1] !== inF)
    throw new Error(`linear: input [${x.shape}] has ${x.shape[x.ndim - 1]} features but the weight [${weight.shape}] expects ${inF}`);
  const lead = x.shape.slice(0, -1);
  return composite([x, weight, bias], () => {
    const x2 = x.ndim === 2 ? x : reshape(x, [-1, inF]);
    let y = matmul(x2, weight, { transB: true });
    if (bias) y = ew.add(y, bias);
    return x.ndim === 2 ? y : reshape(y, [...lead, weight.shape[0]]);
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

/** Checked native conv arguments (integer stride, dilation, groups >= 1, padding >= 0). @internal */
export function convArgs(opts: Conv2dOptions, op: string): ConvArgs {
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
    const out = wrap(native.conv2d(x.handle, weight.handle, args));
    const y = record(out, 'conv2d', [x, weight], (g) => [
      x.requiresGrad ? wrap(native.conv2dBackwardInput(g.handle, weight.handle, x.shape.slice(), args)) : null,
      weight.requiresGrad ? wrap(native.conv2dBackwardWeight(g.handle, x.handle, weight.shape.slice(), args)) : null,
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
/** Checked native pool arguments (integer kernel >= 1, stride >= 1, padding >= 0). @internal */
export function poolArgs(kernel: number | [number, number], opts: Pool2dOptions, op = 'pool2d'): PoolArgs {
  const [kh, kw] = intPair(kernel, 2, 'kernel size', op, 1);
  const [sh, sw] = intPair(opts.stride ?? [kh, kw], 1, 'stride', op, 1);
  const [ph, pw] = intPair(opts.padding, 0, 'padding', op, 0);
  return { kH: kh, kW: kw, strideH: sh, strideW: sw, padH: ph, padW: pw, ceilMode: !!opts.ceilMode, countIncludePad: opts.countIncludePad ?? true };
}

/** Max pooling of x [N, C, H, W]. */
export function maxPool2d(x: Tensor, kernel: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  assertTensor(x, 'maxPool2d');
  const args = poolArgs(kernel, opts, 'maxPool2d');
  const [out, idx] = native.maxPool2d(x.handle, args);
  const indices = wrap(idx);
  // The argmax positions are needed only by the backward rule.
  if (!needsGrad([x])) {
    indices.dispose();
    return wrap(out);
  }
  return record(wrap(out), 'maxPool2d', [x], (g) => [wrap(native.maxPool2dBackward(g.handle, indices.handle, x.shape.slice(), args))]);
}

/** Average pooling of x [N, C, H, W]. */
export function avgPool2d(x: Tensor, kernel: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  assertTensor(x, 'avgPool2d');
  const args = poolArgs(kernel, opts, 'avgPool2d');
  const out = wrap(native.avgPool2d(x.handle, args));
  return record(out, 'avgPool2d', [x], (g) => [wrap(native.avgPool2dBackward(g.handle, x.shape.slice(), args))]);
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
        const muFlat = wrap(native.reshape(mu.handle, [C]));
        const varUnbiased = wrap(native.unary(12, wrap(native.reshape(varB.handle, [C])).handle, n / (n - 1), 0));
        // running = (1 - momentum) running + momentum batch
        const newMean = wrap(native.binary(0, wrap(native.unary(12, rm.handle, 1 - momentum, 0)).handle, wrap(native.unary(12, muFlat.handle, momentum, 0)).handle));
        const newVar = wrap(native.binary(0, wrap(native.unary(12, rv.handle, 1 - momentum, 0)).handle, wrap(native.unary(12, varUnbiased.handle, momentum, 0)).handle));
        native.copy_(rm.handle, newMean.handle);
        native.copy_(rv.handle, newVar.handle);
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
    const mask = wrap(native.random(2, x.shape.slice(), seed, offset, 1 - p, x.device));
    return ew.mul(x, ew.mul(mask, 1 / (1 - p)));
  });
}

export { sumTo };
