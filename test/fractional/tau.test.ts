// The learnable membrane time constant tau = tau0 (1 + e^theta): values, its derivative against central
// differences, and the neuron's effectiveTau() using it.
import { LIFNeuron } from '../../lib';
import { dTauDTheta, tauFromTheta } from '../../lib/fractional/tau';

test('tau = tau0 (1 + e^theta): 2 tau0 at theta = 0, tau0 from above as theta -> -inf', () => {
  expect(tauFromTheta(0.5, 0)).toBe(1);
  expect(tauFromTheta(0.25, Math.log(3))).toBeCloseTo(1, 15);
  expect(tauFromTheta(2, -20)).toBeGreaterThan(2);
  expect(tauFromTheta(2, -20)).toBeCloseTo(2, 7);
});

test.each([[0.5, 0], [0.25, 1.3], [3, -2.2]])('d tau / d theta at tau0 = %p, theta = %p matches central differences', (tau0, theta) => {
  const eps = 1e-6;
  const fd = (tauFromTheta(tau0, theta + eps) - tauFromTheta(tau0, theta - eps)) / (2 * eps);
  expect(Math.abs(dTauDTheta(tau0, theta) - fd)).toBeLessThan(1e-8 * Math.max(1, Math.abs(fd)));
});

test('a neuron with a learnable tau reports tauFromTheta of its theta', () => {
  const n = new LIFNeuron({ tau: 0.3, tauLearnable: true });
  n.tauTheta!.assign(new Float32Array([0.7]));
  expect(n.effectiveTau()).toBe(tauFromTheta(0.3, Math.fround(0.7)));
});
