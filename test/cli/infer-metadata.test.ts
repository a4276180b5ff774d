// fsnn infer checks the checkpoint's input metadata against the model and the data before it runs:
// input.classes must equal the model's output width, input.classes = 0 names the field, and
// input.T cannot make it allocate more than the data given can need.
import * as fs from 'fs';
import * as path from 'path';
import { infer, INFER_DEFAULTS } from '../../lib/cli/infer';
import { LIFNeuron, native, nn, saveModel, SNNWrapper } from '../../lib';
import { tmpDir } from './helpers';

const dir = tmpDir('fsnn-infer-meta-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function checkpoint(name: string, input: Record<string, unknown>): string {
  const net = new SNNWrapper(new nn.Sequential(new nn.Linear(4, 6), new LIFNeuron(), new nn.Linear(6, 3), new LIFNeuron()), { alpha: 0.5 });
  const file = path.join(dir, `${name}.safetensors`);
  saveModel(net, file, { T: 4, encoding: 'direct', features: 4, ...input } as never);
  return file;
}
const json = path.join(dir, 'x.json');
fs.writeFileSync(json, JSON.stringify([[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]]));
const run = (ckpt: string) => infer({ ...INFER_DEFAULTS, checkpoint: ckpt, input: json, output: path.join(dir, 'out.jsonl') }, { log: () => undefined });

describe('fsnn infer metadata', () => {
  test('input.classes equal to the output width runs', async () => {
    await expect(run(checkpoint('ok', { classes: 3 }))).resolves.toBeDefined();
  });

  test('input.classes disagreeing with the model output width is an error', async () => {
    await expect(run(checkpoint('five', { classes: 5 }))).rejects.toThrow(/input\.classes = 5 in the metadata, but the model's output layer \(layers\[2\], linear\) has 3 outputs.*Fix: set input\.classes to 3/);
    await expect(run(checkpoint('two', { classes: 2 }))).rejects.toThrow(/input\.classes = 2/);
  });

  test('input.classes = 0 names the field', async () => {
    await expect(run(checkpoint('zero', { classes: 0 }))).rejects.toThrow(/input\.classes = 0 must be a positive integer/);
  });

  test('input.T = 1e7 is refused before allocating', async () => {
    const before = process.memoryUsage().rss;
    await expect(run(checkpoint('long', { T: 1e7, classes: 3 }))).rejects.toThrow(/input\.T = 10000000 time steps is more than inference runs.*Fix: check input\.T/);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
    expect(native.liveBytes('cpu')).toBeLessThan(64 * 2 ** 20);
  });
});

test('input.T within the step limit but beyond the memory bound for the data given is refused', async () => {
  const net = new SNNWrapper(new nn.Sequential(new nn.Linear(100000, 3), new LIFNeuron()), { alpha: 0.5 });
  const file = path.join(dir, 'wide.safetensors');
  saveModel(net, file, { T: 8000, encoding: 'direct', features: 100000, classes: 3 } as never);
  await expect(run(file)).rejects.toThrow(/input\.T = 8000 time steps of 100000 features would need 3052 MiB per encoded sample/);
});
