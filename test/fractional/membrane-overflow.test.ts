// Overflow inside the fractional neuron: a finite input so large that the membrane overflows
// float32 is reported (the CPU kernel's membrane is scanned), as NaN/Inf inputs already are.
import { IFNeuron, LIFNeuron, nn, noGrad, SNNWrapper, tensor } from '../../lib';

describe('membrane overflow', () => {
  test.each([true, false])('an input of 3e38 is an error naming the step and the fix (grad %s)', (grad) => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Identity(), new IFNeuron({ threshold: 1e38 })), { alpha: 0.5 });
    const x = tensor([3e38, 3e38, 3e38, 3e38, 3e38, 3e38], [3, 2]);
    const run = () => (grad ? net.forward(x) : noGrad(() => net.forward(x)));
    expect(run).toThrow(/membrane potential overflowed float32 .* at time step \d+, neuron \d+ .*scale the inputs/);
  });

  test('large but safe inputs still run', () => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Identity(), new LIFNeuron()), { alpha: 0.5 });
    const out = noGrad(() => net.forward(tensor([1e30, 1e30, -1e30, 2], [2, 2])));
    expect(Array.from(out.toFloat32Array()).every(Number.isFinite)).toBe(true);
  });
});
