// Elementwise ops: forward values against plain JS (with broadcasting) and gradient checks of
// every backward rule.
import * as fsnn from '../../lib';
import { ops, tensor, Tensor } from '../../lib';
import { record } from '../../lib/autograd/node';
import { runKernel } from '../../lib/kernels/run-kernel';
import { awayFromZero, distinctData, expectGradcheck, gradcheck, randomData, rin } from '../helpers/gradcheck';

const f32 = (x: number[]) => Array.from(Float32Array.from(x));

/** Broadcast reference: out[idx] = f(a[idx mapped], b[idx mapped]) over NumPy broadcasting. */
function broadcastRef(a: number[], as: number[], b: number[], bs: number[], f: (x: number, y: number) => number) {
  const nd = Math.max(as.length, bs.length);
  const pa = [...Array(nd - as.length).fill(1), ...as];
  const pb = [...Array(nd - bs.length).fill(1), ...bs];
  const out = pa.map((d, i) => Math.max(d, pb[i]));
  const n = out.reduce((x, y) => x * y, 1);
  const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((x, y) => x * y, 1));
  const sa = strides(pa), sb = strides(pb);
  const res: number[] = [];
  for (let flat = 0; flat < n; flat++) {
    let rem = flat, ia = 0, ib = 0;
    for (let d = nd - 1; d >= 0; d--) {
      const c = rem % out[d];
      rem = Math.floor(rem / out[d]);
      if (pa[d] !== 1) ia += c * sa[d];
      if (pb[d] !== 1) ib += c * sb[d];
    }
    res.push(f(a[ia], b[ib]));
  }
  return { shape: out, data: res };
}

describe('gradcheck helper', () => {
  test('passes a correct rule and fails rules that are slightly or structurally wrong', () => {
    const x = rin([3, 4], 1);
    // Correct: exp.
    expect(gradcheck((t) => ops.exp(t), [x]).ok).toBe(true);
    // A rule 3% off.
    const wrongScale = (t: Tensor) => {
      const out = new Tensor(runKernel('unary', [t.handle], { op: 'exp' }));
      return record(out, 'badExp', [t], (g) => [ops.mul(ops.mul(g, out), 1.03)]);
    };
    const r1 = gradcheck(wrongScale, [x]);
    expect(r1.ok).toBe(false);
    expect(r1.mismatches.length).toBeGreaterThan(0);
    // A broadcast rule that forgets to sum over the expanded dim (it gives one row of the gradient).
    const badBroadcast = (a: Tensor, b: Tensor) => {
      const out = new Tensor(runKernel('binary', [a.handle, b.handle], { op: 'add' }));
      return record(out, 'badAdd', [a, b], (g) => [g, ops.reshape(ops.slice(g, 0, 0, 1), [4])]);
    };
    expect(gradcheck(badBroadcast, [x, rin([4], 2)]).ok).toBe(false);
    // A sign error.
    const badNeg = (t: Tensor) => record(new Tensor(runKernel('unary', [t.handle], { op: 'neg' })), 'badNeg', [t], (g) => [g]);
    expect(() => expectGradcheck(badNeg, [x])).toThrow(/gradcheck failed/);
  });
});

describe('binary ops with broadcasting: forward', () => {
  const cases: [number[], number[]][] = [
    [[2, 3], [2, 3]],
    [[2, 3], [3]],
    [[2, 1], [1, 3]],
    [[4, 1, 3], [2, 1]],
    [[3], []],
    [[2, 3, 4], [1, 3, 1]],
  ];
  const fns: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
    ['add', ops.add, (x, y) => x + y],
    ['sub', ops.sub, (x, y) => x - y],
    ['mul', ops.mul, (x, y) => x * y],
    ['div', ops.div, (x, y) => x / y],
    ['maximum', ops.maximum, (x, y) => Math.max(x, y)],
    ['minimum', ops.minimum, (x, y) => Math.min(x, y)],
    ['gt', ops.gt, (x, y) => +(x > y)],
    ['le', ops.le, (x, y) => +(x <= y)],
  ];
  for (const [as, bs] of cases)
    test(`[${as}] op [${bs}]`, () => {
      const na = as.reduce((x, y) => x * y, 1), nb = bs.reduce((x, y) => x * y, 1);
      const ad = f32(randomData(na, 3)), bd = f32(awayFromZero(nb, 4, 0.2, 2));
      const a = tensor(ad, as), b = tensor(bd, bs);
      for (const [name, op, ref] of fns) {
        const want = broadcastRef(ad, as, bd, bs, ref);
        const y = op(a, b);
        expect({ name, shape: y.shape }).toEqual({ name, shape: want.shape });
        const got = Array.from(y.toFloat32Array());
        want.data.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
      }
    });

  test('tensor-number forms and number-first helpers', () => {
    const a = tensor([[1, -2], [3, 4]]);
    expect(a.add(1).toArray()).toEqual([[2, -1], [4, 5]]);
    expect(a.sub(1).toArray()).toEqual([[0, -3], [2, 3]]);
    expect(a.mul(-2).toArray()).toEqual([[-2, 4], [-6, -8]]);
    expect(a.div(4).toArray()).toEqual([[0.25, -0.5], [0.75, 1]]);
    expect(ops.rsub(a, 10).toArray()).toEqual([[9, 12], [7, 6]]);
    expect(ops.rdiv(a, 2).toArray()).toEqual([[2, -1], [2 / 3, 0.5]].map((r) => r.map(Math.fround)));
    expect(a.gt(1.5).toArray()).toEqual([[0, 0], [1, 1]]);
    expect(a.eq(3).toArray()).toEqual([[0, 0], [1, 0]]);
  });

  test('where broadcasts condition, a and b', () => {
    const c = tensor([[1], [0]]);
    const y = ops.where(c, tensor([10, 20, 30]), -1);
    expect(y.toArray()).toEqual([[10, 20, 30], [-1, -1, -1]]);
    expect(ops.maskedFill(tensor([1, 2, 3]), tensor([0, 1, 0]), 9).toArray()).toEqual([1, 9, 3]);
  });
});

