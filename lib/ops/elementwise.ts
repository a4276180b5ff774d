// Elementwise ops with NumPy broadcasting, and their backward rules.
import { native } from '../native';
import { record } from '../autograd/node';
import { Tensor } from '../tensor';
import { sumTo } from './reduce';
import { assertTensor, composite, Operand, scalarLike, wrap } from './util';

// Must match native/backend.h.
/**
 * Unary op codes of the native addon (internal).
 * @internal
 */
export const enum U { Neg, Exp, Log, Sqrt, Abs, Relu, Sigmoid, Tanh, Pow, Clamp, InRange, Sign, Affine, Reciprocal, Square }
/**
 * Binary op codes of the native addon (internal).
 * @internal
 */
export const enum B { Add, Sub, Mul, Div, Maximum, Minimum, Gt, Ge, Lt, Le, Eq, Ne }

const U_NAMES = ['neg', 'exp', 'log', 'sqrt', 'abs', 'relu', 'sigmoid', 'tanh', 'pow', 'clamp', 'inRange', 'sign', 'affine', 'reciprocal', 'square'];
const B_NAMES = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'gt', 'ge', 'lt', 'le', 'eq', 'ne'];
// The checks make a disposed or non-tensor operand fail with the op's name.
const unaryRaw = (op: U, x: Tensor, p0 = 0, p1 = 0): Tensor => wrap(native.unary(op, assertTensor(x, U_NAMES[op]).handle, p0, p1));
const binaryRaw = (op: B, a: Tensor, b: Tensor): Tensor =>
  wrap(native.binary(op, assertTensor(a, B_NAMES[op]).handle, assertTensor(b, B_NAMES[op], 'second operand').handle));

function checkScalar(v: number, op: string): number {
  if (typeof v !== 'number') throw new TypeError(`${op}: expected a Tensor or a number, got ${typeof v}`);
  return v;
}

/** y = p * x + q (a scalar affine map; the fast path for tensor-number arithmetic). */
export function affine(x: Tensor, p: number, q: number): Tensor {
  const out = unaryRaw(U.Affine, x, p, q);
  return record(out, 'affine', [x], (g) => [p === 1 ? g : unaryRaw(U.Affine, g, p, 0)]);
}

