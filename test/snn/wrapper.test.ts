// SNNWrapper: neuron discovery and the declaration-order check, registration of the per-layer values,
// ranges and projection, methods and integrators, the memory window, xTime, describe(), train/eval, to().
import { nn, tensor, full, manualSeed, LIFNeuron, IFNeuron, SNNWrapper, Tensor, cuda } from '../../lib';
import { Adam } from '../../lib/optim';
import { randomData } from '../helpers/gradcheck';
import { testDevice } from '../helpers/device';

const values = (t: Tensor) => Array.from(t.toFloat32Array());
const T = 10, B = 2, IN = 3;
const input = () => tensor(randomData(T * B * IN, 31, 0, 2), [T, B, IN]);

function seqNet(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(IN, 5), new LIFNeuron(), new nn.Linear(5, 2), new IFNeuron({ threshold: 0.5 }));
}

/** Fields declared lif1, lif2; `order` says which forward() actually runs. */
class TwoLayer extends nn.Module {
  fc1 = new nn.Linear(IN, 4);
  lif1 = new LIFNeuron({ threshold: 0.3 });
  fc2 = new nn.Linear(4, 4);
  lif2 = new LIFNeuron({ threshold: 0.3 });
  constructor(public order: ('lif1' | 'lif2')[] = ['lif1', 'lif2']) {
    super();
  }
  forward(x: Tensor): Tensor {
    let h = this.fc1.forward(x);
    for (const n of this.order) h = this[n].forward(n === 'lif1' ? h : this.fc2.forward(h));
    return h;
  }
}

let emit: jest.SpyInstance;
beforeAll(() => manualSeed(3));
beforeEach(() => {
  emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
});
afterEach(() => emit.mockRestore());

describe('construction', () => {
  test('neuron layers are found at construction, in declaration order, with their names', () => {
    const net = new SNNWrapper(seqNet(), { alpha: 0.5 });
    expect(net.neuronNames).toEqual(['1', '3']);
    expect(net.neurons.map((n) => n.kind)).toEqual(['lif', 'if']);
    const custom = new SNNWrapper(new TwoLayer(), { alpha: 0.5 });
    expect(custom.neuronNames).toEqual(['lif1', 'lif2']);
    expect(custom.namedParameters().map(([k]) => k)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  });

  test('learnable alphas exist at once: an optimizer can be built before any forward', () => {
    const net = new SNNWrapper(seqNet(), { alpha: [0.4, 0.6], alphaMode: 'per_layer', learnAlpha: true });
    expect(net.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', 'perLayerAlpha.0', 'perLayerAlpha.1']);
    const opt = new Adam(net.parameters(), { lr: 0.05 });
    const before = net.getPerLayerAlpha().map(values);
    net.forward(input()).sum().backward();
    opt.step();
    const after = net.getPerLayerAlpha().map(values);
    expect(after[0]).not.toEqual(before[0]);
    expect(after[1]).not.toEqual(before[1]);
  });

  test('registration: perLayerAlpha.<i> / perLayerCoefficient.<i> always in stateDict; only learnable ones are parameters', () => {
    const net = new SNNWrapper(seqNet(), { alpha: [[0.3, 0.7], 0.5], multiCoefficient: [[1, 2], 1], learnAlpha: [false, true], learnCoefficient: [true, false] });
    const sd = net.stateDict();
    for (const k of ['perLayerAlpha.0', 'perLayerAlpha.1', 'perLayerCoefficient.0', 'perLayerCoefficient.1']) expect(sd[k]).toBeDefined();
    expect(sd['perLayerAlpha.0'].shape).toEqual([2]);
    expect(sd['perLayerAlpha.1'].shape).toEqual([1]);
    const named = Object.fromEntries(net.namedParameters());
    expect(Object.keys(named).filter((k) => k.startsWith('perLayer'))).toEqual(['perLayerAlpha.1', 'perLayerCoefficient.0']);
    expect(named['perLayerAlpha.1']).toBe(net.getPerLayerAlpha()[1]);
    expect(named['perLayerCoefficient.0']).toBe(net.getPerLayerCoefficient()[0]);
    expect(net.getPerLayerAlpha()[1].requiresGrad).toBe(true);
    expect(net.getPerLayerCoefficient()[0].requiresGrad).toBe(true);
    expect(net.getPerLayerAlpha()[0].requiresGrad).toBe(false);
    expect(net.getPerLayerCoefficient()[1].requiresGrad).toBe(false);
    const params = net.parameters();
    expect(params).not.toContain(net.getPerLayerAlpha()[0]);
    expect(params).not.toContain(net.getPerLayerCoefficient()[1]);
  });

  test('a learnable tau appears under the neuron name', () => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Linear(IN, 2), new LIFNeuron({ tauLearnable: true })), { alpha: 0.5 });
    expect(net.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias', '1.tauTheta']);
  });

  test('option errors', () => {
    expect(() => new SNNWrapper({} as nn.Module)).toThrow(/the model must be an nn.Module/);
    expect(() => new SNNWrapper(seqNet(), { integrator: 'rk4' as 'fdeint' })).toThrow(/integrator 'rk4' is unknown/);
    expect(() => new SNNWrapper(seqNet(), { alphaMin: 0 })).toThrow(/alphaMin = 0 must lie in \(0, 1\]/);
    expect(() => new SNNWrapper(seqNet(), { alphaMin: 1.5 })).toThrow(/alphaMin = 1.5/);
    expect(() => new SNNWrapper(seqNet(), { integrator: 'odeint', learnAlpha: true })).toThrow(/'odeint' is integer order.*learnAlpha needs integrator 'fdeint'/);
    expect(() => new SNNWrapper(seqNet(), { alpha: 0.5, multiCoefficient: 0 })).toThrow(/neuron layer 0 \(1\) has no positive coefficient/);
  });
});

