/**
 * Mini-batch iteration over an in-memory dataset.
 *
 * Shuffling is a pure function of (seed, epoch): epoch e's order is
 * shuffle(indices, seed, offset = e * indices.length) (see lib/random/philox.ts), so every epoch
 * uses its own slice of the seed's stream (epochs differ) and a rerun repeats exactly.
 */
import { shuffle as philoxShuffle } from '../random/philox';

/** Any dataset of `count` samples stored sample-major: images is count * D values. */
export interface Dataset {
  /** Sample-major values [count, features]. */
  images: Float32Array;
  /** Class index of each sample. */
  labels: Int32Array;
  /** Number of samples. */
  count: number;
}

/** How batches() cuts and orders an epoch. */
export interface BatchOptions {
  /** Samples per batch (the last batch may be smaller unless dropLast). */
  batchSize: number;
  /** Shuffle the indices each epoch (default false: keep the given order). */
  shuffle?: boolean;
  /** Shuffling seed, integer in [0, 2^53) (default 0). */
  seed?: number;
  /** Epoch number, a non-negative integer (default 0); selects that epoch's shuffle. */
  epoch?: number;
  /** Drop a final batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** One batch of samples, copied out of the dataset. */
export interface Batch {
  /** [size, D] sample-major inputs. */
  x: Float32Array;
  /** [size] labels. */
  y: Int32Array;
  /** Number of samples in this batch (batchSize, or fewer for the last one). */
  size: number;
  /** Batch number within the epoch, from 0. */
  index: number;
  /** The dataset indices of the batch's samples, in batch order. */
  indices: Int32Array;
}

function checkBatchSize(batchSize: number): void {
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batches: batchSize must be a positive integer, got ${String(batchSize)}; e.g. { batchSize: 64 }.`);
  }
}

/** Number of batches an epoch over `count` samples (or over the given indices) yields. */
export function numBatches(count: number | Int32Array, batchSize: number, dropLast = false): number {
  checkBatchSize(batchSize);
  const n = typeof count === 'number' ? count : count.length;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`numBatches: count must be a non-negative integer, got ${String(n)}.`);
  }
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Features per sample (D) of a dataset, with consistency checks. */
export function featuresOf(dataset: Dataset): number {
  const { images, labels, count } = dataset;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`batches: dataset.count must be a non-negative integer, got ${String(count)}.`);
  }
  if (labels.length !== count) {
    throw new RangeError(`batches: dataset has count ${count} but ${labels.length} labels; they must match.`);
  }
  if (count === 0) return 0;
  if (images.length % count !== 0) {
    throw new RangeError(
      `batches: dataset.images has ${images.length} values, not a multiple of count ${count}; store count * D values sample-major.`,
    );
  }
  return images.length / count;
}

/** The order an epoch visits the indices in (the given order when shuffle is off). */
export function epochOrder(indices: Int32Array, opts: { shuffle?: boolean; seed?: number; epoch?: number }): Int32Array {
  if (!opts.shuffle) return indices;
  const seed = opts.seed ?? 0;
  const epoch = opts.epoch ?? 0;
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new RangeError(`batches: epoch must be a non-negative integer, got ${String(epoch)}.`);
  }
  return philoxShuffle(indices, seed, epoch * indices.length);
}

/**
 * Yields the batches of one epoch over `indices` (all samples when null/undefined).
 * Each batch copies its samples into fresh arrays.
 */
export function* batches(dataset: Dataset, indices: Int32Array | null | undefined, opts: BatchOptions): Generator<Batch> {
  checkBatchSize(opts.batchSize);
  const D = featuresOf(dataset);
  let idx: Int32Array;
  if (indices == null) {
    idx = new Int32Array(dataset.count);
    for (let i = 0; i < dataset.count; i++) idx[i] = i;
  } else {
    idx = indices;
    for (let i = 0; i < idx.length; i++) {
      if (idx[i] < 0 || idx[i] >= dataset.count) {
        throw new RangeError(
          `batches: indices[${i}] = ${idx[i]} is outside the dataset (0..${dataset.count - 1}); pass indices from this dataset's split.`,
        );
      }
    }
  }
  const order = epochOrder(idx, opts);
  const B = opts.batchSize;
  const nb = numBatches(order.length, B, opts.dropLast ?? false);
  const { images, labels } = dataset;
  for (let b = 0; b < nb; b++) {
    const start = b * B;
    const size = Math.min(B, order.length - start);
    const sel = order.slice(start, start + size);
    const x = new Float32Array(size * D);
    const y = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const s = sel[i];
      x.set(images.subarray(s * D, (s + 1) * D), i * D);
      y[i] = labels[s];
    }
    yield { x, y, size, index: b, indices: sel };
  }
}
