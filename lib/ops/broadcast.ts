// The two broadcast helpers of the backward rules: expanding a gradient to a broadcast shape, and
// summing it back over the broadcast dims. Plain kernel calls (no graph), so every op file can use
// them without importing another op file.
import { runKernel } from '../kernels/run-kernel';
import { Tensor } from '../tensor';
import { sameShape, wrap } from './util';

/** Broadcasts g to `shape` (g's shape must broadcast to it). */
export function expandTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const zeros = wrap(runKernel('full', [], { shape: shape.slice(), value: 0, device: g.device }));
  return wrap(runKernel('binary', [zeros.handle, g.handle], { op: 'add' }));
}

/** Sums g over the dims that broadcasting expanded, so that it takes `shape` (the reverse of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const reduced = dims.length ? wrap(runKernel('reduce', [g.handle], { op: 'sum', dims, keepdim: true })) : g;
  return wrap(runKernel('reshape', [reduced.handle], { shape: shape.slice() }));
}
