// SNNWrapper: wraps a model of synaptic layers and neuron layers, owns the per-layer alpha registry
// (orders and term weights as Parameters, or buffers when frozen), binds each neuron layer to its slot
// once at construction, projects learned values into their ranges, and runs the model over all T steps
// inside a withNeuronContext() scope holding the call's settings (method, h, memory, traces, host values).
import { tensor } from '../creation';
import { FRACTIONAL_ORDER_METHODS, FractionalMethod } from '../fractional/kernel';
import { checkMemoryWindow } from '../fractional/memory-window';
import { FractionalHistory, HISTORIES } from '../fractional/op';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { reshape } from '../ops/layout';
import { Tensor } from '../tensor';
import { AlphaMode, AlphaSpec, CoefficientSpec, parseAlphaConfig, ParsedAlphaConfig, perLayerFlags } from './alpha-config';
import { AlphaBinding, refreshHostValues } from './alpha-binding';
import { withNeuronContext } from './neuron-context';
import { BaseNeuron, isNeuron } from './neurons';
import { StaticSteps } from './static-input';

/** Options of SNNWrapper: the integrator, the fractional orders of the neuron layers and what is learned. */
export interface SNNWrapperOptions {
  /** 'fdeint' (fractional order, default) or 'odeint' (integer order, explicit Euler). */
  integrator?: 'fdeint' | 'odeint';
  /**
   * Fractional orders in (0, 1]: a number (every layer), a flat list (one per neuron layer, or one multi-term set;
   * see alphaMode), or a list of per-layer lists (per-layer multi-term). Default 0.5.
   */
  alpha?: AlphaSpec;
  /**
   * How a flat alpha list is read: 'per_layer' (one order per neuron layer), 'multiterm' (one multi-term set
   * shared by every layer), or 'auto' (default: multi-term with a coefficient list, else per layer when the
   * length equals the neuron layers, each with a warning).
   */
  alphaMode?: AlphaMode;
  /** Weights of the terms of multi-term orders, shaped like alpha (default all 1). */
  multiCoefficient?: CoefficientSpec;
  /** Make the orders learnable parameters: for every layer, or one flag per neuron layer (default false). */
  learnAlpha?: boolean | boolean[];
  /** Make the term weights learnable (default false). */
  learnCoefficient?: boolean | boolean[];
  /** Learnable orders are projected into [alphaMin, 1] before every forward (default 0.01). */
  alphaMin?: number;
  /**
   * The default method of forward(): 'l1' (default with fdeint), 'gl', 'pred' (single-term orders only:
   * checked here), 'trap' (= 'l1'), or 'euler' (the only method of odeint).
   */
  method?: FractionalMethod;
  /** The default history of forward() (see ForwardOptions.history; default 'auto'). */
  history?: FractionalHistory;
}

/** Options of SNNWrapper.forward. */
export interface ForwardOptions {
  /**
   * 'l1' (default with fdeint, or the wrapper's method), 'gl', 'pred' (the fractional Adams-Bashforth
   * predictor; single-term orders only), 'trap' (an alias of 'l1'), or 'euler' (the only method of odeint).
   */
  method?: FractionalMethod;
  /** History window M: the update uses the M-1 most recent states ('pred': the M most recent right-hand sides f, as spikeDE) (default: the full history). */
  memory?: number;
  /**
   * How the history sum is evaluated: 'exact' (all lags, O(T^2) per neuron), 'fast' (sum-of-exponentials far
   * history, O(T); needs the full history) or 'auto' (whichever is faster for T). Default: the wrapper's
   * `history` option, else 'auto'.
   */
  history?: FractionalHistory;
  /** Keep each neuron layer's membrane trace (neuron.lastTrace, net.traces()). */
  recordTraces?: boolean;
  /**
   * x is one time step [B, ...] that holds at every step (direct encoding): the same result as the repeated
   * input [T, B, ...], with the layers before the first neuron layer run once instead of T times. The model's
   * forward sees x as [1, B, ...]; the first neuron layer holds its input current for the T steps (the
   * fractional op's `steps`), and its gradient is summed over them. T comes from xTime, or from `steps`. Layers that draw random numbers
   * (dropout) before the first neuron layer draw once for all steps; BatchNorm there takes its statistics
   * over the B distinct samples (its running variance's n/(n-1) counts B, not T·B, values).
   */
  staticInput?: boolean;
  /** The number of time steps T of a static input when xTime is left out (with xTime, it must match). */
  steps?: number;
}

