import { batches, numBatches, Dataset, epochOrder } from '../../lib/data/loader';
import { shuffle } from '../../lib/random/philox';

/** Dataset whose sample i has features [i, i + 0.5, -i] and label i % 10. */
function toy(n: number): Dataset {
  const images = new Float32Array(n * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    images.set([i, i + 0.5, -i], i * 3);
    labels[i] = i % 10;
  }
  return { images, labels, count: n };
}

const collect = (it: Iterable<{ indices: Int32Array }>) => [...it].flatMap((b) => Array.from(b.indices));

describe('batches', () => {
  test('unshuffled: in order, correct x/y contents, sizes and indices, last batch partial', () => {
    const ds = toy(10);
    const out = [...batches(ds, null, { batchSize: 4 })];
    expect(out.map((b) => b.size)).toEqual([4, 4, 2]);
    expect(out.map((b) => b.index)).toEqual([0, 1, 2]);
    const last = out[2];
    expect(Array.from(last.x)).toEqual([8, 8.5, -8, 9, 9.5, -9]);
    expect(Array.from(last.y)).toEqual([8, 9]);
    expect(Array.from(last.indices)).toEqual([8, 9]);
    expect(collect(out)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('dropLast drops the partial batch; numBatches agrees', () => {
    const ds = toy(10);
    expect([...batches(ds, null, { batchSize: 4, dropLast: true })].map((b) => b.size)).toEqual([4, 4]);
    expect(numBatches(10, 4)).toBe(3);
    expect(numBatches(10, 4, true)).toBe(2);
    expect(numBatches(new Int32Array(8), 4, true)).toBe(2);
    expect(numBatches(0, 4)).toBe(0);
  });

  test('respects a given index subset', () => {
    const ds = toy(20);
    const idx = Int32Array.from([5, 2, 17]);
    const out = [...batches(ds, idx, { batchSize: 2 })];
    expect(collect(out)).toEqual([5, 2, 17]);
    expect(Array.from(out[0].x)).toEqual([5, 5.5, -5, 2, 2.5, -2]);
    expect(Array.from(out[1].y)).toEqual([7]);
  });

  test('shuffling: deterministic per (seed, epoch), differs across epochs and seeds, covers every index once', () => {
    const ds = toy(100);
    const run = (seed: number, epoch: number) => collect(batches(ds, null, { batchSize: 16, shuffle: true, seed, epoch }));
    const e0 = run(1, 0);
    expect(run(1, 0)).toEqual(e0);
    expect(run(1, 1)).not.toEqual(e0);
    expect(run(2, 0)).not.toEqual(e0);
    expect(e0).not.toEqual([...Array(100).keys()]);
    for (const order of [e0, run(1, 1), run(7, 5)]) {
      expect([...order].sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
    }
    // x rows follow the shuffled indices
    const first = batches(ds, null, { batchSize: 16, shuffle: true, seed: 1, epoch: 0 }).next().value!;
    for (let i = 0; i < first.size; i++) {
      expect(first.x[i * 3]).toBe(first.indices[i]);
      expect(first.y[i]).toBe(first.indices[i] % 10);
    }
    // epoch order equals the documented formula: shuffle(indices, seed, epoch * n)
    const all = Int32Array.from(Array(100).keys());
    expect(Array.from(epochOrder(all, { shuffle: true, seed: 1, epoch: 0 }))).toEqual(e0);
    expect(run(1, 3)).toEqual(Array.from(shuffle(all, 1, 300)));
  });

  test('dropLast with shuffle drops a different remainder each epoch', () => {
    const ds = toy(10);
    const seen = new Set<number>();
    for (let e = 0; e < 20; e++) {
      for (const b of batches(ds, null, { batchSize: 3, shuffle: true, seed: 0, epoch: e, dropLast: true })) {
        b.indices.forEach((i) => seen.add(i));
      }
    }
    expect(seen.size).toBe(10);
  });

  test('errors name the problem and the fix', () => {
    const ds = toy(5);
    expect(() => [...batches(ds, null, { batchSize: 0 })]).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => [...batches(ds, Int32Array.from([1, 5]), { batchSize: 2 })]).toThrow(/indices\[1\] = 5 is outside the dataset \(0..4\)/);
    expect(() => [...batches({ ...ds, count: 4 }, null, { batchSize: 2 })]).toThrow(/count 4 but 5 labels/);
    expect(() => [...batches(ds, null, { batchSize: 2, shuffle: true, epoch: -1 })]).toThrow(/epoch must be a non-negative integer/);
  });
});
