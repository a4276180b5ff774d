// Spiking neuron layers. A neuron is bound once to its fractional order(s) and term weights: its own
// (new LIFNeuron({ alpha })) or, inside an SNNWrapper, its layer's slot of the wrapper's registry. The
// per-call settings (method, step h, memory window, traces) come from the innermost withNeuronContext()
// scope (SNNWrapper.forward opens one), else the defaults. The membrane dynamics run in the fractional op.
import { full, tensor } from '../creation';
import { fractionalNeuron, NeuronKind, SURROGATES, SurrogateName } from '../fractional/op';
import { tauFromTheta } from '../fractional/tau';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { Tensor } from '../tensor';
import { parseNeuronTerms } from './alpha-config';
import { AlphaBinding, checkPositiveCoefficient, refreshHostValues } from './alpha-binding';
import { currentNeuronContext } from './neuron-context';

/** Options of LIFNeuron and IFNeuron. */
export interface NeuronOptions {
  /** Membrane time constant (spikeDE's default 0.5). */
  tau?: number;
  /** Firing threshold of the membrane potential (default 1). */
  threshold?: number;
  /** Surrogate gradient of the spike (default 'arctan'; the '_surrogate' suffix is accepted). */
  surrogate?: SurrogateName | 'arctan_surrogate' | 'sigmoid_surrogate' | 'piecewise_linear_surrogate' | 'gaussian_surrogate';
  /** Steepness of the surrogate (default 5). */
  surrogateScale?: number;
  /** Learn tau through tau = tau0 * (1 + exp(theta)), theta starting at 0 (spikeDE's parameterisation). */
  tauLearnable?: boolean;
  /**
   * The neuron's own fractional order in (0, 1], or a list of orders (a multi-term operator), for use
   * without an SNNWrapper. Inside a wrapper the orders come from the wrapper: leave this out there.
   */
  alpha?: number | number[];
  /** Weights of the terms of a multi-term alpha, one per order (default all 1); needs alpha. */
  coefficient?: number | number[];
  /** Learn the orders: registered as the Parameter "alpha" (else a buffer), kept in [alphaMin, 1] (default false). */
  learnAlpha?: boolean;
  /** Learn the term weights: the Parameter "coefficient" (else a buffer), kept >= 0 (default false). */
  learnCoefficient?: boolean;
  /** Learned orders are projected into [alphaMin, 1] before every forward (default 0.01). */
  alphaMin?: number;
}

