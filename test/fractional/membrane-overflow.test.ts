// Overflow inside the fractional neuron: a finite input so large that the membrane overflows
// float32 is reported (the CPU kernels' membrane is checked: scanned, or by the fast kernels as they run),
// as NaN/Inf inputs already are.
// The CUDA backend does not scan the membrane yet: these tests run on the CPU backend in every suite.
import { getDefaultDevice, IFNeuron, LIFNeuron, nn, noGrad, SNNWrapper, tensor } from '../../lib';

if (getDefaultDevice() !== 'cpu')
  console.log('SKIPPED (on cuda): the membrane-overflow scan is the CPU backend\'s only; these tests run on cpu here');

describe('membrane overflow', () => {
  test.each([true, false])('an input of 3e38 is an error naming the step and the fix (grad %s)', (grad) => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Identity(), new IFNeuron({ threshold: 1e38 })), { alpha: 0.5 }).to('cpu');
    const x = tensor([3e38, 3e38, 3e38, 3e38, 3e38, 3e38], [3, 2], { device: 'cpu' });
    const run = () => (grad ? net.forward(x) : noGrad(() => net.forward(x)));
    expect(run).toThrow(/membrane potential overflowed float32 .* at time step \d+, neuron \d+ .*scale the inputs/);
  });

  test('an unstable step (h large against tau) is an error naming the step size and tau as the fix', () => {
    // tau = 0.5 at h = 1: with the spikes and their resets firing, |v| grows until it overflows
    const net = new SNNWrapper(new nn.Sequential(new nn.Identity(), new LIFNeuron({ tau: 0.5 })), { alpha: 0.4 }).to('cpu');
    const x = tensor(new Float32Array(600 * 4).map((_, i) => 1 + 0.5 * Math.sin(i)), [600, 4], { device: 'cpu' });
    expect(() => noGrad(() => net.forward(x, undefined, { history: 'exact' }))).toThrow(/overflowed float32 .*time step h is too large for tau = 0\.5.*smaller step h .*or a larger tau/);
  });

  test('the fast history checks its membrane as it computes it: the same errors', () => {
    // The fast kernels flag an Inf/NaN membrane inside the time loop (no scan of v afterwards): an overflow,
    // and a NaN input in the last of several blocks of neurons, are still reported with their place.
    const net = new SNNWrapper(new nn.Sequential(new nn.Identity(), new IFNeuron({ threshold: 1e38 })), { alpha: 0.5 }).to('cpu');
    const x = tensor(new Float32Array(6 * 40).fill(3e38), [6, 40], { device: 'cpu' });
    expect(() => noGrad(() => net.forward(x, undefined, { history: 'fast' }))).toThrow(/membrane potential overflowed float32 .* at time step \d+, neuron \d+ .*scale the inputs/);
    const N = 70, T = 40;
    const y = new Float32Array(T * N).fill(0.3);
    y[23 * N + 66] = NaN;
    const net2 = new SNNWrapper(new nn.Sequential(new nn.Identity(), new LIFNeuron()), { alpha: 0.5 }).to('cpu');
    for (const grad of [true, false]) {
      const run = () => net2.forward(tensor(y, [T, N], { device: 'cpu' }), undefined, { history: 'fast' });
      expect(() => (grad ? run() : noGrad(run))).toThrow(/non-finite value \(nan\) at time step 23, neuron 66/);
    }
    const ok = noGrad(() => net2.forward(tensor(new Float32Array(T * N).fill(0.3), [T, N], { device: 'cpu' }), undefined, { history: 'fast' }));
    expect(ok.shape).toEqual([T, N]);
  });

  test('large but safe inputs still run', () => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Identity(), new LIFNeuron()), { alpha: 0.5 }).to('cpu');
    const out = noGrad(() => net.forward(tensor([1e30, 1e30, -1e30, 2], [2, 2], { device: 'cpu' })));
    expect(Array.from(out.toFloat32Array()).every(Number.isFinite)).toBe(true);
  });
});
