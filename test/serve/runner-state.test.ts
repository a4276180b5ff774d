// InferenceRunner follows the model's current state (loadStateDict, a replaced parameter), has a
// dispose(), and rejects plans that would read out of bounds (Flatten past the input's dims, a 1-D
// weight) with an error instead of a crash or a message with garbage sizes.
import { InferenceRunner, LIFNeuron, manualSeed, nn, noGrad, randn, SNNWrapper, Tensor } from '../../lib';
import { Parameter } from '../../lib/nn/parameter';
import { native } from '../../lib/native';

function makeNet(seed: number, alpha = [0.5, 0.8]): SNNWrapper {
  manualSeed(seed);
  const model = new nn.Sequential(new nn.Linear(16, 32), new LIFNeuron({ threshold: 0.5 }), new nn.Linear(32, 8), new LIFNeuron({ threshold: 0.3 }));
  return new SNNWrapper(model, { alpha, alphaMode: 'per_layer', learnAlpha: true });
}
const forward = (net: SNNWrapper, x: Tensor) => Array.from(noGrad(() => net.forward(x).mean(0)).toFloat32Array());
const predict = (r: InferenceRunner, x: Tensor) => Array.from(r.predictSync(x).toFloat32Array());

describe('InferenceRunner follows the model', () => {
  test('after loadStateDict (weights and alphas) it matches net.forward', () => {
    const net = makeNet(1), other = makeNet(2, [0.3, 0.6]);
    const x = randn([10, 4, 16]).mul(3);
    const runner = new InferenceRunner(net);
    expect(predict(runner, x)).toEqual(forward(net, x));
    net.loadStateDict(other.stateDict());
    expect(forward(net, x)).toEqual(forward(other, x));
    expect(predict(runner, x)).toEqual(forward(net, x));
  });

  test('after a parameter is replaced (as Module.to() does) it matches net.forward', () => {
    const net = makeNet(3);
    const x = randn([10, 4, 16]).mul(3);
    const runner = new InferenceRunner(net);
    predict(runner, x);
    const lin = (net.model as nn.Sequential).at(0) as nn.Linear;
    lin.weight = new Parameter(lin.weight.mul(-2));
    expect(predict(runner, x)).toEqual(forward(net, x));
  });

  test('dispose() makes later predictions a clear error', () => {
    const runner = new InferenceRunner(makeNet(4));
    runner.dispose();
    expect(() => runner.predictSync(randn([2, 1, 16]))).toThrow(/disposed/);
  });
});

describe('InferenceRunner rejects plans that would read out of bounds', () => {
  test('Flatten(100000) is an error naming the input shape, not a crash', () => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Flatten(100000), new nn.Linear(16, 4), new LIFNeuron()), {});
    expect(() => new InferenceRunner(net).predictSync(randn([2, 3, 16]))).toThrow(/Flatten\(startDim = 100000\) is out of range for an input of shape \[2,3,16\]/);
  });

  test('Flatten(5) on a 4-D input: the message holds only real sizes', () => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Flatten(5), new nn.Linear(16, 4), new LIFNeuron()), {});
    let msg = '';
    try {
      new InferenceRunner(net).predictSync(randn([2, 3, 4, 4]));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/out of range/);
    for (const n of msg.match(/\d+/g) ?? []) expect(Number(n)).toBeLessThan(1e6);
  });

  test('a plan step with a 1-D weight is an error', () => {
    const w = randn([8]);
    expect(() => native.runPlan([{ kind: 'linear', weight: w.handle, bias: null }], randn([2, 3, 8]).handle)).toThrow(/weight must be a live float32 2-D tensor/);
  });
});
