// What the package exports of the native addon: read-only introspection. The op entry points
// (binary, maxPool2dBackward, runPlan, ...) are internal: they are reached through the Tensor API,
// which checks every argument, and are not exported from 'fractional-snn'.
import { native as addon } from './native';
import { checkDevice, Device } from './tensor';

/** What native.info() reports about the loaded addon. */
export interface NativeInfo {
  /** Threads of the CPU pool. */
  threads: number;
  /** The sgemm in use: OpenBLAS's or the built-in one (FSNN_BLAS=builtin forces it). */
  blas: 'openblas' | 'builtin';
  /** Whether the addon was built with OpenBLAS. */
  openblas: boolean;
  /** The CPU backend in words: threads, sgemm, and the vector bodies in use. */
  cpu: string;
  /** Whether the CPU kernels run their AVX2 + FMA bodies: x86-64 with both, and FSNN_CPU_NO_AVX2 not set to 1. */
  avx2: boolean;
  /**
   * Whether the kernels with an AVX-512 body (the fast fractional history, the column sums, the linear
   * weight+bias gradient, max/min) run it: AVX-512F/DQ and AVX2 in use, and FSNN_CPU_NO_AVX512 not set to 1.
   * It gives the same bits as the AVX2 body, except the fast history's dL/dI in its last bits at a few
   * elements in 10^5.
   */
  avx512: boolean;
  /** Whether the CUDA backend was compiled in. */
  cudaCompiled: boolean;
}

/** What native.cpuMemoryStats() reports. */
export interface CpuMemoryStats {
  /** Bytes handed out to tensor storages and not yet freed (each rounded up to 64, or from 8 MiB on to whole 2 MiB pages). */
  allocatedBytes: number;
  /** Bytes freed and kept for reuse. */
  cachedBytes: number;
  /** The most bytes ever handed out at once. */
  peakAllocatedBytes: number;
}

/** Read-only facts about the native addon: its build and the memory its tensors hold. */
export const native = Object.freeze({
  /** Threads, BLAS mode, CPU features and whether CUDA was compiled in. */
  info: (): NativeInfo => addon.info(),
  /** Bytes currently held by live tensors on a device. */
  liveBytes: (device: Device = 'cpu'): number => addon.liveBytes(checkDevice(device, 'native.liveBytes')),
  /**
   * The CPU allocator's counters: bytes handed out to tensors and not yet freed, bytes freed and cached
   * for reuse, and the most ever handed out at once (rounded as allocatedBytes; see the README's memory section).
   */
  cpuMemoryStats: (): CpuMemoryStats => addon.cpuMemoryStats(),
});
