// The fractional neuron op with autograd: a whole layer over all T steps in one native call, and its
// exact discrete adjoint in another. The kernel K_L (and dK/dalpha, dK/dw) is built natively from the
// orders and weights (native/fractional_kernel.h, cached while they do not change), and the backward
// chains dLoss/dK to the orders and weights natively next to dLoss/dK on the device:
//   dLoss/dalpha_m = sum_L dLoss/dK_L dK_L/dalpha_m,  dLoss/dw_m = sum_L dLoss/dK_L dK_L/dw_m  (float64),
// and dLoss/dtheta = dLoss/dtau tau0 e^theta for a learnable tau = tau0 (1 + e^theta). The backward
// makes no host read. Spikes and the membrane trace are two outputs of one graph node.
import type { FractionalNativeParams, NativeHandle } from '../../types/native';
import { needsGrad, record, recordMulti } from '../autograd/node';
import { native } from '../native';
import { runKernel } from '../kernels/run-kernel';
import { Tensor } from '../tensor';
import { wrap } from '../ops/util';
import { FractionalMethod, float64Values } from './kernel';
import { checkMemoryWindow } from './memory-window';
import { dTauDTheta, tauFromTheta } from './tau';
import { markSpikes } from '../ops/spike-marks';
import { linearOrigin } from '../ops/linear-marks';

/** Neuron model: 'lif' (leaky integrate-and-fire) or 'if' (integrate-and-fire, no leak). */
export type NeuronKind = 'lif' | 'if';
/** Smooth stand-ins for the derivative of the spike (Heaviside) function used in backward(). */
export type SurrogateName = 'arctan' | 'sigmoid' | 'piecewise_linear' | 'gaussian';
/** Every surrogate name, in a fixed order. */
export const SURROGATES: readonly SurrogateName[] = ['arctan', 'sigmoid', 'piecewise_linear', 'gaussian'];

/** How the fractional history sum is evaluated (native/fractional_history.h). */
export type FractionalHistory = 'exact' | 'fast' | 'auto';
/** Every history name, in a fixed order. */
export const HISTORIES: readonly FractionalHistory[] = ['exact', 'fast', 'auto'];

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
  /** History window M (the update uses the M-1 most recent states; 'pred': the M most recent right-hand sides f, as spikeDE); default: full history. */
  memory?: number;
  /**
   * How the history sum is evaluated: 'exact' (all lags, O(T^2) per neuron), 'fast' (sum-of-exponentials
   * far history, O(T); full history only) or 'auto' (default: 'fast' from the measured crossover in T on
   * l1/gl/pred with the full history on the CPU, else 'exact'). See native/fractional_history.h.
   */
  history?: FractionalHistory;
  /** Also return the membrane trace v_1..v_T. */
  returnTrace?: boolean;
  /**
   * A static input: I is one step [1, B, ...] that holds at each of `steps` time steps (direct coding of
   * an image, after layers that ran once). The outputs have `steps` steps and I's gradient is the sum over
   * them, exactly as if I had been repeated over time; the CPU's exact kernels read the one step in
   * place, other kernels get the repeated copy.
   */
  steps?: number;
  /**
   * Host copy of alpha's values (the SNNWrapper refreshes it once per step). When given, the op reads
   * nothing back from the device for alpha; when omitted, it reads the tensor.
   */
  alphaValues?: ArrayLike<number>;
  /** Host copy of the term weights' values, as for alphaValues. */
  weightValues?: ArrayLike<number>;
  /** Host copy of the learnable tau's theta, as for alphaValues. */
  tauThetaValue?: number;
}

/** Output of the fractional neuron op. */
export interface FractionalNeuronResult {
  /** Spikes (0 or 1), time-major like the input. */
  spikes: Tensor;
  /** Membrane potentials, when requested. */
  v?: Tensor;
}

/** Host values of alpha or the weights: the caller's host copy when given, else read from the tensor. */
function values(t: Tensor | null | undefined, host?: ArrayLike<number>): Float64Array {
  if (host) {
    if (t && host.length !== t.numel)
      throw new Error(`fractionalNeuron: ${host.length} host values given for a tensor of ${t.numel} values`);
    return Float64Array.from(float64Values(host));
  }
  return t ? Float64Array.from(t.toFloat32Array()) : new Float64Array(0);
}

/** A native result as a tensor of the given shape (a view when the shape differs). */
function shaped(h: NativeHandle, shape: readonly number[]): Tensor {
  if (h.shape.length === shape.length && h.shape.every((d, i) => d === shape[i])) return wrap(h);
  const view = wrap(runKernel('reshape', [h], { shape: shape.slice() }));
  h.dispose();
  return view;
}

/**
 * Runs one neuron layer: I [T, B, ...] -> spikes [T, B, ...] (and the membrane trace on request).
 * alpha and weight hold the layer's orders and term weights ([terms]); they receive gradients when they
 * require grad. For method 'euler' they are ignored. When I is linear()'s output x W^T + b and x needs no
 * gradient, the backward hands W and b their gradients itself (on the CPU's fast history, inside its own pass),
 * so that dL/dI [T, B, F] is never written and read back.
 */
