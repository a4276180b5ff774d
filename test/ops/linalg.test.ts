// matmul: 2-D, batched, broadcast batch dims and all four transpose combinations, against a naive
// triple loop, plus gradient checks.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { ops, tensor } from '../../lib';
import { expectGradcheck, randomData } from '../helpers/gradcheck';
import { native as nativeAddon } from '../../lib/native';
import { getNumThreads, setNumThreads } from '../../lib/threads';

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Naive reference: op(A) op(B) with broadcast batch dims. A/B stored row-major in their given shapes. */
function matmulRef(a: number[], as: number[], b: number[], bs: number[], ta = false, tb = false) {
  const [aR, aC] = as.slice(-2), [bR, bC] = bs.slice(-2);
  const M = ta ? aC : aR, K = ta ? aR : aC, N = tb ? bR : bC;
  const ab = as.slice(0, -2), bb = bs.slice(0, -2);
  const nd = Math.max(ab.length, bb.length);
  const pa = [...Array(nd - ab.length).fill(1), ...ab], pb = [...Array(nd - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const nb = numel(batch);
  const out: number[] = [];
  for (let bi = 0; bi < nb; bi++) {
    let rem = bi, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const c = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      if (pa[d] !== 1) ia += c * sa;
      if (pb[d] !== 1) ib += c * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    const A = (i: number, k: number) => a[ia * aR * aC + (ta ? k * aC + i : i * aC + k)];
    const B = (k: number, j: number) => b[ib * bR * bC + (tb ? j * bC + k : k * bC + j)];
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
        out.push(s);
      }
  }
  return { shape: [...batch, M, N], data: out };
}

function check(as: number[], bs: number[], ta = false, tb = false, seed = 1) {
  const a = Array.from(Float32Array.from(randomData(numel(as), seed)));
  const b = Array.from(Float32Array.from(randomData(numel(bs), seed + 1)));
  const want = matmulRef(a, as, b, bs, ta, tb);
  const y = ops.matmul(tensor(a, as), tensor(b, bs), { transA: ta, transB: tb });
  expect(y.shape).toEqual(want.shape);
  const got = y.toFloat32Array();
  want.data.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
}

describe('matmul: forward vs a triple loop', () => {
  test('2-D, including non-square and vector-like shapes', () => {
    check([3, 4], [4, 5]);
    check([1, 7], [7, 1]);
    check([6, 1], [1, 6]);
    expect(tensor([[1, 2], [3, 4]]).matmul(tensor([[5, 6], [7, 8]])).toArray()).toEqual([[19, 22], [43, 50]]);
  });
  test('all four transpose combinations', () => {
    check([4, 3], [4, 5], true, false, 3);
    check([3, 4], [5, 4], false, true, 5);
    check([4, 3], [5, 4], true, true, 7);
    check([2, 4, 3], [2, 5, 4], true, true, 9);
  });
  test('batched and broadcast batch dims', () => {
    check([2, 3, 4], [2, 4, 5]);
    check([2, 3, 4], [4, 5]);
    check([3, 4], [2, 4, 5]);
    check([2, 1, 3, 4], [5, 4, 2]);
    check([1, 3, 2, 4], [2, 1, 4, 3], false, false, 11);
  });
  test('larger sizes (BLAS path) stay accurate', () => {
    check([33, 65], [65, 31], false, false, 13);
    check([65, 33], [31, 65], true, true, 15);
  });
  test('K = 0 gives zeros', () => {
    const y = ops.matmul(tensor(new Float32Array(0), [2, 0]), tensor(new Float32Array(0), [0, 3]));
    expect(y.toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
  });
  test('shape errors name the op and the sizes', () => {
    expect(() => ops.matmul(tensor(randomData(6, 1), [2, 3]), tensor(randomData(8, 2), [4, 2]))).toThrow(/matmul: inner dimensions differ.*\[2,3\].*\[4,2\]/);
    expect(() => ops.matmul(tensor([1, 2, 3]), tensor([[1], [2], [3]]))).toThrow(/matmul: both operands need at least 2 dims/);
    expect(() => ops.matmul(tensor(randomData(24, 1), [2, 3, 4]), tensor(randomData(60, 2), [3, 4, 5]))).toThrow(/matmul \(batch dims\): cannot broadcast/);
  });
});

describe('matmul: gradients', () => {
  const r = (shape: number[], seed: number) => ({ data: randomData(numel(shape), seed), shape });
  test('2-D', () => {
    expectGradcheck((a, b) => ops.matmul(a, b), [r([3, 4], 1), r([4, 2], 2)]);
  });
  test('all four transpose combinations', () => {
    expectGradcheck((a, b) => ops.matmul(a, b, { transA: true }), [r([4, 3], 3), r([4, 2], 4)]);
    expectGradcheck((a, b) => ops.matmul(a, b, { transB: true }), [r([3, 4], 5), r([2, 4], 6)]);
    expectGradcheck((a, b) => ops.matmul(a, b, { transA: true, transB: true }), [r([4, 3], 7), r([2, 4], 8)]);
  });
  test('batched, broadcast batch, transposed batched', () => {
    expectGradcheck((a, b) => ops.matmul(a, b), [r([2, 3, 4], 9), r([2, 4, 2], 10)]);
    expectGradcheck((a, b) => ops.matmul(a, b), [r([2, 3, 4], 11), r([4, 2], 12)]);
    expectGradcheck((a, b) => ops.matmul(a, b), [r([2, 1, 2, 3], 13), r([3, 3, 2], 14)]);
    expectGradcheck((a, b) => ops.matmul(a, b, { transA: true, transB: true }), [r([2, 3, 2], 15), r([1, 2, 3], 16)]);
    expectGradcheck((a, b) => ops.matmul(a, b, { transB: true }), [r([3, 2, 4], 17), r([2, 4], 18)]);
  });
  test('one operand constant', () => {
    expectGradcheck((a, b) => ops.matmul(a, b), [r([3, 4], 19), { ...r([4, 2], 20), requiresGrad: false }]);
    expectGradcheck((a, b) => ops.matmul(a, b), [{ ...r([3, 4], 21), requiresGrad: false }, r([4, 2], 22)]);
  });
});

describe('the built-in sgemm kernel (FSNN_BLAS=builtin, in a child process: the variable is read by the addon)', () => {
  test('matmul (odd sizes, all transposes, batched) and conv2d forward/backward agree with the default path', () => {
    const cases: { a: number[]; as: number[]; b: number[]; bs: number[]; ta: boolean; tb: boolean }[] = [];
    let seed = 100;
    for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [17, 33, 65], [100, 7, 130], [65, 66, 67], [1, 200, 3], [37, 29, 5000], [67, 45, 300]])
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          const as = ta ? [K, M] : [M, K], bs = tb ? [N, K] : [K, N];
          cases.push({ a: randomData(numel(as), seed++), as, b: randomData(numel(bs), seed++), bs, ta, tb });
        }
    cases.push({ a: randomData(3 * 20 * 30, seed++), as: [3, 20, 30], b: randomData(30 * 17, seed++), bs: [30, 17], ta: false, tb: false });
    cases.push({ a: randomData(2 * 9 * 40, seed++), as: [2, 1, 9, 40], b: randomData(3 * 33 * 40, seed++), bs: [3, 33, 40], ta: false, tb: true });
    const conv = { x: randomData(2 * 8 * 12 * 11, seed++), xs: [2, 8, 12, 11], w: randomData(12 * 4 * 9, seed++), ws: [12, 4, 3, 3],
      args: { strideH: 2, strideW: 1, padH: 1, padW: 2, dilH: 1, dilW: 2, groups: 2 } };
    const root = path.resolve(__dirname, '../..');
    const script = `
      const n = require(${JSON.stringify(path.join(root, 'native', 'loader.js'))}).loadAddon(${JSON.stringify(root)}).addon;
      const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const T = (d, s) => n.fromFloat32(Float32Array.from(d), s, 'cpu');
      const A = (h) => Array.from(h.toFloat32Array());
      const mm = input.cases.map((c) => A(n.runKernel('matmul', [T(c.a, c.as), T(c.b, c.bs)], { transA: c.ta, transB: c.tb })));
      const c = input.conv, x = T(c.x, c.xs), w = T(c.w, c.ws);
      const y = n.runKernel('conv2d', [x, w], c.args);
      const g = n.fromFloat32(Float32Array.from(A(y), (v, i) => Math.sin(i)), y.shape, 'cpu');
      const out = { info: n.info().cpu, mm, conv: [A(y), A(n.runKernel('conv2dBackwardInput', [g, w], { ...c.args, inputShape: c.xs })),
        A(n.runKernel('conv2dBackwardWeight', [g, x], { ...c.args, weightShape: c.ws }))] };
      process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: root,
      input: JSON.stringify({ cases, conv }),
      env: { ...process.env, FSNN_BLAS: 'builtin' },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { info: string; mm: number[][]; conv: number[][] };
    expect(out.info).toContain('sgemm builtin');
    cases.forEach((c, i) => {
      const a = Array.from(Float32Array.from(c.a)), b = Array.from(Float32Array.from(c.b));
      const want = matmulRef(a, c.as, b, c.bs, c.ta, c.tb).data;
      expect(out.mm[i].length).toBe(want.length);
      want.forEach((v, k) => {
        if (!(Math.abs(out.mm[i][k] - v) < 1e-4 * Math.max(1, Math.abs(v)))) throw new Error(`case ${i} element ${k}: ${out.mm[i][k]} vs ${v}`);
      });
    });
    // conv2d in this process (default sgemm) gives the same forward and backward as the built-in kernel.
    const x = tensor(conv.x, conv.xs, { requiresGrad: true }), w = tensor(conv.w, conv.ws, { requiresGrad: true });
    const y = ops.conv2d(x, w, null, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 });
    y.backward(tensor(Float32Array.from({ length: y.numel }, (_, i) => Math.sin(i)), y.shape.slice()));
    [y, x.grad!, w.grad!].forEach((t, k) => {
      const here = t.toFloat32Array();
      expect(out.conv[k].length).toBe(here.length);
      here.forEach((v, i) => {
        if (!(Math.abs(out.conv[k][i] - v) < 1e-4 * Math.max(1, Math.abs(v)))) throw new Error(`conv output ${k} element ${i}: ${out.conv[k][i]} vs ${v}`);
      });
    });
  });
});

// ---- products across the cache blocks of the sgemm kernels ---------------------------------------
// The built-in sgemm (native/cpu/sgemm_builtin.cc) packs K in slices of KC = 256 and in chunks of
// KB = 4096, rows in MC = 144 and micro-tiles of MR x NR = 6 x 16; OpenBLAS has its own blocking.
// These products accumulate across several K slices (and, with K = 5000, across a KB chunk), with M,
// N, K that are not multiples of any tile, in all four transposes, against a float64 triple loop.
// Each element must be within 2e-6 * sum_k |a_ik b_kj| of it: the errors seen are at most 1.3e-7 of
// that sum on both paths (SHOW_ERR=1 prints them; the worst-case bound K * 2^-24 is 3e-4 at K = 5000),
// while a lost or repeated K slice is off by about 1e-3 of it or more.
// This file runs with whichever BLAS path the process has (FSNN_BLAS=builtin forces the built-in one;
// CI runs it both ways), and says which.
/** float64 C = A B for row-major A [M, K], B [K, N], and sum_k |a_ik b_kj| per element. */
function gemm64(a: Float32Array, b: Float32Array, M: number, N: number, K: number) {
  const c = new Float64Array(M * N), mag = new Float64Array(M * N);
  const abs = Math.abs; // a local: global lookups inside jest's vm context are slow in hot loops
  for (let i = 0; i < M; i++)
    for (let k = 0; k < K; k++) {
      const aik = a[i * K + k], o = i * N, bo = k * N;
      for (let j = 0; j < N; j++) {
        const p = aik * b[bo + j];
        c[o + j] += p;
        mag[o + j] += abs(p);
      }
    }
  return { c, mag };
}

/** The [R, C] row-major matrix x stored transposed, [C, R]. */
function transposed(x: Float32Array, R: number, C: number): Float32Array {
  const t = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) t[c * R + r] = x[r * C + c];
  return t;
}

describe('matmul across cache blocks (K slices, K chunks, partial tiles) vs float64, on the active BLAS path', () => {
  const active = nativeAddon.info().blas as string;
  const expected = process.env.FSNN_BLAS === 'builtin' || !nativeAddon.info().openblas ? 'builtin' : 'openblas';
  // eslint-disable-next-line no-console
  console.log(`matmul blocking tests run on the ${active} sgemm (FSNN_BLAS=${process.env.FSNN_BLAS ?? 'unset'})`);
  test('the active path is the one FSNN_BLAS asks for', () => {
    expect(active).toBe(expected);
  });
  const sizes: [number, number, number][] = [
    [300, 200, 600], // 300x600 . 600x200: three K slices, three row blocks
    [37, 29, 5000], // K = 5000: 19 full K slices and a partial one, across the 4096 chunk
    [299, 203, 601], // nothing a multiple of MR, NR, MC, KC
    [7, 161, 259], // M < MR-multiple, N = 10 NR + 1, K = KC + 3
  ];
  let seed = 7000;
  for (const [M, N, K] of sizes) {
    const s = (seed += 2);
    const a = Float32Array.from(randomData(M * K, s)), b = Float32Array.from(randomData(K * N, s + 1));
    let ref: ReturnType<typeof gemm64> | null = null; // computed once per size, on first use
    for (const ta of [false, true])
      for (const tb of [false, true])
        test(`${M}x${K} . ${K}x${N}, transA ${ta}, transB ${tb}`, () => {
          ref ??= gemm64(a, b, M, N, K);
          const A = ta ? transposed(a, M, K) : a, B = tb ? transposed(b, K, N) : b;
          const y = ops.matmul(tensor(A, ta ? [K, M] : [M, K]), tensor(B, tb ? [N, K] : [K, N]), { transA: ta, transB: tb });
          expect(y.shape).toEqual([M, N]);
          const got = y.toFloat32Array();
          let worst = 0, at = 0;
          for (let i = 0; i < M * N; i++) {
            const r = Math.abs(got[i] - ref.c[i]) / ref.mag[i];
            if (!(r <= worst)) { worst = Number.isNaN(r) ? Infinity : r; at = i; }
          }
          if (process.env.SHOW_ERR) console.log(`${M}x${K}x${N} ${ta} ${tb}: ${worst.toExponential(2)}`);
          if (!(worst <= 2e-6)) throw new Error(`element (${Math.floor(at / N)}, ${at % N}): ${got[at]} vs ${ref.c[at]} (error ${worst.toExponential(2)} of sum |a b|)`);
        });
  }
});

// K <= 16 runs the short-inner-dimension kernel (native/cpu/sgemm_small_k.cc) on the CPU, whatever the
// BLAS; K = 17 is the first size past it. M = 3000 rows spread over the pool; N = 37 and 5 leave
// column tails past the 8-wide vectors.
describe('matmul with a short inner dimension (K <= 16) vs float64', () => {
  const sizes: [number, number, number][] = [[3000, 37, 1], [5, 300, 2], [3000, 37, 3], [513, 256, 10], [40, 5, 16], [300, 37, 17]];
  let seed = 8100;
  for (const [M, N, K] of sizes) {
    const s = (seed += 2);
    const a = Float32Array.from(randomData(M * K, s)), b = Float32Array.from(randomData(K * N, s + 1));
    const ref = gemm64(a, b, M, N, K);
    for (const ta of [false, true])
      for (const tb of [false, true])
        test(`${M}x${K} . ${K}x${N}, transA ${ta}, transB ${tb}`, () => {
          const A = ta ? transposed(a, M, K) : a, B = tb ? transposed(b, K, N) : b;
          const y = ops.matmul(tensor(A, ta ? [K, M] : [M, K]), tensor(B, tb ? [N, K] : [K, N]), { transA: ta, transB: tb });
          const got = y.toFloat32Array();
          let worst = 0;
          for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(got[i] - ref.c[i]) / ref.mag[i]);
          expect(worst).toBeLessThanOrEqual(2e-6);
        });
  }
  test('the same bits on 1 and 2 threads (one sum order per output)', () => {
    const M = 4000, N = 45, K = 10;
    const a = tensor(Float32Array.from(randomData(M * K, 77)), [M, K]), b = tensor(Float32Array.from(randomData(K * N, 78)), [K, N]);
    const before = getNumThreads();
    try {
      setNumThreads(1);
      const one = ops.matmul(a, b).toFloat32Array();
      setNumThreads(2);
      const two = ops.matmul(a, b).toFloat32Array();
      expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    } finally {
      setNumThreads(before);
    }
  });
});
