// InferenceRunner follows the model's current state: after loadStateDict, a replaced parameter, an
// optimizer step or an in-place write it records again and matches net.forward bit for bit. A
// forward that cannot be replayed runs directly (and says why); one that draws random numbers is an
// error; dispose() ends the runner.
import { InferenceRunner, LIFNeuron, manualSeed, nn, noGrad, optim, randn, SNNWrapper, Tensor } from '../../lib';
import { Module } from '../../lib/nn/module';
import { Parameter } from '../../lib/nn/parameter';
import { native } from '../../lib/native';
import type { NativeHandle } from '../../types/native';

function makeNet(seed: number, alpha = [0.5, 0.8]): SNNWrapper {
  manualSeed(seed);
  const model = new nn.Sequential(new nn.Linear(16, 32), new LIFNeuron({ threshold: 0.5 }), new nn.Linear(32, 8), new LIFNeuron({ threshold: 0.3 }));
  return new SNNWrapper(model, { alpha, alphaMode: 'per_layer', learnAlpha: true });
}
const forward = (net: SNNWrapper, x: Tensor) => Array.from(noGrad(() => net.forward(x).mean(0)).toFloat32Array());
const predict = (r: InferenceRunner, x: Tensor) => Array.from(r.predictSync(x).toFloat32Array());

describe('InferenceRunner follows the model', () => {
  test('after loadStateDict (weights and alphas) it matches net.forward', async () => {
    const net = makeNet(1), other = makeNet(2, [0.3, 0.6]);
    const x = randn([10, 4, 16]).mul(3);
    const runner = new InferenceRunner(net);
    expect(predict(runner, x)).toEqual(forward(net, x));
    expect(predict(runner, x)).toEqual(forward(net, x));
    net.loadStateDict(other.stateDict());
    expect(forward(net, x)).toEqual(forward(other, x));
    expect(predict(runner, x)).toEqual(forward(net, x));
    expect(Array.from((await runner.predict(x)).toFloat32Array())).toEqual(forward(other, x));
  });

  test('after an optimizer step (weights and orders change in place) it matches net.forward', async () => {
    const net = makeNet(5);
    const x = randn([10, 4, 16]).mul(3);
    const runner = new InferenceRunner(net);
    const before = predict(runner, x);
    expect(predict(runner, x)).toEqual(before);
    const opt = new optim.Adam(net.parameters(), { lr: 0.05 });
    const loss = nn.functional.crossEntropy(net.forward(x).mean(0), Int32Array.from([0, 1, 2, 3]));
    loss.backward();
    opt.step();
    const after = forward(net, x);
    expect(after).not.toEqual(before);
    expect(predict(runner, x)).toEqual(after);
    expect(Array.from((await runner.predict(x)).toFloat32Array())).toEqual(after);
  });

  test('after in-place writes to a weight and to the orders (copy_ / fill_) it matches net.forward', () => {
    const net = makeNet(6);
    const x = randn([10, 4, 16]).mul(3);
    const runner = new InferenceRunner(net);
    predict(runner, x);
    // A weight: the program reads the captured storage itself.
    const lin = (net.model as nn.Sequential).at(2) as nn.Linear;
    noGrad(() => lin.weight.copy_(lin.weight.mul(3)));
    expect(predict(runner, x)).toEqual(forward(net, x));
    // An order: the fractional kernel K was built from it on the host at record time, so this records again.
    const before = predict(runner, x);
    net.perLayerAlpha.get(0).fill_(0.2);
    const after = forward(net, x);
    expect(after).not.toEqual(before);
    expect(predict(runner, x)).toEqual(after);
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

describe('InferenceRunner on forwards it cannot replay', () => {
  test('dropout in training mode is an error that says to call eval()', () => {
    manualSeed(9);
    const net = new SNNWrapper(new nn.Sequential(new nn.Linear(16, 8), new nn.Dropout(0.5), new LIFNeuron()), {});
    net.train();
    expect(() => new InferenceRunner(net).predictSync(randn([3, 2, 16]))).toThrow(/random kernel 'random'.*net\.eval\(\)/);
  });

  test('a forward that reads an input-dependent value on the host runs directly, with the reason', async () => {
    // A data-dependent layer: scales by the host-side maximum of its input.
    class HostScale extends Module {
      forward(x: Tensor): Tensor {
        const m = Math.max(...Array.from(x.toFloat32Array()));
        return x.mul(1 / m);
      }
    }
    manualSeed(10);
    const net = new SNNWrapper(new nn.Sequential(new nn.Linear(16, 8), new HostScale(), new LIFNeuron({ threshold: 0.2 })), {});
    const runner = new InferenceRunner(net);
    for (const scale of [1, 5]) {
      const x = randn([4, 3, 16]).mul(scale);
      expect(predict(runner, x)).toEqual(forward(net, x));
      expect(Array.from((await runner.predict(x)).toFloat32Array())).toEqual(forward(net, x));
    }
    expect(runner.replayable).toBe(false);
    expect(runner.reason).toMatch(/reads an input-dependent tensor of shape \[4,3,8\] into host memory/);
  });

  test('a forward that calls an addon function outside the kernel table on an input-dependent tensor runs directly', () => {
    // An addon export that is not a kernel of the table (as a future or third-party export would be).
    const addon = native as unknown as Record<string, unknown>;
    const outside = (h: NativeHandle): NativeHandle => native.runKernel('reshape', [h], { shape: h.shape.slice() });
    addon.outsideTheTable = outside;
    try {
      class OutsideView extends Module {
        forward(x: Tensor): Tensor {
          return new Tensor((addon.outsideTheTable as typeof outside)(x.handle));
        }
      }
      manualSeed(11);
      const net = new SNNWrapper(new nn.Sequential(new nn.Linear(16, 8), new OutsideView(), new LIFNeuron({ threshold: 0.2 })), {});
      const runner = new InferenceRunner(net);
      const x = randn([4, 3, 16]).mul(2);
      expect(predict(runner, x)).toEqual(forward(net, x));
      expect(predict(runner, x)).toEqual(forward(net, x));
      expect(runner.replayable).toBe(false);
      expect(runner.reason).toMatch(/calls native\.outsideTheTable, which is not a kernel of native\/kernels\.def/);
      expect(addon.outsideTheTable).toBe(outside); // the watch is undone after recording
    } finally {
      delete addon.outsideTheTable;
    }
  });

  test('errors of the forward keep their own message (Flatten out of range)', () => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Flatten(100000), new nn.Linear(16, 4), new LIFNeuron()), {});
    expect(() => new InferenceRunner(net).predictSync(randn([2, 3, 16]))).toThrow(/flatten: dim 100000 is out of range for 3-d input/);
  });
});
