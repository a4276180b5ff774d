// The Optimizer base class, with PyTorch's semantics: parameter groups carrying their own options
// (missing ones filled from the defaults), zeroGrad (set to none by default), step() over the
// parameters that have a gradient, and a serialisable stateDict / loadStateDict to resume training.
import { withGradEnabled, noGrad } from '../autograd/grad-mode';
import { full, tensor } from '../creation';
import { keep } from '../memory';
import { Tensor } from '../tensor';

/** Options every optimizer has. */
export interface OptimizerOptions {
  /** Learning rate. */
  lr: number;
}

/** A parameter group as the optimizer holds it: the parameters, every option, and any extra keys (e.g. initialLr set by a scheduler). */
export type ParamGroup<O extends OptimizerOptions = OptimizerOptions> = O & {
  /** The parameters of the group. */
  params: Tensor[];
  [extra: string]: unknown;
};

/** A parameter group as given to the constructor or addParamGroup: options left out come from the optimizer's defaults. */
export type ParamGroupInput<O extends OptimizerOptions = OptimizerOptions> = Partial<O> & {
  /** The parameters of the group. */
  params: Iterable<Tensor> | Tensor;
  [extra: string]: unknown;
};

/** What the optimizer optimizes: the parameters (one group), or a list of groups. */
export type ParamsInput<O extends OptimizerOptions = OptimizerOptions> = Iterable<Tensor> | ParamGroupInput<O>[];

/** The per-parameter state: the step count (optimizers that count steps) and state tensors (kept; freed by dispose()). */
export interface ParamState {
  /** Steps taken for this parameter (optimizers that count them). */
  step?: number;
  /** State tensors by name (e.g. expAvg, expAvgSq). */
  buffers: { [name: string]: Tensor };
}

/** One parameter's state in a state dict: `step` and a Float32Array per state tensor (number[] is accepted on load, e.g. after JSON). */
export interface StateDictEntry {
  /** Steps taken for this parameter. */
  step?: number;
  [name: string]: number | Float32Array | number[] | undefined;
}

/** A serialisable snapshot: state per parameter index (numbered through the groups in order), and the groups' options with parameter indices. */
export interface OptimizerStateDict {
  /** State of each parameter, by its index counted through the groups in order. */
  state: { [paramIndex: number]: StateDictEntry };
  /** The groups' options, with parameter indices in place of the parameters. */
  paramGroups: Array<{
    /** Indices of the group's parameters. */
    params: number[];
    [option: string]: unknown;
  }>;
}

/** Which state entries an optimizer keeps per parameter, for checking a state dict on load. */
export interface StateSpec {
  /** Whether the state holds a step count. */
  step: boolean;
  /** State tensors every entry must have. */
  required: readonly string[];
  /** State tensors an entry may have. */
  optional: readonly string[];
}

const isTensor = (x: unknown): x is Tensor => !!x && (x as Tensor).__isTensor === true;
const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  !!x && typeof x === 'object' && (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null);

/** A deep copy of an option value (arrays such as betas are copied, so groups never share them). */
function copyOption(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyOption);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyOption(x)]));
  return v;
}

/** A Float32Array from any realm (instanceof fails across realms, e.g. arrays made by the addon under jest). */
const isFloat32Array = (x: unknown): x is Float32Array => Object.prototype.toString.call(x) === '[object Float32Array]';

const camelCase = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Checks that x is a finite number >= 0 (PyTorch's "Invalid ... value" errors). */
export function checkNonNegative(name: string, what: string, x: unknown, where: string): void {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0)
    throw new Error(`${where}: invalid ${what} ${String(x)}; ${name} must be a finite number >= 0`);
}

/**
 * The constructor options over the defaults. Unknown keys are errors (a snake_case name gets its camelCase
 * spelling in the message); keys set to undefined keep the default.
 */
export function mergeOptions<O extends object>(name: string, defaults: O, options: Partial<O>): O {
  if (!isPlainObject(options)) throw new TypeError(`${name}: options must be a plain object, got ${options === null ? 'null' : typeof options}`);
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(options)) {
    if (!(k in defaults)) {
      const camel = camelCase(k);
      throw new Error(`${name}: unknown option '${k}'; ` +
        (camel in defaults ? `options are camelCase: use '${camel}'` : `the options are ${Object.keys(defaults).join(', ')}`));
    }
    if (v !== undefined) out[k] = v;
  }
  return out as O;
}

