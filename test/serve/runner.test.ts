import { manualSeed, nn, LIFNeuron, IFNeuron, SNNWrapper, noGrad, InferenceRunner, randn, rand, saveModel } from '../../lib';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

function makeNet(hidden = 32): SNNWrapper {
  const model = new nn.Sequential(new nn.Linear(20, hidden), new LIFNeuron({ tau: 2, threshold: 0.5 }), new nn.Linear(hidden, 5), new IFNeuron({ tau: 1.5, threshold: 0.3, surrogate: 'sigmoid' }));
  return new SNNWrapper(model, { alpha: [[0.4, 0.8], 0.7], multiCoefficient: [[1, 0.5], null], learnAlpha: true });
}

describe('InferenceRunner', () => {
  test('the native plan gives the same numbers as the autograd forward', () => {
    manualSeed(3);
    const net = makeNet();
    const x = randn([12, 6, 20]).mul(2);
    const expected = noGrad(() => net.forward(x, undefined, { method: 'l1', memory: 7 }).mean(0)).toFloat32Array();
    const runner = new InferenceRunner(net, { method: 'l1', memory: 7 });
    expect(Array.from(runner.predictSync(x).toFloat32Array())).toEqual(Array.from(expected));
  });

  test('predict runs off the JavaScript thread: a timer fires while a long batch runs', async () => {
    manualSeed(4);
    const net = makeNet(512);
    const runner = new InferenceRunner(net);
    // Grow the batch until one prediction takes long enough to span several timer periods on this machine.
    let x = rand([50, 128, 20]);
    let syncMs = 0;
    for (;;) {
      const t0 = Date.now();
      runner.predictSync(x).dispose();
      syncMs = Date.now() - t0;
      if (syncMs > 40 || x.shape[0] >= 3200) break;
      x = rand([x.shape[0] * 2, 128, 20]);
    }
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const start = Date.now();
    const out = await runner.predict(x);
    const asyncMs = Date.now() - start;
    clearInterval(timer);
    expect(out.shape).toEqual([128, 5]);
    // The event loop kept turning during the prediction.
    expect(syncMs).toBeGreaterThan(30);
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(asyncMs).toBeGreaterThan(0);
  });

  test('fromCheckpoint rebuilds the model from the checkpoint metadata', async () => {
    manualSeed(5);
    const net = makeNet();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-runner-')), 'm.safetensors');
    saveModel(net, file, { T: 10, method: 'gl', h: 0.5 });
    const x = randn([10, 3, 20]);
    const expected = noGrad(() => net.forward(x, Array.from({ length: 10 }, (_, k) => k * 0.5), { method: 'gl' }).mean(0)).toFloat32Array();
    const runner = InferenceRunner.fromCheckpoint(file);
    expect(Array.from((await runner.predict(x)).toFloat32Array())).toEqual(Array.from(expected));
  });

  test('bad input gives a clear error and the process survives', async () => {
    const runner = new InferenceRunner(makeNet());
    await expect(runner.predict(randn([4, 2, 19]))).rejects.toThrow(/linear layer expects 20 features/);
  });
});
