// fsnn.cuda: what the addon and the machine offer on the GPU side.
import { native } from './native';

/** The CUDA caching allocator's counters (all zero where CUDA is unavailable). */
export interface CudaMemoryStats {
  /** Bytes in blocks handed out to live tensors and temporaries (sizes rounded to the allocator's classes). */
  allocatedBytes: number;
  /** Bytes obtained from cudaMalloc and not yet returned to the driver. */
  reservedBytes: number;
  /** Reserved bytes that are free for reuse (reserved - allocated). */
  cachedBytes: number;
  /** The highest allocatedBytes since the start (or since resetPeakMemoryStats()). */
  peakAllocatedBytes: number;
  /** cudaMalloc calls so far: stays constant once a training loop is warm. */
  numAllocs: number;
  /** cudaFree calls so far (emptyCache(), the out-of-memory retry). */
  numFrees: number;
  /** Requests served from the cache. */
  numCacheHits: number;
  /** All allocation requests. */
  numRequests: number;
  /** Allocations that failed once, emptied the cache and retried. */
  numOomRetries: number;
  /** Device -> host copies since the start (each one waits for the GPU): tensor reads, item(), to('cpu'). */
  hostReads: number;
}

/** CUDA matmul precision: 'highest' computes in float32, 'tf32' lets tensor cores round the inputs to TF32. */
export type MatmulPrecision = 'highest' | 'tf32';

// The CUDA control functions of the addon (declared here; older prebuilt addons may lack them).
interface CudaControls {
  cudaMemoryStats?(resetPeak?: boolean): CudaMemoryStats;
  cudaEmptyCache?(): void;
  cudaSetMatmulPrecision?(p?: MatmulPrecision): MatmulPrecision;
  cudaSynchronize?(): void;
}
const controls = native as unknown as CudaControls;

function control<K extends keyof CudaControls>(name: K): NonNullable<CudaControls[K]> {
  const fn = controls[name];
  if (typeof fn !== 'function')
    throw new Error(`fsnn.cuda: this build of the native addon has no ${name}(); rebuild it (npx cmake-js compile --out build)`);
  return (fn as (...a: unknown[]) => unknown).bind(native) as NonNullable<CudaControls[K]>;
}

/** True when this build has CUDA, a GPU and driver are present, and the CUDA op table exists. */
export function isAvailable(): boolean {
  return native.cudaIsAvailable();
}
/** Whether the addon was compiled with the CUDA plumbing (nvcc was found at build time). */
export function isCompiled(): boolean {
  return native.cudaCompiled();
}
/** Number of CUDA devices this build can use (0 without CUDA or a GPU). */
export function deviceCount(): number {
  return native.cudaDeviceCount();
}
/** Name of CUDA device `index` (e.g. "NVIDIA H200"). */
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

/** The caching allocator's counters: allocated / reserved / cached bytes, cudaMalloc calls, cache hits, peak. */
export function memoryStats(): CudaMemoryStats {
  return control('cudaMemoryStats')(false);
}
/**
 * The CUDA backend's counters: the allocator's (as memoryStats()) and hostReads, the number of
 * device -> host copies so far. A training step should need very few: read it before and after.
 */
export function stats(): CudaMemoryStats {
  const s = control('cudaMemoryStats')(false);
  return { ...s, hostReads: s.hostReads ?? 0 };
}
/** Restarts peakAllocatedBytes from the bytes allocated now (and returns the stats before the reset). */
export function resetPeakMemoryStats(): CudaMemoryStats {
  return control('cudaMemoryStats')(true);
}
/**
 * Waits for the GPU, then returns every cached (free) block to the driver. Live tensors are not
 * affected; the next allocations call cudaMalloc again. Useful when another process needs the memory.
 */
export function emptyCache(): void {
  control('cudaEmptyCache')();
}
/**
 * Math mode of matmul and conv2d on the GPU: 'highest' (pure FP32, the default, matches the CPU to
 * rounding) or 'tf32' (TF32 tensor cores: much faster, about 1e-3 relative error).
 */
export function setMatmulPrecision(precision: MatmulPrecision): void {
  if (precision !== 'highest' && precision !== 'tf32')
    throw new Error(`setMatmulPrecision: unknown precision '${String(precision)}'; use 'highest' (FP32) or 'tf32'`);
  control('cudaSetMatmulPrecision')(precision);
}
/** The matmul precision in force on CUDA: 'highest' (float32) or 'tf32'. */
export function getMatmulPrecision(): MatmulPrecision {
  return control('cudaSetMatmulPrecision')();
}
/**
 * Waits until every GPU op enqueued so far has finished. GPU ops are asynchronous: reading a tensor
 * (toArray / data) waits by itself; call this only to time GPU work or to surface asynchronous errors.
 */
export function synchronize(): void {
  control('cudaSynchronize')();
}
