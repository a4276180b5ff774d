// The fractional neuron op with autograd: a whole layer over all T steps in one native call, and its
// exact discrete adjoint in another. The kernel K_L (and dK/dalpha, dK/dw) comes from ./kernel.ts;
// d(loss)/d(alpha_m) = sum_L dLoss/dK_L * dK_L/dalpha_m, likewise for the weights. dLoss/dK stays on the
// device: the dK/dalpha, dK/dw tables (float64 on the host) are uploaded and contracted with it there,
// so the backward makes no host read.
import type { FractionalNativeParams, NativeHandle } from '../../types/native';
import { record } from '../autograd/node';
import { native } from '../native';
import { Tensor } from '../tensor';
import { wrap } from '../ops/util';
import { buildKernel, FractionalKernel, FractionalMethod } from './kernel';
import { checkMemoryWindow } from './memory-window';
import { dTauDTheta, tauFromTheta } from './tau';

// Op numbers of native.binary (Sub, Mul), native.unary (Affine) and native.reduce (Sum): lib/ops/elementwise.ts, reduce.ts
const enum Op { Sub = 1, Mul = 2, Affine = 12, Sum = 0 }

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

function values(t: Tensor | null | undefined, host?: ArrayLike<number>): Float64Array {
  if (host) {
    if (t && host.length !== t.numel)
      throw new Error(`fractionalNeuron: ${host.length} host values given for a tensor of ${t.numel} values`);
    return Float64Array.from(host);
  }
  return t ? Float64Array.from(t.toFloat32Array()) : new Float64Array(0);
}

/** x = p1 + p2 + p3 (to ~2^-36 relative), each piece with at most 12 significant bits. */
function split12x3(x: number, out: Float32Array, i: number, stride: number): void {
  let r = x;
  for (let k = 0; k < 3; k++) {
    let piece = 0;
    if (r !== 0 && Number.isFinite(r)) {
      let e = Math.floor(Math.log2(Math.abs(r)));
      if (2 ** e > Math.abs(r)) e--;
      else if (2 ** (e + 1) <= Math.abs(r)) e++;
      const scale = 2 ** (e - 11);  // |r| / scale in [2^11, 2^12): rounding keeps 12 bits
      piece = Math.round(r / scale) * scale;
    } else piece = r;
    out[i + k * stride] = piece;
    r -= piece;
  }
}

/**
 * sum_L dLoss/dK_L * table_r[L] for each row r of `rows` (length T + 1 each), on gK's device: a [rows]
 * tensor handle. gK: [2, T + 1] float32 hi/lo pairs (native fractionalBackward). Every product is made
 * exact in float32 so that the float64 reduction gives float64 accuracy: on the device hi = h1 + h2
 * (Veltkamp: c = 4097 hi, h1 = c - (c - hi), h2 = hi - h1; 12 bits each), on the host each table value
 * t = t1 + t2 + t3 (12 bits each); the products h_i t_j are exact, lo t1 is far below the result's
 * rounding. The sum is over [h1 h1 h1 h2 h2 h2 lo] x [t1 t2 t3 t1 t2 t3 t1].
 */
function contractOnDevice(gK: NativeHandle, rows: Float64Array[]): NativeHandle {
  const n = gK.shape[1];
  const hi = native.slice(gK, 0, 0, 1, 1), lo = native.slice(gK, 0, 1, 2, 1);  // [1, n] each
  const c = native.unary(Op.Affine, hi, 4097, 0);
  const d = native.binary(Op.Sub, c, hi);
  const h1 = native.binary(Op.Sub, c, d);
  const h2 = native.binary(Op.Sub, hi, h1);
  const g = native.concat([h1, h1, h1, h2, h2, h2, lo], 1);  // [1, 7n]
  const tab = new Float32Array(rows.length * 7 * n);
  rows.forEach((r, i) => {
    const base = i * 7 * n;
    for (let L = 0; L < n; L++) {
      split12x3(r[L], tab, base + L, n);          // t1, t2, t3 against h1
      tab[base + 3 * n + L] = tab[base + L];      // against h2
      tab[base + 4 * n + L] = tab[base + n + L];
      tab[base + 5 * n + L] = tab[base + 2 * n + L];
      tab[base + 6 * n + L] = tab[base + L];      // t1 against lo
    }
  });
  const t = native.fromFloat32(tab, [rows.length, 7 * n], gK.device);
  const prod = native.binary(Op.Mul, g, t);
  const out = native.reduce(Op.Sum, prod, [1], false, false);
  for (const x of [hi, lo, c, d, h1, h2, g, t, prod]) x.dispose();
  return out;
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
  const memory = checkMemoryWindow(opts.memory, 'fractionalNeuron') ?? T + 1;
  const theta = opts.tauTheta ?? null;
  const tau0 = opts.tau0 ?? opts.tau ?? 0.5;
  const thetaValue = theta ? (opts.tauThetaValue ?? theta.toFloat32Array()[0]) : 0;
  const tau = theta ? tauFromTheta(tau0, thetaValue) : (opts.tau ?? 0.5);
  const alphas = values(alpha, opts.alphaValues);
  const weights = weight ? values(weight, opts.weightValues) : new Float64Array(alphas.length).fill(1);
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
    const wantAlpha = method !== 'euler' && !!alpha?.requiresGrad, wantWeight = method !== 'euler' && !!weight?.requiresGrad;
    if (wantAlpha || wantWeight) {
      // gAlpha_m = sum_L gK_L dK_L/dalpha_m, gWeight_m = sum_L gK_L dK_L/dw_m (tables: ./kernel.ts)
      const rows = [...(wantAlpha ? kernel.dAlpha : []), ...(wantWeight ? kernel.dWeight : [])];
      const both = contractOnDevice(g.gK, rows);
      const terms = kernel.dAlpha.length;
      const part = (start: number, shape: number[]) => {
        const sl = native.slice(both, 0, start, start + terms, 1);
        const r = native.reshape(sl, shape);
        sl.dispose();
        return wrap(r);
      };
      if (wantAlpha) grads[1] = part(0, alpha!.shape.slice());
      if (wantWeight) grads[2] = part(wantAlpha ? terms : 0, weight!.shape.slice());
      both.dispose();
    }
    if (theta?.requiresGrad) {
      // tau = tau0 (1 + e^theta)  =>  dL/dtheta = dL/dtau tau0 e^theta  (dL/dtau = hi + lo)
      const s = native.reduce(Op.Sum, g.gTau, [0], false, false);
      const scaled = native.unary(Op.Affine, s, dTauDTheta(tau0, thetaValue), 0);
      grads[3] = wrap(native.reshape(scaled, theta.shape.slice()));
      s.dispose();
      scaled.dispose();
    }
    g.gK.dispose();
    g.gTau.dispose();
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
