// What the package exports of the native addon: read-only introspection. The op entry points
// (binary, maxPool2dBackward, runPlan, ...) are internal: they are reached through the Tensor API,
// which checks every argument, and are not exported from 'fractional-snn'.
import { native as addon } from './native';
import { checkDevice, Device } from './tensor';

export const native = Object.freeze({
  /** Threads, BLAS mode, CPU features and whether CUDA was compiled in. */
  info: (): ReturnType<typeof addon.info> => addon.info(),
  /** Bytes currently held by live tensors on a device. */
  liveBytes: (device: Device = 'cpu'): number => addon.liveBytes(checkDevice(device, 'native.liveBytes')),
});
