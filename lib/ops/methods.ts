// Installs the ops as Tensor methods (a.add(b), x.sum(1), ...). The functions live in the op files.
import { runKernel } from '../kernels/run-kernel';
import { record } from '../autograd/node';
import { runBackward, BackwardOptions } from '../autograd/engine';
import { checkDevice, Device, Tensor } from '../tensor';
import * as ew from './elementwise';
import * as la from './linalg';
import * as lay from './layout';
import * as nn from './nn';
import * as red from './reduce';
import { Operand, wrap } from './util';

declare module '../tensor' {
  interface Tensor {
    /** this + b, elementwise with broadcasting (b a tensor or a number). */
    add(b: Operand): Tensor;
    /** this - b, elementwise with broadcasting. */
    sub(b: Operand): Tensor;
    /** this * b, elementwise with broadcasting. */
    mul(b: Operand): Tensor;
    /** this / b, elementwise with broadcasting. */
    div(b: Operand): Tensor;
    /** -this. */
    neg(): Tensor;
    /** e^x elementwise. */
    exp(): Tensor;
    /** Natural logarithm elementwise. */
    log(): Tensor;
    /** Square root elementwise. */
    sqrt(): Tensor;
    /** |x| elementwise. */
    abs(): Tensor;
    /** max(x, 0) elementwise. */
    relu(): Tensor;
    /** 1 / (1 + e^-x) elementwise. */
    sigmoid(): Tensor;
    /** tanh(x) elementwise. */
    tanh(): Tensor;
    /** x^p elementwise for a number p. */
    pow(p: number): Tensor;
    /** x^2 elementwise. */
    square(): Tensor;
    /** 1 / x elementwise. */
    reciprocal(): Tensor;
    /** x limited to [min, max] elementwise (either bound may be left out). */
    clamp(min?: number, max?: number): Tensor;
    /** -1, 0 or 1 by the sign of each element. */
    sign(): Tensor;
    /** 1 where this > b, else 0 (no gradient). */
    gt(b: Operand): Tensor;
    /** 1 where this >= b, else 0. */
    ge(b: Operand): Tensor;
    /** 1 where this < b, else 0. */
    lt(b: Operand): Tensor;
    /** 1 where this <= b, else 0. */
    le(b: Operand): Tensor;
    /** 1 where this == b, else 0. */
    eq(b: Operand): Tensor;
    /** 1 where this != b, else 0. */
    ne(b: Operand): Tensor;
    /** The larger of this and b, elementwise with broadcasting. */
    maximum(b: Tensor): Tensor;
    /** The smaller of this and b, elementwise with broadcasting. */
    minimum(b: Tensor): Tensor;
    /** Sum over `dims` (all dimensions when left out); keepdim keeps them with size 1. */
    sum(dims?: number | number[], keepdim?: boolean): Tensor;
    /** Mean over `dims` (all dimensions when left out). */
    mean(dims?: number | number[], keepdim?: boolean): Tensor;
    /** Maximum over `dims` (all dimensions when left out). */
    max(dims?: number | number[], keepdim?: boolean): Tensor;
    /** Minimum over `dims` (all dimensions when left out). */
    min(dims?: number | number[], keepdim?: boolean): Tensor;
    /** Index of the largest value along `dim` (the first on ties; over all elements when left out). */
    argmax(dim?: number, keepdim?: boolean): Tensor;
    /** Matrix product with batching and broadcasting over leading dimensions (as torch.matmul). */
    matmul(b: Tensor, opts?: la.MatmulOptions): Tensor;
    /** The same data in a new shape (one dimension may be -1). */
    reshape(shape: number[]): Tensor;
    /** Same as reshape(). */
    view(shape: number[]): Tensor;
    /** Merges dimensions startDim..endDim into one. */
    flatten(startDim?: number, endDim?: number): Tensor;
    /** Inserts a dimension of size 1 at `dim`. */
    unsqueeze(dim: number): Tensor;
    /** Removes dimension `dim` if it has size 1 (all size-1 dimensions when left out). */
    squeeze(dim?: number): Tensor;
    /** Reorders the dimensions: result dimension i is dimension perm[i]. */
    permute(perm: number[]): Tensor;
    /** Swaps two dimensions (default the last two). */
    transpose(dim0?: number, dim1?: number): Tensor;
    /** A tensor with the same values (tensors here are always contiguous; kept for PyTorch code). */
    contiguous(): Tensor;
    /** Elements start, start + step, ... below end along `dim` (as x[start:end:step]). */
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    /** `length` elements from `start` along `dim`. */
    narrow(dim: number, start: number, length: number): Tensor;
    /** The slice at `index` along `dim`, with that dimension removed. */
    select(dim: number, index: number): Tensor;
    /** The entries at `indices` along `dim` (as torch.index_select). */
    indexSelect(dim: number, indices: Int32Array): Tensor;
    /** PyTorch's gather: out[i][j] = x[i][index[i][j]] for dim 1, index given with its shape. */
    gather(dim: number, index: Int32Array, indexShape: number[]): Tensor;
    /** Broadcasts size-1 dimensions to `shape` (-1 keeps a size). */
    expand(shape: number[]): Tensor;
    /** Softmax along `dim` (default the last). */
    softmax(dim?: number): Tensor;
    /** log(softmax) along `dim`, computed stably. */
    logSoftmax(dim?: number): Tensor;
    /** A copy on `device` ('cpu' or 'cuda'); the same tensor when already there. */
    to(device: Device): Tensor;
    /** A copy of the data, with the gradient flowing back to this tensor. */
    clone(): Tensor;
    /**
     * Computes the gradients of this tensor with respect to the leaves that require them, accumulating into their .grad
     * (gradOutput defaults to 1 for a one-element tensor).
     */
    backward(gradOutput?: Tensor, options?: BackwardOptions): void;
    /** Overwrites this tensor's values with src's (same shape), in place. */
    copy_(src: Tensor): this;
    /** Sets every element to `value`, in place. */
    fill_(value: number): this;
  }
}

