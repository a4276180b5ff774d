// Layers on time-major input [T, B, ...]: T folded into the batch, results equal to a host reference.
import { nn, tensor, full, manualSeed, Tensor } from '../../lib';
import { randomData } from '../helpers/gradcheck';

const { Sequential, Linear, Conv2d, MaxPool2d, AvgPool2d, Flatten, Identity, Dropout, BatchNorm1d, BatchNorm2d, Module } = nn;
const values = (t: Tensor) => Array.from(t.toFloat32Array());

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  expect(worst).toBeLessThan(tol);
}

beforeAll(() => manualSeed(7));

describe('Sequential', () => {
  test("children are named '0', '1', ... and parameters '0.weight', ...", () => {
    const l0 = new Linear(3, 4);
    const l2 = new Linear(4, 2, { bias: false });
    const s = new Sequential(l0, new Identity(), l2);
    expect(s.namedChildren().map(([k]) => k)).toEqual(['0', '1', '2']);
    expect(s.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias', '2.weight']);
    expect(s.length).toBe(3);
    expect(s.at(0)).toBe(l0);
    expect(s.at(2)).toBe(l2);
    expect(() => s.at(3)).toThrow(/no layer 3 \(it has 3\)/);
  });

  test('forward chains the layers in order', () => {
    const a = new Linear(3, 4);
    const b = new Linear(4, 2);
    const s = new Sequential(a, b);
    const x = tensor(randomData(2 * 5 * 3, 1), [2, 5, 3]);
    expect(values(s.forward(x) as Tensor)).toEqual(values(b.forward(a.forward(x))));
  });

  test('a non-module argument is a TypeError', () => {
    expect(() => new Sequential(new Identity(), {} as InstanceType<typeof Identity>)).toThrow(/argument 1 is not a Module/);
  });
});

describe('Linear', () => {
  test('weight [out, in], bias [out]; bias: false leaves it out', () => {
    const l = new Linear(5, 3);
    expect(l.weight.shape).toEqual([3, 5]);
    expect(l.bias!.shape).toEqual([3]);
    const nb = new Linear(5, 3, { bias: false });
    expect(nb.bias).toBeNull();
    expect(nb.namedParameters().map(([k]) => k)).toEqual(['weight']);
  });

  test("PyTorch's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias", () => {
    const l = new Linear(16, 128);
    const bound = 1 / Math.sqrt(16);
    for (const p of [l.weight, l.bias!]) {
      const v = values(p);
      expect(Math.max(...v)).toBeLessThanOrEqual(bound);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-bound);
    }
    const w = values(l.weight); // 2048 samples: they fill the interval and centre on 0
    expect(Math.max(...w)).toBeGreaterThan(0.97 * bound);
    expect(Math.min(...w)).toBeLessThan(-0.97 * bound);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance / (bound * bound / 3) - 1)).toBeLessThan(0.1); // Var U(-b, b) = b^2/3
    // fan_in sets the bound
    const wide = values(new Linear(400, 4).weight);
    expect(Math.max(...wide.map(Math.abs))).toBeLessThanOrEqual(0.05);
    expect(Math.max(...wide.map(Math.abs))).toBeGreaterThan(0.04);
  });

  test('the same seed gives the same init', () => {
    manualSeed(123);
    const a = values(new Linear(4, 3).weight);
    manualSeed(123);
    const b = values(new Linear(4, 3).weight);
    expect(a).toEqual(b);
  });

  test('[T, B, in] -> [T, B, out] equals x W^T + b at every step', () => {
    const [T, B, I, O] = [3, 2, 4, 5];
    const l = new Linear(I, O);
    const xs = randomData(T * B * I, 3);
    const y = l.forward(tensor(xs, [T, B, I]));
    expect(y.shape).toEqual([T, B, O]);
    const W = values(l.weight), b = values(l.bias!);
    const ref: number[] = [];
    for (let n = 0; n < T * B; n++)
      for (let o = 0; o < O; o++) {
        let s = b[o];
        for (let i = 0; i < I; i++) s += Math.fround(xs[n * I + i]) * W[o * I + i];
        ref.push(s);
      }
    expectClose(values(y), ref);
  });

  test('invalid sizes are errors; a wrong feature count names both', () => {
    expect(() => new Linear(0, 3)).toThrow(/inFeatures must be a positive integer, got 0/);
    expect(() => new Linear(3, 2.5)).toThrow(/outFeatures must be a positive integer/);
    expect(() => new Linear(3, 2).forward(full([2, 2, 4], 1))).toThrow(/4 features but the weight \[2,3\] expects 3/);
  });
});

/** Host conv2d of one image [C, H, W] with weight [O, C, k, k], stride/padding. */
function hostConv(x: number[], C: number, H: number, W: number, w: number[], b: number[], O: number, k: number, stride: number, pad: number): number[] {
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  const out: number[] = [];
  for (let o = 0; o < O; o++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        let s = b[o];
        for (let c = 0; c < C; c++)
          for (let p = 0; p < k; p++)
            for (let q = 0; q < k; q++) {
              const r = i * stride - pad + p, col = j * stride - pad + q;
              if (r < 0 || r >= H || col < 0 || col >= W) continue;
              s += x[(c * H + r) * W + col] * w[((o * C + c) * k + p) * k + q];
            }
        out.push(s);
      }
  return out;
}

