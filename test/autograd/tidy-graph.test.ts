// backward() on a tensor that tidy() returned: the graph survives for returned tensors (PyTorch
// semantics), and the tensors tidy kept for it are freed once backward() has consumed the graph,
// or when the returned tensor is disposed.
import { getDefaultDevice, native, ones, tensor, tidy } from '../../lib';
import { Parameter } from '../../lib/nn/parameter';

const live = () => native.liveBytes(getDefaultDevice());

describe('backward through a tensor returned by tidy()', () => {
  it('gives the gradient of the returned loss (d/dw sum(w*w) = 2w)', () => {
    const w = new Parameter(tensor([1, -2, 3]));
    const l = tidy(() => w.mul(w).sum());
    l.backward();
    expect(w.grad).not.toBeNull();
    expect(Array.from(w.grad!.toFloat32Array())).toEqual([2, -4, 6]);
  });

  it('works through nested tidy scopes and a graph that continues outside', () => {
    const w = new Parameter(tensor([0.5, 2]));
    const y = tidy(() => tidy(() => w.exp()).mul(3)); // y = 3 e^w
    const l = y.sum();
    l.backward();
    const g = Array.from(w.grad!.toFloat32Array());
    expect(g[0]).toBeCloseTo(3 * Math.exp(0.5), 4);
    expect(g[1]).toBeCloseTo(3 * Math.exp(2), 4);
  });

  // The tensors here are 4 MiB each, and live bytes are compared within 1 MiB: other test files in this
  // worker leave undisposed handles whose finalizers may run (and free a few KB) at any GC in between.
  const N = 1 << 20, MiB = 2 ** 20;
  it('frees the tensors kept for the graph after backward(), and after dispose() without backward', () => {
    const w = new Parameter(ones([N]));
    const before = live();
    const l = tidy(() => w.mul(2).exp().mul(w).sum());
    expect(live()).toBeGreaterThan(before + 2 * N * 4 - MiB); // intermediates held for the graph
    l.backward();
    l.dispose();
    w.grad!.dispose();
    w.grad = null;
    expect(Math.abs(live() - before)).toBeLessThan(MiB);
    const l2 = tidy(() => w.mul(2).exp().sum());
    l2.dispose();
    expect(Math.abs(live() - before)).toBeLessThan(MiB);
    w.dispose();
  });

  it('a tidy that ran backward inside frees everything when it returns', () => {
    const w = new Parameter(ones([N]));
    const before = live();
    const l = tidy(() => {
      const loss = w.mul(w).exp().sum();
      loss.backward();
      return loss;
    });
    l.dispose();
    w.grad!.dispose();
    w.grad = null;
    expect(Math.abs(live() - before)).toBeLessThan(MiB);
    w.dispose();
  });
});
