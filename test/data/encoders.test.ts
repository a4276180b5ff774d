import { encode } from '../../lib/data/encoders';
import { Philox } from '../../lib/random/philox';

const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('encode', () => {
  test('direct repeats the input exactly at every step, time-major [T, B, D]', () => {
    const x = Float32Array.from([0.1, 0.25, 0.7, 1, 0, 0.33]);
    const { data, shape } = encode('direct', x, 2, 3, 4);
    expect(shape).toEqual([4, 2, 3]);
    expect(data.length).toBe(24);
    for (let t = 0; t < 4; t++) expect(Array.from(data.subarray(t * 6, (t + 1) * 6))).toEqual(Array.from(x));
  });

  test('direct with staticInput: the one step [B, D] (x itself, no copy), standing for T steps; the others refuse it', () => {
    const x = Float32Array.from([0.1, 0.25, 0.7, 1, 0, 0.33]);
    const e = encode('direct', x, 2, 3, 4, { staticInput: true });
    expect({ shape: e.shape, steps: e.steps, staticInput: e.staticInput, data: Array.from(e.data) }).toEqual({ shape: [2, 3], steps: 4, staticInput: true, data: Array.from(x) });
    expect(e.data).toBe(x);
    const full = encode('direct', x, 2, 3, 4);
    expect([full.steps, full.staticInput]).toEqual([4, false]);
    expect(() => encode('poisson', x, 2, 3, 4, { staticInput: true })).toThrow(/staticInput is for the 'direct' encoder.*'poisson' differs from step to step/);
    expect(() => encode('sequential', seq(9), 1, 9, 3, { staticInput: true })).toThrow(/staticInput is for the 'direct' encoder/);
    expect(encode('sequential', seq(9), 1, 9, 3).steps).toBe(3);
  });

  test('poisson: binary spikes, shape, exact Philox bernoulli stream, determinism, seed/offset dependence', () => {
    const x = Float32Array.from([0, 1, 0.5, 0.2, 0.9, 0.05]);
    const T = 5;
    const { data, shape } = encode('poisson', x, 2, 3, T, { seed: 17, offset: 3 });
    expect(shape).toEqual([T, 2, 3]);
    const tiled = new Float32Array(T * 6);
    for (let t = 0; t < T; t++) tiled.set(x, t * 6);
    expect(Array.from(data)).toEqual(Array.from(new Philox(17, 3).bernoulli(tiled)));
    for (let t = 0; t < T; t++) {
      expect(data[t * 6 + 0]).toBe(0); // p = 0 never spikes
      expect(data[t * 6 + 1]).toBe(1); // p = 1 always spikes
    }
    expect(Array.from(encode('poisson', x, 2, 3, T, { seed: 17, offset: 3 }).data)).toEqual(Array.from(data));
    const big = new Float32Array(200).fill(0.5);
    const a = encode('poisson', big, 1, 200, 2, { seed: 1 }).data;
    expect(Array.from(encode('poisson', big, 1, 200, 2, { seed: 2 }).data)).not.toEqual(Array.from(a));
    expect(Array.from(encode('poisson', big, 1, 200, 2, { seed: 1, offset: 1 }).data)).not.toEqual(Array.from(a));
  });

  test('poisson spikes only when the draw is strictly below x', () => {
    const u = new Philox(4, 0).uniform(64);
    // x equal to each step-0 draw: u < x is false everywhere, so no spikes
    expect(Array.from(encode('poisson', u, 1, 64, 1, { seed: 4 }).data)).toEqual(new Array(64).fill(0));
    // x one ulp (2^-24) above each draw: always spikes
    const above = u.map((v) => v + 2 ** -24);
    expect(Array.from(encode('poisson', above, 1, 64, 1, { seed: 4 }).data)).toEqual(new Array(64).fill(1));
  });

  test('poisson spike rate approaches x over many steps', () => {
    const x = Float32Array.from([0.05, 0.2, 0.5, 0.8, 0.95]);
    const T = 4000;
    const { data } = encode('poisson', x, 1, 5, T, { seed: 123 });
    for (let f = 0; f < 5; f++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += data[t * 5 + f];
      // binomial sd <= sqrt(0.25 / 4000) = 0.0079; allow ~4 sd
      expect(Math.abs(s / T - x[f])).toBeLessThan(0.032);
    }
  });

  test('poisson rejects values outside [0, 1] with the position and a fix', () => {
    const x = Float32Array.from([0.5, 0.2, 255]);
    expect(() => encode('poisson', x, 1, 3, 2)).toThrow(/x\[2\] \(sample 0, feature 2\) is 255.*\[0, 1\].*divide raw pixels by 255/);
    expect(() => encode('poisson', Float32Array.from([-0.1]), 1, 1, 2)).toThrow(/is -0\.1/);
    expect(() => encode('poisson', Float32Array.from([NaN]), 1, 1, 2)).toThrow(/is NaN/);
  });

  test('sequential rows: step t carries row t of each image, [rows, B, cols]', () => {
    // 2 images of 3 rows x 4 cols; image b pixel p = 100*b + p
    const x = Float32Array.from({ length: 24 }, (_, i) => 100 * Math.floor(i / 12) + (i % 12));
    const { data, shape } = encode('sequential', x, 2, 12, 3, { rows: 3, cols: 4 });
    expect(shape).toEqual([3, 2, 4]);
    for (let t = 0; t < 3; t++)
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 4; c++) expect(data[(t * 2 + b) * 4 + c]).toBe(100 * b + t * 4 + c);
    // default rows/cols from a square feature count (MNIST 28x28)
    const m = encode('sequential', seq(784 * 2), 2, 784, 28);
    expect(m.shape).toEqual([28, 2, 28]);
    expect(m.data[(5 * 2 + 1) * 28 + 3]).toBe(784 + 5 * 28 + 3);
  });

  test('sequential pixels: step t carries pixel t, [rows*cols, B, 1]', () => {
    const x = seq(24);
    const { data, shape } = encode('sequential', x, 2, 12, 12, { rows: 3, cols: 4, mode: 'pixels' });
    expect(shape).toEqual([12, 2, 1]);
    for (let t = 0; t < 12; t++) for (let b = 0; b < 2; b++) expect(data[t * 2 + b]).toBe(b * 12 + t);
  });

  test('sequential errors: T mismatch, bad image size, bad mode', () => {
    expect(() => encode('sequential', seq(784), 1, 784, 10)).toThrow(/T = 10 but the image has 28 rows.*set T = 28/);
    expect(() => encode('sequential', seq(12), 1, 12, 3, { rows: 3, cols: 4, mode: 'pixels' })).toThrow(/set T = 12/);
    expect(() => encode('sequential', seq(10), 1, 10, 2)).toThrow(/not a perfect square.*pass opts.rows and opts.cols/);
    expect(() => encode('sequential', seq(12), 1, 12, 3, { rows: 3, cols: 5 })).toThrow(/rows \* cols = 3 \* 5 = 15 but features = 12/);
    expect(() => encode('sequential', seq(12), 1, 12, 3, { rows: 5 })).toThrow(/cols must be a positive integer/);
    expect(() => encode('sequential', seq(4), 1, 4, 2, { mode: 'cols' as 'rows' })).toThrow(/mode must be 'rows' or 'pixels'/);
  });

  test('general errors: size mismatch, bad T, unknown kind', () => {
    expect(() => encode('direct', seq(5), 2, 3, 4)).toThrow(/x has 5 values but batch \* features = 2 \* 3 = 6/);
    expect(() => encode('direct', seq(6), 2, 3, 0)).toThrow(/T must be a positive integer, got 0/);
    expect(() => encode('rate' as 'direct', seq(6), 2, 3, 2)).toThrow(/unknown encoder 'rate'.*'direct', 'poisson' or 'sequential'/);
  });
});
