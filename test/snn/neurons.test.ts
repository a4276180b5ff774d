// LIFNeuron / IFNeuron: options and defaults, the error outside a wrapper, and the dynamics each
// neuron hands the fractional op (kind, tau, threshold, h, memory) checked against a float64 host loop.
import { nn, tensor, LIFNeuron, IFNeuron, SNNWrapper, Tensor } from '../../lib';
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

describe('outside a wrapper', () => {
  test('forward raises an error saying the neuron must be wrapped', () => {
    const x = tensor([1, 2], [2, 1]);
    expect(() => new LIFNeuron().forward(x)).toThrow(/LIFNeuron was called outside an SNNWrapper.*new SNNWrapper/s);
    expect(() => new IFNeuron().forward(x)).toThrow(/IFNeuron was called outside an SNNWrapper/);
  });

  test('a neuron used by a wrapper is still unusable on its own afterwards', () => {
    const lif = new LIFNeuron();
    const net = new SNNWrapper(new nn.Sequential(lif), { alpha: 0.5 });
    net.forward(tensor([1, 2], [2, 1]));
    expect(() => lif.forward(tensor([1, 2], [2, 1]))).toThrow(/outside an SNNWrapper/);
  });

  test('a failing model forward leaves no neuron wired to the wrapper', () => {
    const lif = new LIFNeuron();
    const net = new SNNWrapper(new nn.Sequential(new nn.Linear(3, 2), lif), { alpha: 0.5 });
    expect(() => net.forward(tensor([1, 2], [2, 1]))).toThrow(/features/);
    expect(() => lif.forward(tensor([1, 2], [2, 1]))).toThrow(/outside an SNNWrapper/);
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
