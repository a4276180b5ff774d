// SGD against a float64 reference of PyTorch's algorithm (torch.optim.SGD, single-tensor path).
import { tensor } from '../../lib/creation';
import { Tensor } from '../../lib/tensor';
import { SGD, SGDOptions } from '../../lib/optim';
import { rng, expectClose } from '../helpers/numeric';

/** PyTorch's SGD step by step in float64: returns the parameters and the momentum buffer after all steps. */
function referenceSGD(p0: Float32Array, grads: Float32Array[], o: SGDOptions): { p: number[]; buf: number[] | null } {
  const p = Array.from(p0);
  let buf: number[] | null = null;
  grads.forEach((grad, t) => {
    for (let i = 0; i < p.length; i++) {
      let g = o.maximize ? -grad[i] : grad[i];
      if (o.weightDecay !== 0) g = g + o.weightDecay * p[i];
      if (o.momentum !== 0) {
        if (!buf) buf = new Array(p.length).fill(0);
        buf[i] = t === 0 ? g : o.momentum * buf[i] + (1 - o.dampening) * g;
        g = o.nesterov ? g + o.momentum * buf[i] : buf[i];
      }
      p[i] = p[i] - o.lr * g;
    }
  });
  return { p, buf };
}

const DEFAULTS: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

const CASES: [string, Partial<SGDOptions>][] = [
  ['plain', { lr: 0.1 }],
  ['maximize', { lr: 0.1, maximize: true }],
  ['weight decay, no momentum', { lr: 0.1, weightDecay: 0.3 }],
  ['momentum', { lr: 0.1, momentum: 0.9 }],
  ['momentum + dampening', { lr: 0.1, momentum: 0.8, dampening: 0.5 }],
  ['nesterov', { lr: 0.05, momentum: 0.9, nesterov: true }],
  ['momentum + weight decay', { lr: 0.1, momentum: 0.7, weightDecay: 0.2 }],
  ['nesterov + weight decay + maximize', { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1, maximize: true }],
  ['dampening + weight decay + maximize', { lr: 0.1, momentum: 0.5, dampening: 0.3, weightDecay: 0.4, maximize: true }],
];

describe('SGD matches PyTorch (float64 reference)', () => {
  const shapes = [[7], [2, 3], []];
  const steps = 6;

  test.each(CASES)('%s', (_name, opts) => {
    const o = { ...DEFAULTS, ...opts };
    const r = rng(42);
    const params = shapes.map((s) => {
      const n = s.reduce((a, b) => a * b, 1);
      return tensor(Float32Array.from({ length: n }, () => 1.5 * r()), s, { requiresGrad: true });
    });
    const p0 = params.map((p) => p.toFloat32Array());
    const grads = params.map((p) => Array.from({ length: steps }, () => Float32Array.from({ length: p.numel }, r)));
    const opt = new SGD(params, opts);
    for (let t = 0; t < steps; t++) {
      params.forEach((p, k) => (p.grad = tensor(grads[k][t], p.shape.slice())));
      opt.step();
    }
    const sd = opt.stateDict();
    params.forEach((p, k) => {
      const ref = referenceSGD(p0[k], grads[k], o);
      expectClose(p.toFloat32Array(), ref.p, 1e-6, `param ${k}`);
      if (o.momentum !== 0) expectClose(sd.state[k].momentumBuffer as Float32Array, ref.buf!, 1e-6, `momentum buffer ${k}`);
      else expect(sd.state[k]).toBeUndefined();  // as PyTorch: no state without momentum
    });
  });

  test('a large parameter (several parallel chunks) matches too', () => {
    const o = { ...DEFAULTS, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 };
    const r = rng(7);
    const n = 20000;
    const p = tensor(Float32Array.from({ length: n }, r), [100, 200], { requiresGrad: true });
    const p0 = p.toFloat32Array();
    const grads = Array.from({ length: 3 }, () => Float32Array.from({ length: n }, r));
    const opt = new SGD([p], o);
    for (const g of grads) {
      p.grad = tensor(g, [100, 200]);
      opt.step();
    }
    expectClose(p.toFloat32Array(), referenceSGD(p0, grads, o).p, 1e-6, 'large param');
  });

  test('the reference check is sensitive: nesterov and plain momentum give different results', () => {
    const r = rng(3);
    const p0 = Float32Array.from({ length: 5 }, r);
    const grads = Array.from({ length: 4 }, () => Float32Array.from({ length: 5 }, r));
    const a = referenceSGD(p0, grads, { ...DEFAULTS, lr: 0.1, momentum: 0.9 }).p;
    const b = referenceSGD(p0, grads, { ...DEFAULTS, lr: 0.1, momentum: 0.9, nesterov: true }).p;
    expect(() => expectClose(Float32Array.from(a), b, 1e-6, 'x')).toThrow(/relative error/);
  });

  test('the lr of a group may change between steps (it is read at each step)', () => {
    const p = tensor([1, 2], [2], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.5 });
    p.grad = tensor([1, 1], [2]);
    opt.step();
    opt.paramGroups[0].lr = 0.25;
    opt.step();
    expect(Array.from(p.toFloat32Array())).toEqual([0.25, 1.25]);
  });

  test('defaults: lr 1e-3, momentum 0, dampening 0, weightDecay 0, nesterov false, maximize false', () => {
    const p = tensor([1], [1], { requiresGrad: true });
    const { params, ...rest } = new SGD([p]).paramGroups[0];
    expect(params).toEqual([p]);
    expect(rest).toEqual(DEFAULTS);
  });

  test('PyTorch option checks, with the fix in the message', () => {
    const p = () => [tensor([1], [1], { requiresGrad: true })] as Tensor[];
    expect(() => new SGD(p(), { lr: -0.1 })).toThrow(/invalid learning rate -0.1; lr must be a finite number >= 0/);
    expect(() => new SGD(p(), { lr: NaN })).toThrow(/invalid learning rate/);
    expect(() => new SGD(p(), { momentum: -0.5 })).toThrow(/invalid momentum value -0.5/);
    expect(() => new SGD(p(), { weightDecay: -1 })).toThrow(/invalid weightDecay value -1/);
    expect(() => new SGD(p(), { nesterov: true })).toThrow(/Nesterov momentum requires a momentum and zero dampening/);
    expect(() => new SGD(p(), { nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/Nesterov momentum requires a momentum and zero dampening/);
    expect(() => new SGD(p(), { weight_decay: 0.1 } as unknown as SGDOptions)).toThrow(/unknown option 'weight_decay'; options are camelCase: use 'weightDecay'/);
    expect(() => new SGD(p(), { learningRate: 0.1 } as unknown as SGDOptions)).toThrow(/unknown option 'learningRate'; the options are lr, momentum/);
    expect(() => new SGD([{ params: p(), nesterov: true, momentum: 0.9, dampening: 0.5 }])).toThrow(/group 0.*Nesterov/);
    expect(() => new SGD([{ params: p(), weight_decay: 0.5 }])).toThrow(/use 'weightDecay'/);
  });
});