export function fractionalNeuron(I: Tensor, alpha: Tensor | null, weight: Tensor | null, opts: FractionalNeuronOptions = {}): FractionalNeuronResult {
  if (!I || !I.__isTensor) throw new TypeError('fractionalNeuron: the input current must be a Tensor [T, B, ...]');
  if (I.ndim < 2) throw new Error(`fractionalNeuron: the input current must be time-major [T, B, ...], got [${I.shape}]`);
  const steps = opts.steps;
  if (steps !== undefined && (!Number.isSafeInteger(steps) || steps < 1))
    throw new Error(`fractionalNeuron: steps = ${steps} must be a positive integer (the time steps a one-step static input holds for)`);
  if (steps !== undefined && I.shape[0] !== 1)
    throw new Error(`fractionalNeuron: steps = ${steps} repeats a one-step static input [1, B, ...], but the current is [${I.shape}]; ` +
      'pass the one step, or leave steps out for a time-major current [T, B, ...]');
  const T = steps ?? I.shape[0];
  if (T < 1) throw new Error('fractionalNeuron: T = 0 time steps; the input needs at least one step');
  const outShape = [T, ...I.shape.slice(1)];
  const method = opts.method ?? 'l1';
  const h = opts.h ?? 1;
  const surrogate = opts.surrogate ?? 'arctan';
  if (!SURROGATES.includes(surrogate)) throw new Error(`fractionalNeuron: surrogate '${surrogate}' is unknown; use ${SURROGATES.map((s) => `'${s}'`).join(', ')}`);
  const memory = checkMemoryWindow(opts.memory, 'fractionalNeuron') ?? T + 1;
  const history = opts.history ?? 'auto';
  if (!HISTORIES.includes(history)) throw new Error(`fractionalNeuron: history '${history}' is unknown; use ${HISTORIES.map((s) => `'${s}'`).join(', ')}`);
  const theta = opts.tauTheta ?? null;
  const tau0 = opts.tau0 ?? opts.tau ?? 0.5;
  const thetaValue = theta ? (opts.tauThetaValue ?? theta.toFloat32Array()[0]) : 0;
  const tau = theta ? tauFromTheta(tau0, thetaValue) : (opts.tau ?? 0.5);
  const euler = method === 'euler';
  const alphas = euler ? new Float64Array(0) : values(alpha, opts.alphaValues);
  const weights = euler ? new Float64Array(0) : weight ? values(weight, opts.weightValues) : new Float64Array(alphas.length).fill(1);
  const params: FractionalNativeParams = {
    kind: opts.kind ?? 'lif',
    tau,
    threshold: opts.threshold ?? 1,
    surrogate,
    scale: opts.scale ?? 5,
    memory: Math.min(memory, T + 1),
    history,
    ...(steps === undefined ? {} : { steps }),
  };
  // I = x W^T + b from linear() with x needing no gradient, and nothing else reads dL/dI here: the backward
  // returns the layer's weight and bias gradients in place of dL/dI (linear-marks.ts). Every other consumer of
  // I still reaches the layer through I's own node, so the two contributions add up as before.
  const origin = linearOrigin(I);
  const fold = origin && I.requiresGrad && !origin.x.requiresGrad && !I.retainsGrad && steps === undefined ? origin : null;
  const orders = [euler ? null : alpha, euler ? null : weight, theta];
  const inputs = fold ? [fold.weight, fold.bias, ...orders] : [I, ...orders];
  const needGrad = needsGrad(inputs);
  const save = needGrad || !!opts.returnTrace;
  const [spikesHandle, traceHandle] = runKernel('fractionalForward', [I.handle], { method, alphas, weights, h, ...params, saveTrace: save });
  const spikes = markSpikes(wrap(spikesHandle));
  const trace = traceHandle ? wrap(traceHandle) : null;
  if (!needGrad) return opts.returnTrace ? { spikes, v: trace! } : { spikes };

  // grads: [dLoss/dspikes, dLoss/dv] (null where none arrived) -> [I, alpha, weight, theta]
  const backward = ([gS, gV]: (Tensor | null)[]): (Tensor | null)[] => {
    const gSpikes = gS ?? wrap(runKernel('full', [], { shape: outShape, value: 0, device: I.device }));
    const wantAlpha = !euler && !!alpha?.requiresGrad, wantWeight = !euler && !!weight?.requiresGrad;
    const g = native.fractionalBackward(I.handle, trace!.handle, spikes.handle, gSpikes.handle, gV ? gV.handle : null,
      method, alphas, weights, h, params,
      // inputChecked: the forward above scanned I (through its membrane) and found it finite.
      { alpha: wantAlpha, weight: wantWeight, tauScale: theta?.requiresGrad ? dTauDTheta(tau0, thetaValue) : null, inputChecked: true,
        linearInput: fold ? fold.x.handle : null });
    const inputGrads = fold
      ? [fold.weight.requiresGrad ? wrap(g.gLinearWeight!) : (g.gLinearWeight!.dispose(), null),
        fold.bias.requiresGrad ? wrap(g.gLinearBias!) : (g.gLinearBias!.dispose(), null)]
      : [wrap(g.gI!)];
    return [
      ...inputGrads,
      g.gAlpha ? shaped(g.gAlpha, alpha!.shape) : null,
      g.gWeight ? shaped(g.gWeight, weight!.shape) : null,
      g.gTau ? shaped(g.gTau, theta!.shape) : null,
    ];
  };
  if (!opts.returnTrace) return { spikes: record(spikes, 'fractionalNeuron', inputs, (gS) => backward([gS, null])) };
  recordMulti([spikes, trace!], 'fractionalNeuron', inputs, backward);
  return { spikes, v: trace! };
}

/**
 * The native forward kernel alone, positional (tests, benchmarks and smoke checks that drive the op
 * without autograd): [spikes, trace] of runKernel('fractionalForward') as `{ spikes, v }`.
 * @internal
 */
export function fractionalForwardRaw(I: NativeHandle, method: FractionalMethod, alphas: Float64Array, weights: Float64Array, h: number,
  params: FractionalNativeParams, saveTrace: boolean): { spikes: NativeHandle; v: NativeHandle | null } {
  const [spikes, v] = runKernel('fractionalForward', [I], { method, alphas, weights, h, ...params, saveTrace });
  return { spikes, v: v ?? null };
}