/** A module whose parameters/buffers are named '0', '1', ... (perLayerAlpha.<i>). */
class LayerValues extends Module {
  forward(): never {
    throw new Error('LayerValues holds values; it has no forward');
  }
  set(i: number, t: Tensor, learnable: boolean): Tensor {
    if (learnable) return this.registerParameter(String(i), new Parameter(t, true));
    return this.registerBuffer(String(i), t);
  }
  get(i: number): Tensor {
    return this._parameters.get(String(i)) ?? this._buffers.get(String(i))!;
  }
}

/**
 * Wraps a model built of layers and spiking neurons (LIFNeuron / IFNeuron) and gives each neuron layer a
 * fractional order (alpha, in (0, 1]), learnable with the weights. forward(x) takes time-major input [T, B, ...].
 */
export class SNNWrapper extends Module {
  /** 'fdeint' (fractional order) or 'odeint' (integer order). */
  readonly integrator: 'fdeint' | 'odeint';
  /** The default method of forward() (the option `method`; 'l1' with fdeint, 'euler' with odeint). */
  readonly method: FractionalMethod;
  /** The default history of forward(). */
  readonly history: FractionalHistory;
  /** The orders and weights per layer as the options were read. */
  readonly config: ParsedAlphaConfig;
  /** Per neuron layer: whether its orders are learned. */
  readonly learnAlpha: boolean[];
  /** Per neuron layer: whether its term weights are learned. */
  readonly learnCoefficient: boolean[];
  /** Learned orders are kept in [alphaMin, 1]. */
  readonly alphaMin: number;
  /** Dotted names of the neuron layers, in declaration order. */
  readonly neuronNames: string[];
  /** The orders: tensor "perLayerAlpha.<i>" of layer i (a parameter when learned). */
  perLayerAlpha: LayerValues;
  /** The term weights, as perLayerAlpha. */
  perLayerCoefficient: LayerValues;
  private _model: Module;
  private _neurons: BaseNeuron[];
  /** Layer i's slot (perLayerAlpha.<i>, perLayerCoefficient.<i>), bound to neuron i. */
  private _bindings: AlphaBinding[];
  private _orderChecked = false;
  /** Host copies of every layer's orders, coefficients and learnable tau theta, by tensor (refreshed once per forward). */
  private _host: Map<Tensor, Float64Array> = new Map();

