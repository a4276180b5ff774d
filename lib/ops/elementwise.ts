// Elementwise ops with NumPy broadcasting, and their backward rules.
import type { BinaryOp, UnaryOp } from '../../types/native';
import { runKernel } from '../kernels/run-kernel';
import { record } from '../autograd/node';
import { Tensor } from '../tensor';
import { sumTo } from './broadcast';
import { assertTensor, composite, Operand, scalarLike, wrap } from './util';

// The checks make a disposed or non-tensor operand fail with the op's name.
const unaryRaw = (op: UnaryOp, x: Tensor, p0 = 0, p1 = 0): Tensor => wrap(runKernel('unary', [assertTensor(x, op).handle], { op, p0, p1 }));
const binaryRaw = (op: BinaryOp, a: Tensor, b: Tensor): Tensor =>
  wrap(runKernel('binary', [assertTensor(a, op).handle, assertTensor(b, op, 'second operand').handle], { op }));

function checkScalar(v: number, op: string): number {
  if (typeof v !== 'number') throw new TypeError(`${op}: expected a Tensor or a number, got ${typeof v}`);
  return v;
}

/** y = p * x + q (a scalar affine map; the fast path for tensor-number arithmetic). */
export function affine(x: Tensor, p: number, q: number): Tensor {
  const out = unaryRaw('affine', x, p, q);
  return record(out, 'affine', [x], (g) => [p === 1 ? g : unaryRaw('affine', g, p, 0)]);
}

