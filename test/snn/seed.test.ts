// The seed, as a test: the four configuration modes on a two-layer net, learnAlpha / learnCoefficient
// putting exactly the right tensors into net.parameters(), and an Adam loop that moves the learnable
// orders while the frozen ones stay bit-identical, with getPerLayerAlpha() reporting the learned values.
import { nn, tensor, manualSeed, LIFNeuron, SNNWrapper, Tensor } from '../../lib';
import { Adam } from '../../lib/optim';
import { randomData } from '../helpers/gradcheck';

const T = 8, B = 4, IN = 6, HID = 10, OUT = 3;
const values = (t: Tensor) => Array.from(t.toFloat32Array());
const bits = (t: Tensor) => Array.from(new Uint32Array(t.toFloat32Array().buffer.slice(0)));
const x = () => tensor(randomData(T * B * IN, 41, 0, 1.5), [T, B, IN]);

/** The same two-layer net (same weights) for every call. */
function twoLayer(): nn.Sequential {
  manualSeed(2024);
  return new nn.Sequential(new nn.Linear(IN, HID), new LIFNeuron({ threshold: 0.4 }), new nn.Linear(HID, OUT), new LIFNeuron({ threshold: 0.2 }));
}

let emit: jest.SpyInstance;
beforeEach(() => {
  emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
});
afterEach(() => emit.mockRestore());

describe('the four configuration modes on a two-layer net', () => {
  const out = (opts: ConstructorParameters<typeof SNNWrapper>[1]) => {
    const net = new SNNWrapper(twoLayer(), opts);
    const y = net.forward(x());
    expect(y.shape).toEqual([T, B, OUT]);
    return { net, y: values(y) };
  };

  test('scalar: every layer gets the same order', () => {
    const { net, y } = out({ alpha: 0.5 });
    expect(net.config.mode).toBe('scalar');
    expect(net.getPerLayerAlpha().map(values)).toEqual([[0.5], [0.5]]);
    expect(y).toEqual(out({ alpha: [[0.5], [0.5]] }).y);
    expect(y.some((v) => v === 1)).toBe(true);
  });

  test('per-layer single term: layer i gets alpha[i]', () => {
    const { net, y } = out({ alpha: [0.25, 0.75], alphaMode: 'per_layer' });
    expect(net.config.mode).toBe('per_layer');
    expect(net.getPerLayerAlpha().map(values)).toEqual([[0.25], [0.75]]);
    expect(y).toEqual(out({ alpha: [[0.25], [0.75]] }).y);
    expect(y).not.toEqual(out({ alpha: [0.75, 0.25], alphaMode: 'per_layer' }).y);
  });

  test('multi-term broadcast: every layer gets all the terms', () => {
    const { net, y } = out({ alpha: [0.25, 0.75], alphaMode: 'multiterm', multiCoefficient: [1, 0.5] });
    expect(net.config.mode).toBe('multiterm');
    expect(net.getPerLayerAlpha().map(values)).toEqual([[0.25, 0.75], [0.25, 0.75]]);
    expect(net.getPerLayerCoefficient().map(values)).toEqual([[1, 0.5], [1, 0.5]]);
    expect(y).toEqual(out({ alpha: [[0.25, 0.75], [0.25, 0.75]], multiCoefficient: [[1, 0.5], [1, 0.5]] }).y);
    expect(y).not.toEqual(out({ alpha: [0.25, 0.75], alphaMode: 'per_layer' }).y);
  });

  test('per-layer multi-term: each layer its own terms', () => {
    const { net, y } = out({ alpha: [[0.25, 0.75], 0.5], multiCoefficient: [[2, 1], null] });
    expect(net.config.mode).toBe('per_layer_multiterm');
    expect(net.getPerLayerAlpha().map(values)).toEqual([[0.25, 0.75], [0.5]]);
    expect(net.getPerLayerCoefficient().map(values)).toEqual([[2, 1], [1]]);
    expect(y).not.toEqual(out({ alpha: [[0.25, 0.75], 0.5] }).y); // the coefficients matter
  });
});

