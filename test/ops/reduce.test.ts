// Reductions: sum/mean/max/min over single, multiple (contiguous and not), and all dims, keepdim,
// max/argmax indices; forward against JS references and gradient checks.
import { ops, tensor, Tensor } from '../../lib';
import { runAddonChild } from '../helpers/addon-child';
import { distinctData, expectGradcheck, randomData } from '../helpers/gradcheck';

type Red = 'sum' | 'mean' | 'max' | 'min';

/** JS reference reduction of data (shape) over dims. Returns the kept-dim shape and the values. */
function reduceRef(data: number[], shape: number[], dims: number[], kind: Red) {
  const nd = shape.length;
  const outShape = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const n = outShape.reduce((a, b) => a * b, 1);
  const acc: number[][] = Array.from({ length: n }, () => []);
  const total = data.length;
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    const coord = new Array<number>(nd);
    for (let d = nd - 1; d >= 0; d--) {
      coord[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    let o = 0;
    for (let d = 0; d < nd; d++) o = o * outShape[d] + (dims.includes(d) ? 0 : coord[d]);
    acc[o].push(data[flat]);
  }
  const values = acc.map((v) =>
    kind === 'sum' ? v.reduce((a, b) => a + b, 0)
      : kind === 'mean' ? v.reduce((a, b) => a + b, 0) / v.length
        : kind === 'max' ? Math.max(...v) : Math.min(...v),
  );
  return { outShape, values, groups: acc };
}

const fnOf = (kind: Red) => ({ sum: ops.sum, mean: ops.mean, max: ops.max, min: ops.min })[kind];

describe('reductions: forward', () => {
  const shape = [3, 4, 5];
  const data = Array.from(Float32Array.from(randomData(60, 41, -2, 2)));
  const x = tensor(data, shape);
  const dimSets: (number[] | undefined)[] = [[0], [1], [2], [-1], [0, 1], [1, 2], [0, 2], [2, 0], undefined];
  for (const kind of ['sum', 'mean', 'max', 'min'] as Red[])
    for (const dims of dimSets)
      for (const keepdim of [false, true])
        test(`${kind} over ${dims ? `[${dims}]` : 'all'} keepdim=${keepdim}`, () => {
          const nd = dims ? dims.map((d) => (d < 0 ? d + 3 : d)) : [0, 1, 2];
          const ref = reduceRef(data, shape, nd, kind);
          const y = fnOf(kind)(x, dims, keepdim);
          const wantShape = keepdim ? ref.outShape : shape.filter((_, i) => !nd.includes(i));
          expect(y.shape).toEqual(wantShape);
          const got = y.toFloat32Array();
          expect(got.length).toBe(ref.values.length);
          ref.values.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
        });

  test('method forms and a 0-d result', () => {
    const t = tensor([[1, 2], [3, 4]]);
    expect(t.sum().shape).toEqual([]);
    expect(t.sum().item()).toBe(10);
    expect(t.mean().item()).toBe(2.5);
    expect(t.max().item()).toBe(4);
    expect(t.min(1).toArray()).toEqual([1, 3]);
    expect(t.sum(0, true).toArray()).toEqual([[4, 6]]);
  });

  test('sums of many values are accurate (double accumulation)', () => {
    const n = 100000;
    const t = tensor(new Float32Array(n).fill(0.1));
    expect(t.sum().item()).toBeCloseTo(n * Math.fround(0.1), 1);
    expect(t.mean().item()).toBeCloseTo(Math.fround(0.1), 6);
  });

  test('max with indices and argmax agree with a JS scan', () => {
    const d = distinctData(24, 42);
    const t = tensor(d, [2, 3, 4]);
    for (const dim of [0, 1, 2]) {
      const { values, indices } = ops.maxWithIndices(t, dim);
      expect(indices.dtype).toBe('int32');
      const ref = reduceRef(d, [2, 3, 4], [dim], 'max');
      const idxRef = ref.groups.map((g) => g.indexOf(Math.max(...g)));
      expect(Array.from(indices.toInt32Array())).toEqual(idxRef);
      ref.values.forEach((v, i) => expect(values.toFloat32Array()[i]).toBeCloseTo(v, 6));
      expect(Array.from(ops.argmax(t, dim).toInt32Array())).toEqual(idxRef);
      expect(ops.argmax(t, dim, true).shape).toEqual([2, 3, 4].map((s, i) => (i === dim ? 1 : s)));
    }
    const flatArg = ops.argmax(t).toInt32Array();
    expect(flatArg[0]).toBe(d.indexOf(Math.max(...d)));
    expect(tensor([[1, 9, 3], [7, 2, 8]]).argmax(1).toArray()).toEqual([1, 2]);
  });

  test('ties: argmax takes the first maximum; max gradient is shared among the tied elements', () => {
    const t = tensor([[2, 5, 5, 1]], undefined, { requiresGrad: true });
    expect(Array.from(ops.argmax(t, 1).toInt32Array())).toEqual([1]);
    t.max(1).sum().backward();
    expect(Array.from(t.grad!.toFloat32Array())).toEqual([0, 0.5, 0.5, 0]);
  });

  test('variance (unbiased by default, biased on request)', () => {
    const d = [1, 2, 4, 7, 3, 5];
    const m = d.reduce((a, b) => a + b) / 6;
    const ss = d.reduce((a, b) => a + (b - m) ** 2, 0);
    expect(ops.variance(tensor(d)).item()).toBeCloseTo(ss / 5, 5);
    expect(ops.variance(tensor(d), 0, { unbiased: false }).item()).toBeCloseTo(ss / 6, 5);
    expect(ops.variance(tensor(d, [2, 3]), 1, { keepdim: true }).shape).toEqual([2, 1]);
  });

  test('bad dims give clear errors', () => {
    const t = tensor([[1, 2], [3, 4]]);
    expect(() => t.sum(2)).toThrow(/sum: dim 2 is out of range/);
    expect(() => t.max([1, -1])).toThrow(/max.*repeat/);
  });
});

describe('reductions: gradients', () => {
  const shape = [3, 4, 5];
  const smooth = { data: randomData(60, 43), shape };
  const distinct = { data: distinctData(60, 44), shape };
  const dimSets: (number[] | undefined)[] = [[1], [-1], [0, 1], [1, 2], [0, 2], undefined];
  for (const kind of ['sum', 'mean', 'max', 'min'] as Red[])
    test(`${kind}: single, contiguous, non-contiguous and all dims, keepdim both ways`, () => {
      const input = kind === 'sum' || kind === 'mean' ? smooth : distinct;
      for (const dims of dimSets)
        for (const keepdim of [false, true]) expectGradcheck((x: Tensor) => fnOf(kind)(x, dims, keepdim), [input]);
    });

  test('variance has a gradient', () => {
    expectGradcheck((x) => ops.variance(x, [0, 2]), [{ data: randomData(24, 45), shape: [2, 3, 4] }]);
  });
});

describe('large sizes (multi-threaded kernels)', () => {
  test('sum / max / argmax / mean over [300, 257] and [40, 50, 60] match JS loops', () => {
    const a = Array.from(Float32Array.from(randomData(300 * 257, 81)));
    const A = tensor(a, [300, 257]);
    const s0 = A.sum(0).toFloat32Array(), m1 = A.max(1).toFloat32Array(), am = ops.argmax(A, 0).toInt32Array();
    for (let j = 0; j < 257; j++) {
      let s = 0, bi = 0;
      for (let i = 0; i < 300; i++) {
        s += a[i * 257 + j];
        if (a[i * 257 + j] > a[bi * 257 + j]) bi = i;
      }
      expect(Math.abs(s0[j] - s)).toBeLessThan(1e-4);
      expect(am[j]).toBe(bi);
    }
    for (let i = 0; i < 300; i++) expect(m1[i]).toBe(Math.max(...a.slice(i * 257, (i + 1) * 257)));
    const x = Array.from(Float32Array.from(randomData(40 * 50 * 60, 82)));
    const M = tensor(x, [40, 50, 60]).mean([0, 2]).toFloat32Array();
    for (let j = 0; j < 50; j++) {
      let s = 0;
      for (let i = 0; i < 40; i++) for (let k = 0; k < 60; k++) s += x[i * 3000 + j * 60 + k];
      expect(M[j]).toBeCloseTo(s / 2400, 5);
    }
  });

  test('reductions over an outer dim with long rows (column runs split across threads) match a float64 scan exactly', () => {
    // [3, 7, 1100] over dim 1: three outer blocks, 1100 columns = runs of 512 + 512 + 76; [5, 20000] over
    // dim 0: one outer block, many runs; [30000, 100] over dim 0: tall and narrow, one run; [8200, 300]
    // over dim 0: long columns, few of them, split over the threads in runs of at least 128 columns. Sums
    // accumulate in float64 in ascending order, so the float32 results are the rounded float64 sums, bit
    // for bit.
    for (const [shape, dim] of [[[3, 7, 1100], 1], [[5, 20000], 0], [[30000, 100], 0], [[8200, 300], 0]] as [number[], number][]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const x = Float32Array.from(randomData(n, 90 + dim + shape.length));
      x[shape.length === 3 ? 2 * 7 * 1100 + 3 * 1100 + 1099 : n - 1] = NaN; // NaN wins max and min
      const X = tensor(x, shape);
      const outer = shape.slice(0, dim).reduce((p, d) => p * d, 1), R = shape[dim], inner = n / outer / R;
      const s = X.sum(dim).toFloat32Array(), m = X.mean(dim).toFloat32Array();
      const mx = ops.maxWithIndices(X, dim), mn = X.min(dim).toFloat32Array();
      const mxv = mx.values.toFloat32Array(), mxi = mx.indices.toInt32Array();
      const bad: string[] = [];
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = 0, best = x[o * R * inner + i], bi = 0, lo = best;
          for (let r = 0; r < R; r++) {
            const v = x[(o * R + r) * inner + i];
            acc += v;
            if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) { best = v; bi = r; }
            if (v < lo || (Number.isNaN(v) && !Number.isNaN(lo))) lo = v;
          }
          const k = o * inner + i;
          const ok = Object.is(s[k], Math.fround(acc)) && Object.is(m[k], Math.fround(acc * (1 / R))) &&
            Object.is(mxv[k], Math.fround(best)) && mxi[k] === bi && Object.is(mn[k], Math.fround(lo));
          if (!ok) bad.push(`${shape} dim ${dim} at ${k}: sum ${s[k]} vs ${acc}, max ${mxv[k]}@${mxi[k]} vs ${best}@${bi}, min ${mn[k]} vs ${lo}`);
        }
      }
      expect(bad.slice(0, 5)).toEqual([]);
    }
  });

  test('sums over contiguous elements (the last dim, a whole tensor) keep the one order, bit for bit', () => {
    // The order of native/cpu/column_sum.h: float64, ascending within blocks of 8192, the block sums added
    // in order to 0. The CPU sums these rows eight side by side (sum_rows_f64) and splits long ones into
    // their blocks over the threads; neither may change a bit. Rows: 300 of 257 (not a multiple of eight
    // rows), 13 of 3 x 8192 + 100 (blocks and a short last one), 3 of 8192 (one full block), and whole
    // tensors of 5 x 8192 + 17 and 7 elements.
    const blocked = (x: Float32Array, off: number, R: number) => {
      let total = 0;
      for (let b = 0; b < R; b += 8192) {
        let block = 0;
        for (let r = b; r < Math.min(R, b + 8192); r++) block += x[off + r];
        total += block;
      }
      return total;
    };
    for (const [shape, whole] of [[[300, 257], false], [[13, 3 * 8192 + 100], false], [[3, 8192], false], [[5 * 8192 + 17], true], [[7], true]] as [number[], boolean][]) {
      const n = shape.reduce((p, d) => p * d, 1), R = shape[shape.length - 1];
      const x = Float32Array.from(randomData(n, 7 + shape.length + R % 97));
      const rows = whole ? 1 : n / R, len = whole ? n : R;
      // +2^60 and -2^60 in each row: the float64 sum loses the small values added between them, so a sum in
      // any other order (reversed, pairwise, blocks regrouped) gives another result.
      for (let k = 0; k < rows; k++) {
        x[k * len + Math.floor(len / 3)] = 2 ** 60;
        x[k * len + Math.floor((2 * len) / 3)] = -(2 ** 60);
      }
      const X = tensor(x, shape, { device: 'cpu' });  // the CPU's order (the CUDA backend reduces rows in its own)
      const s = (whole ? X.sum() : X.sum(-1)).toFloat32Array(), m = (whole ? X.mean() : X.mean(-1)).toFloat32Array();
      const bad: string[] = [];
      for (let k = 0; k < rows; k++) {
        const acc = blocked(x, k * len, len);
        if (!Object.is(s[k], Math.fround(acc)) || !Object.is(m[k], Math.fround(acc * (1 / len))))
          bad.push(`${shape} row ${k}: sum ${s[k]} vs ${Math.fround(acc)}, mean ${m[k]} vs ${Math.fround(acc / len)}`);
      }
      expect(bad.slice(0, 5)).toEqual([]);
    }
  });
});

