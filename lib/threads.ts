// The CPU backend's thread count, from code (as torch.set_num_threads / get_num_threads). At load
// the pool has FSNN_NUM_THREADS threads when that is set, else one per hardware thread. OpenBLAS, when
// built in, runs single-threaded inside the pool's tasks (large products are split into panels over the
// pool). Results depend on the count only through the order of floating-point sums, so a fixed count
// keeps runs bit-identical. Idle pool threads poll for the next op for FSNN_SPIN_US microseconds (read
// at load; default 2000, 0 = sleep at once) before they sleep, yielding their core after the first 50 us.
import { native } from './native';

/** Threads the CPU backend uses for one op (the calling thread included). */
export function getNumThreads(): number {
  return native.info().threads;
}

/**
 * Sets the threads the CPU backend uses for one op (the calling thread included; OpenBLAS products
 * are split over the same threads). Waits for an op running on the pool to finish. `n` must be an integer
 * from 1 to max(4 x hardware threads, 256). Returns the count in force.
 */
export function setNumThreads(n: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1e6)
    throw new Error(`setNumThreads: n = ${String(n)} must be a positive integer (e.g. 1, or os.availableParallelism())`);
  try {
    return native.setNumThreads(n);
  } catch (e) {
    throw new Error(`setNumThreads(${n}): ${(e as Error).message}`);
  }
}