const P = Tensor.prototype as unknown as Record<string, unknown>;
Object.assign(P, {
  add(this: Tensor, b: Operand) { return ew.add(this, b); },
  sub(this: Tensor, b: Operand) { return ew.sub(this, b); },
  mul(this: Tensor, b: Operand) { return ew.mul(this, b); },
  div(this: Tensor, b: Operand) { return ew.div(this, b); },
  neg(this: Tensor) { return ew.neg(this); },
  exp(this: Tensor) { return ew.exp(this); },
  log(this: Tensor) { return ew.log(this); },
  sqrt(this: Tensor) { return ew.sqrt(this); },
  abs(this: Tensor) { return ew.abs(this); },
  relu(this: Tensor) { return ew.relu(this); },
  sigmoid(this: Tensor) { return ew.sigmoid(this); },
  tanh(this: Tensor) { return ew.tanh(this); },
  pow(this: Tensor, p: number) { return ew.pow(this, p); },
  square(this: Tensor) { return ew.square(this); },
  reciprocal(this: Tensor) { return ew.reciprocal(this); },
  clamp(this: Tensor, min?: number, max?: number) { return ew.clamp(this, min, max); },
  sign(this: Tensor) { return ew.sign(this); },
  gt(this: Tensor, b: Operand) { return ew.gt(this, b); },
  ge(this: Tensor, b: Operand) { return ew.ge(this, b); },
  lt(this: Tensor, b: Operand) { return ew.lt(this, b); },
  le(this: Tensor, b: Operand) { return ew.le(this, b); },
  eq(this: Tensor, b: Operand) { return ew.eq(this, b); },
  ne(this: Tensor, b: Operand) { return ew.ne(this, b); },
  maximum(this: Tensor, b: Tensor) { return ew.maximum(this, b); },
  minimum(this: Tensor, b: Tensor) { return ew.minimum(this, b); },
  sum(this: Tensor, dims?: number | number[], keepdim?: boolean) { return red.sum(this, dims, keepdim); },
  mean(this: Tensor, dims?: number | number[], keepdim?: boolean) { return red.mean(this, dims, keepdim); },
  max(this: Tensor, dims?: number | number[], keepdim?: boolean) { return red.max(this, dims, keepdim); },
  min(this: Tensor, dims?: number | number[], keepdim?: boolean) { return red.min(this, dims, keepdim); },
  argmax(this: Tensor, dim?: number, keepdim?: boolean) { return red.argmax(this, dim, keepdim); },
  matmul(this: Tensor, b: Tensor, opts?: la.MatmulOptions) { return la.matmul(this, b, opts); },
  reshape(this: Tensor, shape: number[]) { return lay.reshape(this, shape); },
  view(this: Tensor, shape: number[]) { return lay.reshape(this, shape); },
  flatten(this: Tensor, s?: number, e?: number) { return lay.flatten(this, s, e); },
  unsqueeze(this: Tensor, d: number) { return lay.unsqueeze(this, d); },
  squeeze(this: Tensor, d?: number) { return lay.squeeze(this, d); },
  permute(this: Tensor, perm: number[]) { return lay.permute(this, perm); },
  transpose(this: Tensor, a?: number, b?: number) { return lay.transpose(this, a, b); },
  contiguous(this: Tensor) { return lay.contiguous(this); },
  slice(this: Tensor, dim: number, start?: number, end?: number, step?: number) { return lay.slice(this, dim, start, end, step); },
  narrow(this: Tensor, dim: number, start: number, length: number) { return lay.narrow(this, dim, start, length); },
  select(this: Tensor, dim: number, index: number) { return lay.select(this, dim, index); },
  indexSelect(this: Tensor, dim: number, idx: Int32Array) { return lay.indexSelect(this, dim, idx); },
  gather(this: Tensor, dim: number, idx: Int32Array, ishape: number[]) { return lay.gather(this, dim, idx, ishape); },
  expand(this: Tensor, shape: number[]) { return lay.expand(this, shape); },
  softmax(this: Tensor, dim?: number) { return nn.softmax(this, dim); },
  logSoftmax(this: Tensor, dim?: number) { return nn.logSoftmax(this, dim); },
  to(this: Tensor, device: Device) {
    checkDevice(device, 'to');
    if (device === this.device) return this;
    const src = this.device;
    const out = wrap(runKernel('to', [this.handle], { device }));
    return record(out, 'to', [this], (g) => [wrap(runKernel('to', [g.handle], { device: src }))]);
  },
  clone(this: Tensor) {
    const out = wrap(runKernel('clone', [this.handle]));
    return record(out, 'clone', [this], (g) => [g]);
  },
  backward(this: Tensor, gradOutput?: Tensor, options?: BackwardOptions) { runBackward(this, gradOutput, options); },
  copy_(this: Tensor, src: Tensor) { runKernel('copy', [this.handle, src.handle]); return this; },
  fill_(this: Tensor, value: number) { runKernel('fill', [this.handle], { value }); return this; },
});
