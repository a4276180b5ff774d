// SNNWrapper: wraps a model of synaptic layers and neuron layers, owns the per-layer alpha registry
// (orders and term weights as Parameters, or buffers when frozen), projects learned values into their
// ranges, and runs the model over all T steps with each neuron layer's fractional operator.
import { tensor } from '../creation';
import { noGrad } from '../autograd/grad-mode';
import { FractionalMethod } from '../fractional/kernel';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { Tensor } from '../tensor';
import { AlphaMode, AlphaSpec, CoefficientSpec, parseAlphaConfig, ParsedAlphaConfig, perLayerFlags } from './alpha-config';
import { BaseNeuron, isNeuron, NeuronContext } from './neurons';

export interface SNNWrapperOptions {
  /** 'fdeint' (fractional order, default) or 'odeint' (integer order, explicit Euler). */
  integrator?: 'fdeint' | 'odeint';
  alpha?: AlphaSpec;
  alphaMode?: AlphaMode;
  multiCoefficient?: CoefficientSpec;
  learnAlpha?: boolean | boolean[];
  learnCoefficient?: boolean | boolean[];
  /** Learnable orders are projected into [alphaMin, 1] before every forward (default 0.01). */
  alphaMin?: number;
}

export interface ForwardOptions {
  /** 'l1' (default with fdeint), 'gl', or 'euler' (the only method of odeint). */
  method?: FractionalMethod;
  /** History window M: the update uses the M-1 most recent states (default: the full history). */
  memory?: number;
  /** Keep each neuron layer's membrane trace (neuron.lastTrace, net.traces()). */
  recordTraces?: boolean;
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

export class SNNWrapper extends Module {
  readonly integrator: 'fdeint' | 'odeint';
  readonly config: ParsedAlphaConfig;
  readonly learnAlpha: boolean[];
  readonly learnCoefficient: boolean[];
  readonly alphaMin: number;
  readonly neuronNames: string[];
  perLayerAlpha: LayerValues;
  perLayerCoefficient: LayerValues;
  private _model: Module;
  private _neurons: BaseNeuron[];
  private _orderChecked = false;

