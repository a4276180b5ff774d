// The fractional neuron fed by a linear layer (lib/ops/linear-marks.ts): when its current is linear()'s output
// on an input that needs no gradient, the neuron's backward returns the layer's weight and bias gradients in
// place of dL/dI (folded into the CPU fast kernel's pass; formed from dL/dI by linearWeightBiasGrad
// elsewhere). Checked against the same network with the mark dropped (a reshape of the current is a new,
// unmarked tensor), which takes dL/dI through the layer's own backward.
import { tensor } from '../../lib/creation';
import '../../lib/ops/methods';
import { linear } from '../../lib/ops/nn';
import { reshape } from '../../lib/ops/layout';
import { fractionalNeuron, type FractionalHistory } from '../../lib/fractional/op';
import { Tensor } from '../../lib/tensor';
import { testDevice } from '../helpers/device';

function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (hi - lo) * (s / 2 ** 32);
  });
}

interface Case { T: number; B: number; K: number; F: number; history: FractionalHistory }

/** One forward and backward; returns the spikes and every gradient. */
function run(c: Case, fold: boolean, opts: { otherConsumer?: boolean; xGrad?: boolean; retain?: boolean } = {}) {
  const { T, B, K, F } = c;
  const x = tensor(uniform(T * B * K, 11 + K, 0, 1), [T, B, K], { requiresGrad: !!opts.xGrad });
  const W = tensor(uniform(F * K, 5 + F, 0.2, 1.6), [F, K], { requiresGrad: true });
  const b = tensor(uniform(F, 3, -0.2, 0.5), [F], { requiresGrad: true });
  const alpha = tensor([0.4, 0.85], [2], { requiresGrad: true });
  const coef = tensor([0.7, 0.5], [2], { requiresGrad: true });
  const theta = tensor([0.1], [1], { requiresGrad: true });
  const lossW = tensor(uniform(T * B * F, 99, -1, 1), [T, B, F]);
  const I0 = linear(x, W, b);
  if (opts.retain) I0.retainGrad();
  const I = fold ? I0 : reshape(I0, [T, B, F]);  // the reshape drops the mark
  const out = fractionalNeuron(I, alpha, coef, { tauTheta: theta, tau0: 1.2, history: c.history, returnTrace: true });
  let loss: Tensor = out.spikes.mul(lossW).sum().add(out.v!.mul(0.01).sum());
  if (opts.otherConsumer) loss = loss.add(I0.mul(lossW).sum());
  loss.backward();
  const f32 = (t: Tensor | null | undefined) => t!.toFloat32Array();
  return {
    spikes: f32(out.spikes), v: f32(out.v), gW: f32(W.grad), gb: f32(b.grad), gAlpha: f32(alpha.grad), gCoef: f32(coef.grad),
    gTheta: f32(theta.grad), gX: opts.xGrad ? f32(x.grad) : null, gI: opts.retain ? f32(I0.grad) : null,
  };
}

function expectClose(got: Float32Array, want: Float32Array, rel: number): void {
  expect(got.length).toBe(want.length);
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; ++i) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  expect(err).toBeLessThanOrEqual(rel * Math.max(scale, 1e-30));
}

// The CPU fast kernel folds (float64 sums per neuron, then over the batch: the same to float32 rounding as
// the unfolded float64 column sums); elsewhere the op forms dL/dI and reduces it by the same kernel as the
// unfolded network, so the gradients agree bit for bit.
// The layer gradients' tolerance against float64 sums: float32 rounding of a float64 sum on the CPU; other
// devices reduce dL/dI with a float32 matmul and column sum.
const sumTol = testDevice === 'cpu' ? 2e-7 : 2e-5;
const cases: Case[] = [
  { T: 300, B: 3, K: 1, F: 37, history: 'fast' },
  { T: 257, B: 2, K: 3, F: 64, history: 'fast' },
  { T: 130, B: 5, K: 6, F: 20, history: 'fast' },
  { T: 90, B: 3, K: 2, F: 33, history: 'exact' },
];

describe('fractionalNeuron after linear(): the layer gradients folded into the neuron backward', () => {
  for (const c of cases) {
    test(`T ${c.T}, B ${c.B}, K ${c.K}, F ${c.F}, ${c.history}: the same spikes, trace and gradients as through dL/dI`, () => {
      const got = run(c, true), want = run(c, false);
      expect(got.spikes).toEqual(want.spikes);
      expect(got.v).toEqual(want.v);
      // The layer's gradients against float64 sums of the retained dL/dI: sum_rows dL/dI x, sum_rows dL/dI.
      const gI = run(c, false, { retain: true }).gI!, x = uniform(c.T * c.B * c.K, 11 + c.K, 0, 1);
      const refW = new Float64Array(c.F * c.K), refB = new Float64Array(c.F);
      for (let r = 0; r < c.T * c.B; ++r)
        for (let f = 0; f < c.F; ++f) {
          const g = gI[r * c.F + f];
          refB[f] += g;
          for (let k = 0; k < c.K; ++k) refW[f * c.K + k] += g * x[r * c.K + k];
        }
      expectClose(got.gW, Float32Array.from(refW), sumTol);
      expectClose(got.gb, Float32Array.from(refB), sumTol);
      // Where nothing folds (exact history, other devices), linearWeightBiasGrad reduces dL/dI as in the
      // unfolded network: the same bits.
      if (testDevice !== 'cpu' || c.history === 'exact') {
        expect(got.gW).toEqual(want.gW);
        expect(got.gb).toEqual(want.gb);
      }
      for (const k of ['gAlpha', 'gCoef', 'gTheta'] as const) expect(got[k]).toEqual(want[k]);
      expect(got.gW.some((g) => g !== 0)).toBe(true);
    });
  }

  test('a second consumer of the current still reaches the layer through its own node', () => {
    const c = cases[0];
    const got = run(c, true, { otherConsumer: true }), want = run(c, false, { otherConsumer: true });
    expectClose(got.gW, want.gW, sumTol);
    expectClose(got.gb, want.gb, sumTol);
    // Not folded into a double count: the fold alone differs from the two together.
    const alone = run(c, true);
    expect(Math.abs(alone.gb[0] - got.gb[0])).toBeGreaterThan(1e-3);
  });

  test('no fold where dL/dI is needed: an input that requires grad, or a current that retains its gradient', () => {
    const c = cases[1];
    const withX = run(c, true, { xGrad: true }), refX = run(c, false, { xGrad: true });
    expect(withX.gX).toEqual(refX.gX);
    expect(withX.gW).toEqual(refX.gW);
    const kept = run(c, true, { retain: true }), refKept = run(c, false, { retain: true });
    expect(kept.gI).toEqual(refKept.gI);
    expect(kept.gI!.some((g) => g !== 0)).toBe(true);
    expect(kept.gW).toEqual(refKept.gW);
  });
});
