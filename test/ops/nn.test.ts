// Neural-network ops: softmax family, losses, linear, conv2d, pooling, batch norm, dropout —
// forward values against direct loops and gradient checks.
import * as fsnn from '../../lib';
import { ops, tensor, Tensor } from '../../lib';
import { distinctData, expectGradcheck, randomData } from '../helpers/gradcheck';

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const rin = (shape: number[], seed: number, lo = -1, hi = 1) => ({ data: randomData(numel(shape), seed, lo, hi), shape });
const f32 = (d: number[]) => Array.from(Float32Array.from(d));

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-4) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i]))))
      throw new Error(`element ${i}: got ${got[i]}, want ${want[i]}`);
}

interface ConvOpts { stride?: [number, number]; padding?: [number, number]; dilation?: [number, number]; groups?: number }
function conv2dRef(x: number[], xs: number[], w: number[], ws: number[], b: number[] | null, o: ConvOpts) {
  const [N, C, H, W] = xs, [O, Cg, KH, KW] = ws;
  const [sh, sw] = o.stride ?? [1, 1], [ph, pw] = o.padding ?? [0, 0], [dh, dw] = o.dilation ?? [1, 1], G = o.groups ?? 1;
  const OH = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  const out: number[] = [];
  const opg = O / G;
  for (let n = 0; n < N; n++)
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / opg);
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let s = b ? b[oc] : 0;
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < KH; kh++)
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += x[((n * C + g * Cg + c) * H + ih) * W + iw] * w[((oc * Cg + c) * KH + kh) * KW + kw];
              }
          out.push(s);
        }
    }
  return { shape: [N, O, OH, OW], data: out };
}

interface PoolOpts { stride?: [number, number]; padding?: [number, number]; ceilMode?: boolean; countIncludePad?: boolean }
function poolRef(kind: 'max' | 'avg', x: number[], xs: number[], k: [number, number], o: PoolOpts) {
  const [N, C, H, W] = xs, [kh, kw] = k;
  const [sh, sw] = o.stride ?? k, [ph, pw] = o.padding ?? [0, 0];
  const size = (n: number, kk: number, s: number, p: number) => {
    let r = (o.ceilMode ? Math.ceil((n + 2 * p - kk) / s) : Math.floor((n + 2 * p - kk) / s)) + 1;
    if (o.ceilMode && (r - 1) * s >= n + p) r--;
    return r;
  };
  const OH = size(H, kh, sh, ph), OW = size(W, kw, sw, pw);
  const out: number[] = [];
  for (let q = 0; q < N * C; q++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        const h0 = oh * sh - ph, w0 = ow * sw - pw;
        const h1 = Math.min(h0 + kh, H + ph), w1 = Math.min(w0 + kw, W + pw);
        let best = -Infinity, sum = 0, cnt = 0;
        for (let ih = Math.max(h0, 0); ih < Math.min(h1, H); ih++)
          for (let iw = Math.max(w0, 0); iw < Math.min(w1, W); iw++) {
            const v = x[q * H * W + ih * W + iw];
            best = Math.max(best, v);
            sum += v;
            cnt++;
          }
        const div = (o.countIncludePad ?? true) ? (h1 - h0) * (w1 - w0) : cnt;
        out.push(kind === 'max' ? best : sum / div);
      }
  return { shape: [N, C, OH, OW], data: out };
}

