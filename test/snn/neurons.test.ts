// LIFNeuron / IFNeuron: options and defaults; a neuron with its own alpha (standalone: equal bit for bit to
// the wrapped one, multi-term, learned, projected) and one without; and the dynamics each neuron hands the
// fractional op (kind, tau, threshold, h, memory) checked against a float64 host loop.
import { nn, tensor, LIFNeuron, IFNeuron, SNNWrapper, Tensor, withNeuronContext, currentNeuronContext } from '../../lib';
import type { NeuronOptions } from '../../lib';
import { Adam } from '../../lib/optim';
import { buildKernel, FractionalMethod } from '../../lib/fractional/kernel';
import { randomData } from '../helpers/gradcheck';

const values = (t: Tensor) => Array.from(t.toFloat32Array());

/** The scheme of native/fractional_op.h in float64: returns spikes s_0..s_{T-1} and v_1..v_T per neuron. */
function hostNeuron(I: number[], T: number, N: number, o: { kind: 'lif' | 'if'; tau: number; thr: number; K: Float64Array; memory?: number }) {
  const M = o.memory ?? T + 1;
  const spikes = new Array(T * N).fill(0), trace = new Array(T * N).fill(0);
  for (let n = 0; n < N; n++) {
    const v = new Float64Array(T + 1);
    for (let k = 0; k < T; k++) {
      const Ik = I[k * N + n];
      const dv = o.kind === 'lif' ? (-v[k] + Ik) / o.tau : Ik / o.tau;
      const s = v[k] + dv - o.thr >= 0 ? 1 : 0;
      let f = dv - (s * o.thr) / o.tau;
      for (let L = 1; L <= Math.min(k, M - 1); L++) f -= o.K[L] * v[k + 1 - L];
      v[k + 1] = f / o.K[0];
      spikes[k * N + n] = s;
      trace[k * N + n] = v[k + 1];
    }
  }
  return { spikes, trace };
}

describe('options', () => {
  test("defaults: tau 0.5, threshold 1.0, surrogate 'arctan', scale 5.0, tau fixed", () => {
    for (const n of [new LIFNeuron(), new IFNeuron()]) {
      expect(n.tau).toBe(0.5);
      expect(n.threshold).toBe(1.0);
      expect(n.surrogate).toBe('arctan');
      expect(n.surrogateScale).toBe(5.0);
      expect(n.tauTheta).toBeNull();
      expect(n.parameters()).toHaveLength(0);
      expect(n.effectiveTau()).toBe(0.5);
    }
    expect(new LIFNeuron().kind).toBe('lif');
    expect(new IFNeuron().kind).toBe('if');
  });

  test('options are kept; spikeDE surrogate names are accepted', () => {
    const n = new LIFNeuron({ tau: 2, threshold: 0.3, surrogate: 'sigmoid_surrogate', surrogateScale: 4 });
    expect([n.tau, n.threshold, n.surrogate, n.surrogateScale]).toEqual([2, 0.3, 'sigmoid', 4]);
    for (const s of ['arctan', 'sigmoid', 'piecewise_linear', 'gaussian'] as const) expect(new IFNeuron({ surrogate: s }).surrogate).toBe(s);
  });

  test('tauLearnable: a parameter theta = 0 with tau = tau0 (1 + e^theta)', () => {
    const n = new LIFNeuron({ tau: 0.25, tauLearnable: true });
    expect(n.namedParameters().map(([k]) => k)).toEqual(['tauTheta']);
    expect(n.tauTheta!.requiresGrad).toBe(true);
    expect(values(n.tauTheta!)).toEqual([0]);
    expect(n.effectiveTau()).toBe(0.5);
    n.tauTheta!.assign(new Float32Array([Math.log(3)]));
    expect(n.effectiveTau()).toBeCloseTo(0.25 * 4, 6);
  });

  test('bad options are errors', () => {
    expect(() => new LIFNeuron({ surrogate: 'relu' as 'arctan' })).toThrow(/surrogate 'relu' is unknown; use 'arctan', 'sigmoid', 'piecewise_linear', 'gaussian'/);
    expect(() => new LIFNeuron({ tau: 0 })).toThrow(/LIFNeuron: tau = 0 must be positive/);
    expect(() => new IFNeuron({ tau: -1 })).toThrow(/IFNeuron: tau = -1 must be positive/);
    expect(() => new LIFNeuron({ surrogateScale: 0 })).toThrow(/surrogateScale = 0 must be positive/);
    expect(() => new LIFNeuron({ threshold: Infinity })).toThrow(/threshold must be a finite number/);
  });
});

