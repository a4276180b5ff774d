// saveModel / loadModel: the architecture travels in the safetensors metadata; a model saved and loaded
// (here and in a fresh Node process) runs to bitwise identical outputs.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nn, tensor, manualSeed, LIFNeuron, IFNeuron, SNNWrapper, saveModel, loadModel, save, loadMetadata, modelSpecOf, buildFromSpec, MODEL_SPEC_KEY, Tensor } from '../../lib';
import { Adam } from '../../lib/optim';
import { randomData } from '../helpers/gradcheck';

const bits = (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(t.toFloat32Array()).buffer));
const T = 6, B = 2, IN = 5;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-model-io-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A trained-looking net: learned orders (multi-term), learned coefficients, a learned tau, weights. */
function trainedNet(): SNNWrapper {
  manualSeed(77);
  const model = new nn.Sequential(
    new nn.Linear(IN, 8), new LIFNeuron({ threshold: 0.3, tauLearnable: true }), new nn.Dropout(0.2),
    new nn.Linear(8, 3, { bias: false }), new IFNeuron({ tau: 0.7, threshold: 0.2, surrogate: 'sigmoid', surrogateScale: 3 }),
  );
  const net = new SNNWrapper(model, { alpha: [[0.3, 0.6], 0.8], multiCoefficient: [[1, 0.5], 2], learnAlpha: [true, false], learnCoefficient: true, alphaMin: 0.05 });
  const opt = new Adam(net.parameters(), { lr: 0.05 });
  const x = input();
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    net.forward(x, undefined, { method: 'gl', memory: 4 }).mean().neg().backward(); // more spikes
    opt.step();
  }
  return net.eval();
}
const inputData = randomData(T * B * IN, 55, 0, 2).map(Math.fround);
const input = () => tensor(inputData, [T, B, IN]);
const xTime = Array.from({ length: T }, (_, k) => 0.5 * k);

function runBits(net: SNNWrapper) {
  const out = net.forward(input(), xTime, { method: 'gl', memory: 4, recordTraces: true });
  return { output: bits(out), traces: net.traces().map((t) => bits(t!)) };
}

describe('saveModel / loadModel in process', () => {
  test('the loaded net has the same parameters, per-layer values and outputs, bit for bit', () => {
    const net = trainedNet();
    const file = path.join(dir, 'trained.safetensors');
    saveModel(net, file, { T, encoding: 'direct', method: 'gl', memory: 4 }, { note: 'hello' });
    const { net: loaded, spec, metadata } = loadModel(file);
    loaded.eval();
    expect(metadata.note).toBe('hello');
    expect(spec.input).toEqual({ T, encoding: 'direct', method: 'gl', memory: 4 });
    expect(loaded.namedParameters().map(([k]) => k)).toEqual(net.namedParameters().map(([k]) => k));
    for (const [k, t] of Object.entries(net.stateDict())) expect([k, bits(loaded.stateDict()[k])]).toEqual([k, bits(t)]);
    expect(loaded.learnAlpha).toEqual([true, false]);
    expect(loaded.learnCoefficient).toEqual([true, true]);
    expect(loaded.alphaMin).toBe(0.05);
    expect(loaded.neurons[0].tauTheta).not.toBeNull();
    expect(loaded.neurons[1].surrogate).toBe('sigmoid');
    const a = runBits(net), b = runBits(loaded);
    expect(b).toEqual(a);
    expect(a.output.some((v) => v === 0x3f800000)).toBe(true); // some spikes (1.0f)
  });

  test('the spec describes the layers and the wrapper', () => {
    const net = trainedNet();
    const spec = modelSpecOf(net);
    expect(spec.format).toBe('fsnn-model-1');
    expect(spec.layers.map((l) => l.type)).toEqual(['linear', 'lif', 'dropout', 'linear', 'if']);
    expect(spec.layers[3]).toEqual({ type: 'linear', in: 8, out: 3, bias: false });
    expect(spec.layers[4]).toEqual({ type: 'if', tau: 0.7, threshold: 0.2, surrogate: 'sigmoid', surrogateScale: 3, tauLearnable: false });
    expect(spec.wrapper.alpha).toEqual(net.getPerLayerAlpha().map((t) => Array.from(t.toFloat32Array())));
    const rebuilt = buildFromSpec(JSON.parse(JSON.stringify(spec)));
    expect(Object.keys(rebuilt.stateDict())).toEqual(Object.keys(net.stateDict()));
  });

  test('a convolutional net and an odeint net round-trip', () => {
    manualSeed(8);
    const conv = new SNNWrapper(new nn.Sequential(
      new nn.Conv2d(1, 2, 3, { padding: 1 }), new LIFNeuron({ threshold: 0.2 }), new nn.MaxPool2d(2), new nn.AvgPool2d(1),
      new nn.Flatten(), new nn.Identity(), new nn.Linear(8, 2), new LIFNeuron({ threshold: 0.1 }),
    ), { alpha: 0.4 });
    const ode = new SNNWrapper(new nn.Sequential(new nn.Linear(IN, 3), new LIFNeuron()), { integrator: 'odeint' });
    const xc = tensor(randomData(3 * 2 * 16, 9, 0, 2), [3, 2, 1, 4, 4]);
    for (const [net, x] of [[conv, xc], [ode, input()]] as const) {
      const file = path.join(dir, `${net.integrator}-${net.neurons.length}.safetensors`);
      saveModel(net, file);
      const { net: loaded } = loadModel(file);
      expect(loaded.integrator).toBe(net.integrator);
      expect(bits(loaded.forward(x))).toEqual(bits(net.forward(x)));
    }
  });
});

