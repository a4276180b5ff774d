// The op with method 'pred' (spikeDE's fractional Adams-Bashforth predictor): its native forward against
// the float64 reference solver where no neuron spikes (then the LIF membrane solves
// D^alpha v = -v/tau + I/tau exactly as solveLinear's predictor does), with and without a memory
// window; and the bad inputs: multi-term orders, a window < 1, a coefficient <= 0, at the op and at the
// wrapper (construction and forward).
import { LIFNeuron, nn, noGrad, SNNWrapper, tensor } from '../../lib';
import { fractionalNeuron } from '../../lib/fractional/op';
import { solveLinear } from '../../lib/fractional/reference';
import { buildFromSpec, modelSpecOf } from '../../lib/snn/spec';

describe("method 'pred' through the op", () => {
  test.each([undefined, 1, 5])('no spikes: the float32 trace follows the float64 predictor (memory %p)', (memory) => {
    const T = 80, h = 0.05, tau = 0.7, alpha = 0.65, w = 1.2;
    const drives = [0.3, -0.8, 1.1];
    const I = new Float32Array(T * drives.length);
    for (let k = 0; k < T; k++) drives.forEach((d, n) => (I[k * drives.length + n] = d));
    const r = noGrad(() => fractionalNeuron(tensor(I, [T, 1, drives.length]), tensor([alpha]), tensor([w]),
      { method: 'pred', h, tau, threshold: 1e6, memory, returnTrace: true }));
    expect(Array.from(r.spikes.toFloat32Array()).every((s) => s === 0)).toBe(true);
    const v = r.v!.toFloat32Array();
    drives.forEach((d, n) => {
      // w D^alpha v = (-v + I)/tau  <=>  D^alpha v = -v/(w tau) + I/(w tau); the kernel carries the 1/w
      const y = solveLinear({ method: 'pred', alphas: [Math.fround(alpha)], weights: [Math.fround(w)], h, n: T, lambda: 1 / Math.fround(tau), c: Math.fround(d) / Math.fround(tau), memory });
      let worst = 0, scale = 0;
      for (let k = 0; k < T; k++) {
        worst = Math.max(worst, Math.abs(v[k * drives.length + n] - y[k + 1]));
        scale = Math.max(scale, Math.abs(y[k + 1]));
      }
      expect(scale).toBeGreaterThan(0.05);
      expect(worst / scale).toBeLessThan(2e-6);
    });
  });

  test('bad inputs: clear errors', () => {
    const I = tensor(new Float32Array(6), [3, 1, 2]);
    expect(() => fractionalNeuron(I, tensor([0.3, 0.7]), tensor([1, 1]), { method: 'pred' })).toThrow(/'pred'.*single-term only, got 2 orders/);
    expect(() => fractionalNeuron(I, tensor([0.5]), tensor([0]), { method: 'pred' })).toThrow(/weights\[0\] = 0 must be > 0/);
    expect(() => fractionalNeuron(I, tensor([0.5]), null, { method: 'pred', memory: 0 })).toThrow(/memory window 0/);
    expect(() => fractionalNeuron(I, tensor([0.5]), null, { method: 'pred', memory: 1.5 })).toThrow(/memory window 1.5/);
    expect(() => fractionalNeuron(I, tensor([1.2]), null, { method: 'pred' })).toThrow(/alphas\[0\] = 1.2.* outside \(0, 1\]/);
  });
});

describe("method 'pred' and 'trap' in SNNWrapper", () => {
  const model = () => new nn.Sequential(new nn.Linear(3, 4), new LIFNeuron(), new nn.Linear(4, 2), new LIFNeuron());

  test("multi-term orders with 'pred': an error at construction, and at forward", () => {
    expect(() => new SNNWrapper(model(), { alpha: [0.3, 0.6], alphaMode: 'multiterm', method: 'pred' }))
      .toThrow(/SNNWrapper: method 'pred' .* single-term only, but neuron layer 0 has 2 orders/);
    const net = new SNNWrapper(model(), { alpha: [0.3, 0.6], alphaMode: 'multiterm' });
    const x = tensor(new Float32Array(5 * 2 * 3).fill(0.5), [5, 2, 3]);
    expect(() => net.forward(x, undefined, { method: 'pred' })).toThrow(/SNNWrapper.forward: method 'pred' .* single-term only/);
    expect(() => new SNNWrapper(model(), { method: 'bogus' as never })).toThrow(/method 'bogus' is not a fractional method; use 'l1', 'gl', 'pred', 'trap'/);
    expect(() => new SNNWrapper(model(), { integrator: 'odeint', method: 'pred' })).toThrow(/integrator 'odeint' .* 'euler', not 'pred'/);
  });

  test("the wrapper's method is forward's default; 'trap' gives l1's spikes", () => {
    const x = tensor(Float32Array.from({ length: 12 * 2 * 3 }, (_, i) => 1.5 + Math.sin(i)), [12, 2, 3]);
    const state = model().stateDict();
    const run = (opts: object, fopts: object = {}) => {
      const m = model();
      m.loadStateDict(state);
      const net = new SNNWrapper(m, { alpha: [0.4, 0.7], alphaMode: 'per_layer', ...opts });
      return Array.from(noGrad(() => net.forward(x, undefined, fopts)).toFloat32Array());
    };
    const pred = run({ method: 'pred' });
    expect(pred).toEqual(run({}, { method: 'pred' }));
    expect(pred).not.toEqual(run({}));  // the predictor is another scheme
    expect(pred.some((s) => s === 1)).toBe(true);
    expect(run({ method: 'trap' })).toEqual(run({}));
    expect(new SNNWrapper(model(), { method: 'pred' }).method).toBe('pred');
  });

  test("the saved model spec keeps a method other than the default, and a model built from it uses it", () => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Linear(3, 4), new LIFNeuron()), { alpha: 0.6, method: 'pred' });
    const spec = modelSpecOf(net);
    expect(spec.wrapper.method).toBe('pred');
    expect(buildFromSpec(spec).method).toBe('pred');
    expect(modelSpecOf(new SNNWrapper(new nn.Sequential(new nn.Linear(3, 4), new LIFNeuron()))).wrapper.method).toBeUndefined();
  });
});
