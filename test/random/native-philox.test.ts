// The native Philox (rand / randn / bernoulli / dropout after manualSeed) against the pure-TS
// reference in lib/random/philox.ts: element for element for uniform and bernoulli, within one
// float32 ulp for normal; the global generator reserves whole Philox blocks per draw.
import * as fsnn from '../../lib';
import { Philox } from '../../lib/random/philox';

const bits = new Uint32Array(1);
const fview = new Float32Array(bits.buffer);
/** Distance in float32 ulps (ordered representation). */
function ulpDistance(a: number, b: number): number {
  const ord = (x: number) => {
    fview[0] = x;
    const u = bits[0];
    return u & 0x80000000 ? -(u & 0x7fffffff) : u;
  };
  return Math.abs(ord(a) - ord(b));
}
const roundUp4 = (n: number) => Math.ceil(n / 4) * 4;

/** Exact element-for-element equality (fast for long arrays; reports the first difference). */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i], want[i])) throw new Error(`element ${i}: native ${got[i]} vs reference ${want[i]}`);
}

describe('native Philox vs lib/random/philox.ts', () => {
  test('rand: element for element, several seeds (including seeds >= 2^32), odd sizes, multi-threaded sizes', () => {
    for (const seed of [0, 1, 42, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) {
      fsnn.manualSeed(seed);
      for (const n of [1, 7, 4099, 20011]) {
        const { offset } = fsnn.getRngState();
        const got = fsnn.rand([n]).toFloat32Array();
        const want = new Philox(seed, offset).uniform(n);
        expectSame(got, want);
        expect(fsnn.getRngState().offset).toBe(offset + roundUp4(n));
      }
    }
  });

  test('randn: within 1 float32 ulp, odd and even sizes, after other draws', () => {
    fsnn.manualSeed(777);
    fsnn.rand([3]);  // moves the offset to 4
    for (const n of [1, 2, 5, 1000, 9001]) {
      const { seed, offset } = fsnn.getRngState();
      const got = fsnn.randn([n]).toFloat32Array();
      const want = new Philox(seed, offset).normal(n);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, ulpDistance(got[i], want[i]));
      expect(worst).toBeLessThanOrEqual(1);
      expect(fsnn.getRngState().offset).toBe(offset + roundUp4(n + (n % 2)));
    }
  });

  test('bernoulli: element for element against Philox.bernoulli', () => {
    for (const p of [0.3, 0.5, 0.75]) {
      fsnn.manualSeed(99);
      fsnn.randn([3]);
      const { seed, offset } = fsnn.getRngState();
      const got = fsnn.bernoulli([40, 51], p).toFloat32Array();
      const want = new Philox(seed, offset).bernoulli(p, 40 * 51);
      expectSame(got, want);
    }
    fsnn.manualSeed(5);
    expect(Array.from(fsnn.bernoulli([100], 0).toFloat32Array()).every((v) => v === 0)).toBe(true);
    expect(Array.from(fsnn.bernoulli([100], 1).toFloat32Array()).every((v) => v === 1)).toBe(true);
    expect(() => fsnn.bernoulli([2], 1.5)).toThrow(/bernoulli: probability 1.5 is outside \[0, 1\]/);
  });

  test('a sequence of draws matches the reference stream walked with the same reservations', () => {
    fsnn.manualSeed(31337);
    const u1 = fsnn.rand([2, 3]).toFloat32Array();
    const n1 = fsnn.randn([5]).toFloat32Array();
    const b1 = fsnn.bernoulli([9], 0.5).toFloat32Array();
    const u2 = fsnn.uniform([4], -2, 3).toFloat32Array();
    expect(Array.from(u1)).toEqual(Array.from(new Philox(31337, 0).uniform(6)));
    const refN = new Philox(31337, 8).normal(5);
    n1.forEach((v, i) => expect(ulpDistance(v, refN[i])).toBeLessThanOrEqual(1));
    expect(Array.from(b1)).toEqual(Array.from(new Philox(31337, 16).bernoulli(0.5, 9)));
    const refU = new Philox(31337, 28).uniform(4);
    u2.forEach((v, i) => expect(v).toBeCloseTo(refU[i] * 5 - 2, 6));
  });

  test('dropout draws its mask from the same stream: Philox(seed, offset).bernoulli(1 - p)', () => {
    fsnn.manualSeed(8);
    fsnn.rand([5]);
    const { seed, offset } = fsnn.getRngState();
    const y = fsnn.ops.dropout(fsnn.ones([7, 9]), 0.25).toFloat32Array();
    const mask = new Philox(seed, offset).bernoulli(0.75, 63);
    expectSame(Array.from(y, (v) => (v === 0 ? 0 : 1)), mask);
    expect(fsnn.getRngState().offset).toBe(offset + 64);
  });

  test('same seed gives the same numbers; setRngState replays; different seeds differ', () => {
    const draw = () => [fsnn.rand([50]), fsnn.randn([31]), fsnn.bernoulli([17], 0.4)].map((t) => Array.from(t.toFloat32Array()));
    fsnn.manualSeed(2024);
    const a = draw();
    fsnn.manualSeed(2024);
    const b = draw();
    expect(b).toEqual(a);
    fsnn.manualSeed(2024);
    fsnn.rand([50]);
    const state = fsnn.getRngState();
    const rest = [fsnn.randn([31]), fsnn.bernoulli([17], 0.4)].map((t) => Array.from(t.toFloat32Array()));
    fsnn.setRngState(state);
    expect([fsnn.randn([31]), fsnn.bernoulli([17], 0.4)].map((t) => Array.from(t.toFloat32Array()))).toEqual(rest);
    expect(rest).toEqual(a.slice(1));
    fsnn.manualSeed(2025);
    expect(draw()[0]).not.toEqual(a[0]);
    // Successive draws differ.
    fsnn.manualSeed(1);
    expect(Array.from(fsnn.rand([8]).toFloat32Array())).not.toEqual(Array.from(fsnn.rand([8]).toFloat32Array()));
  });

  test('shapes and basic statistics', () => {
    fsnn.manualSeed(3);
    const u = fsnn.rand([100, 100]);
    expect(u.shape).toEqual([100, 100]);
    const uv = u.toFloat32Array();
    expect(Math.min(...uv)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uv)).toBeLessThan(1);
    expect(u.mean().item()).toBeCloseTo(0.5, 2);
    const z = fsnn.randn([200, 100]);
    expect(z.mean().item()).toBeCloseTo(0, 1);
    expect(z.square().mean().item()).toBeCloseTo(1, 1);
    expect(fsnn.rand([]).shape).toEqual([]);
    expect(fsnn.rand([0, 3]).numel).toBe(0);
  });
});

