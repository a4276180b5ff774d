// The per-call settings of neuron layers, scoped like noGrad(): withNeuronContext(ctx, fn) runs fn with
// the settings in force and restores the previous ones when fn returns or throws. Neurons read them
// with currentNeuronContext(); outside every scope they use method 'l1', h = 1 and the full history.
// A neuron's fractional order is not a setting: it is bound to the neuron once (see ./alpha-binding.ts).
import { FRACTIONAL_ORDER_METHODS, type FractionalMethod } from '../fractional/kernel';
import { FractionalHistory, HISTORIES } from '../fractional/op';
import { checkMemoryWindow } from '../fractional/memory-window';
import type { Tensor } from '../tensor';
import type { BaseNeuron } from './neurons';
import type { StaticSteps } from './static-input';

/** Settings for the neuron layers that run inside withNeuronContext(ctx, fn); every field is optional. */
export interface NeuronContext {
  /** Discretisation: 'l1' (default), 'gl', 'pred', 'trap' (= 'l1'), or 'euler' (integer order). */
  method?: FractionalMethod;
  /** Time step h (default 1). */
  h?: number;
  /** History window M: the update uses the M-1 most recent states (default: the full history). */
  memory?: number;
  /** How the history sum is evaluated: 'exact', 'fast' (sum of exponentials) or 'auto' (default). */
  history?: FractionalHistory;
  /** Keep each neuron's membrane trace in neuron.lastTrace (default false). */
  recordTrace?: boolean;
  /**
   * Host copies of tensors' values (orders, term weights, learnable tau theta), by tensor. A neuron whose
   * tensors are all found here builds its kernel from them without reading the device; whoever opens the
   * scope refreshes them (SNNWrapper: once per forward, after projecting learnable values into range).
   */
  hostValues?: ReadonlyMap<Tensor, ArrayLike<number>>;
  /** When present, every neuron that runs appends itself (SNNWrapper's check of the calling order). */
  calls?: BaseNeuron[];
  /**
   * A static input (SNNWrapper.forward with staticInput): the layers before the first neuron layer see one
   * time step [1, B, ...], and the first neuron layer that runs holds its input current for `steps`
   * steps (see ./static-input.ts). Set by SNNWrapper.forward; not a user setting.
   * @internal
   */
  staticInput?: StaticSteps;
}

const METHODS: readonly FractionalMethod[] = [...FRACTIONAL_ORDER_METHODS, 'euler'];
/** The resolved settings of the open scopes, innermost last. */
const stack: Readonly<NeuronContext>[] = [];

function validate(ctx: NeuronContext): void {
  if (!ctx || typeof ctx !== 'object') throw new TypeError('withNeuronContext(ctx, fn): ctx must be an object of settings, e.g. { method: \'gl\', h: 0.5 }');
  if (ctx.method !== undefined && !METHODS.includes(ctx.method))
    throw new Error(`withNeuronContext: method '${String(ctx.method)}' is unknown; use ${METHODS.map((m) => `'${m}'`).join(', ')}`);
  if (ctx.h !== undefined && !(typeof ctx.h === 'number' && Number.isFinite(ctx.h) && ctx.h > 0))
    throw new Error(`withNeuronContext: h = ${String(ctx.h)} must be a finite number > 0 (the time step)`);
  checkMemoryWindow(ctx.memory, 'withNeuronContext');
  if (ctx.history !== undefined && !HISTORIES.includes(ctx.history))
    throw new Error(`withNeuronContext: history '${String(ctx.history)}' is unknown; use ${HISTORIES.map((s) => `'${s}'`).join(', ')}`);
  const st = ctx.staticInput;
  if (st !== undefined && !(st && typeof st === 'object' && Number.isInteger(st.steps) && st.steps >= 1))
    throw new Error(`withNeuronContext: staticInput must be { steps, repeated } with steps a positive integer (the time steps), got ${JSON.stringify(st)}`);
}

/**
 * Runs `fn` with `ctx`'s settings in force for the neuron layers it calls and returns fn's result. Scopes
 * nest: a field left undefined keeps the enclosing scope's value. The previous settings come back when
 * fn returns or throws. fn must be synchronous (like tidy): a returned Promise is an error.
 */
export function withNeuronContext<T>(ctx: NeuronContext, fn: () => T): T {
  validate(ctx);
  if (typeof fn !== 'function') throw new TypeError('withNeuronContext(ctx, fn): fn must be a function');
  const outer = stack.length ? stack[stack.length - 1] : {};
  const merged: NeuronContext = { ...outer };
  for (const [k, v] of Object.entries(ctx)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  stack.push(Object.freeze(merged));
  let result: T;
  try {
    result = fn();
  } finally {
    stack.pop();
  }
  if (result && typeof (result as { then?: unknown }).then === 'function')
    throw new Error('withNeuronContext(ctx, fn): fn returned a Promise; the settings only hold for synchronous code. Await outside and open the scope around the synchronous forward');
  return result;
}

/** The settings in force (the innermost scope merged over the outer ones), or null outside every scope. */
export function currentNeuronContext(): Readonly<NeuronContext> | null {
  return stack.length ? stack[stack.length - 1] : null;
}