describe('declaration order, checked on the first forward', () => {
  test('the right order runs', () => {
    const net = new SNNWrapper(new TwoLayer(), { alpha: 0.5 });
    expect(net.forward(input()).shape).toEqual([T, B, 4]);
  });

  test.each([
    [['lif2', 'lif1'], 'lif2, lif1'],
    [['lif1', 'lif1', 'lif2'], 'lif1, lif1, lif2'],
    [['lif1'], 'lif1'],
    [[], '(none)'],
  ] as const)('forward calling %j is an error listing both orders', (order, called) => {
    const net = new SNNWrapper(new TwoLayer([...order]), { alpha: 0.5 });
    let msg = '';
    try {
      net.forward(input());
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/must call each neuron layer once, in declaration order/);
    expect(msg).toContain('declared: lif1, lif2');
    expect(msg).toContain(`called:   ${called}`);
  });
});

describe('ranges and projection', () => {
  test('a learnable alpha is projected into [alphaMin, 1] before every forward, in place', () => {
    const net = new SNNWrapper(seqNet(), { alpha: [0.4, 0.6], alphaMode: 'per_layer', learnAlpha: true, alphaMin: 0.2 });
    const [a0, a1] = net.getPerLayerAlpha() as nn.Parameter[];
    a0.assign(new Float32Array([1.7]));
    a1.assign(new Float32Array([-0.3]));
    net.forward(input());
    expect(net.getPerLayerAlpha()[0]).toBe(a0);
    expect(values(a0)).toEqual([1]);
    expect(values(a1)).toEqual([Math.fround(0.2)]);
    a0.assign(new Float32Array([NaN]));
    a1.assign(new Float32Array([0.5]));
    net.forward(input());
    expect(values(a0)).toEqual([Math.fround(0.2)]);
    expect(values(a1)).toEqual([0.5]); // in range: untouched
  });

  test('the default alphaMin is 0.01', () => {
    const net = new SNNWrapper(seqNet(), { alpha: 0.5, learnAlpha: true });
    (net.getPerLayerAlpha()[1] as nn.Parameter).assign(new Float32Array([0.001]));
    net.forward(input());
    expect(values(net.getPerLayerAlpha()[1])).toEqual([Math.fround(0.01)]);
  });

  test('learnable coefficients are projected into [0, inf)', () => {
    const net = new SNNWrapper(seqNet(), { alpha: [0.3, 0.8], alphaMode: 'multiterm', multiCoefficient: [1, 1], learnCoefficient: true });
    const c = net.getPerLayerCoefficient()[0] as nn.Parameter;
    c.assign(new Float32Array([-0.5, 2]));
    net.forward(input());
    expect(values(c)).toEqual([0, 2]);
    expect(net.getPerLayerCoefficient()[0]).toBe(c);
  });

  test('projection leaving a layer with all coefficients zero is an error naming the layer', () => {
    const net = new SNNWrapper(seqNet(), { alpha: [0.3, 0.8], alphaMode: 'multiterm', learnCoefficient: [false, true] });
    (net.getPerLayerCoefficient()[1] as nn.Parameter).assign(new Float32Array([-1, -0.1]));
    expect(() => net.forward(input())).toThrow(/neuron layer 1 \(3\) has no positive coefficient \(0,0\)/);
  });
});

