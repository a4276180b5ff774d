// Reverse-mode differentiation over the dynamic tape. Gradients of leaves accumulate into .grad;
// intermediate gradients are freed as soon as the pass ends, and each node's saved tensors are
// released after its rule runs (unless retainGraph).
import { native } from '../native';
import { keep, tidy } from '../memory';
import { Tensor } from '../tensor';
import { noGrad } from './grad-mode';

/** Options of Tensor.backward. */
export interface BackwardOptions {
  /** Keep the graph so that backward can run through it again. */
  retainGraph?: boolean;
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child && child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();  // root first
}

function accumulateLeaf(t: Tensor, g: Tensor): void {
  if (t.grad && !t.grad.isDisposed) {
    native.axpy_(t.grad.handle, 1, g.handle);
  } else {
    t.grad = keep(new Tensor(native.clone(g.handle)));
  }
}

export function runBackward(root: Tensor, gradOutput?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad)
    throw new Error('backward(): this tensor does not require grad; mark an input with requiresGrad (or use a Parameter) before the forward pass');
  if (!gradOutput && root.numel !== 1)
    throw new Error(`backward(): the output ${root.describe()} is not a scalar; pass gradOutput with the same shape, or reduce it first (e.g. .sum())`);
  if (gradOutput && gradOutput.shape.join(',') !== root.shape.join(','))
    throw new Error(`backward(): gradOutput ${gradOutput.describe()} must have the output's shape [${root.shape.join(',')}]`);
  const order = topologicalOrder(root);
  noGrad(() =>
    tidy(() => {
      const grads = new Map<Tensor, Tensor>();
      grads.set(root, gradOutput ?? new Tensor(native.full(root.shape.slice(), 1, root.device)));
      for (const t of order) {
        const g = grads.get(t);
        if (!g) continue;
        grads.delete(t);
        const node = t.gradFn;
        if (!node) {
          accumulateLeaf(t, g);
          for (const hook of t.postAccumulateGradHooks) hook(t);
          continue;
        }
        if (t.retainsGrad) accumulateLeaf(t, g);
        if (node.released || !node.backwardFn)
          throw new Error(`backward(): the graph through '${node.name}' was already freed by an earlier backward(); pass { retainGraph: true } to the first backward() to run it twice`);
        const inputGrads = node.backwardFn(g);
        node.inputs.forEach((input, i) => {
          const gi = inputGrads[i];
          if (!input || !input.requiresGrad || !gi) return;
          if (gi.shape.join(',') !== input.shape.join(','))
            throw new Error(`backward(): internal error in '${node.name}': gradient ${gi.describe()} for input [${input.shape.join(',')}]`);
          const previous = grads.get(input);
          grads.set(input, previous ? new Tensor(native.binary(0, previous.handle, gi.handle)) : gi);
        });
        if (!options.retainGraph) node.release();
      }
      return undefined;
    }),
  );
  // The graph is consumed: tensors that tidy() kept alive for it can go (see GraphArena).
  if (!options.retainGraph) for (const t of order) if (t.gradFn && t.gradFn.released) t.gradFn.releaseArenas();
}
