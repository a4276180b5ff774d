// nn.utils.clipGradNorm_ / clipGradValue_ against values worked out by hand with PyTorch's rules:
//   N = (sum |g|^p)^(1/p) over all gradients (p = inf: max |g|), g <- g * min(1, maxNorm / (N + 1e-6)),
//   clipGradValue_: g <- clamp(g, -c, c); in place; parameters without .grad skipped.
import { nn, tensor, zeros, Tensor } from '../../lib';

const { clipGradNorm_, clipGradValue_, gradNorm } = nn.utils;
const vals = (t: Tensor | null) => Array.from(t!.toFloat32Array());

/** a.grad = [3, -4] (L2 norm 5), b.grad = [[12]], c without a gradient: total L2 norm 13. */
function params() {
  const a = zeros([2]).requiresGrad_(), b = zeros([1, 1]).requiresGrad_(), c = zeros([3]).requiresGrad_();
  a.grad = tensor([3, -4]);
  b.grad = tensor([[12]]);
  return { a, b, c, list: [a, b, c] };
}

describe('clipGradNorm_', () => {
  test('L2: returns 13 and scales every gradient by 6.5 / (13 + 1e-6), in place', () => {
    const { a, b, c, list } = params();
    const ga = a.grad!;
    const total = clipGradNorm_(list, 6.5);
    expect(total).toBeCloseTo(13, 5);
    const k = 6.5 / (13 + 1e-6);
    expect(vals(a.grad)).toEqual([Math.fround(3 * k), Math.fround(-4 * k)].map((v) => expect.closeTo(v, 6)));
    expect(vals(b.grad)[0]).toBeCloseTo(12 * k, 5);
    expect(a.grad).toBe(ga); // the same tensor, overwritten
    expect(c.grad).toBeNull();
    expect(gradNorm(list)).toBeCloseTo(6.5, 4);
  });
  test('under the limit nothing changes', () => {
    const { a, b, list } = params();
    expect(clipGradNorm_(list, 100)).toBeCloseTo(13, 5);
    expect(vals(a.grad)).toEqual([3, -4]);
    expect(vals(b.grad)).toEqual([12]);
  });
  test('L1 (19), L3 (1819^(1/3)) and inf (12) norms', () => {
    let p = params();
    expect(clipGradNorm_(p.list, 1.9, 1)).toBeCloseTo(19, 5);
    expect(vals(p.a.grad)[0]).toBeCloseTo(0.3, 5);
    expect(vals(p.b.grad)[0]).toBeCloseTo(1.2, 5);
    p = params();
    expect(clipGradNorm_(p.list, 1, 3)).toBeCloseTo(Math.cbrt(1819), 4);
    expect(vals(p.b.grad)[0]).toBeCloseTo(12 / (Math.cbrt(1819) + 1e-6), 5);
    p = params();
    expect(clipGradNorm_(p.list, 6, Infinity)).toBe(12);
    expect(vals(p.a.grad)).toEqual([1.5, -2].map((v) => expect.closeTo(v, 5)));
    expect(clipGradNorm_(params().list, 6, 'inf')).toBe(12);
  });
  test('a single tensor, and no gradients at all (norm 0)', () => {
    const { a } = params();
    expect(clipGradNorm_(a, 1)).toBeCloseTo(5, 5);
    expect(vals(a.grad)).toEqual([0.6, -0.8].map((v) => expect.closeTo(v, 5)));
    expect(clipGradNorm_([zeros([2])], 1)).toBe(0);
  });
  test('a non-finite norm: an error with errorIfNonfinite, else NaN / 0 as PyTorch gives', () => {
    const p = params();
    p.a.grad = tensor([NaN, 1]);
    expect(() => clipGradNorm_(p.list, 1, 2, { errorIfNonfinite: true })).toThrow(/total norm of order 2 of the gradients is NaN/);
    expect(vals(p.b.grad)).toEqual([12]); // untouched by the refused call
    expect(clipGradNorm_(p.list, 1)).toBeNaN();
    expect(vals(p.b.grad)[0]).toBeNaN();
    const q = params();
    q.a.grad = tensor([Infinity, 1]);
    expect(() => clipGradNorm_(q.list, 1, 'inf', { errorIfNonfinite: true })).toThrow(/of order inf .* is Infinity/);
    expect(clipGradNorm_(q.list, 1)).toBe(Infinity);
    // coefficient maxNorm / inf = 0: finite entries become 0, the infinite one inf * 0 = NaN
    expect(vals(q.a.grad)[0]).toBeNaN();
    expect(vals(q.a.grad)[1]).toBe(0);
    expect(vals(q.b.grad)).toEqual([0]);
  });
  test('bad arguments are named', () => {
    expect(() => clipGradNorm_(params().list, 1, 0)).toThrow(/normType = 0 must be a positive number or Infinity/);
    expect(() => clipGradNorm_([1 as unknown as Tensor], 1)).toThrow(/parameters\[0\] is not a Tensor/);
  });
});

describe('clipGradValue_', () => {
  test('clamps into [-c, c] in place', () => {
    const { a, b, c, list } = params();
    const gb = b.grad!;
    clipGradValue_(list, 3.5);
    expect(vals(a.grad)).toEqual([3, -3.5]);
    expect(vals(b.grad)).toEqual([3.5]);
    expect(b.grad).toBe(gb);
    expect(c.grad).toBeNull();
  });
  test('a negative or NaN clipValue is refused', () => {
    expect(() => clipGradValue_(params().list, -1)).toThrow(/clipValue = -1 must be a number >= 0/);
    expect(() => clipGradValue_(params().list, NaN)).toThrow(/clipValue = NaN/);
  });
});