describe('convolution and pooling options survive the round trip', () => {
  test('pairs, padding, dilation, groups, ceilMode and countIncludePad are recorded and rebuilt', () => {
    manualSeed(12);
    const net = new SNNWrapper(new nn.Sequential(
      new nn.Conv2d(2, 4, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 }), new LIFNeuron({ threshold: 0.05 }),
      new nn.MaxPool2d(2, { padding: 1, ceilMode: true }),
      new nn.AvgPool2d([2, 1], { stride: 1, padding: [1, 0], countIncludePad: false }),
      new nn.Flatten(), new LIFNeuron({ threshold: 0.05 }),
    ), { alpha: 0.5 });
    const spec = modelSpecOf(net);
    expect(spec.layers[0]).toEqual({ type: 'conv2d', in: 2, out: 4, kernel: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2, bias: true });
    expect(spec.layers[2]).toEqual({ type: 'maxpool2d', kernel: 2, padding: 1, ceilMode: true });
    expect(spec.layers[3]).toEqual({ type: 'avgpool2d', kernel: [2, 1], stride: 1, padding: [1, 0], ceilMode: false, countIncludePad: false });
    const file = path.join(dir, 'conv-options.safetensors');
    saveModel(net, file);
    const { net: loaded } = loadModel(file);
    const x = tensor(randomData(3 * 2 * 2 * 7 * 6, 13, 0, 2), [3, 2, 2, 7, 6]);
    const y = net.forward(x);
    expect(y.numel).toBeGreaterThan(0);
    expect(loaded.forward(x).shape).toEqual(y.shape);
    expect(bits(loaded.forward(x))).toEqual(bits(y));
    expect(bits(y).some((v) => v === 0x3f800000)).toBe(true);
  });
});