describe('methods and integrators', () => {
  function run(opts: ConstructorParameters<typeof SNNWrapper>[1], fopts: Parameters<SNNWrapper['forward']>[2] = {}, x = input(), xTime?: number[]): number[] {
    manualSeed(99);
    const net = new SNNWrapper(seqNet(), opts);
    return values(net.forward(x, xTime, fopts));
  }

  test("'l1' is the default; 'gl' gives a different result", () => {
    const l1 = run({ alpha: 0.4 });
    expect(run({ alpha: 0.4 }, { method: 'l1' })).toEqual(l1);
    expect(run({ alpha: 0.4 }, { method: 'gl' })).not.toEqual(l1);
    expect(l1.some((v) => v === 1)).toBe(true);
  });

  test("odeint integrates with 'euler' and equals fdeint at alpha = 1 (bitwise)", () => {
    const x = input();
    const ode = run({ integrator: 'odeint' }, {}, x);
    expect(run({ integrator: 'odeint' }, { method: 'euler' }, x)).toEqual(ode);
    expect(run({ alpha: 1 }, { method: 'l1' }, x)).toEqual(ode);
    expect(run({ alpha: 1 }, { method: 'gl' }, x)).toEqual(ode);
    expect(run({ alpha: 0.7 }, {}, x)).not.toEqual(ode);
    const net = new SNNWrapper(seqNet(), { integrator: 'odeint' });
    expect(net.describe()).toContain('integer order');
  });

  test('method errors', () => {
    const fr = new SNNWrapper(seqNet(), { alpha: 0.5 });
    const ode = new SNNWrapper(seqNet(), { integrator: 'odeint' });
    expect(() => fr.forward(input(), undefined, { method: 'euler' })).toThrow(/method 'euler' is not a fractional method; use 'l1', 'gl', 'pred', 'trap' \(or integrator 'odeint' for 'euler'\)/);
    expect(() => fr.forward(input(), undefined, { method: 'rk4' as 'l1' })).toThrow(/method 'rk4' is not a fractional method/);
    expect(() => ode.forward(input(), undefined, { method: 'gl' })).toThrow(/integrator 'odeint' integrates integer order with method 'euler', not 'gl'/);
  });

  test('memory window: a short window changes the result, one covering T does not', () => {
    const x = input();
    const full1 = run({ alpha: 0.3 }, {}, x);
    expect(run({ alpha: 0.3 }, { memory: T + 1 }, x)).toEqual(full1);
    expect(run({ alpha: 0.3 }, { memory: 100 }, x)).toEqual(full1);
    const m2 = run({ alpha: 0.3 }, { memory: 2 }, x);
    expect(m2).not.toEqual(full1);
    expect(run({ alpha: 0.3 }, { memory: 1 }, x)).not.toEqual(m2);
    const net = new SNNWrapper(seqNet(), { alpha: 0.5 });
    for (const m of [0, -1, 2.5]) expect(() => net.forward(x, undefined, { memory: m })).toThrow(new RegExp(`SNNWrapper.forward: memory window ${m} must be an integer >= 1`));
  });
});

