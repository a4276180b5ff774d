// The backward engine's leaf gradients: a leaf's first gradient becomes its .grad without a copy when
// nothing else can see that gradient (as PyTorch steals it), and is copied when something can: the same
// gradient tensor pending for another input, a view sharing its storage, or the caller's gradOutput.
// Aliasing would show as one leaf's .grad changing when another's accumulates.
import { tensor, Tensor } from '../../lib';
import { native } from '../../lib/native';
import { record } from '../../lib/autograd/node';

const values = (t: Tensor) => Array.from(t.toFloat32Array());
const leaf = (v: number[]) => tensor(v, [v.length]).requiresGrad_();

/** Counts the 'clone' kernels run by fn. */
function clones(fn: () => void): number {
  const spy = jest.spyOn(native, 'runKernel');
  try {
    fn();
    return spy.mock.calls.filter((c) => c[0] === 'clone').length;
  } finally {
    spy.mockRestore();
  }
}

describe('leaf gradients', () => {
  test('a gradient the pass made and nothing else holds becomes .grad without a copy', () => {
    const a = leaf([1, 2, 3]);
    expect(clones(() => a.mul(a).sum().backward())).toBe(0);
    expect(values(a.grad!)).toEqual([2, 4, 6]);
    a.mul(3).sum().backward();  // accumulates in place
    expect(values(a.grad!)).toEqual([5, 7, 9]);
  });

  test('one gradient tensor sent to two leaves: each leaf gets its own .grad', () => {
    const a = leaf([1, 2]), b = leaf([3, 4]);
    const y = tensor([0, 0], [2]);
    // out = a + b with a rule that hands the same tensor g to both inputs
    record(y, 'sameGradTwice', [a, b], (g) => [g, g]);
    y.sum().backward();
    expect(values(a.grad!)).toEqual([1, 1]);
    expect(values(b.grad!)).toEqual([1, 1]);
    a.mul(2).sum().backward();
    expect(values(a.grad!)).toEqual([3, 3]);
    expect(values(b.grad!)).toEqual([1, 1]);
  });

  test('a gradient that shares its storage with a view pending for another leaf is copied', () => {
    const a = leaf([1, 2, 3, 4]), b = leaf([5, 6, 7, 8]);
    const y = tensor([0, 0, 0, 0], [4]);
    record(y, 'viewGrad', [a, b], (g) => { const s = g.mul(1); return [s, s.reshape([4])]; });
    y.sum().backward();
    a.mul(2).sum().backward();
    expect(values(a.grad!)).toEqual([3, 3, 3, 3]);
    expect(values(b.grad!)).toEqual([1, 1, 1, 1]);
    b.mul(5).sum().backward();
    expect(values(a.grad!)).toEqual([3, 3, 3, 3]);
    expect(values(b.grad!)).toEqual([6, 6, 6, 6]);
  });

  test('the caller\'s gradOutput is copied, not taken', () => {
    const a = leaf([1, 2]);
    const go = tensor([10, 20], [2]);
    a.backward(go);
    a.mul(1).sum().backward();
    expect(values(a.grad!)).toEqual([11, 21]);
    expect(values(go)).toEqual([10, 20]);
  });
});
