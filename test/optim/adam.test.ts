// Adam and AdamW against a float64 reference of PyTorch's algorithm (torch.optim.Adam / AdamW, single-tensor path).
import { tensor } from '../../lib/creation';
import { Tensor } from '../../lib/tensor';
import { Adam, AdamOptions, AdamW } from '../../lib/optim';
import { rng, relError, expectClose } from '../helpers/numeric';

interface RefState { p: number[]; m: number[]; v: number[]; vmax: number[] }

/** PyTorch's Adam (decoupled = false) or AdamW (decoupled = true) in float64, step by step. */
function referenceAdam(p0: Float32Array, grads: Float32Array[], o: AdamOptions, decoupled: boolean): RefState {
  const n = p0.length;
  const p = Array.from(p0);
  const m = new Array(n).fill(0);
  const v = new Array(n).fill(0);
  const vmax = new Array(n).fill(0);
  const [b1, b2] = o.betas;
  grads.forEach((grad, k) => {
    const t = k + 1;
    const bc1 = 1 - Math.pow(b1, t);
    const bc2 = 1 - Math.pow(b2, t);
    for (let i = 0; i < n; i++) {
      let g = o.maximize ? -grad[i] : grad[i];
      if (o.weightDecay !== 0) {
        if (decoupled) p[i] = p[i] * (1 - o.lr * o.weightDecay);
        else g = g + o.weightDecay * p[i];
      }
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      let vhat = v[i];
      if (o.amsgrad) {
        vmax[i] = Math.max(vmax[i], v[i]);
        vhat = vmax[i];
      }
      const denom = Math.sqrt(vhat) / Math.sqrt(bc2) + o.eps;
      p[i] = p[i] - (o.lr / bc1) * (m[i] / denom);
    }
  });
  return { p, m, v, vmax };
}

const ADAM: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };
const ADAMW: AdamOptions = { ...ADAM, weightDecay: 1e-2 };

// Large lr and eps in some cases so that the bias corrections, the eps placement and the weight decay all
// move the parameters well beyond the tolerance.
const CASES: [string, boolean, Partial<AdamOptions>][] = [
  ['Adam defaults', false, {}],
  ['Adam, large lr and eps', false, { lr: 0.1, eps: 1e-2 }],
  ['Adam, other betas', false, { lr: 0.05, betas: [0.5, 0.7] }],
  ['Adam, L2 weight decay', false, { lr: 0.05, weightDecay: 0.5 }],
  ['Adam, amsgrad', false, { lr: 0.05, amsgrad: true, betas: [0.8, 0.9] }],
  ['Adam, maximize', false, { lr: 0.05, maximize: true }],
  ['Adam, amsgrad + maximize + weight decay', false, { lr: 0.05, amsgrad: true, maximize: true, weightDecay: 0.3, betas: [0.8, 0.9], eps: 1e-3 }],
  ['AdamW defaults', true, {}],
  ['AdamW, decoupled weight decay', true, { lr: 0.05, weightDecay: 0.5 }],
  ['AdamW, amsgrad', true, { lr: 0.05, weightDecay: 0.2, amsgrad: true, betas: [0.8, 0.9] }],
  ['AdamW, maximize + eps', true, { lr: 0.1, weightDecay: 0.2, maximize: true, eps: 1e-2 }],
];

/** Gradients whose scale changes from step to step (so that v falls at times and amsgrad's maximum matters). */
function gradSequence(r: () => number, n: number, steps: number): Float32Array[] {
  const scales = [2, 0.3, 1, 0.05, 1.5, 0.2, 0.7];
  return Array.from({ length: steps }, (_, t) => Float32Array.from({ length: n }, () => Math.fround(scales[t % scales.length] * r())));
}