describe('softmax family and losses', () => {
  test('softmax rows sum to 1 and match exp(x)/sum exp(x), on any dim; large logits are stable', () => {
    const d = f32(randomData(24, 1, -5, 5));
    const x = tensor(d, [2, 3, 4]);
    for (const dim of [0, 1, 2, -1]) {
      const y = x.softmax(dim);
      const s = y.sum(dim).toFloat32Array();
      s.forEach((v) => expect(v).toBeCloseTo(1, 5));
      const ls = x.logSoftmax(dim).exp();
      expectClose(ls.toFloat32Array(), y.toFloat32Array(), 1e-5);
    }
    const row = [1, 2, 3, 4];
    const e = row.map(Math.exp), z = e.reduce((a, b) => a + b);
    expectClose(tensor([row]).softmax().toFloat32Array(), e.map((v) => v / z), 1e-6);
    expectClose(tensor([row]).logSoftmax().toFloat32Array(), row.map((v) => v - Math.log(z)), 1e-6);
    const big = tensor([[1000, 1001, 1002]]).softmax().toFloat32Array();
    expect(Array.from(big).every(Number.isFinite)).toBe(true);
    expectClose(big, [e[0] / (e[0] + e[1] + e[2]), e[1] / (e[0] + e[1] + e[2]), e[2] / (e[0] + e[1] + e[2])], 1e-5);
  });

  test('crossEntropy / nllLoss / mseLoss values', () => {
    const logits = [[2, 0.5, -1], [0.1, 0.2, 3], [1, 1, 1]];
    const labels = Int32Array.from([0, 2, 1]);
    const per = logits.map((r, i) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0)) - r[labels[i]]);
    const x = tensor(logits);
    expect(ops.crossEntropy(x, labels).item()).toBeCloseTo(per.reduce((a, b) => a + b) / 3, 5);
    expect(ops.crossEntropy(x, labels, { reduction: 'sum' }).item()).toBeCloseTo(per.reduce((a, b) => a + b), 5);
    expectClose(ops.crossEntropy(x, labels, { reduction: 'none' }).toFloat32Array(), per, 1e-5);
    expect(ops.nllLoss(x.logSoftmax(1), labels).item()).toBeCloseTo(per.reduce((a, b) => a + b) / 3, 5);
    expect(ops.nllLoss(x, labels, { reduction: 'sum' }).item()).toBeCloseTo(-(2 + 3 + 1), 5);
    const a = tensor([1, 2, 3]), b = tensor([1.5, 2, 1]);
    expect(ops.mseLoss(a, b).item()).toBeCloseTo((0.25 + 0 + 4) / 3, 6);
    expect(ops.mseLoss(a, b, { reduction: 'sum' }).item()).toBeCloseTo(4.25, 6);
    expect(() => ops.mseLoss(a, tensor([1, 2]))).toThrow(/mseLoss: input \[3\] and target \[2\] must have the same shape/);
    expect(() => ops.crossEntropy(x, labels, { reduction: 'avg' as 'mean' })).toThrow(/reduction 'avg' is unknown/);
  });

  test('gradients: softmax, logSoftmax on every dim', () => {
    const X = rin([2, 3, 4], 2, -2, 2);
    for (const d of [0, 1, 2]) {
      expectGradcheck((x) => x.softmax(d), [X]);
      expectGradcheck((x) => x.logSoftmax(d), [X]);
    }
  });

  test('gradients: crossEntropy (mean, sum, none), nllLoss, mseLoss', () => {
    const L = rin([4, 5], 3, -2, 2);
    const labels = Int32Array.from([4, 0, 2, 2]);
    expectGradcheck((x) => ops.crossEntropy(x, labels), [L]);
    expectGradcheck((x) => ops.crossEntropy(x, labels, { reduction: 'sum' }), [L]);
    expectGradcheck((x) => ops.crossEntropy(x, labels, { reduction: 'none' }), [L]);
    expectGradcheck((x) => ops.nllLoss(x, labels), [L]);
    expectGradcheck((x) => ops.nllLoss(x.logSoftmax(1), labels, { reduction: 'sum' }), [L]);
    expectGradcheck((x, t) => ops.mseLoss(x, t), [L, rin([4, 5], 4)]);
    expectGradcheck((x, t) => ops.mseLoss(x, t, { reduction: 'sum' }), [L, rin([4, 5], 5)]);
    // The crossEntropy gradient is (softmax - onehot) / N.
    const x = tensor(L.data, L.shape, { requiresGrad: true });
    ops.crossEntropy(x, labels).backward();
    const p = x.softmax(1).toFloat32Array();
    const want = Array.from(p, (v, i) => (v - (labels[Math.floor(i / 5)] === i % 5 ? 1 : 0)) / 4);
    expectClose(x.grad!.toFloat32Array(), want, 1e-5);
  });
});