/**
 * Base class of the optimizers, with PyTorch's semantics: parameter groups with their own options,
 * zeroGrad() (sets .grad to null), step() over the parameters that have a gradient, stateDict()/loadStateDict().
 */
export abstract class Optimizer<O extends OptimizerOptions = OptimizerOptions> {
  /** The options a group gets when it does not give its own. */
  readonly defaults: Readonly<O>;
  /** The parameter groups with every option filled in; change group.lr to change the learning rate. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, created on the parameter's first step. */
  readonly state = new Map<Tensor, ParamState>();
  // Getters rather than fields: the base constructor (which validates the groups) runs before a
  // subclass's fields are initialised.
  /** The optimizer's name in error messages (subclasses override it). */
  protected get name(): string {
    return this.constructor.name;
  }
  /** The state entries each parameter has, for loadStateDict's checks. */
  protected abstract get stateSpec(): StateSpec;

  constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = copyOption(defaults) as O;
    if (isTensor(params))
      throw new TypeError(`${this.name}: params must be an iterable of Tensors or of parameter groups, got a single Tensor ${params.describe()}; wrap it in an array: [param]`);
    if (!params || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function')
      throw new TypeError(`${this.name}: params must be an iterable of Tensors (e.g. model.parameters()) or an array of parameter groups ({ params, lr, ... }), got ${params === null ? 'null' : typeof params}`);
    const list = Array.from(params as Iterable<unknown>);
    if (list.length === 0) throw new Error(`${this.name}: got an empty parameter list; pass the parameters to optimize`);
    if (list.every(isPlainObject)) {
      for (const g of list) this.addParamGroup(g as ParamGroupInput<O>);
    } else if (list.some(isPlainObject)) {
      throw new TypeError(`${this.name}: params mixes Tensors and parameter groups; pass either Tensors (one group) or only groups ({ params, ... })`);
    } else {
      this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
    }
  }

  /** Checks one group's options (called by addParamGroup, loadStateDict and before each step). */
  protected abstract validateGroup(group: ParamGroup<O>, where: string): void;

  /** Updates one parameter in place from its gradient (one fused native call). */
  protected abstract updateParam(param: Tensor, grad: Tensor, group: ParamGroup<O>): void;

