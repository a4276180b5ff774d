/**
 * DistributedSampler: the share of a dataset's indices one rank visits each epoch (PyTorch's
 * torch.utils.data.DistributedSampler). Every rank computes the same epoch order (the loader's
 * shuffle of (seed, epoch), see epochOrder in ./loader), pads it by repeating its first indices up to
 * a multiple of the number of replicas (or, with dropLast, cuts it down to one), and takes every
 * numReplicas-th entry from position `rank`. So each epoch the ranks see disjoint shares of equal
 * length whose union is the epoch (plus the padding); call setEpoch(e) before each epoch to reshuffle.
 */
import { epochOrder } from './loader';

/** Options of DistributedSampler. */
export interface DistributedSamplerOptions {
  /** Number of ranks sharing the data (default: the default process group's world size). */
  numReplicas?: number;
  /** This rank (default: the default process group's rank). */
  rank?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Shuffling seed; must be the same on every rank (default 0). */
  seed?: number;
  /** Drop the tail so the shares are equal without padding (default false: pad by repeating indices). */
  dropLast?: boolean;
}

function groupDefaults(): { rank: number; worldSize: number } {
  // Lazily: the data module stays free of the native addon unless a process group is used.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const pg = require('../distributed/process-group') as typeof import('../distributed/process-group');
  return { rank: pg.getRank(), worldSize: pg.getWorldSize() };
}

/**
 * The sample indices of this rank for one epoch (PyTorch's DistributedSampler): the data is shuffled
 * with the epoch's seed (setEpoch), padded by repeating indices (or cut, with dropLast) to a multiple
 * of the world size, and rank r takes every numReplicas-th index starting at r.
 */
export class DistributedSampler implements Iterable<number> {
  /** The number of ranks sharing the data. */
  readonly numReplicas: number;
  /** This rank. */
  readonly rank: number;
  /** Reshuffle every epoch (default true). */
  readonly shuffle: boolean;
  /** The base seed of the shuffles (the same on every rank). */
  readonly seed: number;
  /** Cut the tail instead of padding it. */
  readonly dropLast: boolean;
  /** Indices this rank visits per epoch. */
  readonly numSamples: number;
  /** numSamples x numReplicas: the padded (or cut) epoch length. */
  readonly totalSize: number;
  private readonly base: Int32Array;
  private epoch = 0;

  /** `data`: a sample count (indices 0..n-1) or the dataset indices to shard (e.g. a training split). */
  constructor(data: number | Int32Array, opts: DistributedSamplerOptions = {}) {
    const needGroup = opts.numReplicas === undefined || opts.rank === undefined;
    const g = needGroup ? groupDefaults() : { rank: 0, worldSize: 1 };
    this.numReplicas = opts.numReplicas ?? g.worldSize;
    this.rank = opts.rank ?? g.rank;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    if (!Number.isInteger(this.numReplicas) || this.numReplicas < 1)
      throw new RangeError(`DistributedSampler: numReplicas must be a positive integer, got ${this.numReplicas}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.numReplicas)
      throw new RangeError(`DistributedSampler: rank ${this.rank} is outside 0..${this.numReplicas - 1}`);
    if (typeof data === 'number') {
      if (!Number.isInteger(data) || data < 0) throw new RangeError(`DistributedSampler: the sample count must be a non-negative integer, got ${data}`);
      this.base = Int32Array.from({ length: data }, (_, i) => i);
    } else {
      this.base = data;
    }
    const n = this.base.length;
    this.numSamples = this.dropLast && n % this.numReplicas !== 0 ? Math.floor(n / this.numReplicas) : Math.ceil(n / this.numReplicas);
    this.totalSize = this.numSamples * this.numReplicas;
  }

  /** Selects the epoch whose order indices() returns (the same on every rank). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DistributedSampler.setEpoch: epoch must be a non-negative integer, got ${epoch}`);
    this.epoch = epoch;
  }

  /** This rank's indices for the current epoch, in visiting order. */
  indices(): Int32Array {
    const order = epochOrder(this.base, { shuffle: this.shuffle, seed: this.seed, epoch: this.epoch });
    const padded = new Int32Array(this.totalSize);
    for (let i = 0; i < this.totalSize; i++) padded[i] = order.length ? order[i % order.length] : 0;
    const mine = new Int32Array(this.numSamples);
    for (let i = 0; i < this.numSamples; i++) mine[i] = padded[this.rank + i * this.numReplicas];
    return mine;
  }

  /** Same as numSamples (PyTorch's len(sampler)). */
  get length(): number {
    return this.numSamples;
  }

  /** This epoch's indices for this rank. */
  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
}
