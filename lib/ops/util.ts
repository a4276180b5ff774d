// Small helpers shared by the op files.
import type { NativeHandle } from '../../types/native';
import { needsGrad } from '../autograd/node';
import { tidy } from '../memory';
import { runKernel } from '../kernels/run-kernel';
import { Tensor } from '../tensor';

export const wrap = (h: NativeHandle): Tensor => new Tensor(h);

/** op(A) · op(B), op = transpose where asked, without an autograd node (matmul and the backward rules use it). */
export const mm = (a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor => wrap(runKernel('matmul', [a.handle, b.handle], { transA, transB }));

/** The second operand of an elementwise op: a tensor (broadcast) or a number. */
export type Operand = Tensor | number;

export function assertTensor(x: unknown, op: string, what = 'input'): Tensor {
  if (!x || !(x as Tensor).__isTensor) throw new TypeError(`${op}: the ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  if ((x as Tensor).isDisposed)
    throw new Error(`${op}: the ${what} ${(x as Tensor).describe()} was disposed; it cannot be used after dispose() or after the tidy() that created it ended (return it from tidy() or keep() it)`);
  return x as Tensor;
}

/**
 * Runs the body of a composite op (one built from other ops). When no input needs grad, the
 * temporaries it makes are disposed at once and only its result survives, so code that dispose()s
 * results without tidy() does not pile up hidden intermediates (N-API finalizers only run once the
 * event loop turns). With grad the intermediates belong to the graph: free them with tidy().
 */
export function composite<T>(inputs: (Tensor | null | undefined)[], fn: () => T): T {
  return needsGrad(inputs) ? fn() : tidy(fn);
}

/** A 0-d tensor holding v on the device of `like`. */
export function scalarLike(v: number, like: Tensor): Tensor {
  return wrap(runKernel('full', [], { shape: [], value: v, device: like.device }));
}

export function normalizeDim(dim: number, ndim: number, op: string): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) throw new Error(`${op}: dim ${dim} is out of range for ${ndim}-d input (valid: ${-n} to ${n - 1})`);
  return dim < 0 ? dim + n : dim;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
