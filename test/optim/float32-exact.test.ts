// The CPU optimizer kernels, bit for bit: a float32 model of each loop (every operation rounded with
// Math.fround, in the kernel's order: native/cpu/cpu_random_optim.cc) must give the same bits as the
// kernels, whose loops are vectorised. betas 5/8 and 13/16 make the bias corrections 1 - beta^t exact, so
// the host's pow cannot differ from Math.pow (and neither they nor 1 - beta are powers of two, whose
// products would be exact in any order). The size leaves a remainder after any vector width and
// spans several parallel chunks.
import { tensor } from '../../lib/creation';
import { Parameter } from '../../lib/nn/parameter';
import { Adam, AdamOptions, AdamW, SGD, SGDOptions } from '../../lib/optim';

const f = Math.fround;
const N = 70001, STEPS = 5;

function data(seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: N }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s >>> 8) / (1 << 24) - 0.5) * 4;
  });
}

/** The kernel's Adam / AdamW loop in float32. */
function adamModel(p0: Float32Array, grads: Float32Array[], o: AdamOptions, decoupled: boolean): Float32Array {
  const p = Float32Array.from(p0), m = new Float32Array(N), v = new Float32Array(N), vmax = new Float32Array(N);
  const lr = f(o.lr), b1 = f(o.betas[0]), b2 = f(o.betas[1]), omb1 = f(1 - o.betas[0]), omb2 = f(1 - o.betas[1]);
  const eps = f(o.eps), wd = f(o.weightDecay), shrink = f(1 - f(lr * wd));
  grads.forEach((g, k) => {
    const bc1 = 1 - Math.pow(o.betas[0], k + 1), bc2 = 1 - Math.pow(o.betas[1], k + 1);
    const step = f(lr / bc1), bc2s = f(Math.sqrt(bc2));
    for (let i = 0; i < N; i++) {
      let gi = o.maximize ? -g[i] : g[i];
      let pi = p[i];
      if (wd !== 0 && decoupled) pi = f(pi * shrink);
      if (wd !== 0 && !decoupled) gi = f(gi + f(wd * pi));
      m[i] = f(f(b1 * m[i]) + f(omb1 * gi));
      let vi = (v[i] = f(f(b2 * v[i]) + f(f(omb2 * gi) * gi)));
      if (o.amsgrad) vi = vmax[i] = vmax[i] > vi ? vmax[i] : vi;
      p[i] = f(pi - f(f(step * m[i]) / f(f(f(Math.sqrt(vi)) / bc2s) + eps)));
    }
  });
  return p;
}

/** The kernel's SGD loop in float32. */
function sgdModel(p0: Float32Array, grads: Float32Array[], o: SGDOptions): Float32Array {
  const p = Float32Array.from(p0), buf = new Float32Array(N);
  const lr = f(o.lr), wd = f(o.weightDecay), mom = f(o.momentum), keep = f(1 - f(o.dampening));
  grads.forEach((g, k) => {
    for (let i = 0; i < N; i++) {
      let gi = o.maximize ? -g[i] : g[i];
      const pi = p[i];
      if (wd !== 0) gi = f(gi + f(wd * pi));
      if (mom !== 0) {
        const b = (buf[i] = k === 0 ? gi : f(f(mom * buf[i]) + f(keep * gi)));
        gi = o.nesterov ? f(gi + f(mom * b)) : b;
      }
      p[i] = f(pi - f(lr * gi));
    }
  });
  return p;
}

function run(make: (params: Parameter[]) => { step(): void }, grads: Float32Array[]): Float32Array {
  const p = new Parameter(tensor(data(1), [N], { device: 'cpu' }));
  const opt = make([p]);
  for (const g of grads) {
    p.grad = tensor(g, [N], { device: 'cpu' });
    opt.step();
  }
  return p.toFloat32Array();
}

const grads = Array.from({ length: STEPS }, (_, k) => data(100 + k));
const ADAM: AdamOptions = { lr: 1e-2, betas: [0.625, 0.8125], eps: 1e-3, weightDecay: 0, amsgrad: false, maximize: false };
const SGD0: SGDOptions = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

describe('CPU optimizer kernels equal their float32 model bit for bit', () => {
  test.each<[string, Partial<AdamOptions>, boolean]>([
    ['Adam', {}, false],
    ['Adam, L2 weight decay', { weightDecay: 0.1 }, false],
    ['Adam, amsgrad, maximize', { amsgrad: true, maximize: true }, false],
    ['AdamW', { weightDecay: 0.05 }, true],
    ['AdamW, amsgrad', { weightDecay: 0.05, amsgrad: true }, true],
  ])('%s', (_, extra, decoupled) => {
    const o = { ...ADAM, ...extra };
    const got = run((ps) => (decoupled ? new AdamW(ps, o) : new Adam(ps, o)), grads);
    const want = adamModel(data(1), grads, o, decoupled);
    expect(Array.from(want).some((v, i) => v !== data(1)[i])).toBe(true);
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  });

  test.each<[string, Partial<SGDOptions>]>([
    ['SGD', {}],
    ['SGD, momentum, dampening, weight decay', { momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }],
    ['SGD, nesterov, maximize', { momentum: 0.9, nesterov: true, maximize: true }],
  ])('%s', (_, extra) => {
    const o = { ...SGD0, ...extra };
    const got = run((ps) => new SGD(ps, o), grads);
    expect(Buffer.from(got.buffer).equals(Buffer.from(sgdModel(data(1), grads, o).buffer))).toBe(true);
  });

  test('the comparison is sensitive: eps a few float32 ulps larger changes the bits', () => {
    const o = { ...ADAM, weightDecay: 0.1 };
    const want = adamModel(data(1), grads, o, false);
    const other = adamModel(data(1), grads, { ...o, eps: f(o.eps) * (1 + 2 ** -20) }, false);
    expect(Buffer.from(want.buffer).equals(Buffer.from(other.buffer))).toBe(false);
  });
});
