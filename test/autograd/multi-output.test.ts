// Grad nodes with several outputs (recordMulti): one backward rule over all outputs, run once per
// backward() after every consumer of every output; null for outputs that received no gradient. Checked
// on small ops with closed-form gradients, then retainGraph, tidy/dispose (exact native bytes) and the
// fractional neuron op (spikes and the membrane trace as two outputs of one node).
import { getDefaultDevice, native, noGrad, tensor, Tensor, tidy } from '../../lib';
import { recordMulti } from '../../lib/autograd/node';
import { fractionalNeuron } from '../../lib/fractional/op';
import { collectGarbage } from '../helpers/collect-garbage';

const live = () => native.liveBytes(getDefaultDevice());
const values = (t: Tensor) => Array.from(t.toFloat32Array());

/** [a, b] = [2 x, x^2] as one op; records every call of its backward rule and the gradients it received. */
function twoOutputs(x: Tensor, calls: (number[] | null)[][] = []): [Tensor, Tensor] {
  const [a, b] = noGrad(() => [x.mul(2), x.mul(x)]);
  recordMulti([a, b], 'twoOutputs', [x], (grads) => {
    calls.push(grads.map((g) => (g ? values(g) : null)));
    const [ga, gb] = grads;
    let g: Tensor | null = null;
    if (ga) g = ga.mul(2);
    if (gb) g = g ? g.add(gb.mul(x).mul(2)) : gb.mul(x).mul(2);
    return [g];
  });
  return [a, b];
}

describe('recordMulti: several outputs of one node', () => {
  test('both outputs used: d/dx sum(a b) = d/dx sum(2 x^3) = 6 x^2, the rule runs once with both gradients', () => {
    const x = tensor([1, -2, 0.5], [3], { requiresGrad: true });
    const calls: (number[] | null)[][] = [];
    const [a, b] = twoOutputs(x, calls);
    expect(a.gradFn!.fn).toBe(b.gradFn!.fn);
    expect([a.gradFn!.index, b.gradFn!.index]).toEqual([0, 1]);
    expect(a.gradFn!.name).toBe('twoOutputs');
    a.mul(b).sum().backward();
    expect(calls.length).toBe(1);
    expect(calls[0].every((g) => g !== null)).toBe(true);
    expect(values(x.grad!)).toEqual([6, 24, 1.5]);
  });

  test('only one output used: the other gradient is null', () => {
    const x = tensor([1, -2, 0.5], [3], { requiresGrad: true });
    const calls: (number[] | null)[][] = [];
    const [, b] = twoOutputs(x, calls);
    b.sum().backward();
    expect(calls.length).toBe(1);
    expect(calls[0][0]).toBeNull();
    expect(calls[0][1]).not.toBeNull();
    expect(values(x.grad!)).toEqual([2, -4, 1]);  // d/dx sum(x^2)
  });

  test('an output used twice accumulates both paths before the rule runs', () => {
    const x = tensor([1, -2, 0.5], [3], { requiresGrad: true });
    const calls: (number[] | null)[][] = [];
    const [a] = twoOutputs(x, calls);
    a.sum().add(a.mul(a).sum()).backward();  // sum(2x) + sum(4x^2): 2 + 8x
    expect(calls.length).toBe(1);
    expect(calls[0][0]).toEqual([1 + 4, 1 - 8, 1 + 2]);  // dL/da = 1 + 2a
    expect(values(x.grad!)).toEqual([10, -14, 6]);
  });

  test('topological order: a multi-output node feeding another, and one output bypassing it', () => {
    // (a, b) = twoOutputs(x); (c, d) = twoOutputs(a); L = sum(c b + d) = sum(4x * x^2 + 4x^2)
    // dL/dx = 12 x^2 + 8 x. The first node must run after the second and after the product with b.
    const x = tensor([1, -2, 0.5], [3], { requiresGrad: true });
    const first: (number[] | null)[][] = [], second: (number[] | null)[][] = [];
    const [a, b] = twoOutputs(x, first);
    const [c, d] = twoOutputs(a, second);
    c.mul(b).add(d).sum().backward();
    expect([first.length, second.length]).toEqual([1, 1]);
    expect(values(x.grad!)).toEqual([12 + 8, 48 - 16, 3 + 4]);
  });

  test('a leaf used by two multi-output nodes gets the sum of both', () => {
    const x = tensor([3], [1], { requiresGrad: true });
    const [a1] = twoOutputs(x);
    const [, b2] = twoOutputs(x);
    a1.add(b2).sum().backward();  // 2x + x^2: 2 + 2x
    expect(values(x.grad!)).toEqual([8]);
  });

  test('retainGraph runs the rule again; without it a second backward() is an error', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const calls: (number[] | null)[][] = [];
    const [a, b] = twoOutputs(x, calls);
    const loss = a.add(b).sum();  // 2x + x^2
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    expect(calls.length).toBe(2);
    expect(values(x.grad!)).toEqual([8, 12]);  // twice 2 + 2x
    expect(() => loss.backward()).toThrow(/already freed by an earlier backward\(\); pass \{ retainGraph: true \}/);
  });

  test('a graph consumed through one output is freed for the other too', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const [a, b] = twoOutputs(x);
    a.sum().backward();
    expect(a.gradFn!.released).toBe(true);
    expect(() => b.sum().backward()).toThrow(/graph through 'twoOutputs' was already freed/);
  });

  test('outputs that need no grad record nothing', () => {
    const x = tensor([1, 2], [2]);
    const [a, b] = twoOutputs(x);
    expect(a.gradFn).toBeNull();
    expect(b.requiresGrad).toBe(false);
  });
});

