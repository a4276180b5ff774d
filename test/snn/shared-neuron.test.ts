// One neuron instance used at two positions would share one alpha slot and silently lose the other:
// the wrapper rejects it at construction and names both module paths.
import { LIFNeuron, nn, SNNWrapper } from '../../lib';

describe('SNNWrapper with a shared neuron instance', () => {
  it('is rejected at construction, naming both module paths', () => {
    const lif = new LIFNeuron();
    const model = new nn.Sequential(new nn.Linear(4, 4), lif, new nn.Linear(4, 2), lif);
    expect(() => new SNNWrapper(model, { alpha: [0.3, 0.9] })).toThrow(/same neuron instance is used at '1' and at '3'/);
  });

  it('distinct instances are accepted', () => {
    const model = new nn.Sequential(new nn.Linear(4, 4), new LIFNeuron(), new nn.Linear(4, 2), new LIFNeuron());
    expect(() => new SNNWrapper(model, { alpha: [0.3, 0.9] })).not.toThrow();
  });
});