  constructor(model: Module, opts: SNNWrapperOptions = {}) {
    super();
    if (!(model instanceof Module)) throw new TypeError('SNNWrapper: the model must be an nn.Module');
    this._model = model;
    this.integrator = opts.integrator ?? 'fdeint';
    this.history = opts.history ?? 'auto';
    if (!HISTORIES.includes(this.history))
      throw new Error(`SNNWrapper: history '${String(this.history)}' is unknown; use ${HISTORIES.map((s) => `'${s}'`).join(', ')}`);
    if (this.integrator !== 'fdeint' && this.integrator !== 'odeint')
      throw new Error(`SNNWrapper: integrator '${this.integrator}' is unknown; use 'fdeint' (fractional) or 'odeint' (integer order)`);
    const found = model.namedModules().filter(([, m]) => isNeuron(m)) as [string, BaseNeuron][];
    checkNeurons(found);
    this.neuronNames = found.map(([n]) => n);
    this._neurons = found.map(([, m]) => m);
    const n = this._neurons.length;
    if (n === 0) throw new Error('SNNWrapper: the model has no neuron layers (LIFNeuron / IFNeuron); add at least one');
    this.alphaMin = opts.alphaMin ?? 0.01;
    if (!(this.alphaMin > 0 && this.alphaMin <= 1)) throw new Error(`SNNWrapper: alphaMin = ${this.alphaMin} must lie in (0, 1]`);
    if (this.integrator === 'odeint') {
      if (opts.learnAlpha === true || (Array.isArray(opts.learnAlpha) && opts.learnAlpha.some(Boolean)))
        throw new Error("SNNWrapper: integrator 'odeint' is integer order (alpha = 1); learnAlpha needs integrator 'fdeint'");
      this.config = { mode: 'scalar', layers: this._neurons.map(() => ({ alphas: [1], coefficients: [1] })) };
    } else {
      this.config = parseAlphaConfig(opts.alpha, opts.alphaMode ?? 'auto', opts.multiCoefficient, n);
    }
    this.method = this.checkMethod(opts.method ?? (this.integrator === 'odeint' ? 'euler' : 'l1'), 'SNNWrapper');
    this.learnAlpha = perLayerFlags(opts.learnAlpha, n, 'learnAlpha', false);
    this.learnCoefficient = perLayerFlags(opts.learnCoefficient, n, 'learnCoefficient', false);
    this.perLayerAlpha = new LayerValues();
    this.perLayerCoefficient = new LayerValues();
    this._bindings = this.config.layers.map((layer, i) => ({
      alpha: this.perLayerAlpha.set(i, tensor(layer.alphas, [layer.alphas.length]), this.learnAlpha[i]),
      coefficient: this.perLayerCoefficient.set(i, tensor(layer.coefficients, [layer.coefficients.length]), this.learnCoefficient[i]),
      learnAlpha: this.learnAlpha[i], learnCoefficient: this.learnCoefficient[i], alphaMin: this.alphaMin,
      owner: `SNNWrapper: neuron layer ${i} (${this.neuronNames[i]})`, wrapper: this,
    }));
    this.refreshHostValues(false);  // checks every layer keeps a positive coefficient (projection: at each forward)
    // Every check passed: each neuron is bound to its slot, for good.
    this._neurons.forEach((m, i) => m.bindAlpha(this._bindings[i]));
  }

  /** The wrapped model's children appear at the top level, so names match the model's own ('0.weight'). */
  namedChildren(): [string, Module][] {
    return [...this._model.namedChildren(), ['perLayerAlpha', this.perLayerAlpha], ['perLayerCoefficient', this.perLayerCoefficient]];
  }

  protected ownParameters(): [string, Parameter][] {
    return (this._model as unknown as { ownParameters(): [string, Parameter][] }).ownParameters();
  }

  /** The wrapped model's own buffers count as the wrapper's (they would otherwise be left out of stateDict()). */
  protected ownBuffers(): [string, Tensor][] {
    return (this._model as unknown as { ownBuffers(): [string, Tensor][] }).ownBuffers();
  }

  /** train()/eval() reach the wrapped model itself too (it is not among the wrapper's named children). */
  train(mode = true): this {
    super.train(mode);
    this._model.training = mode;
    return this;
  }

  /** The wrapped model. */
  get model(): Module {
    return this._model;
  }

  /** The neuron layers, in declaration order (layer i has order i). */
  get neurons(): readonly BaseNeuron[] {
    return this._neurons;
  }

  /** One tensor of orders ([terms]) per neuron layer. */
  getPerLayerAlpha(): Tensor[] {
    return this._neurons.map((_, i) => this.perLayerAlpha.get(i));
  }

  /** One tensor of term weights ([terms]) per neuron layer. */
  getPerLayerCoefficient(): Tensor[] {
    return this._neurons.map((_, i) => this.perLayerCoefficient.get(i));
  }

  /** Membrane traces of the last forward with recordTraces. */
  traces(): (Tensor | null)[] {
    return this._neurons.map((m) => m.lastTrace);
  }

