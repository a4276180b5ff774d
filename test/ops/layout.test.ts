// Layout ops: reshape/view, flatten, unsqueeze/squeeze, permute/transpose, slice, select, concat,
// stack, indexSelect, gather, expand — values against JS indexing and gradient checks.
import { ops, tensor, Tensor } from '../../lib';
import { expectGradcheck, randomData } from '../helpers/gradcheck';

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const iota = (shape: number[]) => tensor(Array.from({ length: numel(shape) }, (_, i) => i), shape);
const rin = (shape: number[], seed: number) => ({ data: randomData(numel(shape), seed), shape });

describe('layout ops: forward', () => {
  test('reshape / view with -1, flatten, unsqueeze, squeeze', () => {
    const x = iota([2, 3, 4]);
    expect(x.reshape([4, -1]).shape).toEqual([4, 6]);
    expect(x.view([-1]).toArray()).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(x.flatten().shape).toEqual([24]);
    expect(x.flatten(1).shape).toEqual([2, 12]);
    expect(x.flatten(0, 1).shape).toEqual([6, 4]);
    expect(x.unsqueeze(0).shape).toEqual([1, 2, 3, 4]);
    expect(x.unsqueeze(-1).shape).toEqual([2, 3, 4, 1]);
    expect(x.unsqueeze(1).squeeze(1).shape).toEqual([2, 3, 4]);
    expect(iota([1, 3, 1]).squeeze().shape).toEqual([3]);
    expect(x.squeeze(0).shape).toEqual([2, 3, 4]);
    expect(() => x.reshape([5, -1])).toThrow(/reshape: cannot infer -1/);
    expect(() => x.reshape([5, 5])).toThrow(/reshape: cannot view .*24 elements.*\[5,5\]/);
  });

  test('permute and transpose move elements to the right places', () => {
    const x = iota([2, 3, 4]);
    const p = x.permute([2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    const pv = p.toFloat32Array();
    for (let a = 0; a < 4; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++)
      expect(pv[a * 6 + b * 3 + c]).toBe(b * 12 + c * 4 + a);
    expect(tensor([[1, 2, 3], [4, 5, 6]]).transpose().toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    const t = x.transpose(0, 2);
    expect(t.shape).toEqual([4, 3, 2]);
    expect(t.toFloat32Array()[1 * 6 + 2 * 2 + 1]).toBe(1 * 12 + 2 * 4 + 1);
    expect(() => x.permute([0, 0, 1])).toThrow(/permute: dimension 0 appears twice/);
  });

  test('slice with steps and negative start/end, narrow, select', () => {
    const x = iota([10]);
    expect(x.slice(0, 1, 8, 3).toArray()).toEqual([1, 4, 7]);
    expect(x.slice(0, -3).toArray()).toEqual([7, 8, 9]);
    expect(x.slice(0, -5, -1, 2).toArray()).toEqual([5, 7]);
    expect(x.slice(0, 8, 100).toArray()).toEqual([8, 9]);
    expect(x.slice(0, 5, 2).toArray()).toEqual([]);
    const m = iota([3, 4]);
    expect(m.slice(1, 1, 4, 2).toArray()).toEqual([[1, 3], [5, 7], [9, 11]]);
    expect(m.narrow(0, 1, 2).toArray()).toEqual([[4, 5, 6, 7], [8, 9, 10, 11]]);
    expect(m.select(1, -1).toArray()).toEqual([3, 7, 11]);
    expect(m.select(0, 2).toArray()).toEqual([8, 9, 10, 11]);
    expect(() => m.select(0, 3)).toThrow(/select: index 3 is out of range/);
    expect(() => m.slice(0, 0, 2, 0)).toThrow(/slice: step must be >= 1/);
  });

  test('concat of long rows (copied in runs across threads) places every element', () => {
    // Along dim 0 each input is one row of 40,001 floats (three runs, the last partial); along dim 1 of
    // [2, 3, 17000] pieces each of the 2 rows is 51,000 floats.
    for (const [shape, dim] of [[[1, 40001], 0], [[2, 3, 17000], 1]] as [number[], number][]) {
      const parts = [0, 1, 2].map((p) => Float32Array.from({ length: numel(shape) }, (_, i) => p * 1e6 + i));
      const out = ops.concat(parts.map((d) => tensor(d, shape)), dim).toFloat32Array();
      const outer = numel(shape.slice(0, dim)), row = numel(shape.slice(dim));
      const want = new Float32Array(3 * numel(shape));
      for (let o = 0; o < outer; o++) for (let p = 0; p < 3; p++) want.set(parts[p].subarray(o * row, (o + 1) * row), (o * 3 + p) * row);
      let bad = -1;
      for (let i = 0; i < want.length && bad < 0; i++) if (out[i] !== want[i]) bad = i;
      expect(bad).toBe(-1);
    }
  });

  test('concat and stack', () => {
    const a = tensor([[1, 2], [3, 4]]), b = tensor([[5, 6]]), c = tensor([[7], [8]]);
    expect(ops.concat([a, b], 0).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(ops.concat([a, c], 1).toArray()).toEqual([[1, 2, 7], [3, 4, 8]]);
    expect(ops.concat([a, c, a], -1).shape).toEqual([2, 5]);
    expect(ops.stack([a, a.mul(2)], 0).toArray()).toEqual([[[1, 2], [3, 4]], [[2, 4], [6, 8]]]);
    expect(ops.stack([a, a.mul(2)], 2).toArray()).toEqual([[[1, 2], [2, 4]], [[3, 6], [4, 8]]]);
    expect(() => ops.concat([a, b], 1)).toThrow(/concat: shapes \[2,2\] and \[1,2\] differ in dimension 0/);
    expect(() => ops.stack([a, b])).toThrow(/stack: all tensors must have the same shape/);
  });

  test('indexSelect (repeated indices), gather, expand', () => {
    const m = iota([3, 4]);
    expect(m.indexSelect(0, Int32Array.from([2, 0, 2])).toArray()).toEqual([[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]);
    expect(m.indexSelect(1, Int32Array.from([3, 3])).toArray()).toEqual([[3, 3], [7, 7], [11, 11]]);
    expect(m.gather(1, Int32Array.from([0, 3, 2, 2, 1, 0]), [3, 2]).toArray()).toEqual([[0, 3], [6, 6], [9, 8]]);
    expect(m.gather(0, Int32Array.from([2, 1, 0, 0]), [1, 4]).toArray()).toEqual([[8, 5, 2, 3]]);
    expect(tensor([[1], [2]]).expand([2, 3]).toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(tensor([1, 2]).expand([2, 2]).toArray()).toEqual([[1, 2], [1, 2]]);
    expect(() => m.indexSelect(0, Int32Array.from([3]))).toThrow(/indexSelect: index 3 .*out of range/);
    expect(() => m.indexSelect(0, [1] as unknown as Int32Array)).toThrow(/indexSelect: indices must be an Int32Array/);
    expect(() => m.gather(1, Int32Array.from([4]), [1, 1])).toThrow(/gather: index 4/);
  });

  test('reshape shares storage with its input (a view); layout ops copy', () => {
    const x = tensor([1, 2, 3, 4]);
    const v = x.reshape([2, 2]);
    x.fill_(7);
    expect(v.toArray()).toEqual([[7, 7], [7, 7]]);
    const p = x.reshape([2, 2]).transpose();
    x.fill_(1);
    expect(p.toArray()).toEqual([[7, 7], [7, 7]]);
  });
});

describe('layout ops: gradients', () => {
  const X = rin([2, 3, 4], 51);
  test('reshape, view, flatten, unsqueeze, squeeze', () => {
    expectGradcheck((x) => x.reshape([4, 6]).mul(x.reshape([4, 6])), [X]);
    expectGradcheck((x) => x.view([-1, 2]).exp(), [X]);
    expectGradcheck((x) => x.flatten(1).exp(), [X]);
    expectGradcheck((x) => x.unsqueeze(1).exp(), [X]);
    expectGradcheck((x) => x.unsqueeze(0).squeeze(0).exp(), [X]);
    expectGradcheck((x) => x.squeeze().exp(), [rin([1, 3, 1, 2], 52)]);
  });
  test('permute and transpose', () => {
    expectGradcheck((x) => x.permute([2, 0, 1]).mul(tensor(randomData(24, 53), [4, 2, 3])), [X]);
    expectGradcheck((x) => x.permute([-1, 1, 0]).exp(), [X]);
    expectGradcheck((x) => x.transpose(0, 2).exp(), [X]);
    expectGradcheck((x) => x.transpose().matmul(x), [rin([3, 4], 54)]);
  });
  test('slice (step, negative start), narrow, select', () => {
    expectGradcheck((x) => x.slice(2, 1, 4, 2), [X]);
    expectGradcheck((x) => x.slice(1, -2), [X]);
    expectGradcheck((x) => x.slice(2, -4, -1, 2).exp(), [X]);
    expectGradcheck((x) => x.slice(0, 0, 1).add(x.slice(0, 1, 2)), [X]);
    expectGradcheck((x) => x.narrow(1, 1, 2).exp(), [X]);
    expectGradcheck((x) => x.select(1, -1).exp(), [X]);
    expectGradcheck((x) => x.select(0, 1).mul(x.select(0, 0)), [X]);
  });
  test('concat and stack (same tensor twice, mixed constants)', () => {
    const c = tensor(randomData(8, 55), [2, 1, 4]);
    expectGradcheck((a, b) => ops.concat([a, b], 1).exp(), [X, rin([2, 2, 4], 56)]);
    expectGradcheck((a) => ops.concat([a, c, a], 1).exp(), [X]);
    expectGradcheck((a, b) => ops.concat([a, b], -1), [rin([2, 3], 57), rin([2, 1], 58)]);
    expectGradcheck((a, b) => ops.stack([a, b], 1).exp(), [rin([2, 3], 59), rin([2, 3], 60)]);
    expectGradcheck((a, b) => ops.stack([a, b, a], 2), [rin([2, 3], 61), rin([2, 3], 62)]);
  });
  test('indexSelect with repeated indices, gather, expand', () => {
    expectGradcheck((x) => x.indexSelect(1, Int32Array.from([2, 0, 2, 2])).exp(), [X]);
    expectGradcheck((x) => x.indexSelect(0, Int32Array.from([1, 1])), [X]);
    expectGradcheck((x) => x.gather(2, Int32Array.from([0, 3, 3, 1, 2, 2, 0, 0, 1, 1, 3, 0]), [2, 3, 2]).exp(), [X]);
    expectGradcheck((x) => x.gather(0, Int32Array.from([1, 0, 1, 1, 0, 0]), [1, 3, 2]), [X]);
    expectGradcheck((x) => x.expand([3, 2, 4]).exp(), [rin([2, 1], 63)]);
    expectGradcheck((x) => x.expand([2, 3, 4]), [rin([4], 64)]);
  });
  test('clone and to(cpu) pass gradients through', () => {
    expectGradcheck((x: Tensor) => x.clone().exp(), [X]);
    // to('cpu') and back, so that the output is on the suite's device (FSNN_DEVICE=cuda: both directions).
    expectGradcheck((x: Tensor) => x.to('cpu').exp().to(x.device), [X]);
  });
});

describe('large sizes (multi-threaded kernels)', () => {
  test('permute, slice with step, concat and indexSelect over 120k elements match JS indexing', () => {
    const x = Array.from({ length: 40 * 50 * 60 }, (_, i) => i);
    const X = tensor(x, [40, 50, 60]);
    const P = X.permute([2, 0, 1]).toFloat32Array();
    const S = X.slice(1, 3, 47, 4).toFloat32Array();
    const Cc = ops.concat([X, X.slice(1, 0, 7)], 1).toFloat32Array();
    const I = X.indexSelect(1, Int32Array.from([49, 0, 49, 7])).toFloat32Array();
    let bad = 0;
    for (let i = 0; i < 40; i++)
      for (let j = 0; j < 50; j++)
        for (let k = 0; k < 60; k++) {
          const v = x[i * 3000 + j * 60 + k];
          if (P[k * 2000 + i * 50 + j] !== v) bad++;
          if (Cc[i * 57 * 60 + j * 60 + k] !== v) bad++;
          if (j < 7 && Cc[i * 57 * 60 + (50 + j) * 60 + k] !== v) bad++;
          if (j >= 3 && j < 47 && (j - 3) % 4 === 0 && S[i * 660 + ((j - 3) / 4) * 60 + k] !== v) bad++;
        }
    [49, 0, 49, 7].forEach((src, jj) => {
      for (let i = 0; i < 40; i++) for (let k = 0; k < 60; k++) if (I[i * 240 + jj * 60 + k] !== x[i * 3000 + src * 60 + k]) bad++;
    });
    expect(bad).toBe(0);
  });
});