describe('recordMulti with tidy() and dispose(): exact native bytes', () => {
  beforeEach(collectGarbage);
  const N = 1024;

  test('both outputs returned from tidy: the graph lives until backward, then everything goes', () => {
    const x = tensor(new Float32Array(N).fill(0.5), [N], { requiresGrad: true });
    const before = live();
    const [a, b] = tidy(() => twoOutputs(x.mul(3)));  // x.mul(3) is kept for the graph
    expect(live()).toBeGreaterThan(before + 2 * N * 4);
    tidy(() => a.add(b).sum().backward());
    a.dispose();
    b.dispose();
    x.grad!.dispose();
    x.grad = null;
    expect(live()).toBe(before);
  });

  test('both outputs returned, disposed without backward: freed once both let go', () => {
    const x = tensor(new Float32Array(N).fill(0.5), [N], { requiresGrad: true });
    const before = live();
    const [a, b] = tidy(() => twoOutputs(x.mul(3)));
    const held = live();
    a.dispose();
    expect(live()).toBe(held - N * 4);  // a's buffer only: b's graph still holds x.mul(3)
    b.dispose();
    expect(live()).toBe(before);
  });

  test('one output returned from tidy: disposing it frees the other and the graph', () => {
    const x = tensor(new Float32Array(N).fill(0.5), [N], { requiresGrad: true });
    const before = live();
    const a = tidy(() => twoOutputs(x.mul(3))[0]);
    expect(live()).toBeGreaterThan(before + N * 4);
    a.dispose();
    expect(live()).toBe(before);
  });

  test('a training-style step inside tidy frees everything when it returns', () => {
    const x = tensor(new Float32Array(N).fill(0.5), [N], { requiresGrad: true });
    const before = live();
    tidy(() => {
      const [a, b] = twoOutputs(x.mul(3));
      a.mul(b).sum().backward();
    });
    x.grad!.dispose();
    x.grad = null;
    expect(live()).toBe(before);
  });
});

describe('the fractional neuron op: spikes and the membrane trace are two outputs of one node', () => {
  const T = 10, B = 3, F = 4;
  const I0 = Float32Array.from({ length: T * B * F }, (_, i) => 1.2 * Math.abs(Math.sin(0.7 * i)));
  const R = Float32Array.from({ length: T * B * F }, (_, i) => Math.cos(1.3 * i));
  const S = Float32Array.from({ length: T * B * F }, (_, i) => Math.sin(0.4 * i + 1));

  /** Gradients of loss(spikes, v) w.r.t. I and alpha. */
  function grads(loss: (s: Tensor, v: Tensor) => Tensor): { I: number[]; alpha: number[] } {
    const I = tensor(I0, [T, B, F], { requiresGrad: true });
    const alpha = tensor([0.6], [1], { requiresGrad: true });
    const r = fractionalNeuron(I, alpha, null, { returnTrace: true, threshold: 0.8 });
    expect(r.spikes.gradFn!.fn).toBe(r.v!.gradFn!.fn);
    expect(r.spikes.gradFn!.name).toBe('fractionalNeuron');
    expect(r.v!.gradFn!.index).toBe(1);
    loss(r.spikes, r.v!).backward();
    return { I: values(I.grad!), alpha: values(alpha.grad!) };
  }

  test('one node, no concat or slices; gradients add over the two outputs (v alone: the spikes gradient is zero)', () => {
    const sR = (s: Tensor) => s.mul(tensor(S, [T, B, F])).sum(), vR = (v: Tensor) => v.mul(tensor(R, [T, B, F])).sum();
    const both = grads((s, v) => sR(s).add(vR(v)));
    const onlyS = grads((s) => sR(s));
    const onlyV = grads((_, v) => vR(v));
    expect(onlyV.I.some((g) => g !== 0)).toBe(true);
    for (let i = 0; i < both.I.length; i++) expect(Math.abs(both.I[i] - (onlyS.I[i] + onlyV.I[i]))).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(both.I[i])));
    expect(Math.abs(both.alpha[0] - (onlyS.alpha[0] + onlyV.alpha[0]))).toBeLessThanOrEqual(1e-5 * Math.abs(both.alpha[0]));
  });

  test('with the trace returned from tidy and the spikes disposed, the trace still backpropagates', () => {
    const I = tensor(I0, [T, B, F], { requiresGrad: true });
    const before = live();
    const v = tidy(() => {
      const r = fractionalNeuron(I, tensor([0.5], [1]), null, { returnTrace: true });
      return r.v!;
    });
    tidy(() => v.sum().backward());
    expect(I.grad).not.toBeNull();
    v.dispose();
    I.grad!.dispose();
    I.grad = null;
    expect(live()).toBe(before);
  });
});
