// The one door from lib/ to the native kernels: runKernel(name, inputs, attrs), typed by the kernel
// table (native/kernels.def -> types/native.d.ts), with a hook that records every call and every host
// read while it is set (lib/serve/runner.ts records a model's forward into a replayable program).
import type { KernelName, Kernels, NativeHandle } from '../../types/native';
import { native } from '../native';

/** One kernel call as the recorder sees it. */
export interface KernelCall {
  name: KernelName;
  inputs: readonly (NativeHandle | null)[];
  attrs: object;
  /** The result: undefined (in place), a handle, or a pair of handles (the second may be null). */
  output: NativeHandle | (NativeHandle | null)[] | void;
}

/** What a recorder is told: kernel calls, and reads of tensor values into host memory. */
export interface KernelRecorder {
  call(call: KernelCall): void;
  hostRead(handle: NativeHandle): void;
}

let recorder: KernelRecorder | null = null;

/** Runs the kernel `name` (see native/kernels.def) on input handles with named attributes. */
export function runKernel<N extends KernelName>(name: N, inputs: Kernels[N]['inputs'], attrs?: Kernels[N]['attrs']): Kernels[N]['output'] {
  const output = native.runKernel(name, inputs, attrs);
  if (recorder !== null) recorder.call({ name, inputs: inputs as readonly (NativeHandle | null)[], attrs: attrs ?? {}, output: output as KernelCall['output'] });
  return output;
}

/** Tells the recorder (if any) that a tensor's values are being read into host memory. */
export function noteHostRead(handle: NativeHandle): void {
  if (recorder !== null) recorder.hostRead(handle);
}

/** Runs fn with `rec` told of every kernel call and host read; recordings do not nest. */
export function recordKernels<T>(rec: KernelRecorder, fn: () => T): T {
  if (recorder !== null) throw new Error('recordKernels: a recording is already running (recordings do not nest)');
  recorder = rec;
  try {
    return fn();
  } finally {
    recorder = null;
  }
}