describe('linear', () => {
  test('forward: y = x W^T + b over the last dim of a 3-d input', () => {
    const x = f32(randomData(24, 6)), w = f32(randomData(12, 7)), b = f32(randomData(3, 8));
    const y = ops.linear(tensor(x, [2, 3, 4]), tensor(w, [3, 4]), tensor(b, [3]));
    expect(y.shape).toEqual([2, 3, 3]);
    const want: number[] = [];
    for (let r = 0; r < 6; r++)
      for (let o = 0; o < 3; o++) {
        let s = b[o];
        for (let k = 0; k < 4; k++) s += x[r * 4 + k] * w[o * 4 + k];
        want.push(s);
      }
    expectClose(y.toFloat32Array(), want, 1e-5);
    expect(() => ops.linear(tensor(x, [6, 4]), tensor(w, [4, 3]))).toThrow(/linear: input \[6,4\] has 4 features but the weight \[4,3\] expects 3/);
  });
  test('gradients: 2-d and 3-d input, with and without bias', () => {
    expectGradcheck((x, w, b) => ops.linear(x, w, b), [rin([2, 3, 4], 9), rin([5, 4], 10), rin([5], 11)]);
    expectGradcheck((x, w) => ops.linear(x, w), [rin([3, 4], 12), rin([2, 4], 13)]);
  });
});

describe('conv2d', () => {
  const cases: [string, number[], number[], ConvOpts, boolean][] = [
    ['plain', [2, 3, 5, 5], [4, 3, 3, 3], {}, true],
    ['stride 2, padding 1', [1, 2, 6, 5], [3, 2, 3, 3], { stride: [2, 2], padding: [1, 1] }, true],
    ['asymmetric stride/padding/kernel', [1, 2, 5, 6], [2, 2, 2, 3], { stride: [1, 2], padding: [0, 2] }, false],
    ['dilation 2', [1, 2, 7, 7], [2, 2, 3, 3], { dilation: [2, 2], padding: [1, 1] }, true],
    ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: [1, 1] }, true],
    ['depthwise (groups = C)', [1, 3, 4, 4], [3, 1, 3, 3], { groups: 3, stride: [2, 2], padding: [1, 1] }, false],
    ['1x1', [2, 3, 3, 3], [2, 3, 1, 1], {}, true],
  ];
  for (const [name, xs, ws, o, bias] of cases) {
    test(`forward vs a direct loop: ${name}`, () => {
      const x = f32(randomData(numel(xs), 14)), w = f32(randomData(numel(ws), 15)), b = bias ? f32(randomData(ws[0], 16)) : null;
      const want = conv2dRef(x, xs, w, ws, b, o);
      const y = ops.conv2d(tensor(x, xs), tensor(w, ws), b ? tensor(b, [ws[0]]) : null, o);
      expect(y.shape).toEqual(want.shape);
      expectClose(y.toFloat32Array(), want.data, 1e-4);
    });
  }
  test('gradients: stride, padding, dilation, groups, bias', () => {
    expectGradcheck((x, w, b) => ops.conv2d(x, w, b, { stride: 2, padding: 1 }), [rin([1, 2, 5, 5], 17), rin([3, 2, 3, 3], 18), rin([3], 19)]);
    expectGradcheck((x, w) => ops.conv2d(x, w, null, { dilation: 2, padding: [1, 0] }), [rin([1, 2, 6, 5], 20), rin([2, 2, 2, 2], 21)]);
    expectGradcheck((x, w, b) => ops.conv2d(x, w, b, { groups: 2, padding: 1 }), [rin([2, 4, 4, 4], 22), rin([4, 2, 3, 3], 23), rin([4], 24)]);
    expectGradcheck((x, w) => ops.conv2d(x, w, null, { stride: [2, 1] }), [rin([1, 1, 5, 4], 25), rin([2, 1, 3, 2], 26)]);
  });
  test('argument errors name the op', () => {
    expect(() => ops.conv2d(tensor(randomData(48, 1), [1, 3, 4, 4]), tensor(randomData(36, 2), [2, 2, 3, 3]))).toThrow(/conv2d: weight \[2,2,3,3\] expects 2 input channels.*has 3/);
    expect(() => ops.conv2d(tensor(randomData(16, 1), [1, 1, 4, 4]), tensor(randomData(25, 2), [1, 1, 5, 5]))).toThrow(/conv2d: the kernel .* is larger than the padded input/);
    expect(() => ops.conv2d(tensor(randomData(16, 1), [4, 4]), tensor(randomData(9, 2), [1, 1, 3, 3]))).toThrow(/conv2d: input must be \[N, C, H, W\]/);
  });
});

