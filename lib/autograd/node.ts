// A node of the dynamic tape: the op that made a tensor, its inputs, and its backward rule.
import type { Tensor } from '../tensor';
import type { GraphArena } from './graph-arena';
import { isGradEnabled } from './grad-mode';

/** Maps the gradient of the output to one gradient per input (null where an input needs none). */
export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

export class GradNode {
  released = false;
  /** Tensors of tidy() scopes that returned this node's output with its graph alive (see GraphArena). */
  arenas: GraphArena[] | null = null;
  constructor(
    readonly name: string,
    public inputs: (Tensor | null)[],
    public backwardFn: BackwardFn | null,
  ) {}

  /** Drops the references the backward rule holds (saved tensors), once the rule has run. */
  release(): void {
    this.backwardFn = null;
    this.inputs = [];
    this.released = true;
  }

  /** Lets go of the arenas this node holds (after backward() has consumed the graph, or on dispose()). */
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
  if (needsGrad(inputs)) {
    out.requiresGrad = true;
    out.gradFn = new GradNode(name, inputs, backward);
  }
  return out;
}