describe('learnAlpha / learnCoefficient put exactly the right tensors into net.parameters()', () => {
  const cases: { learnAlpha: boolean | boolean[]; learnCoefficient: boolean | boolean[]; expected: string[] }[] = [
    { learnAlpha: false, learnCoefficient: false, expected: [] },
    { learnAlpha: true, learnCoefficient: false, expected: ['perLayerAlpha.0', 'perLayerAlpha.1'] },
    { learnAlpha: false, learnCoefficient: true, expected: ['perLayerCoefficient.0', 'perLayerCoefficient.1'] },
    { learnAlpha: [true, false], learnCoefficient: [false, true], expected: ['perLayerAlpha.0', 'perLayerCoefficient.1'] },
    { learnAlpha: true, learnCoefficient: true, expected: ['perLayerAlpha.0', 'perLayerAlpha.1', 'perLayerCoefficient.0', 'perLayerCoefficient.1'] },
  ];
  for (const c of cases) {
    test(`learnAlpha ${JSON.stringify(c.learnAlpha)}, learnCoefficient ${JSON.stringify(c.learnCoefficient)}`, () => {
      const model = twoLayer();
      const net = new SNNWrapper(model, { alpha: [[0.3, 0.6], 0.5], learnAlpha: c.learnAlpha, learnCoefficient: c.learnCoefficient });
      const params = net.parameters();
      const modelParams = model.parameters();
      expect(params.slice(0, modelParams.length)).toEqual(modelParams);
      const extra = params.slice(modelParams.length);
      const sd = net.stateDict();
      expect(extra).toHaveLength(c.expected.length);
      c.expected.forEach((k, i) => {
        expect(extra[i]).toBe(sd[k]);
        expect(extra[i].requiresGrad).toBe(true);
      });
      const live = [...net.getPerLayerAlpha(), ...net.getPerLayerCoefficient()];
      for (const t of live) expect(params.includes(t as nn.Parameter)).toBe(t.requiresGrad);
    });
  }
});

describe('training with Adam', () => {
  test('learnable alphas move (within [alphaMin, 1]); frozen ones stay bit-identical', () => {
    const model = twoLayer();
    const net = new SNNWrapper(model, {
      alpha: [[0.3, 0.6], [0.5, 0.8]],
      multiCoefficient: [[1, 0.5], [1, 1]],
      learnAlpha: [true, false],
      learnCoefficient: [false, true],
    });
    const opt = new Adam(net.parameters(), { lr: 0.02 });
    const alpha0 = net.getPerLayerAlpha().map(values);
    const frozenAlphaBits = bits(net.getPerLayerAlpha()[1]);
    const frozenCoefBits = bits(net.getPerLayerCoefficient()[0]);
    const coef1 = values(net.getPerLayerCoefficient()[1]);
    const input = x();
    const target = tensor(randomData(B * OUT, 43, 0, 1), [B, OUT]);
    for (let step = 0; step < 6; step++) {
      opt.zeroGrad();
      const rate = net.forward(input).mean(0);
      const loss = rate.sub(target).square().mean();
      loss.backward();
      expect(net.getPerLayerAlpha()[0].grad).not.toBeNull();
      expect(net.getPerLayerAlpha()[1].grad).toBeNull();
      opt.step();
    }
    const learned = values(net.getPerLayerAlpha()[0]);
    expect(learned[0]).not.toBe(alpha0[0][0]);
    expect(learned[1]).not.toBe(alpha0[0][1]);
    for (const a of learned) expect(a >= Math.fround(0.01) && a <= 1).toBe(true);
    expect(bits(net.getPerLayerAlpha()[1])).toEqual(frozenAlphaBits);
    expect(bits(net.getPerLayerCoefficient()[0])).toEqual(frozenCoefBits);
    expect(values(net.getPerLayerCoefficient()[1])).not.toEqual(coef1);
    // getPerLayerAlpha() reports the learned values: the same tensors the optimizer updated and the state dict holds
    expect(net.getPerLayerAlpha()[0]).toBe(net.stateDict()['perLayerAlpha.0']);
    expect(values(net.stateDict()['perLayerAlpha.0'])).toEqual(learned);
    expect(net.describe()).toContain(`[${learned.map((v) => +v.toFixed(4)).join(', ')}]`);
  });

  test('a learned alpha driven past 1 is projected back before the next forward', () => {
    const net = new SNNWrapper(twoLayer(), { alpha: 0.95, learnAlpha: true });
    const opt = new Adam(net.parameters(), { lr: 0.5, maximize: true });
    const a = net.getPerLayerAlpha()[0];
    // push alpha upward: maximize a loss whose gradient w.r.t. alpha is positive
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      net.forward(x()).sum().backward();
      a.grad!.fill_(1);
      opt.step();
    }
    expect(values(a)[0]).toBeGreaterThan(1);
    net.forward(x());
    expect(values(a)).toEqual([1]);
  });
});
