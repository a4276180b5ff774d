// Installs the ops as Tensor methods (a.add(b), x.sum(1), ...). The functions live in the op files.
import { native } from '../native';
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
    add(b: Operand): Tensor;
    sub(b: Operand): Tensor;
    mul(b: Operand): Tensor;
    div(b: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    pow(p: number): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    clamp(min?: number, max?: number): Tensor;
    sign(): Tensor;
    gt(b: Operand): Tensor;
    ge(b: Operand): Tensor;
    lt(b: Operand): Tensor;
    le(b: Operand): Tensor;
    eq(b: Operand): Tensor;
    ne(b: Operand): Tensor;
    maximum(b: Tensor): Tensor;
    minimum(b: Tensor): Tensor;
    sum(dims?: number | number[], keepdim?: boolean): Tensor;
    mean(dims?: number | number[], keepdim?: boolean): Tensor;
    max(dims?: number | number[], keepdim?: boolean): Tensor;
    min(dims?: number | number[], keepdim?: boolean): Tensor;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    matmul(b: Tensor, opts?: la.MatmulOptions): Tensor;
    reshape(shape: number[]): Tensor;
    view(shape: number[]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    squeeze(dim?: number): Tensor;
    permute(perm: number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    contiguous(): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    select(dim: number, index: number): Tensor;
    indexSelect(dim: number, indices: Int32Array): Tensor;
    gather(dim: number, index: Int32Array, indexShape: number[]): Tensor;
    expand(shape: number[]): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    to(device: Device): Tensor;
    clone(): Tensor;
    backward(gradOutput?: Tensor, options?: BackwardOptions): void;
    copy_(src: Tensor): this;
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
    const out = wrap(native.to(this.handle, device));
    return record(out, 'to', [this], (g) => [wrap(native.to(g.handle, src))]);
  },
  clone(this: Tensor) {
    const out = wrap(native.clone(this.handle));
    return record(out, 'clone', [this], (g) => [g]);
  },
  backward(this: Tensor, gradOutput?: Tensor, options?: BackwardOptions) { runBackward(this, gradOutput, options); },
  copy_(this: Tensor, src: Tensor) { native.copy_(this.handle, src.handle); return this; },
  fill_(this: Tensor, value: number) { native.fill_(this.handle, value); return this; },
});