describe('Conv2d and pooling fold T into the batch', () => {
  test('Conv2d [T, B, C, H, W] -> [T, B, O, Ho, Wo] equal to the host convolution of every image', () => {
    const [T, B, C, H, W, O, k] = [2, 3, 2, 5, 4, 3, 3];
    const conv = new Conv2d(C, O, k, { stride: 1, padding: 1 });
    expect(conv.weight.shape).toEqual([O, C, k, k]);
    const bound = 1 / Math.sqrt(C * k * k);
    expect(Math.max(...values(conv.weight).map(Math.abs))).toBeLessThanOrEqual(bound);
    const xs = randomData(T * B * C * H * W, 5).map(Math.fround);
    const y = conv.forward(tensor(xs, [T, B, C, H, W]));
    expect(y.shape).toEqual([T, B, O, H, W]);
    const w = values(conv.weight), b = values(conv.bias!);
    const ref: number[] = [];
    for (let n = 0; n < T * B; n++) ref.push(...hostConv(xs.slice(n * C * H * W, (n + 1) * C * H * W), C, H, W, w, b, O, k, 1, 1));
    expectClose(values(y), ref);
    // a plain batch [N, C, H, W] works too and gives the same numbers
    expect(values(conv.forward(tensor(xs, [T * B, C, H, W])))).toEqual(values(y));
  });

  test('Conv2d with stride and no bias', () => {
    const conv = new Conv2d(1, 2, 2, { stride: 2, bias: false });
    expect(conv.bias).toBeNull();
    const xs = randomData(1 * 2 * 1 * 4 * 4, 6).map(Math.fround);
    const y = conv.forward(tensor(xs, [1, 2, 1, 4, 4]));
    expect(y.shape).toEqual([1, 2, 2, 2, 2]);
    const w = values(conv.weight);
    const ref = [...hostConv(xs.slice(0, 16), 1, 4, 4, w, [0, 0], 2, 2, 2, 0), ...hostConv(xs.slice(16), 1, 4, 4, w, [0, 0], 2, 2, 2, 0)];
    expectClose(values(y), ref);
  });

  test('a 3-D input is an error naming the expected layouts', () => {
    expect(() => new Conv2d(1, 1, 1).forward(full([2, 3, 4], 0))).toThrow(/expected \[T, B, C, H, W\] \(or \[N, C, H, W\]\), got \[2,3,4\]/);
  });

  test('MaxPool2d / AvgPool2d over [T, B, C, H, W]', () => {
    const [T, B, C, H, W] = [2, 2, 1, 4, 4];
    const xs = randomData(T * B * C * H * W, 8).map(Math.fround);
    const x = tensor(xs, [T, B, C, H, W]);
    const mx = new MaxPool2d(2).forward(x);
    const av = new AvgPool2d(2).forward(x);
    expect(mx.shape).toEqual([T, B, C, 2, 2]);
    expect(av.shape).toEqual([T, B, C, 2, 2]);
    const refMax: number[] = [], refAvg: number[] = [];
    for (let n = 0; n < T * B * C; n++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++) {
          const win = [0, 1].flatMap((p) => [0, 1].map((q) => xs[n * 16 + (2 * i + p) * 4 + 2 * j + q]));
          refMax.push(Math.max(...win));
          refAvg.push(win.reduce((a, b) => a + b, 0) / 4);
        }
    expect(values(mx)).toEqual(refMax);
    expectClose(values(av), refAvg);
    // stride option
    expect(new MaxPool2d(2, { stride: 1 }).forward(x).shape).toEqual([T, B, C, 3, 3]);
  });
});

describe('Flatten, Identity', () => {
  test('Flatten keeps T and B: [T, B, C, H, W] -> [T, B, C*H*W], values in order', () => {
    const xs = randomData(2 * 3 * 2 * 2 * 2, 9);
    const y = new Flatten().forward(tensor(xs, [2, 3, 2, 2, 2]));
    expect(y.shape).toEqual([2, 3, 8]);
    expect(values(y)).toEqual(xs.map(Math.fround));
    expect(new Flatten().forward(full([4, 1, 6], 0)).shape).toEqual([4, 1, 6]);
  });

  test('Identity returns its input', () => {
    const x = full([2, 2], 3);
    expect(new Identity().forward(x)).toBe(x);
  });
});

describe('Dropout', () => {
  test('training: zeroes about p of the entries and scales the rest by 1/(1-p); eval: identity', () => {
    const d = new Dropout(0.25);
    const n = 8000;
    const x = full([4, 2, n / 8], 2);
    const y = values(d.forward(x));
    const zeros = y.filter((v) => v === 0).length / n;
    expect(Math.abs(zeros - 0.25)).toBeLessThan(0.03);
    expect(y.every((v) => v === 0 || Math.abs(v - 2 / 0.75) < 1e-6)).toBe(true);
    d.eval();
    expect(d.forward(x)).toBe(x);
  });

  test('p outside [0, 1) is an error', () => {
    expect(() => new Dropout(1)).toThrow(/p = 1 must lie in \[0, 1\)/);
    expect(() => new Dropout(-0.1)).toThrow(/must lie in \[0, 1\)/);
  });
});

