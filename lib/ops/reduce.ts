// Reductions over any dims (keepdim).
import type { NativeHandle, ReduceOp } from '../../types/native';
import { runKernel } from '../kernels/run-kernel';
import { record } from '../autograd/node';
import { Tensor } from '../tensor';
import { expandTo } from './broadcast';
import * as ew from './elementwise';
import { assertTensor, composite, normalizeDim, wrap } from './util';

function normDims(x: Tensor, dims: number | number[] | undefined, op: string): number[] {
  if (dims === undefined) return x.shape.map((_, i) => i);
  const list = Array.isArray(dims) ? dims : [dims];
  return list.map((d) => normalizeDim(d, x.ndim, op));
}

function keptShape(shape: readonly number[], dims: number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

// computed: the reduction's result when the caller already has it (maxWithIndices), so it is not run twice.
function reduceOp(op: ReduceOp, name: string, x: Tensor, dims: number | number[] | undefined, keepdim: boolean,
  computed?: NativeHandle): Tensor {
  assertTensor(x, name);
  const d = normDims(x, dims, name);
  const out = wrap(computed ?? runKernel('reduce', [x.handle], { op, dims: d, keepdim }));
  return record(out, name, [x], (g) => {
    const gk = wrap(runKernel('reshape', [g.handle], { shape: keptShape(x.shape, d) }));
    if (op === 'sum') return [expandTo(gk, x.shape)];
    if (op === 'mean') {
      const count = d.reduce((n, i) => n * x.shape[i], 1);
      return [expandTo(wrap(runKernel('unary', [gk.handle], { op: 'affine', p0: 1 / count, p1: 0 })), x.shape)];
    }
    // max/min: the gradient is shared evenly among the tied extreme elements.
    const ok = wrap(runKernel('reshape', [out.handle], { shape: keptShape(x.shape, d) }));
    const mask = wrap(runKernel('binary', [x.handle, ok.handle], { op: 'eq' }));
    const count = wrap(runKernel('reduce', [mask.handle], { op: 'sum', dims: d, keepdim: true }));
    const share = wrap(runKernel('binary', [gk.handle, count.handle], { op: 'div' }));
    return [wrap(runKernel('binary', [mask.handle, share.handle], { op: 'mul' }))];
  });
}

/** Sum over `dims` (all dimensions when left out); keepdim keeps them with size 1. */
export const sum = (x: Tensor, dims?: number | number[], keepdim = false) => reduceOp('sum', 'sum', x, dims, keepdim);
/** Mean over `dims` (all dimensions when left out). */
export const mean = (x: Tensor, dims?: number | number[], keepdim = false) => reduceOp('mean', 'mean', x, dims, keepdim);
/** Maximum over `dims` (all dimensions when left out); the gradient is shared evenly among tied maxima (as torch.amax). */
export const max = (x: Tensor, dims?: number | number[], keepdim = false) => reduceOp('max', 'max', x, dims, keepdim);
/** Minimum over `dims` (all dimensions when left out). */
export const min = (x: Tensor, dims?: number | number[], keepdim = false) => reduceOp('min', 'min', x, dims, keepdim);

/** Max over one dim with the position of the maximum (int32 indices, no gradient through them). */
export function maxWithIndices(x: Tensor, dim: number, keepdim = false): {
  /** The maxima. */
  values: Tensor;
  /** Where they are (int32). */
  indices: Tensor;
} {
  assertTensor(x, 'max');
  const d = normalizeDim(dim, x.ndim, 'max');
  const [v, idx] = runKernel('reduceWithIndices', [x.handle], { op: 'max', dims: [d], keepdim });
  return { values: reduceOp('max', 'max', x, d, keepdim, v), indices: wrap(idx) };
}

/** Index of the maximum along dim (over all elements, flattened, when dim is omitted); int32. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  assertTensor(x, 'argmax');
  if (dim === undefined) {
    const flat = wrap(runKernel('reshape', [x.handle], { shape: [x.numel] }));
    const [v, idx] = runKernel('reduceWithIndices', [flat.handle], { op: 'max', dims: [0] });
    v.dispose();
    return wrap(idx);
  }
  const [v, idx] = runKernel('reduceWithIndices', [x.handle], { op: 'max', dims: [normalizeDim(dim, x.ndim, 'argmax')], keepdim });
  v.dispose();
  return wrap(idx);
}

/** Variance over dims (unbiased by default, as PyTorch). */
export function variance(x: Tensor, dims?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  // Composed from differentiable ops so that it has a backward.
  const d = normDims(x, dims, 'var');
  const n = d.reduce((acc, i) => acc * x.shape[i], 1);
  return composite([x], () => {
    const centered = ew.sub(x, mean(x, d, true));
    const ss = sum(ew.square(centered), d, opts.keepdim ?? false);
    return ew.mul(ss, 1 / Math.max(opts.unbiased === false ? n : n - 1, 1));
  });
}