describe('max / min on each CPU vector body (AVX-512, AVX2, portable) against an index-order scan', () => {
  // Values from a small set (ties everywhere, -0 beside +0), with +-Inf and NaNs of both signs placed sparsely:
  // the result must be the element a scan in index order keeps (the first NaN, else the first extreme). The
  // shapes cover the contiguous path (a row read as [rows, 16] lanes plus a tail; rows of one and of several
  // 65,536-element blocks; a whole tensor) and the column path (runs of columns that are and are not whole
  // vectors). Each body runs in a child process on the raw addon, selected by FSNN_CPU_NO_AVX512 / _NO_AVX2.
  const cases: { shape: number[]; dim: number; data: Float32Array }[] = [];
  const pool = [-3, -2, -1, -0, 0, 1, 2, 3];
  let s = 97;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const negNaN = new Float32Array(new Uint32Array([0xffc00001]).buffer)[0];
  const make = (shape: number[], dim: number, nanRate: number, infRate: number, values = pool) => {
    const n = shape.reduce((p, d) => p * d, 1);
    const data = Float32Array.from({ length: n }, () => {
      const u = next();
      if (u < nanRate) return u < nanRate / 2 ? NaN : negNaN;
      if (u < nanRate + infRate) return u < nanRate + infRate / 2 ? Infinity : -Infinity;
      return values[Math.floor(next() * values.length)];
    });
    cases.push({ shape, dim, data });
  };
  make([9, 20], 1, 0.02, 0.02);        // rows shorter than two lane rows: scalar only
  make([37, 45], 1, 0.01, 0.02);       // two lane rows and a tail of 13
  make([4, 70003], 1, 0.00002, 0);     // two blocks per row, NaN in some rows only
  make([1, 200003], 1, 0, 0.00001);    // one row over four blocks: ties across blocks
  make([3000, 37], 0, 0.0005, 0.001);  // columns: 37 = 2 x 16 + 5 (and 4 x 8 + 5, 9 x 4 + 1)
  make([20000, 5], 0, 0.0001, 0);      // fewer columns than a vector
  make([70, 300], 0, 0.01, 0.01);
  make([5, 33, 19], 1, 0.003, 0.003);  // an outer and an inner dim
  make([150001], 0, 0.00001, 0);       // a whole tensor
  make([40, 333], 1, 0, 0, [-0, 0]);   // only zeros: the first zero's sign, for max and min alike
  make([333, 40], 0, 0, 0, [-0, 0]);

  // The child gets and returns the exact float32 bits (NaN payloads and -0 included), which JSON numbers would
  // not carry.
  const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  const script = `
    const f32 = (s) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
    const out = input.map((c) => {
      const x = n.fromFloat32(f32(c.bits), c.shape, 'cpu');
      const r = {};
      for (const op of ['max', 'min']) {
        const [v, i] = n.runKernel('reduceWithIndices', [x], { op, dims: [c.dim], keepdim: false });
        const vs = v.toFloat32Array();
        r[op] = { v: Buffer.from(vs.buffer, vs.byteOffset, vs.byteLength).toString('base64'), i: Array.from(i.toInt32Array()) };
      }
      return r;
    });
    process.stdout.write(JSON.stringify({ info: n.info(), out }));`;
  const run = (env: Record<string, string>) => {
    const r = runAddonChild<{ info: { avx2: boolean; avx512: boolean }; out: Record<string, { v: string; i: number[] }>[] }>(
      script, cases.map((c) => ({ shape: c.shape, dim: c.dim, bits: b64(c.data) })), env);
    return {
      info: r.info,
      out: r.out.map((o) => Object.fromEntries(Object.entries(o).map(([op, { v, i }]) => {
        const bytes = Buffer.from(v, 'base64');
        return [op, { v: Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), key), i }];
      }))),
    };
  };
  // a value as the test compares it: finite numbers as numbers, -0, +-Infinity and NaN as strings
  const key = (y: number) => (Number.isFinite(y) && !Object.is(y, -0) ? y : String(Object.is(y, -0) ? '-0' : y));

  test('values and indices, every body the CPU has', () => {
    const bodies = [run({}), run({ FSNN_CPU_NO_AVX512: '1' }), run({ FSNN_CPU_NO_AVX2: '1' })];
    expect(bodies[2].info.avx2).toBe(false);  // the knob reached the addon: the portable bodies ran
    expect(bodies[1].info.avx512).toBe(false);
    cases.forEach((c, ci) => {
      const { shape, dim } = c;
      const x = c.data;
      const outer = shape.slice(0, dim).reduce((p, d) => p * d, 1), R = shape[dim], inner = x.length / outer / R;
      for (const op of ['max', 'min'] as const) {
        const want = { v: [] as (number | string)[], i: [] as number[] };
        for (let o = 0; o < outer; o++)
          for (let j = 0; j < inner; j++) {
            let best = x[o * R * inner + j], bi = 0;
            for (let r = 1; r < R; r++) {
              const v = x[(o * R + r) * inner + j];
              if ((op === 'max' ? v > best : v < best) || (Number.isNaN(v) && !Number.isNaN(best))) { best = v; bi = r; }
            }
            want.v.push(key(best));
            want.i.push(bi);
          }
        bodies.forEach((b, bi) => {
          const got = b.out[ci][op];
          const label = `[${shape}] dim ${dim} ${op} body ${['default', 'no-avx512', 'portable'][bi]}`;
          const bad = want.i.flatMap((_, k) => (got.v[k] === want.v[k] && got.i[k] === want.i[k] ? [] : [`${k}: ${got.v[k]}@${got.i[k]} vs ${want.v[k]}@${want.i[k]}`]));
          expect([label, bad.slice(0, 4)]).toEqual([label, []]);
        });
      }
    });
    // the data does exercise NaN and -0 results
    const all = bodies[0].out.flatMap((r) => [...r.max.v, ...r.min.v]);
    expect(all).toContain('NaN');
    expect(all).toContain('-0');
  });
});
