// InferenceRunner replays the model's own forward: its predictions equal net.forward(x).mean(0) bit for
// bit on every layer type, sync and async, and the replay (not a second forward) serves later calls.
import { manualSeed, nn, LIFNeuron, IFNeuron, SNNWrapper, noGrad, InferenceRunner, randn, rand, saveModel, Tensor } from '../../lib';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

function makeNet(hidden = 32): SNNWrapper {
  const model = new nn.Sequential(new nn.Linear(20, hidden), new LIFNeuron({ tau: 2, threshold: 0.5 }), new nn.Linear(hidden, 5), new IFNeuron({ tau: 1.5, threshold: 0.3, surrogate: 'sigmoid' }));
  return new SNNWrapper(model, { alpha: [[0.4, 0.8], 0.7], multiCoefficient: [[1, 0.5], null], learnAlpha: true });
}

/** A convolutional SNN with every layer type of the model API: conv, both pools, batch norm, dropout, identity, flatten, linear, LIF and IF. */
function makeConvNet(): SNNWrapper {
  const model = new nn.Sequential(
    new nn.Conv2d(2, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new LIFNeuron({ threshold: 0.4 }),
    new nn.MaxPool2d(2), new nn.Dropout(0.3), new nn.Conv2d(4, 6, 3, { stride: 1, padding: 1, groups: 2 }), new IFNeuron({ threshold: 0.3 }),
    new nn.AvgPool2d(2, { ceilMode: true }), new nn.Identity(), new nn.Flatten(2), new nn.Linear(6 * 2 * 2, 5), new LIFNeuron({ threshold: 0.2, surrogate: 'gaussian' }),
  );
  return new SNNWrapper(model, { alpha: [[0.3, 0.9], 0.6, [0.5, 0.7, 0.95]], multiCoefficient: [[1, 0.4], null, [0.5, 1, 0.25]], learnAlpha: true });
}

const values = (t: Tensor) => Array.from(t.toFloat32Array());
const direct = (net: SNNWrapper, x: Tensor, opts: { method?: 'l1' | 'gl'; memory?: number; history?: 'exact' | 'fast' | 'auto' } = {}) =>
  values(noGrad(() => net.forward(x, undefined, opts).mean(0)));

describe('InferenceRunner', () => {
  test('matches net.forward bit for bit on an MLP (multi-term orders, LIF and IF), sync and async, and replays afterwards', async () => {
    manualSeed(3);
    const net = makeNet();
    net.eval();
    const x = randn([12, 6, 20]).mul(2);
    const expected = direct(net, x, { method: 'l1', memory: 7 });
    const runner = new InferenceRunner(net, { method: 'l1', memory: 7 });
    expect(values(runner.predictSync(x))).toEqual(expected); // records
    expect(runner.replayable).toBe(true);
    const forward = jest.spyOn(net, 'forward');
    expect(values(runner.predictSync(x))).toEqual(expected); // replays
    expect(values(await runner.predict(x))).toEqual(expected);
    const x2 = randn([12, 6, 20]).mul(2);
    expect(values(await runner.predict(x2))).toEqual(direct(net, x2, { method: 'l1', memory: 7 }).slice());
    expect(forward).toHaveBeenCalledTimes(1); // only the reference forward above, not the runner
    forward.mockRestore();
  });

  test('matches net.forward bit for bit on conv, pools, batch norm (eval), dropout (eval), identity, flatten', async () => {
    manualSeed(7);
    const net = makeConvNet();
    // Non-trivial running statistics for the eval-mode batch norm.
    noGrad(() => net.forward(randn([4, 3, 2, 8, 8]).mul(2)));
    net.eval();
    const x = randn([5, 3, 2, 8, 8]).mul(2);
    const expected = direct(net, x);
    expect(expected.some((v) => v !== 0)).toBe(true);
    const runner = new InferenceRunner(net);
    expect(values(runner.predictSync(x))).toEqual(expected);
    expect(values(runner.predictSync(x))).toEqual(expected);
    expect(values(await runner.predict(x))).toEqual(expected);
    expect(runner.replayable).toBe(true);
  });

  test("the history option reaches the recorded forward: each matches net.forward, and 'fast' with a window is refused", () => {
    manualSeed(4);
    const net = makeNet(16);
    net.eval();
    const x = randn([40, 2, 20]).mul(2);
    for (const history of ['fast', 'exact'] as const) {
      const runner = new InferenceRunner(net, { history });
      expect(values(runner.predictSync(x))).toEqual(direct(net, x, { history }));
      expect(values(runner.predictSync(x))).toEqual(direct(net, x, { history })); // replay
      runner.dispose();
    }
    // ('auto', the default, would run exact here without an error: the error shows the option arrived)
    expect(() => new InferenceRunner(net, { history: 'fast', memory: 5 }).predictSync(x)).toThrow(/history 'fast' needs the full history/);
  });

  test('a new input shape records again', () => {
    manualSeed(8);
    const net = makeNet();
    const runner = new InferenceRunner(net);
    for (const T of [6, 9, 6]) {
      const x = randn([T, 3, 20]).mul(2);
      expect(values(runner.predictSync(x))).toEqual(direct(net, x));
      expect(values(runner.predictSync(x))).toEqual(direct(net, x));
    }
  });

  test('predict runs off the JavaScript thread: a timer fires while a long batch runs', async () => {
    manualSeed(4);
    const net = makeNet(512);
    const runner = new InferenceRunner(net);
    // Grow the batch until one prediction takes long enough to span several timer periods on this machine.
    // Reading the output waits for the device too (a CUDA prediction returns before the GPU is done).
    const timedPredict = (input: ReturnType<typeof rand>) => {
      const out = runner.predictSync(input);
      out.toFloat32Array();
      out.dispose();
    };
    let x = rand([50, 128, 20]);
    let syncMs = 0;
    for (;;) {
      timedPredict(x); // records for this shape
      const t0 = Date.now();
      timedPredict(x);
      syncMs = Date.now() - t0;
      if (syncMs > 40 || x.shape[0] >= 12800) break;
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
    expect(Array.from((await runner.predict(x)).toFloat32Array())).toEqual(Array.from(expected));
  });

  test('bad input gives the forward\'s own clear error and the process survives', async () => {
    const runner = new InferenceRunner(makeNet());
    await expect(runner.predict(randn([4, 2, 19]))).rejects.toThrow(/linear: input \[4,2,19\] has 19 features but the weight \[32,20\] expects 20/);
    expect(() => runner.predictSync(randn([4]))).toThrow(/time-major Tensor \[T, B, \.\.\.\]/);
  });

  test('staticSteps: a one-step input [B, ...] held for T steps gives the repeated input\'s predictions bit for bit, and replays', async () => {
    manualSeed(5);
    const net = makeNet();
    net.eval();
    const x = randn([6, 20]).mul(2);
    const T = 9;
    const repeated = noGrad(() => x.reshape([1, 6, 20]).expand([T, 6, 20]).contiguous());
    const expected = direct(net, repeated, { method: 'l1' });
    expect(expected.some((v) => v !== 0)).toBe(true);
    const runner = new InferenceRunner(net, { method: 'l1', staticSteps: T });
    expect(values(runner.predictSync(x))).toEqual(expected); // records
    expect(runner.replayable).toBe(true);
    const forward = jest.spyOn(net, 'forward');
    expect(values(runner.predictSync(x))).toEqual(expected); // replays
    expect(values(await runner.predict(x))).toEqual(expected);
    expect(forward).not.toHaveBeenCalled();
    forward.mockRestore();
    expect(() => new InferenceRunner(net, { staticSteps: 0 })).toThrow(/staticSteps = 0 must be a positive integer/);
    expect(() => runner.predictSync(randn([]))).toThrow(/with staticSteps the input must be one time step, a Tensor \[B, \.\.\.\]/);
  });
});
