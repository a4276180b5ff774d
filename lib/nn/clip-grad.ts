// Gradient clipping with PyTorch's semantics (torch.nn.utils.clip_grad_norm_ / clip_grad_value_).
//   total norm  N = (sum over every element g of every .grad |g|^p)^(1/p);  p = inf: N = max |g|
//   clipGradNorm_:  g <- g * min(1, maxNorm / (N + 1e-6))      (every gradient, in place)
//   clipGradValue_: g <- clamp(g, -clipValue, clipValue)       (in place)
// Parameters without a .grad are skipped. The gradients are changed in place (their storage is
// overwritten), so references to them held elsewhere see the clipped values.
import { noGrad } from '../autograd/grad-mode';
import { runKernel } from '../kernels/run-kernel';
import { Tensor } from '../tensor';
import '../ops/methods';

/** Tensors whose .grad is clipped: one tensor, or any iterable of them (e.g. module.parameters()). */
export type GradSource = Tensor | Iterable<Tensor>;

/** Options of clipGradNorm_. */
export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite instead of scaling by it (PyTorch's error_if_nonfinite; default false). */
  errorIfNonfinite?: boolean;
}

function gradsOf(parameters: GradSource, fn: string): Tensor[] {
  const list = (parameters as Tensor).__isTensor ? [parameters as Tensor] : Array.from(parameters as Iterable<Tensor>);
  list.forEach((p, i) => {
    if (!p || !(p as Tensor).__isTensor) throw new TypeError(`${fn}: parameters[${i}] is not a Tensor; pass a tensor or a list of tensors (e.g. model.parameters())`);
  });
  return list.map((p) => p.grad).filter((g): g is Tensor => g !== null);
}

function normOrder(normType: number | 'inf', fn: string): number {
  const p = normType === 'inf' ? Infinity : normType;
  if (typeof p !== 'number' || !(p > 0)) throw new Error(`${fn}: normType = ${String(normType)} must be a positive number or Infinity ('inf')`);
  return p;
}

/** Overwrites `g` with f(g) (computed out of place, then copied into g's storage). */
function replaceInPlace(g: Tensor, f: (g: Tensor) => Tensor): void {
  const next = f(g);
  runKernel('copy', [g.handle, next.handle]);
  next.dispose();
}

/** (sum |g|^p)^(1/p) over the elements of all `grads` (max |g| for p = Infinity); accumulated in float64. */
function totalNorm(grads: Tensor[], p: number): number {
  return noGrad(() => {
    let acc = 0;
    for (const g of grads) {
      if (g.numel === 0) continue;
      const t = p === Infinity ? g.abs().max() : p === 2 ? g.square().sum() : p === 1 ? g.abs().sum() : g.abs().pow(p).sum();
      const v = t.item();
      t.dispose();
      acc = p === Infinity ? (Number.isNaN(v) || Number.isNaN(acc) ? NaN : Math.max(acc, v)) : acc + v;
    }
    return p === Infinity || p === 1 ? acc : Math.pow(acc, 1 / p);
  });
}

/**
 * The p-norm of all gradients taken together, as if concatenated into one vector (p = Infinity: the
 * largest absolute value). Parameters without a gradient are skipped; with none the norm is 0.
 */
export function gradNorm(parameters: GradSource, normType: number | 'inf' = 2): number {
  return totalNorm(gradsOf(parameters, 'gradNorm'), normOrder(normType, 'gradNorm'));
}

/**
 * Rescales the gradients so that their total `normType`-norm is at most `maxNorm` (PyTorch's
 * clip_grad_norm_): each gradient is multiplied by min(1, maxNorm / (total + 1e-6)), in place.
 * Returns the total norm before clipping. A NaN or infinite total norm throws with
 * `errorIfNonfinite`, and otherwise scales the gradients by it (giving NaN), as PyTorch does.
 */
export function clipGradNorm_(parameters: GradSource, maxNorm: number, normType: number | 'inf' = 2, opts: ClipGradNormOptions = {}): number {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new Error(`clipGradNorm_: maxNorm = ${String(maxNorm)} must be a number`);
  const grads = gradsOf(parameters, 'clipGradNorm_');
  const p = normOrder(normType, 'clipGradNorm_');
  if (grads.length === 0) return 0;
  const total = totalNorm(grads, p);
  if (opts.errorIfNonfinite && !Number.isFinite(total))
    throw new Error(`clipGradNorm_: the total norm of order ${normType} of the gradients is ${total}, so they cannot be clipped; ` +
      'find the step that produced it (a NaN or infinite loss or gradient), or pass errorIfNonfinite: false to scale by it anyway');
  const coef = Math.min(1, maxNorm / (total + 1e-6));
  noGrad(() => {
    // coef = 1 leaves the values unchanged (PyTorch multiplies anyway); NaN propagates as in PyTorch
    if (coef !== 1) for (const g of grads) replaceInPlace(g, (x) => x.mul(Math.fround(coef)));
  });
  return total;
}

/** Clamps every gradient into [-clipValue, clipValue], in place (PyTorch's clip_grad_value_). */
export function clipGradValue_(parameters: GradSource, clipValue: number): void {
  if (typeof clipValue !== 'number' || !(clipValue >= 0))
    throw new Error(`clipGradValue_: clipValue = ${String(clipValue)} must be a number >= 0 (gradients are clamped into [-clipValue, clipValue])`);
  const grads = gradsOf(parameters, 'clipGradValue_');
  noGrad(() => {
    for (const g of grads) replaceInPlace(g, (x) => x.clamp(-clipValue, clipValue));
  });
}
