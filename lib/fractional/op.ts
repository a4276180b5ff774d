// The fractional neuron op with autograd: a whole layer over all T steps in one native call, and its
// exact discrete adjoint in another. The kernel K_L (and dK/dalpha, dK/dw) comes from ./kernel.ts;
// d(loss)/d(alpha_m) = sum_L dLoss/dK_L * dK_L/dalpha_m, likewise for the weights.
import type { FractionalNativeParams } from '../../types/native';
import { record } from '../autograd/node';
import { native } from '../native';
import { Tensor } from '../tensor';
import { wrap } from '../ops/util';
import { buildKernel, chainKernelGradient, FractionalKernel, FractionalMethod } from './kernel';

/** Neuron model: 'lif' (leaky integrate-and-fire) or 'if' (integrate-and-fire, no leak). */
export type NeuronKind = 'lif' | 'if';
/** Smooth stand-ins for the derivative of the spike (Heaviside) function used in backward(). */
export type SurrogateName = 'arctan' | 'sigmoid' | 'piecewise_linear' | 'gaussian';
/** Every surrogate name, in a fixed order. */
export const SURROGATES: readonly SurrogateName[] = ['arctan', 'sigmoid', 'piecewise_linear', 'gaussian'];

/** Options of the fractional neuron op (one neuron layer over all time steps). */
export interface FractionalNeuronOptions {
  /** Neuron model (default 'lif'). */
  kind?: NeuronKind;
  /** Membrane time constant when it is fixed (ignored when tauTheta is given). */
  tau?: number;
  /** Learnable tau: tau = tau0 * (1 + exp(theta)) (spikeDE's parameterisation); a 0-d or [1] tensor. */
  tauTheta?: Tensor | null;
  /** Membrane time constant. */
  tau0?: number;
  /** Firing threshold of the membrane potential. */
  threshold?: number;
  /** Surrogate gradient of the spike function (default 'arctan'). */
  surrogate?: SurrogateName;
  /** Surrogate scale (slope for arctan/sigmoid, half-width for piecewise_linear, sigma for gaussian). */
  scale?: number;
  /** Discretisation (default 'l1'). */
  method?: FractionalMethod;
  /** Time step h. */
  h?: number;
  /** History window M (the update uses the M-1 most recent states); default: full history. */
  memory?: number;
  /** Also return the membrane trace v_1..v_T. */
  returnTrace?: boolean;
}

/** Output of the fractional neuron op. */
export interface FractionalNeuronResult {
  /** Spikes (0 or 1), time-major like the input. */
  spikes: Tensor;
  /** Membrane potentials, when requested. */
  v?: Tensor;
}

function values(t: Tensor | null | undefined): Float64Array {
  return t ? Float64Array.from(t.toFloat32Array()) : new Float64Array(0);
}

/**
 * Runs one neuron layer: I [T, B, ...] -> spikes [T, B, ...] (and the membrane trace on request).
 * alpha and weight hold the layer's orders and term weights ([terms]); they receive gradients when they
 * require grad. For method 'euler' they are ignored.
 */
export function fractionalNeuron(I: Tensor, alpha: Tensor | null, weight: Tensor | null, opts: FractionalNeuronOptions = {}): FractionalNeuronResult {
  if (!I || !I.__isTensor) throw new TypeError('fractionalNeuron: the input current must be a Tensor [T, B, ...]');
  if (I.ndim < 2) throw new Error(`fractionalNeuron: the input current must be time-major [T, B, ...], got [${I.shape}]`);
  const T = I.shape[0];
  if (T < 1) throw new Error('fractionalNeuron: T = 0 time steps; the input needs at least one step');
  const method = opts.method ?? 'l1';
  const h = opts.h ?? 1;
  const surrogate = opts.surrogate ?? 'arctan';
  if (!SURROGATES.includes(surrogate)) throw new Error(`fractionalNeuron: surrogate '${surrogate}' is unknown; use ${SURROGATES.map((s) => `'${s}'`).join(', ')}`);
  const memory = opts.memory ?? T + 1;
  if (!Number.isInteger(memory) || memory < 1)
    throw new Error(`fractionalNeuron: memory window ${memory} must be an integer >= 1 (omit it for the full history)`);
  const theta = opts.tauTheta ?? null;
  const tau0 = opts.tau0 ?? opts.tau ?? 0.5;
  const thetaValue = theta ? theta.toFloat32Array()[0] : 0;
  const tau = theta ? tau0 * (1 + Math.exp(thetaValue)) : (opts.tau ?? 0.5);
  const alphas = values(alpha), weights = weight ? values(weight) : new Float64Array(alphas.length).fill(1);
  const kernel: FractionalKernel = buildKernel(method, alphas, weights, h, T);
  const params: FractionalNativeParams = {
    kind: opts.kind ?? 'lif',
    tau,
    threshold: opts.threshold ?? 1,
    surrogate,
    scale: opts.scale ?? 5,
    memory: Math.min(memory, T + 1),
  };
  const inputs = [I, method === 'euler' ? null : alpha, method === 'euler' ? null : weight, theta];
  const needGrad = inputs.some((t) => t && t.requiresGrad);
  const save = needGrad || !!opts.returnTrace;
  const r = native.fractionalForward(I.handle, kernel.K, params, save);
  const spikes = wrap(r.spikes);
  const trace = r.v ? wrap(r.v) : null;

  const backward = (gS: Tensor, gV: Tensor | null): (Tensor | null)[] => {
    const g = native.fractionalBackward(I.handle, trace!.handle, spikes.handle, gS.handle, gV ? gV.handle : null, kernel.K, params);
    const grads: (Tensor | null)[] = [wrap(g.gI), null, null, null];
    if (method !== 'euler' && (alpha?.requiresGrad || weight?.requiresGrad)) {
      const { gAlpha, gWeight } = chainKernelGradient(kernel, g.gK);
      if (alpha?.requiresGrad) grads[1] = wrap(native.fromFloat32(Float32Array.from(gAlpha), alpha.shape.slice(), alpha.device));
      if (weight?.requiresGrad) grads[2] = wrap(native.fromFloat32(Float32Array.from(gWeight), weight.shape.slice(), weight.device));
    }
    if (theta?.requiresGrad) {
      // tau = tau0 (1 + e^theta)  =>  dtau/dtheta = tau0 e^theta
      grads[3] = wrap(native.full(theta.shape.slice(), g.gTau * tau0 * Math.exp(thetaValue), theta.device));
    }
    return grads;
  };

  if (!opts.returnTrace) {
    if (!needGrad && trace) trace.dispose();
    return { spikes: record(spikes, 'fractionalNeuron', inputs, (gS) => backward(gS, null)) };
  }
  // With the trace as a second output, both leave through one node over [spikes; v] and two slices.
  const both = wrap(native.concat([native.reshape(spikes.handle, [1, ...I.shape]), native.reshape(trace!.handle, [1, ...I.shape])], 0));
  const joint = record(both, 'fractionalNeuron', inputs, (g) => {
    const gS = wrap(native.reshape(native.slice(g.handle, 0, 0, 1, 1), I.shape.slice()));
    const gV = wrap(native.reshape(native.slice(g.handle, 0, 1, 2, 1), I.shape.slice()));
    return backward(gS, gV);
  });
  if (!joint.requiresGrad) return { spikes, v: trace! };
  const { select } = require('../ops/layout') as typeof import('../ops/layout');
  return { spikes: select(joint, 0, 0), v: select(joint, 0, 1) };
}
