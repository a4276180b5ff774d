// Host waits per training step on cuda: a warm step of the seed's two-layer net (forward, cross-entropy,
// backward, Adam) makes at most 2 device -> host reads (fsnn.cuda.stats().hostReads), not counting the
// user's own loss.item(). The wrapper reads its orders / coefficients once per step; dK stays on the
// device. Where CUDA is unavailable the file is skipped with a visible SKIPPED line.
import { nn, tensor, manualSeed, LIFNeuron, SNNWrapper, ops, optim, tidy, cuda } from '../../lib';
import type { SNNWrapperOptions } from '../../lib/snn/wrapper';
import { Tensor } from '../../lib/tensor';

const available = cuda.isAvailable();
if (!available) {
  // eslint-disable-next-line no-console
  console.log(`SKIPPED: CUDA host-read count (test/cuda/host-reads.test.ts): ${cuda.unavailableReason()}`);
}
const describeGpu = available ? describe : describe.skip;

const T = 8, B = 4, IN = 6, HID = 10, OUT = 3;

/** The seed's configurations: per-layer orders, and multi-term (learnable and frozen). */
const configs: [string, SNNWrapperOptions][] = [
  ['per-layer orders, learnAlpha', { alpha: [0.25, 0.75], alphaMode: 'per_layer', learnAlpha: true }],
  ['multi-term per layer, learnAlpha + learnCoefficient', {
    alpha: [[0.3, 0.6], [0.4, 0.8]], multiCoefficient: [[1, 0.5], [1, 0.3]], learnAlpha: true, learnCoefficient: true,
  }],
  ['multi-term broadcast, frozen', { alpha: [0.25, 0.75], alphaMode: 'multiterm', multiCoefficient: [1, 0.5] }],
];

/** The seed's two-layer net (test/snn/seed.test.ts), on cuda. */
function seedNet(opts: SNNWrapperOptions, tauLearnable = false): SNNWrapper {
  manualSeed(2024);
  const model = new nn.Sequential(new nn.Linear(IN, HID), new LIFNeuron({ threshold: 0.4, tauLearnable }), new nn.Linear(HID, OUT),
    new LIFNeuron({ threshold: 0.2, tauLearnable }));
  return new SNNWrapper(model, opts).to('cuda');
}

/** Device -> host reads per warm training step (mean over `steps`), without the loss.item() each step makes. */
function readsPerStep(net: SNNWrapper, steps = 4): number {
  const opt = new optim.Adam(net.parameters(), { lr: 1e-2 });
  const xs = new Float32Array(T * B * IN).map((_, i) => ((i * 7919) % 13) / 8);
  const x = tensor(xs, [T, B, IN], { device: 'cuda' });
  const labels = new Int32Array(B).map((_, i) => i % OUT);
  const step = () => {
    opt.zeroGrad();
    const lossValue = tidy(() => {
      const out = net.forward(x);
      const loss = ops.crossEntropy(out.mean(0), labels);
      loss.backward();
      return loss.item();  // the user's own read: subtracted below
    });
    opt.step();
    return lossValue;
  };
  step();  // warm-up (first-call checks)
  cuda.synchronize();
  const before = cuda.stats().hostReads;
  for (let i = 0; i < steps; i++) expect(Number.isFinite(step())).toBe(true);
  cuda.synchronize();
  const reads = cuda.stats().hostReads - before;
  x.dispose();
  return reads / steps - 1;
}

// The same count on the cpu, through the Tensor read methods (toFloat32Array, toInt32Array, toArray,
// data: how lib/ reads a tensor; no native op reads back by itself): a proxy that runs on any machine.
describe('reads per training step through the Tensor read methods (cpu, any machine)', () => {
  let reads = 0;
  const spies: jest.SpyInstance[] = [];
  beforeAll(() => {
    for (const m of ['toFloat32Array', 'toInt32Array', 'toArray', 'data'] as const) {
      const orig = Tensor.prototype[m] as (...a: unknown[]) => unknown;
      spies.push(jest.spyOn(Tensor.prototype, m).mockImplementation(function (this: Tensor, ...a: unknown[]) {
        reads++;
        return orig.apply(this, a);
      } as never));
    }
  });
  afterAll(() => spies.forEach((s) => s.mockRestore()));
  for (const [name, opts] of configs) {
    test(name, () => {
      manualSeed(2024);
      const model = new nn.Sequential(new nn.Linear(IN, HID), new LIFNeuron({ threshold: 0.4 }), new nn.Linear(HID, OUT), new LIFNeuron({ threshold: 0.2 }));
      const net = new SNNWrapper(model, opts).to('cpu');
      const opt = new optim.Adam(net.parameters(), { lr: 1e-2 });
      const x = tensor(new Float32Array(T * B * IN).map((_, i) => ((i * 7919) % 13) / 8), [T, B, IN], { device: 'cpu' });
      const labels = new Int32Array(B).map((_, i) => i % OUT);
      const step = () => {
        opt.zeroGrad();
        tidy(() => {
          const loss = ops.crossEntropy(net.forward(x).mean(0), labels);
          loss.backward();
        });
        opt.step();
      };
      step();
      const before = reads;
      for (let i = 0; i < 3; i++) step();
      const perStep = (reads - before) / 3;
      expect(perStep).toBeLessThanOrEqual(2);
      expect(perStep).toBeGreaterThanOrEqual(1);  // the wrapper's one refresh of alpha / coefficients
    });
  }
});

describeGpu('host reads per training step on cuda (at most 2)', () => {
  test('stats().hostReads counts a device -> host read', () => {
    const t = tensor([1, 2, 3], [3], { device: 'cuda' });
    const before = cuda.stats().hostReads;
    t.toFloat32Array();
    expect(cuda.stats().hostReads - before).toBe(1);
    t.dispose();
  });

  for (const [name, opts] of configs) {
    test(name, () => {
      const net = seedNet(opts);
      const reads = readsPerStep(net);
      // eslint-disable-next-line no-console
      console.log(`host reads per step (${name}): ${reads}`);
      expect(reads).toBeLessThanOrEqual(2);
      // The learnable orders still move (the chain to alpha runs on the device).
      if (opts.learnAlpha) expect(net.perLayerAlpha.get(0).grad).not.toBeNull();
    });
  }

  test('learnable tau too (its theta joins the one read)', () => {
    const net = seedNet(configs[1][1], true);
    expect(readsPerStep(net)).toBeLessThanOrEqual(2);
  });
});