describe('pooling', () => {
  const xs = [2, 2, 5, 6];
  const data = distinctData(numel(xs), 27, 0.03);
  const x = tensor(data, xs);
  const xd = Array.from(x.toFloat32Array());
  const cfgs: [string, [number, number], PoolOpts][] = [
    ['2x2', [2, 2], {}],
    ['3x3 stride 2', [3, 3], { stride: [2, 2] }],
    ['3x2 stride 1 padding 1', [3, 2], { stride: [1, 1], padding: [1, 1] }],
    ['2x2 padding 1 excludes pad', [2, 2], { padding: [1, 1], countIncludePad: false }],
    ['3x3 stride 2 padding 1 ceil mode', [3, 3], { stride: [2, 2], padding: [1, 1], ceilMode: true }],
    ['3x3 stride 2 ceil mode, no pad count', [3, 3], { stride: [2, 2], padding: [1, 1], ceilMode: true, countIncludePad: false }],
  ];
  for (const [name, k, o] of cfgs) {
    test(`maxPool2d and avgPool2d vs direct loops: ${name}`, () => {
      for (const kind of ['max', 'avg'] as const) {
        const want = poolRef(kind, xd, xs, k, o);
        const y = kind === 'max' ? ops.maxPool2d(x, k, o) : ops.avgPool2d(x, k, o);
        expect(y.shape).toEqual(want.shape);
        expectClose(y.toFloat32Array(), want.data, 1e-5);
      }
    });
    test(`gradients: ${name}`, () => {
      const input = { data: distinctData(2 * 5 * 6, 28, 0.03), shape: [1, 2, 5, 6] };
      expectGradcheck((t) => ops.maxPool2d(t, k, o), [input]);
      expectGradcheck((t) => ops.avgPool2d(t, k, o), [input]);
    });
  }
  test('countIncludePad changes the border averages as PyTorch does', () => {
    const t = tensor([[[[1, 2], [3, 4]]]]);
    expect(ops.avgPool2d(t, 2, { stride: 1, padding: 1 }).toArray()).toEqual([[[[0.25, 0.75, 0.5], [1, 2.5, 1.5], [0.75, 1.75, 1]]]]);
    expect(ops.avgPool2d(t, 2, { stride: 1, padding: 1, countIncludePad: false }).toArray()).toEqual([[[[1, 1.5, 2], [2, 2.5, 3], [3, 3.5, 4]]]]);
  });
});

describe('batchNorm', () => {
  const xs = [4, 3, 2, 2];
  const xd = f32(randomData(numel(xs), 31, -2, 3));
  /** Per-channel mean and biased/unbiased variance over N, H, W. */
  function stats(d: number[], shape: number[]) {
    const [N, C, ...rest] = shape;
    const inner = numel(rest);
    const mean: number[] = [], vb: number[] = [], vu: number[] = [];
    for (let c = 0; c < C; c++) {
      const vals: number[] = [];
      for (let n = 0; n < N; n++) for (let i = 0; i < inner; i++) vals.push(d[(n * C + c) * inner + i]);
      const m = vals.reduce((a, b) => a + b) / vals.length;
      const ss = vals.reduce((a, b) => a + (b - m) ** 2, 0);
      mean.push(m);
      vb.push(ss / vals.length);
      vu.push(ss / (vals.length - 1));
    }
    return { mean, vb, vu, inner };
  }

  test('training: normalises with biased batch variance and updates running stats (PyTorch semantics)', () => {
    const s = stats(xd, xs);
    const rmInit = [0.5, -1, 2], rvInit = [1, 2, 0.5];
    const rm = tensor(rmInit), rv = tensor(rvInit);
    const w = [1.5, -0.5, 2], b = [0.1, 0.2, -0.3];
    const m = 0.2, eps = 1e-3;
    const y = ops.batchNorm(tensor(xd, xs), { training: true, runningMean: rm, runningVar: rv, weight: tensor(w), bias: tensor(b), momentum: m, eps });
    const want = xd.map((v, i) => {
      const c = Math.floor(i / s.inner) % 3;
      return ((v - s.mean[c]) / Math.sqrt(s.vb[c] + eps)) * w[c] + b[c];
    });
    expectClose(y.toFloat32Array(), want, 1e-4);
    expectClose(rm.toFloat32Array(), rmInit.map((r, c) => (1 - m) * r + m * s.mean[c]), 1e-5);
    expectClose(rv.toFloat32Array(), rvInit.map((r, c) => (1 - m) * r + m * s.vu[c]), 1e-5);
    // A second step applies the update again.
    ops.batchNorm(tensor(xd, xs), { training: true, runningMean: rm, runningVar: rv, momentum: m });
    expectClose(rm.toFloat32Array(), rmInit.map((r, c) => (1 - m) * ((1 - m) * r + m * s.mean[c]) + m * s.mean[c]), 1e-5);
  });

  test('eval: uses the running statistics and leaves them unchanged', () => {
    const rm = tensor([0.5, -1, 2]), rv = tensor([1, 2, 0.5]);
    const y = ops.batchNorm(tensor(xd, xs), { training: false, runningMean: rm, runningVar: rv, weight: tensor([2, 1, 1]) });
    const want = xd.map((v, i) => {
      const c = Math.floor(i / 4) % 3;
      return ((v - [0.5, -1, 2][c]) / Math.sqrt([1, 2, 0.5][c] + 1e-5)) * [2, 1, 1][c];
    });
    expectClose(y.toFloat32Array(), want, 1e-5);
    expect(rm.toArray()).toEqual([0.5, -1, 2]);
    expect(() => ops.batchNorm(tensor(xd, xs), { training: false })).toThrow(/batchNorm: eval mode needs runningMean and runningVar/);
    expect(() => ops.batchNorm(tensor([1, 2, 3], [1, 3]), { training: true })).toThrow(/batchNorm: training needs more than one value per channel/);
  });

  test('gradients: training with weight/bias (2-d and 4-d input), eval', () => {
    expectGradcheck((x, w, b) => ops.batchNorm(x, { training: true, weight: w, bias: b }), [rin([3, 2, 2, 2], 32, -1, 2), rin([2], 33, 0.5, 1.5), rin([2], 34)], { eps: 3e-3 });
    expectGradcheck((x, w, b) => ops.batchNorm(x, { training: true, weight: w, bias: b, eps: 1e-3 }), [rin([5, 3], 35, -1, 2), rin([3], 36, 0.5, 1.5), rin([3], 37)], { eps: 3e-3 });
    const rm = tensor([0.1, -0.2]), rv = tensor([0.8, 1.3]);
    expectGradcheck((x, w, b) => ops.batchNorm(x, { training: false, runningMean: rm, runningVar: rv, weight: w, bias: b }), [rin([2, 2, 3], 38), rin([2], 39), rin([2], 40)]);
  });
});

