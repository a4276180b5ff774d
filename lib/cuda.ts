// fsnn.cuda: what the addon and the machine offer on the GPU side.
import { native } from './native';

/** True when this build has CUDA, a GPU and driver are present, and the CUDA op table exists. */
export function isAvailable(): boolean {
  return native.cudaIsAvailable();
}
/** Whether the addon was compiled with the CUDA plumbing (nvcc was found at build time). */
export function isCompiled(): boolean {
  return native.cudaCompiled();
}
export function deviceCount(): number {
  return native.cudaDeviceCount();
}
export function deviceName(index = 0): string {
  return native.cudaDeviceName(index);
}
/** Why CUDA tensors cannot be used here (empty when they can). */
export function unavailableReason(): string {
  return native.cudaUnavailableReason();
}
/** Launches a small kernel on the GPU and checks its result ("ok: <device>" on success). */
export function selfTest(): string {
  return native.cudaSelfTest();
}
/** What loading cuBLAS (dlopen, on first use) found. */
export function cublasStatus(): string {
  return native.cublasStatus();
}
