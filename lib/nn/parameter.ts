// A Parameter is a leaf tensor that a Module registers and an optimizer updates.
import { keep } from '../memory';
import { runKernel } from '../kernels/run-kernel';
import { native } from '../native';
import type { NativeHandle } from '../../types/native';
import { Device, Tensor } from '../tensor';
import { isFloat32Array } from '../typed-arrays';

/** A tensor that is a learnable weight of a module: a leaf with requiresGrad, found by Module.parameters(). */
export class Parameter extends Tensor {
  /** Marks parameters (see isParameter()). */
  readonly isParameter = true;

  /** Wraps the data of `data` (sharing its storage) as a leaf that requires grad unless told otherwise. */
  constructor(data: Tensor, requiresGrad = true) {
    super(runKernel('reshape', [data.handle], { shape: data.shape.slice() }), requiresGrad);
    keep(this);
  }

  /** Replaces the values in place (shapes must match); the parameter object stays the same. */
  assign(values: Tensor | Float32Array): this {
    if (isFloat32Array(values)) {
      if (values.length !== this.numel)
        throw new Error(`Parameter.assign: got ${values.length} values for a parameter of shape [${this.shape}] (${this.numel} values)`);
      const t = native.fromFloat32(values, this.shape.slice(), this.device);
      runKernel('copy', [this.handle, t]);
      t.dispose();
    } else {
      if (values.shape.join(',') !== this.shape.join(','))
        throw new Error(`Parameter.assign: shape [${values.shape}] does not match the parameter's shape [${this.shape}]`);
      runKernel('copy', [this.handle, values.handle]);
    }
    return this;
  }
}

/** Whether `x` is a Parameter. */
export function isParameter(x: unknown): x is Parameter {
  return !!x && (x as Parameter).isParameter === true;
}

/** The slots of a Tensor that a move in place replaces (Tensor keeps them private / readonly to everyone else). */
interface MovableTensor {
  nativeHandle: NativeHandle | null;
  device: Device;
}

/**
 * Moves t's data to `device` in place, as PyTorch's module.to() does (param.data = param.data.to(device)):
 * the Tensor object keeps its identity (optimizers, bindings and state dicts that hold it keep working),
 * its handle becomes the moved one and the old one is freed; its .grad moves along. No-op when t is
 * already there. Not recorded by autograd.
 */
export function moveToDeviceInPlace(t: Tensor, device: Device): void {
  if (t.grad) moveToDeviceInPlace(t.grad, device);
  if (t.device === device) return;
  const moved = runKernel('to', [t.handle], { device });
  const old = t.handle;
  const slots = t as unknown as MovableTensor;
  slots.nativeHandle = moved;
  slots.device = device;
  old.dispose();
}
