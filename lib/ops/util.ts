// Small helpers shared by the op files.
import type { NativeHandle } from '../../types/native';
import { native } from '../native';
import { Tensor } from '../tensor';

export const wrap = (h: NativeHandle): Tensor => new Tensor(h);

export type Operand = Tensor | number;

export function assertTensor(x: unknown, op: string, what = 'input'): Tensor {
  if (!x || !(x as Tensor).__isTensor) throw new TypeError(`${op}: the ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  return x as Tensor;
}

/** A 0-d tensor holding v on the device of `like`. */
export function scalarLike(v: number, like: Tensor): Tensor {
  return wrap(native.full([], v, like.device));
}

export function normalizeDim(dim: number, ndim: number, op: string): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) throw new Error(`${op}: dim ${dim} is out of range for ${ndim}-d input (valid: ${-n} to ${n - 1})`);
  return dim < 0 ? dim + n : dim;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
