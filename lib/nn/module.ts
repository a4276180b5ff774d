// nn.Module: parameters, buffers and child modules registered from class fields (in declaration
// order), with PyTorch's dotted names, train/eval, to(device), zeroGrad and state dicts.
import { native } from '../native';
import { noGrad } from '../autograd/grad-mode';
import { keep } from '../memory';
import { checkDevice, Device, Tensor } from '../tensor';
import { isParameter, moveToDeviceInPlace, Parameter } from './parameter';
import { isFloat32Array } from '../typed-arrays';
import { runKernel } from '../kernels/run-kernel';

/** Tensors by dotted name (e.g. "0.weight"), as stateDict() returns them. */
export type StateDict = Record<string, Tensor>;
/** What loadStateDict() takes: tensors or Float32Arrays by dotted name. */
export type StateDictInput = Record<string, Tensor | Float32Array>;

export function isModule(x: unknown): x is Module {
  return x instanceof Module;
}

/**
 * Base class of layers and models (as torch.nn.Module). Parameter and Module fields are registered
 * in declaration order under their field names; subclasses implement forward().
 */
export abstract class Module {
  /** Training mode (dropout active, batch statistics) or eval mode. */
  training = true;
  /** Buffers: state that is saved but not trained (e.g. running means). */
  protected readonly _buffers = new Map<string, Tensor>();
  /** Children registered by name (Sequential, ModuleList); field children come first. */
  protected readonly _modules = new Map<string, Module>();
  /** Parameters registered by name (besides the Parameter fields). */
  protected readonly _parameters = new Map<string, Parameter>();

  /** The computation of the module. */
  abstract forward(...args: unknown[]): unknown;

  /** Registers (or replaces) a buffer; it goes into stateDict() and moves with to(). */
  registerBuffer(name: string, value: Tensor): Tensor {
    keep(value);
    this._buffers.set(name, value);
    return value;
  }

  /** Registers (or replaces) a parameter under `name` (for parameters not held in a field). */
  registerParameter(name: string, value: Parameter): Parameter {
    this._parameters.set(name, value);
    return value;
  }

  /** Registers (or replaces) a child module under `name` (as Sequential does with "0", "1", ...). */
  registerModule(name: string, module: Module): Module {
    this._modules.set(name, module);
    return module;
  }

  private fieldEntries(): [string, unknown][] {
    return Object.keys(this).filter((k) => !k.startsWith('_')).map((k) => [k, (this as Record<string, unknown>)[k]]);
  }

  /** Direct children, in declaration order. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of this.fieldEntries()) if (isModule(v)) out.push([k, v]);
    for (const [k, v] of this._modules) out.push([k, v]);
    return out;
  }

  /** Direct children, in declaration order. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, pre-order (declaration order), with dotted names. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** This module and all its descendants, depth first. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** This module's own parameters (not its children's). */
  protected ownParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [k, v] of this.fieldEntries()) if (isParameter(v)) out.push([k, v]);
    for (const [k, v] of this._parameters) out.push([k, v]);
    return out;
  }

  /** Every parameter with its dotted name (fields first, then registered ones, then children). */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [name, m] of this.namedModules(prefix))
      for (const [k, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([name ? `${name}.${k}` : k, p]);
      }
    return out;
  }

  /** Every parameter, in namedParameters() order (what an optimizer takes). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** This module's own buffers (not its children's). */
  protected ownBuffers(): [string, Tensor][] {
    return [...this._buffers];
  }

  /** Every buffer with its dotted name. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, m] of this.namedModules(prefix)) for (const [k, b] of m.ownBuffers()) out.push([name ? `${name}.${k}` : k, b]);
    return out;
  }

  /** Sets training mode (true) or eval mode (false) on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Eval mode (dropout off, running statistics used); same as train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's .grad. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /**
   * Moves every parameter and buffer (and every gradient) to `device` in place, as PyTorch does: each
   * Parameter and buffer keeps its identity and gets the moved data, so an optimizer built before to()
   * keeps updating the same tensors. Returns this.
   */
  to(device: Device): this {
    checkDevice(device, 'Module.to');
    for (const m of this.modules()) m.moveOwn(device);
    return this;
  }

  /** Moves this module's own parameters and buffers (not its children) to `device`, in place. */
  protected moveOwn(device: Device): void {
    for (const [, p] of this.ownParameters()) moveToDeviceInPlace(p, device);
    for (const [, b] of this.ownBuffers()) moveToDeviceInPlace(b, device);
  }

  /** Parameters and buffers by dotted name (the tensors themselves, not copies). */
  stateDict(): StateDict {
    const out: StateDict = Object.create(null); // names are data: "constructor" or "__proto__" never meet Object.prototype
    for (const [k, p] of this.namedParameters()) out[k] = p;
    for (const [k, b] of this.namedBuffers()) out[k] = b;
    return out;
  }

  /**
   * Copies values into the parameters and buffers by name. Checks every name and shape first and
   * reports all mismatches at once; with strict (default) missing and unexpected names are errors.
   */
  loadStateDict(dict: StateDictInput, options: { strict?: boolean } = {}): {
    /** Names the module has but the dict lacks. */
    missing: string[];
    /** Names in the dict the module does not have. */
    unexpected: string[];
  } {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const problems: string[] = [];
    const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    const missing = Object.keys(own).filter((k) => !has(dict, k));
    const unexpected = Object.keys(dict).filter((k) => !has(own, k));
    if (strict) {
      for (const k of missing) problems.push(`missing key '${k}' (expected shape [${own[k].shape}])`);
      for (const k of unexpected) problems.push(`unexpected key '${k}'`);
    }
    for (const [k, v] of Object.entries(dict)) {
      if (!has(own, k)) continue;
      const target = own[k];
      if (isFloat32Array(v)) {
        if (v.length !== target.numel) problems.push(`'${k}': ${v.length} values for shape [${target.shape}] (${target.numel} values)`);
      } else if (!v || !(v as Tensor).__isTensor) {
        problems.push(`'${k}': expected a Tensor or a Float32Array`);
      } else if ((v as Tensor).shape.join(',') !== target.shape.join(',')) {
        problems.push(`'${k}': shape [${(v as Tensor).shape}] does not match the module's [${target.shape}]`);
      }
    }
    if (problems.length)
      throw new Error(`loadStateDict: ${problems.length} problem(s):\n  ${problems.join('\n  ')}\n` +
        (strict ? 'Fix the names/shapes, or pass { strict: false } to skip missing and unexpected keys.' : 'Fix the shapes.'));
    noGrad(() => {
      for (const [k, v] of Object.entries(dict)) {
        if (!has(own, k)) continue;
        const target = own[k];
        if (isFloat32Array(v)) {
          const t = native.fromFloat32(v, target.shape.slice(), target.device);
          runKernel('copy', [target.handle, t]);
          t.dispose();
        } else {
          runKernel('copy', [target.handle, (v as Tensor).handle]);
        }
      }
    });
    return { missing, unexpected };
  }
}
