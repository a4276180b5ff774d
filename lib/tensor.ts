// Tensor: a native handle (float32, contiguous, on 'cpu' or 'cuda') plus autograd metadata.
// Op methods (add, matmul, sum, ...) are installed by lib/ops/methods.ts.
import type { NativeHandle } from '../types/native';
import type { GradNode } from './autograd/node';
import { trackTensor } from './memory';
import { native } from './native';
import { isFloat32Array } from './typed-arrays';

export type Device = 'cpu' | 'cuda';
export type NestedArray = number | NestedArray[];

let defaultDevice: Device = 'cpu';

/** The device new tensors go to when none is given ('cpu' unless changed, e.g. by the GPU test suite). */
export function getDefaultDevice(): Device {
  return defaultDevice;
}

export function setDefaultDevice(device: Device): void {
  checkDevice(device, 'setDefaultDevice');
  defaultDevice = device;
}

export function checkDevice(device: unknown, op: string): Device {
  if (device !== 'cpu' && device !== 'cuda') throw new Error(`${op}: unknown device '${String(device)}'; use 'cpu' or 'cuda'`);
  return device;
}

let nextId = 1;

export class Tensor {
  readonly __isTensor = true;
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly device: Device;
  readonly dtype: 'float32' | 'int32';
  requiresGrad = false;
  grad: Tensor | null = null;
  gradFn: GradNode | null = null;
  /** Keeps .grad on a non-leaf tensor after backward (as PyTorch's retain_grad). */
  retainsGrad = false;
  private nativeHandle: NativeHandle | null;

  constructor(handle: NativeHandle, requiresGrad = false) {
    this.nativeHandle = handle;
    this.shape = Object.freeze(handle.shape.slice());
    this.device = handle.device;
    this.dtype = handle.dtype;
    this.requiresGrad = requiresGrad;
    trackTensor(this);
  }

  /** The native handle; throws a clear error after dispose(). */
  get handle(): NativeHandle {
    if (!this.nativeHandle || this.nativeHandle.disposed)
      throw new Error(`Tensor ${this.describe()} was disposed; it cannot be used after dispose() or after the tidy() that created it ended (return it from tidy() or keep() it)`);
    return this.nativeHandle;
  }

  get isDisposed(): boolean {
    return !this.nativeHandle || this.nativeHandle.disposed;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get numel(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  describe(): string {
    return `[${this.shape.join(',')}] on ${this.device}`;
  }

  /** Frees the buffer now. The tensor (and any view of the same storage held only here) cannot be used afterwards. */
  dispose(): void {
    if (this.nativeHandle) this.nativeHandle.dispose();
    this.nativeHandle = null;
    const node = this.gradFn;
    this.gradFn = null;
    if (node) node.releaseArenas();
  }

  toFloat32Array(): Float32Array {
    return this.dtype === 'int32' ? Float32Array.from(this.handle.toInt32Array()) : this.handle.toFloat32Array();
  }

  toInt32Array(): Int32Array {
    return this.dtype === 'int32' ? this.handle.toInt32Array() : Int32Array.from(this.handle.toFloat32Array());
  }

  /** The data without blocking the event loop while the device finishes (the copy runs on the libuv pool). */
  async data(): Promise<Float32Array> {
    const raw = await this.handle.readAsync();
    return isFloat32Array(raw) ? raw : Float32Array.from(raw);
  }

  /** Nested arrays in the tensor's shape (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const flat = this.dtype === 'int32' ? this.handle.toInt32Array() : this.handle.toFloat32Array();
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return flat[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new Error(`item(): the tensor ${this.describe()} has ${this.numel} elements; item() needs exactly one (reduce it first, e.g. .sum())`);
    return this.toFloat32Array()[0];
  }

  /** A tensor sharing the data but cut from the graph. */
  detach(): Tensor {
    return new Tensor(native.reshape(this.handle, this.shape.slice()));
  }

  /** Clears .grad (frees it). */
  zeroGrad(): void {
    if (this.grad) this.grad.dispose();
    this.grad = null;
  }

  /** Makes .grad available on this non-leaf tensor after backward(). */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** Marks a leaf as needing gradients (in place). */
  requiresGrad_(on = true): this {
    if (!this.isLeaf && !on) throw new Error('requiresGrad_(false): only leaf tensors can stop requiring grad; use detach()');
    this.requiresGrad = on;
    return this;
  }

  toString(): string {
    return `Tensor(${this.describe()}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}