describe('unary ops: forward', () => {
  test('values match Math', () => {
    const xs = [0.3, 1.7, 2.5, 0.05];
    const x = tensor(xs);
    const check = (t: Tensor, f: (v: number) => number) => t.toFloat32Array().forEach((v, i) => expect(v).toBeCloseTo(f(xs[i]), 5));
    check(x.neg(), (v) => -v);
    check(x.exp(), Math.exp);
    check(x.log(), Math.log);
    check(x.sqrt(), Math.sqrt);
    check(x.sigmoid(), (v) => 1 / (1 + Math.exp(-v)));
    check(x.tanh(), Math.tanh);
    check(x.pow(1.5), (v) => v ** 1.5);
    check(x.square(), (v) => v * v);
    check(x.reciprocal(), (v) => 1 / v);
    check(x.clamp(0.2, 2), (v) => Math.min(2, Math.max(0.2, v)));
    const y = tensor([-2, -0.5, 0, 0.5, 3]);
    expect(y.abs().toArray()).toEqual([2, 0.5, 0, 0.5, 3]);
    expect(y.relu().toArray()).toEqual([0, 0, 0, 0.5, 3]);
    expect(y.sign().toArray()).toEqual([-1, -1, 0, 1, 1]);
    // sigmoid is stable for large |x|.
    expect(tensor([-100, 100]).sigmoid().toArray()).toEqual([Math.fround(Math.exp(-100) / (1 + Math.exp(-100))), 1]);
  });
});