/** a + b, elementwise with broadcasting (b a tensor or a number). */
export function add(a: Tensor, b: Operand): Tensor {
  assertTensor(a, 'add');
  if (typeof b === 'number') return affine(a, 1, checkScalar(b, 'add'));
  const out = binaryRaw('add', a, assertTensor(b, 'add', 'second operand'));
  return record(out, 'add', [a, b], (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

/** a - b, elementwise with broadcasting. */
export function sub(a: Tensor, b: Operand): Tensor {
  assertTensor(a, 'sub');
  if (typeof b === 'number') return affine(a, 1, -checkScalar(b, 'sub'));
  const out = binaryRaw('sub', a, assertTensor(b, 'sub', 'second operand'));
  return record(out, 'sub', [a, b], (g) => [sumTo(g, a.shape), sumTo(unaryRaw('neg', g), b.shape)]);
}

/** a * b, elementwise with broadcasting. */
export function mul(a: Tensor, b: Operand): Tensor {
  assertTensor(a, 'mul');
  if (typeof b === 'number') return affine(a, checkScalar(b, 'mul'), 0);
  const out = binaryRaw('mul', a, assertTensor(b, 'mul', 'second operand'));
  return record(out, 'mul', [a, b], (g) => [
    a.requiresGrad ? sumTo(binaryRaw('mul', g, b), a.shape) : null,
    b.requiresGrad ? sumTo(binaryRaw('mul', g, a), b.shape) : null,
  ]);
}

/** a / b, elementwise with broadcasting. */
export function div(a: Tensor, b: Operand): Tensor {
  assertTensor(a, 'div');
  if (typeof b === 'number') return affine(a, 1 / checkScalar(b, 'div'), 0);
  const out = binaryRaw('div', a, assertTensor(b, 'div', 'second operand'));
  return record(out, 'div', [a, b], (g) => [
    a.requiresGrad ? sumTo(binaryRaw('div', g, b), a.shape) : null,
    // d(a/b)/db = -a/b^2 = -out/b
    b.requiresGrad ? sumTo(unaryRaw('neg', binaryRaw('div', binaryRaw('mul', g, out), b)), b.shape) : null,
  ]);
}

/** number - tensor and number / tensor. */
export function rsub(a: Tensor, v: number): Tensor {
  return affine(a, -1, v);
}
/** v / a, elementwise. */
export function rdiv(a: Tensor, v: number): Tensor {
  return composite([a], () => mul(reciprocal(a), v));
}

/** -x. */
export function neg(x: Tensor): Tensor {
  return affine(assertTensor(x, 'neg'), -1, 0);
}

/** e^x elementwise. */
export function exp(x: Tensor): Tensor {
  const out = unaryRaw('exp', x);
  return record(out, 'exp', [x], (g) => [binaryRaw('mul', g, out)]);
}

/** Natural logarithm elementwise. */
export function log(x: Tensor): Tensor {
  const out = unaryRaw('log', x);
  return record(out, 'log', [x], (g) => [binaryRaw('div', g, x)]);
}

/** Square root elementwise. */
export function sqrt(x: Tensor): Tensor {
  const out = unaryRaw('sqrt', x);
  return record(out, 'sqrt', [x], (g) => [binaryRaw('div', unaryRaw('affine', g, 0.5, 0), out)]);
}

/** |x| elementwise (gradient sign(x)). */
export function abs(x: Tensor): Tensor {
  const out = unaryRaw('abs', x);
  return record(out, 'abs', [x], (g) => [binaryRaw('mul', g, unaryRaw('sign', x))]);
}

/** max(x, 0) elementwise. */
export function relu(x: Tensor): Tensor {
  const out = unaryRaw('relu', x);
  return record(out, 'relu', [x], (g) => [binaryRaw('mul', g, binaryRaw('gt', x, scalarLike(0, x)))]);
}

/** 1 / (1 + e^-x) elementwise. */
export function sigmoid(x: Tensor): Tensor {
  const out = unaryRaw('sigmoid', x);
  // dy/dx = y (1 - y)
  return record(out, 'sigmoid', [x], (g) => [binaryRaw('mul', g, binaryRaw('mul', out, unaryRaw('affine', out, -1, 1)))]);
}

/** tanh(x) elementwise. */
export function tanh(x: Tensor): Tensor {
  const out = unaryRaw('tanh', x);
  // dy/dx = 1 - y^2
  return record(out, 'tanh', [x], (g) => [binaryRaw('mul', g, unaryRaw('affine', unaryRaw('square', out), -1, 1))]);
}

/** x^p for a scalar exponent p. */
export function pow(x: Tensor, p: number): Tensor {
  checkScalar(p, 'pow');
  const out = unaryRaw('pow', x, p);
  return record(out, 'pow', [x], (g) => [binaryRaw('mul', g, unaryRaw('affine', unaryRaw('pow', x, p - 1), p, 0))]);
}

/** x^2 elementwise. */
export function square(x: Tensor): Tensor {
  const out = unaryRaw('square', x);
  return record(out, 'square', [x], (g) => [binaryRaw('mul', g, unaryRaw('affine', x, 2, 0))]);
}

/** 1 / x elementwise. */
export function reciprocal(x: Tensor): Tensor {
  const out = unaryRaw('reciprocal', x);
  // d(1/x)/dx = -1/x^2 = -y^2
  return record(out, 'reciprocal', [x], (g) => [binaryRaw('mul', g, unaryRaw('affine', unaryRaw('square', out), -1, 0))]);
}

/** x limited to [min, max] elementwise; the gradient is 1 inside and 0 outside. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (min > max) throw new Error(`clamp: min ${min} is greater than max ${max}`);
  const out = unaryRaw('clamp', x, min, max);
  return record(out, 'clamp', [x], (g) => [binaryRaw('mul', g, unaryRaw('inRange', x, min, max))]);
}

/** -1, 0 or 1 by the sign of each element (no gradient). */
export function sign(x: Tensor): Tensor {
  return unaryRaw('sign', x);
}

function compare(op: BinaryOp, a: Tensor, b: Operand): Tensor {
  assertTensor(a, op);
  // Comparisons have no gradient: the scalar operand is a temporary.
  return composite([], () => binaryRaw(op, a, typeof b === 'number' ? scalarLike(b, a) : b));
}
/** Comparisons give a float mask (1 where true, 0 elsewhere) and no gradient. */
export const gt = (a: Tensor, b: Operand) => compare('gt', a, b);
/** 1 where a >= b, else 0 (no gradient). */
export const ge = (a: Tensor, b: Operand) => compare('ge', a, b);
/** 1 where a < b, else 0. */
export const lt = (a: Tensor, b: Operand) => compare('lt', a, b);
/** 1 where a <= b, else 0. */
export const le = (a: Tensor, b: Operand) => compare('le', a, b);
/** 1 where a == b, else 0. */
export const eq = (a: Tensor, b: Operand) => compare('eq', a, b);
/** 1 where a != b, else 0. */
export const ne = (a: Tensor, b: Operand) => compare('ne', a, b);

/** The larger of a and b, elementwise with broadcasting. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('maximum', a, b);
  return record(out, 'maximum', [a, b], (g) => {
    const mask = binaryRaw('ge', a, b);
    return [sumTo(binaryRaw('mul', g, mask), a.shape), sumTo(binaryRaw('mul', g, unaryRaw('affine', mask, -1, 1)), b.shape)];
  });
}

/** The smaller of a and b, elementwise with broadcasting. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('minimum', a, b);
  return record(out, 'minimum', [a, b], (g) => {
    const mask = binaryRaw('le', a, b);
    return [sumTo(binaryRaw('mul', g, mask), a.shape), sumTo(binaryRaw('mul', g, unaryRaw('affine', mask, -1, 1)), b.shape)];
  });
}

/** cond != 0 ? a : b, broadcast over all three. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  assertTensor(cond, 'where', 'condition');
  return composite([typeof a === 'number' ? null : a, typeof b === 'number' ? null : b], () => whereBody(cond, a, b));
}

function whereBody(cond: Tensor, a: Operand, b: Operand): Tensor {
  const ta = typeof a === 'number' ? scalarLike(a, cond) : a;
  const tb = typeof b === 'number' ? scalarLike(b, cond) : b;
  const out = wrap(runKernel('where', [cond.handle, ta.handle, tb.handle]));
  return record(out, 'where', [ta, tb], (g) => {
    const zero = scalarLike(0, g);
    return [
      ta.requiresGrad ? sumTo(wrap(runKernel('where', [cond.handle, g.handle, zero.handle])), ta.shape) : null,
      tb.requiresGrad ? sumTo(wrap(runKernel('where', [cond.handle, zero.handle, g.handle])), tb.shape) : null,
    ];
  });
}

/** x where mask != 0, else value (PyTorch's masked_fill with the mask inverted is where(mask, value, x)). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}