describe('reproducible across processes and thread counts', () => {
  test('a fresh process with FSNN_NUM_THREADS=1 draws the same numbers', () => {
    const { spawnSync } = require('child_process') as typeof import('child_process');
    const path = require('path') as typeof import('path');
    const root = path.resolve(__dirname, '../..');
    // The child loads the addon through the package's loader (no TypeScript) and draws with the (seed, offset) pairs the
    // global generator reserves: [0, 9000) uniform, [9000, 14004) normal, [14004, ...) bernoulli.
    const script = `
      const n = require(${JSON.stringify(path.join(root, 'native', 'loader.js'))}).loadAddon(${JSON.stringify(root)}).addon;
      const draw = (kind, shape, offset, p) => n.runKernel('random', [], { kind, shape, seed: 2024, offset, p, device: 'cpu' });
      const out = [draw('uniform', [9000], 0, 0), draw('normal', [5001], 9000, 0),
        draw('bernoulli', [333], 14004, 0.3)].map((t) => Array.from(t.toFloat32Array()));
      process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: root,
      env: { ...process.env, FSNN_NUM_THREADS: '1' },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const child = JSON.parse(r.stdout) as number[][];
    fsnn.manualSeed(2024);
    const here = [fsnn.rand([9000]), fsnn.randn([5001]), fsnn.bernoulli([333], 0.3)].map((t) => t.toFloat32Array());
    expect(fsnn.getRngState().offset).toBe(14004 + 336);
    here.forEach((h, k) => expectSame(child[k], h));
  });
});