describe('elementwise gradients', () => {
  const A = rin([2, 3], 11);
  const pos = (shape: number[], seed: number) => rin(shape, seed, 0.5, 2);

  test.each([
    ['add', ops.add],
    ['sub', ops.sub],
    ['mul', ops.mul],
    ['div', ops.div],
  ] as const)('%s: same shape and broadcast both ways', (_name, op) => {
    expectGradcheck((a, b) => op(a, b), [A, pos([2, 3], 12)]);
    expectGradcheck((a, b) => op(a, b), [A, pos([3], 13)]);
    expectGradcheck((a, b) => op(a, b), [rin([2, 1, 3], 14), pos([4, 1], 15)]);
    expectGradcheck((a, b) => op(b, a), [pos([2, 1, 3], 16), rin([4, 1], 17)]);
    expectGradcheck((a, b) => op(a, b), [A, pos([], 18)]);
  });

  test('tensor-number forms', () => {
    expectGradcheck((a) => ops.add(a, 2.5), [A]);
    expectGradcheck((a) => ops.sub(a, -1.5), [A]);
    expectGradcheck((a) => ops.mul(a, -3), [A]);
    expectGradcheck((a) => ops.div(a, 0.7), [A]);
    expectGradcheck((a) => ops.rsub(a, 2), [A]);
    expectGradcheck((a) => ops.rdiv(a, 2), [pos([2, 3], 19)]);
  });

  test('the same tensor used twice accumulates both paths', () => {
    expectGradcheck((a) => ops.mul(a, a), [A]);
    expectGradcheck((a) => ops.div(a, ops.add(ops.square(a), 1)), [A]);
  });

  test('unary rules', () => {
    expectGradcheck((x) => ops.neg(x), [A]);
    expectGradcheck((x) => ops.exp(x), [A]);
    expectGradcheck((x) => ops.log(x), [pos([2, 3], 21)]);
    expectGradcheck((x) => ops.sqrt(x), [pos([2, 3], 22)]);
    expectGradcheck((x) => ops.abs(x), [{ data: awayFromZero(6, 23, 0.1), shape: [2, 3] }]);
    expectGradcheck((x) => ops.relu(x), [{ data: awayFromZero(6, 24, 0.1), shape: [2, 3] }]);
    expectGradcheck((x) => ops.sigmoid(x), [rin([2, 3], 25, -3, 3)]);
    expectGradcheck((x) => ops.tanh(x), [rin([2, 3], 26, -2, 2)]);
    expectGradcheck((x) => ops.pow(x, 3), [A]);
    expectGradcheck((x) => ops.pow(x, -1.5), [pos([2, 3], 27)]);
    expectGradcheck((x) => ops.pow(x, 0.5), [pos([2, 3], 28)]);
    expectGradcheck((x) => ops.square(x), [A]);
    expectGradcheck((x) => ops.reciprocal(x), [pos([2, 3], 29)]);
  });

  test('clamp: gradient 1 inside, 0 outside (points away from the bounds)', () => {
    const data = [-0.9, -0.45, -0.2, 0.1, 0.35, 0.8];
    const r = expectGradcheck((x) => ops.clamp(x, -0.5, 0.3), [{ data, shape: [2, 3] }]);
    const g = r.analytic[0];
    const R = r.numeric[0];
    expect([g[0], g[4], g[5]].map(Math.abs)).toEqual([0, 0, 0]);
    expect(Math.abs(R[2])).toBeGreaterThan(0.4);
    expectGradcheck((x) => ops.clamp(x, 0), [{ data: awayFromZero(6, 30), shape: [2, 3] }]);
  });

  test('maximum / minimum (no ties), with broadcasting', () => {
    const d = distinctData(12, 31, 0.1);
    const a = { data: d.slice(0, 6), shape: [2, 3] };
    const b = { data: d.slice(6, 12), shape: [2, 3] };
    expectGradcheck((x, y) => ops.maximum(x, y), [a, b]);
    expectGradcheck((x, y) => ops.minimum(x, y), [a, b]);
    const b3 = { data: d.slice(6, 9), shape: [3] };
    expectGradcheck((x, y) => ops.maximum(x, y), [a, b3]);
    expectGradcheck((x, y) => ops.minimum(y, x), [a, b3]);
  });

  test('where: gradients routed by the condition, with broadcasting and constants', () => {
    const cond = tensor([1, 0, 1, 0, 0, 1], [2, 3]);
    expectGradcheck((a, b) => ops.where(cond, a, b), [A, rin([2, 3], 32)]);
    expectGradcheck((a, b) => ops.where(cond, a, b), [rin([3], 33), rin([2, 1], 34)]);
    const r = expectGradcheck((a) => ops.where(cond, a, 0.5), [A]);
    // Where cond is 0 the gradient is exactly 0.
    expect([1, 3, 4].map((i) => Math.abs(r.analytic[0][i]))).toEqual([0, 0, 0]);
  });

  test('constant inputs get no gradient; noGrad records nothing', () => {
    const a = tensor([1, 2], undefined, { requiresGrad: true });
    const b = tensor([3, 4]);
    const y = ops.mul(a, b).sum();
    y.backward();
    expect(Array.from(a.grad!.toFloat32Array())).toEqual([3, 4]);
    expect(b.grad).toBeNull();
    const z = fsnn.noGrad(() => ops.mul(a, b));
    expect(z.requiresGrad).toBe(false);
    expect(z.gradFn).toBeNull();
  });
});

describe('large sizes (multi-threaded kernels)', () => {
  test('broadcast add/mul/where over 77k elements match the scalar loop', () => {
    const [R, C] = [300, 257];
    const a = Array.from(Float32Array.from(randomData(R * C, 71))), b = Array.from(Float32Array.from(randomData(C, 72)));
    const c = Array.from(Float32Array.from(randomData(R, 73)));
    const A = tensor(a, [R, C]), B = tensor(b, [C]), Cc = tensor(c, [R, 1]);
    const add = A.add(B).toFloat32Array(), mul = Cc.mul(B).toFloat32Array(), sub = A.sub(Cc).toFloat32Array();
    const wh = ops.where(A.gt(0), Cc, B).toFloat32Array();
    for (let i = 0; i < R; i++)
      for (let j = 0; j < C; j++) {
        const k = i * C + j;
        if (add[k] !== Math.fround(a[k] + b[j]) || mul[k] !== Math.fround(c[i] * b[j]) || sub[k] !== Math.fround(a[k] - c[i]) || wh[k] !== (a[k] > 0 ? c[i] : b[j]))
          throw new Error(`mismatch at [${i}, ${j}]`);
      }
    const ex = A.exp().toFloat32Array();
    for (let k = 0; k < R * C; k += 97) expect(ex[k]).toBeCloseTo(Math.exp(a[k]), 5);
  });
});
