// One neuron instance used at two positions would share one alpha slot and silently lose the other:
// the wrapper rejects it at construction and names both module paths.
import { IFNeuron, LIFNeuron, nn, SNNWrapper } from '../../lib';

describe('SNNWrapper with a shared neuron instance', () => {
  it('is rejected at construction, naming both module paths', () => {
    const lif = new LIFNeuron();
    const model = new nn.Sequential(new nn.Linear(4, 4), lif, new nn.Linear(4, 2), lif);
    expect(() => new SNNWrapper(model, { alpha: [0.3, 0.9] })).toThrow(/'1' and '3' are the same LIFNeuron instance; .*create a separate neuron per layer/);
  });

  it('names nested paths, also for a neuron shared through a container used twice', () => {
    const lif = new IFNeuron();
    const block = new nn.Sequential(new nn.Linear(4, 4), lif);
    const model = new nn.Sequential(block, new nn.Sequential(new nn.Linear(4, 4), new LIFNeuron(), block));
    expect(() => new SNNWrapper(model, { alpha: 0.5 })).toThrow(/'0\.1' and '1\.2\.1' are the same IFNeuron instance/);
  });

  it('a failed construction binds nothing: the neurons can still be wrapped properly', () => {
    const lif = new LIFNeuron(), other = new LIFNeuron();
    expect(() => new SNNWrapper(new nn.Sequential(other, lif, lif))).toThrow(/same LIFNeuron instance/);
    expect(other.alphaBinding).toBeNull();
    expect(() => new SNNWrapper(new nn.Sequential(other, new nn.Linear(2, 2), lif))).not.toThrow();
  });

  it('distinct instances are accepted', () => {
    const model = new nn.Sequential(new nn.Linear(4, 4), new LIFNeuron(), new nn.Linear(4, 2), new LIFNeuron());
    expect(() => new SNNWrapper(model, { alpha: [0.3, 0.9] })).not.toThrow();
  });
});