describe('BatchNorm over T·B', () => {
  /** Per-channel mean and biased variance over every position of [N, C, S] (S spatial). */
  function channelStats(xs: number[], N: number, C: number, S: number): { mean: number[]; varB: number[] } {
    const mean = new Array(C).fill(0), varB = new Array(C).fill(0);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) mean[c] += xs[(n * C + c) * S + s] / (N * S);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) varB[c] += (xs[(n * C + c) * S + s] - mean[c]) ** 2 / (N * S);
    return { mean, varB };
  }

  test('BatchNorm1d [T, B, C]: training statistics over T·B jointly, running statistics updated as PyTorch', () => {
    const [T, B, C] = [3, 4, 2];
    // each time step has a different offset: per-step statistics would give a different result
    const xs = randomData(T * B * C, 10).map((v, i) => Math.fround(v + Math.floor(i / (B * C)) * 2));
    const bn = new BatchNorm1d(C);
    bn.weight!.assign(new Float32Array([2, 0.5]));
    bn.bias!.assign(new Float32Array([0.1, -1]));
    const y = bn.forward(tensor(xs, [T, B, C]));
    expect(y.shape).toEqual([T, B, C]);
    const { mean, varB } = channelStats(xs, T * B, C, 1);
    const g = [2, 0.5], b = [0.1, -1];
    const ref = xs.map((v, i) => g[i % C] * (v - mean[i % C]) / Math.sqrt(varB[i % C] + 1e-5) + b[i % C]);
    expectClose(values(y), ref, 1e-5);
    const n = T * B;
    expectClose(values(bn.stateDict().runningMean), mean.map((m) => 0.1 * m), 1e-6);
    expectClose(values(bn.stateDict().runningVar), varB.map((v) => 0.9 + 0.1 * v * n / (n - 1)), 1e-6);
    // eval uses the running statistics
    bn.eval();
    const rm = values(bn.stateDict().runningMean), rv = values(bn.stateDict().runningVar);
    const ye = bn.forward(tensor(xs, [T, B, C]));
    expectClose(values(ye), xs.map((v, i) => g[i % C] * (v - rm[i % C]) / Math.sqrt(rv[i % C] + 1e-5) + b[i % C]), 1e-5);
  });

  test('BatchNorm2d [T, B, C, H, W]: statistics over T, B, H, W', () => {
    const [T, B, C, H, W] = [2, 3, 2, 2, 3];
    const xs = randomData(T * B * C * H * W, 11).map((v, i) => Math.fround(3 * v + (i % 5)));
    const bn = new BatchNorm2d(C, { momentum: 0.5 });
    const y = bn.forward(tensor(xs, [T, B, C, H, W]));
    expect(y.shape).toEqual([T, B, C, H, W]);
    const S = H * W;
    const { mean, varB } = channelStats(xs, T * B, C, S);
    const ref = xs.map((v, i) => {
      const c = Math.floor(i / S) % C;
      return (v - mean[c]) / Math.sqrt(varB[c] + 1e-5);
    });
    expectClose(values(y), ref, 1e-5);
    expectClose(values(bn.stateDict().runningMean), mean.map((m) => 0.5 * m), 1e-6);
  });

  test('affine: false has no parameters; wrong ranks are errors', () => {
    expect(new BatchNorm1d(3, { affine: false }).parameters()).toHaveLength(0);
    expect(() => new BatchNorm1d(2).forward(full([1, 2, 2, 2, 2], 0))).toThrow(/expected \[T, B, C\] or \[T, B, C, L\]/);
    expect(() => new BatchNorm2d(2).forward(full([2, 2, 2], 0))).toThrow(/BatchNorm2d: expected \[T, B, C, H, W\]/);
    expect(() => new BatchNorm1d(0)).toThrow(/numFeatures must be a positive integer/);
  });
});

describe('gradients flow through a time-major stack', () => {
  test('Linear weight gradient equals the host sum over T·B', () => {
    const [T, B, I, O] = [2, 3, 3, 2];
    const l = new Linear(I, O);
    const xs = randomData(T * B * I, 12).map(Math.fround);
    const m = new Sequential(new Flatten(), l);
    (m.forward(tensor(xs, [T, B, I])) as Tensor).sum().backward();
    const ref: number[] = [];
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++) {
        let s = 0;
        for (let n = 0; n < T * B; n++) s += xs[n * I + i];
        ref.push(s);
      }
    expectClose(values(l.weight.grad!), ref);
    expectClose(values(l.bias!.grad!), [T * B, T * B]);
  });

  test('a module subclass is usable inside Sequential', () => {
    class Double extends Module {
      forward(x: Tensor): Tensor {
        return x.mul(2);
      }
    }
    expect(values(new Sequential(new Double(), new Double()).forward(full([1, 1], 1.5)) as Tensor)).toEqual([6]);
  });
});
