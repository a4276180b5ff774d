// Spiking neuron layers. A neuron layer gets its fractional order(s), term weights, method, step and
// memory window from the SNNWrapper that owns it; the membrane dynamics run in the fractional op.
import { full } from '../creation';
import { FractionalMethod } from '../fractional/kernel';
import { fractionalNeuron, NeuronKind, SURROGATES, SurrogateName } from '../fractional/op';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { Tensor } from '../tensor';

/** Options of LIFNeuron and IFNeuron. */
export interface NeuronOptions {
  /** Membrane time constant (spikeDE's default 0.5). */
  tau?: number;
  /** Firing threshold of the membrane potential (default 1). */
  threshold?: number;
  /** Surrogate gradient of the spike (default 'arctan'; the '_surrogate' suffix is accepted). */
  surrogate?: SurrogateName | 'arctan_surrogate' | 'sigmoid_surrogate' | 'piecewise_linear_surrogate' | 'gaussian_surrogate';
  /** Steepness of the surrogate (default 2). */
  surrogateScale?: number;
  /** Learn tau through tau = tau0 * (1 + exp(theta)), theta starting at 0 (spikeDE's parameterisation). */
  tauLearnable?: boolean;
}

/** What the wrapper hands each neuron layer before a forward pass. */
export interface NeuronContext {
  alpha: Tensor;
  coefficient: Tensor;
  /** Host copies of alpha, coefficient and tauTheta (the wrapper refreshes them once per forward). */
  alphaValues?: ArrayLike<number>;
  coefficientValues?: ArrayLike<number>;
  tauThetaValue?: number;
  method: FractionalMethod;
  h: number;
  memory?: number;
  recordTrace: boolean;
  onCall(neuron: BaseNeuron): void;
}

/**
 * Base of the spiking neuron layers. Inside an SNNWrapper a neuron integrates its input with the fractional
 * derivative of its layer's order over the time-major input [T, B, ...] and returns spikes of the same shape.
 */
export abstract class BaseNeuron extends Module {
  /** 'lif' or 'if'. */
  abstract readonly kind: NeuronKind;
  /** Membrane time constant. */
  readonly tau: number;
  /** Firing threshold. */
  readonly threshold: number;
  /** Surrogate gradient of the spike. */
  readonly surrogate: SurrogateName;
  /** Steepness of the surrogate. */
  readonly surrogateScale: number;
  /** Present when tau is learnable: tau = tau0 * (1 + exp(tauTheta)). */
  tauTheta: Parameter | null;
  /** The membrane trace v_1..v_T of the last forward, when the wrapper was asked to record it. */
  lastTrace: Tensor | null = null;
  /**
   * Set by SNNWrapper.forward for the duration of a call (internal).
   * @internal
   */
  _context: NeuronContext | null = null;

  constructor(opts: NeuronOptions = {}) {
    super();
    this.tau = opts.tau ?? 0.5;
    this.threshold = opts.threshold ?? 1.0;
    const sg = (opts.surrogate ?? 'arctan').replace(/_surrogate$/, '') as SurrogateName;
    if (!SURROGATES.includes(sg)) throw new Error(`${this.constructor.name}: surrogate '${opts.surrogate}' is unknown; use ${SURROGATES.map((s) => `'${s}'`).join(', ')}`);
    this.surrogate = sg;
    this.surrogateScale = opts.surrogateScale ?? 5.0;
    if (!(this.tau > 0)) throw new Error(`${this.constructor.name}: tau = ${this.tau} must be positive`);
    if (!(this.surrogateScale > 0)) throw new Error(`${this.constructor.name}: surrogateScale = ${this.surrogateScale} must be positive`);
    if (!Number.isFinite(this.threshold)) throw new Error(`${this.constructor.name}: threshold must be a finite number`);
    this.tauTheta = opts.tauLearnable ? new Parameter(full([1], 0)) : null;
  }

  /** The current effective tau. */
  effectiveTau(): number {
    return this.tauTheta ? this.tau * (1 + Math.exp(this.tauTheta.toFloat32Array()[0])) : this.tau;
  }

  /** I [T, B, ...] -> spikes [T, B, ...]. */
  forward(I: Tensor): Tensor {
    const ctx = this._context;
    if (!ctx)
      throw new Error(`${this.constructor.name} was called outside an SNNWrapper: its fractional order, step and memory come from the wrapper. ` +
        'Wrap the model: new SNNWrapper(model, { alpha: ... }) and call net.forward(x, xTime).');
    ctx.onCall(this);
    const r = fractionalNeuron(I, ctx.alpha, ctx.coefficient, {
      kind: this.kind, tau: this.tau, tauTheta: this.tauTheta, tau0: this.tau, threshold: this.threshold,
      surrogate: this.surrogate, scale: this.surrogateScale, method: ctx.method, h: ctx.h, memory: ctx.memory,
      returnTrace: ctx.recordTrace, alphaValues: ctx.alphaValues, weightValues: ctx.coefficientValues,
      tauThetaValue: ctx.tauThetaValue,
    });
    this.lastTrace = r.v ?? null;
    return r.spikes;
  }
}

/** Leaky integrate-and-fire: dv = (-v + I) / tau. */
export class LIFNeuron extends BaseNeuron {
  readonly kind: NeuronKind = 'lif';
}

/** Integrate-and-fire: dv = I / tau. */
export class IFNeuron extends BaseNeuron {
  readonly kind: NeuronKind = 'if';
}

export function isNeuron(m: unknown): m is BaseNeuron {
  return m instanceof BaseNeuron;
}