describe('dropout', () => {
  test('the mask comes from the seeded generator; the gradient is mask / (1 - p), the same mask as the forward', () => {
    const p = 0.3, n = 200;
    const xdata = randomData(n, 41, 0.5, 1.5);
    fsnn.manualSeed(123);
    const x = tensor(xdata, [10, 20], { requiresGrad: true });
    const y = ops.dropout(x, p);
    const R = tensor(randomData(n, 42), [10, 20]);
    y.backward(R);
    const yv = y.toFloat32Array(), gv = x.grad!.toFloat32Array(), Rv = R.toFloat32Array(), xv = x.toFloat32Array();
    // The mask the generator gives for that draw.
    fsnn.manualSeed(123);
    const mask = fsnn.bernoulli([10, 20], 1 - p).toFloat32Array();
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      const scale = mask[i] / (1 - p);
      expect(yv[i]).toBeCloseTo(xv[i] * scale, 5);
      expect(gv[i]).toBeCloseTo(Rv[i] * scale, 5);
      if (mask[i] === 0) zeros++;
    }
    expect(zeros).toBeGreaterThan(0);
    expect(zeros).toBeLessThan(n);
    // Gradcheck with the seed reset on every evaluation (the same mask each time).
    expectGradcheck((t) => {
      fsnn.manualSeed(7);
      return ops.dropout(t, 0.4);
    }, [rin([4, 5], 43)]);
  });

  test('statistics: about p zeroed, survivors scaled by 1/(1-p), mean preserved; eval and p = 0 are identity', () => {
    fsnn.manualSeed(2024);
    const n = 20000, p = 0.25;
    const x = fsnn.ones([n]);
    const y = ops.dropout(x, p).toFloat32Array();
    let zeros = 0, sum = 0;
    let wrong = 0;
    for (const v of y) {
      if (v === 0) zeros++;
      else if (Math.abs(v - 1 / (1 - p)) > 1e-6) wrong++;
      sum += v;
    }
    expect(wrong).toBe(0);
    // Binomial sd = sqrt(n p (1-p)) ~ 61; allow 5 sd.
    expect(Math.abs(zeros - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    expect(Math.abs(sum / n - 1)).toBeLessThan(0.03);
    // Two draws differ (the generator advances).
    const y2 = ops.dropout(x, p).toFloat32Array();
    expect(y2.some((v, i) => v !== y[i])).toBe(true);
    expect(ops.dropout(x, p, false)).toBe(x);
    expect(ops.dropout(x, 0)).toBe(x);
    expect(() => ops.dropout(x, 1)).toThrow(/dropout: p = 1 must lie in \[0, 1\)/);
  });
});

describe('composite graph', () => {
  test('a small conv net: conv -> relu -> pool -> linear -> crossEntropy', () => {
    const labels = Int32Array.from([1, 0]);
    expectGradcheck(
      (x: Tensor, w: Tensor, fw: Tensor) => {
        const h = ops.maxPool2d(ops.conv2d(x, w, null, { padding: 1 }).sigmoid(), 2);
        return ops.crossEntropy(ops.linear(h.flatten(1), fw), labels);
      },
      [rin([2, 1, 4, 4], 44), rin([2, 1, 3, 3], 45), rin([3, 8], 46)],
      { eps: 3e-3 },
    );
  });
});

describe('larger sizes (multi-threaded kernels)', () => {
  test('conv2d forward and input/weight gradients against loops', () => {
    const xs = [2, 8, 16, 15], ws = [12, 4, 3, 3];
    const x = f32(randomData(numel(xs), 91)), w = f32(randomData(numel(ws), 92)), b = f32(randomData(12, 93));
    for (const o of [{ groups: 2, padding: [1, 1] }, { groups: 2, stride: [2, 2], dilation: [2, 1], padding: [2, 0] }] as ConvOpts[]) {
      const want = conv2dRef(x, xs, w, ws, b, o);
      const X = tensor(x, xs, { requiresGrad: true }), W = tensor(w, ws, { requiresGrad: true });
      const y = ops.conv2d(X, W, tensor(b, [12]), o);
      expectClose(y.toFloat32Array(), want.data, 1e-4);
      // Gradients of sum(y * R) against the adjoint written as loops: dX = sum over outputs of R * W, dW = R * X.
      const R = f32(randomData(want.data.length, 94));
      y.backward(tensor(R, want.shape));
      const [N, C, H, Wd] = xs, [O, Cg, KH, KW] = ws, [, , OH, OW] = want.shape;
      const [sh, sw] = o.stride ?? [1, 1], [ph, pw] = o.padding ?? [0, 0], [dh, dw] = o.dilation ?? [1, 1];
      const gx = new Float64Array(x.length), gw = new Float64Array(w.length);
      const opg = O / (o.groups ?? 1);
      for (let n = 0; n < N; n++)
        for (let oc = 0; oc < O; oc++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              const r = R[((n * O + oc) * OH + oh) * OW + ow];
              const g = Math.floor(oc / opg);
              for (let c = 0; c < Cg; c++)
                for (let kh = 0; kh < KH; kh++)
                  for (let kw = 0; kw < KW; kw++) {
                    const ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                    const xi = ((n * C + g * Cg + c) * H + ih) * Wd + iw, wi = ((oc * Cg + c) * KH + kh) * KW + kw;
                    gx[xi] += r * w[wi];
                    gw[wi] += r * x[xi];
                  }
            }
      expectClose(X.grad!.toFloat32Array(), gx, 1e-4);
      expectClose(W.grad!.toFloat32Array(), gw, 1e-4);
    }
  });

  test('softmax over 1000 classes, pooling over [4, 16, 32, 32]', () => {
    const d = f32(randomData(64 * 1000, 95, -10, 10));
    const s = tensor(d, [64, 1000]).softmax(1).toFloat32Array();
    for (let r = 0; r < 64; r += 7) {
      const row = d.slice(r * 1000, (r + 1) * 1000), mx = Math.max(...row);
      const z = row.reduce((a, v) => a + Math.exp(v - mx), 0);
      for (let c = 0; c < 1000; c += 37) expect(s[r * 1000 + c]).toBeCloseTo(Math.exp(row[c] - mx) / z, 6);
    }
    const xs = [4, 16, 32, 32];
    const x = f32(randomData(numel(xs), 96));
    const X = tensor(x, xs);
    expectClose(ops.maxPool2d(X, 3, { stride: 2, padding: 1 }).toFloat32Array(), poolRef('max', x, xs, [3, 3], { stride: [2, 2], padding: [1, 1] }).data, 1e-6);
    expectClose(ops.avgPool2d(X, 2).toFloat32Array(), poolRef('avg', x, xs, [2, 2], {}).data, 1e-5);
  });
});
