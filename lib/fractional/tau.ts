// The learnable membrane time constant (spikeDE's parameterisation):
//   tau(theta) = tau0 (1 + e^theta),   d tau / d theta = tau0 e^theta.
// tau stays above tau0 for every real theta; theta = 0 gives tau = 2 tau0.

/** tau = tau0 (1 + e^theta): the effective time constant of a neuron whose tau is learned. */
export function tauFromTheta(tau0: number, theta: number): number {
  return tau0 * (1 + Math.exp(theta));
}

/** d tau / d theta = tau0 e^theta (the chain factor of the learnable tau's gradient). */
export function dTauDTheta(tau0: number, theta: number): number {
  return tau0 * Math.exp(theta);
}
