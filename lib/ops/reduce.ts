// Reductions over any dims (keepdim), and the broadcast helpers their backward rules use.
import { native } from '../native';
import { record } from '../autograd/node';
import { Tensor } from '../tensor';
import { assertTensor, composite, normalizeDim, sameShape, wrap } from './util';

const enum R { Sum, Mean, Max, Min }

function normDims(x: Tensor, dims: number | number[] | undefined, op: string): number[] {
  if (dims === undefined) return x.shape.map((_, i) => i);
  const list = Array.isArray(dims) ? dims : [dims];
  return list.map((d) => normalizeDim(d, x.ndim, op));
}

function keptShape(shape: readonly number[], dims: number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

/** Broadcasts g to `shape` (g's shape must broadcast to it). */
export function expandTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const zeros = wrap(native.full(shape.slice(), 0, g.device));
  return wrap(native.binary(0, zeros.handle, g.handle));
}

/** Sums g over the dims that broadcasting expanded, so that it takes `shape` (the reverse of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const reduced = dims.length ? wrap(native.reduce(R.Sum, g.handle, dims, true, false)) : g;
  return wrap(native.reshape(reduced.handle, shape.slice()));
}

function reduceOp(op: R, name: string, x: Tensor, dims: number | number[] | undefined, keepdim: boolean): Tensor {
  assertTensor(x, name);
  const d = normDims(x, dims, name);
  const out = wrap(native.reduce(op, x.handle, d, keepdim, false));
  return record(out, name, [x], (g) => {
    const gk = wrap(native.reshape(g.handle, keptShape(x.shape, d)));
    if (op === R.Sum) return [expandTo(gk, x.shape)];
    if (op === R.Mean) {
      const count = d.reduce((n, i) => n * x.shape[i], 1);
      return [expandTo(wrap(native.unary(12, gk.handle, 1 / count, 0)), x.shape)];
    }
    // max/min: the gradient is shared evenly among the tied extreme elements.
    const ok = wrap(native.reshape(out.handle, keptShape(x.shape, d)));
    const mask = wrap(native.binary(10, x.handle, ok.handle));
    const count = wrap(native.reduce(R.Sum, mask.handle, d, true, false));
    return [wrap(native.binary(2, mask.handle, wrap(native.binary(3, gk.handle, count.handle)).handle))];
  });
}

/** Sum over `dims` (all dimensions when left out); keepdim keeps them with size 1. */
export const sum = (x: Tensor, dims?: number | number[], keepdim = false) => reduceOp(R.Sum, 'sum', x, dims, keepdim);
/** Mean over `dims` (all dimensions when left out). */
export const mean = (x: Tensor, dims?: number | number[], keepdim = false) => reduceOp(R.Mean, 'mean', x, dims, keepdim);
/** Maximum over `dims` (all dimensions when left out); the gradient goes to the first maximum. */
export const max = (x: Tensor, dims?: number | number[], keepdim = false) => reduceOp(R.Max, 'max', x, dims, keepdim);
/** Minimum over `dims` (all dimensions when left out). */
export const min = (x: Tensor, dims?: number | number[], keepdim = false) => reduceOp(R.Min, 'min', x, dims, keepdim);

/** Max over one dim with the position of the maximum (int32 indices, no gradient through them). */
export function maxWithIndices(x: Tensor, dim: number, keepdim = false): {
  /** The maxima. */
  values: Tensor;
  /** Where they are (int32). */
  indices: Tensor;
} {
  const d = normalizeDim(dim, x.ndim, 'max');
  const values = max(x, d, keepdim);
  const [v, idx] = native.reduce(R.Max, x.handle, [d], keepdim, true);
  v.dispose();
  return { values, indices: wrap(idx) };
}

/** Index of the maximum along dim (over all elements, flattened, when dim is omitted); int32. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  assertTensor(x, 'argmax');
  if (dim === undefined) {
    const flat = wrap(native.reshape(x.handle, [x.numel]));
    const [v, idx] = native.reduce(R.Max, flat.handle, [0], false, true);
    v.dispose();
    return wrap(idx);
  }
  const [v, idx] = native.reduce(R.Max, x.handle, [normalizeDim(dim, x.ndim, 'argmax')], keepdim, true);
  v.dispose();
  return wrap(idx);
}

/** Variance over dims (unbiased by default, as PyTorch). */
export function variance(x: Tensor, dims?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  // Composed from differentiable ops so that it has a backward.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ew = require('./elementwise') as typeof import('./elementwise');
  const d = normDims(x, dims, 'var');
  const n = d.reduce((acc, i) => acc * x.shape[i], 1);
  return composite([x], () => {
    const centered = ew.sub(x, mean(x, d, true));
    const ss = sum(ew.square(centered), d, opts.keepdim ?? false);
    return ew.mul(ss, 1 / Math.max(opts.unbiased === false ? n : n - 1, 1));
  });
}
