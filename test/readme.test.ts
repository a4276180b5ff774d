// The README's quick start, run as written (random images and labels stand in for data).
import { tensor, nn, LIFNeuron, SNNWrapper, optim, ops, tidy, manualSeed, rand } from '../lib';

test('the README quick start runs and trains the alphas', () => {
  manualSeed(0);
  const model = new nn.Sequential(
    new nn.Linear(784, 256), new LIFNeuron({ tau: 2, threshold: 1 }),
    new nn.Linear(256, 10), new LIFNeuron({ tau: 2, threshold: 1 }),
  );
  const net = new SNNWrapper(model, { alpha: [0.3, 0.8], alphaMode: 'per_layer', learnAlpha: true });
  const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
  const T = 8, xTime = Array.from({ length: T }, (_, k) => k);
  const images = rand([T, 64, 784]).mul(3).toFloat32Array();
  const labels = Int32Array.from({ length: 64 }, (_, i) => i % 10);
  const before = net.getPerLayerAlpha().map((a) => Array.from(a.toFloat32Array()));
  tidy(() => {
    const x = tensor(images, [T, 64, 784]);
    const out = net.forward(x, xTime, { method: 'l1' });
    const loss = ops.crossEntropy(out.mean(0).mul(10), labels);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  });
  expect(net.describe()).toContain('alpha');
  const after = net.getPerLayerAlpha().map((a) => a.toArray() as number[]);
  expect(after).not.toEqual(before);
});
