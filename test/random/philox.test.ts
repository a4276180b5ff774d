import { Philox, philox4x32, shuffle } from '../../lib/random/philox';

const hex = (a: Uint32Array) => Array.from(a, (x) => x.toString(16).padStart(8, '0')).join(' ');

/** Independent BigInt reference of the Philox4x32-10 spec, for cross-checking the fast version. */
function philoxRef(ctr: number[], key: number[]): number[] {
  const M = 0xffffffffn;
  let [c0, c1, c2, c3] = ctr.map(BigInt);
  let [k0, k1] = key.map(BigInt);
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + 0x9e3779b9n) & M;
      k1 = (k1 + 0xbb67ae85n) & M;
    }
    const p0 = 0xd2511f53n * c0;
    const p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ k0, p1 & M, (p0 >> 32n) ^ c3 ^ k1, p0 & M];
  }
  return [c0, c1, c2, c3].map(Number);
}

describe('Philox4x32-10 block function', () => {
  test('Random123 known-answer vectors', () => {
    expect(hex(philox4x32(0, 0, 0, 0, 0, 0))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const f = 0xffffffff;
    expect(hex(philox4x32(f, f, f, f, f, f))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
  });

  test('agrees with a BigInt reference on pseudo-random inputs', () => {
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
    for (let i = 0; i < 300; i++) {
      const ctr = [next(), next(), next(), next()];
      const key = [next(), next()];
      expect(Array.from(philox4x32(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]))).toEqual(philoxRef(ctr, key));
    }
  });
});

describe('Philox streams', () => {
  const seed = 2 ** 40 + 987654321; // exercises both key words
  const k0 = seed % 2 ** 32;
  const k1 = Math.floor(seed / 2 ** 32);

  test('uniform and uint32 follow the element definition (incl. offsets past 2^34)', () => {
    for (const offset of [0, 1, 3, 7, 2 ** 34 + 5]) {
      const g = new Philox(seed, offset);
      const raw = g.uint32(9);
      const u = new Philox(seed, offset).uniform(9);
      for (let i = 0; i < 9; i++) {
        const idx = offset + i;
        const b = Math.floor(idx / 4);
        const out = philoxRef([b % 2 ** 32, Math.floor(b / 2 ** 32), 0, 0], [k0, k1]);
        expect(raw[i]).toBe(out[idx % 4]);
        expect(u[i]).toBe((out[idx % 4] >>> 8) * 2 ** -24);
      }
      expect(g.offset).toBe(offset + 9);
    }
  });

  test('normal follows the element definition (Box-Muller, counter word 2 = 1)', () => {
    for (const offset of [0, 1, 2 ** 33 + 1]) {
      const z = new Philox(seed, offset).normal(7);
      for (let i = 0; i < 7; i++) {
        const idx = offset + i;
        const b = Math.floor(idx / 2);
        const out = philoxRef([b % 2 ** 32, Math.floor(b / 2 ** 32), 1, 0], [k0, k1]);
        const u1 = ((out[0] >>> 8) + 1) * 2 ** -24;
        const u2 = (out[1] >>> 8) * 2 ** -24;
        const r = Math.sqrt(-2 * Math.log(u1));
        const v = idx % 2 === 0 ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
        expect(z[i]).toBe(Math.fround(v));
      }
    }
  });

  test('split calls equal one call: uniform(10) + uniform(5) == uniform(15)', () => {
    const g = new Philox(7);
    const a = g.uniform(10);
    const b = g.uniform(5);
    expect(g.offset).toBe(15);
    const all = new Philox(7).uniform(15);
    expect(Array.from(a)).toEqual(Array.from(all.subarray(0, 10)));
    expect(Array.from(b)).toEqual(Array.from(all.subarray(10)));
    // and a generator started at an offset continues the same stream
    expect(Array.from(new Philox(7, 10).uniform(5))).toEqual(Array.from(b));
  });

  test('normal advances by n rounded up to even; pairs line up across calls', () => {
    const g = new Philox(3);
    const a = g.normal(3);
    expect(g.offset).toBe(4);
    const b = g.normal(2);
    expect(g.offset).toBe(6);
    const all = new Philox(3).normal(6);
    expect(Array.from(a)).toEqual(Array.from(all.subarray(0, 3)));
    expect(Array.from(b)).toEqual(Array.from(all.subarray(4, 6)));
  });

  test('different seeds give different streams', () => {
    expect(Array.from(new Philox(1).uint32(8))).not.toEqual(Array.from(new Philox(2).uint32(8)));
    expect(Array.from(new Philox(1).uint32(8))).not.toEqual(Array.from(new Philox(2 ** 32 + 1).uint32(8)));
  });

  test('distribution sanity: 100k uniforms and normals', () => {
    const n = 100000;
    const u = new Philox(42).uniform(n);
    let m = 0, v = 0, lo = 1, hi = 0;
    for (const x of u) { m += x; lo = Math.min(lo, x); hi = Math.max(hi, x); }
    m /= n;
    for (const x of u) v += (x - m) ** 2;
    v /= n;
    expect(Math.abs(m - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(v - 1 / 12)).toBeLessThan(0.002);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    // decile histogram roughly flat
    const hist = new Array(10).fill(0);
    for (const x of u) hist[Math.floor(x * 10)]++;
    for (const h of hist) expect(Math.abs(h - n / 10)).toBeLessThan(500);

    const z = new Philox(42).normal(n);
    let zm = 0, zv = 0, within1 = 0;
    for (const x of z) { zm += x; if (Math.abs(x) < 1) within1++; }
    zm /= n;
    for (const x of z) zv += (x - zm) ** 2;
    zv /= n;
    expect(Math.abs(zm)).toBeLessThan(0.015);
    expect(Math.abs(zv - 1)).toBeLessThan(0.02);
    expect(Math.abs(within1 / n - 0.6827)).toBeLessThan(0.006);
  });

  test('bernoulli: scalar and per-element probabilities, rate, and consistency with uniform', () => {
    const u = new Philox(9).uniform(1000);
    const b = new Philox(9).bernoulli(0.3, 1000);
    for (let i = 0; i < 1000; i++) expect(b[i]).toBe(u[i] < 0.3 ? 1 : 0);
    const p = new Float32Array(1000).map((_, i) => (i % 2 ? 0 : 1));
    const bp = new Philox(9).bernoulli(p);
    for (let i = 0; i < 1000; i++) expect(bp[i]).toBe(i % 2 ? 0 : 1);
    const many = new Philox(5).bernoulli(0.25, 100000);
    const rate = many.reduce((s, x) => s + x, 0) / 100000;
    expect(Math.abs(rate - 0.25)).toBeLessThan(0.005);
    const g = new Philox(1);
    g.bernoulli(0.5, 6);
    expect(g.offset).toBe(6);
  });

  test('errors name the problem and the fix', () => {
    expect(() => new Philox(-1)).toThrow(/seed must be an integer with 0 <= seed < 2\^53, got -1/);
    expect(() => new Philox(1.5)).toThrow(/got 1.5/);
    expect(() => new Philox(2 ** 53)).toThrow(/seed/);
    expect(() => new Philox(0, -2)).toThrow(/offset must be/);
    expect(() => new Philox(0).uniform(-1)).toThrow(/non-negative integer/);
    expect(() => new Philox(0).bernoulli(1.5, 3)).toThrow(/outside|\[0, 1\]/);
    expect(() => new Philox(0).bernoulli(0.5)).toThrow(/pass the count/);
    expect(() => new Philox(0).bernoulli(new Float32Array([0.1, 2]))).toThrow(/probability 1 is 2/);
    expect(() => new Philox(0).bernoulli(new Float32Array(3), 4)).toThrow(/3 probabilities but n = 4/);
    expect(() => new Philox(0, Number.MAX_SAFE_INTEGER - 1).uniform(5)).toThrow(/pass 2\^53/);
  });
});

describe('shuffle', () => {
  const iota = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

  test('follows the Fisher-Yates spec with u = x * 2^-32', () => {
    const n = 50;
    const raw = new Philox(11, 4).uint32(n - 1);
    const want = Array.from(iota(n));
    for (let i = n - 1, k = 0; i >= 1; i--, k++) {
      const j = Math.floor((raw[k] / 2 ** 32) * (i + 1));
      [want[i], want[j]] = [want[j], want[i]];
    }
    expect(Array.from(shuffle(iota(n), 11, 4))).toEqual(want);
  });

  test('is a deterministic permutation, does not mutate, and depends on the seed', () => {
    const x = iota(1000);
    const a = shuffle(x, 5);
    expect(Array.from(x)).toEqual(Array.from(iota(1000)));
    expect(Array.from(a).sort((p, q) => p - q)).toEqual(Array.from(x));
    expect(Array.from(shuffle(x, 5))).toEqual(Array.from(a));
    expect(Array.from(shuffle(x, 6))).not.toEqual(Array.from(a));
    expect(Array.from(a)).not.toEqual(Array.from(x));
  });

  test('all permutations of 3 are about equally likely', () => {
    const counts = new Map<string, number>();
    for (let s = 0; s < 6000; s++) {
      const k = shuffle(iota(3), s).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
});
