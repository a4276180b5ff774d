// tidy / keep / dispose, in the manner of TensorFlow.js: every tensor created inside tidy(fn) is
// disposed when fn returns, except the tensors fn returns (and any passed to keep()).
import { GraphArena } from './autograd/graph-arena';
import type { Tensor } from './tensor';

const scopes: Set<Tensor>[] = [];

/** Called by the Tensor constructor: the tensor belongs to the innermost tidy scope, if any. */
export function trackTensor(t: Tensor): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

/** Whether t belongs to the innermost tidy scope (it will be disposed when that tidy returns, unless kept). */
export function inInnermostScope(t: Tensor): boolean {
  return scopes.length > 0 && scopes[scopes.length - 1].has(t);
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
 * A returned tensor whose graph backward() has not consumed keeps its graph, as in PyTorch:
 * `tidy(() => w.mul(w).sum()).backward()` works. The scope's other tensors then live on in a
 * GraphArena until backward() (without retainGraph) or dispose() of the returned tensor, or its GC.
 * Calling backward() inside the tidy, as a training step does, frees everything when fn returns.
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
  const roots = [...kept].filter((t) => t.gradFn && !t.gradFn.released && !t.isDisposed);
  const deferred: Tensor[] = [];
  for (const t of scope) {
    if (kept.has(t)) trackTensor(t);
    else if (roots.length && !t.isDisposed) deferred.push(t);
    else t.dispose();
  }
  if (deferred.length) {
    const arena = new GraphArena(deferred, roots.length);
    for (const r of roots) (r.gradFn!.arenas ??= []).push(arena);
  }
  return result;
}

/** Disposes a tensor or every tensor inside an array/object. */
export function dispose(value: unknown): void {
  const found = new Set<Tensor>();
  collectTensors(value, found, new Set());
  for (const t of found) t.dispose();
}
