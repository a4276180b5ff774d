// The dynamic tape. An op that records itself is a GradFunction (its inputs and its backward rule over
// all of its outputs); each output tensor's gradFn is a GradNode: the function and which output it is.
// A one-output op (record) and a several-output op (recordMulti: e.g. spikes and the membrane trace of
// the fractional neuron) are the same structure; backward() runs a function once, with every output's
// gradient (null for outputs that received none).
import type { Tensor } from '../tensor';
import type { GraphArena } from './graph-arena';
import { isGradEnabled } from './grad-mode';

/** Maps the gradient of the output to one gradient per input (null where an input needs none). */
export type BackwardFn = (grad: Tensor) => (Tensor | null)[];
/** Maps the gradients of the outputs (null where an output received none) to one gradient per input. */
export type MultiBackwardFn = (grads: (Tensor | null)[]) => (Tensor | null)[];

/** One recorded op: its inputs and the rule from its outputs' gradients to its inputs' gradients. */
export class GradFunction {
  released = false;
  /** The per-output nodes (their arenas are let go when backward() consumes this function). */
  readonly outputs: GradNode[] = [];
  constructor(
    readonly name: string,
    public inputs: (Tensor | null)[],
    public backwardFn: MultiBackwardFn | null,
  ) {}

  /** Drops the references the backward rule holds (saved tensors), once the rule has run. */
  release(): void {
    this.backwardFn = null;
    this.inputs = [];
    this.released = true;
  }
}

/** The gradFn of one output tensor: output `index` of `fn`. */
export class GradNode {
  /** Tensors of tidy() scopes that returned this output with its graph alive (see GraphArena). */
  arenas: GraphArena[] | null = null;
  constructor(
    readonly fn: GradFunction,
    readonly index: number,
  ) {}

  /** The op's name (e.g. 'matmul', 'fractionalNeuron'). */
  get name(): string {
    return this.fn.name;
  }

  /** The op's inputs ([] once released). */
  get inputs(): (Tensor | null)[] {
    return this.fn.inputs;
  }

  /** Whether backward() has consumed the op (its saved tensors are gone). */
  get released(): boolean {
    return this.fn.released;
  }

  /** Lets go of the arenas this output holds (after backward() has consumed the graph, or on its dispose()). */
  releaseArenas(): void {
    const arenas = this.arenas;
    this.arenas = null;
    if (arenas) for (const a of arenas) a.release();
  }
}

/** Whether an op over these inputs must record a node. */
export function needsGrad(inputs: (Tensor | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Attaches a backward rule to an op's output when any input requires grad. */
export function record<T extends Tensor>(out: T, name: string, inputs: (Tensor | null)[], backward: BackwardFn): T {
  if (needsGrad(inputs)) recordFunction([out], name, inputs, (grads) => backward(grads[0]!));
  return out;
}

/**
 * Attaches one backward rule to several outputs of an op when any input requires grad: backward() runs it
 * once, with grads[i] the gradient of outputs[i], or null when outputs[i] received none (unused, or only
 * outputs whose gradient does not reach the loss); at least one entry is non-null.
 */
export function recordMulti<T extends Tensor>(outputs: T[], name: string, inputs: (Tensor | null)[], backward: MultiBackwardFn): T[] {
  if (needsGrad(inputs)) recordFunction(outputs, name, inputs, backward);
  return outputs;
}

function recordFunction(outputs: Tensor[], name: string, inputs: (Tensor | null)[], backward: MultiBackwardFn): void {
  const fn = new GradFunction(name, inputs, backward);
  outputs.forEach((out, i) => {
    const node = new GradNode(fn, i);
    fn.outputs.push(node);
    out.requiresGrad = true;
    out.gradFn = node;
  });
}
