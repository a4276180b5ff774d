// The CPU kernels stage a layer in slabs of neurons, and the last block of a slab may be partly
// padding. The padding lanes must add nothing: a layer whose last slab ends part-way through a block,
// run by one thread right after full slabs (whose values were in those lanes), must give the parameter
// gradients of its two parts run separately (to float64 summation order), and the same spikes and
// input gradient bit for bit.
import { getNumThreads, setNumThreads, tensor, Tensor } from '../../lib';
import { fractionalNeuron } from '../../lib/fractional';

const initial = getNumThreads();
afterAll(() => setNumThreads(initial));

const T = 8;
const N = 2 * 1008 + 5; // two full slabs at T = 8 (1,008 neurons each), then 5 neurons of a 24-lane block

function layer(I: Tensor, firstColumn: number, steps?: number) {
  const alpha = tensor([0.35, 0.8], [2], { requiresGrad: true });
  const weight = tensor([1, 0.4], [2], { requiresGrad: true });
  const theta = tensor([0.1], [1], { requiresGrad: true });
  const Ig = I.detach().requiresGrad_();
  const r = fractionalNeuron(Ig, alpha, weight, { tauTheta: theta, tau0: 2, threshold: 1, returnTrace: true, history: 'exact', ...(steps ? { steps } : {}) });
  const n = r.spikes.numel;
  const cols = r.spikes.shape[1];
  // the same upstream gradient per (step, neuron) in the whole layer and in its parts
  const g = tensor(Float32Array.from({ length: n }, (_, i) => Math.sin((firstColumn + (i % cols)) * 0.37 + Math.floor(i / cols))), r.spikes.shape as number[]);
  r.spikes.mul(g).sum().add(r.v!.mul(g.mul(0.25)).sum()).backward();
  return {
    spikes: r.spikes.toFloat32Array(), dI: Ig.grad!.toFloat32Array(),
    params: [...alpha.grad!.toFloat32Array(), ...weight.grad!.toFloat32Array(), ...theta.grad!.toFloat32Array()],
  };
}

function columns(x: Float32Array, rows: number, width: number, from: number, to: number): Float32Array {
  const out = new Float32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * width + from, r * width + to), r * (to - from));
  return out;
}

for (const steps of [undefined, T]) {
  test(`padding lanes of a partial last slab add nothing (${steps ? 'static input' : 'time-major input'})`, () => {
    setNumThreads(1);
    const rows = steps ? 1 : T;
    const x = Float32Array.from({ length: rows * N }, (_, i) => 1.2 + Math.cos(i * 0.61) * 1.5);
    const whole = layer(tensor(x, [rows, N]), 0, steps);
    const head = layer(tensor(columns(x, rows, N, 0, 2016), [rows, 2016]), 0, steps);
    const tail = layer(tensor(columns(x, rows, N, 2016, N), [rows, 5]), 2016, steps);
    expect(Buffer.from(columns(whole.spikes, T, N, 2016, N).buffer).equals(Buffer.from(tail.spikes.buffer))).toBe(true);
    expect(Buffer.from(columns(whole.dI, rows, N, 2016, N).buffer).equals(Buffer.from(tail.dI.buffer))).toBe(true);
    whole.params.forEach((g, i) => {
      const parts = head.params[i] + tail.params[i];
      expect(Math.abs(g - parts)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(parts)));
    });
  });
}