describe('Adam / AdamW match PyTorch (float64 reference)', () => {
  const shapes = [[7], [2, 3], []];
  const steps = 7;

  test.each(CASES)('%s', (_name, decoupled, opts) => {
    const o = { ...(decoupled ? ADAMW : ADAM), ...opts };
    const r = rng(11);
    const params = shapes.map((s) => {
      const n = s.reduce((a, b) => a * b, 1);
      return tensor(Float32Array.from({ length: n }, () => 1.5 * r()), s, { requiresGrad: true });
    });
    const p0 = params.map((p) => p.toFloat32Array());
    const grads = params.map((p) => gradSequence(r, p.numel, steps));
    const opt = decoupled ? new AdamW(params, opts) : new Adam(params, opts);
    for (let t = 0; t < steps; t++) {
      params.forEach((p, k) => (p.grad = tensor(grads[k][t], p.shape.slice())));
      opt.step();
    }
    const sd = opt.stateDict();
    params.forEach((p, k) => {
      const ref = referenceAdam(p0[k], grads[k], o, decoupled);
      expectClose(p.toFloat32Array(), ref.p, 1e-6, `param ${k}`);
      const st = sd.state[k];
      expect(st.step).toBe(steps);
      // The moments accumulate in float32 against a float64 reference: 1e-5 relative (max-norm).
      expectClose(st.expAvg as Float32Array, ref.m, 1e-5, `expAvg ${k}`);
      expectClose(st.expAvgSq as Float32Array, ref.v, 1e-5, `expAvgSq ${k}`);
      if (o.amsgrad) expectClose(st.maxExpAvgSq as Float32Array, ref.vmax, 1e-6, `maxExpAvgSq ${k}`);
      else expect(st.maxExpAvgSq).toBeUndefined();
    });
  });

  // (1 - beta) is formed in double and then rounded, as PyTorch's default path does: with beta2 = 0.999 the
  // second moment gets fround(1 - 0.999) * g^2, not (1 - fround(0.999)) * g^2 (1.3e-5 relative apart).
  test('after one step expAvgSq is fround(1 - beta2) * g^2, as in PyTorch', () => {
    const p = tensor([1], [1], { requiresGrad: true });
    const opt = new Adam([p]);
    p.grad = tensor([2], [1]);
    opt.step();
    expect((opt.stateDict().state[0].expAvgSq as Float32Array)[0]).toBe(Math.fround(Math.fround(1 - 0.999) * 4));
  });

  test('a large parameter (several parallel chunks) matches too', () => {
    const o = { ...ADAMW, lr: 0.05, weightDecay: 0.1, amsgrad: true };
    const r = rng(5);
    const n = 20000;
    const p = tensor(Float32Array.from({ length: n }, r), [n], { requiresGrad: true });
    const p0 = p.toFloat32Array();
    const grads = gradSequence(r, n, 3);
    const opt = new AdamW([p], o);
    for (const g of grads) {
      p.grad = tensor(g, [n]);
      opt.step();
    }
    expectClose(p.toFloat32Array(), referenceAdam(p0, grads, o, true).p, 1e-6, 'large param');
  });

  test('the check discriminates: coupled and decoupled weight decay, amsgrad on and off differ well beyond the tolerance', () => {
    const r = rng(9);
    const p0 = Float32Array.from({ length: 6 }, r);
    const grads = gradSequence(r, 6, 6);
    const o = { ...ADAM, lr: 0.05, weightDecay: 0.5, betas: [0.8, 0.9] as [number, number] };
    expect(relError(referenceAdam(p0, grads, o, false).p, referenceAdam(p0, grads, o, true).p)).toBeGreaterThan(1e-4);
    expect(relError(referenceAdam(p0, grads, { ...o, amsgrad: true }, false).p, referenceAdam(p0, grads, o, false).p)).toBeGreaterThan(1e-4);
  });

  test('defaults: Adam lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0; AdamW weightDecay 1e-2', () => {
    const p = tensor([1], [1], { requiresGrad: true });
    const { params: _a, ...adam } = new Adam([p]).paramGroups[0];
    expect(adam).toEqual(ADAM);
    const { params: _b, ...adamw } = new AdamW([p]).paramGroups[0];
    expect(adamw).toEqual(ADAMW);
  });

  test('turning amsgrad on later starts its running maximum from zeros', () => {
    const p = tensor([1, -1], [2], { requiresGrad: true });
    const opt = new Adam([p], { lr: 0.1 });
    p.grad = tensor([0.5, 0.5], [2]);
    opt.step();
    opt.paramGroups[0].amsgrad = true;
    opt.step();
    const st = opt.stateDict().state[0];
    expect(Array.from(st.maxExpAvgSq as Float32Array)).toEqual(Array.from(st.expAvgSq as Float32Array));
  });

  test('PyTorch option checks, with the fix in the message', () => {
    const p = () => [tensor([1], [1], { requiresGrad: true })] as Tensor[];
    expect(() => new Adam(p(), { lr: -1e-3 })).toThrow(/Adam.*invalid learning rate -0.001/);
    expect(() => new Adam(p(), { eps: -1 })).toThrow(/invalid epsilon value -1/);
    expect(() => new Adam(p(), { betas: [1, 0.999] })).toThrow(/invalid beta parameter at index 0: 1; betas must be in \[0, 1\)/);
    expect(() => new Adam(p(), { betas: [0.9, -0.1] })).toThrow(/invalid beta parameter at index 1: -0.1/);
    expect(() => new Adam(p(), { betas: [0.9] as unknown as [number, number] })).toThrow(/betas must be a pair/);
    expect(() => new AdamW(p(), { weightDecay: -0.01 })).toThrow(/AdamW.*invalid weightDecay value -0.01/);
    expect(() => new Adam(p(), { amsgrad: 1 as unknown as boolean })).toThrow(/amsgrad must be true or false/);
    expect(() => new AdamW(p(), { weight_decay: 0 } as unknown as AdamOptions)).toThrow(/AdamW: unknown option 'weight_decay'; options are camelCase: use 'weightDecay'/);
  });

  test('a gradient of the wrong shape is refused before any update', () => {
    const p = tensor([1, 2, 3], [3], { requiresGrad: true });
    const opt = new Adam([p]);
    p.grad = tensor([1, 2], [2]);
    expect(() => opt.step()).toThrow(/Adam.step: the gradient \[2\] on (?:cpu|cuda) of parameter 0 in group 0 does not match the parameter \[3\] on (?:cpu|cuda)/);
    expect(Array.from(p.toFloat32Array())).toEqual([1, 2, 3]);
  });
});
