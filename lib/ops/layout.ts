// Shape and layout ops: views, permutes, slices, concatenation, indexing.
import { shapeNumel } from '../shape';
import { runKernel } from '../kernels/run-kernel';
import { record } from '../autograd/node';
import { Tensor } from '../tensor';
import * as ew from './elementwise';
import { assertTensor, composite, normalizeDim, wrap } from './util';
import { isInt32Array } from '../typed-arrays';
import { spikesIf } from './spike-marks';

function checkIndices(idx: unknown, op: string): Int32Array {
  if (!isInt32Array(idx)) throw new TypeError(`${op}: indices must be an Int32Array (labels and indices travel as Int32Array); convert with Int32Array.from(...)`);
  return idx;
}

/** A view with a new shape (one -1 is inferred). Shares storage with x. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  assertTensor(x, 'reshape');
  const out = spikesIf(x, wrap(runKernel('reshape', [x.handle], { shape })));
  return record(out, 'reshape', [x], (g) => [wrap(runKernel('reshape', [g.handle], { shape: x.shape.slice() }))]);
}
/** Same as reshape() (PyTorch's name). */
export const view = reshape;

/** Merges dims start..end into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  const s = normalizeDim(startDim, x.ndim, 'flatten'), e = normalizeDim(endDim, x.ndim, 'flatten');
  if (x.ndim === 0) return reshape(x, [1]);
  if (e < s) throw new Error(`flatten: endDim ${endDim} comes before startDim ${startDim}`);
  const merged = shapeNumel(x.shape.slice(s, e + 1), 'flatten');
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** Inserts a dimension of size 1 at `dim`. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim(dim, x.ndim + 1, 'unsqueeze');
  const shape = x.shape.slice();
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

/** Removes dimension `dim` if it has size 1 (all size-1 dimensions when left out). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normalizeDim(dim, x.ndim, 'squeeze');
  if (x.shape[d] !== 1) return x;
  const shape = x.shape.slice();
  shape.splice(d, 1);
  return reshape(x, shape);
}

/** Reorders the dimensions: result dimension i is dimension perm[i] of x. */
export function permute(x: Tensor, perm: number[]): Tensor {
  assertTensor(x, 'permute');
  const out = wrap(runKernel('permute', [x.handle], { perm }));
  const norm = perm.map((p) => (p < 0 ? p + x.ndim : p));
  const inverse = new Array<number>(norm.length);
  norm.forEach((p, i) => (inverse[p] = i));
  return record(out, 'permute', [x], (g) => [wrap(runKernel('permute', [g.handle], { perm: inverse }))]);
}

/** Swaps two dimensions (default the last two). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normalizeDim(dim0, x.ndim, 'transpose'), b = normalizeDim(dim1, x.ndim, 'transpose');
  const perm = x.shape.map((_, i) => i);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

/** Tensors here are always contiguous; contiguous() returns x itself. */
export function contiguous(x: Tensor): Tensor {
  return x;
}

/** Elements start, start+step, ... < end along dim (negative start/end count from the end). */
export function slice(x: Tensor, dim: number, start = 0, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
  assertTensor(x, 'slice');
  const d = normalizeDim(dim, x.ndim, 'slice');
  const e = Math.min(end, x.shape[d] ?? 0);
  const out = wrap(runKernel('slice', [x.handle], { dim: d, start, end: e, step }));
  return record(out, 'slice', [x], (g) => [wrap(runKernel('sliceBackward', [g.handle], { inputShape: x.shape.slice(), dim: d, start, end: e, step }))]);
}

/** `length` elements from `start` along `dim`. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  return slice(x, dim, start, start + length);
}

/** The index-th entry along dim, with that dim removed. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim(dim, x.ndim, 'select');
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) throw new Error(`select: index ${index} is out of range for dim ${d} of size ${size}`);
  const i = index < 0 ? index + size : index;
  return composite([x], () => squeeze(slice(x, d, i, i + 1), d));
}

/** Joins tensors of equal shape except along `dim`. */
export function concat(xs: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error('concat: pass a non-empty array of tensors');
  xs.forEach((x) => assertTensor(x, 'concat'));
  const d = normalizeDim(dim, xs[0].ndim, 'concat');
  const out = wrap(runKernel('concat', xs.map((x) => x.handle), { dim: d }));
  return record(out, 'concat', xs, (g) => {
    let start = 0;
    return xs.map((x) => {
      const piece = x.requiresGrad ? wrap(runKernel('slice', [g.handle], { dim: d, start, end: start + x.shape[d] })) : null;
      start += x.shape[d];
      return piece;
    });
  });
}
/** Same as concat() (PyTorch's name). */
export const cat = concat;

/** Joins tensors of equal shape along a new dimension `dim`. */
export function stack(xs: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error('stack: pass a non-empty array of tensors');
  const d = normalizeDim(dim, xs[0].ndim + 1, 'stack');
  xs.forEach((x) => {
    if (x.shape.join(',') !== xs[0].shape.join(','))
      throw new Error(`stack: all tensors must have the same shape, got [${xs[0].shape}] and [${x.shape}]`);
  });
  return composite(xs, () => concat(xs.map((x) => unsqueeze(x, d)), d));
}

/** The entries at `indices` along `dim` (as torch.index_select). */
export function indexSelect(x: Tensor, dim: number, indices: Int32Array): Tensor {
  assertTensor(x, 'indexSelect');
  const idx = checkIndices(indices, 'indexSelect');
  const d = normalizeDim(dim, x.ndim, 'indexSelect');
  const out = wrap(runKernel('indexSelect', [x.handle], { dim: d, index: idx }));
  return record(out, 'indexSelect', [x], (g) => [wrap(runKernel('indexAdd', [g.handle], { shape: x.shape.slice(), dim: d, index: idx }))]);
}

/** PyTorch's gather: out[i][j] = x[i][index[i][j]] (dim = 1), index given as Int32Array with its shape. */
export function gather(x: Tensor, dim: number, index: Int32Array, indexShape: number[]): Tensor {
  assertTensor(x, 'gather');
  const idx = checkIndices(index, 'gather');
  const d = normalizeDim(dim, x.ndim, 'gather');
  const out = wrap(runKernel('gather', [x.handle], { dim: d, index: idx, indexShape }));
  return record(out, 'gather', [x], (g) => [wrap(runKernel('scatterAdd', [g.handle], { shape: x.shape.slice(), dim: d, index: idx, indexShape }))]);
}

/** Broadcasts x to shape (a copy). */
export function expand(x: Tensor, shape: number[]): Tensor {
  return composite([x], () => ew.add(wrap(runKernel('full', [], { shape, value: 0, device: x.device })), x));
}