describe('errors', () => {
  test('a checkpoint without an architecture', () => {
    const file = path.join(dir, 'plain.safetensors');
    save(new nn.Linear(2, 2).stateDict(), file);
    expect(() => loadModel(file)).toThrow(/has no 'fsnn.model' metadata describing its architecture; save it with saveModel\(\)/);
  });

  test('tensors that do not match the stated architecture: every mismatch is listed', () => {
    const net = new SNNWrapper(new nn.Sequential(new nn.Linear(IN, 4), new LIFNeuron()), { alpha: 0.5 });
    const state: Record<string, Tensor> = { ...net.stateDict(), '0.weight': tensor(new Float32Array(12), [3, 4]), extra: tensor([1]) };
    delete state['0.bias'];
    const file = path.join(dir, 'mismatch.safetensors');
    save(state, file, { [MODEL_SPEC_KEY]: JSON.stringify(modelSpecOf(net)) });
    let msg = '';
    try {
      loadModel(file);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('does not match its stated architecture');
    expect(msg).toContain("missing tensor '0.bias'");
    expect(msg).toContain("unexpected tensor 'extra'");
    expect(msg).toContain("'0.weight': the spec declares [4, 5] but the file stores [3, 4]");
  });

  test('a spec that is not JSON, of the wrong format, or with an unknown layer', () => {
    const file = path.join(dir, 'bad-spec.safetensors');
    const sd = new nn.Linear(2, 2).stateDict();
    save(sd, file, { [MODEL_SPEC_KEY]: '{not json' });
    expect(() => loadModel(file)).toThrow(/'fsnn.model' metadata is not valid JSON/);
    save(sd, file, { [MODEL_SPEC_KEY]: JSON.stringify({ format: 'other', layers: [] }) });
    expect(() => loadModel(file)).toThrow(/expected an object with format 'fsnn-model-1'/);
    save(sd, file, { [MODEL_SPEC_KEY]: JSON.stringify({ format: 'fsnn-model-1', layers: [{ type: 'lstm' }], wrapper: {} }) });
    expect(() => loadModel(file)).toThrow(/layers\[0\] has unknown type "lstm"; use one of linear/);
    expect(loadMetadata(file)[MODEL_SPEC_KEY]).toContain('lstm');
  });

  test('models the spec cannot describe', () => {
    class Custom extends nn.Module {
      lif = new LIFNeuron();
      forward(x: Tensor): Tensor {
        return this.lif.forward(x);
      }
    }
    expect(() => modelSpecOf(new SNNWrapper(new Custom(), { alpha: 0.5 }))).toThrow(/the wrapped model must be an nn.Sequential/);
    const bn = new SNNWrapper(new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2), new LIFNeuron()), { alpha: 0.5 });
    expect(() => saveModel(bn, path.join(dir, 'bn.safetensors'))).toThrow(/layer BatchNorm1d cannot be described/);
    expect(fs.existsSync(path.join(dir, 'bn.safetensors'))).toBe(false);
  });
});

describe('a fresh process', () => {
  test('loads the checkpoint with loadModel and produces bitwise identical outputs', () => {
    const net = trainedNet();
    const file = path.join(dir, 'fresh.safetensors');
    saveModel(net, file);
    const expected = runBits(net);
    const inFile = path.join(dir, 'fresh-input.json');
    const outFile = path.join(dir, 'fresh-output.json');
    fs.writeFileSync(inFile, JSON.stringify({ shape: [T, B, IN], data: inputData, xTime, method: 'gl', memory: 4 }));
    const script = path.join(__dirname, '..', 'fixtures', 'scripts', 'run-saved-model.ts');
    // The child runs on the suite's device too (test/setup/device.ts reads FSNN_DEVICE), so the outputs compare bit for bit.
    const setup = path.join(__dirname, '..', 'setup', 'device.ts');
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', setup, script, file, inFile, outFile], {
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
      timeout: 60000,
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const got = JSON.parse(fs.readFileSync(outFile, 'utf8'));
    expect(got.shape).toEqual([T, B, 3]);
    expect(got.output).toEqual(expected.output);
    expect(got.traces).toEqual(expected.traces);
    expect(got.alpha).toEqual(net.getPerLayerAlpha().map(bits));
    expect(got.coefficient).toEqual(net.getPerLayerCoefficient().map(bits));
    expect(got.parameterNames).toEqual(net.namedParameters().map(([k]) => k));
  });
});
