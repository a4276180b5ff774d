// The spikes a fractional neuron writes on the CPU are also kept as bits on their storage (native
// Storage::spike_bits: the fast history's AVX-512 body records them), and the spike-sparse products read
// their active inputs from those bits instead of scanning the floats. Checked against the same products on
// a copy of the spikes (no bits: the float scan), bit for bit, with rows that start inside a 64-bit word
// and widths that are not a multiple of 64; and after an in-place write, which must make the bits stale.
import { tensor, Tensor } from '../../lib';
import '../../lib/ops/methods';
import { runKernel } from '../../lib/kernels/run-kernel';
import { reshape } from '../../lib/ops/layout';
import { wrap } from '../../lib/ops/util';
import { fractionalNeuron } from '../../lib/fractional/op';

function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (hi - lo) * (s / 2 ** 32);
  });
}

/** A neuron layer's spikes [T * B, F] on the CPU (fast history), as the readout sees them. */
function neuronSpikes(T: number, B: number, F: number, seed: number): Tensor {
  const I = tensor(uniform(T * B * F, seed, -0.5, 2.5), [T, B, F], { device: 'cpu' });
  const alpha = tensor([0.6], [1], { device: 'cpu' });
  const { spikes } = fractionalNeuron(I, alpha, null, { history: 'fast', tau: 2 });
  return reshape(spikes, [T * B, F]);
}

function products(x: Tensor, w: Tensor, g: Tensor): [Float32Array, Float32Array] {
  const y = wrap(runKernel('spikeMatmul', [x.handle, w.handle], { path: 'sparse' }));
  const gw = wrap(runKernel('spikeMatmulWeightGrad', [g.handle, x.handle], { path: 'sparse' }));
  return [y.toFloat32Array(), gw.toFloat32Array()];
}

describe('spike bits: the sparse products read a neuron\'s spikes as bits', () => {
  // [T, B, F] and the outputs N: F = 64 (rows on word boundaries), 80 (a 16-input tail past each word), 48
  // with B = 3 (rows that start inside a word). N <= 32 takes the narrow bodies, which read the bits; B F is a
  // multiple of 16 in each, as the bits need.
  for (const [T, B, F, N] of [[300, 4, 64, 10], [170, 2, 80, 12], [257, 3, 48, 24]]) {
    test(`T ${T}, B ${B}, F ${F}, ${N} outputs: the same products as from the floats, and stale after a write`, () => {
      const x = neuronSpikes(T, B, F, T + F);
      const values = x.toFloat32Array();
      const rate = values.reduce((a, v) => a + v, 0) / values.length;
      expect(rate).toBeGreaterThan(0.02);
      expect(rate).toBeLessThan(0.98);
      const w = tensor(uniform(N * F, 7, -1, 1), [N, F], { device: 'cpu' });
      const g = tensor(uniform(T * B * N, 9, -1, 1), [T * B, N], { device: 'cpu' });
      const copy = tensor(values, [T * B, F], { device: 'cpu' });
      const [y, gw] = products(x, w, g), [yRef, gwRef] = products(copy, w, g);
      expect(y).toEqual(yRef);
      expect(gw).toEqual(gwRef);
      // An in-place write (here: another layer's spikes copied in) leaves the old bits behind: the products
      // must follow the new values.
      const other = neuronSpikes(T, B, F, T + F + 1);
      x.copy_(other);
      const [y2, gw2] = products(x, w, g), [y2Ref, gw2Ref] = products(tensor(other.toFloat32Array(), [T * B, F], { device: 'cpu' }), w, g);
      expect(y2).toEqual(y2Ref);
      expect(gw2).toEqual(gw2Ref);
      expect(y2).not.toEqual(y);
    });
  }
});
