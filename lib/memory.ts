// tidy / keep / dispose, in the manner of TensorFlow.js: every tensor created inside tidy(fn) is
// disposed when fn returns, except the tensors fn returns (and any passed to keep()).
import type { Tensor } from './tensor';

const scopes: Set<Tensor>[] = [];

/** Called by the Tensor constructor: the tensor belongs to the innermost tidy scope, if any. */
export function trackTensor(t: Tensor): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

/** Exempts a tensor from disposal by the enclosing tidy scopes (it lives until dispose() or GC). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ((value as { __isTensor?: boolean }).__isTensor) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as object)) collectTensors(v, out, seen);
  }
}

/**
 * Runs fn and disposes every tensor created inside it, except the tensors in its result
 * (a tensor, or arrays/plain objects holding tensors), which move to the enclosing scope.
 * Call backward() inside the same tidy as the forward: the graph's saved tensors are disposed at the end.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('tidy(fn): fn must be a function');
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    for (const t of scope) t.dispose();
    throw new Error('tidy(fn): fn returned a Promise; tidy only scopes synchronous code. Await outside tidy and dispose() explicitly');
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept, new Set());
  for (const t of scope) {
    if (kept.has(t)) trackTensor(t);
    else t.dispose();
  }
  return result;
}

/** Disposes a tensor or every tensor inside an array/object. */
export function dispose(value: unknown): void {
  const found = new Set<Tensor>();
  collectTensors(value, found, new Set());
  for (const t of found) t.dispose();
}
