// Reverse-mode differentiation over the dynamic tape. Gradients of leaves accumulate into .grad;
// intermediate gradients are freed as soon as the pass ends, and each node's saved tensors are
// released after its rule runs (unless retainGraph).
import { inInnermostScope, keep, tidy } from '../memory';
import { Tensor } from '../tensor';
import { noGrad } from './grad-mode';
import type { GradFunction } from './node';
import { runKernel } from '../kernels/run-kernel';

/** Options of Tensor.backward. */
export interface BackwardOptions {
  /** Keep the graph so that backward can run through it again. */
  retainGraph?: boolean;
}

/** A vertex of the backward pass: a recorded op (all of its outputs at once), or a leaf tensor. */
type Vertex = GradFunction | Tensor;
const isTensor = (v: Vertex): v is Tensor => (v as Tensor).__isTensor === true;

/**
 * The ops and leaves reachable from root, every op after all ops that consume any of its outputs (root
 * first), and per op the outputs the pass reaches (the others receive no gradient).
 */
function topologicalOrder(root: Tensor): { order: Vertex[]; reached: Map<GradFunction, [Tensor, number][]> } {
  const reached = new Map<GradFunction, [Tensor, number][]>();
  const vertexOf = (t: Tensor): Vertex => {
    const node = t.gradFn;
    if (!node) return t;
    const outs = reached.get(node.fn);
    if (!outs) reached.set(node.fn, [[t, node.index]]);
    else if (!outs.some(([o]) => o === t)) outs.push([t, node.index]);
    return node.fn;
  };
  const order: Vertex[] = [];
  const visited = new Set<Vertex>();
  const first = vertexOf(root);
  const stack: [Vertex, number][] = [[first, 0]];
  visited.add(first);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [v, i] = top;
    const inputs = isTensor(v) ? [] : v.inputs;
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child && child.requiresGrad) {
        const cv = vertexOf(child);
        if (!visited.has(cv)) {
          visited.add(cv);
          stack.push([cv, 0]);
        }
      }
    } else {
      stack.pop();
      order.push(v);
    }
  }
  return { order: order.reverse(), reached };  // root first
}

/**
 * t.grad += g, or t.grad = g when t has none: then g itself becomes .grad when nothing else can see it
 * (as PyTorch steals a gradient whose buffer is not otherwise referenced): `stealable` (a gradient the
 * pass made, no other pending gradient is the same tensor), and no view or other native tensor shares
 * its storage. Otherwise .grad is a copy.
 */
function accumulateLeaf(t: Tensor, g: Tensor, stealable = false): void {
  if (t.grad && !t.grad.isDisposed) {
    runKernel('axpy', [t.grad.handle, g.handle], { alpha: 1 });
  } else if (stealable && g.device === t.device && g.dtype === t.dtype && !g.handle.sharesStorage) {
    t.grad = keep(g);
  } else {
    t.grad = keep(new Tensor(runKernel('clone', [g.handle])));
  }
}

export function runBackward(root: Tensor, gradOutput?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad)
    throw new Error('backward(): this tensor does not require grad; mark an input with requiresGrad (or use a Parameter) before the forward pass');
  if (!gradOutput && root.numel !== 1)
    throw new Error(`backward(): the output ${root.describe()} is not a scalar; pass gradOutput with the same shape, or reduce it first (e.g. .sum())`);
  if (gradOutput && gradOutput.shape.join(',') !== root.shape.join(','))
    throw new Error(`backward(): gradOutput ${gradOutput.describe()} must have the output's shape [${root.shape.join(',')}]`);
  const { order, reached } = topologicalOrder(root);
  noGrad(() =>
    tidy(() => {
      const grads = new Map<Tensor, Tensor>();
      grads.set(root, gradOutput ?? new Tensor(runKernel('full', [], { shape: root.shape.slice(), value: 1, device: root.device })));
      for (const v of order) {
        if (isTensor(v)) {
          const g = grads.get(v);
          if (g) {
            grads.delete(v);
            // The pass made g (it dies with the pass's tidy) and no other pending gradient is g.
            let stealable = g !== gradOutput && !g.requiresGrad && inInnermostScope(g);
            if (stealable) for (const other of grads.values()) if (other === g) { stealable = false; break; }
            accumulateLeaf(v, g, stealable);
            for (const hook of v.postAccumulateGradHooks) hook(v);
          }
          continue;
        }
        // Every consumer of every output of v has run: the outputs' gradients are complete.
        const outGrads: (Tensor | null)[] = v.outputs.map(() => null);
        let any = false;
        for (const [t, index] of reached.get(v)!) {
          const g = grads.get(t);
          if (!g) continue;
          grads.delete(t);
          if (t.retainsGrad) accumulateLeaf(t, g);
          outGrads[index] = g;
          any = true;
        }
        if (!any) continue;
        if (v.released || !v.backwardFn)
          throw new Error(`backward(): the graph through '${v.name}' was already freed by an earlier backward(); pass { retainGraph: true } to the first backward() to run it twice`);
        const inputGrads = v.backwardFn(outGrads);
        v.inputs.forEach((input, i) => {
          const gi = inputGrads[i];
          if (!input || !input.requiresGrad || !gi) return;
          if (gi.shape.join(',') !== input.shape.join(','))
            throw new Error(`backward(): internal error in '${v.name}': gradient ${gi.describe()} for input [${input.shape.join(',')}]`);
          const previous = grads.get(input);
          grads.set(input, previous ? new Tensor(runKernel('binary', [previous.handle, gi.handle], { op: 'add' })) : gi);
        });
        if (!options.retainGraph) v.release();
      }
      return undefined;
    }),
  );
  // The graph is consumed: tensors that tidy() kept alive for it can go (see GraphArena), those held
  // by every output of a consumed op (an output the pass did not reach has lost its graph too).
  if (!options.retainGraph)
    for (const v of order) if (!isTensor(v) && v.released) for (const node of v.outputs) node.releaseArenas();
}