  constructor(model: Module, opts: SNNWrapperOptions = {}) {
    super();
    if (!(model instanceof Module)) throw new TypeError('SNNWrapper: the model must be an nn.Module');
    this._model = model;
    this.integrator = opts.integrator ?? 'fdeint';
    if (this.integrator !== 'fdeint' && this.integrator !== 'odeint')
      throw new Error(`SNNWrapper: integrator '${this.integrator}' is unknown; use 'fdeint' (fractional) or 'odeint' (integer order)`);
    const found = model.namedModules().filter(([, m]) => isNeuron(m)) as [string, BaseNeuron][];
    const firstName = new Map<BaseNeuron, string>();
    for (const [name, m] of found) {
      const first = firstName.get(m);
      if (first !== undefined)
        throw new Error(`SNNWrapper: the same neuron instance is used at '${first}' and at '${name}'; each neuron layer has its own alpha, ` +
          'so give every position its own neuron (e.g. new LIFNeuron(...) for each layer)');
      firstName.set(m, name);
    }
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
    this.learnAlpha = perLayerFlags(opts.learnAlpha, n, 'learnAlpha', false);
    this.learnCoefficient = perLayerFlags(opts.learnCoefficient, n, 'learnCoefficient', false);
    this.perLayerAlpha = new LayerValues();
    this.perLayerCoefficient = new LayerValues();
    this.config.layers.forEach((layer, i) => {
      this.perLayerAlpha.set(i, tensor(layer.alphas, [layer.alphas.length]), this.learnAlpha[i]);
      this.perLayerCoefficient.set(i, tensor(layer.coefficients, [layer.coefficients.length]), this.learnCoefficient[i]);
    });
    this.checkCoefficients();
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

  /** Moving the wrapper's "own" parameters and buffers moves the wrapped model's (they live there). */
  protected moveOwn(device: 'cpu' | 'cuda'): void {
    (this._model as unknown as { moveOwn(d: 'cpu' | 'cuda'): void }).moveOwn(device);
  }

  /** train()/eval() reach the wrapped model itself too (it is not among the wrapper's named children). */
  train(mode = true): this {
    super.train(mode);
    this._model.training = mode;
    return this;
  }

  get model(): Module {
    return this._model;
  }

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

  private checkCoefficients(): void {
    this.getPerLayerCoefficient().forEach((c, i) => {
      const v = c.toFloat32Array();
      if (!v.some((x) => x > 0))
        throw new Error(`SNNWrapper: neuron layer ${i} (${this.neuronNames[i]}) has no positive coefficient (${Array.from(v)}); ` +
          'the fractional operator needs K_0 > 0: give at least one positive coefficient');
    });
  }

  /** Projects learnable orders into [alphaMin, 1] and coefficients into [0, inf) (in place, no grad). */
  projectParameters(): void {
    noGrad(() => {
      this._neurons.forEach((_, i) => {
        if (this.learnAlpha[i]) {
          const a = this.perLayerAlpha.get(i);
          const v = a.toFloat32Array();
          if (v.some((x) => !(x >= this.alphaMin && x <= 1))) {
            for (let m = 0; m < v.length; m++) v[m] = Number.isNaN(v[m]) ? this.alphaMin : Math.min(1, Math.max(this.alphaMin, v[m]));
            (a as Parameter).assign(v);
          }
        }
        if (this.learnCoefficient[i]) {
          const c = this.perLayerCoefficient.get(i);
          const v = c.toFloat32Array();
          if (v.some((x) => !(x >= 0))) {
            for (let m = 0; m < v.length; m++) v[m] = Number.isNaN(v[m]) ? 0 : Math.max(0, v[m]);
            (c as Parameter).assign(v);
          }
        }
      });
    });
    this.checkCoefficients();
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

  /** x [T, B, ...] over the times xTime -> the model's output over all steps. */
  forward(x: Tensor, xTime?: number[] | Tensor | Float32Array | Float64Array, opts: ForwardOptions = {}): Tensor {
    if (!x || !x.__isTensor) throw new TypeError('SNNWrapper.forward: x must be a Tensor [T, B, ...]');
    if (x.ndim < 2) throw new Error(`SNNWrapper.forward: x must be time-major [T, B, ...], got [${x.shape}]`);
    const T = x.shape[0];
    const h = xTime === undefined ? 1 : SNNWrapper.stepFromTimes(xTime, T);
    let method: FractionalMethod = opts.method ?? (this.integrator === 'odeint' ? 'euler' : 'l1');
    if (this.integrator === 'odeint' && method !== 'euler')
      throw new Error(`SNNWrapper.forward: integrator 'odeint' integrates integer order with method 'euler', not '${method}'; use integrator 'fdeint' for '${method}'`);
    if (this.integrator === 'fdeint' && !['l1', 'gl'].includes(method))
      throw new Error(`SNNWrapper.forward: method '${method}' is not a fractional method; use 'l1' or 'gl' (or integrator 'odeint' for 'euler')`);
    if (opts.memory !== undefined && (!Number.isInteger(opts.memory) || opts.memory < 1))
      throw new Error(`SNNWrapper.forward: memory = ${opts.memory} must be an integer >= 1 (the number of history points; omit for the full history)`);
    if (this.integrator === 'odeint') method = 'euler';
    this.projectParameters();
    const called: BaseNeuron[] = [];
    this._neurons.forEach((neuron, i) => {
      const ctx: NeuronContext = {
        alpha: this.perLayerAlpha.get(i),
        coefficient: this.perLayerCoefficient.get(i),
        method,
        h,
        memory: opts.memory,
        recordTrace: !!opts.recordTraces,
        onCall: (m) => called.push(m),
      };
      neuron._context = ctx;
    });
    try {
      const out = this._model.forward(x) as Tensor;
      if (!this._orderChecked) {
        const ok = called.length === this._neurons.length && called.every((m, i) => m === this._neurons[i]);
        if (!ok) {
          const name = (m: BaseNeuron) => this.neuronNames[this._neurons.indexOf(m)] ?? '?';
          throw new Error('SNNWrapper: forward() must call each neuron layer once, in declaration order.\n' +
            `  declared: ${this.neuronNames.join(', ')}\n  called:   ${called.map(name).join(', ') || '(none)'}\n` +
            'Per-layer alphas are assigned by declaration order: declare the neuron layers in the order forward() uses them.');
        }
        this._orderChecked = true;
      }
      return out;
    } finally {
      for (const neuron of this._neurons) neuron._context = null;
    }
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

  /** Moves the model and the alpha registry (parameters are replaced: build optimizers after to()). */
  to(device: 'cpu' | 'cuda'): this {
    super.to(device);
    return this;
  }
}