describe('xTime', () => {
  const x = input();
  const outWith = (xTime?: number[] | Float32Array | Float64Array | Tensor) => {
    manualSeed(5);
    return values(new SNNWrapper(seqNet(), { alpha: 0.6 }).forward(x, xTime));
  };

  test('uniform times in any container; the step comes from the spacing', () => {
    const unit = outWith();
    const times = Array.from({ length: T }, (_, k) => 2 + k);
    expect(outWith(times)).toEqual(unit);
    expect(outWith(Float32Array.from(times))).toEqual(unit);
    expect(outWith(Float64Array.from(times))).toEqual(unit);
    expect(outWith(tensor(times, [T]))).toEqual(unit);
    expect(outWith(times.map((t) => t * 0.25))).not.toEqual(unit); // h = 0.25
    // float32 times of a decimal step are accepted
    expect(() => outWith(tensor(Array.from({ length: T }, (_, k) => 10 + 0.1 * k), [T]))).not.toThrow();
    expect(() => outWith(Array.from({ length: T }, (_, k) => 10 + 0.1 * k))).not.toThrow();
    // ... also when they arrive as plain numbers that are float32 values
    expect(() => outWith(Array.from(Float32Array.from({ length: T }, (_, k) => 10 + 0.1 * k)))).not.toThrow();
  });

  test('non-uniform spacing beyond 1e-6 relative is an error; within it is accepted', () => {
    const times = Array.from({ length: T }, (_, k) => k);
    const off = (d: number) => times.map((t, k) => (k === T - 1 ? t + d : t));
    expect(() => outWith(off(5e-7))).not.toThrow();
    expect(() => outWith(off(3e-6))).toThrow(/xTime must be uniformly spaced: step 9 is 1.00000(29|3).*the first is 1 \(tolerance 1e-6 relative\)/);
    expect(() => outWith(off(0.5))).toThrow(/uniformly spaced/);
    // far from the origin, float64 times keep the 1e-6 relative tolerance
    expect(() => outWith(times.map((t, k) => 1000 + t + (k >= 5 ? 1e-4 : 0)))).toThrow(/uniformly spaced: step 5/);
  });

  test('wrong length, non-increasing or non-finite times are errors', () => {
    expect(() => outWith([0, 1, 2])).toThrow(/xTime has 3 entries but the input has T = 10 time steps/);
    expect(() => outWith(Array.from({ length: T }, (_, k) => -k))).toThrow(/xTime must increase/);
    expect(() => outWith(Array.from({ length: T }, () => 1))).toThrow(/xTime must increase/);
    expect(() => outWith(Array.from({ length: T }, (_, k) => (k === 4 ? NaN : k)))).toThrow(/xTime\[4\] = NaN is not a finite number/);
  });
});

describe('forward input and output', () => {
  test('output [T, B, ...]; a bad input is an error', () => {
    const net = new SNNWrapper(seqNet(), { alpha: 0.5 });
    expect(net.forward(input()).shape).toEqual([T, B, 2]);
    expect(() => net.forward([1, 2] as unknown as Tensor)).toThrow(/x must be a Tensor \[T, B, \.\.\.\]/);
    expect(() => net.forward(full([3], 1))).toThrow(/x must be time-major \[T, B, \.\.\.\], got \[3\]/);
  });

  test('recordTraces keeps a trace per neuron layer', () => {
    const net = new SNNWrapper(seqNet(), { alpha: 0.5 });
    net.forward(input(), undefined, { recordTraces: true });
    expect(net.traces().map((t) => t!.shape)).toEqual([[T, B, 5], [T, B, 2]]);
  });
});