describe('without a wrapper', () => {
  test('a neuron without any alpha says how to give it one', () => {
    const x = tensor([1, 2], [2, 1]);
    expect(() => new LIFNeuron().forward(x)).toThrow(/LIFNeuron has no fractional order.*new LIFNeuron\(\{ alpha: 0\.5 \}\).*new SNNWrapper\(model/s);
    expect(() => new IFNeuron().forward(x)).toThrow(/IFNeuron has no fractional order/);
  });

  test('a neuron bound by a wrapper runs on its own, with its layer\'s orders and the default settings', () => {
    const lif = new LIFNeuron({ threshold: 0.8 });
    const net = new SNNWrapper(new nn.Sequential(new LIFNeuron(), lif), { alpha: [0.3, 0.7], alphaMode: 'per_layer' });
    expect(lif.alpha).toBe(net.getPerLayerAlpha()[1]);
    expect(lif.coefficient).toBe(net.getPerLayerCoefficient()[1]);
    const x = tensor(randomData(8 * 3, 4, 0, 2), [8, 3]);
    const alone = values(lif.forward(x));
    const again = new LIFNeuron({ alpha: 0.7, threshold: 0.8 });
    expect(alone).toEqual(values(again.forward(x)));
    expect(alone).not.toEqual(values(new LIFNeuron({ alpha: 0.3, threshold: 0.8 }).forward(x)));  // the bound order is used
  });

  test('a failing model forward leaves no settings behind', () => {
    const lif = new LIFNeuron();
    const net = new SNNWrapper(new nn.Sequential(new nn.Linear(3, 2), lif), { alpha: 0.5 });
    expect(() => net.forward(tensor([1, 2], [2, 1]), undefined, { method: 'gl', memory: 2, recordTraces: true })).toThrow(/features/);
    expect(currentNeuronContext()).toBeNull();
    lif.forward(tensor([1, 2], [2, 1]));
    expect(lif.lastTrace).toBeNull();  // recordTrace did not leak out of the failed call
  });

  test('no per-call state lives on a neuron: there is no _context property', () => {
    const wrapped = new LIFNeuron(), own = new IFNeuron({ alpha: 0.4 });
    const net = new SNNWrapper(new nn.Sequential(wrapped), { alpha: 0.5 });
    for (const n of [wrapped, own, new LIFNeuron()]) expect('_context' in n).toBe(false);
    net.forward(tensor([1, 2], [2, 1]));
    own.forward(tensor([1, 2], [2, 1]));
    for (const n of [wrapped, own]) expect('_context' in n).toBe(false);
  });
});

describe('a neuron with its own alpha', () => {
  const T = 12, B = 2, F = 3;
  const I = randomData(T * B * F, 22, -0.5, 3).map(Math.fround);

  type Case = { name: string; make: (o: NeuronOptions) => LIFNeuron | IFNeuron; alpha: number | number[]; coefficient?: number[];
    method: FractionalMethod; h: number; memory?: number; tauLearnable?: boolean; learn?: boolean };
  const cases: Case[] = [
    { name: 'LIF, alpha 0.6, l1, h 1', make: (o) => new LIFNeuron(o), alpha: 0.6, method: 'l1', h: 1 },
    { name: 'IF, alpha 0.8, gl, h 0.5, memory 4', make: (o) => new IFNeuron({ ...o, tau: 2, threshold: 0.7 }), alpha: 0.8, method: 'gl', h: 0.5, memory: 4 },
    { name: 'LIF, two terms, learnable orders, weights and tau', make: (o) => new LIFNeuron({ ...o, tau: 0.4 }), alpha: [0.3, 0.8], coefficient: [1, 0.5],
      method: 'l1', h: 1, tauLearnable: true, learn: true },
  ];

  for (const c of cases) {
    test(`equals the wrapped neuron bit for bit: ${c.name} (spikes, trace, gradients)`, () => {
      const learn = { learnAlpha: !!c.learn, learnCoefficient: !!c.learn };
      const inWrapper = c.make({ tauLearnable: c.tauLearnable });
      const net = new SNNWrapper(new nn.Sequential(inWrapper), { alpha: c.alpha, multiCoefficient: c.coefficient, alphaMode: 'multiterm', ...learn });
      const alone = c.make({ alpha: c.alpha, coefficient: c.coefficient, tauLearnable: c.tauLearnable, ...learn });
      const xw = tensor(I, [T, B, F], { requiresGrad: true }), xa = tensor(I, [T, B, F], { requiresGrad: true });
      const xTime = Array.from({ length: T }, (_, k) => 3 + k * c.h);
      const outW = net.forward(xw, xTime, { method: c.method, memory: c.memory, recordTraces: true });
      const outA = withNeuronContext({ method: c.method, h: c.h, memory: c.memory, recordTrace: true }, () => alone.forward(xa));
      expect(values(outA)).toEqual(values(outW));
      expect(values(outA).some((v) => v === 1) && values(outA).some((v) => v === 0)).toBe(true);
      expect(values(alone.lastTrace!)).toEqual(values(inWrapper.lastTrace!));
      outW.sum().backward();
      outA.sum().backward();
      expect(values(xa.grad!)).toEqual(values(xw.grad!));
      if (c.learn) {
        expect(values(alone.alpha!.grad!)).toEqual(values(net.getPerLayerAlpha()[0].grad!));
        expect(values(alone.coefficient!.grad!)).toEqual(values(net.getPerLayerCoefficient()[0].grad!));
        expect(values(alone.tauTheta!.grad!)).toEqual(values(inWrapper.tauTheta!.grad!));
        expect(values(alone.alpha!.grad!).some((g) => g !== 0)).toBe(true);
      }
    });
  }

  test('outside every scope: method l1, h 1, the full history, no trace (as a wrapper forward without options)', () => {
    const net = new SNNWrapper(new nn.Sequential(new LIFNeuron()), { alpha: 0.45 });
    const alone = new LIFNeuron({ alpha: 0.45 });
    const x = tensor(I, [T, B, F]);
    expect(values(alone.forward(x))).toEqual(values(net.forward(x)));
    expect(alone.lastTrace).toBeNull();
  });

  test('multi-term: spikes and trace against the float64 host loop', () => {
    const alone = new LIFNeuron({ alpha: [0.3, 0.9], coefficient: [0.4, 1.2], tau: 1.5 });
    const out = withNeuronContext({ memory: 5, recordTrace: true }, () => alone.forward(tensor(I, [T, B, F])));
    const { K } = buildKernel('l1', [0.3, 0.9].map(Math.fround), [0.4, 1.2].map(Math.fround), 1, T);
    const ref = hostNeuron(I, T, B * F, { kind: 'lif', tau: 1.5, thr: 1, K, memory: 5 });
    expect(values(out)).toEqual(ref.spikes);
    const trace = values(alone.lastTrace!);
    for (let i = 0; i < trace.length; i++) expect(Math.abs(trace[i] - ref.trace[i])).toBeLessThan(1e-4 * (1 + Math.abs(ref.trace[i])));
    // a single-term neuron of either order differs: both terms are used
    for (const a of [0.3, 0.9]) expect(values(new LIFNeuron({ alpha: a, tau: 1.5 }).forward(tensor(I, [T, B, F])))).not.toEqual(ref.spikes);
  });

  test('registration: frozen values are buffers, learned ones Parameters (alpha, coefficient), in the state dict', () => {
    const frozen = new LIFNeuron({ alpha: [0.3, 0.8], coefficient: [1, 0.5] });
    expect(frozen.parameters()).toHaveLength(0);
    expect(Object.keys(frozen.stateDict())).toEqual(['alpha', 'coefficient']);
    expect(values(frozen.alpha!)).toEqual([0.3, 0.8].map(Math.fround));
    expect(values(frozen.coefficient!)).toEqual([1, 0.5]);
    const learned = new LIFNeuron({ alpha: 0.5, learnAlpha: true, tauLearnable: true });
    expect(learned.namedParameters().map(([k]) => k)).toEqual(['tauTheta', 'alpha']);
    expect(learned.alpha).toBeInstanceOf(nn.Parameter);
    expect(values(learned.coefficient!)).toEqual([1]);
    const model = new nn.Sequential(new nn.Linear(3, 3), new LIFNeuron({ alpha: 0.5, learnCoefficient: true }));
    expect(model.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias', '1.coefficient']);
    expect(Object.keys(model.stateDict())).toEqual(['0.weight', '0.bias', '1.coefficient', '1.alpha']);
  });

  test('learned values are projected before every forward, as in the wrapper ([alphaMin, 1], weights >= 0, NaN to the lower bound)', () => {
    const n = new LIFNeuron({ alpha: [0.5, 0.6], coefficient: [1, 1], learnAlpha: true, learnCoefficient: true, alphaMin: 0.2 });
    const a = n.alpha as nn.Parameter, c = n.coefficient as nn.Parameter;
    a.assign(new Float32Array([1.7, NaN]));
    c.assign(new Float32Array([-2, 0.5]));
    n.forward(tensor(I, [T, B, F]));
    expect(n.alpha).toBe(a);
    expect(values(a)).toEqual([1, Math.fround(0.2)]);
    expect(values(c)).toEqual([0, 0.5]);
    c.assign(new Float32Array([0, -1]));
    expect(() => n.forward(tensor(I, [T, B, F]))).toThrow(/LIFNeuron has no positive coefficient \(0,0\)/);
  });

  test('a learned alpha trains: an optimizer step moves it', () => {
    const n = new LIFNeuron({ alpha: 0.5, learnAlpha: true, threshold: 0.5 });
    const opt = new Adam(n.parameters(), { lr: 0.05 });
    n.forward(tensor(I, [T, B, F])).sum().backward();
    opt.step();
    expect(values(n.alpha!)[0]).not.toBe(0.5);
  });

  test('option errors name the option and the fix', () => {
    expect(() => new LIFNeuron({ alpha: 0 })).toThrow(/LIFNeuron: alpha\s+= 0 is outside \(0, 1\]/);
    expect(() => new IFNeuron({ alpha: [0.5, 1.5] })).toThrow(/IFNeuron: alpha \[1\] = 1\.5 is outside \(0, 1\]/);
    expect(() => new LIFNeuron({ alpha: [] })).toThrow(/LIFNeuron: alpha is an empty list/);
    expect(() => new LIFNeuron({ alpha: [0.3, 0.8], coefficient: [1] })).toThrow(/2 order\(s\) but 1 coefficient\(s\); give one coefficient per order/);
    expect(() => new LIFNeuron({ alpha: 0.5, coefficient: NaN })).toThrow(/coefficient\[0\] = NaN must be a finite number/);
    expect(() => new LIFNeuron({ alpha: [0.3, 0.8], coefficient: [0, -1] })).toThrow(/LIFNeuron has no positive coefficient/);
    expect(() => new LIFNeuron({ alpha: 0.5, alphaMin: 0 })).toThrow(/alphaMin = 0 must lie in \(0, 1\]/);
    expect(() => new LIFNeuron({ alpha: 0.5, learnAlpha: 'yes' as unknown as boolean })).toThrow(/learnAlpha must be true or false/);
    expect(() => new LIFNeuron({ learnAlpha: true })).toThrow(/LIFNeuron: 'learnAlpha' needs the neuron's own alpha.*set 'learnAlpha' on the wrapper/);
    expect(() => new IFNeuron({ coefficient: [1, 2] })).toThrow(/'coefficient' needs the neuron's own alpha.*set 'multiCoefficient' on the wrapper/);
  });

  test('wrapping a neuron that has its own alpha is an error naming its path', () => {
    const model = new nn.Sequential(new nn.Linear(3, 3), new LIFNeuron(), new nn.Linear(3, 3), new IFNeuron({ alpha: 0.4 }));
    expect(() => new SNNWrapper(model, { alpha: 0.5 })).toThrow(/the IFNeuron at '3' has its own alpha.*drop the neuron's alpha/s);
  });

  test('a neuron belongs to one wrapper: a second wrapper over the same model is an error naming the path', () => {
    const model = new nn.Sequential(new nn.Linear(3, 3), new LIFNeuron());
    const first = new SNNWrapper(model, { alpha: 0.3 });
    expect(() => new SNNWrapper(model, { alpha: 0.7 })).toThrow(/the LIFNeuron at '1' already belongs to another SNNWrapper/);
    expect(values(first.neurons[0].alpha!)).toEqual([Math.fround(0.3)]);  // the first binding is untouched
    expect(() => first.neurons[0].bindAlpha(first.neurons[0].alphaBinding!)).toThrow(/already bound to an SNNWrapper/);
  });
});

describe('dynamics against a float64 host loop', () => {
  const T = 12, B = 2, F = 3, N = B * F;
  // random currents: some neurons spike, some do not; float32 and float64 agree on every decision here
  const I = randomData(T * N, 21, -0.5, 3).map(Math.fround);

  const cases: { name: string; make: () => LIFNeuron | IFNeuron; kind: 'lif' | 'if'; tau: number; thr: number; alpha: number[]; w: number[]; method: FractionalMethod; h: number; memory?: number }[] = [
    { name: 'LIF defaults, l1, alpha 0.5', make: () => new LIFNeuron(), kind: 'lif', tau: 0.5, thr: 1, alpha: [0.5], w: [1], method: 'l1', h: 1 },
    { name: 'IF tau 2, threshold 0.7, gl, alpha 0.8, h 0.5', make: () => new IFNeuron({ tau: 2, threshold: 0.7 }), kind: 'if', tau: 2, thr: 0.7, alpha: [0.8], w: [1], method: 'gl', h: 0.5 },
    { name: 'LIF tau 1.5, two terms, l1, memory 4', make: () => new LIFNeuron({ tau: 1.5 }), kind: 'lif', tau: 1.5, thr: 1, alpha: [0.3, 0.9], w: [0.4, 1.2], method: 'l1', h: 1, memory: 4 },
    { name: 'LIF tauLearnable (tau = 2 tau0 at theta = 0)', make: () => new LIFNeuron({ tau: 0.4, tauLearnable: true }), kind: 'lif', tau: 0.8, thr: 1, alpha: [0.6], w: [1], method: 'l1', h: 1 },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const neuron = c.make();
      const net = new SNNWrapper(new nn.Sequential(neuron), { alpha: c.alpha.length === 1 ? c.alpha[0] : c.alpha, multiCoefficient: c.w, alphaMode: 'multiterm' });
      const xTime = Array.from({ length: T }, (_, k) => 3 + k * c.h);
      const out = net.forward(tensor(I, [T, B, F]), xTime, { method: c.method, memory: c.memory, recordTraces: true });
      expect(out.shape).toEqual([T, B, F]);
      const { K } = buildKernel(c.method, c.alpha.map(Math.fround), c.w.map(Math.fround), c.h, T);
      const ref = hostNeuron(I, T, N, { kind: c.kind, tau: c.tau, thr: c.thr, K, memory: c.memory });
      expect(values(out)).toEqual(ref.spikes);
      expect(ref.spikes.some((s) => s === 1) && ref.spikes.some((s) => s === 0)).toBe(true);
      const trace = values(neuron.lastTrace!);
      expect(neuron.lastTrace!.shape).toEqual([T, B, F]);
      expect(net.traces()[0]).toBe(neuron.lastTrace);
      for (let i = 0; i < trace.length; i++) expect(Math.abs(trace[i] - ref.trace[i])).toBeLessThan(1e-4 * (1 + Math.abs(ref.trace[i])));
    });
  }

  test('the host loop catches a wrong kind, tau or threshold (the comparison can fail)', () => {
    const { K } = buildKernel('l1', [0.5], [1], 1, T);
    const base = hostNeuron(I, T, N, { kind: 'lif', tau: 0.5, thr: 1, K }).spikes;
    expect(hostNeuron(I, T, N, { kind: 'if', tau: 0.5, thr: 1, K }).spikes).not.toEqual(base);
    expect(hostNeuron(I, T, N, { kind: 'lif', tau: 0.6, thr: 1, K }).spikes).not.toEqual(base);
    expect(hostNeuron(I, T, N, { kind: 'lif', tau: 0.5, thr: 1.2, K }).spikes).not.toEqual(base);
  });

  test('without recordTraces no trace is kept', () => {
    const lif = new LIFNeuron();
    const net = new SNNWrapper(new nn.Sequential(lif), { alpha: 0.5 });
    net.forward(tensor(I, [T, B, F]));
    expect(lif.lastTrace).toBeNull();
    expect(net.traces()).toEqual([null]);
  });

  test('the surrogate and its scale shape the gradient, not the spikes', () => {
    const run = (opts: ConstructorParameters<typeof LIFNeuron>[0]) => {
      const net = new SNNWrapper(new nn.Sequential(new LIFNeuron(opts)), { alpha: 0.5 });
      const x = tensor(I, [T, B, F], { requiresGrad: true });
      const out = net.forward(x);
      out.sum().backward();
      return { spikes: values(out), grad: values(x.grad!) };
    };
    const a = run({});
    const s = run({ surrogate: 'sigmoid' });
    const k = run({ surrogateScale: 2 });
    expect(s.spikes).toEqual(a.spikes);
    expect(k.spikes).toEqual(a.spikes);
    expect(s.grad).not.toEqual(a.grad);
    expect(k.grad).not.toEqual(a.grad);
    expect(a.grad.some((g) => g !== 0)).toBe(true);
  });
});
