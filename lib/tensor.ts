// Tensor: a native handle (float32, contiguous, on 'cpu' or 'cuda') plus autograd metadata.
// Op methods (add, matmul, sum, ...) are installed by lib/ops/methods.ts.
import type { NativeHandle } from '../types/native';
import type { GradNode } from './autograd/node';
import { trackTensor } from './memory';
import { noteHostRead, runKernel } from './kernels/run-kernel';
import { isFloat32Array } from './typed-arrays';
import { formatTensor } from './tensor-format';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** Where a tensor's data lives. */
export type Device = 'cpu' | 'cuda';
/** Nested arrays of numbers, as toArray() returns and tensor() accepts. */
export type NestedArray = number | NestedArray[];

let defaultDevice: Device = 'cpu';

/** The device new tensors go to when none is given ('cpu' unless changed, e.g. by the GPU test suite). */
export function getDefaultDevice(): Device {
  return defaultDevice;
}

/** Sets the device new tensors go to when none is given. */
export function setDefaultDevice(device: Device): void {
  checkDevice(device, 'setDefaultDevice');
  defaultDevice = device;
}

export function checkDevice(device: unknown, op: string): Device {
  if (device !== 'cpu' && device !== 'cuda') throw new Error(`${op}: unknown device '${String(device)}'; use 'cpu' or 'cuda'`);
  return device;
}

let nextId = 1;

/** The handle of a registered hook. */
export interface HookHandle {
  /** Unregisters the hook. */
  remove(): void;
}

/**
 * An n-dimensional float32 (or int32) array on 'cpu' or 'cuda' with reverse-mode autograd. Op methods
 * (add, matmul, sum, ...) are the functions of `ops`; create tensors with tensor(), zeros(), randn(), ...
 */
export class Tensor {
  /** Marks tensors across module copies (instanceof can fail between two loaded copies). */
  readonly __isTensor = true;
  /** A number unique to this tensor in the process. */
  readonly id = nextId++;
  /** Dimensions, outermost first ([] for a scalar). */
  readonly shape: readonly number[];
  /** Where the data lives. */
  readonly device: Device;
  /** Element type. */
  readonly dtype: 'float32' | 'int32';
  /** Whether backward() computes a gradient for this tensor. */
  requiresGrad = false;
  /** The accumulated gradient after backward() (leaves that require grad; see retainGrad()). */
  grad: Tensor | null = null;
  /** The op that produced this tensor in the graph (null for leaves). */
  gradFn: GradNode | null = null;
  /** Keeps .grad on a non-leaf tensor after backward (as PyTorch's retain_grad). */
  retainsGrad = false;
  /** Run by backward() after it has accumulated this leaf's .grad (see registerPostAccumulateGradHook). */
  postAccumulateGradHooks: ((t: Tensor) => void)[] = [];
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

  /** Whether dispose() freed the data. */
  get isDisposed(): boolean {
    return !this.nativeHandle || this.nativeHandle.disposed;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  /** True for tensors not produced by an op (inputs, parameters). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Shape and device, e.g. "[2,3] on cpu" (for messages). */
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

  /** A copy of the values as a Float32Array (reads from the device). */
  toFloat32Array(): Float32Array {
    noteHostRead(this.handle);
    return this.dtype === 'int32' ? Float32Array.from(this.handle.toInt32Array()) : this.handle.toFloat32Array();
  }

  /** A copy of the values as an Int32Array (float values truncated). */
  toInt32Array(): Int32Array {
    noteHostRead(this.handle);
    return this.dtype === 'int32' ? this.handle.toInt32Array() : Int32Array.from(this.handle.toFloat32Array());
  }

  /** The data without blocking the event loop while the device finishes (the copy runs on the libuv pool). */
  async data(): Promise<Float32Array> {
    noteHostRead(this.handle);
    const raw = await this.handle.readAsync();
    return isFloat32Array(raw) ? raw : Float32Array.from(raw);
  }

  /** Nested arrays in the tensor's shape (a number for a 0-d tensor). */
  toArray(): NestedArray {
    noteHostRead(this.handle);
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
    return new Tensor(runKernel('reshape', [this.handle], { shape: this.shape.slice() }));
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

  /**
   * Calls fn(this) each time backward() has accumulated this leaf's gradient into .grad (PyTorch's
   * register_post_accumulate_grad_hook; DistributedDataParallel starts its all-reduces from it).
   */
  registerPostAccumulateGradHook(fn: (t: Tensor) => void): HookHandle {
    this.postAccumulateGradHooks.push(fn);
    return { remove: () => { this.postAccumulateGradHooks = this.postAccumulateGradHooks.filter((h) => h !== fn); } };
  }

  /** Marks a leaf as needing gradients (in place). */
  requiresGrad_(on = true): this {
    if (!this.isLeaf && !on) throw new Error('requiresGrad_(false): only leaf tensors can stop requiring grad; use detach()');
    this.requiresGrad = on;
    return this;
  }

  /** Tensor(shape on device), without the values (console.log shows the values). */
  toString(): string {
    return `Tensor(${this.describe()}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  /**
   * What console.log and util.inspect show: the values (summarised above 1,000 elements, and then only
   * the shown entries are read from the device), shape, dtype, device and requiresGrad, as PyTorch prints.
   */
  [inspectSymbol](): string {
    return formatTensor(this);
  }
}