  /**
   * Reads every layer's orders, coefficients and learnable tau theta into the host copies the neuron
   * layers build their kernels from (projecting learned values that left their range when `project`):
   * one device -> host read per device, once per forward.
   */
  private refreshHostValues(project: boolean): void {
    const thetas = this._neurons.flatMap((m) => (m.tauTheta ? [m.tauTheta] : []));
    this._host = refreshHostValues(this._bindings, thetas, project);
  }

  /**
   * Refreshes the host copies of the orders and coefficients (one read per device), projects learnable orders
   * into [alphaMin, 1] and coefficients into [0, inf) (NaN to the lower bound; in place on the tensors'
   * device, no grad, only for tensors with a value out of range: the others are left as they are, as the
   * projection would leave them) and checks that every layer keeps a positive coefficient.
   */
  projectParameters(): void {
    this.refreshHostValues(true);
  }

  /** h from the sample times (uniformly spaced, tolerance 1e-6 relative). */
  static stepFromTimes(xTime: number[] | Tensor | Float32Array | Float64Array, T: number): number {
    const isTensor = !!(xTime as Tensor).__isTensor;
    const t = isTensor ? Array.from((xTime as Tensor).toFloat32Array()) : Array.from(xTime as ArrayLike<number>);
    if (t.length !== T) throw new Error(`SNNWrapper.forward: xTime has ${t.length} entries but the input has T = ${T} time steps; give one time per step`);
    const bad = t.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) throw new Error(`SNNWrapper.forward: xTime[${bad}] = ${t[bad]} is not a finite number`);
    if (T === 1) return 1;
    const h = t[1] - t[0];
    if (!(h > 0)) throw new Error(`SNNWrapper.forward: xTime must increase (xTime[1] - xTime[0] = ${h})`);
    // Times stored in float32 (a Tensor, a Float32Array, or numbers that are all float32 values) carry
    // rounding of their own magnitude; float64 times get the plain 1e-6 relative tolerance.
    const f32 = isTensor || t.every((v) => Math.fround(v) === v);
    for (let k = 1; k < T; k++) {
      const d = t[k] - t[k - 1];
      // 1e-6 relative to h, plus float32 rounding of the times themselves
      if (!(Math.abs(d - h) <= 1e-6 * Math.abs(h) + (f32 ? 2.5e-7 * Math.abs(t[k]) : 0)))
        throw new Error(`SNNWrapper.forward: xTime must be uniformly spaced: step ${k} is ${d}, the first is ${h} (tolerance 1e-6 relative)`);
    }
    return h;
  }

  /**
   * x [T, B, ...] over the times xTime -> the model's output over all steps. With `staticInput`, x is one
   * step [B, ...] that holds at every one of the T steps (see ForwardOptions.staticInput).
   */
  forward(x: Tensor, xTime?: number[] | Tensor | Float32Array | Float64Array, opts: ForwardOptions = {}): Tensor {
    const staticInput = !!opts.staticInput;
    if (!x || !x.__isTensor) throw new TypeError(`SNNWrapper.forward: x must be a Tensor ${staticInput ? '[B, ...]' : '[T, B, ...]'}`);
    const given = xTime === undefined ? undefined : (xTime as { length?: number; numel?: number }).numel ?? (xTime as ArrayLike<number>).length;
    let T: number;
    if (staticInput) {
      if (x.ndim < 1) throw new Error('SNNWrapper.forward: a static input x must be one time step [B, ...], got a 0-d tensor');
      T = staticSteps(opts.steps, given);
    } else {
      if (opts.steps !== undefined)
        throw new Error('SNNWrapper.forward: steps is the number of time steps of a static input; pass staticInput: true with it, or leave it out (T is dim 0 of x)');
      if (x.ndim < 2) throw new Error(`SNNWrapper.forward: x must be time-major [T, B, ...], got [${x.shape}]`);
      T = x.shape[0];
      if (given !== undefined && given !== T) throw new Error(layoutMessage(x.shape, given));
    }
    const h = xTime === undefined ? 1 : SNNWrapper.stepFromTimes(xTime, T);
    const method = this.checkMethod(opts.method ?? this.method, 'SNNWrapper.forward');
    checkMemoryWindow(opts.memory, 'SNNWrapper.forward');
    const history = opts.history ?? this.history;
    if (!HISTORIES.includes(history))
      throw new Error(`SNNWrapper.forward: history '${String(history)}' is unknown; use ${HISTORIES.map((s) => `'${s}'`).join(', ')}`);
    if (history === 'fast' && opts.memory !== undefined && opts.memory < T + 1)
      throw new Error(`SNNWrapper.forward: history 'fast' needs the full history, but memory = ${opts.memory} < T + 1 = ${T + 1}; ` +
        "omit memory, or use history 'exact' or 'auto' (which runs exact with a window)");
    this.projectParameters();
    const calls: BaseNeuron[] | undefined = this._orderChecked ? undefined : [];
    const st: StaticSteps | undefined = staticInput ? { steps: T, repeated: false } : undefined;
    const input = staticInput ? reshape(x, [1, ...x.shape]) : x;
    const out = withNeuronContext({ method, h, memory: opts.memory, history, recordTrace: !!opts.recordTraces, hostValues: this._host, calls, staticInput: st },
      () => this._model.forward(input) as Tensor);
    if (st && !st.repeated) throw new Error('SNNWrapper.forward: with staticInput no neuron layer ran, so nothing repeated the input over the time steps');
    if (calls) {
      this.checkCallOrder(calls);
      this._orderChecked = true;
    }
    return out;
  }

  /**
   * Checks a method against the integrator and the orders: odeint takes only 'euler', fdeint every
   * fractional-order method, and 'pred' (spikeDE's predictor) only single-term orders.
   */
  private checkMethod(method: FractionalMethod, where: string): FractionalMethod {
    if (this.integrator === 'odeint') {
      if (method !== 'euler')
        throw new Error(`${where}: integrator 'odeint' integrates integer order with method 'euler', not '${method}'; use integrator 'fdeint' for '${method}'`);
      return method;
    }
    if (!FRACTIONAL_ORDER_METHODS.includes(method))
      throw new Error(`${where}: method '${method}' is not a fractional method; use ${FRACTIONAL_ORDER_METHODS.map((m) => `'${m}'`).join(', ')} (or integrator 'odeint' for 'euler')`);
    if (method === 'pred') {
      const i = this.config.layers.findIndex((l) => l.alphas.length !== 1);
      if (i >= 0)
        throw new Error(`${where}: method 'pred' (the fractional Adams-Bashforth predictor) is single-term only, but neuron layer ${i} has ` +
          `${this.config.layers[i].alphas.length} orders (multi-term alpha); use one order per layer (a number, or alphaMode 'per_layer'), or method 'l1' / 'gl'`);
    }
    return method;
  }

  /**
   * Layer i's orders are bound to the i-th declared neuron, so the first forward checks that forward()
   * runs each declared neuron layer exactly once, in declaration order (and no other neuron): then
   * "alpha[i]" is the order of the i-th neuron layer the data passes through, and each layer's fractional
   * history covers all T steps in one call.
   */
  private checkCallOrder(called: BaseNeuron[]): void {
    if (called.length === this._neurons.length && called.every((m, i) => m === this._neurons[i])) return;
    const name = (m: BaseNeuron) => this.neuronNames[this._neurons.indexOf(m)] ?? `(${m.constructor.name}, not one of the wrapper's layers)`;
    throw new Error('SNNWrapper: forward() must call each neuron layer once, in declaration order.\n' +
      `  declared: ${this.neuronNames.join(', ')}\n  called:   ${called.map(name).join(', ') || '(none)'}\n` +
      'Per-layer alphas are assigned by declaration order: declare the neuron layers in the order forward() uses them.');
  }

  /** A readable table: per neuron layer, its terms, orders, coefficients and what is learnable. */
  describe(): string {
    const rows = [['layer', 'name', 'kind', 'terms', 'alpha', 'coefficient', 'learn alpha', 'learn coef']];
    this._neurons.forEach((m, i) => {
      const a = Array.from(this.perLayerAlpha.get(i).toFloat32Array()).map((v) => +v.toFixed(4));
      const c = Array.from(this.perLayerCoefficient.get(i).toFloat32Array()).map((v) => +v.toFixed(4));
      rows.push([String(i), this.neuronNames[i], m.kind.toUpperCase(), String(a.length), `[${a.join(', ')}]`, `[${c.join(', ')}]`,
        String(this.learnAlpha[i]), String(this.learnCoefficient[i])]);
    });
    const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
    const line = (r: string[]) => r.map((cell, j) => cell.padEnd(widths[j])).join('  ');
    const header = `SNNWrapper(integrator=${this.integrator}, mode=${this.integrator === 'odeint' ? 'integer order' : this.config.mode}, alphaMin=${this.alphaMin})`;
    return [header, line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
  }

}