describe('describe()', () => {
  test('a table with one row per neuron layer', () => {
    const net = new SNNWrapper(seqNet(), { alpha: [[0.3, 0.7], 0.5], multiCoefficient: [[1, 0.5], 2], learnAlpha: [true, false], alphaMin: 0.05 });
    const text = net.describe();
    const lines = text.split('\n');
    expect(lines[0]).toBe('SNNWrapper(integrator=fdeint, mode=per_layer_multiterm, alphaMin=0.05)');
    expect(lines[1]).toMatch(/^layer\s+name\s+kind\s+terms\s+alpha\s+coefficient\s+learn alpha\s+learn coef$/);
    expect(lines[2]).toMatch(/^-+( +-+)+$/);
    expect(lines).toHaveLength(5);
    expect(lines[3].trimEnd().split(/\s{2,}/)).toEqual(['0', '1', 'LIF', '2', '[0.3, 0.7]', '[1, 0.5]', 'true', 'false']);
    expect(lines[4].trimEnd().split(/\s{2,}/)).toEqual(['1', '3', 'IF', '1', '[0.5]', '[2]', 'false', 'false']);
  });
});

describe('train/eval, state of the wrapped model, to()', () => {
  class WithState extends nn.Module {
    fc = new nn.Linear(IN, 3);
    lif = new LIFNeuron();
    constructor() {
      super();
      this.registerBuffer('scale', full([1], 2));
    }
    forward(x: Tensor): Tensor {
      // the model's own training flag drives its dropout
      const h = nn.functional.dropout(this.fc.forward(x), 0.5, this.training);
      return this.lif.forward(h.mul(this._buffers.get('scale')!));
    }
  }

  test('eval()/train() reach the wrapped model itself and its layers', () => {
    const model = new WithState();
    const net = new SNNWrapper(model, { alpha: 0.5 });
    net.eval();
    expect(model.training).toBe(false);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    const x = input();
    expect(values(net.forward(x))).toEqual(values(net.forward(x))); // no dropout in eval
    net.train();
    expect(model.training).toBe(true);
    expect(model.fc.training).toBe(true);
  });

  test("the wrapped model's own buffers are in the state dict and load back", () => {
    const net = new SNNWrapper(new WithState(), { alpha: 0.5 });
    expect(Object.keys(net.stateDict())).toEqual(['fc.weight', 'fc.bias', 'scale', 'perLayerAlpha.0', 'perLayerCoefficient.0']);
    const other = new SNNWrapper(new WithState(), { alpha: 0.5 });
    other.loadStateDict({ ...net.stateDict(), scale: new Float32Array([5]) });
    expect(values(other.stateDict().scale)).toEqual([5]);
  });

  test('to(the device it is on) is a no-op; an unknown device is an error', () => {
    const net = new SNNWrapper(seqNet(), { alpha: 0.5, learnAlpha: true });
    const a = net.getPerLayerAlpha()[0];
    expect(net.to(testDevice)).toBe(net);
    expect(net.getPerLayerAlpha()[0]).toBe(a);
    expect(() => net.to('gpu' as 'cpu')).toThrow(/unknown device 'gpu'/);
  });

  const gpu = cuda.isAvailable() ? test : test.skip;
  // eslint-disable-next-line no-console
  if (!cuda.isAvailable()) console.log(`SKIPPED: the to('cuda') test: ${cuda.unavailableReason()}`);
  gpu("to('cuda') moves the model (its own parameters and buffers too) and the alpha registry", () => {
    class Own extends WithState {
      gain = new nn.Parameter(full([1], 1));
    }
    const model = new Own();
    const net = new SNNWrapper(model, { alpha: 0.5, learnAlpha: true });
    net.to('cuda');
    for (const [k, t] of Object.entries(net.stateDict())) expect([k, t.device]).toEqual([k, 'cuda']);
    expect(model.gain.device).toBe('cuda');
    expect(Object.keys(net)).not.toContain('gain');
    net.forward(input().to('cuda'));
    net.to('cpu');
  });
});