/**
 * Base of the spiking neuron layers. A neuron integrates its input with the fractional derivative of its
 * order over the time-major input [T, B, ...] and returns spikes of the same shape.
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
  /** The membrane trace v_1..v_T of the last forward, when the settings asked to record it (recordTrace). */
  lastTrace: Tensor | null = null;
  /** The orders and weights the neuron runs with, set once (its own, or its wrapper's slot); null: none yet. */
  private _binding: AlphaBinding | null = null;

  constructor(opts: NeuronOptions = {}) {
    super();
    const name = this.constructor.name;
    this.tau = opts.tau ?? 0.5;
    this.threshold = opts.threshold ?? 1.0;
    const sg = (opts.surrogate ?? 'arctan').replace(/_surrogate$/, '') as SurrogateName;
    if (!SURROGATES.includes(sg)) throw new Error(`${name}: surrogate '${opts.surrogate}' is unknown; use ${SURROGATES.map((s) => `'${s}'`).join(', ')}`);
    this.surrogate = sg;
    this.surrogateScale = opts.surrogateScale ?? 5.0;
    if (!(this.tau > 0)) throw new Error(`${name}: tau = ${this.tau} must be positive`);
    if (!(this.surrogateScale > 0)) throw new Error(`${name}: surrogateScale = ${this.surrogateScale} must be positive`);
    if (!Number.isFinite(this.threshold)) throw new Error(`${name}: threshold must be a finite number`);
    this.tauTheta = opts.tauLearnable ? new Parameter(full([1], 0)) : null;
    if (opts.alpha !== undefined) this._binding = this.ownBinding(opts);
    else {
      const orphan = (['coefficient', 'learnAlpha', 'learnCoefficient', 'alphaMin'] as const).find((k) => opts[k] !== undefined);
      if (orphan)
        throw new Error(`${name}: '${orphan}' needs the neuron's own alpha (e.g. new ${name}({ alpha: 0.5, ${orphan}: ... })); ` +
          `inside an SNNWrapper set '${orphan === 'coefficient' ? 'multiCoefficient' : orphan}' on the wrapper instead`);
    }
  }

  /** The neuron's own orders and weights from its options, registered as Parameters (learned) or buffers. */
  private ownBinding(opts: NeuronOptions): AlphaBinding {
    const name = this.constructor.name;
    const terms = parseNeuronTerms(opts.alpha!, opts.coefficient, name);
    for (const k of ['learnAlpha', 'learnCoefficient'] as const)
      if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new Error(`${name}: ${k} must be true or false, got ${JSON.stringify(opts[k])}`);
    const alphaMin = opts.alphaMin ?? 0.01;
    if (!(alphaMin > 0 && alphaMin <= 1)) throw new Error(`${name}: alphaMin = ${alphaMin} must lie in (0, 1]`);
    const learnAlpha = !!opts.learnAlpha, learnCoefficient = !!opts.learnCoefficient;
    const n = terms.alphas.length;
    const register = (key: string, values: number[], learned: boolean): Tensor =>
      learned ? this.registerParameter(key, new Parameter(tensor(values, [n]))) : this.registerBuffer(key, tensor(values, [n]));
    const binding: AlphaBinding = {
      alpha: register('alpha', terms.alphas, learnAlpha),
      coefficient: register('coefficient', terms.coefficients, learnCoefficient),
      learnAlpha, learnCoefficient, alphaMin, owner: name, wrapper: null,
    };
    checkPositiveCoefficient(binding, terms.coefficients);
    return binding;
  }

  /** Where the neuron's orders and weights live (its own, or its wrapper's slot), or null before any. */
  get alphaBinding(): Readonly<AlphaBinding> | null {
    return this._binding;
  }

  /** The orders [terms] the neuron runs with (a Parameter when learned), or null when it has none yet. */
  get alpha(): Tensor | null {
    return this._binding?.alpha ?? null;
  }

  /** The term weights [terms] the neuron runs with, or null when it has none yet. */
  get coefficient(): Tensor | null {
    return this._binding?.coefficient ?? null;
  }

  /**
   * Binds the neuron to its SNNWrapper's slot, once, at the wrapper's construction (the wrapper checks
   * first and names the module path; this refuses any second binding).
   * @internal
   */
  bindAlpha(binding: AlphaBinding): void {
    if (this._binding)
      throw new Error(`${this.constructor.name}: the neuron is already bound to ${this._binding.wrapper ? 'an SNNWrapper' : 'its own alpha'}; ` +
        'a neuron binds to one order for good: create a new neuron');
    this._binding = binding;
  }

  /** The current effective tau. */
  effectiveTau(): number {
    return this.tauTheta ? tauFromTheta(this.tau, this.tauTheta.toFloat32Array()[0]) : this.tau;
  }

  /** I [T, B, ...] -> spikes [T, B, ...], with the settings of the innermost withNeuronContext() scope. */
  forward(I: Tensor): Tensor {
    const b = this._binding;
    const name = this.constructor.name;
    if (!b)
      throw new Error(`${name} has no fractional order. Give it one, new ${name}({ alpha: 0.5 }) (or { alpha: [0.3, 0.8], coefficient: [1, 0.5] } ` +
        'for several terms), or wrap the model: new SNNWrapper(model, { alpha: ... }) gives every neuron layer its order');
    const ctx = currentNeuronContext();
    ctx?.calls?.push(this);
    const st = ctx?.staticInput;
    let steps: number | undefined;  // a static input: the op holds the one step [1, B, ...] for the T steps
    if (st && !st.repeated) {
      // The first neuron layer of a static input: the layers before it ran once, on one step.
      if (!I || !I.__isTensor || I.ndim < 2 || I.shape[0] !== 1)
        throw new Error(`${name}: with staticInput the layers before the first neuron layer run once, on one time step [1, B, ...], so the ` +
          `first neuron layer must receive a one-step current [1, B, ...], but it got ${I && I.__isTensor ? `[${I.shape}]` : 'no Tensor'}. Fix: keep ` +
          'dim 0 (the step) in the layers before the first neuron and nothing time-dependent there, or pass the repeated input [T, B, ...] without staticInput');
      steps = st.steps;
      st.repeated = true;
    }
    const host = this.hostValues(b, ctx?.hostValues);
    const r = fractionalNeuron(I, b.alpha, b.coefficient, {
      kind: this.kind, tau: this.tau, tauTheta: this.tauTheta, tau0: this.tau, threshold: this.threshold,
      surrogate: this.surrogate, scale: this.surrogateScale, method: ctx?.method ?? 'l1', h: ctx?.h ?? 1, memory: ctx?.memory, history: ctx?.history,
      returnTrace: !!ctx?.recordTrace, alphaValues: host.alpha, weightValues: host.coefficient, tauThetaValue: host.theta,
      ...(steps === undefined ? {} : { steps }),
    });
    this.lastTrace = r.v ?? null;
    return r.spikes;
  }

  /**
   * Host copies of the orders, weights and tau theta: from the scope when it holds all of them (the
   * wrapper refreshed them this step), else read and projected here (one read per device).
   */
  private hostValues(b: AlphaBinding, given?: ReadonlyMap<Tensor, ArrayLike<number>>): { alpha: ArrayLike<number>; coefficient: ArrayLike<number>; theta?: number } {
    const theta = this.tauTheta;
    let alpha = given?.get(b.alpha), coefficient = given?.get(b.coefficient), thetaValues = theta ? given?.get(theta) : undefined;
    if (!alpha || !coefficient || (theta && !thetaValues)) {
      const read = refreshHostValues([b], theta ? [theta] : []);
      alpha = read.get(b.alpha)!;
      coefficient = read.get(b.coefficient)!;
      thetaValues = theta ? read.get(theta) : undefined;
    }
    return { alpha, coefficient, theta: thetaValues?.[0] };
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