/**
 * Every neuron layer must be its own instance, free of any order: one used at two positions would share one
 * slot, one with its own alpha would be silently overridden, one bound by another wrapper would lose it.
 */
function checkNeurons(found: [string, BaseNeuron][]): void {
  const firstName = new Map<BaseNeuron, string>();
  for (const [name, m] of found) {
    const cls = m.constructor.name;
    const first = firstName.get(m);
    if (first !== undefined)
      throw new Error(`SNNWrapper: '${first}' and '${name}' are the same ${cls} instance; each neuron layer binds its own alpha, ` +
        `so create a separate neuron per layer (new ${cls}(...) at each position)`);
    firstName.set(m, name);
    const b = m.alphaBinding;
    if (b && b.wrapper === null)
      throw new Error(`SNNWrapper: the ${cls} at '${name}' has its own alpha (new ${cls}({ alpha: ... })); inside an SNNWrapper every neuron ` +
        `layer's order comes from the wrapper. Fix: drop the neuron's alpha and give it through the wrapper's alpha option ` +
        `(one entry per neuron layer, in declaration order), or run the model without a wrapper`);
    if (b)
      throw new Error(`SNNWrapper: the ${cls} at '${name}' already belongs to another SNNWrapper, which bound its alpha for good. ` +
        'Fix: build the model anew (new neurons) for each wrapper');
  }
}

