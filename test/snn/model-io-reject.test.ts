// loadModel checks every parameter shape the spec declares against the stored tensors' headers
// before it builds anything; specs with missing or malformed fields get messages that name the
// field and the fix.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LIFNeuron, loadModel, native, nn, saveModel, SNNWrapper } from '../../lib';
import { writeSafetensorsFile } from '../../lib/io/safetensors';
import { MODEL_SPEC_KEY } from '../../lib/snn/spec';
import { collectGarbage } from '../helpers/collect-garbage';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsnn-modelio-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A checkpoint holding a small valid model's tensors but the given (edited) spec. */
function withSpec(name: string, edit: (spec: Record<string, unknown>) => unknown): string {
  const net = new SNNWrapper(new nn.Sequential(new nn.Linear(4, 3), new LIFNeuron()), { alpha: 0.5 });
  const file = path.join(dir, `${name}.safetensors`);
  saveModel(net, file, { T: 2, encoding: 'direct', features: 4, classes: 3 });
  const sd = net.stateDict();
  const spec = JSON.parse(JSON.stringify({ format: 'fsnn-model-1', layers: [{ type: 'linear', in: 4, out: 3 }, { type: 'lif', tau: 0.5, threshold: 1, surrogate: 'arctan', surrogateScale: 5 }], wrapper: { alpha: 0.5 } }));
  const edited = edit(spec) ?? spec;
  const map = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, { shape: v.shape.slice(), data: v.toFloat32Array() }]));
  writeSafetensorsFile(file, map, { [MODEL_SPEC_KEY]: JSON.stringify(edited) });
  return file;
}

describe('loadModel rejects before allocating', () => {
  test('a small file declaring a 20000x20000 layer fails at once, without allocating it', async () => {
    const file = withSpec('huge', (s) => { (s.layers as { out: number }[])[0].out = 20000; (s.layers as { in: number }[])[0].in = 20000; });
    expect(fs.statSync(file).size).toBeLessThan(4096);
    await collectGarbage();  // withSpec's model is garbage: its finalizers must not run inside the measured stretch
    const before = native.liveBytes('cpu');
    const t0 = Date.now();
    expect(() => loadModel(file)).toThrow(/nothing was built[\s\S]*'0\.weight': the spec declares \[20000, 20000\] but the file stores \[3, 4\]/);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(native.liveBytes('cpu')).toBe(before);
  });

  test('200 declared layers of 4096x4096 are rejected from the header alone', () => {
    const file = withSpec('many', (s) => {
      const layers = [];
      for (let i = 0; i < 200; i++) layers.push({ type: 'linear', in: 4096, out: 4096 }, { type: 'lif', tau: 0.5, threshold: 1, surrogate: 'arctan', surrogateScale: 5 });
      s.layers = layers;
    });
    const before = native.liveBytes('cpu');
    expect(() => loadModel(file)).toThrow(/problem\(s\)[\s\S]*and \d+ more/);
    expect(native.liveBytes('cpu')).toBe(before);
  });
});

describe('spec messages name the field and the fix', () => {
  const cases: [string, (s: Record<string, unknown>) => unknown, RegExp][] = [
    ['no wrapper', (s) => { delete s.wrapper; }, /'wrapper' is missing; it must be an object of SNNWrapper options.*Fix: add "wrapper": \{\}/],
    ['null layer', (s) => { (s.layers as unknown[]).push(null); }, /layers\[2\] is null; every layer must be an object with a 'type'.*Fix/],
    ['input.classes = 0', (s) => { s.input = { classes: 0 }; }, /input\.classes = 0 must be a positive integer.*Fix/],
    ['nested alpha', (s) => { s.wrapper = { alpha: [[[0.3]]] }; }, /alpha\[0\]\[0\] is a list \(\[0\.3\]\) where an order \(a number\) belongs.*Fix: remove the extra brackets/],
  ];
  test.each(cases)('%s', (name, edit, re) => {
    const file = withSpec(name.replace(/\W/g, '_'), edit);
    expect(() => loadModel(file)).toThrow(re);
  });
});

test('alpha: [[[0.3]], [0.5]] names the position and the fix (not "0.3 is outside (0, 1]")', () => {
  const model = new nn.Sequential(new nn.Linear(2, 2), new LIFNeuron(), new nn.Linear(2, 2), new LIFNeuron());
  expect(() => new SNNWrapper(model, { alpha: [[[0.3]], [0.5]] as never })).toThrow(/alpha\[0\]\[0\] is a list \(\[0\.3\]\).*Fix: remove the extra brackets/);
});
