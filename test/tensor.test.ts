// The Tensor class and creation functions: construction, shapes, reading data, disposal, detach,
// tidy, noGrad and the behaviour of backward().
import * as fsnn from '../lib';
import { ops, tensor, tidy, Tensor } from '../lib';
import { testDevice } from './helpers/device';

describe('creation', () => {
  test('from nested arrays, Float32Array, number[] + shape, a number', () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.ndim).toBe(2);
    expect(a.numel).toBe(6);
    expect(a.dtype).toBe('float32');
    expect(a.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const b = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    expect(b.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensor(new Float32Array([7, 8])).shape).toEqual([2]);
    expect(tensor([1, 2, 3, 4, 5, 6], [3, 2]).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    const s = tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.toArray()).toBe(3.5);
    expect(s.item()).toBe(3.5);
    expect(tensor([[[1], [2]], [[3], [4]]]).shape).toEqual([2, 2, 1]);
    expect(tensor([]).shape).toEqual([0]);
    // Values are stored as float32.
    expect(tensor([0.1]).toFloat32Array()[0]).toBe(Math.fround(0.1));
  });

  test('the data is copied: later changes to the source array do not reach the tensor', () => {
    const src = new Float32Array([1, 2, 3]);
    const t = tensor(src);
    src[0] = 100;
    expect(t.toArray()).toEqual([1, 2, 3]);
    const out = t.toFloat32Array();
    out[1] = 100;
    expect(t.toArray()).toEqual([1, 2, 3]);
  });

  test('ragged arrays and bad data are rejected with clear errors', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/tensor: ragged nested array: length 1 at depth 1, expected 2/);
    expect(() => tensor([[1, 2], 3] as unknown as number[][])).toThrow(/tensor: ragged nested array/);
    expect(() => tensor([1, [2, 3]] as unknown as number[])).toThrow(/tensor: ragged nested array/);
    expect(() => tensor([[1, 'a']] as unknown as number[][])).toThrow(/tensor: nested arrays may hold only numbers/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/tensor: 3 values do not fill shape \[2,2\]/);
    expect(() => tensor([1, 2], [-1, -2])).toThrow(/tensor: shape must be an array of non-negative integers/);
    expect(() => tensor('abc' as unknown as number[])).toThrow(/tensor: data must be/);
  });

  test('zeros, ones, full, zerosLike, onesLike, arange, rand, randn, uniform, intTensor', () => {
    expect(fsnn.zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(fsnn.ones([2]).toArray()).toEqual([1, 1]);
    expect(fsnn.full([2, 1], 7.5).toArray()).toEqual([[7.5], [7.5]]);
    expect(fsnn.zeros([]).shape).toEqual([]);
    expect(fsnn.zeros([3, 0]).numel).toBe(0);
    const t = tensor([[1, 2]]);
    expect(fsnn.zerosLike(t).toArray()).toEqual([[0, 0]]);
    expect(fsnn.onesLike(t).shape).toEqual([1, 2]);
    expect(fsnn.arange(4).toArray()).toEqual([0, 1, 2, 3]);
    expect(fsnn.arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(fsnn.arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    expect(fsnn.arange(3, 3).shape).toEqual([0]);
    expect(() => fsnn.arange(0, 1, 0)).toThrow(/arange: step must not be 0/);
    fsnn.manualSeed(1);
    expect(fsnn.rand([3, 4]).shape).toEqual([3, 4]);
    expect(fsnn.randn([2, 3, 4]).shape).toEqual([2, 3, 4]);
    const u = fsnn.uniform([1000], -2, 3).toFloat32Array();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(3);
    const i = fsnn.intTensor([1, 2, 3], [3]);
    expect(i.dtype).toBe('int32');
    expect(i.toArray()).toEqual([1, 2, 3]);
    expect(Array.from(i.toInt32Array())).toEqual([1, 2, 3]);
    expect(Array.from(i.toFloat32Array())).toEqual([1, 2, 3]);
    expect(fsnn.zeros([2], { requiresGrad: true }).requiresGrad).toBe(true);
    expect(() => fsnn.zeros([2.5])).toThrow(/full: shape must be an array of non-negative integers/);
  });

  test('shape is frozen, device is the default device (cpu unless FSNN_DEVICE=cuda)', () => {
    const t = tensor([1, 2]);
    expect(t.device).toBe(testDevice);
    expect(Object.isFrozen(t.shape)).toBe(true);
    expect(fsnn.getDefaultDevice()).toBe(testDevice);
    expect(() => fsnn.setDefaultDevice('tpu' as 'cpu')).toThrow(/setDefaultDevice: unknown device 'tpu'; use 'cpu' or 'cuda'/);
    expect(t.toString()).toBe(`Tensor([2] on ${testDevice})`);
  });
});

describe('reading data', () => {
  test('toArray nested, toFloat32Array, await data(), item()', async () => {
    const t = tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    expect(t.toArray()).toEqual([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    const f = t.toFloat32Array();
    expect(f.length).toBe(8);
    expect(f[7]).toBe(8);
    const d = await t.data();
    expect(Array.from(d)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(await fsnn.intTensor([4, 5]).data())).toEqual([4, 5]);
    expect(tensor([[42]]).item()).toBe(42);
    expect(() => t.item()).toThrow(/item\(\): the tensor \[2,2,2\] on (?:cpu|cuda) has 8 elements; item\(\) needs exactly one \(reduce it first/);
  });

  test('data() rejects on a disposed tensor', async () => {
    const t = tensor([1, 2]);
    t.dispose();
    await expect((async () => t.data())()).rejects.toThrow(/was disposed/);
  });

  test('to(its own device) returns the same tensor; clone copies', () => {
    const t = tensor([1, 2]);
    expect(t.to(testDevice)).toBe(t);
    const c = t.clone();
    t.fill_(0);
    expect(c.toArray()).toEqual([1, 2]);
    expect(() => t.to('gpu' as 'cpu')).toThrow(/to: unknown device 'gpu'/);
  });
});

describe('dispose and detach', () => {
  test('dispose / isDisposed; dispose is idempotent; dispose() of arrays and objects', () => {
    const t = tensor([1, 2]);
    expect(t.isDisposed).toBe(false);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    t.dispose();
    expect(() => t.toArray()).toThrow(/was disposed; it cannot be used after dispose\(\)/);
    const a = tensor([1]), b = tensor([2]), c = tensor([3]);
    fsnn.dispose([a, { x: b, y: [c] }]);
    expect([a, b, c].every((x) => x.isDisposed)).toBe(true);
  });

  test('disposing a view leaves the source valid (and the other way round)', () => {
    const t = tensor([1, 2, 3, 4]);
    const v = t.reshape([2, 2]);
    v.dispose();
    expect(t.toArray()).toEqual([1, 2, 3, 4]);
    const w = t.reshape([4, 1]);
    t.dispose();
    expect(w.toArray()).toEqual([[1], [2], [3], [4]]);
  });

  test('detach shares data but is cut from the graph', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const y = x.mul(2);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(d.isLeaf).toBe(true);
    expect(d.toArray()).toEqual([2, 4, 6]);
    const z = d.mul(x).sum();
    z.backward();
    // Only the direct path through x counts: d(d * x)/dx = d.
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
  });
});

describe('tidy and keep', () => {
  test('tidy keeps the returned tensors (nested in arrays and objects) and disposes the rest', () => {
    const outer = tensor([1, 2]);
    let inner: Tensor[] = [];
    const res = tidy(() => {
      const a = outer.add(1);
      const b = a.mul(2);
      const c = b.exp();
      const d = c.sum();
      inner = [a, b, c, d];
      return { first: b, list: [d, { deep: a }], count: 3, m: new Map([['c', c]]) };
    });
    expect(inner.map((t) => t.isDisposed)).toEqual([false, false, false, false]);
    expect(res.first.toArray()).toEqual([4, 6]);
    expect(res.count).toBe(3);
    expect(outer.isDisposed).toBe(false);
    const res2 = tidy(() => {
      const a = outer.add(1);
      const b = a.mul(2);
      inner = [a, b];
      return [b];
    });
    expect(inner[0].isDisposed).toBe(true);
    expect(inner[1].isDisposed).toBe(false);
    expect(res2[0].toArray()).toEqual([4, 6]);
  });

  test('nested tidy: a tensor returned from the inner scope belongs to the outer one', () => {
    let fromInner: Tensor | null = null;
    const kept = tidy(() => {
      fromInner = tidy(() => tensor([1]).add(1));
      expect(fromInner.isDisposed).toBe(false);
      return tensor([5]);
    });
    expect(fromInner!.isDisposed).toBe(true);
    expect(kept.toArray()).toEqual([5]);
  });

  test('keep() exempts a tensor; tidy disposes everything when fn throws', () => {
    let k: Tensor | null = null, t: Tensor | null = null;
    tidy(() => {
      k = fsnn.keep(tensor([1]));
      t = tensor([2]);
    });
    expect(k!.isDisposed).toBe(false);
    expect(t!.isDisposed).toBe(true);
    let a: Tensor | null = null;
    expect(() =>
      tidy(() => {
        a = tensor([3]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(a!.isDisposed).toBe(true);
    // Scopes are balanced after a throw: a new tensor outside tidy is not tracked.
    const free = tensor([4]);
    tidy(() => undefined);
    expect(free.isDisposed).toBe(false);
  });

  test('tidy rejects async functions and non-functions', () => {
    expect(() => tidy((async () => tensor([1])) as unknown as () => Tensor)).toThrow(/tidy\(fn\): fn returned a Promise/);
    expect(() => tidy(42 as unknown as () => void)).toThrow(/tidy\(fn\): fn must be a function/);
  });
});

describe('autograd behaviour', () => {
  test('noGrad: nothing is recorded, and the mode is restored (also after a throw)', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const y = fsnn.noGrad(() => x.mul(3));
    expect(y.requiresGrad).toBe(false);
    expect(fsnn.isGradEnabled()).toBe(true);
    expect(() => fsnn.noGrad(() => { throw new Error('x'); })).toThrow('x');
    expect(fsnn.isGradEnabled()).toBe(true);
    expect(x.mul(3).requiresGrad).toBe(true);
  });

  test('gradients accumulate over two backward() calls; zeroGrad clears', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    x.square().sum().backward();
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    x.mul(5).sum().backward();
    expect(x.grad!.toArray()).toEqual([7, 9, 11]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    x.sum().backward();
    expect(x.grad!.toArray()).toEqual([1, 1, 1]);
  });

  test('retainGraph allows a second backward through the same graph', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    const g1 = Array.from(x.grad!.toFloat32Array());
    y.backward();
    const g2 = Array.from(x.grad!.toFloat32Array());
    g2.forEach((v, i) => expect(v).toBeCloseTo(2 * g1[i], 5));
  });

  test('backward twice without retainGraph gives a clear error', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward\(\): the graph through 'sum' was already freed by an earlier backward\(\); pass \{ retainGraph: true \}/);
  });

  test('backward on a non-scalar needs gradOutput of the same shape', () => {
    const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    const y = x.mul(2);
    expect(() => y.backward()).toThrow(/backward\(\): the output \[2,2\] on (?:cpu|cuda) is not a scalar; pass gradOutput with the same shape, or reduce it first/);
    expect(() => y.backward(tensor([1, 2]))).toThrow(/backward\(\): gradOutput \[2\] on (?:cpu|cuda) must have the output's shape \[2,2\]/);
    y.backward(tensor([[1, 0], [0, 1]]));
    expect(x.grad!.toArray()).toEqual([[2, 0], [0, 2]]);
    expect(() => tensor([1]).sum().backward()).toThrow(/backward\(\): this tensor does not require grad/);
  });

  test('retainGrad keeps a non-leaf gradient; leaves and non-leaves are told apart', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    const y = h.square().sum();
    expect(x.isLeaf).toBe(true);
    expect(h.isLeaf).toBe(false);
    y.backward();
    expect(h.grad!.toArray()).toEqual([6, 12]);
    expect(x.grad!.toArray()).toEqual([18, 36]);
    expect(() => h.requiresGrad_(false)).toThrow(/requiresGrad_\(false\): only leaf tensors/);
  });

  test('a diamond-shaped graph sums the gradients of both branches', () => {
    const x = tensor([0.5, -1], undefined, { requiresGrad: true });
    const a = x.exp();
    const y = ops.add(a.mul(a), a).sum();
    y.backward();
    const xv = [0.5, -1];
    x.grad!.toFloat32Array().forEach((g, i) => expect(g).toBeCloseTo(2 * Math.exp(2 * xv[i]) + Math.exp(xv[i]), 5));
  });
});