  /** Adds a group of parameters with its own options; options it leaves out come from the defaults. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const where = `${this.name}.addParamGroup (group ${this.paramGroups.length})`;
    if (!isPlainObject(group)) throw new TypeError(`${where}: a parameter group must be a plain object { params, ...options }`);
    const raw = group.params;
    let params: Tensor[];
    if (isTensor(raw)) params = [raw];
    else if (raw && typeof (raw as Iterable<unknown>)[Symbol.iterator] === 'function') params = Array.from(raw as Iterable<Tensor>);
    else throw new TypeError(`${where}: the group's 'params' must be a Tensor or an iterable of Tensors, got ${raw === null ? 'null' : typeof raw}`);
    if (params.length === 0) throw new Error(`${where}: the group has no parameters`);

    const seen = new Set<Tensor>();
    params.forEach((p, i) => {
      if (!isTensor(p)) throw new TypeError(`${where}: params[${i}] is not a Tensor (got ${p === null ? 'null' : typeof p}); an optimizer can only optimize Tensors`);
      if (p.dtype !== 'float32') throw new TypeError(`${where}: params[${i}] ${p.describe()} is ${p.dtype}; only float32 tensors can be optimized`);
      if (!p.requiresGrad) throw new Error(`${where}: params[${i}] ${p.describe()} does not require grad; create it with { requiresGrad: true } (or use a Parameter), or leave it out`);
      if (!p.isLeaf) throw new Error(`${where}: params[${i}] ${p.describe()} is not a leaf tensor (it was computed from others); optimize the leaves, or detach() it and mark it requiresGrad_()`);
      if (seen.has(p)) throw new Error(`${where}: params[${i}] ${p.describe()} appears twice in the group; list each parameter once`);
      seen.add(p);
    });
    this.paramGroups.forEach((g, gi) => {
      for (const p of g.params)
        if (seen.has(p)) throw new Error(`${where}: parameter ${p.describe()} is already in group ${gi}; each parameter may appear in only one group`);
    });

    const full = { ...(copyOption(this.defaults) as object) } as Record<string, unknown>;
    for (const [k, v] of Object.entries(group)) {
      if (k === 'params') continue;
      const camel = camelCase(k);
      if (camel !== k && camel in (this.defaults as object))
        throw new Error(`${where}: unknown option '${k}'; options are camelCase: use '${camel}'`);
      if (v !== undefined) full[k] = copyOption(v);
    }
    full.params = params;
    this.validateGroup(full as ParamGroup<O>, where);
    this.paramGroups.push(full as ParamGroup<O>);
  }

  /**
   * Clears the gradients. setToNone (the default, as in PyTorch) disposes each .grad and sets it to null,
   * so the next backward() allocates fresh ones and step() skips parameters that got none; setToNone=false
   * fills them with zeros instead.
   */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) p.zeroGrad();
        else if (!p.grad.isDisposed) p.grad.fill_(0);
        else p.grad = null;
      }
  }

  /**
   * One update of every parameter that has a gradient (parameters whose .grad is null are skipped).
   * closure, if given, recomputes the loss (forward + backward) first; its result is returned.
   */
  step<T = unknown>(closure?: () => T): T | undefined {
    const loss = closure ? withGradEnabled(true, closure) : undefined;
    noGrad(() => {
      this.paramGroups.forEach((group, gi) => {
        this.validateGroup(group, `${this.name}.step (group ${gi})`);
        // One fused native call per parameter. A GPU backend may instead batch a whole group's
        // parameters into one launch (a multi-tensor apply); the per-parameter arithmetic is the same.
        group.params.forEach((p, i) => {
          const g = p.grad;
          if (!g) return;
          if (g.isDisposed)
            throw new Error(`${this.name}.step: the gradient of parameter ${i} in group ${gi} (${p.describe()}) was disposed; clear gradients with zeroGrad() instead of disposing them`);
          if (g.shape.length !== p.shape.length || g.shape.some((d, k) => d !== p.shape[k]) || g.device !== p.device)
            throw new Error(`${this.name}.step: the gradient ${g.describe()} of parameter ${i} in group ${gi} does not match the parameter ${p.describe()}; the gradient must have the parameter's shape and device`);
          this.updateParam(p, g, group);
        });
      });
    });
    return loss;
  }

  /** The state of a parameter, created (with its state tensors zeroed and kept) on first use. */
  protected stateFor(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = { buffers: {} };
      if (this.stateSpec.step) s.step = 0;
      this.state.set(p, s);
    }
    return s;
  }

  /** A state tensor of parameter p (zeros of p's shape, kept out of any tidy scope), created if missing. */
  protected buffer(s: ParamState, p: Tensor, name: string): Tensor {
    let b = s.buffers[name];
    if (!b) {
      b = keep(full(p.shape.slice(), 0, { device: p.device }));
      s.buffers[name] = b;
    }
    return b;
  }

  /** Every parameter, numbered through the groups in order (the numbering stateDict uses). */
  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * A serialisable snapshot: `state` maps the index of each parameter that has state (numbered through the
   * groups in order) to { step?, <name>: Float32Array, ... }; `paramGroups` holds each group's options with
   * `params` as the indices. Nothing in it aliases the optimizer.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    this.allParams().forEach((p, i) => index.set(p, i));
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const entry: StateDictEntry = {};
      if (s.step !== undefined) entry.step = s.step;
      // Copied into this realm's Float32Array (the addon's arrays may come from another realm, e.g. under jest).
      for (const [name, b] of Object.entries(s.buffers)) entry[name] = new Float32Array(b.toFloat32Array());
      state[i] = entry;
    }
    let next = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const out: { params: number[]; [k: string]: unknown } = { params: [] };
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[k] = copyOption(v);
      out.params = g.params.map(() => next++);
      return out;
    });
    return { state, paramGroups };
  }

  /**
   * Restores a stateDict() taken from an optimizer of the same kind over parameters of the same shapes,
   * in the same groups (the parameters themselves may be new objects, e.g. a reloaded model). The groups'
   * options are replaced by the saved ones (as in PyTorch). Everything is checked before anything changes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (!isPlainObject(sd) || !isPlainObject(sd.state) || !Array.isArray(sd.paramGroups))
      throw new TypeError(`${where}: expected { state, paramGroups } as returned by stateDict()`);
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new Error(`${where}: the state dict has ${sd.paramGroups.length} parameter group(s) but this optimizer has ${this.paramGroups.length}; create the optimizer with the same groups as the one that was saved`);

    const byIndex = new Map<number, Tensor>();
    const newOptions: Record<string, unknown>[] = [];
    sd.paramGroups.forEach((saved, gi) => {
      const mine = this.paramGroups[gi];
      if (!isPlainObject(saved) || !Array.isArray(saved.params))
        throw new TypeError(`${where}: paramGroups[${gi}] must be an object with a 'params' array of indices`);
      if (saved.params.length !== mine.params.length)
        throw new Error(`${where}: parameter group ${gi} has ${saved.params.length} parameter(s) in the state dict but ${mine.params.length} here; create the optimizer with the same groups as the one that was saved`);
      saved.params.forEach((idx, k) => {
        if (!Number.isInteger(idx) || idx < 0) throw new Error(`${where}: paramGroups[${gi}].params[${k}] is ${String(idx)}; parameter indices are integers >= 0`);
        if (byIndex.has(idx)) throw new Error(`${where}: parameter index ${idx} appears more than once in paramGroups`);
        byIndex.set(idx, mine.params[k]);
      });
      const opts = copyOption(this.defaults) as Record<string, unknown>;
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') opts[k] = copyOption(v);
      this.validateGroup({ ...opts, params: mine.params } as ParamGroup<O>, `${where} (group ${gi})`);
      newOptions.push(opts);
    });

    const spec = this.stateSpec;
    const allowed = new Set<string>([...spec.required, ...spec.optional, ...(spec.step ? ['step'] : [])]);
    const loaded = new Map<Tensor, { step?: number; arrays: [string, Float32Array][] }>();
    for (const [key, entry] of Object.entries(sd.state)) {
      const idx = Number(key);
      const p = byIndex.get(idx);
      if (!Number.isInteger(idx) || !p)
        throw new Error(`${where}: the state has an entry for parameter ${key}, but paramGroups lists no parameter ${key}`);
      if (!isPlainObject(entry)) throw new TypeError(`${where}: state[${key}] must be an object`);
      const what = `state of parameter ${key} (${p.describe()})`;
      for (const k of Object.keys(entry))
        if (!allowed.has(k))
          throw new Error(`${where}: the ${what} has an unknown entry '${k}'; a ${this.name} state holds ${[...allowed].join(', ')} (was it saved by another optimizer?)`);
      const out: { step?: number; arrays: [string, Float32Array][] } = { arrays: [] };
      if (spec.step) {
        const st = entry.step;
        if (typeof st !== 'number' || !Number.isInteger(st) || st < 0)
          throw new Error(`${where}: the ${what} has step ${String(st)}; it must be an integer >= 0`);
        out.step = st;
      }
      for (const name of [...spec.required, ...spec.optional]) {
        const v = entry[name];
        if (v === undefined) {
          if (spec.required.includes(name)) throw new Error(`${where}: the ${what} lacks '${name}'`);
          continue;
        }
        if (!isFloat32Array(v) && !(Array.isArray(v) && v.every((x) => typeof x === 'number')))
          throw new TypeError(`${where}: '${name}' in the ${what} must be a Float32Array or a number[]`);
        if (v.length !== p.numel)
          throw new Error(`${where}: '${name}' in the ${what} has ${v.length} values but the parameter has ${p.numel}; the state dict was saved for parameters of other shapes`);
        out.arrays.push([name, Float32Array.from(v)]);
      }
      loaded.set(p, out);
    }

    // Everything checked: replace the options and the state.
    this.paramGroups.forEach((g, gi) => {
      const params = g.params;
      for (const k of Object.keys(g)) delete (g as Record<string, unknown>)[k];
      Object.assign(g, newOptions[gi], { params });
    });
    this.disposeState();
    for (const [p, s] of loaded) {
      const st: ParamState = { buffers: {} };
      if (s.step !== undefined) st.step = s.step;
      for (const [name, values] of s.arrays) st.buffers[name] = keep(tensor(values, p.shape.slice(), { device: p.device }));
      this.state.set(p, st);
    }
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const b of Object.values(s.buffers)) b.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (the parameters and their gradients are untouched); a later step() starts afresh. */
  dispose(): void {
    this.disposeState();
  }
}
