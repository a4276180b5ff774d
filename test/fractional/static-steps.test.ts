// The fractional op's static input (options.steps): a one-step current [1, B, ...] held for T steps must
// give exactly what the same current repeated over T gives: spikes and traces bit for bit, the current's
// gradient equal to the float64 sum over the steps of the repeated gradient (rounded once, as a sum over
// dim 0 is), and the order, weight and tau gradients bit for bit. On the CPU the exact kernels read the one
// step in place; the other kernels (fast history, pred) and other devices get the repeated copy.
import { ops, tensor, Tensor } from '../../lib';
import { fractionalNeuron } from '../../lib/fractional';
import type { FractionalHistory, NeuronKind } from '../../lib/fractional/op';
import type { FractionalMethod } from '../../lib/fractional/kernel';

let seed = 11;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
};

interface Case { T: number; shape: number[]; method: FractionalMethod; history: FractionalHistory; kind: NeuronKind; trace: boolean; alphas: number[] }
const cases: Case[] = [
  { T: 8, shape: [64, 256], method: 'l1', history: 'exact', kind: 'lif', trace: false, alphas: [0.5] },
  // N = 3 * 1111: slabs of the kernel that end part-way through a block
  { T: 13, shape: [3, 1111], method: 'gl', history: 'exact', kind: 'if', trace: true, alphas: [0.3, 0.8] },
  { T: 1, shape: [5, 7], method: 'l1', history: 'exact', kind: 'lif', trace: true, alphas: [0.7] },
  { T: 40, shape: [2, 300], method: 'l1', history: 'fast', kind: 'lif', trace: true, alphas: [0.4, 0.9] },
  { T: 20, shape: [4, 50], method: 'pred', history: 'exact', kind: 'lif', trace: false, alphas: [0.6] },
];

function run(c: Case, I: Tensor, steps: number | undefined) {
  const alpha = tensor(c.alphas, [c.alphas.length], { requiresGrad: true });
  const weight = c.method === 'pred' ? null : tensor(c.alphas.map((_, i) => 1 / (i + 1)), [c.alphas.length], { requiresGrad: true });
  const theta = tensor([0.2], [1], { requiresGrad: true });
  const r = fractionalNeuron(I, alpha, weight, {
    method: c.method, history: c.history, kind: c.kind, tauTheta: theta, tau0: 1.5, threshold: 1, returnTrace: c.trace,
    ...(steps === undefined ? {} : { steps }),
  });
  const n = c.T * c.shape.reduce((a, b) => a * b, 1);
  const gS = tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)), [c.T, ...c.shape]);
  let loss = r.spikes.mul(gS).sum();
  if (r.v) loss = loss.add(r.v.mul(gS.mul(0.25)).sum());
  loss.backward();
  return {
    spikes: r.spikes.toFloat32Array(), v: r.v?.toFloat32Array(), gI: I.grad!.toFloat32Array(), shape: r.spikes.shape,
    gAlpha: alpha.grad!.toFloat32Array(), gWeight: weight?.grad?.toFloat32Array(), gTheta: theta.grad!.toFloat32Array(),
  };
}

test.each(cases)('T=$T $method $history $kind [1, $shape] held for T steps = the repeated current (trace: $trace)', (c) => {
  const N = c.shape.reduce((a, b) => a * b, 1);
  const amp = c.T === 1 ? 8 : 3; // one step spikes only where I / tau >= threshold
  const x = Float32Array.from({ length: N }, () => amp * rnd() - 0.5);
  const one = tensor(x, [1, ...c.shape], { requiresGrad: true });
  const rep = tensor(Float32Array.from({ length: c.T * N }, (_, i) => x[i % N]), [c.T, ...c.shape], { requiresGrad: true });
  const a = run(c, one, c.T), b = run(c, rep, undefined);
  expect(a.shape).toEqual([c.T, ...c.shape]);
  expect(Array.from(a.spikes)).toEqual(Array.from(b.spikes));
  expect(b.spikes.some((s) => s === 1) && b.spikes.some((s) => s === 0)).toBe(true); // the case does spike, and not everywhere
  if (c.trace) expect(Array.from(a.v!)).toEqual(Array.from(b.v!));
  // dL/dI of the one step: the repeated gradient's float64 sum over the steps, rounded once
  const want = new Float32Array(N);
  for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < c.T; k++) s += b.gI[k * N + j];
    want[j] = s;
  }
  expect(Array.from(a.gI)).toEqual(Array.from(want));
  expect(Array.from(ops.sum(tensor(b.gI, [c.T, N]), 0, true).toFloat32Array())).toEqual(Array.from(want));
  expect(Array.from(a.gAlpha)).toEqual(Array.from(b.gAlpha));
  if (a.gWeight) expect(Array.from(a.gWeight)).toEqual(Array.from(b.gWeight!));
  expect(Array.from(a.gTheta)).toEqual(Array.from(b.gTheta));
});

test('steps needs a one-step current and a positive integer, and says so', () => {
  const I = tensor(new Float32Array(12), [2, 6]);
  const alpha = tensor([0.5], [1]);
  expect(() => fractionalNeuron(I, alpha, null, { steps: 4 })).toThrow(/steps = 4 repeats a one-step static input \[1, B, \.\.\.\], but the current is \[2,6\]/);
  const one = tensor(new Float32Array(6), [1, 6]);
  for (const bad of [0, -2, 2.5, NaN]) expect(() => fractionalNeuron(one, alpha, null, { steps: bad })).toThrow(/steps = .* must be a positive integer/);
  expect(fractionalNeuron(one, alpha, null, { steps: 3 }).spikes.shape).toEqual([3, 6]);
});

test('a T too large for the kernel tables is refused before anything is built (a one-step input makes it cheap to ask for)', () => {
  const one = tensor(new Float32Array(5), [1, 5]);
  const alpha = tensor([0.5], [1]);
  const t0 = Date.now();
  expect(() => fractionalNeuron(one, alpha, null, { steps: 1e9 })).toThrow(/T = 1000000000 is too large: the kernel's float64 tables .* would take 22\.4 GiB, over the 4 GiB limit/);
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(fractionalNeuron(one, alpha, null, { steps: 2 }).spikes.shape).toEqual([2, 5]); // and the op still works
});
