// DistributedSampler: PyTorch's sharding (pad by repeating, or drop), per-epoch reshuffling shared by
// every rank, and the single-process epoch order as the union of the shares.
import { DistributedSampler, epochOrder } from '../../lib/data';

const shares = (n: number | Int32Array, W: number, o: { shuffle?: boolean; dropLast?: boolean; seed?: number; epoch?: number } = {}) =>
  Array.from({ length: W }, (_, rank) => {
    const s = new DistributedSampler(n, { numReplicas: W, rank, shuffle: o.shuffle, dropLast: o.dropLast, seed: o.seed });
    s.setEpoch(o.epoch ?? 0);
    return Array.from(s.indices());
  });

describe('DistributedSampler', () => {
  test('without shuffle: rank r takes r, r + W, ...; the tail is padded from the start (PyTorch)', () => {
    expect(shares(10, 3, { shuffle: false })).toEqual([[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]);
    expect(new DistributedSampler(10, { numReplicas: 3, rank: 0 }).length).toBe(4);
  });
  test('dropLast cuts the epoch to a multiple of the replicas', () => {
    expect(shares(10, 3, { shuffle: false, dropLast: true })).toEqual([[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
    expect(shares(9, 3, { shuffle: false, dropLast: true })).toEqual([[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
  });
  test('padding wraps around more than once when there are fewer samples than replicas', () => {
    expect(shares(2, 5, { shuffle: false })).toEqual([[0], [1], [0], [1], [0]]);
  });
  test('shuffled shares are disjoint, cover the epoch, and interleave the single-process order', () => {
    const idx = Int32Array.from({ length: 97 }, (_, i) => 1000 + i);
    for (const epoch of [0, 1, 5]) {
      const s = shares(idx, 4, { seed: 11, epoch });
      const order = Array.from(epochOrder(idx, { shuffle: true, seed: 11, epoch }));
      s.forEach((share, r) => share.forEach((v, k) => expect(v).toBe(order[(r + 4 * k) % order.length])));
      const seen = new Set(s.flat());
      expect(seen.size).toBe(97);
    }
  });
  test('setEpoch reshuffles; the same epoch gives the same order', () => {
    const a = shares(50, 2, { seed: 1, epoch: 0 }), b = shares(50, 2, { seed: 1, epoch: 1 }), c = shares(50, 2, { seed: 1, epoch: 0 });
    expect(a).toEqual(c);
    expect(a).not.toEqual(b);
  });
  test('bad arguments', () => {
    expect(() => new DistributedSampler(10, { numReplicas: 2, rank: 2 })).toThrow(/rank 2 is outside 0..1/);
    expect(() => new DistributedSampler(10, { numReplicas: 0, rank: 0 })).toThrow(/numReplicas/);
    expect(() => new DistributedSampler(-1, { numReplicas: 1, rank: 0 })).toThrow(/sample count/);
    expect(() => new DistributedSampler(10, { numReplicas: 1, rank: 0 }).setEpoch(-1)).toThrow(/epoch/);
  });
  test('without a process group it is one replica of rank 0', () => {
    const s = new DistributedSampler(5, { shuffle: false });
    expect([s.numReplicas, s.rank, Array.from(s)]).toEqual([1, 0, [0, 1, 2, 3, 4]]);
  });
});