/** T of a static input: `steps`, or the number of times in xTime (both given: they must agree). */
function staticSteps(steps: number | undefined, given: number | undefined): number {
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1))
    throw new Error(`SNNWrapper.forward: steps = ${steps} must be a positive integer (the number of time steps of the static input)`);
  if (steps !== undefined && given !== undefined && steps !== given)
    throw new Error(`SNNWrapper.forward: steps = ${steps} but xTime has ${given} entries; give one time per step (or leave steps out)`);
  const T = steps ?? given;
  if (T === undefined)
    throw new Error('SNNWrapper.forward: a static input [B, ...] has no time axis, so T is unknown; pass xTime (one time per step) or the steps option, e.g. { staticInput: true, steps: 8 }');
  return T;
}

/**
 * The error for an input whose first dimension is not the number of times given: the input must be
 * time-major [T, B, ...]; a batch-major [B, T, ...] or an unencoded [B, features] input is named.
 */
function layoutMessage(shape: readonly number[], steps: number): string {
  const got = `[${shape.join(', ')}]`;
  let hint = '';
  if (shape.length >= 3 && shape[1] === steps)
    hint = ` It looks batch-major [B, T, ...] (dimension 1 is ${steps}): swap the first two dimensions, x.transpose(0, 1).`;
  else if (shape.length === 2)
    hint = ` A 2-d input [B, features] has no time axis: encode it into [T, B, features] first (data.encode('direct' | 'poisson' | 'sequential', ...)), ` +
      "or, when it holds at every step, pass it as it is with { staticInput: true, steps: T }.";
  return `SNNWrapper.forward: xTime has ${steps} entries but the input has T = ${shape[0]} time steps (its shape is ${got}). ` +
    `The input must be time-major [T, B, ...] (time first, then the batch), with one xTime entry per step.${hint}`;
}
