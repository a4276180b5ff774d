import { stratifiedSplit } from '../../lib/data/split';
import { loadMnist } from '../../lib/data/mnist';

function classCounts(labels: Int32Array, idx: Int32Array, k: number): number[] {
  const c = new Array(k).fill(0);
  for (const i of idx) c[labels[i]]++;
  return c;
}

/** Labels with unbalanced classes, in class order (like the mnist package). */
function unbalanced(): Int32Array {
  const sizes = [13, 7, 29, 3, 1, 17];
  const out: number[] = [];
  sizes.forEach((n, c) => { for (let i = 0; i < n; i++) out.push(c); });
  return Int32Array.from(out);
}

describe('stratifiedSplit', () => {
  test('same seed gives the same split; different seeds differ', () => {
    const labels = unbalanced();
    const a = stratifiedSplit(labels, 40, 20, 1);
    const b = stratifiedSplit(labels, 40, 20, 1);
    const c = stratifiedSplit(labels, 40, 20, 2);
    expect(Array.from(a.train)).toEqual(Array.from(b.train));
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(c.train)).not.toEqual(Array.from(a.train));
    expect(new Set(c.test)).not.toEqual(new Set(a.test));
  });

  test('exact sizes, disjoint, valid indices, and stratified within 1 of each class share', () => {
    const labels = unbalanced();
    const N = labels.length;
    const total = classCounts(labels, Int32Array.from(labels.keys()), 6);
    for (const [nTrain, nTest] of [[40, 20], [52, 18], [70, 0], [0, 70], [10, 7], [1, 1], [35, 35]]) {
      for (const seed of [0, 3]) {
        const { train, test } = stratifiedSplit(labels, nTrain, nTest, seed);
        expect(train.length).toBe(nTrain);
        expect(test.length).toBe(nTest);
        const all = new Set([...train, ...test]);
        expect(all.size).toBe(nTrain + nTest); // disjoint, no repeats
        for (const i of all) { expect(i).toBeGreaterThanOrEqual(0); expect(i).toBeLessThan(N); }
        const ctr = classCounts(labels, train, 6);
        const cte = classCounts(labels, test, 6);
        for (let c = 0; c < 6; c++) {
          expect(Math.abs(ctr[c] - (nTrain * total[c]) / N)).toBeLessThan(1);
          expect(Math.abs(cte[c] - (nTest * total[c]) / N)).toBeLessThan(1);
        }
      }
    }
  });

  test('using every sample puts each one in exactly one set', () => {
    const labels = unbalanced();
    const { train, test } = stratifiedSplit(labels, 50, 20, 9);
    expect([...train, ...test].sort((a, b) => a - b)).toEqual(Array.from(labels.keys()));
  });

  test('classes are interleaved, not grouped', () => {
    const labels = unbalanced();
    const { train } = stratifiedSplit(labels, 60, 10, 4);
    let changes = 0;
    for (let i = 1; i < train.length; i++) if (labels[train[i]] !== labels[train[i - 1]]) changes++;
    expect(changes).toBeGreaterThan(20);
  });

  test('MNIST default 8,000 / 2,000 split is stratified', () => {
    const d = loadMnist();
    const { train, test } = stratifiedSplit(d.labels, 8000, 2000, 0);
    const ctr = classCounts(d.labels, train, 10);
    const cte = classCounts(d.labels, test, 10);
    for (let c = 0; c < 10; c++) {
      expect(Math.abs(ctr[c] - 0.8 * d.classCounts[c])).toBeLessThan(1);
      expect(ctr[c] + cte[c]).toBe(d.classCounts[c]);
    }
    expect(new Set([...train, ...test]).size).toBe(10000);
  });

  test('errors name the problem and the fix', () => {
    const labels = unbalanced();
    expect(() => stratifiedSplit(labels, 60, 11, 0)).toThrow(/60 \+ 11 = 71 exceeds the 70 samples available; ask for at most 70/);
    expect(() => stratifiedSplit(labels, -1, 1, 0)).toThrow(/nTrain must be a non-negative integer, got -1/);
    expect(() => stratifiedSplit(labels, 1, 2.5, 0)).toThrow(/nTest must be a non-negative integer/);
    expect(() => stratifiedSplit(labels, 1, 1, -3)).toThrow(/seed/);
    expect(() => stratifiedSplit([0, 1] as unknown as Int32Array, 1, 1, 0)).toThrow(/Int32Array/);
  });
});