/** a + b, elementwise with broadcasting (b a tensor or a number). */
export function add(a: Tensor, b: Operand): Tensor {
  assertTensor(a, 'add');
  if (typeof b === 'number') return affine(a, 1, checkScalar(b, 'add'));
  const out = binaryRaw(B.Add, a, assertTensor(b, 'add', 'second operand'));
  return record(out, 'add', [a, b], (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

/** a - b, elementwise with broadcasting. */
export function sub(a: Tensor, b: Operand): Tensor {
  assertTensor(a, 'sub');
  if (typeof b === 'number') return affine(a, 1, -checkScalar(b, 'sub'));
  const out = binaryRaw(B.Sub, a, assertTensor(b, 'sub', 'second operand'));
  return record(out, 'sub', [a, b], (g) => [sumTo(g, a.shape), sumTo(unaryRaw(U.Neg, g), b.shape)]);
}

/** a * b, elementwise with broadcasting. */
export function mul(a: Tensor, b: Operand): Tensor {
  assertTensor(a, 'mul');
  if (typeof b === 'number') return affine(a, checkScalar(b, 'mul'), 0);
  const out = binaryRaw(B.Mul, a, assertTensor(b, 'mul', 'second operand'));
  return record(out, 'mul', [a, b], (g) => [
    a.requiresGrad ? sumTo(binaryRaw(B.Mul, g, b), a.shape) : null,
    b.requiresGrad ? sumTo(binaryRaw(B.Mul, g, a), b.shape) : null,
  ]);
}

/** a / b, elementwise with broadcasting. */
export function div(a: Tensor, b: Operand): Tensor {
  assertTensor(a, 'div');
  if (typeof b === 'number') return affine(a, 1 / checkScalar(b, 'div'), 0);
  const out = binaryRaw(B.Div, a, assertTensor(b, 'div', 'second operand'));
  return record(out, 'div', [a, b], (g) => [
    a.requiresGrad ? sumTo(binaryRaw(B.Div, g, b), a.shape) : null,
    // d(a/b)/db = -a/b^2 = -out/b
    b.requiresGrad ? sumTo(unaryRaw(U.Neg, binaryRaw(B.Div, binaryRaw(B.Mul, g, out), b)), b.shape) : null,
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
  const out = unaryRaw(U.Exp, x);
  return record(out, 'exp', [x], (g) => [binaryRaw(B.Mul, g, out)]);
}

/** Natural logarithm elementwise. */
export function log(x: Tensor): Tensor {
  const out = unaryRaw(U.Log, x);
  return record(out, 'log', [x], (g) => [binaryRaw(B.Div, g, x)]);
}

/** Square root elementwise. */
export function sqrt(x: Tensor): Tensor {
  const out = unaryRaw(U.Sqrt, x);
  return record(out, 'sqrt', [x], (g) => [binaryRaw(B.Div, unaryRaw(U.Affine, g, 0.5, 0), out)]);
}

/** |x| elementwise (gradient sign(x)). */
export function abs(x: Tensor): Tensor {
  const out = unaryRaw(U.Abs, x);
  return record(out, 'abs', [x], (g) => [binaryRaw(B.Mul, g, unaryRaw(U.Sign, x))]);
}

/** max(x, 0) elementwise. */
export function relu(x: Tensor): Tensor {
  const out = unaryRaw(U.Relu, x);
  return record(out, 'relu', [x], (g) => [binaryRaw(B.Mul, g, binaryRaw(B.Gt, x, scalarLike(0, x)))]);
}

/** 1 / (1 + e^-x) elementwise. */
export function sigmoid(x: Tensor): Tensor {
  const out = unaryRaw(U.Sigmoid, x);
  // dy/dx = y (1 - y)
  return record(out, 'sigmoid', [x], (g) => [binaryRaw(B.Mul, g, binaryRaw(B.Mul, out, unaryRaw(U.Affine, out, -1, 1)))]);
}

/** tanh(x) elementwise. */
export function tanh(x: Tensor): Tensor {
  const out = unaryRaw(U.Tanh, x);
  // dy/dx = 1 - y^2
  return record(out, 'tanh', [x], (g) => [binaryRaw(B.Mul, g, unaryRaw(U.Affine, unaryRaw(U.Square, out), -1, 1))]);
}

/** x^p for a scalar exponent p. */
export function pow(x: Tensor, p: number): Tensor {
  checkScalar(p, 'pow');
  const out = unaryRaw(U.Pow, x, p);
  return record(out, 'pow', [x], (g) => [binaryRaw(B.Mul, g, unaryRaw(U.Affine, unaryRaw(U.Pow, x, p - 1), p, 0))]);
}

/** x^2 elementwise. */
export function square(x: Tensor): Tensor {
  const out = unaryRaw(U.Square, x);
  return record(out, 'square', [x], (g) => [binaryRaw(B.Mul, g, unaryRaw(U.Affine, x, 2, 0))]);
}

/** 1 / x elementwise. */
export function reciprocal(x: Tensor): Tensor {
  const out = unaryRaw(U.Reciprocal, x);
  // d(1/x)/dx = -1/x^2 = -y^2
  return record(out, 'reciprocal', [x], (g) => [binaryRaw(B.Mul, g, unaryRaw(U.Affine, unaryRaw(U.Square, out), -1, 0))]);
}

/** x limited to [min, max] elementwise; the gradient is 1 inside and 0 outside. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (min > max) throw new Error(`clamp: min ${min} is greater than max ${max}`);
  const out = unaryRaw(U.Clamp, x, min, max);
  return record(out, 'clamp', [x], (g) => [binaryRaw(B.Mul, g, unaryRaw(U.InRange, x, min, max))]);
}

/** -1, 0 or 1 by the sign of each element (no gradient). */
export function sign(x: Tensor): Tensor {
  return unaryRaw(U.Sign, x);
}

function compare(op: B, a: Tensor, b: Operand): Tensor {
  assertTensor(a, B_NAMES[op]);
  // Comparisons have no gradient: the scalar operand is a temporary.
  return composite([], () => binaryRaw(op, a, typeof b === 'number' ? scalarLike(b, a) : b));
}
/** Comparisons give a float mask (1 where true, 0 elsewhere) and no gradient. */
export const gt = (a: Tensor, b: Operand) => compare(B.Gt, a, b);
/** 1 where a >= b, else 0 (no gradient). */
export const ge = (a: Tensor, b: Operand) => compare(B.Ge, a, b);
/** 1 where a < b, else 0. */
export const lt = (a: Tensor, b: Operand) => compare(B.Lt, a, b);
/** 1 where a <= b, else 0. */
export const le = (a: Tensor, b: Operand) => compare(B.Le, a, b);
/** 1 where a == b, else 0. */
export const eq = (a: Tensor, b: Operand) => compare(B.Eq, a, b);
/** 1 where a != b, else 0. */
export const ne = (a: Tensor, b: Operand) => compare(B.Ne, a, b);

/** The larger of a and b, elementwise with broadcasting. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw(B.Maximum, a, b);
  return record(out, 'maximum', [a, b], (g) => {
    const mask = binaryRaw(B.Ge, a, b);
    return [sumTo(binaryRaw(B.Mul, g, mask), a.shape), sumTo(binaryRaw(B.Mul, g, unaryRaw(U.Affine, mask, -1, 1)), b.shape)];
  });
}

/** The smaller of a and b, elementwise with broadcasting. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw(B.Minimum, a, b);
  return record(out, 'minimum', [a, b], (g) => {
    const mask = binaryRaw(B.Le, a, b);
    return [sumTo(binaryRaw(B.Mul, g, mask), a.shape), sumTo(binaryRaw(B.Mul, g, unaryRaw(U.Affine, mask, -1, 1)), b.shape)];
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
  const out = wrap(native.where(cond.handle, ta.handle, tb.handle));
  return record(out, 'where', [ta, tb], (g) => {
    const zero = scalarLike(0, g);
    return [
      ta.requiresGrad ? sumTo(wrap(native.where(cond.handle, g.handle, zero.handle)), ta.shape) : null,
      tb.requiresGrad ? sumTo(wrap(native.where(cond.handle, zero.handle, g.handle)), tb.shape) : null,
    ];
  });
}

/** x where mask != 0, else value (PyTorch's masked_fill with the mask inverted is where(mask, value, x)). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}
